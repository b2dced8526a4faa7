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
use crate::analysis::template::DiskLoader;
use crate::analysis::{Analyzer, Environment, Origin};
use crate::documents::fs::MAX_READ_BYTES;
use crate::traces::{
    self, baseline, render_text, DiffSettings, RenderOptions, ScenarioState, TraceDiff,
};
use crate::workspace::root_of_file;

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

/// Accumulates the exit status: errors (2) beat differences (1).
#[derive(Default)]
struct Outcome {
    differ: bool,
    error: bool,
}

impl Outcome {
    fn code(&self) -> ExitCode {
        if self.error {
            ExitCode::from(2)
        } else if self.differ {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
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
    let settings = match load_settings(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clnrm-lsp diff: {e}");
            return ExitCode::from(2);
        }
    };
    let current = match baseline::load_spans(current_path) {
        Ok(Some(s)) => s,
        Ok(None) => {
            eprintln!("clnrm-lsp diff: {}: no such file", current_path.display());
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("clnrm-lsp diff: {e}");
            return ExitCode::from(2);
        }
    };
    let base = match baseline::load_spans(baseline_path) {
        Ok(b) => b,
        Err(e) if args.update_baseline => {
            eprintln!("clnrm-lsp diff: replacing unreadable baseline: {e}");
            None
        }
        Err(e) => {
            eprintln!("clnrm-lsp diff: {e}");
            return ExitCode::from(2);
        }
    };
    let mut outcome = Outcome::default();
    let diff = base
        .as_ref()
        .map(|b| TraceDiff::compute(b, &current, &settings));
    let opts = options(args, &settings, color);
    let mut updated = false;
    if args.update_baseline {
        match baseline::write_span_file(baseline_path, baseline::BASELINE_FORMAT, "", "", &current)
        {
            Ok(()) => updated = true,
            Err(e) => {
                eprintln!("clnrm-lsp diff: {e}");
                outcome.error = true;
            }
        }
    } else {
        outcome.differ = diff.as_ref().is_none_or(TraceDiff::has_differences);
    }
    match args.format {
        Format::Html => {
            let shown = current_path.display().to_string();
            let view = match &diff {
                Some(d) => traces::HtmlView::Compared {
                    diff: d,
                    baseline: base.as_deref().unwrap_or_default(),
                    current: &current,
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
            outcome.error |= !emit_page(out, args.output.as_deref(), &page);
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
    outcome.code()
}

fn load_settings(root: &Path) -> Result<DiffSettings, String> {
    DiffSettings::load(root)
}

/// Every scenario of a test file: its last trace against its baseline.
fn diff_file(args: &DiffArgs, file: &Path, color: bool, out: &mut impl Write) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("clnrm-lsp diff: {msg}");
        ExitCode::from(2)
    };
    let file = match std::path::absolute(file) {
        Ok(f) => f,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let text = match crate::documents::fs::read_text(&file, None, MAX_READ_BYTES) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let root = match &args.root {
        Some(r) => std::path::absolute(r).unwrap_or_else(|_| r.clone()),
        None => root_of_file(&file, &[]),
    };
    let settings = match load_settings(&root) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let analyzer = Analyzer::new(Environment::capture());
    let origin = Origin {
        path: Some(&file),
        workspace_root: Some(&root),
        kind: None,
    };
    let analysis = analyzer.analyze(&text, origin, &DiskLoader);
    let Ok(model) = crate::runs::plan::model(&analysis) else {
        return fail(format!(
            "{}: the template does not render to TOML; run `clnrm-lsp check` for details",
            file.display()
        ));
    };
    let mut names: Vec<String> = Vec::new();
    for s in model.scenarios {
        if !names.contains(&s.name) {
            names.push(s.name);
        }
    }
    if let Some(only) = &args.scenario {
        if !names.contains(only) {
            return fail(format!(
                "{}: no scenario named {only:?} (scenarios: {})",
                file.display(),
                names.join(", ")
            ));
        }
        names = vec![only.clone()];
    }
    if names.is_empty() {
        return fail(format!("{}: no [[scenario]] found", file.display()));
    }
    let opts = options(args, &settings, color);
    let mut outcome = Outcome::default();
    let mut reports = Vec::new();
    let shown =
        baseline::workspace_relative(&root, &file).unwrap_or_else(|_| file.display().to_string());
    for name in &names {
        let mut report = json!({ "scenario": name });
        let mut human = String::new();
        let result = traces::compare_scenario(&root, &settings, &file, name);
        let mut record = false;
        match &result {
            Ok(d) => {
                report["baseline"] = json!(d.baseline_path);
                match &d.state {
                    ScenarioState::NoTrace => {
                        report["state"] = json!("no_trace");
                        human.push_str("no recorded run: run `clnrm-lsp run` first\n");
                        outcome.error = true;
                    }
                    ScenarioState::NoBaseline { spans } => {
                        report["state"] = json!("no_baseline");
                        human.push_str(&format!(
                            "no baseline yet ({spans} spans in the last run)\n"
                        ));
                        record = args.update_baseline;
                        outcome.differ |= !args.update_baseline;
                    }
                    ScenarioState::Compared(diff) => {
                        report["state"] = json!("compared");
                        report["summary"] = json!(diff.summary);
                        report["has_differences"] = json!(diff.has_differences());
                        report["nodes"] = nodes_json(diff, opts.only_differences);
                        human.push_str(&render_text(diff, &opts));
                        record = args.update_baseline;
                        outcome.differ |= diff.has_differences() && !args.update_baseline;
                    }
                }
            }
            Err(e) => {
                report["state"] = json!("error");
                report["error"] = json!(e.to_string());
                human.push_str(&format!("error: {e}\n"));
                // A malformed baseline may be replaced on request; nothing else is.
                if args.update_baseline && e.is_malformed() {
                    record = true;
                } else {
                    outcome.error = true;
                }
            }
        }
        if record {
            match traces::update_baseline(&root, &settings, &file, name) {
                Ok(path) => {
                    report["updated"] = json!(true);
                    human.push_str(&format!("baseline updated: {}\n", path.display()));
                }
                Err(e) => {
                    report["error"] = json!(e.to_string());
                    human.push_str(&format!("error: {e}\n"));
                    outcome.error = true;
                }
            }
        }
        match args.format {
            Format::Human => {
                let _ = write!(out, "── {shown} · scenario {name}\n{human}");
            }
            Format::Json => reports.push(report),
            Format::Html => {}
        }
    }
    if args.format == Format::Html {
        let page = traces::scenario_page(&root, &settings, &file, &shown, &names);
        outcome.error |= !emit_page(out, args.output.as_deref(), &page);
    }
    if args.format == Format::Json {
        emit_json(out, &json!({ "file": shown, "scenarios": reports }));
    }
    outcome.code()
}
