//! The terminal format, after rustc and ruff:
//!
//! ```text
//! tests/a.clnrm.toml:3:5: error[toml-syntax]: invalid key
//!   |
//! 3 | foo bar = 1
//!   |     ^^^
//!   = help: rename to `bar`
//! ```

use std::fmt::Write as _;
use std::path::Path;

use anstyle::{AnsiColor, Style};

use super::Locator;
use crate::analysis::{Diagnostic, Severity};
use crate::workspace::check::{CheckOutcome, Summary};

/// Tabs are shown as this many spaces so the caret line lines up.
const TAB: &str = "    ";

/// How a character of the source or of a message reaches the terminal: a tab as spaces,
/// control characters (C0 but tab, DEL, C1) as visible `\u{1b}` text, so a file cannot
/// move the cursor, retitle the window or recolour the output.
fn shown_char(c: char, out: &mut String) {
    match c {
        '\t' => out.push_str(TAB),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `text` as [`shown_char`] shows it (newlines in messages stay newlines).
pub(crate) fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    // Control characters are C0 and DEL bytes, or C1 (`0xC2 0x80..=0x9F` in UTF-8): text
    // without those bytes is shown as it is, without decoding each character.
    let may_control = |b: u8| (b < 0x20 && b != b'\n') | (b == 0x7f) | (b == 0xc2);
    // By blocks without an early exit, which the compiler turns into vector compares.
    let any_may = text
        .as_bytes()
        .chunks(32)
        .any(|block| block.iter().fold(false, |found, &b| found | may_control(b)));
    if !any_may || !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\n' {
            out.push(c);
        } else {
            shown_char(c, &mut out);
        }
    }
    out.into()
}

/// Columns `c` takes once shown (as [`shown_char`] writes it; no allocation: this runs
/// for every character before and under each caret).
fn shown_width(c: char) -> usize {
    match c {
        '\t' => TAB.len(),
        // `\u{` + hex digits + `}`
        c if c.is_control() => 4 + (32 - (c as u32 | 1).leading_zeros()).div_ceil(4) as usize,
        _ => 1,
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// Emit ANSI colours.
    pub color: bool,
}

/// The CLI's colours (all plain without colour).
pub(crate) struct Palette {
    pub error: Style,
    pub warning: Style,
    pub info: Style,
    pub ok: Style,
    pub bold: Style,
    pub gutter: Style,
}

impl Palette {
    pub fn new(color: bool) -> Self {
        if !color {
            let plain = Style::new();
            return Self {
                error: plain,
                warning: plain,
                info: plain,
                ok: plain,
                bold: plain,
                gutter: plain,
            };
        }
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into())).bold();
        Self {
            error: fg(AnsiColor::Red),
            warning: fg(AnsiColor::Yellow),
            info: fg(AnsiColor::Cyan),
            ok: fg(AnsiColor::Green),
            bold: Style::new().bold(),
            gutter: fg(AnsiColor::Blue),
        }
    }

    fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Information | Severity::Hint => self.info,
        }
    }
}

pub fn render(outcome: &CheckOutcome, opts: &HumanOptions) -> String {
    let mut out = String::new();
    for file in &outcome.files {
        out.push_str(&render_diagnostics(
            &file.path,
            &file.text,
            &file.diagnostics,
            opts,
        ));
    }
    out.push_str(&summary(&outcome.summary(), opts));
    out
}

/// The closing summary line, in bold on a terminal.
pub fn summary(s: &Summary, opts: &HumanOptions) -> String {
    let p = Palette::new(opts.color);
    format!("{}{}{:#}\n", p.bold, summary_line(s), p.bold)
}

/// Every diagnostic of one file, each followed by a blank line.
///
/// Written piece by piece rather than through `format!`: with a few thousand findings
/// in a run, formatting machinery and per-finding allocations were most of this.
pub fn render_diagnostics(
    path: &Path,
    text: &str,
    diagnostics: &[Diagnostic],
    opts: &HumanOptions,
) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let p = Palette::new(opts.color);
    // Each style's codes rendered once (nothing without colour), not once per use.
    let codes = |s: Style| (s.render().to_string(), s.render_reset().to_string());
    let (bold, bold_off) = codes(p.bold);
    let (gutter, gutter_off) = codes(p.gutter);
    let by_severity =
        [Severity::Error, Severity::Warning, Severity::Information].map(|s| codes(p.severity(s)));
    let loc = Locator::new(text);
    let shown = path.display().to_string();
    let shown = visible(&shown);
    let (mut line_digits, mut digits) = (itoa::Buffer::new(), itoa::Buffer::new());
    let mut out = String::with_capacity(diagnostics.len() * 256);
    for d in diagnostics {
        let span = loc.span(&d.range);
        let (sev, sev_off) = &by_severity[match d.severity {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Information | Severity::Hint => 2,
        }];
        let number = line_digits.format(span.start.line);
        for piece in [&bold, &*shown, ":", number, ":"] {
            out.push_str(piece);
        }
        for piece in [digits.format(span.start.column), ":", &bold_off, " ", sev] {
            out.push_str(piece);
        }
        for piece in [
            d.severity.as_str(),
            "[",
            d.code.as_str(),
            "]",
            sev_off,
            ": ",
            &bold,
        ] {
            out.push_str(piece);
        }
        out.push_str(&visible(&d.message));
        out.push_str(&bold_off);
        out.push('\n');

        let line = loc.line_text(span.start.line);
        let pad = spaces(number.len());
        for piece in [&gutter, pad, " |", &gutter_off, "\n", &gutter, number, " |"] {
            out.push_str(piece);
        }
        out.push_str(&gutter_off);
        out.push(' ');
        // Most lines are printable ASCII: one character per column, shown as they are.
        let plain = line.bytes().all(|b| (0x20..0x7f).contains(&b));
        if plain {
            out.push_str(line);
        } else {
            line.chars().for_each(|c| shown_char(c, &mut out));
        }
        out.push('\n');
        let start_col = span.start.column as usize - 1;
        let end_col = if span.end.line == span.start.line {
            span.end.column as usize - 1
        } else {
            line.chars().count()
        };
        let (indent, width) = if plain {
            let start = start_col.min(line.len());
            (start, end_col.min(line.len()).saturating_sub(start))
        } else {
            let indent: usize = line.chars().take(start_col).map(shown_width).sum();
            let width: usize = line
                .chars()
                .skip(start_col)
                .take(end_col.saturating_sub(start_col))
                .map(shown_width)
                .sum();
            (indent, width)
        };
        for piece in [&gutter, pad, " |", &gutter_off, " "] {
            out.push_str(piece);
        }
        push_repeated(&mut out, ' ', indent);
        out.push_str(sev);
        push_repeated(&mut out, '^', width.max(1));
        out.push_str(sev_off);
        out.push('\n');
        if let Some(fix) = &d.fix {
            let _ = writeln!(
                out,
                "{gutter}{pad} ={gutter_off} {bold}help{bold_off}: {}",
                visible(&fix.title)
            );
        }
        for r in &d.related {
            let (file, span) = super::related_place(r, &loc);
            let at = span.start;
            let file = file.map_or_else(|| shown.to_string(), |f| f.display().to_string());
            let _ = writeln!(
                out,
                "{gutter}{pad} ={gutter_off} {bold}note{bold_off}: {}:{}:{}: {}",
                visible(&file),
                at.line,
                at.column,
                visible(&r.message)
            );
        }
        out.push('\n');
    }
    out
}

/// `n` spaces (the gutter's padding is as wide as a line number: at most 20 digits).
fn spaces(n: usize) -> &'static str {
    const SPACES: &str = "                    ";
    &SPACES[..n.min(SPACES.len())]
}

/// `c` (ASCII) `n` times.
fn push_repeated(out: &mut String, c: char, n: usize) {
    debug_assert!(c.is_ascii());
    out.reserve(n);
    for _ in 0..n {
        out.push(c);
    }
}

/// "2 errors, 1 warning in 3 files" (and the informational count when there is one).
pub fn summary_line(s: &Summary) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "{}, {}",
        plural(s.errors, "error", "errors"),
        plural(s.warnings, "warning", "warnings")
    );
    if s.infos > 0 {
        line.push_str(", ");
        line.push_str(&plural(s.infos, "info", "infos"));
    }
    line.push_str(" in ");
    line.push_str(&plural(s.files, "file", "files"));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Code, Edit, Fix};

    #[test]
    fn a_characters_width_is_what_it_is_shown_as() {
        for c in [
            'a', 'é', '\t', '\0', '\u{1b}', '\u{7f}', '\u{9f}', '\u{85}', '中',
        ] {
            let mut shown = String::new();
            shown_char(c, &mut shown);
            assert_eq!(
                shown_width(c),
                shown.chars().count(),
                "{c:?} shown as {shown:?}"
            );
        }
    }

    #[test]
    fn underlines_the_range_in_characters() {
        let text = "[meta]\n\tnäme = 1\n";
        let start = text.find('n').unwrap();
        let d = Diagnostic::new(Code::UnknownKey, start..start + "näme".len(), "unknown key")
            .with_fix(Fix {
                title: "rename to `name`".into(),
                edits: vec![Edit {
                    range: start..start + 5,
                    new_text: "name".into(),
                }],
            })
            .with_related(0..6, "in this table");
        let out = render_diagnostics(Path::new("a.toml"), text, &[d], &HumanOptions::default());
        let expected = "a.toml:2:2: warning[unknown-key]: unknown key\n  |\n2 |     näme = 1\n  |     ^^^^\n  = help: rename to `name`\n  = note: a.toml:1:1: in this table\n\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn a_range_past_the_end_of_its_line_is_underlined_to_the_end() {
        // Plain ASCII lines take the fast path; the tab makes the second line take the slow one.
        for (text, shown) in [
            ("k = 12345\nx", "k = 12345"),
            ("k\t= 12345\nx", "k    = 12345"),
        ] {
            let start = text.find('1').unwrap();
            let d = Diagnostic::new(Code::InvalidValue, start..text.len(), "m");
            let out = render_diagnostics(Path::new("f"), text, &[d], &HumanOptions::default());
            let carets = " ".repeat(shown.find('1').unwrap()) + "^^^^^";
            assert!(
                out.contains(&format!("1 | {shown}\n  | {carets}\n")),
                "{out}"
            );
        }
    }

    #[test]
    fn empty_ranges_get_one_caret_and_colour_is_optional() {
        let d = Diagnostic::new(Code::TomlSyntax, 3..3, "boom");
        let plain = render_diagnostics(
            Path::new("f"),
            "abc",
            std::slice::from_ref(&d),
            &HumanOptions::default(),
        );
        assert!(plain.contains("1 | abc\n  |    ^\n"), "{plain}");
        assert!(!plain.contains('\x1b'));
        let coloured =
            render_diagnostics(Path::new("f"), "abc", &[d], &HumanOptions { color: true });
        assert!(coloured.contains("\x1b["));
    }

    #[test]
    fn control_characters_from_the_file_are_shown_not_sent() {
        // A window-title OSC, a colour CSI, a C1 CSI and DEL in a source line, quoted by
        // the message too.
        let text = "[meta]\nname\x1b]0;pwned\x07 = \"\x1b[31mred\u{9b}2J\x7f\"\n";
        let start = text.find("name").unwrap();
        let d = Diagnostic::new(
            Code::UnknownKey,
            start..start + 4,
            "unknown key `name\x1b]0;pwned\x07`",
        );
        let out = render_diagnostics(
            Path::new("a\x1b[2J.toml"),
            text,
            &[d],
            &HumanOptions::default(),
        );
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert_eq!(
            out,
            "a\\u{1b}[2J.toml:2:1: warning[unknown-key]: unknown key `name\\u{1b}]0;pwned\\u{7}`\n  |\n2 | name\\u{1b}]0;pwned\\u{7} = \"\\u{1b}[31mred\\u{9b}2J\\u{7f}\"\n  | ^^^^\n\n"
        );
        // Carets still line up after an escaped character.
        let at = text.find("red").unwrap();
        let d = Diagnostic::new(Code::UnknownKey, at..at + 3, "m");
        let out = render_diagnostics(Path::new("f"), text, &[d], &HumanOptions::default());
        let lines: Vec<&str> = out.lines().collect();
        let col = lines[2].find("red").unwrap();
        assert_eq!(lines[3].find('^'), Some(col), "{out}");
    }

    #[test]
    fn a_control_character_anywhere_in_a_long_text_is_shown() {
        for at in [0, 31, 32, 33, 64, 100] {
            let mut text = "x".repeat(101);
            text.replace_range(at..at + 1, "\x07");
            assert_eq!(visible(&text).matches("\\u{7}").count(), 1, "{at}");
            text.replace_range(at..at + 1, "\u{85}");
            assert!(visible(&text).contains("\\u{85}"), "{at}");
        }
        assert!(matches!(
            visible(&"é\n".repeat(40)),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn summary_pluralises() {
        let s = Summary {
            files: 1,
            errors: 2,
            warnings: 1,
            infos: 0,
        };
        assert_eq!(summary_line(&s), "2 errors, 1 warning in 1 file");
    }
}
