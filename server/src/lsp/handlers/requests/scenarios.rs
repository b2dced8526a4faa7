//! `clnrm/scenarios`: the test files with their scenarios and steps (PROTOCOL14 item 1).
//! With `uri`: that document (open buffer, else disk). Without: every test file of the
//! workspace folders (discovered as `check` does) and every open test document.

use serde_json::{json, Value};
use tower_lsp::jsonrpc::{Error, Result};
use tower_lsp::lsp_types as lsp;

use crate::lsp::convert::uri_to_path;
use crate::lsp::session::Session;
use crate::lsp::tests_view::Placed;

pub(crate) async fn run(session: &Session, params: Option<Value>) -> Result<Value> {
    let asked = params
        .as_ref()
        .and_then(|p| p.get("uri"))
        .filter(|u| !u.is_null());
    let uris: Vec<lsp::Url> = match asked {
        Some(u) => {
            let uri = u
                .as_str()
                .and_then(|s| lsp::Url::parse(s).ok())
                .ok_or_else(|| Error::invalid_params("clnrm/scenarios: `uri` is not a URI"))?;
            vec![uri]
        }
        None => workspace_files(session).await?,
    };
    let enc = session.ws.encoding();
    let mut files = Vec::new();
    for uri in uris {
        let Some(path) = session
            .ws
            .path_of(uri.as_str())
            .or_else(|| uri_to_path(&uri))
        else {
            continue;
        };
        // A deleted or unreadable file has no entry: the client drops its items.
        let Ok(found) = crate::lsp::runs::analysis(session, &uri, &path).await else {
            continue;
        };
        files.push(Placed::new(&found.text, enc, found.analysis).file_entry(&uri));
    }
    Ok(json!({ "files": files }))
}

/// Discovered test files under the workspace folders, then open test documents not among them.
async fn workspace_files(session: &Session) -> Result<Vec<lsp::Url>> {
    let roots: Vec<std::path::PathBuf> = session.ws.roots().into_iter().map(|r| r.path).collect();
    let found = session
        .engine(move || crate::documents::discover::discover(&roots).0)
        .await?;
    let mut uris: Vec<lsp::Url> = found
        .into_iter()
        .filter_map(|t| lsp::Url::from_file_path(std::path::absolute(&t.path).ok()?).ok())
        .collect();
    for open in session.ws.documents.uris() {
        let Ok(uri) = lsp::Url::parse(&open) else {
            continue;
        };
        let is_test = uri
            .path_segments()
            .and_then(|mut s| s.next_back())
            .is_some_and(crate::documents::discover::is_test_file_name);
        if is_test && !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    Ok(uris)
}
