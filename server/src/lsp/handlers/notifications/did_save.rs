//! `textDocument/didSave`: start the file's runs when runs on save are on.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::analysis::FileKind;
use crate::lsp::runs;
use crate::lsp::session::Session;
use crate::runs::queue::Priority;
use crate::runs::selection::Selection;

pub(crate) fn run(session: &Session, params: lsp::DidSaveTextDocumentParams) {
    let uri = params.text_document.uri;
    let runnable = session
        .ws
        .path_of(uri.as_str())
        .is_some_and(|p| matches!(FileKind::of(Some(&p)), FileKind::Test | FileKind::RawTest));
    let settings = session.settings();
    if runnable && settings.run_on_save && !settings.trusted() {
        tracing::info!("save of {uri} not run: {}", settings.refusal());
    }
    if runnable && settings.runs_on_save() {
        // Never block the handler: typing goes on while the plan is made.
        let task = session.clone();
        session.spawn("run on save", async move {
            let started = runs::start(&task, &uri, Selection::all(), Priority::OnSave, true);
            if let Err(e) = started.await {
                // An invalid file already shows why; nothing else to say on save.
                tracing::debug!("no run on save of {uri}: {e}");
            }
        });
    }
}
