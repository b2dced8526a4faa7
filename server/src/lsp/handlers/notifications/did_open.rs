//! `textDocument/didOpen`: store the text, schedule its analysis and its dependents', restore cached run results.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::lsp::convert::uri_to_path;
use crate::lsp::session::Session;

pub(crate) fn run(session: &Session, params: lsp::DidOpenTextDocumentParams) {
    let doc = params.text_document;
    let path = uri_to_path(&doc.uri);
    session
        .ws
        .open(doc.uri.as_str(), path.as_deref(), doc.text, doc.version);
    session.scheduler.schedule(doc.uri.as_str());
    crate::lsp::tests_view::scenarios_changed(&session.client, &doc.uri);
    if let Some(path) = path {
        session.revalidate_dependents(&path);
        // Results cached by earlier sessions or `clnrm-lsp run` show at once.
        let task = session.clone();
        session.spawn("restoring run results", async move {
            crate::lsp::runs::restore(&task, doc.uri, path).await
        });
    }
}
