//! `workspace/symbol`: the engine's `workspace::symbols`, converted.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::convert::{self};
use crate::lsp::ide::{self};
use crate::lsp::session::Session;
use crate::workspace::symbols::workspace_symbols;

pub(crate) async fn run(
    session: &Session,
    params: lsp::WorkspaceSymbolParams,
) -> Result<Option<Vec<lsp::SymbolInformation>>> {
    let roots: Vec<_> = session.ws.roots().into_iter().map(|r| r.path).collect();
    let analyzer = session.analyzer.clone();
    let loader = session.ws.loader();
    let query = params.query;
    let enc = session.ws.encoding();
    let found = session
        .engine(move || {
            let files = workspace_symbols(&roots, &query, &analyzer, &loader);
            let mut out = Vec::new();
            for file in files {
                let Ok(uri) = lsp::Url::from_file_path(&file.path) else {
                    continue;
                };
                let index = crate::documents::LineIndex::new(&file.text);
                for (sym, container) in file.symbols {
                    let range = convert::range(&index, &file.text, sym.selection.clone(), enc);
                    #[allow(deprecated)]
                    out.push(lsp::SymbolInformation {
                        name: sym.name,
                        kind: ide::symbol_kind(sym.kind),
                        tags: None,
                        deprecated: None,
                        location: lsp::Location::new(uri.clone(), range),
                        container_name: container,
                    });
                }
            }
            out
        })
        .await?;
    Ok(Some(found))
}
