//! One `clnrm-lsp run` invocation: analyse the files, hand them to the engine's runs
//! (`workspace::Runs`: projects, planning with the selection, the runner) and gather the
//! results. Watch mode keeps it (its projects, runner and dependents index) between cycles.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use rayon::prelude::*;

use super::progress::Progress;
use super::{FileOutcome, FileRun, RunReport};
use crate::analysis::template::DiskLoader;
use crate::analysis::{Analysis, Analyzer, Diagnostic, Environment, Rendered};
use crate::documents::discover::{DiscoverError, Target};
use crate::runs::plan::{Plan, PlanError};
use crate::runs::project::Project;
use crate::runs::queue::Priority;
use crate::runs::result::RunResult;
use crate::runs::runner::{BatchOptions, RunEvent};
use crate::runs::selection::Selection;
use crate::workspace::{
    analyse_target, Dependents, FilePlan, FileReport, ProjectOptions, Runs, ToPlan,
};

/// Options of a `run`, from the arguments.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub selection: Selection,
    pub jobs: Option<usize>,
    /// Answer from the result cache (off: `--refresh` and `--no-cache`).
    pub use_cache: bool,
    /// Record results and traces (off: `--no-cache`).
    pub record: bool,
    pub progress: bool,
}

/// What a `run` keeps across watch cycles: one analyzer, the engine's runs, and which test
/// files import or include which libraries.
pub struct RunCommand {
    analyzer: Analyzer,
    opts: RunOptions,
    runs: Runs,
    /// Keyed by the test file's absolute path, from its latest analysis.
    dependents: Dependents<PathBuf>,
}

/// One file ready to run, or already decided.
enum Prepared {
    Run {
        report: FileReport,
        rendered: Arc<Rendered>,
        plan: Plan,
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

impl RunCommand {
    pub fn new(opts: RunOptions) -> Self {
        let runs = Runs::new(ProjectOptions {
            record: opts.record,
            ..ProjectOptions::default()
        });
        runs.fix_workers(opts.jobs);
        Self {
            analyzer: Analyzer::new(Environment::capture()),
            opts,
            runs,
            dependents: Dependents::default(),
        }
    }

    pub fn project(&self, root: &Path) -> Arc<Project> {
        let opened = self.runs.project(root);
        print_config_errors(opened.new_errors());
        opened.project
    }

    /// Wait for the projects' remote-cache uploads; their warnings (each once, masked).
    pub fn finish_remote(&self) -> Vec<String> {
        self.runs.finish_remote()
    }

    /// A configuration file changed: projects are opened again on next use.
    pub fn reopen_projects(&self) {
        self.runs.invalidate();
    }

    /// The test files whose latest analysis imports or includes `changed` (a library).
    pub fn dependents(&self, changed: &Path) -> Vec<PathBuf> {
        self.dependents.dependents_of(changed)
    }

    /// Analyse, plan and run `targets`; results in target order.
    pub fn run(&mut self, targets: &[Target], problems: &mut Problems) -> RunReport {
        let start = Instant::now();
        let analysed: Vec<_> = targets
            .par_iter()
            .map(|t| (t, analyse_target(t, &self.analyzer, &DiskLoader)))
            .collect();
        let mut files = Vec::new();
        for (target, result) in analysed {
            match result {
                Ok((report, analysis)) => {
                    let abs = crate::documents::fs::absolute(&target.path);
                    self.dependents.set(abs.clone(), &analysis.dependencies);
                    files.push((target, abs, report, analysis));
                }
                Err(e) => problems.errors.push(e),
            }
        }
        let planning = self.runs.plan(
            files.iter().map(|(target, abs, report, analysis)| ToPlan {
                path: abs,
                root: &target.root,
                analysis,
                diagnostics: &report.diagnostics,
            }),
            &self.opts.selection,
        );
        print_config_errors(&planning.config_errors);
        if !planning.unknown.is_empty() {
            problems.unknown_scenarios = planning.unknown;
            return RunReport::default();
        }
        let shard = planning.shard.clone();
        let prepared: Vec<Prepared> = files
            .into_iter()
            .zip(planning.files)
            .map(|((_, _, report, analysis), planned)| prepare(report, &analysis, planned))
            .collect();
        let results = self.execute(&prepared);
        RunReport {
            files: collect(prepared, results),
            elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            shard,
        }
    }

    /// Submit every plan to the runner and wait until each batch has all its results,
    /// showing progress. Results per prepared file, in arrival order.
    fn execute(&mut self, prepared: &[Prepared]) -> Vec<Vec<(usize, Arc<RunResult>)>> {
        let mut results = vec![Vec::new(); prepared.len()];
        let batches: Vec<(usize, &Plan, &Arc<Project>)> = prepared
            .iter()
            .enumerate()
            .filter_map(|(slot, p)| match p {
                Prepared::Run { plan, project, .. } if !plan.runs.is_empty() => {
                    Some((slot, plan, project))
                }
                _ => None,
            })
            .collect();
        if batches.is_empty() {
            return results;
        }
        let total = batches.iter().map(|b| b.1.runs.len()).sum();
        let (tx, rx) = mpsc::channel::<(usize, RunEvent)>();
        for &(slot, plan, project) in &batches {
            let tx = tx.clone();
            let sink = Arc::new(move |e: RunEvent| {
                let _ = tx.send((slot, e));
            });
            let opts = BatchOptions {
                priority: Priority::Explicit,
                use_cache: self.opts.use_cache,
            };
            self.runs.submit(project, plan.clone(), opts, sink);
        }
        // Only the jobs hold senders now: if they all vanish, the loop ends.
        drop(tx);

        let mut pending = batches.len();
        let mut progress = Progress::new(self.opts.progress, total);
        while pending > 0 {
            let Ok((slot, event)) = rx.recv() else {
                break;
            };
            match event {
                RunEvent::Started { path, scenario, .. } => {
                    let shown = match prepared.get(slot) {
                        Some(Prepared::Run { report, .. }) => report.path.as_path(),
                        _ => path.as_path(),
                    };
                    progress.started(shown, &scenario);
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
        results
    }
}

fn print_config_errors(errors: &[crate::config::ConfigError]) {
    for e in errors {
        eprintln!("clnrm-lsp: {e} (defaults used)");
    }
}

/// One analysed file with what the engine planned for it: it runs, or it is decided now.
fn prepare(
    report: FileReport,
    analysis: &Analysis,
    planned: Result<FilePlan, PlanError>,
) -> Prepared {
    match (planned, &analysis.rendered) {
        (Ok(FilePlan { plan, project }), Some(rendered)) => {
            let mut notes: Vec<&String> = plan.runs.iter().flat_map(|r| &r.notes).collect();
            notes.sort();
            notes.dedup();
            for note in notes {
                eprintln!("clnrm-lsp: note: {}: {note}", report.path.display());
            }
            Prepared::Run {
                report,
                rendered: rendered.clone(),
                plan,
                project,
            }
        }
        (Ok(_), None) => Prepared::Done(invalid(report, PlanError::NotRendered)),
        (Err(PlanError::Empty), _) => {
            eprintln!(
                "clnrm-lsp: note: {}: skipped, the file defines no scenario",
                report.path.display()
            );
            Prepared::Skip
        }
        (Err(PlanError::NotSelected), _) => Prepared::Skip,
        (Err(e), _) => Prepared::Done(invalid(report, e)),
    }
}

/// The files that ran or were decided, in order, each run's results in file order.
fn collect(prepared: Vec<Prepared>, results: Vec<Vec<(usize, Arc<RunResult>)>>) -> Vec<FileRun> {
    let mut files = Vec::new();
    for (p, mut results) in prepared.into_iter().zip(results) {
        match p {
            Prepared::Run {
                report,
                rendered,
                plan,
                ..
            } if !plan.runs.is_empty() => {
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
            Prepared::Run { .. } | Prepared::Skip => {}
        }
    }
    files
}

/// A file that will not run, with why and its errors.
fn invalid(report: FileReport, why: PlanError) -> FileRun {
    let diagnostics = report
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    FileRun {
        path: report.path,
        text: report.text,
        outcome: FileOutcome::Invalid {
            reason: why.to_string(),
            diagnostics,
        },
    }
}
