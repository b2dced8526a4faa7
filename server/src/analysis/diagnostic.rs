//! The engine's diagnostic: byte ranges in the template source, no LSP types.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use super::codes::Code;
pub use super::severity::Severity;

/// A replacement of a byte range of the source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edit {
    pub range: Range<usize>,
    pub new_text: String,
}

/// A suggested change that resolves a diagnostic (e.g. "did you mean").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
}

/// Another place that explains a diagnostic ("first defined here"): in the same source,
/// or in `file` (a template library the mistake is in).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Related {
    pub range: Range<usize>,
    pub message: String,
    /// The other file `range` is in; `None`: the diagnostic's own source.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_file"
    )]
    pub file: Option<Arc<SourceFile>>,
}

/// A file other than the analysed one, with the text its ranges refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Its path (absolute when it was read from disk; the template name for clnrm's
    /// embedded library).
    pub path: PathBuf,
    pub text: Arc<str>,
}

/// A related file serializes as its path.
fn serialize_file<S: serde::Serializer>(
    file: &Option<Arc<SourceFile>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match file {
        Some(f) => s.collect_str(&f.path.display()),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Byte range in the document's own text (the template source, not the rendered TOML).
    pub range: Range<usize>,
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, range: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            range,
            severity: code.default_severity(),
            code,
            message: message.into(),
            related: Vec::new(),
            fix: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_related(mut self, range: Range<usize>, message: impl Into<String>) -> Self {
        self.related.push(Related {
            range,
            message: message.into(),
            file: None,
        });
        self
    }

    /// A related place in another file (where the fix is, e.g. inside a library).
    pub fn with_related_in(
        mut self,
        file: Arc<SourceFile>,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        self.related.push(Related {
            range,
            message: message.into(),
            file: Some(file),
        });
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
