//! The `human` and `json` formats of `run`.

use std::fmt::Write as _;
use std::ops::Range;

use serde_json::{json, Value};

use super::{FileOutcome, FileRun, RunReport, RunSummary};
use crate::analysis::{Code, Diagnostic, Rendered};
use crate::cli::output::{human_diagnostics, slash_path, visible, HumanOptions, Locator, Palette};
use crate::runs::expect::ExpectationFailure;
use crate::runs::report::{diagnostics, seconds};
use crate::runs::result::{RunResult, RunStatus};

/// `✓ tests/api.clnrm.toml › smoke  0.42 s (cached)`, failures explained in the template,
/// then the summary line.
pub fn human(report: &RunReport, color: bool) -> String {
    let p = Palette::new(color);
    let (green, red, yellow, bold) = (p.ok, p.error, p.warning, p.bold);
    let opts = HumanOptions { color };
    let mut out = String::new();
    for f in &report.files {
        // Paths and scenario names come from the user's files: shown, not sent.
        let shown = f.path.display().to_string();
        let shown = visible(&shown);
        match &f.outcome {
            FileOutcome::Invalid {
                reason,
                diagnostics,
            } => {
                let _ = writeln!(out, "{red}✗{red:#} {shown}  {reason}");
                out.push_str(&human_diagnostics(&f.path, &f.text, diagnostics, &opts));
            }
            FileOutcome::Ran {
                rendered,
                file,
                results,
            } => {
                for (_, r) in results {
                    let cached = if r.cached { " (cached)" } else { "" };
                    let name = visible(&r.scenario);
                    let _ = match r.status {
                        RunStatus::Passed => writeln!(
                            out,
                            "{green}✓{green:#} {shown} › {name}  {}{cached}",
                            seconds(r.duration_ms)
                        ),
                        RunStatus::Cancelled => {
                            writeln!(out, "{yellow}-{yellow:#} {shown} › {name}  cancelled")
                        }
                        _ => writeln!(
                            out,
                            "{red}✗{red:#} {shown} › {name}  failed: {}{cached}",
                            plain(&r.short_reason())
                        ),
                    };
                }
                let failed: Vec<Diagnostic> = diagnostics(rendered, file, results)
                    .into_iter()
                    .filter(|d| d.code != Code::RunPassed)
                    .map(|mut d| {
                        d.message = plain(&d.message);
                        d
                    })
                    .collect();
                if !failed.is_empty() {
                    out.push('\n');
                    out.push_str(&human_diagnostics(&f.path, &f.text, &failed, &opts));
                }
            }
        }
    }
    // Said once per run, however many scenarios it concerns.
    let mut notes: Vec<&str> = Vec::new();
    for f in &report.files {
        if let FileOutcome::Ran { results, .. } = &f.outcome {
            for (_, r) in results {
                if let Some(n) = r.note.as_deref().filter(|n| !notes.contains(n)) {
                    notes.push(n);
                }
            }
        }
    }
    for n in notes {
        let _ = writeln!(out, "note: {}", plain(n));
    }
    let _ = writeln!(out, "{bold}{}{bold:#}", summary_line(&report.summary()));
    out
}

/// Captured output without terminal escapes (`ESC [ … letter`) or other control characters:
/// a scenario's output must not restyle, move or clear the user's terminal.
pub fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.next_if_eq(&'[').is_some() {
                    // Parameters and intermediates, up to the final byte.
                    while chars.next_if(|c| !('@'..='~').contains(c)).is_some() {}
                    chars.next();
                } else if chars.next_if_eq(&']').is_some() {
                    // Operating-system command (titles, links): up to BEL or ESC \.
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `16 scenarios: 15 passed, 1 failed (3 cached) in 2.1 s`.
pub fn summary_line(s: &RunSummary) -> String {
    let mut line = format!(
        "{} scenario{}: {} passed, {} failed",
        s.scenarios,
        if s.scenarios == 1 { "" } else { "s" },
        s.passed,
        s.failed
    );
    if s.cancelled > 0 {
        let _ = write!(line, ", {} cancelled", s.cancelled);
    }
    if s.cached > 0 {
        let _ = write!(line, " ({} cached)", s.cached);
    }
    if s.files_not_run > 0 {
        let _ = write!(
            line,
            ", {} file{} not run",
            s.files_not_run,
            if s.files_not_run == 1 { "" } else { "s" }
        );
    }
    let _ = write!(line, " in {:.1} s", s.duration_ms as f64 / 1000.0);
    line
}

/// The JSON document (its shape is documented in the README; keep it stable).
pub fn json(report: &RunReport) -> String {
    let mut results = Vec::new();
    let mut not_run = Vec::new();
    for f in &report.files {
        let file = slash_path(&f.path);
        match &f.outcome {
            FileOutcome::Ran {
                rendered,
                results: rs,
                ..
            } => {
                let loc = Locator::new(&f.text);
                let doc = toml_edit::Document::parse(rendered.text.clone()).ok();
                for (_, r) in rs {
                    results.push(result_json(&file, r, &|x| {
                        failure_position(x, doc.as_ref(), rendered, &loc)
                    }));
                }
            }
            FileOutcome::Invalid {
                reason,
                diagnostics,
            } => {
                not_run.push(not_run_json(&file, f, reason, diagnostics));
            }
        }
    }
    let mut doc = json!({
        "version": 1,
        "results": results,
        "not_run": not_run,
        "summary": report.summary(),
    });
    if let Some(shard) = &report.shard {
        doc["shard"] = json!(shard);
    }
    crate::cli::output::pretty_json(&doc)
}

fn result_json(
    file: &str,
    r: &RunResult,
    locate: &dyn Fn(&ExpectationFailure) -> Option<(u32, u32)>,
) -> Value {
    let failures: Vec<Value> = r
        .failures
        .iter()
        .map(|f| {
            let at = locate(f);
            json!({
                "path": f.path,
                "key": f.key,
                "expected": f.expected,
                "observed": f.observed,
                "line": at.map(|a| a.0),
                "column": at.map(|a| a.1),
            })
        })
        .collect();
    let error = match r.status {
        RunStatus::Passed | RunStatus::Cancelled => None,
        _ => Some(r.short_reason()),
    };
    let mut v = json!({
        "file": file,
        "scenario": r.scenario,
        "status": r.status,
        "passed": r.passed(),
        "cached": r.cached,
        "backend": r.backend,
        "duration_ms": r.duration_ms,
        "exit_code": r.exit_code,
        "error": error,
        "failures": failures,
    });
    if let (Some(note), Some(o)) = (&r.note, v.as_object_mut()) {
        o.insert("note".into(), Value::from(note.as_str()));
    }
    v
}

/// 1-based line and column (characters) of an unmet expectation in the template.
pub(super) fn failure_position(
    f: &ExpectationFailure,
    doc: Option<&toml_edit::Document<String>>,
    rendered: &Rendered,
    loc: &Locator<'_>,
) -> Option<(u32, u32)> {
    let range: Range<usize> = rendered.map.to_source(f.locate(doc?)?);
    let p = loc.position(range.start);
    Some((p.line, p.column))
}

fn not_run_json(file: &str, f: &FileRun, reason: &str, diagnostics: &[Diagnostic]) -> Value {
    let loc = Locator::new(&f.text);
    let diags: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let p = loc.position(d.range.start);
            json!({
                "line": p.line,
                "column": p.column,
                "severity": d.severity.as_str(),
                "code": d.code.as_str(),
                "message": d.message,
            })
        })
        .collect();
    json!({
        "file": file,
        "reason": reason,
        "diagnostics": diags,
    })
}
