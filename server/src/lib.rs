//! clnrm-lsp: a language server and command-line twin for Cleanroom (`clnrm`) test templates.
//!
//! One engine, thin faces: everything under `analysis`, `documents`, `cache` and `config`
//! knows nothing of LSP types or terminals; `lsp` and `cli` only convert and call.

pub mod analysis;
pub mod cache;
pub mod cli;
pub mod config;
pub mod documents;
pub mod ide;
pub mod lsp;
pub mod model;
pub mod runs;
pub mod traces;
pub mod workspace;

/// Version of the engine; part of every cache key so a new build never reuses old answers.
pub const ENGINE_VERSION: &str = concat!(env!("CARGO_PKG_NAME"), "@", env!("CARGO_PKG_VERSION"));
