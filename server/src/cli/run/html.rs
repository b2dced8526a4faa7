//! `run --format html`: the suite's results as one self-contained page (per file and
//! scenario: verdict, duration, cached, unmet expectations), for CI artifacts. With
//! `--output`, each scenario's trace-diff page (`traces::scenario_page`) is written beside
//! it and linked.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{FileOutcome, RunReport};
use crate::runs::report::seconds;
use crate::runs::result::{RunResult, RunStatus};
use crate::traces::{self, escape_html as escape, DiffSettings};

/// The report page; `link(file, scenario)` names each scenario's diff page, if any.
pub fn render(report: &RunReport, link: &dyn Fn(usize, usize) -> Option<String>) -> String {
    let s = report.summary();
    let mut out = String::with_capacity(8 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>clnrm run</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>clnrm run</h1>\n\
         <p class=\"summary\">{} scenarios: {} passed, {} failed, {} cancelled, {} cached; \
         {} files not run; {}</p>\n",
        s.scenarios,
        s.passed,
        s.failed,
        s.cancelled,
        s.cached,
        s.files_not_run,
        seconds(s.duration_ms)
    );
    for (fi, f) in report.files.iter().enumerate() {
        let _ = write!(
            out,
            "<section class=\"file\">\n<h2>{}</h2>\n",
            escape(&f.path.display().to_string())
        );
        match &f.outcome {
            FileOutcome::Invalid {
                reason,
                diagnostics,
            } => not_run(&mut out, reason, diagnostics.len()),
            FileOutcome::Ran { results, .. } => {
                out.push_str("<table>\n<tr><th>scenario</th><th>verdict</th><th>duration</th><th>cached</th><th>details</th><th>trace</th></tr>\n");
                for (si, (_, r)) in results.iter().enumerate() {
                    row(&mut out, r, link(fi, si));
                }
                out.push_str("</table>\n");
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// A file that did not run: why, and how many diagnostics it has.
fn not_run(out: &mut String, reason: &str, diagnostics: usize) {
    let _ = writeln!(
        out,
        "<p class=\"verdict errored\">not run: {} ({diagnostics} diagnostics)</p>",
        escape(reason),
    );
}

fn row(out: &mut String, r: &RunResult, link: Option<String>) {
    let state = match r.status {
        RunStatus::Passed => "passed",
        RunStatus::Failed => "failed",
        RunStatus::Error | RunStatus::TimedOut => "errored",
        RunStatus::Cancelled => "skipped",
    };
    let mut details = String::new();
    if r.status != RunStatus::Passed {
        let _ = write!(details, "<p>{}</p>", escape(&r.short_reason()));
    }
    if !r.failures.is_empty() {
        details.push_str("<ul>");
        for f in &r.failures {
            let _ = write!(details, "<li>{}</li>", escape(&f.message()));
        }
        details.push_str("</ul>");
    }
    let trace = link.map_or(String::new(), |l| {
        format!("<a href=\"{}\">diff</a>", escape(&l))
    });
    let _ = writeln!(
        out,
        "<tr class=\"scenario {state}\"><td>{}</td><td class=\"verdict {state}\">{state}</td>\
         <td>{}</td><td>{}</td><td>{details}</td><td>{trace}</td></tr>",
        escape(&r.scenario),
        seconds(r.duration_ms),
        if r.cached { "cached" } else { "" },
    );
}

/// Write the report to `output` (a `.html` file, else a directory getting `index.html`)
/// and each scenario's diff page beside it. Returns the report's path.
pub fn write(report: &RunReport, output: &Path) -> Result<PathBuf, String> {
    let (dir, index) = if output.extension().is_some_and(|e| e == "html") {
        let dir = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (dir.to_path_buf(), output.to_path_buf())
    } else {
        (output.to_path_buf(), output.join("index.html"))
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let page_name = |fi: usize, si: usize| format!("diff-{fi}-{si}.html");
    let mut written = std::collections::HashSet::new();
    for (fi, f) in report.files.iter().enumerate() {
        let FileOutcome::Ran { results, .. } = &f.outcome else {
            continue;
        };
        let abs = crate::documents::fs::absolute(&f.path);
        let root = crate::workspace::root_of_file(&abs, &[]);
        let settings = DiffSettings::load(&root).unwrap_or_default();
        let shown = f.path.display().to_string();
        for (si, (_, r)) in results.iter().enumerate() {
            let page = traces::scenario_page(
                &root,
                &settings,
                &abs,
                &shown,
                std::slice::from_ref(&r.scenario),
            );
            let path = dir.join(page_name(fi, si));
            crate::documents::fs::write_atomic(&path, page.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            written.insert((fi, si));
        }
    }
    let page = render(report, &|fi, si| {
        written.contains(&(fi, si)).then(|| page_name(fi, si))
    });
    crate::documents::fs::write_atomic(&index, page.as_bytes())
        .map_err(|e| format!("{}: {e}", index.display()))?;
    Ok(index)
}

const STYLE: &str = r#"
:root{color-scheme:light dark}body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}
h1{font-size:1.3em}h2{font-size:1.1em;margin:1.2em 0 .3em}.summary{font-weight:600}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;vertical-align:top;border-bottom:1px solid rgba(127,127,127,.25)}
td p,td ul{margin:0}.verdict.passed{color:#2e9b3a}.verdict.failed,.verdict.errored{color:#d03a3a}.verdict.skipped{color:#8a8a8a}
"#;
