use super::*;
use crate::analysis::Code;

fn run(text: &str) -> Vec<Diagnostic> {
    let doc = crate::analysis::toml::Document::parse(text.to_string()).unwrap();
    let mut d = Vec::new();
    validate(&doc, text, &mut d);
    d
}

fn at<'t>(text: &'t str, d: &Diagnostic) -> &'t str {
    &text[d.range.clone()]
}

#[test]
fn embedded_schema_parses() {
    assert!(SCHEMA_JSON.is_some());
}

/// The validator compiled at build time finds what jsonschema's run-time validator of the
/// same file finds, in the same order (the diagnostics' order follows it), on every test
/// file of this repository that parses as TOML, fixtures and fuzz seeds alike.
#[test]
fn the_build_time_validator_agrees_with_the_run_time_one() {
    let schema = SCHEMA_JSON.as_ref().unwrap();
    let runtime = jsonschema::draft7::new(schema).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stack = vec![
        root.join("tests"),
        root.join("server/tests"),
        root.join("editors"),
    ];
    let mut compared = 0;
    let mut with_errors = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "node_modules" && !name.starts_with('.') {
                    stack.push(path);
                }
                continue;
            }
            if !(name.ends_with(".toml") || name.contains(".toml.")) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(doc) = crate::analysis::toml::Document::parse(text.clone()) else {
                continue;
            };
            let instance = convert::to_json(&doc);
            let errors = |it: jsonschema::ErrorIterator<'_>| {
                it.map(|e| format!("{} {:?}", e.instance_path().as_str(), e.kind()))
                    .collect::<Vec<_>>()
            };
            let built = errors(ClnrmSchema::iter_errors(&instance));
            assert_eq!(
                built,
                errors(runtime.iter_errors(&instance)),
                "{}",
                path.display()
            );
            compared += 1;
            with_errors += usize::from(!built.is_empty());
        }
    }
    assert!(
        compared > 50 && with_errors > 20,
        "{compared} files, {with_errors} with errors"
    );
}

/// Editors (taplo) read the schema as draft-07 and show descriptions on hover.
#[test]
fn schema_is_draft7_and_documents_every_property() {
    let schema = SCHEMA_JSON.as_ref().unwrap();
    assert!(jsonschema::draft7::meta::is_valid(schema));
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["$id"].is_string());
    let mut stack = vec![("".to_string(), schema)];
    let mut checked = 0;
    while let Some((path, node)) = stack.pop() {
        if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                let here = format!("{path}/{k}");
                assert!(v["description"].is_string(), "{here} lacks description");
                assert!(
                    v["markdownDescription"].is_string(),
                    "{here} lacks markdownDescription"
                );
                checked += 1;
                stack.push((here, v));
            }
        }
        for key in ["definitions", "items", "additionalProperties"] {
            match node.get(key) {
                Some(serde_json::Value::Object(m)) if key == "definitions" => {
                    stack.extend(m.iter().map(|(k, v)| (format!("{path}#{k}"), v)));
                }
                Some(v @ serde_json::Value::Object(_)) => stack.push((format!("{path}/{key}"), v)),
                _ => {}
            }
        }
    }
    assert!(checked > 150, "only {checked} properties");
}

#[test]
fn valid_v1_and_legacy_files_pass() {
    let v1 = r#"
[meta]
name = "t"
version = "1.0"
[otel]
exporter = "otlp"
sample_ratio = 1
[otel.resources]
"service.name" = "x"
[service.db]
plugin = "generic_container"
image = "postgres:16"
ports = [5432]
env = { A = "1" }
[[scenario]]
name = "s"
service = "db"
run = "echo hi"
artifacts.collect = ["spans:default"]
[[expect.span]]
name = "a"
attrs.all = { k = "v" }
[expect.counts]
spans_total = { gte = 1, lte = 3 }
by_name = { "a" = { eq = 1 } }
[expect.graph]
must_include = [["a", "b"]]
[expect.status]
all = "ok"
[determinism]
seed = 42
"#;
    assert_eq!(run(v1), vec![]);
    let legacy = r#"
[test.metadata]
name = "t"
[services.x]
image = "alpine"
[[services.x.volumes]]
host_path = "/tmp"
container_path = "/data"
[[steps]]
name = "a"
command = ["echo", "x"]
expected_output_regex = "x"
"#;
    assert_eq!(run(legacy), vec![]);
}

#[test]
fn port_string_is_an_invalid_type_on_the_value() {
    let text = "[services.app]\nimage = \"a\"\nports = [\"3000:3000\"]\n";
    let d = run(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::InvalidType);
    assert_eq!(at(text, &d[0]), "\"3000:3000\"");
    assert!(
        d[0].message
            .contains("expected an integer port (0-65535), found string \"3000:3000\""),
        "{}",
        d[0].message
    );
}

#[test]
fn unknown_key_is_a_warning_with_a_fix() {
    let text = "[service.db]\nimage = \"a\"\nimgae = \"b\"\nenvironment = { A = \"b\" }\n";
    let d = run(text);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0].code, Code::UnknownKey);
    assert_eq!(d[0].severity, crate::analysis::Severity::Warning);
    assert_eq!(at(text, &d[0]), "imgae");
    assert!(
        d[0].message.contains("did you mean `image`?"),
        "{}",
        d[0].message
    );
    let fix = d[0].fix.as_ref().unwrap();
    assert_eq!(fix.edits[0].new_text, "image");
    assert_eq!(at(text, &d[1]), "environment");
}

#[test]
fn unknown_table_is_flagged_at_its_header_key() {
    let text = "[[expect.temporal]]\nname = \"x\"\n";
    let d = run(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::UnknownKey);
    assert_eq!(at(text, &d[0]), "temporal");
}

#[test]
fn missing_required_key_points_at_table_header() {
    let text = "[meta]\nname = \"x\"\n";
    let d = run(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::MissingKey);
    assert_eq!(at(text, &d[0]), "[meta]");
    assert!(d[0].message.contains("`version`"));
    let text = "[test]\nname = \"x\"\n";
    let d = run(text);
    assert!(d
        .iter()
        .any(|d| d.code == Code::MissingKey && d.message.contains("metadata")));
}

#[test]
fn env_values_must_be_strings() {
    let text = "[service.a]\nimage = \"x\"\nenv = { PORT = 8080 }\n";
    let d = run(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::InvalidType);
    assert_eq!(at(text, &d[0]), "8080");
}

#[test]
fn attrs_any_array_is_rejected() {
    let text = "[[expect.span]]\nname = \"x\"\nattrs.any = [\"a\"]\n";
    let d = run(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::InvalidType);
    assert_eq!(at(text, &d[0]), "[\"a\"]");
    assert!(
        d[0].message.contains("table of string values"),
        "{}",
        d[0].message
    );
}

#[test]
fn ranges_and_enums_are_invalid_values() {
    let text = "[determinism]\nseed = -1\n[otel]\nexporter = \"otlp\"\nsample_ratio = 2.5\n[expect.status]\nall = \"GREEN\"\n";
    let d = run(text);
    let codes: Vec<_> = d.iter().map(|d| (d.code, at(text, d))).collect();
    assert_eq!(
        codes,
        vec![
            (Code::InvalidValue, "-1"),
            (Code::InvalidValue, "2.5"),
            (Code::InvalidValue, "\"GREEN\"")
        ]
    );
    assert!(
        d[2].message.contains("`OK`, `ERROR`, `UNSET`"),
        "{}",
        d[2].message
    );
}

#[test]
fn graph_edges_must_be_pairs() {
    let text = "[expect.graph]\nmust_include = [[\"a\"]]\n";
    let d = run(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(at(text, &d[0]), "[\"a\"]");
}

#[test]
fn wrong_container_shapes() {
    // [[assertions]] is an array where clnrm wants a table.
    let text = "[[assertions]]\nx = 1\n";
    let d = run(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::InvalidType);
    assert_eq!(at(text, &d[0]), "[[assertions]]");
}

#[test]
fn suggest_is_conservative() {
    assert_eq!(report::suggest("imgae", &["image", "ports"]), Some("image"));
    assert_eq!(
        report::suggest("depends_on", &["image", "ports", "env"]),
        None
    );
}

#[test]
fn aliases_and_table_shapes() {
    let text = "[service.a]\nimage = \"x\"\ntype = \"generic_container\"\nvolumes = [\"/a:/b\"]\n";
    let d = run(text);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(at(text, &d[0]), "type");
    assert!(
        d[0].message.contains("did you mean `plugin`?"),
        "{}",
        d[0].message
    );
    assert!(
        d[1].message
            .contains("expected a table `{ host_path = …, container_path = … }`"),
        "{}",
        d[1].message
    );
}

#[test]
fn deep_nesting_within_toml_limits_is_fine() {
    let depth = 70;
    let text = format!(
        "[vars]\nx = {}1{}\n[matrix]\ny = {}{}\n",
        "{a=".repeat(depth),
        "}".repeat(depth),
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let mut d = Vec::new();
    let doc = crate::analysis::toml::parse(&text, &mut d).unwrap();
    validate(&doc, &text, &mut d);
    crate::analysis::rules::check(&doc, &text, &mut d);
    // matrix values must be arrays of strings: the nested array is reported, once.
    assert_eq!(
        d.iter().filter(|d| d.code == Code::InvalidType).count(),
        1,
        "{d:?}"
    );
}

#[test]
fn conversion_is_shared_only_for_identical_text() {
    let a = "[meta]\nname = \"a\"\n";
    let b = "[meta]\nname = \"b\"\n";
    let da = crate::analysis::toml::Document::parse(a.to_string()).unwrap();
    let db = crate::analysis::toml::Document::parse(b.to_string()).unwrap();
    assert_eq!(convert::shared(&da, a)["meta"]["name"], "a");
    assert_eq!(convert::shared(&db, b)["meta"]["name"], "b");
    assert_eq!(convert::shared(&da, a)["meta"]["name"], "a");
}

#[test]
fn top_level_typos_and_seconds() {
    let text = "[[scenarios]]\nname = \"x\"\n[service.a]\nimage = \"x\"\nhealth_check = { cmd = [\"true\"], interval = \"2s\" }\nenv = { API_TOKEN = 5 }\n";
    let d = run(text);
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(at(text, &d[0]), "scenarios");
    assert!(d[0].message.contains("did you mean `scenario`?"));
    assert_eq!(at(text, &d[1]), "\"2s\"");
    assert!(
        d[1].message.contains("integer number of seconds"),
        "{}",
        d[1].message
    );
    assert_eq!(at(text, &d[2]), "5");
    assert!(
        !d[2].message.contains('5'),
        "secret values are never shown: {}",
        d[2].message
    );
}

/// Every section and key of the v1 format, written as the reference documents them:
/// the schema must accept all of it without a single finding.
#[test]
fn full_v1_surface_is_accepted() {
    let text = r#"
[meta]
name = "full"
version = "1.0"
description = "everything"

[vars]
svc = "clnrm"
nested = { a = [1, 2], b = { c = true } }

[matrix]
os = ["alpine", "debian"]

[otel]
exporter = "otlp"
endpoint = "http://localhost:4318"
protocol = "http/protobuf"
sample_ratio = 0.5
[otel.resources]
"service.name" = "clnrm"
[otel.headers]
Authorization = "Bearer $TOKEN"
[otel.propagators]
use = ["tracecontext", "baggage"]

[service.db]
plugin = "surrealdb"
image = "surrealdb/surrealdb:latest"
args = ["start"]
env = { LOG = "debug" }
ports = [8000]
username = "root"
password = "root"
strict = true
wait_for_span = "db.ready"
wait_for_span_timeout_secs = 10
health_check = { cmd = ["true"], interval = 5, timeout = 3, retries = 2 }
[[service.db.volumes]]
host_path = "/tmp/data"
container_path = "/data"
read_only = true

[[scenario]]
name = "smoke"
service = "db"
run = "clnrm self-test --otel-exporter stdout"
concurrent = false
timeout_ms = 60000
artifacts.collect = ["spans:default", "logs:stdout"]
policy = { security_level = "high", max_execution_time = 60, max_memory_mb = 512, max_cpu_usage = 0.5, allowed_network_hosts = ["localhost"], disallowed_commands = ["rm"] }
[[scenario.steps]]
name = "step"
command = ["echo", "ok"]
expected_output_regex = "ok"
expected_exit_code = 0
workdir = "/tmp"
env = { A = "b" }
continue_on_failure = true
service = "db"

[[expect.span]]
name = "clnrm.run"
kind = "internal"
attrs.all = { "result" = "pass" }
attrs.any = { "a" = "b" }
events.any = ["start"]
events.all = ["end"]
duration_ms = { min = 0, max = 1000.5 }
[[expect.span]]
name = "clnrm.step"
parent = "clnrm.run"

[expect.graph]
must_include = [["clnrm.run", "clnrm.step"]]
must_not_cross = [["clnrm.step", "clnrm.run"]]
acyclic = true

[expect.counts]
spans_total = { gte = 1, lte = 100 }
events_total = { gte = 0 }
errors_total = { eq = 0 }
by_name = { "clnrm.run" = { eq = 1 } }

[[expect.window]]
outer = "clnrm.run"
contains = ["clnrm.step"]

[expect.order]
must_precede = [["clnrm.run", "clnrm.step"]]
must_follow = [["clnrm.step", "clnrm.run"]]

[expect.status]
all = "OK"
by_name = { "clnrm.*" = "OK" }

[expect.hermeticity]
no_external_services = true
resource_attrs.must_match = { "service.name" = "clnrm" }
span_attrs.forbid_keys = ["net.peer.name"]

[report]
json = "report.json"
junit = "junit.xml"
digest = "digest.txt"

[determinism]
seed = 42
freeze_clock = "2025-01-01T00:00:00Z"
deterministic_ports = true
deterministic_volumes = true

[limits]
cpu_millicores = 500
memory_mb = 256

[otel_headers]
x = "y"

[otel_propagators]
use = ["tracecontext"]

[weaver]
enabled = false
otlp_port = 4317
admin_port = 4320

[chaos]
enabled = true
[[chaos.experiments]]
type = "network_latency"
target_service = "db"
latency_ms = 100
duration_seconds = 5
"#;
    assert_eq!(run(text), vec![]);
    // The rules find nothing wrong either: only notes on what clnrm's `run` ignores.
    let doc = crate::analysis::toml::Document::parse(text.to_string()).unwrap();
    let mut d = Vec::new();
    crate::analysis::rules::check(&doc, text, &mut d);
    let not_info: Vec<_> = d
        .iter()
        .filter(|d| d.severity != crate::analysis::Severity::Information)
        .collect();
    assert!(not_info.is_empty(), "{not_info:?}");
}

#[test]
fn full_legacy_surface_is_accepted() {
    let text = r#"
[test]
metadata = { name = "legacy", description = "d", timeout = "60s" }

[services.web]
plugin = "generic_container"
image = "nginx:alpine"
ports = [8080, 8443]

[[steps]]
name = "check"
command = ["curl", "-f", "http://localhost"]
service = "web"

[assertions]
container_should_have_executed_commands = 1

[otel_validation]
enabled = true
validate_spans = true
validate_traces = true
validate_exports = false
validate_performance = true
max_overhead_ms = 100.0
[[otel_validation.expected_spans]]
name = "clnrm.run"
attributes = { "a" = "b" }
required = true
min_duration_ms = 0
max_duration_ms = 1000
[[otel_validation.expected_traces]]
span_names = ["clnrm.run"]
trace_id = "abc"
complete = true
parent_child = [["clnrm.run", "clnrm.step"]]
[otel_validation.expect_counts]
spans_total = { gte = 1 }
"#;
    assert_eq!(run(text), vec![]);
}
