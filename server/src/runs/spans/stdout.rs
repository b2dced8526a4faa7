//! JSON span lines on a program's stdout, parsed as clnrm's `otel/stdout_parser.rs` does
//! (reference §5.4).
//!
//! Each trimmed line that is a JSON object with string `name`, `trace_id` and `span_id`
//! is a span; every other line (text, arrays, pretty-printed JSON, objects missing a
//! field) is ignored. Extension over clnrm: the camelCase spellings of clnrm's own NDJSON
//! exporter (`traceId`, `spanId`, `parentSpanId`, `startTimeUnixNano`, `endTimeUnixNano`)
//! are accepted too, snake_case winning when both are present. An empty `parent_span_id`
//! means a root, as in OTLP.

use serde_json::{Map, Value};

use crate::traces::{Span, SpanKind, SpanSource};

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
    let name = string_field(&obj, "name", "name")?;
    let trace_id = string_field(&obj, "trace_id", "traceId")?;
    let span_id = string_field(&obj, "span_id", "spanId")?;
    let parent_span_id =
        string_field(&obj, "parent_span_id", "parentSpanId").filter(|p| !p.is_empty());
    Some(Span {
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind: field(&obj, "kind", "kind").and_then(kind_of),
        start_time_unix_nano: field(&obj, "start_time_unix_nano", "startTimeUnixNano")
            .and_then(nanos),
        end_time_unix_nano: field(&obj, "end_time_unix_nano", "endTimeUnixNano").and_then(nanos),
        attributes: match obj.get("attributes") {
            Some(Value::Object(a)) => a.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => Default::default(),
        },
        resource_attributes: Default::default(),
        events: match obj.get("events") {
            Some(Value::Array(evs)) => evs.iter().filter_map(event_name).collect(),
            _ => Vec::new(),
        },
        status: Default::default(),
        source: SpanSource::Stdout,
    })
}

fn field<'a>(obj: &'a Map<String, Value>, snake: &str, camel: &str) -> Option<&'a Value> {
    obj.get(snake).or_else(|| obj.get(camel))
}

fn string_field(obj: &Map<String, Value>, snake: &str, camel: &str) -> Option<String> {
    field(obj, snake, camel)?.as_str().map(str::to_owned)
}

/// A decimal string or an unsigned integer, in nanoseconds.
fn nanos(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Kind names in any case, or the OTLP numbers 1–5; anything else is "no kind".
pub(crate) fn kind_of(v: &Value) -> Option<SpanKind> {
    match v {
        Value::String(s) => kind_from_name(s),
        Value::Number(n) => n.as_i64().and_then(kind_from_number),
        _ => None,
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

fn event_name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("name")?.as_str().map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::SpanStatus;

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
