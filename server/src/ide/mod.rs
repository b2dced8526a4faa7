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
mod schema_nav;
pub mod symbols;
mod toml_tree;

pub use cursor::{tera_tag_at, tera_tag_at_start, TeraTag};

/// `text` with `edits` applied (sorted, non-overlapping, as every feature here returns them).
#[cfg(test)]
pub(crate) fn apply_edits(text: &str, edits: &[crate::analysis::Edit]) -> String {
    let mut out = text.to_string();
    for e in edits.iter().rev() {
        out.replace_range(e.range.clone(), &e.new_text);
    }
    out
}
