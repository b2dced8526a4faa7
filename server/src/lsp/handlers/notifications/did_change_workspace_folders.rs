//! `workspace/didChangeWorkspaceFolders`.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::lsp::convert::uri_to_path;
use crate::lsp::session::Session;

pub(crate) fn run(session: &Session, params: lsp::DidChangeWorkspaceFoldersParams) {
    for f in params.event.removed {
        if let Some(p) = uri_to_path(&f.uri) {
            session.ws.remove_root(&p);
        }
    }
    for f in params.event.added {
        if let Some(p) = uri_to_path(&f.uri) {
            session.ws.add_root(&p);
        }
    }
}
