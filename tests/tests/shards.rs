//! `--shard INDEX/TOTAL` as CI uses it: the shards of a selection together cover it exactly
//! once, and `report merge` gives the totals of a single run.

use std::collections::BTreeSet;
use std::path::Path;

use clnrm_lsp_e2e::cli::{code, run_in as clnrm, stderr, stdout};
use clnrm_lsp_e2e::workspace::pin_local;
use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
}

/// The files `check --format json` reported (each file here has one warning).
fn checked(root: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["check", "--format", "json", "."];
    args.extend_from_slice(extra);
    let o = clnrm(root, &args);
    json(&o)["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn check_shards_cover_every_file_once() {
    let ws = tempfile::tempdir().unwrap();
    pin_local(ws.path(), "");
    for i in 0..13 {
        std::fs::write(
            ws.path().join(format!("f{i}.clnrm.toml")),
            "[meta]\nname = \"t\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"s\"\nrun = \"true\"\n",
        )
        .unwrap();
    }
    let all: BTreeSet<String> = checked(ws.path(), &[]).into_iter().collect();
    assert_eq!(all.len(), 13);
    let mut seen = Vec::new();
    for i in 1..=4 {
        let part = checked(ws.path(), &["--shard", &format!("{i}/4")]);
        assert!((3..=4).contains(&part.len()), "{part:?}");
        seen.extend(part);
    }
    seen.sort();
    assert_eq!(seen, all.into_iter().collect::<Vec<_>>());
    let o = clnrm(ws.path(), &["check", "--shard", "5/4"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
