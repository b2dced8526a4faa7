//! OTLP decoding: OTLP/JSON and OTLP/protobuf `ExportTraceServiceRequest`s to [`Span`]s,
//! with the official OTLP definitions from `opentelemetry-proto`. The JSON decoder also
//! reads OTLP exports saved as span files (`traces::import`).

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind as ProtoKind, status::StatusCode};
use prost::Message;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::runs::spans::fields::kind_from_number;
use crate::runs::spans::BadValue;
use crate::traces::{Span, SpanSource, SpanStatus};

/// Decodes an OTLP/JSON `ExportTraceServiceRequest`.
pub fn decode_json(body: &[u8]) -> Result<Vec<Span>, String> {
    // serde would also read a struct from a JSON array; OTLP/JSON is always an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("invalid OTLP/JSON trace export: not a JSON object".into());
    }
    let value =
        serde_json::from_slice(body).map_err(|e| format!("invalid OTLP/JSON trace export: {e}"))?;
    decode_json_value(value).map_err(|e| format!("invalid OTLP/JSON trace export: {e}"))
}

/// Decodes an already parsed OTLP/JSON `ExportTraceServiceRequest`; an error says where.
pub(crate) fn decode_json_value(mut value: Value) -> Result<Vec<Span>, BadValue> {
    if !value.is_object() {
        return Err(BadValue::new(
            "",
            "expected an OTLP/JSON trace export object",
        ));
    }
    normalize(&mut value);
    from_json::<ExportTraceServiceRequest>(value).map(convert)
}

/// An OTLP/JSON attribute list (`[{"key", "value": AnyValue}]`) as plain JSON values.
pub(crate) fn attributes_from_json(value: &Value) -> Result<BTreeMap<String, Value>, BadValue> {
    let mut value = value.clone();
    normalize(&mut value);
    from_json::<Vec<KeyValue>>(value).map(attributes)
}

/// `T` through the generated serde code, the error naming the JSON path it failed at.
fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, BadValue> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." { String::new() } else { at };
        BadValue::new(at, e.into_inner().to_string())
    })
}

/// Rewrites what proto3 JSON allows but the generated serde code does not take: field
/// names in snake_case, enum values by name (with or without their prefix, any case),
/// `null` for a default; and `instrumentationLibrarySpans`, the pre-1.0 `scopeSpans`.
/// Every object key in OTLP/JSON is a field name (attributes are key/value lists), so keys
/// can be rewritten wherever they are.
fn normalize(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(obj) => {
            for (key, mut v) in std::mem::take(obj) {
                if v.is_null() {
                    continue;
                }
                let key = match key.as_str() {
                    "instrumentationLibrarySpans" | "instrumentation_library_spans" => {
                        "scopeSpans".to_string()
                    }
                    _ => lower_camel(&key),
                };
                let by_name = match (key.as_str(), &v) {
                    ("kind", Value::String(name)) => enum_number(name, "SPAN_KIND_", |n| {
                        ProtoKind::from_str_name(n).map(|k| k as i32)
                    }),
                    ("code", Value::String(name)) => enum_number(name, "STATUS_CODE_", |n| {
                        StatusCode::from_str_name(n).map(|c| c as i32)
                    }),
                    _ => None,
                };
                if let Some(n) = by_name {
                    v = Value::from(n);
                }
                normalize(&mut v);
                obj.insert(key, v);
            }
        }
        _ => {}
    }
}

fn lower_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if std::mem::take(&mut upper) {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn enum_number(name: &str, prefix: &str, by_name: fn(&str) -> Option<i32>) -> Option<i32> {
    let name = name.to_ascii_uppercase();
    if name.starts_with(prefix) {
        by_name(&name)
    } else {
        by_name(&format!("{prefix}{name}"))
    }
}

/// Decodes an OTLP/protobuf `ExportTraceServiceRequest`.
pub fn decode_protobuf(body: &[u8]) -> Result<Vec<Span>, String> {
    ExportTraceServiceRequest::decode(body)
        .map(convert)
        .map_err(|e| format!("invalid OTLP/protobuf trace export: {e}"))
}

/// OTLP request → spans, resource attributes kept on every span of the resource.
fn convert(req: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for rs in req.resource_spans {
        let resource = rs
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                out.push(Span {
                    trace_id: hex::encode(&s.trace_id),
                    span_id: hex::encode(&s.span_id),
                    parent_span_id: (!s.parent_span_id.is_empty())
                        .then(|| hex::encode(&s.parent_span_id)),
                    name: s.name,
                    kind: kind_from_number(i64::from(s.kind)),
                    start_time_unix_nano: (s.start_time_unix_nano != 0)
                        .then_some(s.start_time_unix_nano),
                    end_time_unix_nano: (s.end_time_unix_nano != 0).then_some(s.end_time_unix_nano),
                    attributes: attributes(s.attributes),
                    resource_attributes: resource.clone(),
                    events: s.events.into_iter().map(|e| e.name).collect(),
                    status: match s.status.map(|st| st.code) {
                        Some(1) => SpanStatus::Ok,
                        Some(2) => SpanStatus::Error,
                        _ => SpanStatus::Unset,
                    },
                    source: SpanSource::Otlp,
                });
            }
        }
    }
    out
}

fn attributes(kvs: Vec<KeyValue>) -> BTreeMap<String, Value> {
    kvs.into_iter()
        .map(|kv| (kv.key, kv.value.map(any_to_json).unwrap_or(Value::Null)))
        .collect()
}

/// AnyValue → JSON: strings, bools, integers and doubles as themselves, arrays and
/// key-value lists recursively, bytes as lowercase hex.
fn any_to_json(v: AnyValue) -> Value {
    use any_value::Value as V;
    match v.value {
        Some(V::StringValue(s)) => Value::String(s),
        Some(V::BoolValue(b)) => Value::Bool(b),
        Some(V::IntValue(i)) => Value::from(i),
        Some(V::DoubleValue(d)) => serde_json::Number::from_f64(d)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(d.to_string())),
        Some(V::ArrayValue(a)) => Value::Array(a.values.into_iter().map(any_to_json).collect()),
        Some(V::KvlistValue(l)) => Value::Object(attributes(l.values).into_iter().collect()),
        Some(V::BytesValue(b)) => Value::String(hex::encode(b)),
        Some(V::StringValueStrindex(_)) | None => Value::Null,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::traces::SpanKind;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Status};

    pub(crate) fn kv(key: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    /// A protobuf request with a server root and a client child with an error status.
    pub(crate) fn sample_request() -> ExportTraceServiceRequest {
        use any_value::Value as V;
        let root = opentelemetry_proto::tonic::trace::v1::Span {
            trace_id: vec![0xab; 16],
            span_id: vec![1; 8],
            name: "http.request".into(),
            kind: 2,
            start_time_unix_nano: 1_000_000_000,
            end_time_unix_nano: 1_050_000_000,
            attributes: vec![
                kv("http.method", V::StringValue("GET".into())),
                kv("http.status_code", V::IntValue(200)),
                kv("ok", V::BoolValue(true)),
                kv("ratio", V::DoubleValue(0.5)),
                kv(
                    "tags",
                    V::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(V::StringValue("a".into())),
                        }],
                    }),
                ),
                kv(
                    "nested",
                    V::KvlistValue(KeyValueList {
                        values: vec![kv("k", V::IntValue(1))],
                    }),
                ),
                kv("raw", V::BytesValue(vec![0xde, 0xad])),
            ],
            events: vec![span::Event {
                name: "request.received".into(),
                ..Default::default()
            }],
            status: Some(Status {
                code: 1,
                message: String::new(),
            }),
            ..Default::default()
        };
        let child = opentelemetry_proto::tonic::trace::v1::Span {
            trace_id: vec![0xab; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![1; 8],
            name: "db.query".into(),
            kind: 3,
            start_time_unix_nano: 1_010_000_000,
            end_time_unix_nano: 1_020_000_000,
            status: Some(Status {
                code: 2,
                message: "boom".into(),
            }),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", V::StringValue("api".into()))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![root, child],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn protobuf_spans_convert_with_ids_attributes_status_and_resource() {
        let spans = decode_protobuf(&sample_request().encode_to_vec()).unwrap();
        assert_eq!(spans.len(), 2);
        let (root, child) = (&spans[0], &spans[1]);
        assert_eq!(root.trace_id, "ab".repeat(16));
        assert_eq!(root.span_id, "0101010101010101");
        assert_eq!(root.parent_span_id, None);
        assert_eq!(child.parent_span_id.as_deref(), Some("0101010101010101"));
        assert_eq!(root.kind, Some(SpanKind::Server));
        assert_eq!(child.kind, Some(SpanKind::Client));
        assert_eq!(root.attributes["http.method"], "GET");
        assert_eq!(root.attributes["http.status_code"], 200);
        assert_eq!(root.attributes["ok"], true);
        assert_eq!(root.attributes["ratio"], 0.5);
        assert_eq!(root.attributes["tags"], serde_json::json!(["a"]));
        assert_eq!(root.attributes["nested"], serde_json::json!({"k": 1}));
        assert_eq!(root.attributes["raw"], "dead");
        assert_eq!(root.resource_attributes["service.name"], "api");
        assert_eq!(child.resource_attributes["service.name"], "api");
        assert_eq!(root.events, vec!["request.received".to_string()]);
        assert_eq!(
            (root.status, child.status),
            (SpanStatus::Ok, SpanStatus::Error)
        );
        assert_eq!(root.duration_ms(), Some(50.0));
        assert!(spans.iter().all(|s| s.source == SpanSource::Otlp));
    }

    #[test]
    fn json_export_in_the_spec_encoding() {
        let body = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
          "scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
          "parentSpanId":"","name":"GET /","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
          "attributes":[{"key":"http.status_code","value":{"intValue":"200"}},{"key":"f","value":{"doubleValue":1.5}}],
          "events":[{"timeUnixNano":"1544712660500000000","name":"ev"}],"status":{"code":2,"message":"x"}}]}]}]}"#;
        let spans = decode_json(body.as_bytes()).unwrap();
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(s.parent_span_id, None);
        assert_eq!(s.attributes["http.status_code"], 200);
        assert_eq!(s.attributes["f"], 1.5);
        assert_eq!(s.events, vec!["ev".to_string()]);
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(s.duration_ms(), Some(1000.0));
        assert_eq!(s.resource_attributes["service.name"], "api");
    }

    #[test]
    fn json_export_in_other_proto3_json_spellings() {
        // Enum values by name, snake_case field names, null defaults.
        let body = r#"{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"ab","span_id":"01",
          "parent_span_id":null,"name":"n","kind":"SPAN_KIND_CONSUMER","status":{"code":"STATUS_CODE_OK"}}]}]}]}"#;
        let spans = decode_json(body.as_bytes()).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].kind, Some(SpanKind::Consumer));
        assert_eq!(spans[0].status, SpanStatus::Ok);
        assert_eq!(spans[0].parent_span_id, None);
        let e = decode_json(br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"x"}]}]}]}"#)
            .unwrap_err();
        assert!(
            e.contains("at resourceSpans[0].scopeSpans[0].spans[0].kind: "),
            "{e}"
        );
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        for body in [
            &b"{"[..],
            b"[]",
            b"\xff\xfe",
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
        ] {
            assert!(decode_json(body).is_err(), "{body:?}");
        }
        assert!(decode_protobuf(b"\xff\xff\xff\xff\xff").is_err());
        // Truncations and bit flips of a valid export: errors or spans, never a panic.
        let good = sample_request().encode_to_vec();
        for cut in 0..good.len() {
            let _ = decode_protobuf(&good[..cut]);
            let mut flipped = good.clone();
            flipped[cut] ^= 0x5a;
            let _ = decode_protobuf(&flipped);
        }
        // Empty bodies are valid, empty exports.
        assert_eq!(decode_protobuf(b"").unwrap(), vec![]);
        assert_eq!(decode_json(b"{}").unwrap(), vec![]);
    }
}
