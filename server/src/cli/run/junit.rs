//! JUnit XML for CI test reports: `<testsuites>` > a `<testsuite>` per file > a `<testcase>`
//! per scenario. Failed and timed-out runs are `<failure>`, run errors and files that could
//! not run are `<error>`, cancelled runs `<skipped/>`. Times are in seconds.

use std::fmt::Write as _;

use super::format::{failure_position, plain};
use super::{FileOutcome, RunReport};
use crate::cli::output::{slash_path, Locator};
use crate::runs::expect::ExpectationFailure;
use crate::runs::result::{RunResult, RunStatus};

/// One `<testsuite>`: a file's scenarios, or a file that could not run.
pub struct Suite {
    pub name: String,
    /// `(reason, details)` of a file that could not run.
    pub invalid: Option<(String, String)>,
    pub cases: Vec<Case>,
}

/// One `<testcase>`: a scenario's result as JUnit shows it.
pub struct Case {
    pub name: String,
    pub status: RunStatus,
    pub duration_ms: u64,
    pub reason: String,
    pub details: String,
    pub stdout: String,
    pub stderr: String,
}

impl Case {
    /// `place` gives an unmet expectation's `file:line:column: ` in the template (or "").
    pub fn of(r: &RunResult, place: &dyn Fn(&ExpectationFailure) -> String) -> Case {
        Case {
            name: r.scenario.clone(),
            status: r.status,
            duration_ms: r.duration_ms,
            reason: r.short_reason(),
            details: r
                .failures
                .iter()
                .map(|f| format!("{}{}", place(f), f.message()))
                .chain(r.error.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            stdout: r.stdout_tail.clone(),
            stderr: r.stderr_tail.clone(),
        }
    }
}

pub fn render(report: &RunReport) -> String {
    let suites: Vec<Suite> = report
        .files
        .iter()
        .map(|f| {
            let name = slash_path(&f.path);
            match &f.outcome {
                FileOutcome::Invalid {
                    reason,
                    diagnostics,
                } => {
                    let loc = Locator::new(&f.text);
                    let mut details = String::new();
                    for d in diagnostics {
                        let p = loc.position(d.range.start);
                        let _ = writeln!(
                            details,
                            "{name}:{}:{}: {}[{}]: {}",
                            p.line,
                            p.column,
                            d.severity.as_str(),
                            d.code,
                            d.message
                        );
                    }
                    Suite {
                        name,
                        invalid: Some((reason.clone(), details)),
                        cases: Vec::new(),
                    }
                }
                FileOutcome::Ran {
                    results, rendered, ..
                } => {
                    // Each unmet expectation placed in the template (a step's on its step).
                    let loc = Locator::new(&f.text);
                    let doc = toml_edit::Document::parse(rendered.text.clone()).ok();
                    let place = |x: &ExpectationFailure| {
                        failure_position(x, doc.as_ref(), rendered, &loc)
                            .map(|(line, column)| format!("{name}:{line}:{column}: "))
                            .unwrap_or_default()
                    };
                    Suite {
                        cases: results.iter().map(|(_, r)| Case::of(r, &place)).collect(),
                        name,
                        invalid: None,
                    }
                }
            }
        })
        .collect();
    render_suites(&suites, report.summary().duration_ms)
}

/// The document of `suites` (also what `report merge --format junit` prints).
pub fn render_suites(suites: &[Suite], duration_ms: u64) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all = || suites.iter().flat_map(|s| &s.cases);
    let count = |cases: &mut dyn Iterator<Item = &Case>, want: &[RunStatus]| {
        cases.filter(|c| want.contains(&c.status)).count()
    };
    let not_run = suites.iter().filter(|s| s.invalid.is_some()).count();
    let errors_total = not_run + count(&mut all(), &[RunStatus::Error]);
    let failures_total = count(&mut all(), &[RunStatus::Failed, RunStatus::TimedOut]);
    let tests_total = all().count() + not_run;
    let _ = writeln!(
        out,
        "<testsuites name=\"clnrm\" tests=\"{tests_total}\" failures=\"{failures_total}\" errors=\"{errors_total}\" skipped=\"{}\" time=\"{}\">",
        count(&mut all(), &[RunStatus::Cancelled]),
        secs(duration_ms)
    );
    for suite in suites {
        let name = escape(&suite.name);
        if let Some((reason, details)) = &suite.invalid {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{name}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">"
            );
            let _ = writeln!(
                out,
                "    <testcase name=\"(file)\" classname=\"{name}\" time=\"0.000\">\n      <error message=\"{}\" type=\"invalid\">{}</error>\n    </testcase>",
                escape(reason),
                escape(details)
            );
            out.push_str("  </testsuite>\n");
            continue;
        }
        let cases = &suite.cases;
        let time: u64 = cases.iter().map(|c| c.duration_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
            cases.len(),
            count(&mut cases.iter(), &[RunStatus::Failed, RunStatus::TimedOut]),
            count(&mut cases.iter(), &[RunStatus::Error]),
            count(&mut cases.iter(), &[RunStatus::Cancelled]),
            secs(time)
        );
        for c in cases {
            testcase(&mut out, &name, c);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, suite: &str, c: &Case) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{suite}\" time=\"{}\">",
        escape(&c.name),
        secs(c.duration_ms)
    );
    let reason = escape(&c.reason);
    let details = escape(&c.details);
    match c.status {
        RunStatus::Passed => {}
        RunStatus::Cancelled => out.push_str("      <skipped message=\"cancelled\"/>\n"),
        RunStatus::Error => {
            let _ = writeln!(
                out,
                "      <error message=\"{reason}\" type=\"error\">{details}</error>"
            );
        }
        RunStatus::Failed | RunStatus::TimedOut => {
            let kind = if c.status == RunStatus::TimedOut {
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
    if !c.stdout.is_empty() {
        let _ = writeln!(out, "      <system-out>{}</system-out>", escape(&c.stdout));
    }
    if !c.stderr.is_empty() {
        let _ = writeln!(out, "      <system-err>{}</system-err>", escape(&c.stderr));
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
