//! The real Neovim (headless) loads the project's own `editors/neovim` module, opens a
//! template and receives the server's diagnostics at the expected line and column.
//! Runs the `nvim` on PATH; fails when it is missing (set CLNRM_SKIP_NVIM=1 outside CI
//! to skip on a machine without Neovim).

use std::path::Path;
use std::process::Command;

use clnrm_lsp_e2e::bin_path::{clnrm_lsp_bin, workspace_root};

fn nvim_available() -> bool {
    Command::new("nvim")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run `tests/neovim/<script>` in headless Neovim on `fixture`; what it saw.
fn nvim(script: &str, dir: &Path, fixture: &Path) -> String {
    if !nvim_available() {
        let in_ci = std::env::var_os("CI").is_some();
        if !in_ci && std::env::var_os("CLNRM_SKIP_NVIM").is_some() {
            eprintln!("skipped: nvim not installed (CLNRM_SKIP_NVIM set)");
            return String::new();
        }
        panic!(
            "nvim is not installed: `apt-get install neovim` (or set CLNRM_SKIP_NVIM=1 outside CI)"
        );
    }
    let result = dir.join("result.txt");
    let status = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!(
            "luafile {}",
            workspace_root().join("tests/neovim").join(script).display()
        ))
        .env("CLNRM_REPO", workspace_root())
        .env("CLNRM_LSP_BIN", clnrm_lsp_bin())
        .env("CLNRM_FIXTURE", fixture)
        .env("CLNRM_FIXTURE2", dir.join("fail.clnrm.toml"))
        .env("CLNRM_RESULT", &result)
        .current_dir(dir)
        .status()
        .unwrap();
    let seen = std::fs::read_to_string(&result).unwrap_or_default();
    assert!(status.success(), "nvim failed; it saw:\n{seen}");
    seen
}

#[test]
fn neovim_shows_the_servers_diagnostics_at_the_right_place() {
    let dir = tempfile::tempdir().unwrap();
    // Line 3, column 11 (1-based): the value of `version` is missing.
    let fixture = dir.path().join("broken.clnrm.toml");
    std::fs::write(&fixture, "[meta]\nname = \"demo\"\nversion = \n").unwrap();
    let seen = nvim("diagnostics.lua", dir.path(), &fixture);
    if seen.is_empty() {
        return;
    }
    assert!(seen.contains("filetype clnrm"), "{seen}");
    assert!(seen.contains("clients 1 clnrm"), "{seen}");
    // Neovim stores 0-based rows and columns: line 3, column 11 → 2, 10.
    assert!(seen.contains("diagnostic 2 10 clnrm toml-syntax"), "{seen}");
}

#[test]
fn neovim_shows_the_run_result_after_write() {
    let dir = tempfile::tempdir().unwrap();
    // Not a container test (the script also sends `backend = "local"`).
    clnrm_lsp_e2e::workspace::pin_local(dir.path(), "");
    let fixture = dir.path().join("ok.clnrm.toml");
    std::fs::write(
        &fixture,
        "[meta]\nname = \"demo\"\nversion = \"1\"\n\n[[scenario]]\nname = \"hello\"\nrun = \"echo hello\"\n",
    )
    .unwrap();
    let seen = nvim("run_lens.lua", dir.path(), &fixture);
    if seen.is_empty() {
        return;
    }
    assert!(seen.contains("before ▶ Run"), "{seen}");
    assert!(seen.contains("after ✓ passed "), "{seen}");
    // The result is also a diagnostic on the scenario header (line 5 → row 4).
    assert!(
        seen.contains("diagnostic 4 clnrm-run scenario `hello` passed"),
        "{seen}"
    );
}

#[test]
fn neovim_lists_run_failures_in_quickfix_and_a_test_summary() {
    let dir = tempfile::tempdir().unwrap();
    clnrm_lsp_e2e::workspace::pin_local(dir.path(), "");
    let fixture = dir.path().join("ok.clnrm.toml");
    std::fs::write(
        &fixture,
        "[meta]\nname = \"demo\"\nversion = \"1\"\n\n[[scenario]]\nname = \"hello\"\nrun = \"echo hello\"\n",
    )
    .unwrap();
    // Line 10 (1-based): the unmet `spans_total` expectation.
    std::fs::write(
        dir.path().join("fail.clnrm.toml"),
        "[meta]\nname = \"f\"\nversion = \"1\"\n\n[[scenario]]\nname = \"counts\"\nrun = \"true\"\n\n[expect.counts]\nspans_total = { gte = 50 }\n",
    )
    .unwrap();
    let seen = nvim("run_results.lua", dir.path(), &fixture);
    if seen.is_empty() {
        return;
    }
    assert!(!seen.contains("timeout"), "{seen}");
    assert!(seen.contains("qf fail.clnrm.toml 10 [counts] "), "{seen}");
    assert!(!seen.contains("qf ok.clnrm.toml"), "{seen}");
    assert!(
        seen.contains("summary-buffer clnrm://test-summary"),
        "{seen}"
    );
    assert!(seen.contains("summary ok.clnrm.toml"), "{seen}");
    assert!(seen.contains("summary   ✓ hello  passed  "), "{seen}");
    assert!(seen.contains("summary fail.clnrm.toml"), "{seen}");
    assert!(seen.contains("summary   ✗ counts  failed  "), "{seen}");
}
