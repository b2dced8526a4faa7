//! What the session knows of the client and how it talks to it without waiting: the
//! capabilities resolved at `initialize`, and tasks whose panics are never silent.

use std::future::Future;

use tower_lsp::lsp_types::MessageType;
use tower_lsp::Client;

use super::pool::panic_message;

/// What the client said it can do, fixed at `initialize`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientFlags {
    /// The client pulls diagnostics (`textDocument/diagnostic`).
    pub pull_diagnostics: bool,
    pub dynamic_watchers: bool,
    /// The client accepts `workspace/codeLens/refresh`.
    pub lens_refresh: bool,
    /// The client accepts `workspace/diagnostic/refresh` (pull clients re-pull run results).
    pub diagnostic_refresh: bool,
    /// The client shows `$/progress` work-done reports.
    pub work_done_progress: bool,
    /// The client answers `workspace/configuration`.
    pub configuration: bool,
}

/// Run `task` in the background. A panic in it is logged and shown to the user
/// (`window/showMessage`), never lost with the task.
pub fn spawn(client: &Client, what: &'static str, task: impl Future<Output = ()> + Send + 'static) {
    let handle = tokio::spawn(task);
    let client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = handle.await {
            if e.is_panic() {
                let message = panic_message(&*e.into_panic());
                tracing::error!("{what} panicked: {message}");
                client
                    .show_message(
                        MessageType::ERROR,
                        format!("clnrm-lsp: internal error in {what}: {message}"),
                    )
                    .await;
            }
        }
    });
}

/// Show `message` to the user (from a task: never wait on the client).
pub fn show_message(client: &Client, typ: MessageType, message: String) {
    let c = client.clone();
    spawn(client, "showMessage", async move {
        c.show_message(typ, message).await;
    });
}

/// Ask the client to re-request code lenses.
pub fn refresh_lenses(client: &Client, flags: ClientFlags) {
    if flags.lens_refresh {
        let c = client.clone();
        spawn(client, "codeLens refresh", async move {
            if let Err(e) = c.code_lens_refresh().await {
                tracing::debug!("codeLens refresh: {e}");
            }
        });
    }
}
