//! Span collection for one run: an OTLP/HTTP receiver on 127.0.0.1 and JSON span lines
//! on stdout, merged by [`Collector`]. The two decoders are also the readers of span
//! files (`traces::import`), so each format has one reader.

mod collector;
pub mod fields;
pub mod otlp;
pub mod stdout;

pub use collector::Collector;

/// A value in a span document that cannot be read: where (a JSON path below the value that
/// was being read, e.g. `kind` or `resourceSpans[0].scopeSpans[0].spans[2].traceId`; empty
/// for that value itself) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadValue {
    pub at: String,
    pub message: String,
}

impl BadValue {
    pub(crate) fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        BadValue {
            at: at.into(),
            message: message.into(),
        }
    }

    /// The same error, seen from the value `outer` leads to this one.
    pub(crate) fn under(self, outer: &str) -> Self {
        BadValue {
            at: join_path(outer, &self.at),
            message: self.message,
        }
    }
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at.as_str() {
            "" => f.write_str(&self.message),
            at => write!(f, "at {at}: {}", self.message),
        }
    }
}

impl From<&str> for BadValue {
    fn from(message: &str) -> Self {
        BadValue::new("", message)
    }
}

impl From<String> for BadValue {
    fn from(message: String) -> Self {
        BadValue::new("", message)
    }
}

/// Two JSON paths as one: `spans` + `[1]` → `spans[1]`, `[0]` + `kind` → `[0].kind`.
pub(crate) fn join_path(outer: &str, inner: &str) -> String {
    if outer.is_empty() || inner.is_empty() || inner.starts_with('[') {
        format!("{outer}{inner}")
    } else {
        format!("{outer}.{inner}")
    }
}
