//! The workspace-symbol use case: every test file under the roots, analysed (open buffers
//! win over the disk through `loader`), its symbols filtered by the query.

use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::{Analyzer, Origin, SourceLoader};
use crate::documents::discover::discover;
use crate::ide::symbols::{document_symbols, flatten, matches_query, Symbol};

/// One file's symbols that match a query, with the text their ranges refer to.
pub struct FileSymbols {
    pub path: PathBuf,
    pub text: Arc<str>,
    /// Each symbol with the name of the symbol holding it.
    pub symbols: Vec<(Symbol, Option<String>)>,
}

/// The symbols of every test file under `roots` whose name matches `query`.
pub fn workspace_symbols(
    roots: &[PathBuf],
    query: &str,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> Vec<FileSymbols> {
    let mut out = Vec::new();
    for root in roots {
        for target in discover(std::slice::from_ref(root)).0 {
            let path = target.path;
            let Some(text) = loader.load(&path) else {
                continue;
            };
            let origin = Origin {
                path: Some(&path),
                workspace_root: Some(root),
                kind: None,
            };
            let analysis = analyzer.analyze(&text, origin, loader);
            let all = document_symbols(&analysis);
            let symbols: Vec<(Symbol, Option<String>)> = flatten(&all)
                .into_iter()
                .filter(|(s, _)| matches_query(&s.name, query))
                .map(|(s, c)| (s.clone(), c.map(str::to_string)))
                .collect();
            if !symbols.is_empty() {
                out.push(FileSymbols {
                    path,
                    text,
                    symbols,
                });
            }
        }
    }
    out
}
