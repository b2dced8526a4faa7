//! Typed view of a rendered test file, for runs and expectations. Validation lives in
//! `analysis`; this model is lenient (a key of the wrong type reads as absent) and is only
//! built after analysis passed.

pub mod expect;

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;
use serde_json::Value;

use crate::analysis::SourceMap;

/// A rendered test file: what a run needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestFile {
    /// `[meta] name`, else `[test.metadata] name`.
    pub name: String,
    /// `[service.*]`, or `[services.*]` when present (clnrm's `run` prefers it).
    pub services: BTreeMap<String, Service>,
    /// Scenarios in file order; top-level `[[steps]]` form one implicit scenario first.
    pub scenarios: Vec<Scenario>,
    /// The `[expect]` table as JSON (`Null` when absent), for expectation evaluation.
    pub expect: Value,
    /// `[limits]`.
    pub limits: Limits,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    pub plugin: Option<String>,
    pub image: Option<String>,
    pub env: BTreeMap<String, String>,
    /// The whole table, part of the cache key of scenarios using the service.
    pub raw: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scenario {
    pub name: String,
    pub service: Option<String>,
    /// Split into argv and executed without a shell.
    pub run: Option<String>,
    pub steps: Vec<Step>,
    pub timeout_ms: Option<u64>,
    pub policy: Policy,
    /// Formed from top-level `[[steps]]` rather than a `[[scenario]]` table.
    pub implicit: bool,
    /// The `[[scenario]]` header in the template source (for code lenses).
    pub header_range: Option<Range<usize>>,
    /// The rendered table, part of the cache key.
    pub raw: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Step {
    pub name: String,
    pub command: Vec<String>,
    pub expected_output_regex: Option<String>,
    pub expected_exit_code: i32,
    pub workdir: Option<String>,
    pub env: BTreeMap<String, String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Policy {
    pub max_execution_time_s: Option<u64>,
    pub max_memory_mb: Option<u64>,
    /// Share of one CPU, 0..1.
    pub max_cpu_usage: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    pub cpu_millicores: Option<u64>,
    pub memory_mb: Option<u64>,
}

impl TestFile {
    /// Build the model from rendered TOML; `map` maps rendered ranges to the template.
    pub fn from_rendered(text: &str, map: Option<&SourceMap>) -> Result<TestFile, String> {
        let doc = text
            .parse::<toml_edit::Document<String>>()
            .map_err(|e| e.message().to_string())?;
        let value: Value = toml_edit::de::from_document(doc.clone()).map_err(|e| e.to_string())?;
        let name = str_at(&value, &["meta", "name"])
            .or_else(|| str_at(&value, &["test", "metadata", "name"]))
            .unwrap_or_default();
        let services_table = value
            .get("services")
            .filter(|v| v.is_object())
            .or_else(|| value.get("service"));
        let services = services_table
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(id, raw)| {
                        let svc = Service {
                            plugin: str_at(raw, &["plugin"]),
                            image: str_at(raw, &["image"]),
                            env: str_map(raw.get("env")),
                            raw: raw.clone(),
                        };
                        (id.clone(), svc)
                    })
                    .collect()
            })
            .unwrap_or_default();

        let mut scenarios = Vec::new();
        let top_steps = steps_of(value.get("steps"));
        if !top_steps.is_empty() {
            scenarios.push(Scenario {
                name: if name.is_empty() {
                    "steps".into()
                } else {
                    name.clone()
                },
                steps: top_steps,
                implicit: true,
                raw: value.get("steps").cloned().unwrap_or(Value::Null),
                ..Scenario::default()
            });
        }
        let headers: Vec<Option<Range<usize>>> = doc
            .get("scenario")
            .and_then(|i| i.as_array_of_tables())
            .map(|a| a.iter().map(|t| t.span()).collect())
            .unwrap_or_default();
        if let Some(list) = value.get("scenario").and_then(Value::as_array) {
            for (i, raw) in list.iter().enumerate() {
                let header_range = headers.get(i).cloned().flatten().map(|r| match map {
                    Some(m) => m.to_source(r),
                    None => r,
                });
                scenarios.push(Scenario {
                    name: str_at(raw, &["name"]).unwrap_or_else(|| format!("scenario {}", i + 1)),
                    service: str_at(raw, &["service"]),
                    run: str_at(raw, &["run"]),
                    steps: steps_of(raw.get("steps")),
                    timeout_ms: u64_at(raw, &["timeout_ms"]),
                    policy: Policy {
                        max_execution_time_s: u64_at(raw, &["policy", "max_execution_time"]),
                        max_memory_mb: u64_at(raw, &["policy", "max_memory_mb"]),
                        max_cpu_usage: at(raw, &["policy", "max_cpu_usage"])
                            .and_then(Value::as_f64),
                    },
                    implicit: false,
                    header_range,
                    raw: raw.clone(),
                });
            }
        }
        Ok(TestFile {
            name,
            services,
            scenarios,
            expect: value.get("expect").cloned().unwrap_or(Value::Null),
            limits: Limits {
                cpu_millicores: u64_at(&value, &["limits", "cpu_millicores"]),
                memory_mb: u64_at(&value, &["limits", "memory_mb"]),
            },
        })
    }

    /// The services a scenario uses: its own and its steps'.
    pub fn services_of(&self, scenario: &Scenario) -> BTreeMap<String, &Service> {
        scenario
            .service
            .iter()
            .chain(scenario.steps.iter().filter_map(|s| s.service.as_ref()))
            .filter_map(|id| self.services.get(id).map(|s| (id.clone(), s)))
            .collect()
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(Value::as_str).map(str::to_string)
}

fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    at(v, path).and_then(Value::as_u64)
}

fn str_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn steps_of(v: Option<&Value>) -> Vec<Step> {
    let Some(list) = v.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .enumerate()
        .map(|(i, s)| Step {
            name: str_at(s, &["name"]).unwrap_or_else(|| format!("step {}", i + 1)),
            command: s
                .get("command")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            expected_output_regex: str_at(s, &["expected_output_regex"]),
            expected_exit_code: s
                .get("expected_exit_code")
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(0),
            workdir: str_at(s, &["workdir"]),
            env: str_map(s.get("env")),
            service: str_at(s, &["service"]),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"[meta]
name = "demo"
version = "1"

[service.db]
image = "postgres:16"
env = { PGUSER = "a", N = 1 }

[[steps]]
name = "legacy"
command = ["echo", "hi"]
expected_output_regex = "h."

[[scenario]]
name = "first"
service = "db"
run = "echo 'a b'"
timeout_ms = 1500
policy = { max_memory_mb = 64, max_cpu_usage = 0.5 }

[[scenario]]
name = "second"
steps = [{ name = "s", command = ["false"], expected_exit_code = 1 }]

[expect.counts]
spans_total = { gte = 1 }
"#;

    #[test]
    fn reads_scenarios_steps_and_services() {
        let f = TestFile::from_rendered(FILE, None).unwrap();
        assert_eq!(f.name, "demo");
        let names: Vec<_> = f.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["demo", "first", "second"]);
        assert!(f.scenarios[0].implicit);
        assert_eq!(f.scenarios[0].steps[0].command, ["echo", "hi"]);
        let first = &f.scenarios[1];
        assert_eq!(first.run.as_deref(), Some("echo 'a b'"));
        assert_eq!(first.timeout_ms, Some(1500));
        assert_eq!(first.policy.max_memory_mb, Some(64));
        assert_eq!(first.policy.max_cpu_usage, Some(0.5));
        // A non-string env value is dropped, not an error.
        assert_eq!(f.services["db"].env.len(), 1);
        assert_eq!(f.services_of(first).len(), 1);
        assert_eq!(f.scenarios[2].steps[0].expected_exit_code, 1);
        assert!(f.expect.get("counts").is_some());
    }

    #[test]
    fn header_range_points_at_the_scenario_header() {
        let f = TestFile::from_rendered(FILE, None).unwrap();
        let r = f.scenarios[1].header_range.clone().unwrap();
        assert!(
            FILE[r.clone()].starts_with("[[scenario]]"),
            "{:?}",
            &FILE[r]
        );
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let f = TestFile::from_rendered(
            "[[scenario]]\nname = 3\nrun = [1]\ntimeout_ms = \"x\"\n",
            None,
        )
        .unwrap();
        assert_eq!(f.scenarios[0].name, "scenario 1");
        assert_eq!(f.scenarios[0].run, None);
        assert_eq!(f.scenarios[0].timeout_ms, None);
        assert!(TestFile::from_rendered("[[scenario]\n", None).is_err());
    }
}
