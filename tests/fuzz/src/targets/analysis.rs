//! Bytes → the full analysis pipeline (Tera syntax, render, TOML, schema, rules) as the
//! server and `check` run it, then the editor features that read the text: completion,
//! hover and formatting at an offset derived from the input.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clnrm_lsp::analysis::template::SourceLoader;
use clnrm_lsp::analysis::{Analyzer, Environment, Origin};
use clnrm_lsp::ide::completion::complete;
use clnrm_lsp::ide::vocabulary::Vocabulary;
use clnrm_lsp::ide::{format, hover};

/// The other files of the input, as if in the workspace root `/ws`.
pub struct MemLoader(pub Vec<(PathBuf, Arc<str>)>);

impl SourceLoader for MemLoader {
    fn load(&self, path: &Path) -> Option<Arc<str>> {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
    }
}

pub fn run(input: &[u8]) {
    let files = super::split_files(input);
    let root = Path::new("/ws");
    let loader = MemLoader(
        files
            .iter()
            .map(|(n, t)| (root.join(n), Arc::from(t.as_str())))
            .collect(),
    );
    let (name, text) = &files[0];
    // The first byte picks the kind: a test template, a raw `.toml` test, or a library.
    let name = match input.first().map(|b| b % 3) {
        Some(1) => "t.clnrm.toml".to_string(),
        Some(2) => "_lib.tera".to_string(),
        _ => name.clone(),
    };
    let path = root.join(name);
    let origin = Origin {
        path: Some(&path),
        workspace_root: Some(root),
        kind: None,
    };
    let env = Environment::from_vars([("CLNRM_FUZZ".to_string(), "1".to_string())]);
    let analyzer = Analyzer::new(env.clone());
    let analysis = analyzer.analyze(text, origin, &loader);
    let vocab = Vocabulary::of(text, &env, &analysis.dependencies);
    let at = input
        .get(1..3)
        .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        % (text.len() + 1);
    let _ = complete(text, at, &vocab);
    let _ = hover::hover(text, at, &vocab);
    let _ = format::format(text);
}
