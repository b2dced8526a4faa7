//! Stage c: TOML parse of the rendered text (toml_edit, TOML 1.1 as clnrm's `toml` 0.9 reads).
//!
//! toml_edit stops at its first error; when it fails we also run the recovering
//! `toml_parser` event parser to report the other syntax errors of the file at once.
//! Syntax that only TOML 1.1 allows gets a [`Code::TomlCompat`] warning, since a clnrm
//! built with `--locked` (toml 0.9.8, TOML 1.0 era) may reject it.

use std::ops::Range;

use super::{Code, Diagnostic};

pub type Document = toml_edit::Document<String>;

/// At most this many syntax errors per file: after that they are mostly echoes.
const MAX_SYNTAX_ERRORS: usize = 20;

/// Parse `text`; on failure push diagnostics (ranges in `text`) and return `None`.
pub fn parse(text: &str, diags: &mut Vec<Diagnostic>) -> Option<Document> {
    match toml_edit::Document::parse(text.to_string()) {
        Ok(doc) => {
            compat::check(&doc, text, diags);
            Some(doc)
        }
        Err(e) => {
            let first = clamp(e.span().unwrap_or(0..0), text);
            let message = clean_message(e.message());
            let mut found = vec![explain(
                text,
                Diagnostic::new(Code::TomlSyntax, first.clone(), message),
            )];
            // After an error the parser's view is unreliable until the next table header:
            // keep one error per section so cascades don't bury the real ones.
            let headers = header_starts(text);
            let section = |offset: usize| headers.partition_point(|&h| h <= offset);
            let mut seen_sections = vec![section(first.start)];
            for (range, message) in recovered_errors(text) {
                if found.len() >= MAX_SYNTAX_ERRORS {
                    break;
                }
                let s = section(range.start);
                // A "missing comma" at a table header is the echo of an earlier unclosed
                // array or string, not a place to add a comma.
                let echo = headers.binary_search(&range.start).is_ok()
                    && message.starts_with("missing comma");
                if seen_sections.contains(&s) || echo {
                    continue;
                }
                seen_sections.push(s);
                found.push(explain(
                    text,
                    Diagnostic::new(Code::TomlSyntax, range, message),
                ));
            }
            found.sort_by_key(|d| (d.range.start, d.range.end));
            diags.extend(found);
            None
        }
    }
}

/// Byte offsets of lines that start a `[table]` or `[[array]]` header.
fn header_starts(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let b = line.as_bytes();
        let starts_header = b.first() == Some(&b'[')
            && b.get(1).is_some_and(|c| {
                c.is_ascii_alphabetic() || *c == b'_' || *c == b'"' || *c == b'\'' || *c == b'['
            });
        if starts_header {
            out.push(offset);
        }
        offset += line.len();
    }
    out
}

/// Every error the recovering event parser finds (syntax only; duplicate keys and
/// table redefinitions are found by toml_edit's document builder).
fn recovered_errors(text: &str) -> Vec<(Range<usize>, String)> {
    let source = toml_parser::Source::new(text);
    let tokens = source.lex().into_vec();
    let mut errors: Vec<toml_parser::ParseError> = Vec::new();
    let mut events: Vec<toml_parser::parser::Event> = Vec::new();
    {
        // Bound nesting the way toml_edit does, so hostile input cannot recurse deeply.
        let mut guard = toml_parser::parser::RecursionGuard::new(&mut events, 80);
        toml_parser::parser::parse_document(&tokens, &mut guard, &mut errors);
    }
    errors
        .into_iter()
        .map(|e| {
            let range = e.unexpected().map(|s| s.start()..s.end()).unwrap_or(0..0);
            (clamp(range, text), describe(&e))
        })
        .collect()
}

/// The same wording toml_edit uses for a parser error.
fn describe(e: &toml_parser::ParseError) -> String {
    let mut message = e.description().to_string();
    if let Some(expected) = e.expected() {
        if !expected.is_empty() {
            message.push_str(", expected ");
            let parts: Vec<String> = expected
                .iter()
                .map(|x| match x {
                    toml_parser::Expected::Literal("\n") => "newline".to_string(),
                    toml_parser::Expected::Literal(s) => format!("`{s}`"),
                    toml_parser::Expected::Description(d) => (*d).to_string(),
                    _ => "etc".to_string(),
                })
                .collect();
            message.push_str(&parts.join(", "));
        }
    }
    message
}

/// Parser wording → what is wrong and what to do, for the common slips.
fn explain(text: &str, mut d: Diagnostic) -> Diagnostic {
    let at = d.range.start.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..text[at..].find('\n').map_or(text.len(), |i| at + i)];
    let header = line
        .trim_start()
        .strip_prefix('[')
        .filter(|h| !h.starts_with('['))
        .and_then(|h| h.split(']').next())
        .map(|h| h.trim().to_string());
    if let (true, Some(name)) = (d.message == "duplicate key", header) {
        d.message = format!(
            "table `[{name}]` is defined twice: clnrm rejects the file; merge the two `[{name}]` sections into one"
        );
        if let Some(first) = super::toml_wording::first_header(text, line_start, &name) {
            d = d.with_related(first, format!("`[{name}]` is first defined here"));
        }
    } else if d.message == "duplicate key" {
        let key = text.get(d.range.clone()).unwrap_or_default().to_string();
        d.message = format!(
            "duplicate key `{key}`: clnrm rejects a key defined twice in one table; remove one of them or rename it"
        );
        if let Some(first) = first_definition(text, line_start, &key) {
            d = d.with_related(first, format!("`{key}` is first defined here"));
        }
    } else if d
        .message
        .starts_with("missing comma between array elements")
    {
        // `["a", "b,` + newline: the string ran to the end of its line, so the parser
        // saw the next line's element with no comma before it.
        if let Some(quote) = unclosed_string_before(text, line_start) {
            d.message = "this string is not closed: a `\"…\"` string ends at the end of its line, so the next line reads as an element with no comma before it; close the string with `\"` (or use `\"\"\"` for a multi-line string)".to_string();
            let at = d.range.clone();
            d.range = quote..quote + 1;
            d = d.with_related(at, "where the TOML parser (and clnrm) reports it");
        } else {
            d.message = "missing comma between array elements: add `,` after the previous element"
                .to_string();
        }
    } else {
        super::toml_wording::reword(text, &mut d);
    }
    d
}

/// The key `key` defined earlier in the same table as the line at `line_start`.
fn first_definition(text: &str, line_start: usize, key: &str) -> Option<Range<usize>> {
    let section_start = header_starts(&text[..line_start])
        .last()
        .copied()
        .unwrap_or(0);
    let mut offset = section_start;
    for line in text[section_start..line_start].split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let rest = &line[indent..];
        let bare = rest.strip_prefix(key).is_some_and(|after| {
            let after = after.trim_start();
            after.starts_with('=') || after.starts_with('.')
        });
        let quoted = rest.starts_with(&format!("\"{key}\""));
        if bare || quoted {
            let len = if quoted { key.len() + 2 } else { key.len() };
            return Some(offset + indent..offset + indent + len);
        }
        offset += line.len();
    }
    None
}

/// The opening quote of a one-line basic string left open on the line before `line_start`.
fn unclosed_string_before(text: &str, line_start: usize) -> Option<usize> {
    let before = text[..line_start].trim_end_matches(['\n', '\r']);
    let prev_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[prev_start..];
    if line.contains("\"\"\"") || line.contains("'''") {
        return None;
    }
    let mut open: Option<usize> = None;
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match (open, c) {
            (None, '#') => break,
            (None, '"') => open = Some(i),
            // A literal string that never closes: not the case this explains.
            (None, '\'') if !chars.by_ref().any(|(_, c)| c == '\'') => return None,
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(_), '"') => open = None,
            _ => {}
        }
    }
    open.map(|i| prev_start + i)
}

fn clean_message(message: &str) -> String {
    message.trim().trim_end_matches('\n').to_string()
}

fn clamp(range: Range<usize>, text: &str) -> Range<usize> {
    let end = range.end.min(text.len());
    range.start.min(end)..end
}

mod compat {
    //! TOML 1.1-only constructs.

    use super::super::{Code, Diagnostic};
    use super::Document;
    use toml_edit::{Item, Value};

    pub(super) fn check(doc: &Document, text: &str, diags: &mut Vec<Diagnostic>) {
        let first_new = diags.len();
        let mut stack: Vec<&Item> = vec![doc.as_item()];
        let mut values: Vec<&Value> = Vec::new();
        while let Some(item) = stack.pop() {
            match item {
                Item::Table(t) => stack.extend(t.iter().map(|(_, i)| i)),
                Item::ArrayOfTables(a) => {
                    for t in a.iter() {
                        stack.extend(t.iter().map(|(_, i)| i));
                    }
                }
                Item::Value(v) => values.push(v),
                Item::None => {}
            }
            while let Some(v) = values.pop() {
                match v {
                    Value::Array(a) => values.extend(a.iter()),
                    Value::InlineTable(t) => {
                        values.extend(t.iter().map(|(_, v)| v));
                        if let Some(span) = v.span() {
                            inline_table_warnings(text, span, t, diags);
                        }
                    }
                    Value::String(_) => {
                        if let Some(span) = v.span() {
                            escape_warnings(text, span, diags);
                        }
                    }
                    Value::Datetime(d) => {
                        let no_seconds = d.value().time.is_some_and(|t| t.second.is_none());
                        if let (true, Some(span)) = (no_seconds, v.span()) {
                            diags.push(Diagnostic::new(
                                Code::TomlCompat,
                                span,
                                "a time without seconds is TOML 1.1; a clnrm built with --locked (toml 0.9.8) rejects it. Add `:00`",
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        diags[first_new..].sort_by_key(|d| (d.range.start, d.range.end));
    }

    /// TOML 1.0 inline tables are one line with no trailing comma (multi-line *values*
    /// inside them are fine): look only at the text between the entries.
    fn inline_table_warnings(
        text: &str,
        span: std::ops::Range<usize>,
        table: &toml_edit::InlineTable,
        diags: &mut Vec<Diagnostic>,
    ) {
        let Some(raw) = text.get(span.clone()) else {
            return;
        };
        if !raw.contains('\n') && !raw.contains(',') {
            return;
        }
        let mut masked: Vec<u8> = raw.as_bytes().to_vec();
        let mut last_value_end = span.start;
        // get_values flattens dotted keys (`{ a.b = 1, a.c = 2 }`).
        for (keys, v) in table.get_values() {
            let spans = keys.iter().map(|k| k.span()).chain([v.span()]);
            for r in spans.flatten() {
                let (a, b) = (
                    r.start.saturating_sub(span.start),
                    r.end.saturating_sub(span.start),
                );
                for byte in masked.iter_mut().take(b.min(raw.len())).skip(a) {
                    *byte = b' ';
                }
                last_value_end = last_value_end.max(r.end);
            }
        }
        // Comments run to the end of the line: blank them so `#` text cannot fool us.
        let mut in_comment = false;
        for byte in masked.iter_mut() {
            match *byte {
                b'#' => in_comment = true,
                b'\n' => in_comment = false,
                _ if in_comment => *byte = b' ',
                _ => {}
            }
        }
        if masked.contains(&b'\n') {
            diags.push(Diagnostic::new(
                Code::TomlCompat,
                span.start..span.start + 1,
                "a multi-line inline table is TOML 1.1; a clnrm built with --locked (toml 0.9.8) rejects it: put it on one line or use a [table]",
            ));
        }
        let tail_start = last_value_end.saturating_sub(span.start);
        if let Some(i) = masked
            .get(tail_start..)
            .and_then(|t| t.iter().position(|b| *b == b','))
        {
            if !table.is_empty() {
                let at = span.start + tail_start + i;
                diags.push(Diagnostic::new(
                    Code::TomlCompat,
                    at..at + 1,
                    "a trailing comma in an inline table is TOML 1.1; a clnrm built with --locked (toml 0.9.8) rejects it",
                ));
            }
        }
    }

    /// `\e` and `\xHH` escapes in basic strings are new in TOML 1.1.
    fn escape_warnings(text: &str, span: std::ops::Range<usize>, diags: &mut Vec<Diagnostic>) {
        let Some(raw) = text.get(span.clone()) else {
            return;
        };
        if !raw.starts_with('"') {
            return; // literal strings have no escapes
        }
        let bytes = raw.as_bytes();
        let mut from = 0;
        // From escape to escape (`memchr`): most strings have none.
        while let Some(i) = memchr::memchr(b'\\', &bytes[from..]).map(|off| from + off) {
            let Some(&next) = bytes.get(i + 1) else {
                break;
            };
            if next == b'e' || next == b'x' {
                let len = if next == b'x' { 4 } else { 2 };
                let start = span.start + i;
                let end = (start + len).min(span.end);
                diags.push(Diagnostic::new(
                        Code::TomlCompat,
                        start..end,
                        format!(
                            "`\\{}` escapes are TOML 1.1; a clnrm built with --locked (toml 0.9.8, TOML 1.0) rejects them. Use `\\u00XX` instead",
                            next as char
                        ),
                    ));
            }
            from = i + 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        assert!(parse(text, &mut d).is_none());
        d
    }

    #[test]
    fn reports_error_at_its_place() {
        let text = "[meta]\nname = \"a\"\nversion = \n";
        let d = errors(text);
        assert_eq!(d[0].code, Code::TomlSyntax);
        let line = text[..d[0].range.start].matches('\n').count();
        assert_eq!(line, 2, "{d:?}");
    }

    #[test]
    fn duplicate_key_is_an_error_on_the_second_key() {
        let text = "[a]\nplugin = \"x\"\nplugin = \"y\"\n";
        let d = errors(text);
        assert!(d[0].message.contains("duplicate key `plugin`"), "{d:?}");
        assert_eq!(&text[d[0].range.clone()], "plugin");
        assert!(d[0].range.start > 10);
        assert_eq!(d[0].related[0].range, 4..10, "{d:?}");
        assert_eq!(d[0].related[0].message, "`plugin` is first defined here");
    }

    #[test]
    fn missing_comma_after_an_unclosed_string_points_at_the_string() {
        let text = "[[steps]]\ncommand = [\"echo\", \"hi,\n  \"x\"]\n";
        let d = errors(text);
        assert!(
            d[0].message.starts_with("this string is not closed"),
            "{d:?}"
        );
        assert_eq!(d[0].range.start, text.find("\"hi").unwrap());
        let reported = d[0].related[0].range.start;
        assert_eq!(&text[reported..reported + 3], "\"x\"");
        let plain = errors("a = [\"x\"\n\"y\"]\n");
        assert!(plain[0].message.contains("add `,`"), "{plain:?}");
    }

    #[test]
    fn reports_several_syntax_errors() {
        let text = "a = ]\nb = 1\n[t]\nc = ]\nd = ]\n";
        let d = errors(text);
        // One per section: `a` and `c`, not the cascade in the same section (`d`).
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.windows(2).all(|w| w[0].range.start <= w[1].range.start));
    }

    #[test]
    fn accepts_toml_1_1_inline_tables_with_compat_warnings() {
        let text = "r = {\n a = \"b\",\n}\ns = { a = 1, }\nt = { a = \"\"\"x\ny\"\"\", b = [\n1,\n] } # c,\nu = { a.b = 1, a.c = 2 }\n";
        let mut d = Vec::new();
        let doc = parse(text, &mut d);
        assert!(doc.is_some());
        let found: Vec<(&str, usize)> = d
            .iter()
            .map(|d| {
                assert_eq!(d.code, Code::TomlCompat);
                (
                    &text[d.range.clone()],
                    text[..d.range.start].matches('\n').count(),
                )
            })
            .collect();
        // r: multi-line and trailing comma; s: trailing comma; t: multi-line values only.
        assert_eq!(found, vec![("{", 0), (",", 1), (",", 3)], "{d:?}");
    }

    #[test]
    fn warns_on_toml_1_1_escapes_only() {
        let text = "a = \"x\\e[0m\"\nb = 'lit\\e'\nc = \"\\\\e\"\n";
        let mut d = Vec::new();
        assert!(parse(text, &mut d).is_some());
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, Code::TomlCompat);
        assert_eq!(&text[d[0].range.clone()], "\\e");
        // Each escape in turn: `\x41`, an escaped backslash, then `\e`.
        let text = "d = \"\\x41 \\\\\\e\"\n";
        let mut d = Vec::new();
        assert!(parse(text, &mut d).is_some());
        let warned: Vec<&str> = d.iter().map(|d| &text[d.range.clone()]).collect();
        assert_eq!(warned, ["\\x41", "\\e"], "{d:?}");
    }

    #[test]
    fn warns_on_times_without_seconds() {
        let text = "a = 2025-01-01T10:30Z\nb = 2025-01-01T10:30:00Z\nc = \"10:30\"\n";
        let mut d = Vec::new();
        assert!(parse(text, &mut d).is_some());
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(&text[d[0].range.clone()], "2025-01-01T10:30Z");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let text = format!("a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let mut d = Vec::new();
        let _ = parse(&text, &mut d);
        let text = format!("a = {}1{}\n", "{b=".repeat(50_000), "}".repeat(50_000));
        let _ = parse(&text, &mut d);
    }
}
