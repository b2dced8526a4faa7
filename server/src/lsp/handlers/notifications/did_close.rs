//! `textDocument/didClose`: forget the buffer; dependents read the disk again.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::lsp::session::Session;

pub(crate) fn run(session: &Session, params: lsp::DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    let path = session.ws.path_of(uri.as_str());
    session.ws.close(uri.as_str());
    session.ws.dependents.remove(uri.as_str());
    if let Some(path) = &path {
        session.runs.forget(path);
    }
    session.scheduler.forget(uri.as_str());
    crate::lsp::tests_view::scenarios_changed(&session.client, &uri);
    session.scheduler.publish_cleared(uri);
    // A dependent now reads the file from disk instead of the closed buffer.
    if let Some(path) = path {
        session.revalidate_dependents(&path);
    }
}
