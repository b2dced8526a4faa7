//! `clnrm-lsp run`: discover, analyse, plan and run scenarios on the engine's runner, then
//! print the results (`human`, `json`, `junit`). `--watch` re-runs on changes (`cli::watch`).
//!
//! Exit 0 when every scenario passed, 1 when one failed (or a file could not run because of
//! its errors), 2 on usage or I/O errors.

mod format;
mod junit;
mod progress;

use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use rayon::prelude::*;

use super::check::{analyse_target, FileReport};
use super::{use_color, write_stdout, ColorWhen};
use crate::analysis::{Analysis, Analyzer, Diagnostic, Environment, Rendered};
use crate::documents::discover::{self, DiscoverError, Target};
use crate::model::TestFile;
use crate::runs::plan::{plan, PlanError};
use crate::runs::project::Project;
use crate::runs::queue::Priority;
use crate::runs::result::{RunResult, RunStatus};
use crate::runs::runner::{BatchOptions, RunEvent, Runner};
use progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RunFormat {
    /// One line per scenario, failures explained in the template, a summary.
    #[default]
    Human,
    /// One JSON document: `results` (one per scenario), `not_run`, `summary` (see the README).
    Json,
    /// JUnit XML: a testsuite per file, a testcase per scenario.
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Files or directories (default: the current directory), found as `check` finds them.
    pub paths: Vec<PathBuf>,
    /// Run only the scenario NAME (repeatable). A name no file defines is a usage error.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Scenarios run at once (default: `[executor] jobs`, else the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Run every scenario, without reading or writing the result cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,
    /// When to use colours in the human format.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Keep running: re-run what a change affects (debounce and ignores from `[watch]`).
    #[arg(long)]
    pub watch: bool,
}

/// The results of one file, in the shape the formats need.
#[derive(Debug, Clone)]
pub struct FileRun {
    /// As the user gave or the walk found it.
    pub path: PathBuf,
    /// The template's text (positions of diagnostics refer to it).
    pub text: String,
    pub outcome: FileOutcome,
}

#[derive(Debug, Clone)]
pub enum FileOutcome {
    /// Its scenarios ran (or came from the cache): `(scenario index, result)` in file order.
    Ran {
        rendered: Arc<Rendered>,
        file: Arc<TestFile>,
        results: Vec<(usize, Arc<RunResult>)>,
    },
    /// Not run because of errors in the file; they are shown like `check` shows them.
    Invalid { diagnostics: Vec<Diagnostic> },
}

/// Everything one `run` (or one watch cycle) produced.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub files: Vec<FileRun>,
    pub elapsed_ms: u64,
}

/// Counts for the summary line, JSON and JUnit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    pub scenarios: usize,
    pub passed: usize,
    /// Failed, timed out or errored.
    pub failed: usize,
    pub cancelled: usize,
    pub cached: usize,
    /// Files not run because of errors in them.
    pub files_not_run: usize,
    pub duration_ms: u64,
}

impl RunReport {
    pub fn summary(&self) -> RunSummary {
        let mut s = RunSummary {
            duration_ms: self.elapsed_ms,
            ..RunSummary::default()
        };
        for f in &self.files {
            match &f.outcome {
                FileOutcome::Invalid { .. } => s.files_not_run += 1,
                FileOutcome::Ran { results, .. } => {
                    for (_, r) in results {
                        s.scenarios += 1;
                        s.cached += usize::from(r.cached);
                        match r.status {
                            RunStatus::Passed => s.passed += 1,
                            RunStatus::Cancelled => s.cancelled += 1,
                            RunStatus::Failed | RunStatus::TimedOut | RunStatus::Error => {
                                s.failed += 1
                            }
                        }
                    }
                }
            }
        }
        s
    }

    /// Exit 1 when anything failed or could not run; cancelled runs count as not passed.
    pub fn failed(&self) -> bool {
        let s = self.summary();
        s.failed > 0 || s.cancelled > 0 || s.files_not_run > 0
    }
}

/// Options of a session, from the arguments.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub scenarios: Vec<String>,
    pub jobs: Option<usize>,
    pub use_cache: bool,
    pub progress: bool,
}

/// What a batch of files needs across runs: one analyzer, one project per workspace root,
/// one runner; and each file's latest analysis (watch mode re-runs from them).
pub struct Session {
    analyzer: Analyzer,
    opts: RunOptions,
    projects: HashMap<PathBuf, Arc<Project>>,
    runner: Option<Runner>,
    /// Latest analysis by absolute path.
    analyses: HashMap<PathBuf, Arc<Analysis>>,
}

/// One file ready to run, or already decided.
enum Prepared {
    Run {
        report: FileReport,
        rendered: Arc<Rendered>,
        plan: crate::runs::plan::Plan,
        project: Arc<Project>,
    },
    Done(FileRun),
    Skip,
}

/// Problems that are the user's to fix before anything runs (exit 2).
#[derive(Debug, Default)]
pub struct Problems {
    pub errors: Vec<DiscoverError>,
    /// `--scenario` names no file defines.
    pub unknown_scenarios: Vec<String>,
}

impl Session {
    pub fn new(opts: RunOptions) -> Self {
        Self {
            analyzer: Analyzer::new(Environment::capture()),
            opts,
            projects: HashMap::new(),
            runner: None,
            analyses: HashMap::new(),
        }
    }

    pub fn project(&mut self, root: &Path) -> Arc<Project> {
        let use_cache = self.opts.use_cache;
        self.projects
            .entry(root.to_path_buf())
            .or_insert_with(|| {
                let p = Project::open(root, None);
                for e in &p.config_errors {
                    eprintln!("clnrm-lsp: {e} (defaults used)");
                }
                Arc::new(if use_cache { p } else { p.without_cache() })
            })
            .clone()
    }

    /// The files whose latest analysis imports or includes `changed` (a template library).
    pub fn dependents(&self, changed: &Path) -> Vec<PathBuf> {
        self.analyses
            .iter()
            .filter(|(_, a)| {
                a.dependencies
                    .iter()
                    .any(|d| d.path.as_deref() == Some(changed))
            })
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Analyse, plan and run `targets`; results in target order.
    pub fn run(&mut self, targets: &[Target], problems: &mut Problems) -> RunReport {
        let start = Instant::now();
        let analysed: Vec<_> = targets
            .par_iter()
            .map(|t| (t, analyse_target(t, &self.analyzer)))
            .collect();

        let mut prepared = Vec::with_capacity(analysed.len());
        let mut known_names: BTreeSet<String> = BTreeSet::new();
        let mut plans_seen = false;
        for (target, result) in analysed {
            let (report, analysis) = match result {
                Ok(r) => r,
                Err(e) => {
                    problems.errors.push(e);
                    prepared.push(Prepared::Skip);
                    continue;
                }
            };
            let abs = std::path::absolute(&target.path).unwrap_or_else(|_| target.path.clone());
            self.analyses.insert(abs.clone(), analysis.clone());
            if report.diagnostics.iter().any(Diagnostic::is_error) {
                prepared.push(Prepared::Done(invalid(report)));
                continue;
            }
            let project = self.project(&target.root);
            match plan(&abs, &analysis, &project, &[]) {
                Ok(plan) => {
                    plans_seen = true;
                    let rendered = match &analysis.rendered {
                        Some(r) => r.clone(),
                        None => {
                            prepared.push(Prepared::Done(invalid(report)));
                            continue;
                        }
                    };
                    prepared.push(Prepared::Run {
                        report,
                        rendered,
                        plan,
                        project,
                    });
                }
                Err(PlanError::Empty) => {
                    eprintln!(
                        "clnrm-lsp: note: {}: skipped, the file defines no scenario",
                        report.path.display()
                    );
                    prepared.push(Prepared::Skip);
                }
                Err(e) => {
                    let mut report = report;
                    if report.diagnostics.is_empty() {
                        eprintln!("clnrm-lsp: {}: {e}", report.path.display());
                    }
                    report.diagnostics.retain(Diagnostic::is_error);
                    prepared.push(Prepared::Done(invalid(report)));
                }
            }
        }

        // `--scenario`: each name must be defined somewhere; files without any are skipped.
        let only = &self.opts.scenarios;
        if !only.is_empty() {
            for p in &prepared {
                if let Prepared::Run { plan, .. } = p {
                    known_names.extend(plan.file.scenarios.iter().map(|s| s.name.clone()));
                }
            }
            // A file with errors may define the name: its errors are the thing to report.
            let all_plannable = !prepared.iter().any(|p| matches!(p, Prepared::Done(_)));
            if plans_seen && all_plannable {
                problems.unknown_scenarios = only
                    .iter()
                    .filter(|n| !known_names.contains(*n))
                    .cloned()
                    .collect();
            }
            for p in &mut prepared {
                if let Prepared::Run { plan, .. } = p {
                    plan.runs.retain(|r| only.contains(&r.name));
                    if plan.runs.is_empty() {
                        *p = Prepared::Skip;
                    }
                }
            }
        }
        if !problems.unknown_scenarios.is_empty() {
            return RunReport::default();
        }

        let total: usize = prepared
            .iter()
            .map(|p| match p {
                Prepared::Run { plan, .. } => plan.runs.len(),
                _ => 0,
            })
            .sum();
        let jobs = self.opts.jobs.unwrap_or_else(|| {
            prepared
                .iter()
                .find_map(|p| match p {
                    Prepared::Run { project, .. } => Some(project.config.executor.workers()),
                    _ => None,
                })
                .unwrap_or(1)
        });
        let runner = self.runner.get_or_insert_with(|| Runner::new(jobs));
        let (tx, rx) = mpsc::channel::<(usize, RunEvent)>();
        let mut pending = 0usize;
        let mut results: Vec<Vec<(usize, Arc<RunResult>)>> = vec![Vec::new(); prepared.len()];
        for (slot, p) in prepared.iter().enumerate() {
            let Prepared::Run { plan, project, .. } = p else {
                continue;
            };
            if plan.runs.is_empty() {
                continue;
            }
            pending += 1;
            let tx = tx.clone();
            let sink = Arc::new(move |e: RunEvent| {
                let _ = tx.send((slot, e));
            });
            let opts = BatchOptions {
                priority: Priority::Explicit,
                use_cache: self.opts.use_cache,
            };
            runner.submit(project, plan.clone(), opts, sink);
        }
        drop(tx);

        let mut progress = Progress::new(self.opts.progress, total);
        while pending > 0 {
            let Ok((slot, event)) = rx.recv() else {
                break;
            };
            match event {
                RunEvent::Started { scenario, .. } => {
                    if let Some(Prepared::Run { report, .. }) = prepared.get(slot) {
                        progress.started(&report.path, &scenario);
                    }
                }
                RunEvent::Finished {
                    index,
                    result,
                    done,
                    total,
                    ..
                } => {
                    results[slot].push((index, result));
                    if done == total {
                        pending -= 1;
                    }
                }
            }
        }
        progress.clear();

        let mut files = Vec::new();
        for (p, mut results) in prepared.into_iter().zip(results) {
            match p {
                Prepared::Run {
                    report,
                    rendered,
                    plan,
                    ..
                } => {
                    if plan.runs.is_empty() {
                        continue;
                    }
                    results.sort_by_key(|(i, _)| *i);
                    files.push(FileRun {
                        path: report.path,
                        text: report.text,
                        outcome: FileOutcome::Ran {
                            rendered,
                            file: plan.file,
                            results,
                        },
                    });
                }
                Prepared::Done(f) => files.push(f),
                Prepared::Skip => {}
            }
        }
        RunReport {
            files,
            elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

fn invalid(report: FileReport) -> FileRun {
    let diagnostics = report
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    FileRun {
        path: report.path,
        text: report.text,
        outcome: FileOutcome::Invalid { diagnostics },
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: RunFormat,
    pub color: bool,
}

impl Printer {
    pub fn render(&self, report: &RunReport) -> String {
        match self.format {
            RunFormat::Human => format::human(report, self.color),
            RunFormat::Json => format::json(report),
            RunFormat::Junit => junit::render(report),
        }
    }
}

/// Report exit-2 problems on stderr; whether there were any.
pub fn report_problems(problems: &Problems) -> bool {
    for e in &problems.errors {
        eprintln!("clnrm-lsp: {e}");
    }
    for name in &problems.unknown_scenarios {
        eprintln!("clnrm-lsp: no file defines a scenario named `{name}`");
    }
    !problems.errors.is_empty() || !problems.unknown_scenarios.is_empty()
}

pub fn run(args: RunArgs) -> ExitCode {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let printer = Printer {
        format: args.format,
        color: use_color(args.color, std::io::stdout().is_terminal()),
    };
    let mut session = Session::new(RunOptions {
        scenarios: args.scenarios.clone(),
        jobs: args.jobs.map(usize::from),
        use_cache: !args.no_cache,
        progress: std::io::stderr().is_terminal(),
    });
    if args.watch {
        return super::watch::watch(&paths, &mut session, printer);
    }
    let (targets, errors) = discover::discover(&paths);
    let mut problems = Problems {
        errors,
        ..Problems::default()
    };
    let report = session.run(&targets, &mut problems);
    let usage = report_problems(&problems);
    if !problems.unknown_scenarios.is_empty() {
        return ExitCode::from(2);
    }
    let written = write_stdout(&printer.render(&report));
    if usage || written != ExitCode::SUCCESS {
        ExitCode::from(2)
    } else if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A report with every kind of outcome, for the format snapshots.
#[cfg(test)]
pub(crate) fn fixture_report() -> RunReport {
    use crate::analysis::template::DiskLoader;
    use crate::analysis::Origin;
    use crate::runs::expect::ExpectationFailure;

    const TEXT: &str = "[meta]\nname = \"api\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"smoke\"\nrun = \"true\"\n\n[[scenario]]\nname = \"load\"\nrun = \"sh -c 'exit 3'\"\n\n[[scenario]]\nname = \"slow\"\nrun = \"sleep 30\"\ntimeout_ms = 500\n\n[[scenario]]\nname = \"missing\"\nrun = \"no-such-tool\"\n\n[[scenario]]\nname = \"late\"\nrun = \"true\"\n";
    const BROKEN: &str = "[meta]\nname = \"b\"\nversion = \"1.0\"\n\n[[scenario]]\nname = 1\n";
    let analyzer = Analyzer::new(Environment::empty());
    let origin = Origin {
        path: None,
        workspace_root: None,
    };
    let analysis = analyzer.analyze(TEXT, origin, &DiskLoader);
    assert!(!analysis.has_errors(), "{:#?}", analysis.diagnostics);
    let rendered = analysis.rendered.clone().unwrap();
    let file = Arc::new(TestFile::from_rendered(&rendered.text, Some(&rendered.map)).unwrap());
    let result = |name: &str, status: RunStatus, ms: u64| RunResult {
        duration_ms: ms,
        ..RunResult::without_run(name, status, None)
    };
    let smoke = RunResult {
        exit_code: Some(0),
        stdout_tail: "ok <all> & \"good\"\n".into(),
        cached: true,
        ..result("smoke", RunStatus::Passed, 420)
    };
    let load = RunResult {
        exit_code: Some(3),
        stderr_tail: "connecting…\nboom: \x1b[31mrefused\x1b[0m\n".into(),
        failures: vec![ExpectationFailure::new(
            "scenario[1]",
            Some("expected_exit_code".into()),
            "exit code 0",
            "exit code 3",
        )],
        ..result("load", RunStatus::Failed, 1234)
    };
    let slow = RunResult {
        timeout_ms: 500,
        ..result("slow", RunStatus::TimedOut, 502)
    };
    let missing = RunResult {
        error: Some("cannot start `no-such-tool`: not found".into()),
        ..result("missing", RunStatus::Error, 3)
    };
    let late = result("late", RunStatus::Cancelled, 0);
    let results = [smoke, load, slow, missing, late]
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i, Arc::new(r)))
        .collect();

    let broken = analyzer.analyze(BROKEN, origin, &DiskLoader);
    let diagnostics: Vec<Diagnostic> = broken
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    assert!(!diagnostics.is_empty());
    RunReport {
        files: vec![
            FileRun {
                path: PathBuf::from("tests/api.clnrm.toml"),
                text: TEXT.into(),
                outcome: FileOutcome::Ran {
                    rendered,
                    file,
                    results,
                },
            },
            FileRun {
                path: PathBuf::from("tests/broken.clnrm.toml"),
                text: BROKEN.into(),
                outcome: FileOutcome::Invalid { diagnostics },
            },
        ],
        elapsed_ms: 2100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_exit() {
        let report = fixture_report();
        let s = report.summary();
        assert_eq!(
            (
                s.scenarios,
                s.passed,
                s.failed,
                s.cancelled,
                s.cached,
                s.files_not_run
            ),
            (5, 1, 3, 1, 1, 1)
        );
        assert!(report.failed());
        let ok = RunReport {
            files: report.files[..1]
                .iter()
                .cloned()
                .map(|mut f| {
                    if let FileOutcome::Ran { results, .. } = &mut f.outcome {
                        results.truncate(1);
                    }
                    f
                })
                .collect(),
            elapsed_ms: 1,
        };
        assert!(!ok.failed());
    }

    #[test]
    fn captured_output_cannot_drive_the_terminal() {
        assert_eq!(
            format::plain("a\x1b[1;31mb\x1b[0m\rc\x07\x1b]0;title\x07\n"),
            "abc\n"
        );
        let text = format::human(&fixture_report(), false);
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn human_snapshot() {
        insta::assert_snapshot!(format::human(&fixture_report(), false));
    }

    #[test]
    fn human_colour_is_optional() {
        assert!(format::human(&fixture_report(), true).contains("\x1b["));
        assert!(!format::human(&fixture_report(), false).contains("\x1b["));
    }

    #[test]
    fn json_snapshot() {
        let text = format::json(&fixture_report());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["results"].as_array().map(Vec::len), Some(5));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn junit_snapshot() {
        insta::assert_snapshot!(junit::render(&fixture_report()));
    }
}
