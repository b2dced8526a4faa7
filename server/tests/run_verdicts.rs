//! Spans that really crossed a process boundary reach the `[expect.*]` verdict of
//! `scenario::execute`: JSON span lines printed by a step's shell, and OTLP/HTTP exports
//! that `curl` POSTs to the receiver the run announces in `OTEL_EXPORTER_OTLP_*` (OTLP/JSON,
//! protobuf, gzip-compressed protobuf). For every expectation kind one run passes and one
//! fails, and each failure names its table and key, says what was expected and observed,
//! and locates to that key in the file.
//!
//! The OTLP tests need `curl` on PATH; without it they fail saying so.

// Helpers of a test: a broken setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clnrm_lsp::model::TestFile;
use clnrm_lsp::runs::backend::Local;
use clnrm_lsp::runs::expect::ExpectationFailure;
use clnrm_lsp::runs::inputs::Place;
use clnrm_lsp::runs::process::CancelToken;
use clnrm_lsp::runs::result::{RunResult, RunStatus};
use clnrm_lsp::runs::scenario::execute;
use clnrm_lsp::runs::settings::RunSettings;
use clnrm_lsp::traces::SpanSource;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::{json, Value};

/// One trace shared by stdout and OTLP spans, so parent links cross sources.
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const HTTP: &str = "00f067aa0ba902b7";
const QUERY: &str = "b7ad6b7169203331";
const RETRY: &str = "b7ad6b7169203332";
const CACHE: &str = "c0ffee0000000001";
const AUDIT: &str = "a0d17000000000a1";

// ---------------------------------------------------------------- span producers

/// Fails the calling test unless `curl` runs: the OTLP steps POST with it.
fn require_curl() {
    static CURL: OnceLock<bool> = OnceLock::new();
    let ok = *CURL.get_or_init(|| {
        Command::new("curl")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        ok,
        "curl is required by the OTLP run tests (steps POST spans with it); install curl"
    );
}

/// Files the steps read by absolute path (OTLP bodies built here), kept for the test.
struct Bodies(tempfile::TempDir);

impl Bodies {
    fn new() -> Self {
        Bodies(tempfile::tempdir().unwrap())
    }

    fn put(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Shell that POSTs the file `name` with `headers`; curl fails the step on a non-2xx.
    fn post(&self, name: &str, bytes: &[u8], headers: &[&str]) -> String {
        let p = self.put(name, bytes);
        curl(
            &format!("@{}", shell_quote(&p.display().to_string())),
            headers,
        )
    }

    fn otlp_json(&self, name: &str, req: &Value) -> String {
        self.post(
            name,
            req.to_string().as_bytes(),
            &["Content-Type: application/json"],
        )
    }

    fn otlp_proto(&self, name: &str, req: &ExportTraceServiceRequest) -> String {
        self.post(
            name,
            &req.encode_to_vec(),
            &["Content-Type: application/x-protobuf"],
        )
    }

    fn otlp_proto_gzip(&self, name: &str, req: &ExportTraceServiceRequest) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&req.encode_to_vec()).unwrap();
        self.post(
            name,
            &gz.finish().unwrap(),
            &[
                "Content-Type: application/x-protobuf",
                "Content-Encoding: gzip",
            ],
        )
    }
}

fn curl(data: &str, headers: &[&str]) -> String {
    require_curl();
    let headers: Vec<String> = headers.iter().map(|h| format!("-H '{h}'")).collect();
    format!(
        "curl -sS -f -o /dev/null --noproxy '*' {} --data-binary {data} \"$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\"",
        headers.join(" ")
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Shell printing `span` as one clnrm stdout span line.
fn print_span(span: &Value) -> String {
    let line = span.to_string();
    assert!(!line.contains('\'') && !line.contains('%'), "{line}");
    format!("printf '%s\\n' '{line}'")
}

/// Shell that runs `body`, timing it with the process's own clock, then prints `span`
/// with those times as a stdout span line.
fn timed_stdout_span(span: &Value, body: &str) -> String {
    let line = with_times(span, "start_time_unix_nano", "end_time_unix_nano", false);
    format!("s1=$(date +%s%N) && {body} && e1=$(date +%s%N) && printf '{line}\\n' \"$s1\" \"$e1\"")
}

/// Shell that times `body` and then POSTs `req` as OTLP/JSON with those times on its one
/// span (written to a file in the run directory first).
fn timed_otlp_json(req: &Value, file: &str, body: &str) -> String {
    let text = with_times(req, "startTimeUnixNano", "endTimeUnixNano", true);
    format!(
        "s2=$(date +%s%N) && {body} && e2=$(date +%s%N) && printf '{text}' \"$s2\" \"$e2\" > {file} && {}",
        curl(&format!("@{file}"), &["Content-Type: application/json"])
    )
}

/// `v` as JSON text whose (only) span gets `start`/`end` fields filled by printf `%s`.
fn with_times(v: &Value, start: &str, end: &str, quoted: bool) -> String {
    let text = v.to_string();
    assert!(!text.contains('\'') && !text.contains('%'), "{text}");
    let q = if quoted { "\"" } else { "" };
    let times = format!("\"{start}\":{q}%s{q},\"{end}\":{q}%s{q}");
    // Only spans carry a trace id: insert the times before it.
    let anchor = if quoted {
        "\"traceId\":"
    } else {
        "\"trace_id\":"
    };
    let at = text.find(anchor).unwrap();
    format!("{}{times},{}", &text[..at], &text[at..])
}

fn stdout_span(name: &str, id: &str, parent: Option<&str>, extra: Value) -> Value {
    let mut v = json!({ "name": name, "trace_id": TRACE, "span_id": id });
    if let Some(p) = parent {
        v["parent_span_id"] = json!(p);
    }
    if let Value::Object(m) = extra {
        v.as_object_mut().unwrap().extend(m);
    }
    v
}

fn json_attr(k: &str, v: &str) -> Value {
    json!({ "key": k, "value": { "stringValue": v } })
}

/// OTLP/JSON export of `spans` from a service.
fn json_export(service: &str, spans: Vec<Value>) -> Value {
    json!({ "resourceSpans": [{
        "resource": { "attributes": [json_attr("service.name", service)] },
        "scopeSpans": [{ "scope": { "name": "run-verdicts" }, "spans": spans }]
    }]})
}

fn proto_attr(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn proto_export(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![proto_attr(
                    "service.name",
                    any_value::Value::StringValue(service.into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn proto_span(name: &str, id: &str, parent: &str, kind: i32, code: status::StatusCode) -> Span {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    Span {
        trace_id: hex::decode(TRACE).unwrap(),
        span_id: hex::decode(id).unwrap(),
        parent_span_id: hex::decode(parent).unwrap(),
        name: name.into(),
        kind,
        start_time_unix_nano: now,
        end_time_unix_nano: now + 1_000_000,
        status: Some(Status {
            code: code as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- running and reading

/// A test file with one scenario `s` whose steps are `(name, shell)`, then `expect`.
fn test_file(steps: &[(&str, String)], expect: &str) -> String {
    let steps: Vec<String> = steps
        .iter()
        .map(|(name, sh)| {
            format!(
                "  {{ name = \"{name}\", command = [{}] }}",
                toml_edit::Value::from(sh.as_str())
            )
        })
        .collect();
    format!(
        "[meta]\nname = \"run-verdicts\"\n\n[[scenario]]\nname = \"s\"\nsteps = [\n{}\n]\n\n{expect}",
        steps.join(",\n")
    )
}

struct Verdict {
    text: String,
    result: RunResult,
}

fn run(steps: &[(&str, String)], expect: &str) -> Verdict {
    run_text(test_file(steps, expect))
}

fn run_text(text: String) -> Verdict {
    let file = TestFile::from_rendered(&text, None).unwrap();
    let ws = tempfile::tempdir().unwrap();
    let result = execute(
        &file,
        &file.scenarios[0],
        Place {
            root: ws.path(),
            dir: ws.path(),
        },
        &Local,
        &RunSettings {
            default_timeout: Duration::from_secs(30),
            kill_grace: Duration::from_secs(2),
            ..RunSettings::default()
        },
        None,
        &CancelToken::new(),
    );
    Verdict { text, result }
}

impl Verdict {
    /// Everything needed to see why an assertion failed.
    fn report(&self) -> String {
        let r = &self.result;
        let spans: Vec<String> = r
            .spans
            .iter()
            .map(|s| format!("{} ({:?})", s.name, s.source))
            .collect();
        let failures: Vec<String> = r.failures.iter().map(|f| f.message()).collect();
        format!(
            "status {:?}, error {:?}\nfailures:\n  {}\nspans: {}\nstdout: {}\nstderr: {}\nfile:\n{}",
            r.status,
            r.error,
            failures.join("\n  "),
            spans.join(", "),
            r.stdout_tail,
            r.stderr_tail,
            self.text
        )
    }

    fn assert_passed(&self) {
        assert_eq!(self.result.status, RunStatus::Passed, "{}", self.report());
        assert!(self.result.failures.is_empty(), "{}", self.report());
    }

    /// Asserts the run failed its expectations with exactly these `(path, key)`s.
    fn assert_failed(&self, expected: &[(&str, &str)]) {
        assert_eq!(self.result.status, RunStatus::Failed, "{}", self.report());
        let mut got: Vec<(&str, &str)> = self
            .result
            .failures
            .iter()
            .map(|f| (f.path.as_str(), f.key.as_deref().unwrap_or("")))
            .collect();
        let mut want = expected.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{}", self.report());
        // Every failure is an expectation failure, not a process one.
        assert!(
            self.result
                .failures
                .iter()
                .all(|f| f.path.starts_with("expect.")),
            "{}",
            self.report()
        );
    }

    /// The failure at `path`.`key`; its location in the file is that key's text (or,
    /// for a failure without a key, the table header).
    fn failure(&self, path: &str, key: &str) -> &ExpectationFailure {
        let f = self
            .result
            .failures
            .iter()
            .find(|f| f.path == path && f.key.as_deref().unwrap_or("") == key)
            .unwrap_or_else(|| panic!("no failure at {path} {key}\n{}", self.report()));
        let doc = toml_edit::Document::parse(self.text.clone()).unwrap();
        let range = f
            .locate(&doc)
            .unwrap_or_else(|| panic!("{f:?} not located\n{}", self.report()));
        // `must_include[0]`: the failing element of that array.
        let (key, element) = match key.strip_suffix(']').and_then(|k| k.rsplit_once('[')) {
            Some((k, _)) => (k, true),
            None => (key, false),
        };
        let last = match key {
            "" => String::new(),
            k => toml_edit::Key::parse(k)
                .unwrap()
                .last()
                .unwrap()
                .get()
                .to_string(),
        };
        let located = &self.text[range];
        assert!(
            located.trim_matches('"') == last
                || ((key.is_empty() || element) && located.starts_with('[')),
            "{f:?} located at {located:?}, expected the key {last:?}\n{}",
            self.report()
        );
        f
    }

    /// Asserts `failure(path, key)`'s expected and observed contain these texts.
    fn says(&self, path: &str, key: &str, expected: &str, observed: &[&str]) {
        let f = self.failure(path, key);
        assert!(f.expected.contains(expected), "{f:?}\n{}", self.report());
        for o in observed {
            assert!(f.observed.contains(o), "{o:?} not in {f:?}");
        }
    }

    fn assert_source(&self, name: &str, source: SpanSource) {
        assert!(
            self.result
                .spans
                .iter()
                .any(|s| s.name == name && s.source == source),
            "no {name} span from {source:?}\n{}",
            self.report()
        );
    }
}

// ---------------------------------------------------------------- the checkout run

/// A request handled across three processes and four channels:
/// - step `serve` (stdout, timed by the shell) `http.request` [server, status OK attribute,
///   event], which wraps an OTLP/JSON export of its child `db.query` [client, OK];
/// - step `cache`: OTLP/protobuf `cache.get` [client, ERROR] under `db.query`, and a stdout
///   retry `db.query` with an `otel.status_code = ERROR` attribute and no times;
/// - step `audit`: gzip-compressed OTLP/protobuf `audit.write` [internal, UNSET] under
///   `http.request`.
///
/// Runner spans: `clnrm.run`, `scenario:s`, `step:serve`, `step:cache`, `step:audit`.
/// Program spans: 5. Error spans: 2.
fn checkout(expect: &str) -> Verdict {
    let b = Bodies::new();
    let query = json_export(
        "checkout",
        vec![json!({
            "traceId": TRACE, "spanId": QUERY, "parentSpanId": HTTP, "name": "db.query",
            "kind": 3, "status": { "code": 1 },
            "attributes": [json_attr("db.system", "postgres")],
        })],
    );
    let serve = timed_stdout_span(
        &stdout_span(
            "http.request",
            HTTP,
            None,
            json!({
                "kind": "server",
                "attributes": { "http.method": "GET", "http.route": "/users", "otel.status_code": "OK" },
                "events": ["request.received"],
            }),
        ),
        &format!(
            "sleep 0.02 && {}",
            timed_otlp_json(&query, "query.json", "sleep 0.01")
        ),
    );
    let mut cache = proto_span("cache.get", CACHE, QUERY, 3, status::StatusCode::Error);
    cache
        .attributes
        .push(proto_attr("cache.hit", any_value::Value::BoolValue(true)));
    let cache = format!(
        "{} && {}",
        b.otlp_proto("cache.pb", &proto_export("checkout", vec![cache])),
        print_span(&stdout_span(
            "db.query",
            RETRY,
            Some(HTTP),
            json!({ "attributes": { "db.system": "postgres", "otel.status_code": "ERROR" } }),
        ))
    );
    let audit = b.otlp_proto_gzip(
        "audit.pb.gz",
        &proto_export(
            "checkout",
            vec![proto_span(
                "audit.write",
                AUDIT,
                HTTP,
                1,
                status::StatusCode::Unset,
            )],
        ),
    );
    // `b` (the bodies) lives until the run is over.
    run(
        &[("serve", serve), ("cache", cache), ("audit", audit)],
        expect,
    )
}

#[test]
fn each_transport_delivers_a_span_that_meets_an_expectation() {
    let v = checkout(
        r#"
[[expect.span]]
name = "http.request"
[[expect.span]]
name = "db.query"
kind = "client"
[[expect.span]]
name = "cache.get"
[[expect.span]]
name = "audit.write"
"#,
    );
    v.assert_passed();
    v.assert_source("http.request", SpanSource::Stdout);
    v.assert_source("db.query", SpanSource::Otlp); // OTLP/JSON
    v.assert_source("cache.get", SpanSource::Otlp); // OTLP/protobuf
    v.assert_source("audit.write", SpanSource::Otlp); // gzip OTLP/protobuf
    let audit = v
        .result
        .spans
        .iter()
        .find(|s| s.name == "audit.write")
        .unwrap();
    assert_eq!(audit.trace_id, TRACE);
    assert_eq!(audit.parent_span_id.as_deref(), Some(HTTP));
    assert_eq!(
        audit.resource_attributes.get("service.name"),
        Some(&json!("checkout"))
    );
}

#[test]
fn span_expectations_pass() {
    checkout(
        r#"
[[expect.span]]
name = "http.request"
kind = "server"
attrs.all = { "http.method" = "GET", "http.route" = "/users" }
attrs.any = { "http.method" = "POST", "http.route" = "/users" }
events.all = ["request.received"]
duration_ms = { min = 15, max = 60000 }

[[expect.span]]
name = "db.query"
parent = "http.request"
kind = "client"
attrs.all = { "db.system" = "postgres" }
duration_ms = { min = 5 }

[[expect.span]]
name = "cache.get"
parent = "db.query"
kind = "client"
attrs.all = { "cache.hit" = "true" }

[[expect.span]]
name = "audit.write"
parent = "http.request"
kind = "internal"
"#,
    )
    .assert_passed();
}

#[test]
fn span_expectations_fail_per_constraint() {
    let v = checkout(
        r#"
[[expect.span]]
name = "cache.get"
parent = "http.request"

[[expect.span]]
name = "cache.get"
kind = "server"

[[expect.span]]
name = "http.request"
attrs.all = { "http.method" = "POST" }

[[expect.span]]
name = "http.request"
duration_ms = { max = 1 }

[[expect.span]]
name = "payment.charge"

[[expect.span]]
name = "audit.write"
events.any = ["flushed"]
"#,
    );
    v.assert_failed(&[
        ("expect.span[0]", "parent"),
        ("expect.span[1]", "kind"),
        ("expect.span[2]", "attrs.all"),
        ("expect.span[3]", "duration_ms.max"),
        ("expect.span[4]", "name"),
        ("expect.span[5]", "events.any"),
    ]);
    v.says(
        "expect.span[0]",
        "parent",
        "parent \"http.request\"",
        &["parent \"db.query\""],
    );
    v.says("expect.span[1]", "kind", "kind server", &["kind client"]);
    v.says(
        "expect.span[2]",
        "attrs.all",
        "http.method = \"POST\"",
        &["http.method = \"GET\""],
    );
    v.says(
        "expect.span[3]",
        "duration_ms.max",
        "at most 1 ms",
        &[" ms"],
    );
    v.says(
        "expect.span[4]",
        "name",
        "\"payment.charge\"",
        &[
            "no span named \"payment.charge\"",
            "audit.write",
            "cache.get",
        ],
    );
    v.says("expect.span[5]", "events.any", "flushed", &["no events"]);
    // The duration seen is the shell's own measurement: at least the 20 ms it slept.
    let seen = &v.failure("expect.span[3]", "duration_ms.max").observed;
    let ms: f64 = seen
        .rsplit("seen: ")
        .next()
        .and_then(|s| s.strip_suffix(" ms"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{seen}"));
    assert!(ms >= 20.0, "{seen}");
}

#[test]
fn graph_expectations_pass() {
    checkout(
        r#"
[expect.graph]
must_include = [["http.request", "db.query"], ["db.query", "cache.get"], ["http.request", "audit.write"]]
must_not_cross = [["cache.get", "db.query"], ["http.request", "cache.get"], ["audit.write", "http.request"]]
acyclic = true
"#,
    )
    .assert_passed();
}

#[test]
fn graph_expectations_fail() {
    let v = checkout(
        r#"
[expect.graph]
must_include = [["http.request", "cache.get"]]
must_not_cross = [["db.query", "cache.get"]]
"#,
    );
    v.assert_failed(&[
        ("expect.graph", "must_include[0]"),
        ("expect.graph", "must_not_cross[0]"),
    ]);
    v.says(
        "expect.graph",
        "must_include[0]",
        "\"cache.get\" span whose direct parent is a \"http.request\" span",
        &["their parents: \"db.query\""],
    );
    v.says(
        "expect.graph",
        "must_not_cross[0]",
        "no \"cache.get\" span directly under a \"db.query\" span",
        &["1 \"cache.get\" span directly under \"db.query\"", CACHE],
    );
}

#[test]
fn acyclic_fails_on_a_cycle_across_stdout_and_otlp() {
    let b = Bodies::new();
    // ping (stdout) is the child of pong (OTLP/JSON), which is the child of ping.
    let ping = print_span(&stdout_span(
        "ping",
        "1111111111111111",
        Some("2222222222222222"),
        json!({}),
    ));
    let pong = b.otlp_json(
        "pong.json",
        &json_export(
            "loop",
            vec![json!({ "traceId": TRACE, "spanId": "2222222222222222", "parentSpanId": "1111111111111111", "name": "pong" })],
        ),
    );
    let expect = "[expect.graph]\nacyclic = true\n";
    let v = run(&[("ping", ping.clone()), ("pong", pong.clone())], expect);
    v.assert_failed(&[("expect.graph", "acyclic")]);
    v.says(
        "expect.graph",
        "acyclic",
        "without cycles",
        &["a cycle: ", "\"ping\"", "\"pong\""],
    );
    // Without the back link the same spans are acyclic.
    let root = print_span(&stdout_span("ping", "1111111111111111", None, json!({})));
    run(&[("ping", root), ("pong", pong)], expect).assert_passed();
}

#[test]
fn counts_expectations_pass() {
    checkout(
        r#"
[expect.counts]
spans_total = { eq = 10 }
events_total = { eq = 1 }
errors_total = { eq = 2 }
by_name = { "db.query" = { eq = 2 }, "cache.get" = { gte = 1, lte = 1 }, "audit.write" = { lte = 1 } }
"#,
    )
    .assert_passed();
}

#[test]
fn counts_expectations_fail() {
    let v = checkout(
        r#"
[expect.counts]
spans_total = { lte = 4 }
errors_total = { eq = 0 }
by_name = { "db.query" = { eq = 1 }, "payment.charge" = { gte = 1 } }
"#,
    );
    v.assert_failed(&[
        ("expect.counts", "spans_total"),
        ("expect.counts", "errors_total"),
        ("expect.counts", "by_name.\"db.query\""),
        ("expect.counts", "by_name.\"payment.charge\""),
    ]);
    v.says(
        "expect.counts",
        "spans_total",
        "at most 4 spans",
        &["10 spans"],
    );
    v.says(
        "expect.counts",
        "errors_total",
        "exactly 0 error spans",
        &["2 error spans"],
    );
    v.says(
        "expect.counts",
        "by_name.\"db.query\"",
        "exactly 1 span named \"db.query\"",
        &["2 spans named \"db.query\""],
    );
    v.says(
        "expect.counts",
        "by_name.\"payment.charge\"",
        "at least 1 span",
        &["no span named \"payment.charge\""],
    );
}

#[test]
fn window_expectations_pass() {
    // The OTLP span's shell-measured times lie inside the stdout span's, and both inside
    // the runner's own span of the step that produced them.
    checkout(
        r#"
[[expect.window]]
outer = "http.request"
contains = ["db.query"]

[[expect.window]]
outer = "step:serve"
contains = ["http.request", "db.query"]
"#,
    )
    .assert_passed();
}

#[test]
fn window_expectations_fail() {
    let v = checkout(
        r#"
[[expect.window]]
outer = "db.query"
contains = ["http.request"]

[[expect.window]]
outer = "step:cache"
contains = ["http.request"]

[[expect.window]]
outer = "payment.charge"
contains = ["db.query"]
"#,
    );
    v.assert_failed(&[
        ("expect.window[0]", "contains"),
        ("expect.window[1]", "contains"),
        ("expect.window[2]", "outer"),
    ]);
    v.says(
        "expect.window[0]",
        "contains",
        "a \"http.request\" span within a \"db.query\" span",
        &["\"http.request\" runs +", "\"db.query\" runs +"],
    );
    v.says(
        "expect.window[1]",
        "contains",
        "within a \"step:cache\" span",
        &["\"step:cache\" runs +"],
    );
    v.says(
        "expect.window[2]",
        "outer",
        "a span named \"payment.charge\"",
        &["no span named \"payment.charge\""],
    );
}

/// Step `build` prints a timed stdout span; step `deploy` then exports a timed OTLP/JSON
/// span, so `build` ends before `deploy` starts.
fn pipeline(expect: &str) -> Verdict {
    let build = timed_stdout_span(
        &stdout_span("build", "1000000000000001", None, json!({})),
        "sleep 0.01",
    );
    let deploy = timed_otlp_json(
        &json_export(
            "pipeline",
            vec![json!({ "traceId": TRACE, "spanId": "1000000000000002", "name": "deploy" })],
        ),
        "deploy.json",
        "sleep 0.01",
    );
    run(&[("build", build), ("deploy", deploy)], expect)
}

#[test]
fn order_expectations_pass() {
    let v = pipeline(
        "[expect.order]\nmust_precede = [[\"build\", \"deploy\"]]\nmust_follow = [[\"deploy\", \"build\"]]\n",
    );
    v.assert_passed();
    v.assert_source("build", SpanSource::Stdout);
    v.assert_source("deploy", SpanSource::Otlp);
}

#[test]
fn order_expectations_fail() {
    let v = pipeline(
        "[expect.order]\nmust_precede = [[\"deploy\", \"build\"]]\nmust_follow = [[\"build\", \"deploy\"]]\n",
    );
    v.assert_failed(&[
        ("expect.order", "must_precede[0]"),
        ("expect.order", "must_follow[0]"),
    ]);
    v.says(
        "expect.order",
        "must_precede[0]",
        "\"deploy\" to end before \"build\" starts",
        &[
            "the earliest \"deploy\" ends at +",
            "the latest \"build\" starts at +",
        ],
    );
    v.says(
        "expect.order",
        "must_follow[0]",
        "\"build\" to start after \"deploy\" ends",
        &["the earliest \"deploy\" ends at +"],
    );
}

#[test]
fn status_by_name_passes() {
    checkout(
        r#"
[expect.status]
by_name = { "cache.*" = "ERROR", "http.*" = "ok", "audit.*" = "UNSET", "step:*" = "OK" }
"#,
    )
    .assert_passed();
}

#[test]
fn status_all_passes_when_every_span_is_ok() {
    // OK from a stdout attribute and from an OTLP/JSON status; the runner's spans of a
    // passing run are OK too.
    let b = Bodies::new();
    let v = run(
        &[
            (
                "print",
                print_span(&stdout_span(
                    "job",
                    "3000000000000001",
                    None,
                    json!({ "attributes": { "otel.status_code": "OK" } }),
                )),
            ),
            (
                "post",
                b.otlp_json(
                    "ok.json",
                    &json_export(
                        "ok",
                        vec![json!({ "traceId": TRACE, "spanId": "3000000000000002", "parentSpanId": "3000000000000001", "name": "job.part", "status": { "code": 1 } })],
                    ),
                ),
            ),
        ],
        "[expect.status]\nall = \"OK\"\n",
    );
    v.assert_passed();
    v.assert_source("job.part", SpanSource::Otlp);
}

#[test]
fn status_expectations_fail() {
    let v = checkout(
        r#"
[expect.status]
all = "OK"
by_name = { "db.*" = "OK", "payment.*" = "OK" }
"#,
    );
    v.assert_failed(&[
        ("expect.status", "all"),
        ("expect.status", "by_name.\"db.*\""),
        ("expect.status", "by_name.\"payment.*\""),
    ]);
    v.says(
        "expect.status",
        "all",
        "every span with status OK",
        &[
            "\"cache.get\" ERROR",
            "\"db.query\" ERROR",
            "\"audit.write\" UNSET",
        ],
    );
    v.says(
        "expect.status",
        "by_name.\"db.*\"",
        "spans matching \"db.*\" with status OK",
        &["1 of 2 spans has another status: \"db.query\" ERROR"],
    );
    v.says(
        "expect.status",
        "by_name.\"payment.*\"",
        "\"payment.*\"",
        &["no span name matches \"payment.*\""],
    );
}

#[test]
fn hermeticity_expectations_pass() {
    checkout(
        r#"
[expect.hermeticity]
no_external_services = true
resource_attrs.must_match = { "service.name" = "checkout" }
span_attrs.forbid_keys = ["password", "db.statement"]
"#,
    )
    .assert_passed();
}

#[test]
fn hermeticity_expectations_fail() {
    let v = checkout(
        r#"
[expect.hermeticity]
resource_attrs.must_match = { "service.name" = "billing" }
span_attrs.forbid_keys = ["password", "http.route"]
"#,
    );
    v.assert_failed(&[
        ("expect.hermeticity", "resource_attrs.must_match"),
        ("expect.hermeticity", "span_attrs.forbid_keys"),
    ]);
    v.says(
        "expect.hermeticity",
        "resource_attrs.must_match",
        "service.name = \"billing\"",
        &["service.name = \"checkout\""],
    );
    v.says(
        "expect.hermeticity",
        "span_attrs.forbid_keys",
        "password, http.route",
        &["\"http.request\" has http.route = \"/users\""],
    );
}

#[test]
fn no_external_services_fails_on_remote_peers_from_either_source() {
    let b = Bodies::new();
    let steps = [
        (
            "charge",
            print_span(&stdout_span(
                "payment.charge",
                "4000000000000001",
                None,
                json!({ "attributes": { "server.address": "api.stripe.com" } }),
            )),
        ),
        (
            "fetch",
            b.otlp_json(
                "fetch.json",
                &json_export(
                    "shop",
                    vec![json!({ "traceId": TRACE, "spanId": "4000000000000002", "name": "http.fetch", "attributes": [json_attr("url.full", "https://example.com/")] })],
                ),
            ),
        ),
    ];
    let v = run(
        &steps,
        "[expect.hermeticity]\nno_external_services = true\n",
    );
    v.assert_failed(&[("expect.hermeticity", "no_external_services")]);
    v.says(
        "expect.hermeticity",
        "no_external_services",
        "no span with a remote-peer attribute",
        &[
            "2 spans",
            "\"payment.charge\" has server.address = \"api.stripe.com\"",
            "\"http.fetch\" has url.full = \"https://example.com/\"",
        ],
    );
}

#[test]
fn a_rejected_export_fails_the_step_not_the_verdict() {
    // A body the receiver cannot decode gets a 4xx; curl -f makes the step exit non-zero,
    // so the run fails at the step instead of silently missing the span.
    let b = Bodies::new();
    let bad = b.post(
        "bad.pb",
        b"\xff\xff\xff not protobuf",
        &["Content-Type: application/x-protobuf"],
    );
    let v = run(&[("post", bad)], "[[expect.span]]\nname = \"x\"\n");
    assert_eq!(v.result.status, RunStatus::Failed, "{}", v.report());
    assert_eq!(v.result.failures.len(), 1, "{}", v.report());
    assert_eq!(v.result.failures[0].path, "scenario[0].steps[0]");
}

#[test]
fn spans_of_a_step_expected_to_exit_non_zero_count_and_it_is_no_error() {
    // The program exports its span, then exits 3 as the step expects: the run passes, the
    // span counts, and the runner's span of that step is not an error.
    let b = Bodies::new();
    let post = b.otlp_json(
        "cli.json",
        &json_export(
            "cli",
            vec![json!({ "traceId": TRACE, "spanId": "5000000000000001", "name": "cli.usage_error", "status": { "code": 2 } })],
        ),
    );
    let text = test_file(
        &[("usage", format!("{post} && exit 3"))],
        "[expect.counts]\nerrors_total = { eq = 1 }\nby_name = { \"cli.usage_error\" = { eq = 1 } }\n\
         [expect.status]\nby_name = { \"step:*\" = \"OK\", \"cli.*\" = \"ERROR\" }\n",
    )
    .replace("name = \"usage\",", "name = \"usage\", expected_exit_code = 3,");
    let v = run_text(text);
    v.assert_passed();
    assert_eq!(v.result.exit_code, Some(3));
    v.assert_source("cli.usage_error", SpanSource::Otlp);
}
