//! GitHub Actions workflow commands: one `::error file=…,line=…::message` line per
//! diagnostic, which the runner turns into annotations on the pull request.

use super::{slash_path, Locator};
use crate::analysis::Severity;
use crate::workspace::check::CheckOutcome;
use crate::workspace::FileReport;

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Information | Severity::Hint => "notice",
    }
}

/// Escaping of a command's message (GitHub's `escapeData`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a property value (GitHub's `escapeProperty`): also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(outcome: &CheckOutcome) -> String {
    outcome.files.iter().map(render_file).collect()
}

/// One file's workflow commands.
pub fn render_file(file: &FileReport) -> String {
    let mut out = String::new();
    {
        let loc = Locator::new(&file.text);
        let path = escape_property(&slash_path(&file.path));
        for d in &file.diagnostics {
            let span = loc.span(&d.range);
            out.push_str(&format!(
                "::{} file={path},line={},col={},endLine={},endColumn={},title={}::{}\n",
                command(d.severity),
                span.start.line,
                span.start.column,
                span.end.line,
                span.end.column,
                escape_property(d.code.as_str()),
                escape_data(&d.message),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_github_rules() {
        assert_eq!(escape_data("50%\r\na:b,c"), "50%25%0D%0Aa:b,c");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
