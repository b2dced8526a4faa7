//! The LSP face: tower-lsp handlers that convert between LSP types and the engine, and
//! decide nothing themselves.

mod capabilities;
mod client;
mod commands;
mod convert;
mod diagnostics;
mod document_sync;
mod exit;
mod framing;
mod handlers;
pub mod ide;
mod pool;
mod runs;
mod server;
mod session;
mod settings;
mod snapshot;
mod tests_view;
mod traces;
mod transport;
mod workspace;

pub use commands::Command;
pub use server::Server;

use std::sync::{Arc, OnceLock};

/// Serve LSP over stdin/stdout until the client exits; returns the process exit code.
pub async fn serve_stdio() -> u8 {
    serve(tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serve LSP over any byte streams until `exit` or the end of `input`; returns the exit
/// code the spec asks for (0 after `shutdown`, else 1).
pub async fn serve(
    input: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    output: impl tokio::io::AsyncWrite + Unpin + Send + 'static,
) -> u8 {
    let built = Arc::new(OnceLock::new());
    let (service, socket) = tower_lsp::LspService::build(|client| {
        let server = Server::new(client);
        let _ = built.set(server.session());
        server
    })
    .custom_method("clnrm/cacheStats", Server::cache_stats)
    .custom_method("clnrm/scenarios", Server::scenarios)
    .custom_method("clnrm/traceDiff", Server::trace_diff)
    .finish();
    let Some(session) = built.get().cloned() else {
        tracing::error!("the language server was not built");
        return 1;
    };
    let service = document_sync::DocumentSync::new(service, session);
    let (service, ending) = exit::ExitWatch::new(service);
    let transport = transport::guarded(input, output);
    let serve = tower_lsp::Server::new(transport.input, transport.output, socket).serve(service);
    tokio::select! {
        () = serve => {}
        () = ending.exited.notified() => {}
    }
    // tower-lsp's end of the output is dropped with `serve`: let the writer flush what is
    // left, answers to messages that came before `exit` included (bounded: a client that
    // stops reading must not keep the process alive).
    let flushed = tokio::time::timeout(std::time::Duration::from_secs(5), transport.writer);
    let _ = flushed.await;
    ending.code()
}
