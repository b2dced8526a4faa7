//! `clnrm-lsp report merge FILE…`: the JSON results of `run --shard` (or of any runs over
//! disjoint scenarios) merged into one JSON or JUnit report with the totals a single run
//! gives. Exit 0 when every scenario passed, 1 when one failed or a file could not run,
//! 2 on unreadable input, a scenario reported twice, or shards of different splits.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{json, Value};

use super::run::junit::{self, Case, Suite};
use super::run::RunSummary;
use crate::documents::fs::{read_bytes, MAX_READ_BYTES};
use crate::runs::result::{RunResult, RunStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportFormat {
    #[default]
    Json,
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub action: ReportAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportAction {
    /// Merge the JSON reports of `run --shard I/N` (one per shard) into one report.
    Merge {
        /// The shards' `run --format json` outputs.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
        format: ReportFormat,
    },
}

pub fn run(args: ReportArgs) -> ExitCode {
    let ReportAction::Merge { files, format } = args.action;
    let mut docs = Vec::new();
    for path in &files {
        let parsed = read_bytes(path, None, MAX_READ_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(v) => docs.push(v),
            Err(e) => {
                eprintln!("clnrm-lsp: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let merged = match merge(&docs) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("clnrm-lsp: report merge: {e}");
            return ExitCode::from(2);
        }
    };
    let text = match format {
        ReportFormat::Json => super::output::pretty_json(&merged.json()),
        ReportFormat::Junit => merged.junit(),
    };
    let written = super::write_stdout(&text);
    if written != ExitCode::SUCCESS {
        written
    } else if merged.summary.failed > 0 || merged.summary.files_not_run > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Several reports as one.
#[derive(Debug)]
pub struct Merged {
    results: Vec<Value>,
    not_run: Vec<Value>,
    summary: RunSummary,
}

/// Merge `run --format json` documents. Shard reports must be the shards of one split
/// (same total and fingerprint, each index once); a scenario may appear in one only.
pub fn merge(docs: &[Value]) -> Result<Merged, String> {
    let mut shards: Vec<(u64, u64, String)> = Vec::new();
    for (n, doc) in docs.iter().enumerate() {
        if doc["version"] != 1 || !doc["results"].is_array() {
            return Err(format!(
                "input {} is not the JSON of `clnrm-lsp run --format json`",
                n + 1
            ));
        }
        if let Some(s) = doc.get("shard").filter(|s| !s.is_null()) {
            shards.push((
                s["index"].as_u64().unwrap_or(0),
                s["total"].as_u64().unwrap_or(0),
                s["fingerprint"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    check_shards(&shards, docs.len())?;
    let mut seen = HashSet::new();
    let mut results = Vec::new();
    let mut not_run: BTreeMap<String, Value> = BTreeMap::new();
    let mut duration_ms = 0;
    for doc in docs {
        for r in doc["results"].as_array().into_iter().flatten() {
            let file = r["file"].as_str().unwrap_or_default().to_string();
            let scenario = r["scenario"].as_str().unwrap_or_default().to_string();
            if !seen.insert((file.clone(), scenario.clone())) {
                return Err(format!(
                    "{file} › {scenario} is in two reports: merge the shards of one run"
                ));
            }
            results.push(r.clone());
        }
        for f in doc["not_run"].as_array().into_iter().flatten() {
            let file = f["file"].as_str().unwrap_or_default().to_string();
            not_run.entry(file).or_insert_with(|| f.clone());
        }
        // Shards run side by side: the merged run took as long as the slowest.
        duration_ms = duration_ms.max(doc["summary"]["duration_ms"].as_u64().unwrap_or(0));
    }
    // One file's scenarios together, files in path order (as one run lists them).
    results.sort_by(|a, b| a["file"].as_str().cmp(&b["file"].as_str()));
    let mut summary = RunSummary {
        scenarios: results.len(),
        files_not_run: not_run.len(),
        duration_ms,
        ..RunSummary::default()
    };
    for r in &results {
        summary.cached += usize::from(r["cached"] == true);
        match status(r) {
            RunStatus::Passed => summary.passed += 1,
            RunStatus::Cancelled => summary.cancelled += 1,
            RunStatus::Failed | RunStatus::TimedOut | RunStatus::Error => summary.failed += 1,
        }
    }
    Ok(Merged {
        results,
        not_run: not_run.into_values().collect(),
        summary,
    })
}

fn check_shards(shards: &[(u64, u64, String)], docs: usize) -> Result<(), String> {
    let Some((_, total, fingerprint)) = shards.first() else {
        return Ok(());
    };
    if shards.len() != docs {
        return Err("some inputs are shard reports and some are not".into());
    }
    if shards
        .iter()
        .any(|(_, t, f)| t != total || f != fingerprint)
    {
        return Err(
            "the shards planned different splits (different totals, scenarios or recorded \
             durations): run every shard from the same commit and cache state"
                .into(),
        );
    }
    let indexes: HashSet<u64> = shards.iter().map(|s| s.0).collect();
    if indexes.len() != shards.len() {
        return Err("a shard is given twice".into());
    }
    let missing: Vec<String> = (1..=*total)
        .filter(|i| !indexes.contains(i))
        .map(|i| format!("{i}/{total}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing shard(s): {}", missing.join(", ")));
    }
    Ok(())
}

fn status(r: &Value) -> RunStatus {
    serde_json::from_value(r["status"].clone()).unwrap_or(RunStatus::Error)
}

impl Merged {
    pub fn json(&self) -> Value {
        json!({
            "version": 1,
            "results": self.results,
            "not_run": self.not_run,
            "summary": self.summary,
        })
    }

    /// JUnit from what the JSON carries (no captured output: the JSON has none).
    pub fn junit(&self) -> String {
        let mut suites: Vec<Suite> = Vec::new();
        for f in &self.not_run {
            let details: String = f["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    format!(
                        "{}:{}:{}: {}[{}]: {}\n",
                        f["file"].as_str().unwrap_or_default(),
                        d["line"],
                        d["column"],
                        d["severity"].as_str().unwrap_or_default(),
                        d["code"].as_str().unwrap_or_default(),
                        d["message"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            suites.push(Suite {
                name: f["file"].as_str().unwrap_or_default().to_string(),
                invalid: Some((
                    f["reason"].as_str().unwrap_or_default().to_string(),
                    details,
                )),
                cases: Vec::new(),
            });
        }
        for r in &self.results {
            let file = r["file"].as_str().unwrap_or_default();
            let case = case(r);
            match suites
                .iter_mut()
                .find(|s| s.invalid.is_none() && s.name == file)
            {
                Some(s) => s.cases.push(case),
                None => suites.push(Suite {
                    name: file.to_string(),
                    invalid: None,
                    cases: vec![case],
                }),
            }
        }
        suites.sort_by(|a, b| a.name.cmp(&b.name));
        junit::render_suites(&suites, self.summary.duration_ms)
    }
}

fn case(r: &Value) -> Case {
    let failures: Vec<crate::runs::expect::ExpectationFailure> =
        serde_json::from_value(r["failures"].clone()).unwrap_or_default();
    let mut result = RunResult::without_run(
        r["scenario"].as_str().unwrap_or_default(),
        status(r),
        r["error"].as_str().map(str::to_string),
    );
    result.duration_ms = r["duration_ms"].as_u64().unwrap_or(0);
    let mut case = Case::of(&result, &|_| String::new());
    // The JSON's `error` is the short reason the run gave; the details are the failures,
    // placed where the JSON placed them (as `run --format junit` places them).
    if let Some(reason) = r["error"].as_str() {
        case.reason = reason.to_string();
    }
    let file = r["file"].as_str().unwrap_or_default();
    let placed: Vec<String> = r["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(&failures)
        .map(|(v, f)| match (v["line"].as_u64(), v["column"].as_u64()) {
            (Some(line), Some(column)) => format!("{file}:{line}:{column}: {}", f.message()),
            _ => f.message(),
        })
        .collect();
    case.details = placed
        .into_iter()
        .chain(r["error"].as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join("\n");
    case
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(file: &str, scenario: &str, status: &str, cached: bool) -> Value {
        json!({"file": file, "scenario": scenario, "status": status, "passed": status == "passed",
               "cached": cached, "backend": "local", "duration_ms": 10, "exit_code": 0,
               "error": if status == "passed" { Value::Null } else { json!("exit 1") },
               "failures": []})
    }

    fn shard(index: u64, results: Vec<Value>, fingerprint: &str) -> Value {
        json!({"version": 1, "results": results, "not_run": [],
               "summary": {"duration_ms": 100 * index},
               "shard": {"index": index, "total": 2, "fingerprint": fingerprint}})
    }

    #[test]
    fn shards_merge_into_the_single_run_totals() {
        let a = shard(
            1,
            vec![
                result("b.clnrm.toml", "x", "passed", true),
                result("a.clnrm.toml", "y", "failed", false),
            ],
            "f1",
        );
        let b = shard(2, vec![result("a.clnrm.toml", "z", "passed", false)], "f1");
        let m = merge(&[a, b]).unwrap();
        let s = m.summary;
        assert_eq!((s.scenarios, s.passed, s.failed, s.cached), (3, 2, 1, 1));
        assert_eq!(s.duration_ms, 200);
        let files: Vec<&str> = m
            .results
            .iter()
            .map(|r| r["file"].as_str().unwrap())
            .collect();
        assert_eq!(files, ["a.clnrm.toml", "a.clnrm.toml", "b.clnrm.toml"]);
        let xml = m.junit();
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\""),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"exit 1\" type=\"failed\">exit 1</failure>"),
            "{xml}"
        );
    }

    #[test]
    fn overlapping_missing_and_mismatched_shards_are_refused() {
        let r = || vec![result("a.clnrm.toml", "x", "passed", false)];
        let dup = merge(&[shard(1, r(), "f"), shard(2, r(), "f")]).unwrap_err();
        assert!(dup.contains("two reports"), "{dup}");
        let missing = merge(&[shard(1, r(), "f")]).unwrap_err();
        assert!(missing.contains("2/2"), "{missing}");
        let other = merge(&[shard(1, r(), "f"), shard(2, vec![], "g")]).unwrap_err();
        assert!(other.contains("different splits"), "{other}");
        let twice = merge(&[shard(1, r(), "f"), shard(1, vec![], "f")]).unwrap_err();
        assert!(twice.contains("twice"), "{twice}");
        assert!(merge(&[json!({"results": []})]).is_err());
    }
}
