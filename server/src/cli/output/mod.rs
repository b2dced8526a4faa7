//! Output formats of `check`. Each turns a [`CheckOutcome`] into the text for stdout;
//! positions are 1-based lines and 1-based columns counted in characters.

mod github;
mod human;
mod json;
mod sarif;

use std::ops::Range;

use crate::documents::{LineIndex, PositionEncoding};
use crate::workspace::check::CheckOutcome;

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

/// Where a related place is: its file (`None`: the diagnostic's own) shown relative to
/// the working directory when possible, and its span.
pub fn related_place(
    r: &crate::analysis::Related,
    own: &Locator<'_>,
) -> (Option<std::path::PathBuf>, Span) {
    match &r.file {
        None => (None, own.span(&r.range)),
        Some(f) => {
            let shown = crate::documents::fs::working_dir()
                .and_then(|cwd| f.path.strip_prefix(cwd).ok().map(|p| p.to_path_buf()))
                .unwrap_or_else(|| f.path.clone());
            (Some(shown), Locator::new(&f.text).span(&r.range))
        }
    }
}

/// Writes `check`'s output as reports arrive, in path order, holding none of them (SARIF,
/// one document with every result inside `runs[0]`, holds them until the end). Each
/// report's text is made by [`Renderer::render`] on the thread that analysed it; the
/// stream only writes, in order.
pub struct Stream {
    format: Format,
    opts: HumanOptions,
    json: Option<json::JsonStream>,
    held: Vec<crate::workspace::FileReport>,
}

/// Makes one report's output; shared by the analysis threads.
#[derive(Debug, Clone, Copy)]
pub struct Renderer {
    format: Format,
    opts: HumanOptions,
}

/// One report's output, ready to be written in its turn.
pub enum Rendered {
    Text(String),
    Json(json::JsonFile),
    /// SARIF: the report itself is kept.
    Held,
}

impl Renderer {
    pub fn render(&self, file: &crate::workspace::FileReport) -> Rendered {
        match self.format {
            Format::Human => Rendered::Text(human::render_diagnostics(
                &file.path,
                &file.text,
                &file.diagnostics,
                &self.opts,
            )),
            Format::Github => Rendered::Text(github::render_file(file)),
            Format::Json => Rendered::Json(json::JsonStream::render(file)),
            Format::Sarif => Rendered::Held,
        }
    }
}

impl Stream {
    pub fn begin(
        format: Format,
        opts: HumanOptions,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<Self> {
        let json = match format {
            Format::Json => Some(json::JsonStream::begin(out)?),
            _ => None,
        };
        Ok(Self {
            format,
            opts,
            json,
            held: Vec::new(),
        })
    }

    pub fn renderer(&self) -> Renderer {
        Renderer {
            format: self.format,
            opts: self.opts,
        }
    }

    /// Write `file`'s output, made by [`Renderer::render`].
    pub fn file(
        &mut self,
        out: &mut impl std::io::Write,
        file: crate::workspace::FileReport,
        rendered: Rendered,
    ) -> std::io::Result<()> {
        match rendered {
            Rendered::Text(text) => out.write_all(text.as_bytes()),
            Rendered::Json(part) => match &mut self.json {
                Some(j) => j.file(out, part),
                None => Ok(()),
            },
            Rendered::Held => {
                self.held.push(file);
                Ok(())
            }
        }
    }

    pub fn finish(
        self,
        out: &mut impl std::io::Write,
        summary: &crate::workspace::check::Summary,
    ) -> std::io::Result<()> {
        match self.format {
            Format::Human => out.write_all(human::summary(summary, &self.opts).as_bytes()),
            Format::Github => Ok(()),
            Format::Json => match self.json {
                Some(j) => j.finish(out, summary),
                None => Ok(()),
            },
            Format::Sarif => {
                let outcome = CheckOutcome {
                    files: self.held,
                    errors: Vec::new(),
                };
                out.write_all(sarif::render(&outcome).as_bytes())
            }
        }
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
