//! The LSP face: tower-lsp handlers that convert between LSP types and the engine.
//!
//! OWNER: lsp helper.

pub mod ide;

/// Serve LSP over stdin/stdout until the client exits.
pub async fn serve_stdio() {}
