//! Documents as the engine sees them: text, version, and a line index for position conversion.

pub mod discover;
pub mod fs;
mod line_index;
mod store;

pub use line_index::{LineCol, LineIndex, PositionEncoding};
pub use store::{Document, DocumentStore, TextChange};
