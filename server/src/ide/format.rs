//! Formatting with clnrm's conventions (`clnrm fmt`): keys sorted within each table,
//! `key = value` spacing, no trailing whitespace, a final newline; comments kept.
//!
//! Templates are never re-parsed as TOML: only whitespace outside Tera tags and outside
//! multi-line strings is touched, so a template cannot be corrupted.

use std::ops::Range;

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::analysis::{template, Edit};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not formatted: the file has TOML syntax errors ({0}); fix them first")]
    Syntax(String),
    #[error("not formatted: the file is {0} bytes; files over {max} bytes are not formatted", max = super::MAX_EDITED_BYTES)]
    TooLarge(usize),
}

/// The formatted text of a whole document.
pub fn format(text: &str) -> Result<String, FormatError> {
    if super::too_large(text) {
        return Err(FormatError::TooLarge(text.len()));
    }
    if template::is_template(text) {
        return Ok(normalize_whitespace(text, &protected_template_spans(text)));
    }
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| FormatError::Syntax(e.message().to_string()))?;
    normalize_table(doc.as_table_mut(), 0);
    let out = doc.to_string();
    let spans = multiline_string_spans(&out);
    Ok(normalize_whitespace(&out, &spans))
}

/// The smallest single edit turning `text` into its formatted form (none when unchanged).
pub fn format_edits(text: &str) -> Result<Vec<Edit>, FormatError> {
    let formatted = format(text)?;
    Ok(minimal_edit(text, &formatted).into_iter().collect())
}

/// Formatting of a byte range: the whole-document result when its changes all fall in the
/// range's lines, else only whitespace inside the range (never a change outside it).
pub fn format_range_edits(text: &str, range: Range<usize>) -> Result<Vec<Edit>, FormatError> {
    let formatted = format(text)?;
    let lines = line_span(text, range);
    if let Some(edit) = minimal_edit(text, &formatted) {
        if edit.range.start >= lines.start && edit.range.end <= lines.end {
            return Ok(vec![edit]);
        }
    }
    let part = &text[lines.clone()];
    let protected = if template::is_template(text) {
        protected_template_spans(part)
    } else {
        multiline_string_spans_lenient(text, lines.clone())
    };
    let mut cleaned = normalize_whitespace(part, &protected);
    if !part.ends_with('\n') {
        cleaned.truncate(cleaned.trim_end_matches('\n').len());
    }
    Ok(minimal_edit(part, &cleaned)
        .map(|e| Edit {
            range: e.range.start + lines.start..e.range.end + lines.start,
            new_text: e.new_text,
        })
        .into_iter()
        .collect())
}

const MAX_DEPTH: usize = 64;

fn normalize_table(table: &mut Table, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    table.sort_values();
    for (mut key, item) in table.iter_mut() {
        if let Item::Value(v) = item {
            key.leaf_decor_mut().set_suffix(" ");
            v.decor_mut().set_prefix(" ");
        }
        match item {
            Item::Table(t) => normalize_table(t, depth + 1),
            Item::ArrayOfTables(a) => a.iter_mut().for_each(|t| normalize_table(t, depth + 1)),
            Item::Value(v) => normalize_value(v, depth + 1),
            Item::None => {}
        }
    }
}

fn normalize_value(value: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::InlineTable(t) => {
            t.sort_values();
            t.iter_mut()
                .for_each(|(_, v)| normalize_value(v, depth + 1));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| normalize_value(v, depth + 1)),
        _ => {}
    }
}

/// Trim trailing whitespace of every line (except inside `protected` spans) and end
/// with exactly one newline.
fn normalize_whitespace(text: &str, protected: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let eol = &line[body.len()..];
        let trimmed = body.trim_end_matches([' ', '\t']);
        let cut = start + trimmed.len()..start + body.len();
        let keep = protected
            .iter()
            .any(|p| p.start < cut.end && cut.start < p.end);
        out.push_str(if keep { body } else { trimmed });
        out.push_str(eol);
        start += line.len();
    }
    let body_len = out.trim_end_matches(['\n', '\r', ' ', '\t']).len();
    if body_len == 0 {
        return String::new();
    }
    let crlf = out[body_len..].starts_with("\r\n");
    out.truncate(body_len);
    out.push_str(if crlf { "\r\n" } else { "\n" });
    out
}

/// Spans of multi-line strings in valid TOML, whose content must not change.
fn multiline_string_spans(text: &str) -> Vec<Range<usize>> {
    let Ok(doc) = toml_edit::Document::parse(text.to_string()) else {
        return Vec::new();
    };
    let mut spans = Vec::new();
    collect_multiline(doc.as_table(), text, &mut spans, 0);
    spans
}

fn multiline_string_spans_lenient(text: &str, within: Range<usize>) -> Vec<Range<usize>> {
    multiline_string_spans(text)
        .into_iter()
        .filter(|s| s.end > within.start && s.start < within.end)
        .map(|s| {
            s.start.saturating_sub(within.start)
                ..s.end.saturating_sub(within.start).min(within.len())
        })
        .collect()
}

fn collect_multiline(table: &Table, text: &str, out: &mut Vec<Range<usize>>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => collect_multiline(t, text, out, depth + 1),
            Item::ArrayOfTables(a) => a
                .iter()
                .for_each(|t| collect_multiline(t, text, out, depth + 1)),
            Item::Value(v) => collect_value(v, text, out, depth + 1),
            Item::None => {}
        }
    }
}

fn collect_value(v: &Value, text: &str, out: &mut Vec<Range<usize>>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::String(_) => {
            if let Some(span) = v.span() {
                if text.get(span.clone()).is_some_and(|s| s.contains('\n')) {
                    out.push(span);
                }
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|v| collect_value(v, text, out, depth + 1)),
        Value::InlineTable(t) => t
            .iter()
            .for_each(|(_, v)| collect_value(v, text, out, depth + 1)),
        _ => {}
    }
}

/// In a template: Tera tags and multi-line strings (found by scanning for triple quotes
/// outside tags), which formatting must leave alone.
fn protected_template_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut string_start: Option<(usize, &str)> = None;
    while i < bytes.len() {
        if let Some((start, quote)) = string_start {
            if text[i..].starts_with(quote) {
                spans.push(start..i + 3);
                string_start = None;
                i += 3;
                continue;
            }
        } else if text[i..].starts_with("\"\"\"") || text[i..].starts_with("'''") {
            string_start = Some((i, &text[i..i + 3]));
            i += 3;
            continue;
        }
        if let Some(tag) = super::tera_tag_at_start(text, i) {
            spans.push(tag.clone());
            i = tag.end;
            continue;
        }
        // By whole characters: `text[i..]` must stay on a boundary (`→` is 3 bytes).
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    if let Some((start, _)) = string_start {
        spans.push(start..text.len());
    }
    spans
}

fn line_span(text: &str, range: Range<usize>) -> Range<usize> {
    let start = text[..range.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = range.end.min(text.len());
    let end = if end > start && text[..end].ends_with('\n') {
        end
    } else {
        text[end..].find('\n').map_or(text.len(), |i| end + i + 1)
    };
    start..end
}

/// One edit replacing the differing middle of `old` with that of `new`.
fn minimal_edit(old: &str, new: &str) -> Option<Edit> {
    if old == new {
        return None;
    }
    let prefix = old
        .char_indices()
        .zip(new.chars())
        .find(|((_, a), b)| a != b)
        .map_or(old.len().min(new.len()), |((i, _), _)| i);
    let max_suffix = (old.len() - prefix).min(new.len() - prefix);
    let mut suffix = old[prefix..]
        .chars()
        .rev()
        .zip(new[prefix..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum::<usize>();
    suffix = suffix.min(max_suffix);
    Some(Edit {
        range: prefix..old.len() - suffix,
        new_text: new[prefix..new.len() - suffix].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, edits: &[Edit]) -> String {
        crate::ide::apply_edits(text, edits)
    }

    #[test]
    fn sorts_keys_normalizes_spacing_and_keeps_comments() {
        let text = "# header comment\n[meta]\nversion=\"1\"   \n# the name\nname  =   \"x\" # trailing\n\n[[scenario]]\nrun = \"echo\"\nname = \"a\"";
        let out = format(text).unwrap();
        assert_eq!(
            out,
            "# header comment\n[meta]\n# the name\nname = \"x\" # trailing\nversion = \"1\"\n\n[[scenario]]\nname = \"a\"\nrun = \"echo\"\n"
        );
        assert_eq!(format(&out).unwrap(), out, "idempotent");
    }

    #[test]
    fn keeps_multiline_string_content() {
        let text = "[meta]\nname = \"x\"\ndescription = \"\"\"\nline with spaces   \n\"\"\"\n";
        let out = format(text).unwrap();
        assert!(out.contains("line with spaces   \n"), "{out}");
    }

    #[test]
    fn templates_only_change_whitespace_outside_tags() {
        let text =
            "[meta]   \nname = \"{{ svc }}\"  \n{% if x %}  \nversion=\"1\"\n{% endif %}\n\n\n";
        let out = format(text).unwrap();
        assert_eq!(
            out,
            "[meta]\nname = \"{{ svc }}\"\n{% if x %}\nversion=\"1\"\n{% endif %}\n"
        );
        let tag_ws = "a = \"{{ x   \n }}\"\n";
        assert_eq!(
            format(tag_ws).unwrap(),
            tag_ws,
            "whitespace inside a tag is kept"
        );
    }

    #[test]
    fn refuses_broken_toml_and_handles_empty_and_multibyte() {
        assert!(matches!(format("[meta\n"), Err(FormatError::Syntax(_))));
        assert_eq!(format("").unwrap(), "");
        let text = "[meta]\nname = \"é😀\"  \n";
        assert_eq!(format(text).unwrap(), "[meta]\nname = \"é😀\"\n");
        // A template with a non-ASCII character outside its tags (a panic once).
        let tpl = "# a → b   \n[meta]\nname = \"{{ x }} → é\"   \n{% if x %}\n# ✓\n{% endif %}\n";
        let out = format(tpl).unwrap();
        assert!(
            out.contains("# a → b\n") && out.contains("{{ x }} → é\""),
            "{out:?}"
        );
        assert_eq!(apply(tpl, &format_edits(tpl).unwrap()), out);
    }

    #[test]
    fn edits_reproduce_the_formatted_text() {
        let text = "[b]\nz=1\na=2\n";
        let edits = format_edits(text).unwrap();
        assert_eq!(apply(text, &edits), format(text).unwrap());
        assert!(format_edits(&format(text).unwrap()).unwrap().is_empty());
    }

    #[test]
    fn range_formatting_never_touches_outside_the_range() {
        let text = "[a]\nz = 1   \ny = 2\n[b]\nk = 1   \n";
        let second = text.find("[b]").unwrap();
        let edits = format_range_edits(text, second..text.len()).unwrap();
        let out = apply(text, &edits);
        assert!(out.starts_with("[a]\nz = 1   \ny = 2\n"), "{out:?}");
        assert!(out.ends_with("k = 1\n"));
    }
}
