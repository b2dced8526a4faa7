//! Hostile templates (issue 10) as `clnrm-lsp check` meets them in a directory: each file
//! gets its diagnostics and the process exits 1, never dies on a signal.

use std::fs;

use clnrm_lsp_e2e::bin_path::workspace_root;
use clnrm_lsp_e2e::cli::{run_in, stderr, stdout};

#[test]
fn a_self_including_file_does_not_take_the_directory_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("self.clnrm.toml.tera"),
        "{% include \"self.clnrm.toml.tera\" %}\n",
    )
    .expect("write");
    fs::write(
        dir.path().join("loops.clnrm.toml.tera"),
        "{% set_global s = \"ab\" %}\n".to_string() + &"{% set_global s = s ~ s %}\n".repeat(40),
    )
    .expect("write");
    // A good file with one deliberate finding, so its own diagnostics are visible too.
    let good =
        fs::read_to_string(workspace_root().join("tests/fixtures/valid/v1-scenario.clnrm.toml"))
            .expect("fixture");
    fs::write(
        dir.path().join("good.clnrm.toml"),
        format!("{good}\n[unknown_table_for_bounds_test]\nx = 1\n"),
    )
    .expect("write");

    let o = run_in(
        dir.path(),
        &["check", ".", "--format", "json", "--color", "never"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "exit status {:?}: {}",
        o.status,
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON output");
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    let of = |file: &str, code: &str| {
        diags
            .iter()
            .any(|d| d["path"].as_str().is_some_and(|f| f.ends_with(file)) && d["code"] == code)
    };
    assert!(of("self.clnrm.toml.tera", "recursion-limit"), "{diags:#?}");
    assert!(of("loops.clnrm.toml.tera", "value-too-large"), "{diags:#?}");
    assert!(of("good.clnrm.toml", "unknown-key"), "{diags:#?}");
    let chain = diags
        .iter()
        .find(|d| d["code"] == "recursion-limit")
        .and_then(|d| d["message"].as_str())
        .unwrap_or_default();
    assert!(
        chain.contains("self.clnrm.toml.tera → self.clnrm.toml.tera"),
        "{chain}"
    );
}
