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
