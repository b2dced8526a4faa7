//! Documents as the engine sees them: text, version, and a line index for position conversion.

mod line_index;
mod store;

pub use line_index::{LineCol, LineIndex, PositionEncoding};
pub use store::{Document, DocumentStore, TextChange};
