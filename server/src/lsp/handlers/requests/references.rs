//! `textDocument/references`.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::ide::{self};
use crate::lsp::session::Session;

pub(crate) async fn run(
    session: &Session,
    params: lsp::ReferenceParams,
) -> Result<Option<Vec<lsp::Location>>> {
    let pos = params.text_document_position;
    let uri = pos.text_document.uri.clone();
    let refs = session
        .on_document(&pos.text_document.uri, move |view, _, _| {
            ide::references(view, &uri, pos.position)
        })
        .await?;
    Ok(Some(refs))
}
