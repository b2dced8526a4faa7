//! Annotated fixtures for diagnostics tests, in rust-analyzer's style: the expected
//! diagnostics are TOML comments under the line they point at, carets under the text.
//!
//! ```toml
//!   [[scenario]]
//! # ^^^^^^^^^^^^ error[incomplete-scenario]
//! service = "dbb"
//! #         ^^^^^ error[undefined-service]: did you mean `db`?
//! ```
//!
//! An annotation line is `#`, then spaces, a run of `^`, a severity (`error`, `warning`,
//! `info`, `hint`), the code in brackets and optionally `: ` and a part of the message.
//! Carets count characters from the start of the line, so they cannot reach the first two
//! columns: indent the annotated line (TOML allows it). Several annotation lines in a row
//! all point at the last line above them that is not an annotation. The annotations stay
//! in the analysed text: they are comments, and every offset is the fixture's own.

use std::fmt::Write as _;

use super::Diagnostic;

/// `text` written indented inside a test: the first line break and the common
/// indentation of the lines removed.
pub fn fixture(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(line.get(indent..).unwrap_or(line.trim_start_matches(' ')));
    }
    out.trim_end_matches(' ').to_string()
}

/// One expected diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    /// Byte range in the fixture.
    range: std::ops::Range<usize>,
    severity: String,
    code: String,
    message: Option<String>,
}

/// Assert that `actual` are exactly the diagnostics annotated in `fixture` (each
/// annotation's message, when given, is a part of the diagnostic's).
#[track_caller]
pub fn assert_annotated(fixture: &str, actual: &[Diagnostic]) {
    let expected = parse(fixture);
    let mut unmatched: Vec<&Diagnostic> = actual.iter().collect();
    let mut missing = Vec::new();
    for e in &expected {
        let found = unmatched.iter().position(|d| {
            d.range == e.range
                && d.severity.as_str() == e.severity
                && d.code.as_str() == e.code
                && e.message.as_ref().is_none_or(|m| d.message.contains(m))
        });
        match found {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push(e),
        }
    }
    if missing.is_empty() && unmatched.is_empty() {
        return;
    }
    let mut report = String::new();
    for e in missing {
        let _ = writeln!(
            report,
            "expected, not reported: {}[{}] at {:?} {:?}{}",
            e.severity,
            e.code,
            e.range,
            &fixture[e.range.clone()],
            e.message
                .as_ref()
                .map(|m| format!(" with {m:?}"))
                .unwrap_or_default()
        );
    }
    for d in unmatched {
        let _ = writeln!(
            report,
            "reported, not annotated:\n{}",
            annotation_for(fixture, d)
        );
    }
    panic!("diagnostics differ from the annotations:\n{report}\nfixture:\n{fixture}");
}

/// The annotation that would describe `d`: its line and a caret line under it.
fn annotation_for(fixture: &str, d: &Diagnostic) -> String {
    let line_start = fixture[..d.range.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = fixture[line_start..]
        .find('\n')
        .map_or(fixture.len(), |i| line_start + i);
    let col = fixture[line_start..d.range.start].chars().count();
    let width = fixture[d.range.start..d.range.end.min(line_end).max(d.range.start)]
        .chars()
        .count()
        .max(1);
    format!(
        "  {}\n  #{}{} {}[{}]: {}",
        &fixture[line_start..line_end],
        " ".repeat(col.saturating_sub(1)),
        "^".repeat(width),
        d.severity.as_str(),
        d.code,
        d.message
    )
}

/// The annotations of `fixture`, with their byte ranges.
#[track_caller]
fn parse(fixture: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    // (byte offset, text) of the last line that is not an annotation.
    let mut target: Option<(usize, &str)> = None;
    let mut offset = 0;
    for line in fixture.split_inclusive('\n') {
        let text = line.trim_end_matches(['\n', '\r']);
        match annotation(text) {
            Some((carets, rest)) => {
                let (start, end) = carets;
                let (at, target_text) =
                    target.unwrap_or_else(|| panic!("annotation with no line above it: {text:?}"));
                let byte = |col: usize| {
                    target_text
                        .char_indices()
                        .map(|(i, _)| i)
                        .chain([target_text.len()])
                        .nth(col)
                        .unwrap_or_else(|| panic!("caret past the end of {target_text:?}"))
                };
                let (severity, code, message) = describe(rest)
                    .unwrap_or_else(|| panic!("annotation without `severity[code]`: {text:?}"));
                out.push(Expected {
                    range: at + byte(start)..at + byte(end),
                    severity,
                    code,
                    message,
                });
            }
            None => target = Some((offset, text)),
        }
        offset += line.len();
    }
    assert!(!out.is_empty(), "the fixture has no annotations");
    out
}

/// `# ^^^ rest` → ((first caret column, column after the last), rest), in characters.
fn annotation(line: &str) -> Option<((usize, usize), &str)> {
    let hash = line.find('#')?;
    if !line[..hash].trim().is_empty() {
        return None;
    }
    let after = &line[hash + 1..];
    let carets = after.trim_start_matches(' ');
    if !carets.starts_with('^') {
        return None;
    }
    let start = line[..line.len() - carets.len()].chars().count();
    let n = carets.chars().take_while(|&c| c == '^').count();
    Some(((start, start + n), carets[n..].trim()))
}

/// `error[code]: message part` → (severity, code, message part).
fn describe(rest: &str) -> Option<(String, String, Option<String>)> {
    let (severity, rest) = rest.split_once('[')?;
    let (code, rest) = rest.split_once(']')?;
    let message = rest
        .strip_prefix(':')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    Some((severity.trim().to_string(), code.to_string(), message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Code, Severity};

    fn diag(
        range: std::ops::Range<usize>,
        severity: Severity,
        code: Code,
        message: &str,
    ) -> Diagnostic {
        Diagnostic {
            range,
            severity,
            code,
            message: message.into(),
            related: Vec::new(),
            fix: None,
        }
    }

    const FIXTURE: &str = "  [meta]\n# ^^^^^^ error[missing-key]: `version`\n#   ^^ hint[toml-syntax]\nname = \"é x\"\n#         ^ warning[empty-value]\n";

    #[test]
    fn carets_become_byte_ranges_of_the_line_above() {
        let got = parse(FIXTURE);
        let name_line = FIXTURE.find("name").unwrap();
        let x = FIXTURE.find("é x").unwrap() + "é ".len();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].range, 2..8);
        assert_eq!(&FIXTURE[got[0].range.clone()], "[meta]");
        assert_eq!(got[0].message.as_deref(), Some("`version`"));
        assert_eq!(
            got[1].range,
            4..6,
            "stacked annotations point at the same line"
        );
        assert_eq!(got[1].message, None);
        // Columns count characters: `é` is two bytes.
        assert_eq!(got[2].range, x..x + 1, "{}", &FIXTURE[name_line..]);
        assert_eq!(
            (got[2].severity.as_str(), got[2].code.as_str()),
            ("warning", "empty-value")
        );
    }

    #[test]
    fn matching_diagnostics_pass() {
        let x = FIXTURE.find("é x").unwrap() + "é ".len();
        assert_annotated(
            FIXTURE,
            &[
                diag(x..x + 1, Severity::Warning, Code::EmptyValue, "empty"),
                diag(
                    2..8,
                    Severity::Error,
                    Code::MissingKey,
                    "missing `version` in [meta]",
                ),
                diag(4..6, Severity::Hint, Code::TomlSyntax, "anything"),
            ],
        );
    }

    #[test]
    #[should_panic(expected = "reported, not annotated")]
    fn an_unannotated_diagnostic_fails() {
        let x = FIXTURE.find("é x").unwrap() + "é ".len();
        assert_annotated(
            FIXTURE,
            &[
                diag(x..x + 1, Severity::Warning, Code::EmptyValue, "empty"),
                diag(2..8, Severity::Error, Code::MissingKey, "`version`"),
                diag(4..6, Severity::Hint, Code::TomlSyntax, ""),
                diag(0..1, Severity::Hint, Code::TomlSyntax, "extra"),
            ],
        );
    }

    #[test]
    #[should_panic(expected = "expected, not reported")]
    fn a_wrong_message_fails() {
        let x = FIXTURE.find("é x").unwrap() + "é ".len();
        assert_annotated(
            FIXTURE,
            &[
                diag(x..x + 1, Severity::Warning, Code::EmptyValue, "empty"),
                diag(2..8, Severity::Error, Code::MissingKey, "missing `name`"),
                diag(4..6, Severity::Hint, Code::TomlSyntax, ""),
            ],
        );
    }
}
