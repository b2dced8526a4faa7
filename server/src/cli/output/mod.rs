//! Output formats of `check`. Each turns a [`CheckOutcome`] into the text for stdout;
//! positions are 1-based lines and 1-based columns counted in characters.

mod github;
mod human;
mod json;
mod sarif;

use std::ops::Range;

use super::check::CheckOutcome;
use crate::documents::{LineIndex, PositionEncoding};

pub use human::{render_diagnostics as human_diagnostics, HumanOptions};
pub(crate) use human::{visible, Palette};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// `path:line:col: severity[code]: message` with the source line underlined.
    #[default]
    Human,
    /// One stable JSON document (see the README).
    Json,
    /// SARIF 2.1.0, for code-scanning uploads.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…::…`), shown as annotations.
    Github,
}

/// A JSON document as printed: pretty, with a final newline. Serialising our plain
/// structs of strings and numbers cannot fail.
pub fn pretty_json(v: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
    text.push('\n');
    text
}

/// Render `outcome` in `format`. `color` only affects the human format.
pub fn render(outcome: &CheckOutcome, format: Format, opts: &HumanOptions) -> String {
    match format {
        Format::Human => human::render(outcome, opts),
        Format::Json => json::render(outcome),
        Format::Sarif => sarif::render(outcome),
        Format::Github => github::render(outcome),
    }
}

/// A 1-based position, column in characters, with its byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    pub start: Position,
    pub end: Position,
}

/// Converts byte ranges of one file to [`Span`]s.
pub struct Locator<'a> {
    text: &'a str,
    index: LineIndex,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            index: LineIndex::new(text),
        }
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let lc = self
            .index
            .line_col(self.text, offset, PositionEncoding::Utf32);
        Position {
            line: lc.line + 1,
            column: lc.col + 1,
            offset,
        }
    }

    pub fn span(&self, range: &Range<usize>) -> Span {
        let start = self.position(range.start);
        let end = self.position(range.end.max(range.start));
        Span { start, end }
    }

    /// The text of a 1-based line, without its terminator.
    pub fn line_text(&self, line: u32) -> &'a str {
        match self.index.line_range(self.text, line.saturating_sub(1)) {
            Some(r) => &self.text[r],
            None => "",
        }
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Paths in machine output always use `/`, whatever the platform.
pub(crate) fn slash_path(path: &std::path::Path) -> String {
    let s = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_offsets_bytes() {
        let text = "a = \"é😀x\"\nb";
        let loc = Locator::new(text);
        let x = text.find('x').unwrap();
        let p = loc.position(x);
        assert_eq!((p.line, p.column, p.offset), (1, 8, x));
        let b = loc.position(text.len() - 1);
        assert_eq!((b.line, b.column), (2, 1));
        // Past the end clamps; inside a character snaps to its start.
        assert_eq!(loc.position(999).offset, text.len());
        assert_eq!(loc.position(x - 1).column, 7);
        assert_eq!(loc.line_text(1), "a = \"é😀x\"");
    }
}
