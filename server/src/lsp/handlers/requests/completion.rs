//! `textDocument/completion`.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::ide::{self};
use crate::lsp::session::{vocabulary, Session};

pub(crate) async fn run(
    session: &Session,
    params: lsp::CompletionParams,
) -> Result<Option<lsp::CompletionResponse>> {
    let pos = params.text_document_position;
    let analyzer = session.analyzer.clone();
    let items = session
        .on_document(&pos.text_document.uri, move |view, _, analysis| {
            let vocab = vocabulary(analyzer.environment(), view.text, analysis);
            ide::completion(view, pos.position, &vocab)
        })
        .await?;
    Ok(Some(lsp::CompletionResponse::Array(items)))
}
