//! Locate the built `clnrm-lsp` binary: build it once through cargo and take the
//! executable path cargo reports, so tests always drive the current code.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Path of the `clnrm-lsp` executable. `CLNRM_LSP_BIN` overrides the build.
pub fn clnrm_lsp_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CLNRM_LSP_BIN") {
            return PathBuf::from(p);
        }
        build(false).unwrap_or_else(|e| panic!("cannot build clnrm-lsp: {e}"))
    })
}

/// Path of the optimised `clnrm-lsp` executable, for benchmarks: built with `--release`.
/// `CLNRM_LSP_BIN` overrides the build here too.
pub fn clnrm_lsp_release_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CLNRM_LSP_BIN") {
            return PathBuf::from(p);
        }
        build(true).unwrap_or_else(|e| panic!("cannot build clnrm-lsp --release: {e}"))
    })
}

fn build(release: bool) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut args = vec![
        "build",
        "-p",
        "clnrm-lsp",
        "--bin",
        "clnrm-lsp",
        "--message-format=json",
    ];
    if release {
        args.push("--release");
    }
    let out = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("cargo build exited with {}", out.status));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "clnrm-lsp")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .ok_or_else(|| "cargo reported no clnrm-lsp executable".to_string())
}

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}
