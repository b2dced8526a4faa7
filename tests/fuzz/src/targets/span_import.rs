//! Bytes → span-file import (`traces::import`): JSON arrays of spans, baseline objects
//! and OTLP exports.

pub const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"spans\"",
    "\"resourceSpans\"",
    "\"scopeSpans\"",
    "\"name\"",
    "\"span_id\"",
    "\"spanId\"",
    "\"parent_span_id\"",
    "\"trace_id\"",
    "\"kind\"",
    "\"SPAN_KIND_SERVER\"",
    "\"start_time_unix_nano\"",
    "\"startTimeUnixNano\"",
    "\"end_time_unix_nano\"",
    "\"attributes\"",
    "\"status\"",
    "\"code\"",
    "\"value\"",
    "{\"stringValue\": \"x\"}",
    "\"key\"",
    "\\u0000",
    "\\ud800",
];

pub fn run(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let _ = clnrm_lsp::traces::parse_spans(&text);
}
