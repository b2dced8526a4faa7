//! The LSP face: tower-lsp handlers that convert between LSP types and the engine, and
//! decide nothing themselves.

mod capabilities;
mod client;
mod commands;
mod convert;
mod diagnostics;
mod exit;
mod framing;
mod handlers;
pub mod ide;
mod pool;
mod runs;
mod server;
mod session;
mod settings;
mod traces;
mod workspace;

pub use commands::Command;
pub use server::Server;

/// Serve LSP over stdin/stdout until the client exits.
pub async fn serve_stdio() {
    let (service, socket) = tower_lsp::LspService::build(Server::new)
        .custom_method("clnrm/cacheStats", Server::cache_stats)
        .finish();
    let (service, exited) = exit::ExitWatch::new(service);
    let serve = tower_lsp::Server::new(
        framing::guarded(tokio::io::stdin()),
        tokio::io::stdout(),
        socket,
    )
    .serve(service);
    tokio::select! {
        () = serve => {}
        () = exited.notified() => {}
    }
}
