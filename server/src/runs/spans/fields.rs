//! Span field values as every span reader takes them: a span kind from its name (any
//! case, optionally `SPAN_KIND_`-prefixed) or its OTLP number. The OTLP decoders, the
//! stdout span lines and `[expect.span] kind` all convert through here.

use serde_json::Value;

use crate::traces::SpanKind;

/// A kind name in any case (optionally `SPAN_KIND_`-prefixed) or an OTLP kind number;
/// `unspecified`, `""` and 0 are no kind.
pub(crate) fn kind(v: &Value) -> Result<Option<SpanKind>, String> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(0) => Ok(None),
            k => k
                .and_then(kind_from_number)
                .map(Some)
                .ok_or_else(|| format!("unknown span kind {n}")),
        },
        Value::String(s) => {
            let lower = s.to_ascii_lowercase();
            match lower.trim_start_matches("span_kind_") {
                "unspecified" | "" => Ok(None),
                name => kind_from_name(name)
                    .map(Some)
                    .ok_or_else(|| format!("unknown span kind {s:?}")),
            }
        }
        _ => Err("expected a kind name or number".to_string()),
    }
}

pub(crate) fn kind_from_name(s: &str) -> Option<SpanKind> {
    match s.to_ascii_lowercase().as_str() {
        "internal" => Some(SpanKind::Internal),
        "server" => Some(SpanKind::Server),
        "client" => Some(SpanKind::Client),
        "producer" => Some(SpanKind::Producer),
        "consumer" => Some(SpanKind::Consumer),
        _ => None,
    }
}

/// OTLP `Span.SpanKind` numbering (0 = unspecified).
pub(crate) fn kind_from_number(n: i64) -> Option<SpanKind> {
    match n {
        1 => Some(SpanKind::Internal),
        2 => Some(SpanKind::Server),
        3 => Some(SpanKind::Client),
        4 => Some(SpanKind::Producer),
        5 => Some(SpanKind::Consumer),
        _ => None,
    }
}
