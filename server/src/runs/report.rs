//! Run results as users read them: lens titles and diagnostics placed in the template
//! (the scenario's header; each unmet expectation on its own table or key).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::expect::ExpectationFailure;
use super::plan;
use super::project::Project;
use super::result::{RunResult, RunStatus};
use super::runner::{RunState, Runner};
use crate::analysis::{Analysis, Code, Diagnostic, Rendered};
use crate::model::TestFile;

pub const RUN_TITLE: &str = "▶ Run";

/// One scenario's run lens: where it goes (template bytes) and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLens {
    pub name: String,
    pub anchor: Range<usize>,
    pub title: String,
}

/// A lens per scenario of an analysed file: `▶ Run`, `⏳ running…`, or the result of the
/// scenario's *current* content (restored from the cache when there is one).
pub fn lenses(
    runner: &Runner,
    project: &Project,
    path: &Path,
    analysis: &Analysis,
) -> Vec<RunLens> {
    let (Ok(file), Some(rendered)) = (plan::model(analysis), analysis.rendered.as_deref()) else {
        return Vec::new();
    };
    let anchors = anchors(rendered, &file);
    plan::keys(&file, project, path)
        .into_iter()
        .map(|p| RunLens {
            title: lens_title(&runner.state(project, path, &p.name, &p.key)),
            anchor: anchors.get(p.index).cloned().unwrap_or(0..0),
            name: p.name,
        })
        .collect()
}

/// The lenses while the file's project is not open yet: every scenario, `▶ Run` (what is
/// known of its runs needs the project's keys).
pub fn pending_lenses(analysis: &Analysis) -> Vec<RunLens> {
    let (Ok(file), Some(rendered)) = (plan::model(analysis), analysis.rendered.as_deref()) else {
        return Vec::new();
    };
    let anchors = anchors(rendered, &file);
    file.scenarios
        .iter()
        .enumerate()
        .map(|(index, s)| RunLens {
            title: lens_title(&RunState::Idle),
            anchor: anchors.get(index).cloned().unwrap_or(0..0),
            name: s.name.clone(),
        })
        .collect()
}

/// Bring the shared cache's results for `path`'s scenarios to disk (all at once), so the
/// lenses, which only look locally, find them. Blocking: call off latency paths.
pub fn prefetch(project: &Project, path: &Path, analysis: &Analysis) {
    if let (Ok(file), Some(cache)) = (plan::model(analysis), project.cache.as_ref()) {
        cache.prefetch(plan::keys(&file, project, path).into_iter().map(|p| p.key));
    }
}

/// Diagnostics for the last result of each scenario of `path` (whatever content it ran),
/// placed in the current text: they stay until the scenario runs again. Free for a file
/// that never ran, so callers may ask on every keystroke.
pub fn last_run_diagnostics(runner: &Runner, path: &Path, analysis: &Analysis) -> Vec<Diagnostic> {
    let last = runner.last_results(path);
    if last.is_empty() {
        return Vec::new();
    }
    let (Ok(file), Some(rendered)) = (plan::model(analysis), analysis.rendered.as_deref()) else {
        return Vec::new();
    };
    let results: Vec<_> = last
        .into_iter()
        .filter_map(|(name, r)| Some((file.scenarios.iter().position(|s| s.name == name)?, r)))
        .collect();
    diagnostics(rendered, &file, &results)
}

/// `▶ Run`, `⏳ running…`, `✓ passed 0.42 s (cached)`, `✗ failed: exit 1: boom`.
pub fn lens_title(state: &RunState) -> String {
    match state {
        RunState::Idle => RUN_TITLE.into(),
        RunState::Queued => "⏳ queued".into(),
        RunState::Running => "⏳ running…".into(),
        RunState::Done(r) => result_title(r),
    }
}

pub fn result_title(r: &RunResult) -> String {
    let cached = if r.cached { " (cached)" } else { "" };
    match r.status {
        RunStatus::Passed => format!("✓ passed {}{cached}", seconds(r.duration_ms)),
        RunStatus::Cancelled => RUN_TITLE.into(),
        _ => format!("✗ failed: {}{cached}", r.short_reason()),
    }
}

/// `0.42 s`, `12.3 s`.
pub fn seconds(ms: u64) -> String {
    if ms < 10_000 {
        format!("{:.2} s", ms as f64 / 1000.0)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Where each scenario of `file` is shown, in the template: its `[[scenario]]` header; for
/// the implicit scenario of top-level `[[steps]]`, its first step.
pub fn anchors(rendered: &Rendered, file: &TestFile) -> Vec<Range<usize>> {
    let doc = toml_edit::Document::parse(rendered.text.clone()).ok();
    anchors_in(doc.as_ref(), rendered, file)
}

/// Each scenario of an analysed file by name, with its anchor (see [`anchors`]).
pub fn scenario_anchors(analysis: &Analysis) -> Vec<(String, Range<usize>)> {
    let (Ok(file), Some(rendered)) = (plan::model(analysis), analysis.rendered.as_deref()) else {
        return Vec::new();
    };
    let anchors = anchors(rendered, &file);
    file.scenarios
        .into_iter()
        .map(|s| s.name)
        .zip(anchors)
        .collect()
}

fn anchors_in(
    doc: Option<&toml_edit::Document<String>>,
    rendered: &Rendered,
    file: &TestFile,
) -> Vec<Range<usize>> {
    file.scenarios
        .iter()
        .map(|s| {
            s.header_range
                .clone()
                .or_else(|| locate(doc, rendered, &first_step()))
                .unwrap_or(0..0)
        })
        .collect()
}

fn first_step() -> ExpectationFailure {
    ExpectationFailure::new("steps[0]", None, "", "")
}

fn locate(
    doc: Option<&toml_edit::Document<String>>,
    rendered: &Rendered,
    f: &ExpectationFailure,
) -> Option<Range<usize>> {
    doc.and_then(|d| f.locate(d))
        .map(|r| rendered.map.to_source(r))
}

/// Diagnostics for the latest results of `file`'s scenarios (`(scenario index, result)`),
/// in the template's coordinates. Cancelled runs say nothing.
pub fn diagnostics(
    rendered: &Rendered,
    file: &TestFile,
    results: &[(usize, Arc<RunResult>)],
) -> Vec<Diagnostic> {
    let doc = toml_edit::Document::parse(rendered.text.clone()).ok();
    let anchors = anchors_in(doc.as_ref(), rendered, file);
    let mut out = Vec::new();
    for (index, r) in results {
        let Some(header) = anchors.get(*index).cloned() else {
            continue;
        };
        if r.status == RunStatus::Cancelled {
            continue;
        }
        let cached = if r.cached { ", cached" } else { "" };
        let backend = format!("{:?}", r.backend).to_lowercase();
        let note = r
            .note
            .as_deref()
            .map(|n| format!("\nnote: {n}"))
            .unwrap_or_default();
        if r.passed() {
            out.push(Diagnostic::new(
                Code::RunPassed,
                header,
                format!(
                    "scenario `{}` passed in {} ({backend}{cached}){note}",
                    r.scenario,
                    seconds(r.duration_ms)
                ),
            ));
            continue;
        }
        let mut message = format!("scenario `{}` failed: {}", r.scenario, r.short_reason());
        if let Some(tail) = last_lines(&r.stderr_tail, 5) {
            message.push_str(&format!("\nstderr:\n{tail}"));
        }
        message.push_str(&format!(
            "\n({backend}{cached}, {}){note}",
            seconds(r.duration_ms)
        ));
        out.push(Diagnostic::new(Code::RunFailed, header.clone(), message));
        for f in &r.failures {
            let range = locate(doc.as_ref(), rendered, f).unwrap_or_else(|| header.clone());
            if range == header && r.failures.len() == 1 {
                continue; // the header's message already says it
            }
            out.push(Diagnostic::new(
                Code::ExpectationUnmet,
                range,
                format!("[{}] {}", r.scenario, f.message()),
            ));
        }
    }
    out
}

fn last_lines(s: &str, n: usize) -> Option<String> {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    Some(lines[lines.len().saturating_sub(n)..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Severity;

    const FILE: &str = "[meta]\nname = \"r\"\n\n[[scenario]]\nname = \"ok\"\nrun = \"true\"\n\n[[scenario]]\nname = \"bad\"\nrun = \"false\"\n\n[expect.counts]\nspans_total = { gte = 99 }\n";

    fn result(name: &str, status: RunStatus, failures: Vec<ExpectationFailure>) -> Arc<RunResult> {
        Arc::new(RunResult {
            duration_ms: 420,
            failures,
            exit_code: Some(1),
            stderr_tail: "boom\n".into(),
            ..RunResult::without_run(name, status, None)
        })
    }

    #[test]
    fn titles() {
        let passed = result("a", RunStatus::Passed, vec![]);
        assert_eq!(
            lens_title(&RunState::Done(passed.clone())),
            "✓ passed 0.42 s"
        );
        let mut cached = (*passed).clone();
        cached.cached = true;
        assert_eq!(result_title(&cached), "✓ passed 0.42 s (cached)");
        assert_eq!(lens_title(&RunState::Idle), "▶ Run");
        assert_eq!(lens_title(&RunState::Running), "⏳ running…");
        let failed = result(
            "a",
            RunStatus::Failed,
            vec![ExpectationFailure::new(
                "scenario[0]",
                Some("expected_exit_code".into()),
                "exit code 0",
                "exit code 1",
            )],
        );
        assert_eq!(result_title(&failed), "✗ failed: exit 1: boom");
    }

    #[test]
    fn diagnostics_sit_on_headers_and_expectations() {
        let rendered = Rendered::verbatim(FILE);
        let file = TestFile::from_rendered(FILE, None).unwrap();
        let failure = ExpectationFailure::new(
            "expect.counts",
            Some("spans_total".into()),
            "at least 99 spans",
            "3 spans",
        );
        let results = vec![
            (0, result("ok", RunStatus::Passed, vec![])),
            (1, result("bad", RunStatus::Failed, vec![failure])),
        ];
        let d = diagnostics(&rendered, &file, &results);
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!(d[0].code, Code::RunPassed);
        assert_eq!(d[0].severity, Severity::Information);
        assert!(FILE[d[0].range.clone()].starts_with("[[scenario]]"));
        assert_eq!(d[1].code, Code::RunFailed);
        assert!(d[1].message.contains("boom"), "{}", d[1].message);
        assert_eq!(&FILE[d[2].range.clone()], "spans_total");
        assert!(d[2].message.contains("observed 3 spans"));
        // A result for a scenario the file no longer has, or a cancelled run, says nothing.
        let stale = vec![(7, result("x", RunStatus::Failed, vec![]))];
        assert!(diagnostics(&rendered, &file, &stale).is_empty());
        let cancelled = vec![(0, result("ok", RunStatus::Cancelled, vec![]))];
        assert!(diagnostics(&rendered, &file, &cancelled).is_empty());
    }
}
