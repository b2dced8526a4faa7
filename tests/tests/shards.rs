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

/// A workspace (a fresh checkout) of 8 files × 25 scenarios, some failing, and one file
/// with an error.
fn checkout(at: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(at).unwrap();
    pin_local(at, "");
    for f in 0..8 {
        let mut text = format!("[meta]\nname = \"suite {f}\"\nversion = \"1.0\"\n");
        for s in 0..25 {
            let run = match (f, s) {
                (1, 0) => "sleep 0.2", // the one long scenario
                _ if (f * 25 + s) % 17 == 0 => "false",
                _ => "true",
            };
            text.push_str(&format!(
                "\n[[scenario]]\nname = \"s{s}\"\nrun = \"{run}\"\n"
            ));
        }
        std::fs::write(at.join(format!("suite{f}.clnrm.toml")), text).unwrap();
    }
    std::fs::write(
        at.join("broken.clnrm.toml"),
        "[meta]\nname = \"b\"\nversion = \"1.0\"\n\n[[scenario]]\nname = 1\n",
    )
    .unwrap();
    at.to_path_buf()
}

fn pairs(doc: &Value) -> Vec<(String, String)> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["scenario"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn without_times(mut summary: Value) -> Value {
    summary["duration_ms"] = Value::Null;
    summary
}

#[test]
fn four_shards_of_200_scenarios_cover_them_once_and_merge_to_the_single_run_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let single = checkout(&tmp.path().join("single"));
    let o = clnrm(&single, &["run", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let whole = json(&o);
    assert_eq!(whole["summary"]["scenarios"], 200);
    let mut all = pairs(&whole);
    all.sort();

    // Each shard on its own fresh checkout, as on CI machines.
    let mut files = Vec::new();
    let mut seen = Vec::new();
    for i in 1..=4 {
        let root = checkout(&tmp.path().join(format!("shard{i}/checkout")));
        let o = clnrm(
            &root,
            &["run", "--shard", &format!("{i}/4"), "--format", "json"],
        );
        let doc = json(&o);
        assert_eq!(doc["shard"]["index"], i);
        assert_eq!(doc["shard"]["pairs"], 200);
        assert_eq!(
            doc["summary"]["scenarios"], 50,
            "by count: nothing recorded yet"
        );
        seen.extend(pairs(&doc));
        let path = tmp.path().join(format!("shard-{i}.json"));
        std::fs::write(&path, stdout(&o)).unwrap();
        files.push(path.display().to_string());
    }
    seen.sort();
    assert_eq!(
        seen, all,
        "the shards together are the whole set, each pair once"
    );

    let mut args = vec!["report", "merge"];
    args.extend(files.iter().map(String::as_str));
    let o = clnrm(tmp.path(), &args);
    assert_eq!(code(&o), 1, "a scenario failed: {}", stderr(&o));
    let merged = json(&o);
    assert_eq!(
        without_times(merged["summary"].clone()),
        without_times(whole["summary"].clone())
    );
    assert_eq!(merged["not_run"].as_array().unwrap().len(), 1);

    args.extend(["--format", "junit"]);
    let o = clnrm(tmp.path(), &args);
    let xml = stdout(&o);
    let failed = whole["summary"]["failed"].as_u64().unwrap();
    assert!(
        xml.contains(&format!("tests=\"201\" failures=\"{failed}\" errors=\"1\"")),
        "{xml}"
    );

    // A checkout that knows the durations balances by them (the long scenario weighs
    // more than many short ones): a shard planned there belongs to another split than the
    // fresh checkouts' by-count one, and the merge refuses it.
    let stale = checkout(&tmp.path().join("stale"));
    clnrm(&stale, &["run", "--format", "json"]);
    let o = clnrm(&stale, &["run", "--shard", "2/4", "--format", "json"]);
    let fresh: Value = serde_json::from_str(&std::fs::read_to_string(&files[1]).unwrap()).unwrap();
    assert_ne!(
        json(&o)["shard"]["fingerprint"],
        fresh["shard"]["fingerprint"]
    );
    let path = tmp.path().join("stale-2.json");
    std::fs::write(&path, stdout(&o)).unwrap();
    let o = clnrm(
        tmp.path(),
        &[
            "report",
            "merge",
            &files[0],
            path.to_str().unwrap(),
            &files[2],
            &files[3],
        ],
    );
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(stderr(&o).contains("different splits"), "{}", stderr(&o));
}
