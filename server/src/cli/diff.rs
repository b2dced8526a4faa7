//! `clnrm-lsp diff`: compare traces with their baselines and print the tree.
//!
//! - `diff FILE [--scenario NAME]`: each scenario's last-run trace (`.clnrm/traces/…`)
//!   against its baseline (`.clnrm/baselines/…`).
//! - `diff --baseline A.json --current B.json`: two span files.
//!
//! Exit 0 when everything matches (or the baselines were updated), 1 when a difference
//! exists or a baseline is missing, 2 on usage, I/O or malformed-file errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{json, Value};

use super::{use_color, ColorWhen};
use crate::analysis::{Analyzer, Environment};
use crate::runs::selection::Selection;
use crate::traces::{
    self, render_text, DiffSettings, RenderOptions, ScenarioOutcome, ScenarioState, TraceDiff,
    Update, Verdict,
};
use crate::workspace::{diff, root_of_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// One self-contained HTML page: the waterfalls side by side.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Test file whose scenarios are compared (last run against baseline).
    #[arg(required_unless_present = "baseline", conflicts_with_all = ["baseline", "current"])]
    pub file: Option<PathBuf>,
    /// Only this scenario of FILE.
    #[arg(long, requires = "file")]
    pub scenario: Option<String>,
    /// Baseline span file (JSON array of spans, baseline file, or OTLP JSON export).
    #[arg(long, requires = "current")]
    pub baseline: Option<PathBuf>,
    /// Current span file, compared with --baseline.
    #[arg(long, requires = "baseline")]
    pub current: Option<PathBuf>,
    /// Record the current trace as the baseline (atomically), then exit 0.
    #[arg(long)]
    pub update_baseline: bool,
    /// Show only spans that differ (and their ancestors).
    #[arg(long)]
    pub only_diffs: bool,
    /// Deepest level of the tree to show.
    #[arg(long)]
    pub depth: Option<usize>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// With `--format html`: write the page to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Colors: auto (only on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorWhen,
    /// Workspace root (default: the nearest ancestor of FILE holding `.clnrm` or `.git`).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Errors (2) beat differences (1).
fn exit_code(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Error => ExitCode::from(2),
        Verdict::Differs => ExitCode::from(1),
        Verdict::Matches => ExitCode::SUCCESS,
    }
}

fn update(args: &DiffArgs) -> Update {
    if args.update_baseline {
        Update::Record
    } else {
        Update::No
    }
}

pub fn run(args: DiffArgs) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let color = use_color(args.color, &std::io::stdout());
    match (&args.file, &args.baseline, &args.current) {
        (Some(file), _, _) => diff_file(&args, file, color, &mut out),
        (None, Some(b), Some(c)) => diff_files(&args, b, c, color, &mut out),
        _ => {
            eprintln!("clnrm-lsp diff: give FILE, or --baseline and --current");
            ExitCode::from(2)
        }
    }
}

fn options(args: &DiffArgs, settings: &DiffSettings, color: bool) -> RenderOptions {
    let mut o = RenderOptions::from_settings(settings);
    o.color = color;
    o.only_differences |= args.only_diffs;
    if args.depth.is_some() {
        o.depth = args.depth;
    }
    o
}

fn nodes_json(diff: &TraceDiff, only_diffs: bool) -> Value {
    let nodes: Vec<Value> = diff
        .preorder()
        .into_iter()
        .map(|i| &diff.nodes[i])
        .filter(|n| !only_diffs || n.mark != traces::Mark::Same || n.differing_descendants > 0)
        .map(|n| serde_json::to_value(n).unwrap_or(Value::Null))
        .collect();
    Value::Array(nodes)
}

fn emit_json(out: &mut impl Write, v: &Value) {
    let _ = out.write_all(super::output::pretty_json(v).as_bytes());
}

/// The HTML page to `--output` (atomically) or standard output; false on a write error.
fn emit_page(out: &mut impl Write, output: Option<&Path>, page: &str) -> bool {
    match output {
        Some(path) => match crate::documents::fs::write_atomic(path, page.as_bytes()) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("clnrm-lsp diff: {}: {e}", path.display());
                false
            }
        },
        None => out.write_all(page.as_bytes()).is_ok(),
    }
}

/// Two span files.
fn diff_files(
    args: &DiffArgs,
    baseline_path: &Path,
    current_path: &Path,
    color: bool,
    out: &mut impl Write,
) -> ExitCode {
    // `[diff]` settings of the workspace holding the current file (or --root) apply too.
    let root = match &args.root {
        Some(r) => r.clone(),
        None => root_of_file(&std::path::absolute(current_path).unwrap_or_default(), &[]),
    };
    let settings = match DiffSettings::load(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clnrm-lsp diff: {e}");
            return ExitCode::from(2);
        }
    };
    let o = match traces::compare_files(baseline_path, current_path, &settings, update(args)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("clnrm-lsp diff: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(e) = &o.replaced {
        eprintln!("clnrm-lsp diff: replacing unreadable baseline: {e}");
    }
    if let Some(Err(e)) = &o.updated {
        eprintln!("clnrm-lsp diff: {e}");
    }
    let mut verdict = o.verdict();
    let updated = matches!(o.updated, Some(Ok(())));
    let (diff, base, current) = (&o.diff, &o.baseline, &o.current);
    let opts = options(args, &settings, color);
    match args.format {
        Format::Html => {
            let shown = current_path.display().to_string();
            let view = match &diff {
                Some(d) => traces::HtmlView::Compared {
                    diff: d,
                    baseline: base.as_deref().unwrap_or_default(),
                    current,
                },
                None => traces::HtmlView::NoBaseline {
                    spans: current.len(),
                },
            };
            let page = traces::render_html(
                &format!("Trace diff: {shown}"),
                &[traces::HtmlScenario {
                    file: &shown,
                    scenario: "trace",
                    view,
                }],
            );
            if !emit_page(out, args.output.as_deref(), &page) {
                verdict = Verdict::Error;
            }
        }
        Format::Json => emit_json(
            out,
            &json!({
                "baseline": baseline_path,
                "current": current_path,
                "state": if diff.is_some() { "compared" } else { "no_baseline" },
                "has_differences": diff.as_ref().is_some_and(TraceDiff::has_differences),
                "summary": diff.as_ref().map(|d| d.summary),
                "nodes": diff.as_ref().map(|d| nodes_json(d, opts.only_differences)),
                "updated": updated,
            }),
        ),
        Format::Human => {
            match &diff {
                Some(d) => {
                    let _ = write!(out, "{}", render_text(d, &opts));
                }
                None => {
                    let _ = writeln!(out, "no baseline at {}", baseline_path.display());
                }
            }
            if updated {
                let _ = writeln!(out, "baseline updated: {}", baseline_path.display());
            }
        }
    }
    exit_code(verdict)
}

/// Every scenario of a test file (or the one named): its last trace against its baseline.
fn diff_file(args: &DiffArgs, file: &Path, color: bool, out: &mut impl Write) -> ExitCode {
    let root = match &args.root {
        Some(r) => crate::documents::fs::absolute(r),
        None => root_of_file(&std::path::absolute(file).unwrap_or_default(), &[]),
    };
    let selection = Selection::named(args.scenario.clone());
    let analyzer = Analyzer::new(Environment::capture());
    let d = match diff::diff_file(file, &root, &selection, update(args), &analyzer) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("clnrm-lsp diff: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = options(args, &d.settings, color);
    let mut verdict = d.verdict();
    let mut reports = Vec::new();
    for o in &d.scenarios {
        let (report, human) = scenario_report(o, &opts);
        match args.format {
            Format::Human => {
                let _ = write!(out, "── {} · scenario {}\n{human}", d.shown, o.scenario);
            }
            Format::Json => reports.push(report),
            Format::Html => {}
        }
    }
    match args.format {
        Format::Html => {
            let page = traces::scenario_page(&d.root, &d.settings, &d.file, &d.shown, &d.names());
            if !emit_page(out, args.output.as_deref(), &page) {
                verdict = Verdict::Error;
            }
        }
        Format::Json => emit_json(out, &json!({ "file": d.shown, "scenarios": reports })),
        Format::Human => {}
    }
    exit_code(verdict)
}

/// One scenario's outcome as JSON and as human text.
fn scenario_report(o: &ScenarioOutcome, opts: &RenderOptions) -> (Value, String) {
    let mut report = json!({ "scenario": o.scenario });
    let mut human = String::new();
    match &o.compared {
        Ok(d) => {
            report["baseline"] = json!(d.baseline_path);
            match &d.state {
                ScenarioState::NoTrace => {
                    report["state"] = json!("no_trace");
                    human.push_str("no recorded run: run `clnrm-lsp run` first\n");
                }
                ScenarioState::NoBaseline { spans } => {
                    report["state"] = json!("no_baseline");
                    human.push_str(&format!(
                        "no baseline yet ({spans} spans in the last run)\n"
                    ));
                }
                ScenarioState::Compared(diff) => {
                    report["state"] = json!("compared");
                    report["summary"] = json!(diff.summary);
                    report["has_differences"] = json!(diff.has_differences());
                    report["nodes"] = nodes_json(diff, opts.only_differences);
                    human.push_str(&render_text(diff, opts));
                }
            }
        }
        Err(e) => {
            report["state"] = json!("error");
            report["error"] = json!(e.to_string());
            human.push_str(&format!("error: {e}\n"));
        }
    }
    match &o.updated {
        Some(Ok(path)) => {
            report["updated"] = json!(true);
            human.push_str(&format!("baseline updated: {}\n", path.display()));
        }
        Some(Err(e)) => {
            report["error"] = json!(e.to_string());
            human.push_str(&format!("error: {e}\n"));
        }
        None => {}
    }
    (report, human)
}
