//! JUnit XML for CI test reports: `<testsuites>` > a `<testsuite>` per file > a `<testcase>`
//! per scenario. Failed and timed-out runs are `<failure>`, run errors and files that could
//! not run are `<error>`, cancelled runs `<skipped/>`. Times are in seconds.

use std::fmt::Write as _;

use super::format::{failure_position, plain};
use super::{FileOutcome, RunReport};
use crate::cli::output::{slash_path, Locator};
use crate::runs::expect::ExpectationFailure;
use crate::runs::result::{RunResult, RunStatus};

pub fn render(report: &RunReport) -> String {
    let s = report.summary();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let errors_total: usize = report
        .files
        .iter()
        .map(|f| match &f.outcome {
            FileOutcome::Invalid { .. } => 1,
            FileOutcome::Ran { results, .. } => results
                .iter()
                .filter(|(_, r)| r.status == RunStatus::Error)
                .count(),
        })
        .sum();
    let failures_total: usize = report
        .files
        .iter()
        .map(|f| match &f.outcome {
            FileOutcome::Invalid { .. } => 0,
            FileOutcome::Ran { results, .. } => results
                .iter()
                .filter(|(_, r)| matches!(r.status, RunStatus::Failed | RunStatus::TimedOut))
                .count(),
        })
        .sum();
    let tests_total = s.scenarios + s.files_not_run;
    let _ = writeln!(
        out,
        "<testsuites name=\"clnrm\" tests=\"{tests_total}\" failures=\"{failures_total}\" errors=\"{errors_total}\" skipped=\"{}\" time=\"{}\">",
        s.cancelled,
        secs(s.duration_ms)
    );
    for f in &report.files {
        let name = escape(&slash_path(&f.path));
        match &f.outcome {
            FileOutcome::Invalid {
                reason,
                diagnostics,
            } => {
                let _ = writeln!(
                    out,
                    "  <testsuite name=\"{name}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">"
                );
                let loc = Locator::new(&f.text);
                let mut details = String::new();
                for d in diagnostics {
                    let p = loc.position(d.range.start);
                    let _ = writeln!(
                        details,
                        "{}:{}:{}: {}[{}]: {}",
                        slash_path(&f.path),
                        p.line,
                        p.column,
                        d.severity.as_str(),
                        d.code,
                        d.message
                    );
                }
                let _ = writeln!(
                    out,
                    "    <testcase name=\"(file)\" classname=\"{name}\" time=\"0.000\">\n      <error message=\"{}\" type=\"invalid\">{}</error>\n    </testcase>",
                    escape(reason),
                    escape(&details)
                );
                out.push_str("  </testsuite>\n");
            }
            FileOutcome::Ran {
                results, rendered, ..
            } => {
                // Each unmet expectation placed in the template (a step's on its step).
                let loc = Locator::new(&f.text);
                let doc = toml_edit::Document::parse(rendered.text.clone()).ok();
                let file = slash_path(&f.path);
                let place = |x: &ExpectationFailure| {
                    failure_position(x, doc.as_ref(), rendered, &loc)
                        .map(|(line, column)| format!("{file}:{line}:{column}: "))
                        .unwrap_or_default()
                };
                let count = |want: &[RunStatus]| {
                    results
                        .iter()
                        .filter(|(_, r)| want.contains(&r.status))
                        .count()
                };
                let time: u64 = results.iter().map(|(_, r)| r.duration_ms).sum();
                let _ = writeln!(
                    out,
                    "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
                    results.len(),
                    count(&[RunStatus::Failed, RunStatus::TimedOut]),
                    count(&[RunStatus::Error]),
                    count(&[RunStatus::Cancelled]),
                    secs(time)
                );
                for (_, r) in results {
                    testcase(&mut out, &name, r, &place);
                }
                out.push_str("  </testsuite>\n");
            }
        }
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(
    out: &mut String,
    suite: &str,
    r: &RunResult,
    place: &dyn Fn(&ExpectationFailure) -> String,
) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{suite}\" time=\"{}\">",
        escape(&r.scenario),
        secs(r.duration_ms)
    );
    let reason = escape(&r.short_reason());
    let details = escape(
        &r.failures
            .iter()
            .map(|f| format!("{}{}", place(f), f.message()))
            .chain(r.error.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    match r.status {
        RunStatus::Passed => {}
        RunStatus::Cancelled => out.push_str("      <skipped message=\"cancelled\"/>\n"),
        RunStatus::Error => {
            let _ = writeln!(
                out,
                "      <error message=\"{reason}\" type=\"error\">{details}</error>"
            );
        }
        RunStatus::Failed | RunStatus::TimedOut => {
            let kind = if r.status == RunStatus::TimedOut {
                "timed_out"
            } else {
                "failed"
            };
            let _ = writeln!(
                out,
                "      <failure message=\"{reason}\" type=\"{kind}\">{details}</failure>"
            );
        }
    }
    if !r.stdout_tail.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            escape(&r.stdout_tail)
        );
    }
    if !r.stderr_tail.is_empty() {
        let _ = writeln!(
            out,
            "      <system-err>{}</system-err>",
            escape(&r.stderr_tail)
        );
    }
    out.push_str("    </testcase>\n");
}

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Escape for text and attribute values. Terminal escapes and control characters (which
/// XML 1.0 forbids) are dropped so the report always parses.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in plain(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_forbidden_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\x1b[31mred\x1b[0m\x07"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;red"
        );
    }
}
