//! The README's code table is what the binary prints, so it cannot drift from `Code::ALL`.

use std::process::Command;

use clnrm_lsp_e2e::bin_path::{clnrm_lsp_bin, workspace_root};

#[test]
fn readme_code_table_matches_the_engine() {
    let out = Command::new(clnrm_lsp_bin())
        .args(["codes", "--markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let start = readme.find("<!-- codes:start -->\n").expect("start marker") + 21;
    let end = readme.find("<!-- codes:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        table,
        "README table is stale: regenerate it with `clnrm-lsp codes --markdown`"
    );
}

#[test]
fn readme_quick_start_uses_the_ci_test_command() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).unwrap();
    let tests = std::fs::read_to_string(workspace_root().join("tests/run.sh")).unwrap();
    // The README's test command is the script CI runs, and it runs every Rust test.
    assert!(readme.contains("bash tests/run.sh"));
    assert!(ci.contains("tests/run.sh"));
    assert!(tests.contains("cargo test --workspace"));
    assert!(readme.contains("check tests/fixtures/examples"));
}
