//! End-to-end test harness: the built `clnrm-lsp` binary, driven like a user or an editor does.

pub mod bin_path;
pub mod cli;
pub mod lsp;
pub mod procs;
pub mod servers;
pub mod workspace;
