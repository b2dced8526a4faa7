//! Locate the built `clnrm-lsp` binary: build it once through cargo (the `CARGO` the
//! tests run under) and read the executable path from cargo's JSON messages.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub fn clnrm_lsp() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "build",
                "-p",
                "clnrm-lsp",
                "--bin",
                "clnrm-lsp",
                "--message-format=json",
            ])
            .output()
            .expect("cargo build runs");
        assert!(
            output.status.success(),
            "cargo build failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "clnrm-lsp")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported the clnrm-lsp executable")
    })
    .clone()
}

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}
