//! Where a cursor stands in a template: inside a Tera tag, on a header, on a key or a value.

use std::ops::Range;

/// The Tera tag around an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeraTag {
    /// The whole tag, delimiters included.
    pub range: Range<usize>,
    /// `{{`, `{%` or `{#`.
    pub open: &'static str,
}

/// The tag starting exactly at `at` (`{{ … }}`, `{% … %}`, `{# … #}`), skipping string
/// literals inside expressions; unterminated tags run to the end of the text.
pub fn tera_tag_at_start(text: &str, at: usize) -> Option<Range<usize>> {
    let rest = text.get(at..)?;
    let close = if rest.starts_with("{{") {
        "}}"
    } else if rest.starts_with("{%") {
        "%}"
    } else if rest.starts_with("{#") {
        "#}"
    } else {
        return None;
    };
    let bytes = rest.as_bytes();
    let mut i = 2;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if close != "#}" && matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
            // Bytes, not `str`: `i` may be inside a multi-byte character (`{# → #}`).
            None if bytes[i..].starts_with(close.as_bytes()) => return Some(at..at + i + 2),
            None => {}
        }
        i += 1;
    }
    Some(at..text.len())
}

/// The Tera tag containing `offset` (between its delimiters, or touching its end).
pub fn tera_tag_at(text: &str, offset: usize) -> Option<TeraTag> {
    let offset = offset.min(text.len());
    // Tags never nest: scan tags from the start of the line range that could hold one.
    let mut i = 0;
    while let Some(found) = text[i..].find('{').map(|f| f + i) {
        if found > offset {
            return None;
        }
        if let Some(range) = tera_tag_at_start(text, found) {
            if offset > range.start && offset <= range.end {
                let open = match &text[found..found + 2] {
                    "{{" => "{{",
                    "{%" => "{%",
                    _ => "{#",
                };
                return Some(TeraTag { range, open });
            }
            i = range.end.max(found + 1);
        } else {
            i = found + 1;
        }
    }
    None
}

/// The identifier-ish word (letters, digits, `_`, `.`, `:`) around `offset`.
pub fn word_at(text: &str, offset: usize) -> Option<Range<usize>> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == ':' || c == '-';
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let start = text[..offset].rfind(|c: char| !is_word(c)).map_or(0, |i| {
        i + text[i..].chars().next().map_or(1, char::len_utf8)
    });
    let end = text[offset..]
        .find(|c: char| !is_word(c))
        .map_or(text.len(), |i| offset + i);
    (start < end).then_some(start..end)
}

/// The header path in force at `offset`: the last `[a.b]` / `[[a.b]]` header above it.
/// Returns the dotted path and whether it is an array-of-tables header.
pub fn table_path_at(text: &str, offset: usize) -> (Vec<String>, bool) {
    let before = &text[..offset.min(text.len())];
    for line in before.lines().rev() {
        let t = line.trim_start();
        if let Some(inner) = t.strip_prefix("[[").and_then(|s| s.split("]]").next()) {
            return (split_key(inner), true);
        }
        if let Some(inner) = t.strip_prefix('[').and_then(|s| s.split(']').next()) {
            if !t.contains('=') {
                return (split_key(inner), false);
            }
        }
    }
    (Vec::new(), false)
}

fn split_key(inner: &str) -> Vec<String> {
    inner
        .split('.')
        .map(|p| p.trim().trim_matches(['"', '\'']).to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The line containing `offset`, its start offset, and the text before the cursor on it.
pub fn line_at(text: &str, offset: usize) -> (usize, &str) {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    (start, &text[start..offset])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tags_around_offsets() {
        let text = "a = \"{{ x | upper }}\" {% if \"%}\" %}";
        let x = text.find('x').unwrap();
        let tag = tera_tag_at(text, x).unwrap();
        assert_eq!(&text[tag.range.clone()], "{{ x | upper }}");
        assert_eq!(tag.open, "{{");
        let inside_if = text.find("if").unwrap();
        assert_eq!(
            &text[tera_tag_at(text, inside_if).unwrap().range],
            "{% if \"%}\" %}"
        );
        assert!(tera_tag_at(text, 1).is_none());
        assert!(tera_tag_at("{{ open", 4).is_some());
        assert!(tera_tag_at("", 0).is_none());
        // Multi-byte characters inside a tag (a panic once, found by the fuzzer).
        for t in ["{# a → b #}", "{{ \"é\" ~ é }}", "{% → %}"] {
            assert_eq!(tera_tag_at_start(t, 0), Some(0..t.len()), "{t}");
        }
    }

    #[test]
    fn header_paths_and_words() {
        let text = "[meta]\nname = 1\n[[scenario]]\nname = \"a\"\n[service.\"db\"]\nim";
        assert_eq!(table_path_at(text, 10), (vec!["meta".to_string()], false));
        assert_eq!(
            table_path_at(text, 35),
            (vec!["scenario".to_string()], true)
        );
        assert_eq!(table_path_at(text, text.len()).0, ["service", "db"]);
        let w = word_at("x = é_name", 8).unwrap();
        assert_eq!(&"x = é_name"[w], "é_name");
    }
}
