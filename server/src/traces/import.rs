//! Reading spans from JSON files: a plain array of spans (ours or clnrm's flat form), an
//! object with a `spans` array (our baseline files), or an OTLP JSON export
//! (`resourceSpans[].scopeSpans[].spans[]`). The formats are read by the run's decoders
//! (`runs::spans::stdout` for flat spans, strictly; `runs::spans::otlp` for OTLP), so a
//! trace reads the same from a file as from a run. Lenient about spelling (snake/camel
//! case, times as numbers or decimal strings, OTLP attribute lists, proto3 JSON enum
//! names), strict about shape: anything that is not a span is an error with its position,
//! never silently dropped.

use serde_json::Value;

use super::{Span, SpanSource, SpanStatus};
use crate::runs::spans::stdout::{attributes, flat_span, get, Reading};
use crate::runs::spans::{otlp, BadValue};

/// Why a span file could not be read: a JSON syntax error (with line and column) or a
/// value of the wrong shape (with its JSON path, e.g. `spans[3].name`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("at {path}: {message}")]
    Shape { path: String, message: String },
}

/// Parse a whole span file.
pub fn parse_spans(text: &str) -> Result<Vec<Span>, ImportError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ImportError::Syntax {
        line: e.line(),
        column: e.column(),
        message: syntax_message(&e),
    })?;
    spans_from_value(value)
}

fn syntax_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; the position is reported separately.
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    if e.is_eof() {
        format!("{msg} (the file looks truncated)")
    } else {
        msg
    }
}

/// Spans from a parsed JSON value (any of the accepted shapes).
fn spans_from_value(value: Value) -> Result<Vec<Span>, ImportError> {
    match value {
        Value::Array(items) => flat_spans(&items, ""),
        Value::Object(obj) => {
            if obj.contains_key("resourceSpans") || obj.contains_key("resource_spans") {
                otlp::decode_json_value(Value::Object(obj)).map_err(|e| shape_at("", e))
            } else if let Some(spans) = obj.get("spans") {
                match spans {
                    Value::Array(items) => flat_spans(items, "spans"),
                    _ => Err(shape("spans", "expected an array of spans")),
                }
            } else {
                Err(shape(
                    "$",
                    "expected an array of spans, an object with \"spans\", or an OTLP export with \"resourceSpans\"",
                ))
            }
        }
        _ => Err(shape(
            "$",
            "expected an array of spans or an OTLP JSON export",
        )),
    }
}

fn shape(path: impl Into<String>, message: impl Into<String>) -> ImportError {
    ImportError::Shape {
        path: path.into(),
        message: message.into(),
    }
}

/// `e`, found below `path`, as a shape error.
fn shape_at(path: &str, e: BadValue) -> ImportError {
    let e = e.under(path);
    shape(if e.at.is_empty() { "$" } else { &e.at }, e.message)
}

fn flat_spans(items: &[Value], prefix: &str) -> Result<Vec<Span>, ImportError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| span_from_value(v, &format!("{prefix}[{i}]")))
        .collect()
}

/// One flat span: clnrm's fields, plus what our own files add (status, resource
/// attributes, source).
fn span_from_value(v: &Value, path: &str) -> Result<Span, ImportError> {
    let obj = v
        .as_object()
        .ok_or_else(|| shape(path, "expected a span object"))?;
    let bad = |e: BadValue| shape_at(path, e);
    let mut span = flat_span(obj, Reading::Strict).map_err(bad)?;
    span.resource_attributes = get(obj, "resource_attributes", "resourceAttributes", attributes)
        .map_err(bad)?
        .unwrap_or_default();
    span.status = get(obj, "status", "status", status)
        .map_err(bad)?
        .unwrap_or_default();
    span.source = match obj.get("source").and_then(Value::as_str) {
        Some("stdout") => SpanSource::Stdout,
        Some("otlp") => SpanSource::Otlp,
        _ => SpanSource::Runner,
    };
    Ok(span)
}

fn status(v: &Value) -> Result<SpanStatus, String> {
    match v {
        // OTLP: {"code": 1} or {"code": "STATUS_CODE_OK", "message": ...}
        Value::Object(o) => match o.get("code") {
            None | Some(Value::Null) => Ok(SpanStatus::Unset),
            Some(c) => status(c),
        },
        Value::Number(n) => match n.as_u64() {
            Some(0) => Ok(SpanStatus::Unset),
            Some(1) => Ok(SpanStatus::Ok),
            Some(2) => Ok(SpanStatus::Error),
            _ => Err(format!("unknown status code {n}")),
        },
        Value::String(s) => {
            let lower = s.to_ascii_lowercase();
            match lower.trim_start_matches("status_code_") {
                "unset" | "" => Ok(SpanStatus::Unset),
                "ok" => Ok(SpanStatus::Ok),
                "error" => Ok(SpanStatus::Error),
                _ => Err(format!("unknown status {s:?}")),
            }
        }
        _ => Err("expected a status name, code or object".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::SpanKind;
    use std::collections::BTreeMap;

    #[test]
    fn flat_array_in_clnrm_stdout_form() {
        let spans = parse_spans(
            r#"[{"name":"clnrm.run","trace_id":"t1","span_id":"s1","parent_span_id":null,"kind":"internal","start_time_unix_nano":"1700000000000000000","end_time_unix_nano":1700000001000000000,"attributes":{"result":"pass"},"events":["container.start"]}]"#,
        )
        .unwrap();
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.name, "clnrm.run");
        assert_eq!(s.parent_span_id, None);
        assert_eq!(s.kind, Some(SpanKind::Internal));
        assert_eq!(s.start_time_unix_nano, Some(1_700_000_000_000_000_000));
        assert_eq!(s.duration_ms(), Some(1000.0));
        assert_eq!(s.attributes["result"], "pass");
        assert_eq!(s.events, vec!["container.start"]);
    }

    #[test]
    fn otlp_export() {
        let spans = parse_spans(
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
               "scopeSpans":[{"scope":{"name":"x"},"spans":[
                 {"traceId":"ab","spanId":"01","parentSpanId":"","name":"GET /","kind":2,
                  "startTimeUnixNano":"10","endTimeUnixNano":"20",
                  "attributes":[{"key":"http.status_code","value":{"intValue":"200"}},{"key":"ok","value":{"boolValue":true}}],
                  "events":[{"name":"e1","timeUnixNano":"11"}],"status":{"code":2,"message":"boom"}}]}]}]}"#,
        )
        .unwrap();
        let s = &spans[0];
        assert_eq!(s.parent_span_id, None);
        assert_eq!(s.kind, Some(SpanKind::Server));
        assert_eq!(s.attributes["http.status_code"], 200);
        assert_eq!(s.attributes["ok"], true);
        assert_eq!(s.resource_attributes["service.name"], "api");
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(s.source, SpanSource::Otlp);
        assert_eq!(s.events, vec!["e1"]);
    }

    #[test]
    fn our_own_serialization_round_trips() {
        let span = Span {
            trace_id: "t".into(),
            span_id: "s".into(),
            parent_span_id: Some("p".into()),
            name: "n".into(),
            kind: Some(SpanKind::Client),
            start_time_unix_nano: Some(5),
            end_time_unix_nano: Some(9),
            attributes: [("a".to_string(), Value::from(1))].into(),
            resource_attributes: BTreeMap::new(),
            events: vec!["x".into()],
            status: SpanStatus::Ok,
            source: SpanSource::Stdout,
        };
        let text = serde_json::to_string(&vec![span.clone()]).unwrap();
        assert_eq!(parse_spans(&text).unwrap(), vec![span]);
    }

    #[test]
    fn truncated_file_reports_position() {
        let e = parse_spans("[{\"name\":\"a\"},\n{\"name\":").unwrap_err();
        match e {
            ImportError::Syntax { line, message, .. } => {
                assert_eq!(line, 2);
                assert!(message.contains("truncated"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn otlp_in_proto3_json_spellings_and_the_pre_1_0_scope_name() {
        // Enum names, snake_case field names, nulls and `instrumentationLibrarySpans`.
        let spans = parse_spans(
            r#"{"resource_spans":[{"resource":null,"instrumentationLibrarySpans":[{"spans":[
                 {"trace_id":"ab","span_id":"01","parent_span_id":null,"name":"a","kind":"SPAN_KIND_CLIENT",
                  "start_time_unix_nano":10,"status":{"code":"STATUS_CODE_ERROR"}},
                 {"traceId":"ab","spanId":"02","parentSpanId":"01","name":"b","kind":"server","status":{"code":"ok"}}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].kind, Some(SpanKind::Client));
        assert_eq!(spans[0].start_time_unix_nano, Some(10));
        assert_eq!(spans[0].status, SpanStatus::Error);
        assert_eq!(spans[1].parent_span_id.as_deref(), Some("01"));
        assert_eq!(spans[1].kind, Some(SpanKind::Server));
        assert_eq!(spans[1].status, SpanStatus::Ok);
    }

    #[test]
    fn an_otlp_file_reads_as_the_receiver_reads_it() {
        let text = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"01","name":"x",
            "attributes":[{"key":"raw","value":{"bytesValue":"3q0="}},{"key":"d","value":{"doubleValue":2}}]}]}]}]}"#;
        let from_file = parse_spans(text).unwrap();
        assert_eq!(
            from_file,
            crate::runs::spans::otlp::decode_json(text.as_bytes()).unwrap()
        );
        assert_eq!(from_file[0].attributes["raw"], "dead");
    }

    #[test]
    fn a_bad_otlp_span_is_named_by_its_path() {
        let e = parse_spans(
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"01","name":"ok"},
               {"traceId":"zz","spanId":"02","name":"bad"}]}]}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("at resourceSpans[0].scopeSpans[0].spans[1].traceId: "),
            "{e}"
        );
        let e =
            parse_spans(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"sideways"}]}]}]}"#)
                .unwrap_err();
        assert!(e.to_string().contains("spans[0].kind"), "{e}");
        let e = parse_spans(r#"{"resourceSpans":{}}"#).unwrap_err();
        assert!(e.to_string().starts_with("at resourceSpans: "), "{e}");
    }

    #[test]
    fn flat_span_fields_are_checked_one_by_one() {
        for (text, at) in [
            (r#"[{"name":"a","trace_id":7}]"#, "at [0].trace_id: "),
            (
                r#"[{"name":"a","end_time_unix_nano":-1}]"#,
                "at [0].end_time_unix_nano: ",
            ),
            (
                r#"[{"name":"a","startTimeUnixNano":"soon"}]"#,
                "at [0].start_time_unix_nano: ",
            ),
            (
                r#"[{"name":"a","kind":9}]"#,
                "at [0].kind: unknown span kind 9",
            ),
            (r#"[{"name":"a","attributes":"x"}]"#, "at [0].attributes: "),
            (
                r#"[{"name":"a","attributes":[{"key":"k","value":{"intValue":"x"}}]}]"#,
                "at [0].attributes[0].value",
            ),
            (
                r#"[{"name":"a","events":["e",{"nope":1}]}]"#,
                "at [0].events[1]: an event needs a \"name\"",
            ),
            (r#"[{"name":"a","status":"bad"}]"#, "at [0].status: "),
            (
                r#"[{"name":"a","resource_attributes":3}]"#,
                "at [0].resource_attributes: ",
            ),
            (r#"[7]"#, "at [0]: expected a span object"),
        ] {
            let e = parse_spans(text).unwrap_err().to_string();
            assert!(e.starts_with(at), "{text}: {e}");
        }
        // OTLP attribute lists in a flat span, and snake_case winning over camelCase.
        let spans = parse_spans(
            r#"[{"name":"a","trace_id":"t","traceId":"u","kind":"SPAN_KIND_PRODUCER","attributes":[{"key":"n","value":{"intValue":"3"}}],"resourceAttributes":{"service.name":"api"},"source":"otlp"}]"#,
        )
        .unwrap();
        assert_eq!(spans[0].trace_id, "t");
        assert_eq!(spans[0].kind, Some(SpanKind::Producer));
        assert_eq!(spans[0].attributes["n"], 3);
        assert_eq!(spans[0].resource_attributes["service.name"], "api");
        assert_eq!(spans[0].source, SpanSource::Otlp);
    }

    #[test]
    fn wrong_shape_reports_path() {
        let e = parse_spans(r#"{"spans":[{"name":"a"},{"nme":"b"}]}"#).unwrap_err();
        assert_eq!(e.to_string(), "at spans[1]: a span needs a \"name\"");
        let e = parse_spans(r#"[{"name":"a","kind":"sideways"}]"#).unwrap_err();
        assert!(e.to_string().starts_with("at [0].kind:"), "{e}");
        assert!(parse_spans("42").is_err());
    }
}
