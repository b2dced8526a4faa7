//! `textDocument/didChange`: apply the edit, schedule the analyses.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::lsp::convert::{self};
use crate::lsp::session::Session;

pub(crate) fn run(session: &Session, params: lsp::DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let changes: Vec<_> = params
        .content_changes
        .into_iter()
        .map(convert::text_change)
        .collect();
    let applied = session.ws.documents.change(
        uri.as_str(),
        params.text_document.version,
        &changes,
        session.ws.encoding(),
    );
    if applied.is_none() {
        tracing::warn!("didChange for a document that is not open: {uri}");
        return;
    }
    session.scheduler.schedule(uri.as_str());
    crate::lsp::tests_view::scenarios_changed(&session.client, &uri);
    if let Some(path) = session.ws.path_of(uri.as_str()) {
        session.revalidate_dependents(&path);
    }
}
