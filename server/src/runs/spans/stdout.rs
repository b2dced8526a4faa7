//! Flat JSON span objects: the span lines on a program's stdout, parsed as clnrm's
//! `otel/stdout_parser.rs` does (reference §5.4), and the spans of flat span files
//! (`traces::import`), read by the same code but strictly.
//!
//! Each trimmed line that is a JSON object with string `name`, `trace_id` and `span_id`
//! is a span; every other line (text, arrays, pretty-printed JSON, objects missing a
//! field) is ignored, and so is a field of a span line with a value clnrm does not take.
//! Extension over clnrm: the camelCase spellings of clnrm's own NDJSON exporter (`traceId`,
//! `spanId`, `parentSpanId`, `startTimeUnixNano`, `endTimeUnixNano`) are accepted too,
//! snake_case winning when both are present; a `null` field counts as absent; kind names
//! may carry OTLP's `SPAN_KIND_` prefix. An empty `parent_span_id` means a root, as in OTLP.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fields::kind;
use super::otlp::attributes_from_json;
use super::BadValue;
use crate::traces::{Span, SpanSource};

/// How [`flat_span`] treats a field with a value it does not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Leaves the field out, as clnrm's stdout parser does.
    Lenient,
    /// Fails, saying which field (span files). Attributes may also be an OTLP list.
    Strict,
}

impl Reading {
    fn take<T>(self, field: Result<Option<T>, BadValue>) -> Result<Option<T>, BadValue> {
        match field {
            Err(_) if self == Reading::Lenient => Ok(None),
            field => field,
        }
    }
}

/// All span lines of `stdout`, in order, tagged [`SpanSource::Stdout`].
pub fn parse_stdout(stdout: &str) -> Vec<Span> {
    stdout.lines().filter_map(parse_line).collect()
}

/// One line → a span, or `None` when the line is not a span line.
pub fn parse_line(line: &str) -> Option<Span> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    let Value::Object(obj) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    let is_span = [
        ("name", "name"),
        ("trace_id", "traceId"),
        ("span_id", "spanId"),
    ]
    .into_iter()
    .all(|(snake, camel)| field(&obj, snake, camel).is_some_and(Value::is_string));
    if !is_span {
        return None;
    }
    flat_span(&obj, Reading::Lenient).ok()
}

/// The clnrm flat-span fields of `obj` → a span tagged [`SpanSource::Stdout`], without
/// status or resource attributes (clnrm never reads them). Only a missing or non-string
/// `name` fails a lenient reading.
pub(crate) fn flat_span(obj: &Map<String, Value>, reading: Reading) -> Result<Span, BadValue> {
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(BadValue::new("name", "expected a string")),
        None => return Err(BadValue::new("", "a span needs a \"name\"")),
    };
    let read_id = |snake: &str, camel: &str| -> Result<Option<String>, BadValue> {
        Ok(reading.take(get(obj, snake, camel, id))?.flatten())
    };
    let read_nanos = |snake: &str, camel: &str| reading.take(get(obj, snake, camel, nanos));
    // clnrm's stdout parser takes only an object.
    let attrs = |a: &Value| match reading {
        Reading::Lenient if !a.is_object() => Err(BadValue::new("", "expected an object")),
        _ => attributes(a),
    };
    Ok(Span {
        name,
        trace_id: read_id("trace_id", "traceId")?.unwrap_or_default(),
        span_id: read_id("span_id", "spanId")?.unwrap_or_default(),
        parent_span_id: read_id("parent_span_id", "parentSpanId")?,
        kind: reading.take(get(obj, "kind", "kind", kind))?.flatten(),
        start_time_unix_nano: read_nanos("start_time_unix_nano", "startTimeUnixNano")?,
        end_time_unix_nano: read_nanos("end_time_unix_nano", "endTimeUnixNano")?,
        attributes: reading
            .take(get(obj, "attributes", "attributes", attrs))?
            .unwrap_or_default(),
        events: get(obj, "events", "events", |e| events(e, reading))?.unwrap_or_default(),
        source: SpanSource::Stdout,
        ..Span::default()
    })
}

/// `obj[snake]`, else `obj[camel]`; `null` counts as absent.
fn field<'a>(obj: &'a Map<String, Value>, snake: &str, camel: &str) -> Option<&'a Value> {
    obj.get(snake)
        .filter(|v| !v.is_null())
        .or_else(|| obj.get(camel))
        .filter(|v| !v.is_null())
}

/// A field (either spelling) through `read`; an error names the field by its snake_case name.
pub(crate) fn get<T, E: Into<BadValue>>(
    obj: &Map<String, Value>,
    snake: &str,
    camel: &str,
    read: impl FnOnce(&Value) -> Result<T, E>,
) -> Result<Option<T>, BadValue> {
    field(obj, snake, camel)
        .map(|v| read(v).map_err(|e| e.into().under(snake)))
        .transpose()
}

/// A trace, span or parent id; empty means none.
fn id(v: &Value) -> Result<Option<String>, &'static str> {
    match v {
        Value::String(s) => Ok((!s.is_empty()).then(|| s.clone())),
        _ => Err("expected a string"),
    }
}

/// Nanoseconds as an unsigned integer or a decimal string.
fn nanos(v: &Value) -> Result<u64, &'static str> {
    match v {
        Value::Number(n) => n.as_u64().ok_or("expected a non-negative integer"),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| "expected nanoseconds as a decimal string"),
        _ => Err("expected nanoseconds"),
    }
}

/// A plain object of JSON values, or an OTLP attribute list unwrapped to plain values.
pub(crate) fn attributes(v: &Value) -> Result<BTreeMap<String, Value>, BadValue> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(o) => Ok(o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Array(_) => attributes_from_json(v),
        _ => Err(BadValue::new(
            "",
            "expected an object or an OTLP attribute list",
        )),
    }
}

/// Event names from strings or `{"name": ...}` objects. Lenient: other items are skipped.
fn events(v: &Value, reading: Reading) -> Result<Vec<String>, BadValue> {
    let Value::Array(items) = v else {
        return match reading {
            Reading::Lenient => Ok(Vec::new()),
            Reading::Strict => Err(BadValue::new("", "expected an array of events")),
        };
    };
    let mut names = Vec::new();
    for (i, e) in items.iter().enumerate() {
        let name = match e {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or("an event needs a \"name\""),
            _ => Err("expected an event name or object"),
        };
        match (name, reading) {
            (Ok(name), _) => names.push(name),
            (Err(_), Reading::Lenient) => {}
            (Err(m), Reading::Strict) => return Err(BadValue::new(format!("[{i}]"), m)),
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::{SpanKind, SpanStatus};

    #[test]
    fn reads_the_reference_example_line() {
        let out = r#"{"name":"clnrm.run","trace_id":"t1","span_id":"s1","parent_span_id":null,"kind":"internal","start_time_unix_nano":"1700000000000000000","end_time_unix_nano":"1700000001000000000","attributes":{"result":"pass"},"events":["container.start"]}"#;
        let spans = parse_stdout(out);
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(
            (s.name.as_str(), s.trace_id.as_str(), s.span_id.as_str()),
            ("clnrm.run", "t1", "s1")
        );
        assert_eq!(s.parent_span_id, None);
        assert_eq!(s.kind, Some(SpanKind::Internal));
        assert_eq!(s.start_time_unix_nano, Some(1_700_000_000_000_000_000));
        assert_eq!(s.duration_ms(), Some(1000.0));
        assert_eq!(s.attributes["result"], "pass");
        assert_eq!(s.events, vec!["container.start".to_string()]);
        assert_eq!(s.source, SpanSource::Stdout);
        assert_eq!(s.status, SpanStatus::Unset);
    }

    #[test]
    fn ignores_everything_that_is_not_a_flat_span_object() {
        let out = "starting up\n\
            [{\"name\":\"a\",\"trace_id\":\"t\",\"span_id\":\"s\"}]\n\
            {\"name\":\"no ids\"}\n\
            {\"name\":\"a\",\"trace_id\":\"t\",\"span_id\":7}\n\
            {\"name\":\"broken\",\"trace_id\":\"t\",\n\
            {\n  \"name\": \"pretty\", \"trace_id\": \"t\", \"span_id\": \"s\"\n}\n\
            42\n\
            \"string\"\n\
            \n\
               {\"name\":\"kept\",\"trace_id\":\"t\",\"span_id\":\"s\"}   \n";
        let spans = parse_stdout(out);
        let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["kept"]);
    }

    #[test]
    fn numeric_kinds_and_number_or_string_times() {
        let out = "{\"name\":\"a\",\"trace_id\":\"t\",\"span_id\":\"1\",\"kind\":2,\"start_time_unix_nano\":5000000,\"end_time_unix_nano\":\"7000000\"}\n\
            {\"name\":\"b\",\"trace_id\":\"t\",\"span_id\":\"2\",\"kind\":\"CLIENT\",\"start_time_unix_nano\":-1,\"end_time_unix_nano\":\"soon\"}\n\
            {\"name\":\"c\",\"trace_id\":\"t\",\"span_id\":\"3\",\"kind\":9}\n\
            {\"name\":\"d\",\"trace_id\":\"t\",\"span_id\":\"4\",\"kind\":\"rpc\"}\n";
        let spans = parse_stdout(out);
        assert_eq!(spans.len(), 4);
        assert_eq!(spans[0].kind, Some(SpanKind::Server));
        assert_eq!(spans[0].duration_ms(), Some(2.0));
        assert_eq!(spans[1].kind, Some(SpanKind::Client));
        assert_eq!(
            (spans[1].start_time_unix_nano, spans[1].end_time_unix_nano),
            (None, None)
        );
        assert_eq!(spans[2].kind, None);
        assert_eq!(spans[3].kind, None);
    }

    #[test]
    fn camel_case_ids_events_objects_and_any_attribute_type() {
        let out = r#"{"name":"x","traceId":"ab","spanId":"cd","parentSpanId":"ef","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":{"n":3,"b":true,"l":[1,2]},"events":[{"name":"e1"},"e2",{"nope":1},5]}
{"name":"root","trace_id":"t","span_id":"r","parent_span_id":""}"#;
        let spans = parse_stdout(out);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].trace_id, "ab");
        assert_eq!(spans[0].parent_span_id.as_deref(), Some("ef"));
        assert_eq!(spans[0].end_time_unix_nano, Some(2));
        assert_eq!(spans[0].attributes["n"], 3);
        assert_eq!(spans[0].attributes["b"], true);
        assert_eq!(spans[0].events, vec!["e1".to_string(), "e2".into()]);
        assert_eq!(spans[1].parent_span_id, None);
    }
}
