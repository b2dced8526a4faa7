//! `workspace/didChangeWatchedFiles`: what each change means (`workspace::classify`), acted on.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::documents::fs::normalize;
use crate::lsp::convert::uri_to_path;
use crate::lsp::session::Session;
use crate::workspace::ChangeKind;

pub(crate) fn run(session: &Session, params: lsp::DidChangeWatchedFilesParams) {
    let mut any = false;
    let mut lenses_stale = false;
    // Created, changed or deleted test files on disk: the client re-lists their scenarios.
    for change in &params.changes {
        crate::lsp::tests_view::scenarios_changed(&session.client, &change.uri);
    }
    for path in params.changes.iter().filter_map(|c| uri_to_path(&c.uri)) {
        match crate::workspace::classify(&path) {
            ChangeKind::Config => {
                session.runs.invalidate();
                lenses_stale = true;
            }
            ChangeKind::ProjectState => lenses_stale = true,
            ChangeKind::Source if !session.ws.is_open(&path) => {
                session.revalidate_dependents(&normalize(&path));
                any = true;
            }
            ChangeKind::Source => {}
        }
    }
    if any {
        for uri in session.ws.dependents.with_unresolved() {
            session.scheduler.schedule(&uri);
        }
        // A test file changed on disk may change what it finds in an open library, and
        // which files import it.
        session.ws.importers.clear();
        for uri in session.ws.open_libraries() {
            session.scheduler.schedule(&uri);
        }
    }
    if lenses_stale {
        session.refresh_lenses();
    }
}
