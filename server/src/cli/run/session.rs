//! One `run` session: analyse, plan and run files on one runner, and gather the results.
//! Watch mode keeps the session (its projects, runner and analyses) between cycles.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use rayon::prelude::*;

use super::progress::Progress;
use super::{FileOutcome, FileRun, RunReport};
use crate::analysis::template::DiskLoader;
use crate::analysis::{Analysis, Analyzer, Diagnostic, Environment, Rendered};
use crate::documents::discover::{DiscoverError, Target};
use crate::runs::plan::{plan, refuse_errors, Plan, PlanError};
use crate::runs::project::Project;
use crate::runs::queue::Priority;
use crate::runs::result::RunResult;
use crate::runs::runner::{BatchOptions, RunEvent, Runner};
use crate::workspace::{analyse_target, FileReport};

/// Options of a session, from the arguments.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub scenarios: Vec<String>,
    pub jobs: Option<usize>,
    /// Answer from the result cache (off: `--refresh` and `--no-cache`).
    pub use_cache: bool,
    /// Record results and traces (off: `--no-cache`).
    pub record: bool,
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
        let record = self.opts.record;
        self.projects
            .entry(root.to_path_buf())
            .or_insert_with(|| {
                let p = Project::open(root, None);
                for e in &p.config_errors {
                    eprintln!("clnrm-lsp: {e} (defaults used)");
                }
                Arc::new(if record { p } else { p.without_cache() })
            })
            .clone()
    }

    /// Wait for the projects' remote-cache uploads; their warnings (each once, masked).
    pub fn finish_remote(&self) -> Vec<String> {
        self.projects
            .values()
            .filter_map(|p| p.cache.as_ref())
            .flat_map(|c| c.finish_remote())
            .collect()
    }

    /// A configuration file changed: projects are opened again on next use.
    pub fn reopen_projects(&mut self) {
        self.projects.clear();
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
            .map(|t| (t, analyse_target(t, &self.analyzer, &DiskLoader)))
            .collect();
        let mut prepared: Vec<Prepared> = analysed
            .into_iter()
            .map(|(target, result)| match result {
                Ok((report, analysis)) => self.prepare(target, report, analysis),
                Err(e) => {
                    problems.errors.push(e);
                    Prepared::Skip
                }
            })
            .collect();
        self.select(&mut prepared, problems);
        if !problems.unknown_scenarios.is_empty() {
            return RunReport::default();
        }
        let results = self.execute(&prepared);
        RunReport {
            files: collect(prepared, results),
            elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Plan one analysed file (all its scenarios), or decide it will not run.
    fn prepare(
        &mut self,
        target: &Target,
        report: FileReport,
        analysis: Arc<Analysis>,
    ) -> Prepared {
        let abs = std::path::absolute(&target.path).unwrap_or_else(|_| target.path.clone());
        self.analyses.insert(abs.clone(), analysis.clone());
        if let Err(why) = refuse_errors(&report.diagnostics) {
            return Prepared::Done(invalid(report, why));
        }
        let project = self.project(&target.root);
        match (plan(&abs, &analysis, &project, &[]), &analysis.rendered) {
            (Ok(plan), Some(rendered)) => {
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
            (Err(e), _) => Prepared::Done(invalid(report, e)),
        }
    }

    /// `--scenario`: keep only the named runs (files without any are skipped); a name no
    /// file defines is a usage problem, unless a file with errors might be the one.
    fn select(&self, prepared: &mut [Prepared], problems: &mut Problems) {
        let only = &self.opts.scenarios;
        if only.is_empty() {
            return;
        }
        let known: BTreeSet<&str> = prepared
            .iter()
            .filter_map(|p| match p {
                Prepared::Run { plan, .. } => Some(plan),
                _ => None,
            })
            .flat_map(|plan| plan.file.scenarios.iter().map(|s| s.name.as_str()))
            .collect();
        let some_planned = prepared.iter().any(|p| matches!(p, Prepared::Run { .. }));
        let none_invalid = !prepared.iter().any(|p| matches!(p, Prepared::Done(_)));
        if some_planned && none_invalid {
            problems.unknown_scenarios = only
                .iter()
                .filter(|n| !known.contains(n.as_str()))
                .cloned()
                .collect();
        }
        for p in prepared.iter_mut() {
            if let Prepared::Run { plan, .. } = p {
                plan.runs.retain(|r| only.contains(&r.name));
                if plan.runs.is_empty() {
                    *p = Prepared::Skip;
                }
            }
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
        let Some(first) = batches.first() else {
            return results;
        };
        let jobs = self
            .opts
            .jobs
            .unwrap_or_else(|| first.2.config.executor.workers());
        let runner = self.runner.get_or_insert_with(|| Runner::new(jobs));
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
            runner.submit(project, plan.clone(), opts, sink);
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
