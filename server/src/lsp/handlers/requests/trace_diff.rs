//! `clnrm/traceDiff { uri, scenario }` → `{ html, markdown, title }` (PROTOCOL14 item 5):
//! the self-contained page the CLI's `diff FILE --format html` writes, for a webview.

use serde_json::Value;
use tower_lsp::jsonrpc::{Error, Result};

use crate::lsp::convert::uri_to_path;
use crate::lsp::session::Session;
use crate::lsp::traces;

pub(crate) async fn run(session: &Session, params: Value) -> Result<Value> {
    let (Some(uri), Some(scenario)) = (
        params["uri"]
            .as_str()
            .and_then(|u| tower_lsp::lsp_types::Url::parse(u).ok()),
        params["scenario"].as_str().map(str::to_string),
    ) else {
        return Err(Error::invalid_params(
            "clnrm/traceDiff expects { uri, scenario }",
        ));
    };
    let path =
        uri_to_path(&uri).ok_or_else(|| Error::invalid_params(format!("not a file: {uri}")))?;
    let root = session.root_of(&path);
    session
        .engine(move || traces::diff_page(&path, &root, &scenario))
        .await?
        .map_err(Error::invalid_params)
}
