//! The LSP face: tower-lsp handlers that convert between LSP types and the engine, and
//! decide nothing themselves.

mod capabilities;
mod convert;
mod diagnostics;
mod exit;
mod framing;
pub mod ide;
mod pool;
mod runs;
mod server;
mod settings;
mod traces;
mod workspace;

pub use server::Server;

/// Every command `workspace/executeCommand` accepts.
pub const COMMANDS: [&str; 4] = [
    runs::RUN_SCENARIO,
    runs::RUN_FILE,
    traces::SHOW_TRACE_DIFF,
    traces::UPDATE_BASELINE,
];

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
