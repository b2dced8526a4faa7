//! Tera's (pest's) parse errors as diagnostics: its `--> line:column` turned into a byte
//! offset, its `= expected …` lines into the message.

use crate::analysis::{Code, Diagnostic};

/// A Tera (pest) error as a diagnostic at its byte offset (relative to `text`).
pub fn tera_error(text: &str, err: &tera::Error) -> Diagnostic {
    let full = error_text(err);
    let (range, message) = match pest_position(&full) {
        Some((line, col)) => {
            let at = offset_of(text, line, col);
            (at..next_char_end(text, at), pest_message(&full))
        }
        None => (
            0..first_line_end(text),
            full.lines().next().unwrap_or("").to_string(),
        ),
    };
    Diagnostic::new(Code::TeraSyntax, range, message)
}

/// The whole chain's text (Tera wraps the pest error in `Failed to parse …`).
fn error_text(err: &tera::Error) -> String {
    let mut s = err.to_string();
    let mut cur = std::error::Error::source(err);
    while let Some(c) = cur {
        s.push('\n');
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `--> L:C` in a pest error message.
pub fn pest_position(msg: &str) -> Option<(usize, usize)> {
    let i = msg.find("--> ")?;
    let rest = &msg[i + 4..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ':'))?;
    let (l, c) = rest[..end].split_once(':')?;
    Some((l.parse().ok()?, c.parse().ok()?))
}

/// The `= expected …` part of a pest error, without the source excerpt.
pub fn pest_message(msg: &str) -> String {
    let parts: Vec<&str> = msg
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("= "))
        .collect();
    if parts.is_empty() {
        msg.lines().next().unwrap_or("").to_string()
    } else {
        parts.join("; ")
    }
}

/// Byte offset of 1-based line and (character) column.
pub fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..];
    line_text
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(text.len(), |(i, _)| start + i)
        .min(start + line_text.find('\n').unwrap_or(line_text.len()))
}

pub(super) fn next_char_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|s| s.chars().next())
        .map_or(at, |c| at + c.len_utf8())
}

pub(super) fn first_line_end(text: &str) -> usize {
    text.find('\n').unwrap_or(text.len())
}
