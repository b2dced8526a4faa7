//! Editing help beyond diagnostics: symbols, folding, formatting, completion, hover,
//! navigation and code actions. Pure functions over text and analyses, in byte offsets;
//! the LSP face converts.

pub mod actions;
pub mod completion;
mod cursor;
pub mod folding;
pub mod format;
pub mod hover;
pub mod navigation;
pub mod symbols;
mod toml_tree;
pub mod vocabulary;

pub use cursor::{tera_tag_at, tera_tag_at_start, TeraTag};

/// Largest document the text-scanning features (hover, completion, navigation, folding,
/// formatting, code actions) work on. Beyond it the analysis does not run either
/// (`MAX_ANALYSED_BYTES`), and a whole-text scan per request would keep the editor
/// waiting: they answer empty (formatting with an error saying why).
pub const MAX_EDITED_BYTES: usize = crate::analysis::MAX_ANALYSED_BYTES;

/// Whether `text` is past [`MAX_EDITED_BYTES`].
pub fn too_large(text: &str) -> bool {
    text.len() > MAX_EDITED_BYTES
}

/// `text` with `edits` applied (sorted, non-overlapping, as every feature here returns them).
#[cfg(test)]
pub(crate) fn apply_edits(text: &str, edits: &[crate::analysis::Edit]) -> String {
    let mut out = text.to_string();
    for e in edits.iter().rev() {
        out.replace_range(e.range.clone(), &e.new_text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_uncached, Environment, FileKind};

    #[test]
    fn past_the_size_bound_every_feature_gives_up_cleanly() {
        let mut text = String::from("[meta]\nname = \"big\"\n");
        while text.len() <= MAX_EDITED_BYTES {
            text.push_str("\n[[scenario]]\nname = \"s\"\nrun = \"echo {{ x }}\"\n");
        }
        let env = Environment::empty();
        let analysis = analyze_uncached(&text, FileKind::Test, vec![], &env);
        let vocab = vocabulary::Vocabulary::of(&text, &env, &[]);
        let at = text.len() / 2;
        assert!(hover::hover(&text, at, &vocab).is_none());
        assert!(completion::complete(&text, at, &vocab).is_empty());
        assert!(navigation::references(&text, at).is_empty());
        assert!(navigation::definition(&text, at, &vocab, &[]).is_empty());
        assert!(folding::folding_ranges(&text, &analysis).is_empty());
        assert!(symbols::document_symbols(&analysis).is_empty());
        assert!(actions::code_actions(&text, at..at, &[], &analysis).is_empty());
        let err = format::format_edits(&text).unwrap_err().to_string();
        assert!(
            err.contains("not formatted") && err.contains("bytes"),
            "{err}"
        );
    }
}
