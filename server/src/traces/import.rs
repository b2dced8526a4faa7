//! Reading spans from JSON files: a plain array of spans (ours or clnrm's flat form), an
//! object with a `spans` array (our baseline files), or an OTLP JSON export
//! (`resourceSpans[].scopeSpans[].spans[]`). Lenient about spelling (snake/camel case,
//! times as numbers or decimal strings, OTLP attribute lists), strict about shape: anything
//! that is not a span is an error with its position, never silently dropped.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Span, SpanKind, SpanSource, SpanStatus};

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
    spans_from_value(&value)
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

/// Spans from an already parsed JSON value (any of the accepted shapes).
pub fn spans_from_value(value: &Value) -> Result<Vec<Span>, ImportError> {
    match value {
        Value::Array(items) => flat_spans(items, "", SpanSource::Runner),
        Value::Object(obj) => {
            if let Some(rs) = obj.get("resourceSpans") {
                otlp_spans(rs)
            } else if let Some(spans) = obj.get("spans") {
                match spans {
                    Value::Array(items) => flat_spans(items, "spans", SpanSource::Runner),
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

fn flat_spans(items: &[Value], prefix: &str, source: SpanSource) -> Result<Vec<Span>, ImportError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| span_from_value(v, &format!("{prefix}[{i}]"), source))
        .collect()
}

fn otlp_spans(resource_spans: &Value) -> Result<Vec<Span>, ImportError> {
    let mut out = Vec::new();
    let rs = resource_spans
        .as_array()
        .ok_or_else(|| shape("resourceSpans", "expected an array"))?;
    for (i, r) in rs.iter().enumerate() {
        let path = format!("resourceSpans[{i}]");
        let resource_attrs = match r.get("resource").and_then(|res| res.get("attributes")) {
            Some(a) => attributes(a, &format!("{path}.resource.attributes"))?,
            None => BTreeMap::new(),
        };
        // `instrumentationLibrarySpans` is the pre-1.0 name of `scopeSpans`.
        let scopes = r
            .get("scopeSpans")
            .or_else(|| r.get("instrumentationLibrarySpans"));
        let Some(scopes) = scopes else { continue };
        let scopes = scopes
            .as_array()
            .ok_or_else(|| shape(format!("{path}.scopeSpans"), "expected an array"))?;
        for (j, s) in scopes.iter().enumerate() {
            let spath = format!("{path}.scopeSpans[{j}].spans");
            let Some(spans) = s.get("spans") else {
                continue;
            };
            let spans = spans
                .as_array()
                .ok_or_else(|| shape(spath.clone(), "expected an array"))?;
            for (k, v) in spans.iter().enumerate() {
                let mut span = span_from_value(v, &format!("{spath}[{k}]"), SpanSource::Otlp)?;
                if span.resource_attributes.is_empty() {
                    span.resource_attributes = resource_attrs.clone();
                }
                out.push(span);
            }
        }
    }
    Ok(out)
}

fn field<'a>(obj: &'a Map<String, Value>, snake: &str, camel: &str) -> Option<&'a Value> {
    obj.get(snake)
        .or_else(|| obj.get(camel))
        .filter(|v| !v.is_null())
}

fn id_field(
    obj: &Map<String, Value>,
    snake: &str,
    camel: &str,
    path: &str,
) -> Result<Option<String>, ImportError> {
    match field(obj, snake, camel) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(shape(format!("{path}.{snake}"), "expected a string")),
    }
}

fn span_from_value(v: &Value, path: &str, default_source: SpanSource) -> Result<Span, ImportError> {
    let obj = v
        .as_object()
        .ok_or_else(|| shape(path, "expected a span object"))?;
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(shape(format!("{path}.name"), "expected a string")),
        None => return Err(shape(path, "a span needs a \"name\"")),
    };
    let source = match obj.get("source").and_then(Value::as_str) {
        Some("runner") => SpanSource::Runner,
        Some("stdout") => SpanSource::Stdout,
        Some("otlp") => SpanSource::Otlp,
        _ => default_source,
    };
    Ok(Span {
        name,
        trace_id: id_field(obj, "trace_id", "traceId", path)?.unwrap_or_default(),
        span_id: id_field(obj, "span_id", "spanId", path)?.unwrap_or_default(),
        parent_span_id: id_field(obj, "parent_span_id", "parentSpanId", path)?,
        kind: match field(obj, "kind", "kind") {
            None => None,
            Some(k) => kind(k).map_err(|m| shape(format!("{path}.kind"), m))?,
        },
        start_time_unix_nano: time(obj, "start_time_unix_nano", "startTimeUnixNano", path)?,
        end_time_unix_nano: time(obj, "end_time_unix_nano", "endTimeUnixNano", path)?,
        attributes: match obj.get("attributes") {
            Some(a) => attributes(a, &format!("{path}.attributes"))?,
            None => BTreeMap::new(),
        },
        resource_attributes: match field(obj, "resource_attributes", "resourceAttributes") {
            Some(a) => attributes(a, &format!("{path}.resource_attributes"))?,
            None => BTreeMap::new(),
        },
        events: match obj.get("events") {
            Some(e) => events(e, &format!("{path}.events"))?,
            None => Vec::new(),
        },
        status: match obj.get("status") {
            Some(s) => status(s).map_err(|m| shape(format!("{path}.status"), m))?,
            None => SpanStatus::Unset,
        },
        source,
    })
}

fn kind(v: &Value) -> Result<Option<SpanKind>, String> {
    let by_number = |n: u64| match n {
        0 => Ok(None),
        1 => Ok(Some(SpanKind::Internal)),
        2 => Ok(Some(SpanKind::Server)),
        3 => Ok(Some(SpanKind::Client)),
        4 => Ok(Some(SpanKind::Producer)),
        5 => Ok(Some(SpanKind::Consumer)),
        _ => Err(format!("unknown span kind {n}")),
    };
    match v {
        Value::Number(n) => by_number(n.as_u64().unwrap_or(u64::MAX)),
        Value::String(s) => {
            let lower = s.to_ascii_lowercase();
            match lower.trim_start_matches("span_kind_") {
                "internal" => Ok(Some(SpanKind::Internal)),
                "server" => Ok(Some(SpanKind::Server)),
                "client" => Ok(Some(SpanKind::Client)),
                "producer" => Ok(Some(SpanKind::Producer)),
                "consumer" => Ok(Some(SpanKind::Consumer)),
                "unspecified" | "" => Ok(None),
                _ => Err(format!("unknown span kind {s:?}")),
            }
        }
        _ => Err("expected a kind name or number".to_string()),
    }
}

fn status(v: &Value) -> Result<SpanStatus, String> {
    match v {
        Value::Null => Ok(SpanStatus::Unset),
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

fn time(
    obj: &Map<String, Value>,
    snake: &str,
    camel: &str,
    path: &str,
) -> Result<Option<u64>, ImportError> {
    match field(obj, snake, camel) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| shape(format!("{path}.{snake}"), "expected a non-negative integer")),
        Some(Value::String(s)) => s.parse::<u64>().map(Some).map_err(|_| {
            shape(
                format!("{path}.{snake}"),
                "expected nanoseconds as a decimal string",
            )
        }),
        Some(_) => Err(shape(format!("{path}.{snake}"), "expected nanoseconds")),
    }
}

/// A plain object, or OTLP's `[{key, value: AnyValue}]`, unwrapped to plain JSON values.
fn attributes(v: &Value, path: &str) -> Result<BTreeMap<String, Value>, ImportError> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(o) => Ok(o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Array(items) => {
            let mut out = BTreeMap::new();
            for (i, kv) in items.iter().enumerate() {
                let key = kv.get("key").and_then(Value::as_str).ok_or_else(|| {
                    shape(format!("{path}[{i}]"), "expected {\"key\", \"value\"}")
                })?;
                let value = kv.get("value").map_or(Value::Null, any_value);
                out.insert(key.to_string(), value);
            }
            Ok(out)
        }
        _ => Err(shape(path, "expected an object or an OTLP attribute list")),
    }
}

/// OTLP `AnyValue` → plain JSON. `intValue` is a string in OTLP JSON (64-bit safety).
fn any_value(v: &Value) -> Value {
    let Some(o) = v.as_object() else {
        return v.clone();
    };
    if let Some(s) = o.get("stringValue") {
        return s.clone();
    }
    if let Some(b) = o.get("boolValue") {
        return b.clone();
    }
    if let Some(i) = o.get("intValue") {
        return match i {
            Value::String(s) => s.parse::<i64>().map_or_else(|_| i.clone(), Value::from),
            _ => i.clone(),
        };
    }
    if let Some(d) = o.get("doubleValue") {
        return d.clone();
    }
    if let Some(b) = o.get("bytesValue") {
        return b.clone();
    }
    if let Some(a) = o.get("arrayValue") {
        let values = a.get("values").and_then(Value::as_array);
        return Value::Array(values.map_or_else(Vec::new, |vs| vs.iter().map(any_value).collect()));
    }
    if let Some(kv) = o.get("kvlistValue") {
        let mut out = Map::new();
        for item in kv
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = item.get("key").and_then(Value::as_str) {
                out.insert(
                    k.to_string(),
                    item.get("value").map_or(Value::Null, any_value),
                );
            }
        }
        return Value::Object(out);
    }
    v.clone()
}

fn events(v: &Value, path: &str) -> Result<Vec<String>, ImportError> {
    let items = v
        .as_array()
        .ok_or_else(|| shape(path, "expected an array of events"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| shape(format!("{path}[{i}]"), "an event needs a \"name\"")),
            _ => Err(shape(
                format!("{path}[{i}]"),
                "expected an event name or object",
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn wrong_shape_reports_path() {
        let e = parse_spans(r#"{"spans":[{"name":"a"},{"nme":"b"}]}"#).unwrap_err();
        assert_eq!(e.to_string(), "at spans[1]: a span needs a \"name\"");
        let e = parse_spans(r#"[{"name":"a","kind":"sideways"}]"#).unwrap_err();
        assert!(e.to_string().starts_with("at [0].kind:"), "{e}");
        assert!(parse_spans("42").is_err());
    }
}
