//! `textDocument/codeAction`.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::ide::{self};
use crate::lsp::session::Session;

pub(crate) async fn run(
    session: &Session,
    params: lsp::CodeActionParams,
) -> Result<Option<lsp::CodeActionResponse>> {
    let uri = params.text_document.uri.clone();
    let actions = session
        .on_document(&params.text_document.uri, move |view, _, analysis| {
            let (range, client_diags) = (params.range, &params.context.diagnostics);
            ide::code_actions(
                view,
                &uri,
                range,
                client_diags,
                &analysis.diagnostics,
                analysis,
            )
        })
        .await?;
    Ok(Some(actions))
}
