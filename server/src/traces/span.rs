//! One span as collected from a run, whatever its source (runner, stdout JSON line, OTLP).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum SpanStatus {
    #[default]
    Unset,
    Ok,
    Error,
}

/// Where a span came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanSource {
    /// The runner's own spans (run → scenario → step).
    #[default]
    Runner,
    /// A JSON span line printed on the program's stdout (clnrm's format).
    Stdout,
    /// Sent by the program to the runner's OTLP/HTTP receiver.
    Otlp,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SpanKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_unix_nano: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_unix_nano: Option<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, serde_json::Value>,
    /// Event names, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    #[serde(default)]
    pub status: SpanStatus,
    #[serde(default)]
    pub source: SpanSource,
}

impl Span {
    /// Duration in milliseconds, when both timestamps are known and ordered.
    pub fn duration_ms(&self) -> Option<f64> {
        let (s, e) = (self.start_time_unix_nano?, self.end_time_unix_nano?);
        (e >= s).then(|| (e - s) as f64 / 1e6)
    }
}

#[cfg(test)]
impl Span {
    /// A bare span in trace `t`, for tests.
    pub(crate) fn test(id: &str, parent: Option<&str>, name: &str) -> Self {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: name.into(),
            ..Span::default()
        }
    }
}
