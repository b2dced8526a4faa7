//! `initialized`: register file watchers and fetch settings, from tasks.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::lsp::capabilities;
use crate::lsp::session::Session;

pub(crate) fn run(session: &Session, _: lsp::InitializedParams) {
    if session.flags().dynamic_watchers {
        // Never await a client reply inside a handler: edits would queue behind it.
        let client = session.client.clone();
        session.spawn("watcher registration", async move {
            if let Err(e) = client
                .register_capability(vec![capabilities::watcher_registration()])
                .await
            {
                tracing::warn!("file watcher registration failed: {e}");
            }
        });
    }
    if session.flags().configuration {
        session.fetch_settings();
    } else {
        // initializationOptions, if any, were all this client will say.
        session.settle_trust();
    }
    tracing::info!(roots = ?session.ws.roots(), encoding = ?session.ws.encoding(), "clnrm-lsp ready");
}
