//! `textDocument/foldingRange`.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::ide::{self};
use crate::lsp::session::Session;

pub(crate) async fn run(
    session: &Session,
    params: lsp::FoldingRangeParams,
) -> Result<Option<Vec<lsp::FoldingRange>>> {
    let folds = session
        .on_document(&params.text_document.uri, |view, _, analysis| {
            ide::folding_ranges(view, analysis)
        })
        .await?;
    Ok(Some(folds))
}
