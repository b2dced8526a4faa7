//! A lexer for Tera 1.x delimiters: splits a template into text and tags the way Tera's
//! grammar does, so later passes can place markers, locate uses and report structure errors
//! with byte ranges. It never fails: unterminated tags are recorded as problems.

use std::ops::Range;

/// Which delimiter pair a tag uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// `{{ … }}`
    Expr,
    /// `{% … %}`
    Stmt,
    /// `{# … #}`
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub kind: TagKind,
    /// The whole tag, delimiters included.
    pub range: Range<usize>,
    /// Between the delimiters and their `-` whitespace-control marks.
    pub inner: Range<usize>,
    /// `{{-` / `{%-` / `{#-`: trims the whitespace before the tag.
    pub trim_left: bool,
    /// `-}}` / `-%}` / `-#}`: trims the whitespace after the tag.
    pub trim_right: bool,
}

impl Tag {
    /// The first word of a statement tag (`if`, `for`, `import`…), empty otherwise.
    pub fn keyword<'t>(&self, text: &'t str) -> &'t str {
        if self.kind != TagKind::Stmt {
            return "";
        }
        let inner = text[self.inner.clone()].trim_start();
        let end = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        &inner[..end]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// Literal text (also the body of a `{% raw %}` block).
    Text(Range<usize>),
    Tag(Tag),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub range: Range<usize>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub tokens: Vec<Token>,
    pub problems: Vec<Problem>,
    /// Deepest bracket nesting inside any tag expression.
    pub max_expr_depth: usize,
    /// Deepest block nesting (`if`, `for`, `macro`, …).
    pub max_block_depth: usize,
    /// Deepest nesting of calls (`f(a=g(a=…))`) inside any tag: Tera's parser backtracks
    /// exponentially in it.
    pub max_call_depth: usize,
    /// An unterminated tag stopped the scan: the rest of the text was not looked at.
    pub truncated: bool,
}

impl Scan {
    pub fn tags(&self) -> impl Iterator<Item = &Tag> {
        self.tokens.iter().filter_map(|t| match t {
            Token::Tag(tag) => Some(tag),
            Token::Text(_) => None,
        })
    }
}

/// Statement keywords that open a block closed by `end<keyword>`.
pub const BLOCK_KEYWORDS: &[&str] = &["if", "for", "macro", "block", "filter"];

pub fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut out = Scan::default();
    let mut pos = 0;
    let mut text_start = 0;
    let mut block_depth = 0usize;
    while pos + 1 < bytes.len() {
        // Only a `{` with a byte after it can open a tag.
        let Some(brace) = memchr::memchr(b'{', &bytes[pos..bytes.len() - 1]) else {
            break;
        };
        pos += brace;
        let kind = match bytes[pos + 1] {
            b'{' => TagKind::Expr,
            b'%' => TagKind::Stmt,
            b'#' => TagKind::Comment,
            _ => {
                pos += 1;
                continue;
            }
        };
        if text_start < pos {
            out.tokens.push(Token::Text(text_start..pos));
        }
        let Some(tag) = lex_tag(text, pos, kind, &mut out) else {
            // Unterminated: the rest of the file is not text Tera could render.
            let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
            let what = match kind {
                TagKind::Expr => "`{{` is never closed by `}}`",
                TagKind::Stmt => "`{%` is never closed by `%}`",
                TagKind::Comment => "`{#` is never closed by `#}`",
            };
            out.problems.push(Problem {
                range: pos..line_end,
                message: what.to_string(),
            });
            out.truncated = true;
            return out;
        };
        pos = tag.range.end;
        text_start = pos;
        let keyword = tag.keyword(text);
        if BLOCK_KEYWORDS.contains(&keyword) {
            block_depth += 1;
            out.max_block_depth = out.max_block_depth.max(block_depth);
        } else if keyword
            .strip_prefix("end")
            .is_some_and(|k| BLOCK_KEYWORDS.contains(&k))
        {
            block_depth = block_depth.saturating_sub(1);
        }
        let is_raw = keyword == "raw";
        out.tokens.push(Token::Tag(tag));
        if is_raw {
            // Everything up to `{% endraw %}` is text, whatever it contains.
            match find_endraw(text, pos) {
                Some(end_tag) => {
                    if pos < end_tag.range.start {
                        out.tokens.push(Token::Text(pos..end_tag.range.start));
                    }
                    pos = end_tag.range.end;
                    text_start = pos;
                    out.tokens.push(Token::Tag(end_tag));
                }
                None => {
                    out.problems.push(Problem {
                        range: tag_range_of_last(&out).unwrap_or(pos..pos),
                        message: "`{% raw %}` is never closed by `{% endraw %}`".into(),
                    });
                    out.truncated = true;
                    return out;
                }
            }
        }
    }
    if text_start < text.len() {
        out.tokens.push(Token::Text(text_start..text.len()));
    }
    out
}

fn tag_range_of_last(scan: &Scan) -> Option<Range<usize>> {
    scan.tags().last().map(|t| t.range.clone())
}

/// Lexes one tag starting at `start` (which holds `{{`, `{%` or `{#`).
fn lex_tag(text: &str, start: usize, kind: TagKind, out: &mut Scan) -> Option<Tag> {
    let bytes = text.as_bytes();
    let mut pos = start + 2;
    let trim_left = bytes.get(pos) == Some(&b'-');
    if trim_left {
        pos += 1;
    }
    let inner_start = pos;
    if kind == TagKind::Comment {
        // Comments end at the first `#}`; nothing inside is special.
        let rel = text[pos..].find("#}")?;
        let close = pos + rel;
        let trim_right = close > inner_start && bytes[close - 1] == b'-';
        let inner_end = if trim_right { close - 1 } else { close };
        return Some(Tag {
            kind,
            range: start..close + 2,
            inner: inner_start..inner_end.max(inner_start),
            trim_left,
            trim_right,
        });
    }
    let close_char = if kind == TagKind::Expr { b'}' } else { b'%' };
    // Open brackets, each marked when it opens a call (an identifier before `(`).
    let mut open: Vec<bool> = Vec::new();
    let mut calls = 0usize;
    while pos < bytes.len() {
        match bytes[pos] {
            q @ (b'"' | b'\'' | b'`') => {
                // Tera strings have no escapes: they end at the next identical quote.
                let rel = text[pos + 1..].find(q as char)?;
                pos += rel + 2;
                continue;
            }
            b @ (b'(' | b'[') => {
                let before = text[inner_start..pos].trim_end();
                let word_start = before
                    .bytes()
                    .rposition(|c| !is_ident_byte(c))
                    .map_or(0, |i| i + 1);
                let word = &before[word_start..];
                let call = b == b'('
                    && !word.is_empty()
                    && !matches!(word, "if" | "elif" | "and" | "or" | "not" | "in" | "is");
                open.push(call);
                calls += usize::from(call);
                out.max_expr_depth = out.max_expr_depth.max(open.len());
                out.max_call_depth = out.max_call_depth.max(calls);
            }
            b')' | b']' => {
                let closes_call = open.pop() == Some(true);
                calls -= usize::from(closes_call);
            }
            c if c == close_char && bytes.get(pos + 1) == Some(&b'}') => {
                return Some(close_tag(bytes, start, inner_start, pos, trim_left, kind));
            }
            _ => {}
        }
        pos += 1;
    }
    None
}

fn close_tag(
    bytes: &[u8],
    start: usize,
    inner_start: usize,
    close: usize,
    trim_left: bool,
    kind: TagKind,
) -> Tag {
    let trim_right = close > inner_start && bytes[close - 1] == b'-';
    let inner_end = if trim_right { close - 1 } else { close };
    Tag {
        kind,
        range: start..close + 2,
        inner: inner_start..inner_end.max(inner_start),
        trim_left,
        trim_right,
    }
}

/// Finds `{%-? endraw -?%}` at or after `from`.
fn find_endraw(text: &str, from: usize) -> Option<Tag> {
    let mut search = from;
    while let Some(rel) = text[search..].find("{%") {
        let start = search + rel;
        let mut p = start + 2;
        let bytes = text.as_bytes();
        let trim_left = bytes.get(p) == Some(&b'-');
        if trim_left {
            p += 1;
        }
        let inner_start = p;
        while bytes.get(p).is_some_and(|b| b.is_ascii_whitespace()) {
            p += 1;
        }
        if text[p..].starts_with("endraw") {
            p += "endraw".len();
            while bytes.get(p).is_some_and(|b| b.is_ascii_whitespace()) {
                p += 1;
            }
            let trim_right = bytes.get(p) == Some(&b'-');
            let close = if trim_right { p + 1 } else { p };
            if text[close..].starts_with("%}") {
                return Some(Tag {
                    kind: TagKind::Stmt,
                    range: start..close + 2,
                    inner: inner_start..p,
                    trim_left,
                    trim_right,
                });
            }
        }
        search = start + 2;
    }
    None
}

/// Byte ranges of `name` used as an identifier path inside the code of `tag` (outside
/// string literals, not preceded by `.` or an identifier character, not followed by one).
pub fn find_ident(text: &str, tag: &Tag, name: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    if name.is_empty() {
        return found;
    }
    let code = &text[tag.inner.clone()];
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'"' | b'\'' | b'`') {
            match code[i + 1..].find(b as char) {
                Some(rel) => i += rel + 2,
                None => break,
            }
            continue;
        }
        if bytes[i..].starts_with(name.as_bytes()) {
            let before_ok = i == 0 || !is_ident_byte(bytes[i - 1]) && bytes[i - 1] != b'.';
            let after = bytes.get(i + name.len()).copied();
            let after_ok = !after.is_some_and(is_ident_byte);
            if before_ok && after_ok {
                let s = tag.inner.start + i;
                found.push(s..s + name.len());
                i += name.len();
                continue;
            }
        }
        i += 1;
    }
    found
}

pub fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_tags() {
        let t = "a {{ x }} b {%- if y -%} c {# d #}{% raw %}{{ e }}{% endraw %}";
        let s = scan(t);
        assert!(s.problems.is_empty());
        let kinds: Vec<String> = s
            .tokens
            .iter()
            .map(|tok| match tok {
                Token::Text(r) => format!("T({})", &t[r.clone()]),
                Token::Tag(tag) => format!("{:?}({})", tag.kind, &t[tag.inner.clone()]),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "T(a )",
                "Expr( x )",
                "T( b )",
                "Stmt( if y )",
                "T( c )",
                "Comment( d )",
                "Stmt( raw )",
                "T({{ e }})",
                "Stmt( endraw )"
            ]
        );
        let if_tag = s.tags().nth(1).unwrap();
        assert!(if_tag.trim_left && if_tag.trim_right);
        assert_eq!(if_tag.keyword(t), "if");
    }

    #[test]
    fn strings_may_hold_closing_delimiters() {
        let t = r#"{{ "}}" ~ '%}' }}x"#;
        let s = scan(t);
        assert_eq!(s.tokens.len(), 2);
        assert_eq!(s.tokens[1], Token::Text(t.len() - 1..t.len()));
    }

    #[test]
    fn unterminated_tags_are_problems() {
        let s = scan("a = 1\nb = {{ x\nc = 2");
        assert_eq!(s.problems.len(), 1);
        assert_eq!(s.problems[0].range, 10..14);
    }

    #[test]
    fn finds_identifiers_outside_strings() {
        let t = r#"{{ seed ~ "seed" ~ vars.seed ~ seeds }}"#;
        let s = scan(t);
        let tag = s.tags().next().unwrap();
        let hits = find_ident(t, tag, "seed");
        assert_eq!(hits, vec![3..7]);
        assert_eq!(find_ident(t, tag, "vars.seed").len(), 1);
    }
}
