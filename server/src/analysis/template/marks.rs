//! Source markers: the template is rendered once with invisible private-use markers
//! (`U+E000 id U+E001`) at the start of every raw-text segment and before every tag that
//! produces output. Stripping them from the output yields the normal render, byte for
//! byte, and tells for each stretch of output where in the template it came from.
//!
//! Markers are placed so that Tera's whitespace control is unchanged: an output tag's
//! marker is a separate `{{ "…" }}` carrying the tag's own left `-`, and a text marker goes
//! after the whitespace a preceding `-%}` (or a top-level import) would remove. Inside
//! macro definitions and `{% filter %}` sections there are no markers (a filter could
//! transform them); their output maps to the calling tag.

use std::ops::Range;

use super::scan::{Scan, TagKind, Token};
use crate::analysis::SourceMap;

const OPEN: char = '\u{E000}';
/// Starts each piece after the first; marker ids count from zero again in every piece, so
/// a piece's text does not change when tags are added or removed in another one.
const BOUNDARY: char = '\u{E002}';
/// Pieces are at least this long (bytes of marked text) and cut before a tag chosen by
/// its content, so that edits elsewhere leave the cuts (and the parse cache) in place.
const MIN_PIECE: usize = 512;
const MAX_PIECE: usize = 8192;
const CLOSE: char = '\u{E001}';

/// Where one marker's output comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub range: Range<usize>,
    pub verbatim: bool,
}

/// The template Tera parses and renders: tags as written, each raw-text segment replaced by
/// its marker alone (the text is put back when stripping, which keeps Tera's slow
/// character-by-character text parsing off the hot path), output tags preceded by theirs.
#[derive(Debug, Clone)]
pub struct Marked {
    pub text: String,
    pub origins: Vec<Origin>,
    /// (offset in `text`, offset in the template, copied byte for byte?)
    pieces: Vec<(usize, usize, bool)>,
    /// Offsets in `text` between top-level nodes, where it can be parsed in pieces.
    pub cuts: Vec<usize>,
    /// Index in `origins` of each piece's marker 0.
    piece_starts: Vec<usize>,
}

impl Marked {
    /// The template unchanged (when it cannot be marked).
    pub fn unmarked(text: &str) -> Self {
        Self {
            text: text.to_string(),
            origins: Vec::new(),
            pieces: vec![(0, 0, true)],
            cuts: Vec::new(),
            piece_starts: vec![0],
        }
    }

    /// The template offset of an offset in the marked text.
    pub fn to_template(&self, at: usize) -> usize {
        let i = self.pieces.partition_point(|p| p.0 <= at);
        match i.checked_sub(1).and_then(|i| self.pieces.get(i)) {
            Some(&(m, t, true)) => t + (at - m),
            Some(&(_, t, false)) => t,
            None => 0,
        }
    }
}

/// Whether markers can be used at all: the template must not contain them itself.
pub fn can_mark(text: &str) -> bool {
    !text.contains([OPEN, CLOSE, BOUNDARY])
}

pub fn mark(text: &str, scan: &Scan) -> Marked {
    let mut out = String::with_capacity(text.len() / 2);
    let mut origins = Vec::new();
    let mut pieces = Vec::new();
    let mut cuts = Vec::new();
    let mut piece_starts = vec![0];
    let mut depth = 0usize;
    // An `extends` child's top-level text is never output, so pieces could not be told
    // apart in the output.
    let may_cut = !scan.tags().any(|t| t.keyword(text) == "extends");
    // Text before the last top-level import/extends is whitespace the grammar consumes.
    let prelude_end = scan
        .tokens
        .iter()
        .rposition(
            |t| matches!(t, Token::Tag(tag) if matches!(tag.keyword(text), "import" | "extends")),
        )
        .map_or(0, |i| i + 1);
    let filter_ends = filter_section_ends(text, scan);
    let leading_comments = scan
        .tokens
        .iter()
        .take_while(|t| matches!(t, Token::Tag(t) if t.kind == TagKind::Comment))
        .count();
    let mut macro_depth = 0usize;
    let mut filter_depth = 0usize;
    let mut trim_next = false;
    let mut after_import = false;
    for (i, tok) in scan.tokens.iter().enumerate() {
        if may_cut && depth == 0 && i > prelude_end {
            let since = out.len() - cuts.last().copied().unwrap_or(0);
            let chosen = match tok {
                Token::Tag(t) => fnv(&text[t.range.clone()]) % 4 == 0,
                Token::Text(_) => false,
            };
            if (since >= MIN_PIECE && chosen) || since >= MAX_PIECE {
                cuts.push(out.len());
                pieces.push((out.len(), token_start(tok), false));
                out.push(BOUNDARY);
                piece_starts.push(origins.len());
            }
        }
        let base = piece_starts.last().copied().unwrap_or(0);
        let quiet = i < prelude_end || macro_depth > 0 || filter_depth > 0;
        match tok {
            Token::Text(r) => {
                let seg = &text[r.clone()];
                if quiet {
                    pieces.push((out.len(), r.start, true));
                    out.push_str(seg);
                } else {
                    // What Tera keeps of this text: leading whitespace goes after a `-%}`
                    // (or is eaten by a top-level import), trailing before a `{%-`.
                    let skip = if trim_next {
                        seg.len() - seg.trim_start().len()
                    } else if after_import {
                        seg.len() - seg.trim_start_matches([' ', '\t', '\r', '\n']).len()
                    } else {
                        0
                    };
                    let next_trims =
                        matches!(scan.tokens.get(i + 1), Some(Token::Tag(t)) if t.trim_left);
                    let kept = if next_trims {
                        seg[skip..].trim_end()
                    } else {
                        &seg[skip..]
                    };
                    if !kept.is_empty() {
                        pieces.push((out.len(), r.start + skip, false));
                        push_marker(&mut out, origins.len() - base, None);
                        origins.push(Origin {
                            range: r.start + skip..r.start + skip + kept.len(),
                            verbatim: true,
                        });
                    }
                }
                trim_next = false;
                after_import = false;
            }
            Token::Tag(tag) => {
                let kw = tag.keyword(text);
                if kw == "endblock" && !quiet {
                    // Output after a block (an `extends` parent's text) maps to its end.
                    pieces.push((out.len(), tag.range.start, false));
                    push_marker(&mut out, origins.len() - base, Some(tag.trim_left));
                    origins.push(Origin {
                        range: tag.range.clone(),
                        verbatim: false,
                    });
                }
                let produces = tag.kind == TagKind::Expr || matches!(kw, "include" | "filter");
                if !quiet && produces {
                    let end = if kw == "filter" {
                        filter_ends
                            .get(&tag.range.start)
                            .copied()
                            .unwrap_or(tag.range.end)
                    } else {
                        tag.range.end
                    };
                    pieces.push((out.len(), tag.range.start, false));
                    push_marker(&mut out, origins.len() - base, Some(tag.trim_left));
                    origins.push(Origin {
                        range: tag.range.start..end,
                        verbatim: false,
                    });
                }
                pieces.push((out.len(), tag.range.start, true));
                out.push_str(&text[tag.range.clone()]);
                if super::scan::BLOCK_KEYWORDS.contains(&kw) || kw == "raw" {
                    depth += 1;
                } else if kw.starts_with("end") && depth > 0 {
                    depth -= 1;
                }
                match kw {
                    "macro" => macro_depth += 1,
                    "endmacro" => macro_depth = macro_depth.saturating_sub(1),
                    "filter" => filter_depth += 1,
                    "endfilter" => filter_depth = filter_depth.saturating_sub(1),
                    _ => {}
                }
                // Comments at the very start are skipped by Tera's grammar: they trim nothing.
                trim_next = tag.trim_right && i >= leading_comments;
                after_import = matches!(kw, "import" | "extends");
            }
        }
    }
    Marked {
        text: out,
        origins,
        pieces,
        cuts,
        piece_starts,
    }
}

fn token_start(tok: &Token) -> usize {
    match tok {
        Token::Text(r) => r.start,
        Token::Tag(t) => t.range.start,
    }
}

/// FNV-1a: a cheap, stable choice of cut points.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `{% filter %}` start offset → end of its `{% endfilter %}`.
fn filter_section_ends(text: &str, scan: &Scan) -> std::collections::HashMap<usize, usize> {
    let mut ends = std::collections::HashMap::new();
    let mut stack = Vec::new();
    for tag in scan.tags() {
        match tag.keyword(text) {
            "filter" => stack.push(tag.range.start),
            "endfilter" => {
                if let Some(s) = stack.pop() {
                    ends.insert(s, tag.range.end);
                }
            }
            _ => {}
        }
    }
    ends
}

/// A text marker is plain text; a tag marker is a `{{ "…" }}` expression.
fn push_marker(out: &mut String, id: usize, tag_trim_left: Option<bool>) {
    match tag_trim_left {
        None => {
            out.push(OPEN);
            out.push_str(&id.to_string());
            out.push(CLOSE);
        }
        Some(trim) => {
            out.push_str(if trim { "{{- \"" } else { "{{ \"" });
            out.push(OPEN);
            out.push_str(&id.to_string());
            out.push(CLOSE);
            out.push_str("\" }}");
        }
    }
}

impl Marked {
    fn origin(&self, piece: usize, id: &str) -> Option<&Origin> {
        let local: usize = id.parse().ok()?;
        self.origins.get(self.piece_starts.get(piece)? + local)
    }

    /// Replaces the markers of `rendered` by the template text they stand for (verbatim)
    /// or removes them (before generated output), building the map from output to
    /// template. Pieces render in order, so the n-th boundary starts piece n.
    pub fn strip(&self, template: &str, rendered: &str) -> (String, SourceMap) {
        let mut text = String::with_capacity(rendered.len());
        let mut map = SourceMap::new();
        // Output before any marker comes from another template (e.g. an `extends` parent).
        map.push_generated(0, 0..0);
        let mut piece = 0;
        let mut rest = rendered;
        while let Some(i) = rest.find([OPEN, BOUNDARY]) {
            text.push_str(&rest[..i]);
            if rest[i..].starts_with(BOUNDARY) {
                piece += 1;
                rest = &rest[i + BOUNDARY.len_utf8()..];
                continue;
            }
            let after = &rest[i + OPEN.len_utf8()..];
            let Some(j) = after.find(CLOSE) else {
                rest = after;
                break;
            };
            if let Some(o) = self.origin(piece, &after[..j]) {
                if o.verbatim {
                    map.push_verbatim(text.len(), o.range.start);
                    text.push_str(template.get(o.range.clone()).unwrap_or(""));
                } else {
                    map.push_generated(text.len(), o.range.clone());
                }
            }
            rest = &after[j + CLOSE.len_utf8()..];
        }
        text.push_str(rest);
        map.finish(text.len());
        (text, map)
    }

    /// The origin of the last complete marker in a (partial) output.
    pub fn last_origin(&self, partial: &str) -> Option<&Origin> {
        let close = partial.rfind(CLOSE)?;
        let open = partial[..close].rfind(OPEN)?;
        let piece = partial[..open].matches(BOUNDARY).count();
        self.origin(piece, &partial[open + OPEN.len_utf8()..close])
    }
}
