//! `textDocument/rangeFormatting`.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::session::Session;

pub(crate) async fn run(
    session: &Session,
    params: lsp::DocumentRangeFormattingParams,
) -> Result<Option<Vec<lsp::TextEdit>>> {
    session
        .format(&params.text_document.uri, Some(params.range))
        .await
}
