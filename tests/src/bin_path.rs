//! Locate the `clnrm-lsp` binary under test.
//!
//! This package declares the server's `main.rs` as its own binary `clnrm-lsp-under-test`
//! (see `Cargo.toml`), so cargo builds it, in the test or bench profile, before any test
//! or benchmark of this package runs, and puts it in the profile's output directory: the
//! parent of the `deps/` directory holding the test executable. `CARGO_BIN_EXE_<name>`
//! names the same file; it is a compile-time variable of the test targets (older cargo
//! does not set it at run time, and never for this library), hence the lookup from
//! `current_exe`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The binary's name in `Cargo.toml`.
const BIN: &str = "clnrm-lsp-under-test";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Path of the `clnrm-lsp` executable: the one cargo built for this test or benchmark
/// run (optimised under `cargo bench`). `CLNRM_LSP_BIN` overrides it.
pub fn clnrm_lsp_bin() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("CLNRM_LSP_BIN") {
            return PathBuf::from(p);
        }
        let found = std::env::var_os(format!("CARGO_BIN_EXE_{BIN}"))
            .map(PathBuf::from)
            .or_else(beside_current_exe)
            .filter(|p| p.is_file());
        found.unwrap_or_else(|| {
            panic!(
                "no {BIN} executable beside {:?}: run the tests through cargo \
                 (`cargo test -p clnrm-lsp-e2e`), which builds it first, or set CLNRM_LSP_BIN",
                std::env::current_exe().ok()
            )
        })
    })
}

/// `<profile dir>/clnrm-lsp-under-test`, where the test executable is
/// `<profile dir>/deps/<test>-<hash>`.
fn beside_current_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    if dir.ends_with("deps") {
        dir = dir.parent()?;
    }
    Some(dir.join(format!("{BIN}{}", std::env::consts::EXE_SUFFIX)))
}

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}
