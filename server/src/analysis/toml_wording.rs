//! The TOML parser's wording for the slips people make, rewritten as what is wrong and
//! what to do: `name = t` is not an "invalid boolean", `x =` is not a string to quote.
//! Positions stay where the parser put them; a message with no rewrite is kept.

use std::ops::Range;

use super::Diagnostic;

/// Rewrite `d` (a `toml-syntax` finding in `text`) when its wording is the parser's.
pub fn reword(text: &str, d: &mut Diagnostic) {
    let at = d.range.start.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[line_start..line_end];
    let rest = &text[at..line_end];
    let word = bare_word(rest);
    let m = d.message.as_str();
    let new = if m.starts_with("invalid boolean") || m.starts_with("string values must be quoted") {
        if rest.trim().is_empty() || rest.trim_start().starts_with('#') {
            let key = line.split('=').next().unwrap_or("").trim();
            Some(format!(
                "`{key} =` has no value: write the value after `=` (a string goes in quotes)"
            ))
        } else if !word.is_empty() {
            Some(format!(
                "`{word}` is not a TOML value: quote a string (`\"{word}\"`), or write `true`/`false` for a boolean"
            ))
        } else {
            None
        }
    } else if m.starts_with("unexpected key or value") {
        let what = rest.trim_end();
        Some(format!(
            "unexpected `{}` after the value: a key/value pair ends its line, so put what follows on a line of its own (or remove it)",
            shorten(what)
        ))
    } else if m.starts_with("invalid float") || m.starts_with("invalid integer") {
        // The parser points into the number (`1.2` `.3`): the whole token is the value.
        let start = text[line_start..at]
            .rfind(|c: char| c.is_whitespace() || matches!(c, '=' | ',' | '[' | '{'))
            .map_or(line_start, |i| line_start + i + 1);
        let word = bare_word(&text[start..line_end]);
        (!word.is_empty()).then(|| {
            format!("`{word}` is not a number: quote it (`\"{word}\"`) to make it a string")
        })
    } else if m.starts_with("key with no value") {
        let key_part = line[..at - line_start].trim();
        if !key_part.is_empty() && !key_part.contains('=') && !word.is_empty() {
            Some(format!(
                "a bare key cannot contain spaces: quote it (`\"{key_part} {word}\" = …`) or join the words with `_` or `-`"
            ))
        } else {
            Some(format!(
                "`{}` has no value: write `{} = …`",
                line.trim(),
                line.trim()
            ))
        }
    } else if m.starts_with("unclosed array table") {
        Some("this `[[…]]` header is not closed: end it with `]]`".to_string())
    } else if m.starts_with("unclosed table") {
        Some("this `[…]` header is not closed: end it with `]`".to_string())
    } else if m.starts_with("missing escaped value") || m.starts_with("invalid escape") {
        let esc = text
            .get(at.saturating_sub(1)..next_char_end(text, at))
            .unwrap_or("\\");
        Some(format!(
            "`{esc}` is not an escape TOML knows: write `\\\\` for a backslash, or use a literal string `'…'`, where `\\` is plain text"
        ))
    } else if m.starts_with("invalid multi-line basic string") {
        Some("this `\"\"\"` string is never closed: end it with `\"\"\"`".to_string())
    } else if m.starts_with("invalid multi-line literal string") {
        Some("this `'''` string is never closed: end it with `'''`".to_string())
    } else {
        m.strip_suffix(", expected nothing").map(str::to_string)
    };
    if let Some(new) = new {
        d.message = new;
    }
}

/// A table `[name]` header defined a second time: where the first one is.
pub fn first_header(text: &str, before: usize, name: &str) -> Option<Range<usize>> {
    let mut offset = 0;
    for line in text[..before.min(text.len())].split_inclusive('\n') {
        let t = line.trim();
        if let Some(inner) = t.strip_prefix('[').and_then(|t| t.split(']').next()) {
            if !t.starts_with("[[") && inner.trim() == name {
                let indent = line.len() - line.trim_start().len();
                return Some(offset + indent..offset + indent + t.find(']').map_or(1, |i| i + 1));
            }
        }
        offset += line.len();
    }
    None
}

/// The run of non-space, non-delimiter characters at the start of `rest`.
fn bare_word(rest: &str) -> &str {
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}' | '#' | '='))
        .unwrap_or(rest.len());
    &rest[..end]
}

fn next_char_end(text: &str, at: usize) -> usize {
    text[at.min(text.len())..]
        .chars()
        .next()
        .map_or(text.len(), |c| at + c.len_utf8())
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 30 {
        let cut: String = s.chars().take(30).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{analyze_uncached, Code, Environment, FileKind};

    fn message(text: &str) -> String {
        let a = analyze_uncached(text, FileKind::Test, Vec::new(), &Environment::empty());
        a.diagnostics
            .into_iter()
            .find(|d| d.code == Code::TomlSyntax)
            .unwrap_or_else(|| panic!("no syntax error in {text}"))
            .message
    }

    const HEAD: &str = "[meta]\nname = \"t\"\nversion = \"1\"\n";

    #[test]
    fn an_unquoted_word_is_not_an_invalid_boolean() {
        assert_eq!(
            message("[meta]\nname = t\n"),
            "`t` is not a TOML value: quote a string (`\"t\"`), or write `true`/`false` for a boolean"
        );
        assert!(message(&format!("{HEAD}x = foo\n")).starts_with("`foo` is not a TOML value"));
    }

    #[test]
    fn a_missing_value_says_so() {
        assert_eq!(
            message(&format!("{HEAD}x =\n")),
            "`x =` has no value: write the value after `=` (a string goes in quotes)"
        );
    }

    #[test]
    fn two_pairs_on_one_line_say_where_the_line_should_end() {
        let m = message("[meta]\nname = \"t\" version = \"1\"\n");
        assert!(
            m.starts_with("unexpected `version = \"1\"` after the value"),
            "{m}"
        );
    }

    #[test]
    fn a_version_like_number_says_to_quote_it() {
        assert_eq!(
            message("[meta]\nname = \"t\"\nversion = 1.2.3\n"),
            "`1.2.3` is not a number: quote it (`\"1.2.3\"`) to make it a string"
        );
    }

    #[test]
    fn a_key_with_a_space_says_to_quote_it() {
        let m = message(&format!("{HEAD}bad key = 1\n"));
        assert!(m.starts_with("a bare key cannot contain spaces"), "{m}");
    }

    #[test]
    fn headers_escapes_and_strings_are_named() {
        assert!(message("[meta\nname = \"t\"\n").contains("header is not closed: end it with `]`"));
        assert!(message(&format!("{HEAD}[[scenario]\n")).contains("end it with `]]`"));
        let m = message("[meta]\nname = \"t\\q\"\n");
        assert!(m.starts_with("`\\q` is not an escape TOML knows"), "{m}");
        assert!(message(&format!("{HEAD}x = \"\"\"abc\n")).contains("never closed"));
        assert!(!message(&format!("{HEAD}x = 1_000_\n")).contains("expected nothing"));
    }

    #[test]
    fn a_table_defined_twice_points_at_the_first() {
        let text = format!("{HEAD}[service.a]\nimage = \"x\"\n[service.a]\nimage = \"y\"\n");
        let a = analyze_uncached(&text, FileKind::Test, Vec::new(), &Environment::empty());
        let d = a
            .diagnostics
            .iter()
            .find(|d| d.code == Code::TomlSyntax)
            .unwrap();
        assert!(
            d.message
                .starts_with("table `[service.a]` is defined twice"),
            "{}",
            d.message
        );
        assert_eq!(&text[d.related[0].range.clone()], "[service.a]");
    }
}
