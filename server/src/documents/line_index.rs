//! Byte offsets <-> (line, column) in UTF-8, UTF-16 or UTF-32 (character) units.
//!
//! The engine works in byte offsets; faces convert at the edge with this index.

/// Unit in which a column is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PositionEncoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units: the LSP default.
    #[default]
    Utf16,
    /// Unicode scalar values: what a human counts, used by the CLI.
    Utf32,
}

/// A zero-based line and column, the column in some [`PositionEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// Start offsets of every line of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    /// Byte offset at which each line starts; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
    /// Length of the text in bytes.
    len: usize,
    /// True when the text is pure ASCII, so every encoding counts the same.
    ascii: bool,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self {
            line_starts,
            len: text.len(),
            ascii: text.is_ascii(),
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte range of a line, without its line terminator.
    pub fn line_range(&self, text: &str, line: u32) -> Option<std::ops::Range<usize>> {
        let start = *self.line_starts.get(line as usize)?;
        let mut end = self
            .line_starts
            .get(line as usize + 1)
            .map_or(self.len, |next| next - 1);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Some(start..end.max(start))
    }

    /// Line and column of a byte offset. Offsets past the end clamp to the end; an offset
    /// inside a multi-byte character counts from that character's start.
    pub fn line_col(&self, text: &str, offset: usize, enc: PositionEncoding) -> LineCol {
        let offset = clamp_to_char_boundary(text, offset.min(self.len));
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = if self.ascii {
            offset - start
        } else {
            let slice = &text[start..offset];
            match enc {
                PositionEncoding::Utf8 => slice.len(),
                PositionEncoding::Utf16 => slice.encode_utf16().count(),
                PositionEncoding::Utf32 => slice.chars().count(),
            }
        };
        LineCol {
            line: line as u32,
            col: col as u32,
        }
    }

    /// Byte offset of a line and column. Out-of-range lines clamp to the end of the text and
    /// out-of-range columns to the end of the line (as LSP requires), never failing.
    pub fn offset(&self, text: &str, pos: LineCol, enc: PositionEncoding) -> usize {
        let Some(range) = self.line_range(text, pos.line) else {
            return self.len;
        };
        let line_text = &text[range.clone()];
        let want = pos.col as usize;
        if self.ascii || enc == PositionEncoding::Utf8 {
            let col = want.min(line_text.len());
            return range.start + clamp_to_char_boundary(line_text, col);
        }
        let mut units = 0;
        for (i, ch) in line_text.char_indices() {
            if units >= want {
                return range.start + i;
            }
            units += match enc {
                PositionEncoding::Utf16 => ch.len_utf16(),
                _ => 1,
            };
        }
        range.end
    }
}

fn clamp_to_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_every_encoding() {
        let text = "a = \"é😀\"\nb = 1\r\nc";
        let idx = LineIndex::new(text);
        for enc in [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ] {
            // The '\n' of a CRLF sits inside the terminator and clamps to the line's end.
            for (off, _) in text
                .char_indices()
                .filter(|&(i, c)| !(c == '\n' && text[..i].ends_with('\r')))
            {
                let lc = idx.line_col(text, off, enc);
                assert_eq!(idx.offset(text, lc, enc), off, "{enc:?} at {off}");
            }
        }
    }

    #[test]
    fn counts_columns_per_encoding() {
        let text = "x=\"😀y\"";
        let idx = LineIndex::new(text);
        let y = text.find('y').unwrap();
        assert_eq!(idx.line_col(text, y, PositionEncoding::Utf8).col, 7);
        assert_eq!(idx.line_col(text, y, PositionEncoding::Utf16).col, 5);
        assert_eq!(idx.line_col(text, y, PositionEncoding::Utf32).col, 4);
    }

    #[test]
    fn clamps_out_of_range_positions() {
        let text = "ab\ncd";
        let idx = LineIndex::new(text);
        assert_eq!(
            idx.offset(text, LineCol { line: 9, col: 0 }, PositionEncoding::Utf16),
            5
        );
        assert_eq!(
            idx.offset(text, LineCol { line: 0, col: 99 }, PositionEncoding::Utf16),
            2
        );
        assert_eq!(
            idx.line_col(text, 99, PositionEncoding::Utf16),
            LineCol { line: 1, col: 2 }
        );
    }
}
