//! `clnrm-lsp diff` driven as a user would: the built binary, real files, exit codes.

use std::path::Path;
use std::process::Output;

use clnrm_lsp_e2e::bin_path::fixtures;
use clnrm_lsp_e2e::cli::{run_in_bounded, stdout};
use clnrm_lsp_e2e::workspace::pin_local;

fn traces() -> std::path::PathBuf {
    fixtures().join("traces")
}

fn diff(args: &[&str], cwd: &Path) -> Output {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    // Bounded: some tests hand it FIFOs and devices.
    run_in_bounded(cwd, &all, std::time::Duration::from_secs(60))
}

fn two(baseline: &str, current: &str, extra: &[&str]) -> Output {
    let dir = traces();
    let mut args = vec!["--baseline", baseline, "--current", current];
    args.extend_from_slice(extra);
    diff(&args, &dir)
}

#[test]
fn identical_trace_with_reordered_concurrent_siblings_exits_0() {
    let o = two("baseline.json", "current_reordered.json", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(
        text.ends_with("trace ✓ matches baseline (7 spans)\n"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no color when not a terminal");
}

#[test]
fn otlp_export_of_the_same_trace_matches() {
    let o = two("baseline.json", "current_otlp.json", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn every_marker_kind_exits_1() {
    let o = two("baseline.json", "current_changed.json", &[]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("changed_tree", stdout(&o));
}

#[test]
fn only_diffs_and_color_always() {
    let o = two(
        "baseline.json",
        "current_changed.json",
        &["--only-diffs", "--color", "always"],
    );
    let text = stdout(&o);
    assert!(text.contains("\x1b[31m❌ db.query\x1b[0m"), "{text}");
    assert!(text.contains("\x1b[33m✏️ worker\x1b[0m"), "{text}");
    // Unchanged workers (shard 1 and 3) are left out.
    assert_eq!(text.matches("worker").count(), 1, "{text}");
}

#[test]
fn missing_parent_spans() {
    let o = two("baseline.json", "current_missing_parent.json", &[]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("missing_parent_tree", stdout(&o));
}

#[test]
fn json_output() {
    let o = two(
        "baseline.json",
        "current_changed.json",
        &["--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["summary"],
        serde_json::json!({"same": 4, "changed": 2, "extra": 2, "missing": 1})
    );
    let changed: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["mark"] == "changed")
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(changed, vec!["clnrm.run", "worker"]);
}

#[test]
fn malformed_baseline_is_an_error_and_untouched_until_update() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("b.json");
    let truncated = std::fs::read(traces().join("truncated.json")).unwrap();
    std::fs::write(&base, &truncated).unwrap();
    let current = traces().join("current_changed.json");
    let (b, c) = (base.to_str().unwrap(), current.to_str().unwrap());

    let o = diff(&["--baseline", b, "--current", c], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{b}:")) && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(std::fs::read(&base).unwrap(), truncated, "file untouched");

    let o = diff(
        &["--baseline", b, "--current", c, "--update-baseline"],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = diff(&["--baseline", b, "--current", c], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn file_mode_compares_last_runs_with_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    pin_local(root, "");
    std::fs::create_dir(root.join("tests")).unwrap();
    std::fs::copy(
        traces().join("smoke.clnrm.toml"),
        root.join("tests/smoke.clnrm.toml"),
    )
    .unwrap();
    let trace_dir = root.join(".clnrm/traces/tests/smoke.clnrm.toml");
    std::fs::create_dir_all(&trace_dir).unwrap();
    std::fs::copy(traces().join("baseline.json"), trace_dir.join("smoke.json")).unwrap();
    std::fs::copy(
        traces().join("baseline.json"),
        trace_dir.join("load%20test.json"),
    )
    .unwrap();

    // No baselines yet: exit 1, saying so.
    let o = diff(&["tests/smoke.clnrm.toml"], root);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout(&o).contains("no baseline yet (7 spans"),
        "{}",
        stdout(&o)
    );

    // Record them, then everything matches.
    let o = diff(&["tests/smoke.clnrm.toml", "--update-baseline"], root);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(root
        .join(".clnrm/baselines/tests/smoke.clnrm.toml/load%20test.json")
        .is_file());
    let o = diff(&["tests/smoke.clnrm.toml"], root);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // A new run that differs in one scenario.
    std::fs::copy(
        traces().join("current_changed.json"),
        trace_dir.join("smoke.json"),
    )
    .unwrap();
    let o = diff(&["tests/smoke.clnrm.toml", "--format", "json"], root);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["file"], "tests/smoke.clnrm.toml");
    assert_eq!(v["scenarios"][0]["scenario"], "smoke");
    assert_eq!(v["scenarios"][0]["has_differences"], true);
    assert_eq!(v["scenarios"][1]["has_differences"], false);
    let o = diff(&["tests/smoke.clnrm.toml", "--scenario", "load test"], root);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // [diff] settings from .clnrm/config.toml: an ignored attribute is no difference.
    pin_local(root, "[diff]\nignore_attributes = [\"retries\"]\n");
    let o = diff(
        &[
            "tests/smoke.clnrm.toml",
            "--scenario",
            "smoke",
            "--format",
            "json",
        ],
        root,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["scenarios"][0]["summary"]["changed"], 1);

    // A corrupt baseline: exit 2, named, untouched.
    let bl = root.join(".clnrm/baselines/tests/smoke.clnrm.toml/smoke.json");
    std::fs::write(&bl, "[{\"name\": 1}]").unwrap();
    let o = diff(&["tests/smoke.clnrm.toml", "--scenario", "smoke"], root);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("smoke.json: malformed span file: at [0].name"),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(&bl).unwrap(), "[{\"name\": 1}]");

    // A baseline that is not UTF-8, or a link to /dev/zero, or a FIFO: named, and replaced
    // on request (never read without bound, never hung on).
    let fifo = |p: &Path| {
        let status = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(status.success());
    };
    for (make, why) in [
        (
            &(|p: &Path| std::fs::write(p, [b'[', 0xff, 0xfe, b']']).unwrap()) as &dyn Fn(&Path),
            "is not valid UTF-8",
        ),
        (
            &|p: &Path| std::os::unix::fs::symlink("/dev/zero", p).unwrap(),
            "is a character device, not a regular file",
        ),
        (&fifo, "is a FIFO, not a regular file"),
    ] {
        std::fs::remove_file(&bl).unwrap();
        make(&bl);
        let o = diff(&["tests/smoke.clnrm.toml", "--scenario", "smoke"], root);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stdout(&o).contains(&format!("smoke.json: malformed span file: {why}")),
            "{}",
            stdout(&o)
        );
        let o = diff(
            &[
                "tests/smoke.clnrm.toml",
                "--scenario",
                "smoke",
                "--update-baseline",
            ],
            root,
        );
        assert_eq!(o.status.code(), Some(0), "{why}: {}", stdout(&o));
        assert!(std::fs::symlink_metadata(&bl).unwrap().is_file());
        let o = diff(&["tests/smoke.clnrm.toml", "--scenario", "smoke"], root);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }

    // Unknown scenario: usage error.
    let o = diff(&["tests/smoke.clnrm.toml", "--scenario", "nope"], root);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn two_file_mode_honours_the_workspace_diff_settings() {
    let dir = tempfile::tempdir().unwrap();
    pin_local(
        dir.path(),
        "[diff]\nonly_differences = true\nignore_attributes = [\"retries\", \"exit\"]\n",
    );
    for f in ["baseline.json", "current_changed.json"] {
        std::fs::copy(traces().join(f), dir.path().join(f)).unwrap();
    }
    let o = diff(
        &[
            "--baseline",
            "baseline.json",
            "--current",
            "current_changed.json",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.starts_with("✓ clnrm.run\n"), "{text}");
    assert!(
        !text.contains("retries") && !text.contains("exit"),
        "{text}"
    );
    assert!(text.contains("status: UNSET → ERROR"), "{text}");
    assert!(!text.contains("✓ worker"), "{text}");
}
