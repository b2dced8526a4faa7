//! `textDocument/documentSymbol`.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::ide::{self};
use crate::lsp::session::Session;

pub(crate) async fn run(
    session: &Session,
    params: lsp::DocumentSymbolParams,
) -> Result<Option<lsp::DocumentSymbolResponse>> {
    let symbols = session
        .on_document(&params.text_document.uri, |view, _, analysis| {
            ide::document_symbols(view, analysis)
        })
        .await?;
    Ok(Some(lsp::DocumentSymbolResponse::Nested(symbols)))
}
