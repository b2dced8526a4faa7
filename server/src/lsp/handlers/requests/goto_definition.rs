//! `textDocument/definition`.

use std::path::Path;

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::convert::{self};
use crate::lsp::ide::{self};
use crate::lsp::session::{vocabulary, Session};

pub(crate) async fn run(
    session: &Session,
    params: lsp::GotoDefinitionParams,
) -> Result<Option<lsp::GotoDefinitionResponse>> {
    let pos = params.text_document_position_params;
    let uri = pos.text_document.uri.clone();
    let analyzer = session.analyzer.clone();
    let loader = session.ws.loader();
    let locations = session
        .on_document(&pos.text_document.uri, move |view, _, analysis| {
            let vocab = vocabulary(analyzer.environment(), view.text, analysis);
            let other = |path: &Path, range: std::ops::Range<usize>| {
                use crate::analysis::SourceLoader as _;
                let text = loader.load(path)?;
                let index = crate::documents::LineIndex::new(&text);
                let uri = lsp::Url::from_file_path(path).ok()?;
                Some(lsp::Location::new(
                    uri,
                    convert::range(&index, &text, range, view.enc),
                ))
            };
            ide::definition(view, &uri, pos.position, &vocab, analysis, &other)
        })
        .await?;
    Ok((!locations.is_empty()).then_some(lsp::GotoDefinitionResponse::Array(locations)))
}
