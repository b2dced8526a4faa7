//! The run use case, once for both faces: one [`Runner`] (the worker queue and what it
//! knows of results), the per-root [`Projects`], and planning a batch of files with a
//! [`Selection`]. The editor holds one `Runs` per server, `clnrm-lsp run` one per
//! invocation (kept across `--watch` cycles).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::projects::{Opened, ProjectOptions, Projects};
use crate::analysis::{Analysis, Diagnostic};
use crate::config::{ConfigError, ExecutorConfig};
use crate::runs::plan::{plan, refuse_errors, Plan, PlanError};
use crate::runs::project::Project;
use crate::runs::report::{self, RunLens};
use crate::runs::runner::{BatchOptions, EventSink, Runner};
use crate::runs::selection::Selection;
use crate::runs::shard::{split, Item, Shard};

/// One analysed file to plan.
#[derive(Clone, Copy)]
pub struct ToPlan<'a> {
    /// Absolute.
    pub path: &'a Path,
    /// Its workspace root (whose project it runs in).
    pub root: &'a Path,
    pub analysis: &'a Analysis,
    /// What the file shows: its analysis's, or reading it gave (`invalid-encoding`).
    pub diagnostics: &'a [Diagnostic],
}

/// A file's planned runs and the project they run in.
#[derive(Clone)]
pub struct FilePlan {
    pub plan: Plan,
    pub project: Arc<Project>,
}

/// A batch planned: per file (in order) its plan or why it does not run, and the selected
/// names no file defines.
#[derive(Default)]
pub struct Planning {
    /// `Err(Empty)`: no scenario at all; `Err(NotSelected)`: none selected; other errors:
    /// the file cannot run (errors in it, not rendered).
    pub files: Vec<Result<FilePlan, PlanError>>,
    /// Selected names no file of the batch defines. Reported only when the batch could be
    /// judged: some file planned and none failed to (a file with errors might define them).
    pub unknown: Vec<String>,
    /// Every scenario name of the planned files, in order, once each.
    pub known: Vec<String>,
    /// Configuration problems of projects opened while planning (to show once).
    pub config_errors: Vec<ConfigError>,
    /// With a shard selected: which one, of how many pairs, and the split's fingerprint.
    pub shard: Option<ShardPlan>,
}

/// The shard a batch was planned for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShardPlan {
    pub index: usize,
    pub total: usize,
    /// (file, scenario) pairs of the whole selection, and of this shard.
    pub pairs: usize,
    pub selected: usize,
    /// The same in every shard of one split (`report merge` checks it).
    pub fingerprint: String,
}

impl Planning {
    /// The plan of a batch of one file; a selected name it lacks is an error.
    pub fn into_single(self) -> Result<FilePlan, PlanError> {
        if let Some(name) = self.unknown.into_iter().next() {
            return Err(PlanError::UnknownScenario {
                name,
                available: self.known.join(", "),
            });
        }
        self.files
            .into_iter()
            .next()
            .unwrap_or(Err(PlanError::Empty))
    }
}

pub struct Runs {
    runner: Runner,
    projects: Projects,
    /// The number of workers was set by the user (`--jobs`, a client setting); otherwise
    /// each project opened sets it from its `[executor]` section.
    workers_fixed: AtomicBool,
}

impl Runs {
    pub fn new(options: ProjectOptions) -> Self {
        Self {
            runner: Runner::new(ExecutorConfig::default().workers()),
            projects: Projects::new(options),
            workers_fixed: AtomicBool::new(false),
        }
    }

    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// Workers set by the user (`None`: from each project's configuration again).
    pub fn fix_workers(&self, workers: Option<usize>) {
        if let Some(n) = workers {
            self.runner.executor().set_workers(n);
        }
        self.workers_fixed
            .store(workers.is_some(), Ordering::Relaxed);
    }

    /// New project options (client settings changed): projects open again on next use.
    pub fn set_project_options(&self, options: ProjectOptions) {
        self.projects.set_options(options);
    }

    pub fn project_options(&self) -> ProjectOptions {
        self.projects.options()
    }

    /// A configuration file changed: projects open again on next use.
    pub fn invalidate(&self) {
        self.projects.clear();
    }

    /// The project of `root`, opened if need be. Blocking (`auto` may probe `docker info`).
    pub fn project(&self, root: &Path) -> Opened {
        let opened = self.projects.get(root);
        if opened.now && !self.workers_fixed.load(Ordering::Relaxed) {
            self.runner
                .executor()
                .set_workers(opened.project.config.executor.workers());
        }
        opened
    }

    /// Hold every project open back until the guard drops.
    #[cfg(test)]
    pub(crate) fn hold_project_opening(&self) -> std::sync::MutexGuard<'_, ()> {
        self.projects.hold_opening()
    }

    /// The project of `root` if it is open now (never blocks).
    pub fn open_project(&self, root: &Path) -> Option<Arc<Project>> {
        self.projects.get_open(root)
    }

    /// Plan `files` for the scenarios `selection` keeps. A file with errors is refused
    /// before its project opens.
    pub fn plan<'a>(
        &self,
        files: impl IntoIterator<Item = ToPlan<'a>>,
        selection: &Selection,
    ) -> Planning {
        let mut planning = Planning::default();
        for f in files {
            let planned = refuse_errors(f.diagnostics).and_then(|()| {
                let opened = self.project(f.root);
                planning
                    .config_errors
                    .extend_from_slice(opened.new_errors());
                let plan = plan(f.path, f.analysis, &opened.project, &Selection::all())?;
                Ok(FilePlan {
                    plan,
                    project: opened.project,
                })
            });
            planning.files.push(planned);
        }
        select(&mut planning, selection);
        planning
    }

    /// Queue `plan`'s runs; events arrive on `sink`.
    pub fn submit(&self, project: &Arc<Project>, plan: Plan, opts: BatchOptions, sink: EventSink) {
        self.runner.submit(project, plan, opts, sink);
    }

    /// Each scenario of an analysed file with what is known of its run now; without its
    /// project (not open yet), `▶ Run` for each.
    pub fn lenses(
        &self,
        project: Option<&Project>,
        path: &Path,
        analysis: &Analysis,
    ) -> Vec<RunLens> {
        match project {
            Some(p) => report::lenses(&self.runner, p, path, analysis),
            None => report::pending_lenses(analysis),
        }
    }

    /// The last run results of `path`, placed in its current analysis.
    pub fn last_run_diagnostics(&self, path: &Path, analysis: &Analysis) -> Vec<Diagnostic> {
        report::last_run_diagnostics(&self.runner, path, analysis)
    }

    /// Whether `path` has results (this session's, or restored from the cache).
    pub fn has_results(&self, path: &Path) -> bool {
        !self.runner.last_results(path).is_empty()
    }

    pub fn forget(&self, path: &Path) {
        self.runner.forget(path);
    }

    /// Wait for the open projects' remote-cache uploads (each within its upload timeout)
    /// and return the remote warnings of this run, each once, credentials masked.
    pub fn finish_remote(&self) -> Vec<String> {
        self.projects
            .open_now()
            .iter()
            .filter_map(|p| p.cache.as_ref())
            .flat_map(|c| c.finish_remote())
            .collect()
    }

    /// The executor's counters and each open project's result cache.
    pub fn stats(&self) -> serde_json::Value {
        let results: serde_json::Map<String, serde_json::Value> = self
            .projects
            .open_now()
            .iter()
            .filter_map(|p| {
                let stats = p.cache.as_ref()?.stats().ok()?;
                Some((
                    p.root.display().to_string(),
                    serde_json::to_value(stats).ok()?,
                ))
            })
            .collect();
        serde_json::json!({
            "executor": self.runner.executor().stats(),
            "results": results,
        })
    }
}

/// Apply `selection` to a planned batch: unknown names, then the runs each file keeps.
fn select(planning: &mut Planning, selection: &Selection) {
    let mut known: Vec<String> = Vec::new();
    for f in planning.files.iter().flatten() {
        for s in &f.plan.file.scenarios {
            if !known.contains(&s.name) {
                known.push(s.name.clone());
            }
        }
    }
    let some_planned = planning.files.iter().any(Result::is_ok);
    let none_failed = planning
        .files
        .iter()
        .all(|f| matches!(f, Ok(_) | Err(PlanError::Empty)));
    if some_planned && none_failed {
        planning.unknown = selection.unknown(known.iter().map(String::as_str));
    }
    planning.known = known;
    for f in planning.files.iter_mut().flatten() {
        f.plan.runs.retain(|r| selection.admits(&r.name));
    }
    if let Some(shard) = selection.shard {
        planning.shard = Some(select_shard(planning, shard));
    }
    for f in &mut planning.files {
        if matches!(f, Ok(fp) if fp.plan.runs.is_empty()) {
            *f = Err(PlanError::NotSelected);
        }
    }
}

/// Keep `shard`'s part of the pairs the selection kept. Pairs are named by their
/// workspace-relative path and scenario name and weighed by the durations the local
/// result cache recorded (never the remote's, which would differ between shards started
/// at different moments), so every shard of one commit and cache state splits alike.
fn select_shard(planning: &mut Planning, shard: Shard) -> ShardPlan {
    let mut items = Vec::new();
    for fp in planning.files.iter().flatten() {
        let root = &fp.project.root;
        let rel = super::root::workspace_relative(root, &fp.plan.path);
        for r in &fp.plan.runs {
            let recorded = fp.project.cache.as_ref().and_then(|c| c.peek(&r.key));
            items.push(Item {
                id: format!("{rel}\u{0}{}", r.name),
                duration_ms: recorded.map(|res| res.duration_ms),
            });
        }
    }
    let split = split(&items, shard.total);
    let mut i = 0;
    for fp in planning.files.iter_mut().flatten() {
        fp.plan.runs.retain(|_| {
            i += 1;
            split.contains(shard, i - 1)
        });
    }
    ShardPlan {
        index: shard.index,
        total: shard.total,
        pairs: items.len(),
        selected: split
            .shard_of
            .iter()
            .filter(|s| **s == shard.index - 1)
            .count(),
        fingerprint: split.fingerprint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::DiskLoader;
    use crate::analysis::{Analyzer, Environment, Origin};

    const AB: &str = "[meta]\nname = \"ab\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"a\"\nrun = \"true\"\n\n[[scenario]]\nname = \"b\"\nrun = \"true\"\n";
    const C: &str =
        "[meta]\nname = \"c\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"c\"\nrun = \"true\"\n";
    const BROKEN: &str = "[meta]\nname = \"b\"\nversion = \"1.0\"\n\n[[scenario]]\nname = 1\n";

    struct Batch {
        dir: tempfile::TempDir,
        runs: Runs,
        files: Vec<(std::path::PathBuf, Arc<Analysis>)>,
    }

    /// Test files in one workspace, analysed; runs on the local backend only.
    fn batch(texts: &[&str]) -> Batch {
        let dir = tempfile::tempdir().unwrap();
        let analyzer = Analyzer::new(Environment::empty());
        let files = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("t{i}.clnrm.toml"));
                std::fs::write(&path, text).unwrap();
                let origin = Origin {
                    path: Some(&path),
                    workspace_root: Some(dir.path()),
                    kind: None,
                };
                let analysis = analyzer.analyze(text, origin, &DiskLoader);
                (path, analysis)
            })
            .collect();
        let runs = Runs::new(ProjectOptions {
            overlay: Some(serde_json::json!({ "executor": { "backend": "local" } })),
            ..ProjectOptions::default()
        });
        Batch { dir, runs, files }
    }

    impl Batch {
        fn plan(&self, selection: &Selection) -> Planning {
            let files = self.files.iter().map(|(path, analysis)| ToPlan {
                path,
                root: self.dir.path(),
                analysis,
                diagnostics: &analysis.diagnostics,
            });
            self.runs.plan(files, selection)
        }
    }

    fn names(f: &Result<FilePlan, PlanError>) -> Result<Vec<&str>, &PlanError> {
        f.as_ref()
            .map(|fp| fp.plan.runs.iter().map(|r| r.name.as_str()).collect())
    }

    #[test]
    fn all_plans_every_scenario_of_every_file() {
        let b = batch(&[AB, C]);
        let p = b.plan(&Selection::all());
        assert_eq!(names(&p.files[0]), Ok(vec!["a", "b"]));
        assert_eq!(names(&p.files[1]), Ok(vec!["c"]));
        assert!(p.unknown.is_empty());
        assert_eq!(p.known, vec!["a", "b", "c"]);
    }

    #[test]
    fn a_name_selects_its_scenario_wherever_it_is_and_unknown_names_are_reported() {
        let b = batch(&[AB, C]);
        let p = b.plan(&Selection::named(["c", "typo"]));
        assert_eq!(names(&p.files[0]), Err(&PlanError::NotSelected));
        assert_eq!(names(&p.files[1]), Ok(vec!["c"]));
        assert_eq!(p.unknown, vec!["typo"]);
    }

    #[test]
    fn a_file_with_errors_might_define_the_name_so_none_is_unknown() {
        let b = batch(&[AB, BROKEN]);
        let p = b.plan(&Selection::named(["typo"]));
        assert_eq!(names(&p.files[0]), Err(&PlanError::NotSelected));
        assert!(matches!(p.files[1], Err(PlanError::Invalid(_))));
        assert!(p.unknown.is_empty());
    }

    #[test]
    fn one_file_names_the_scenario_it_lacks_and_those_it_has() {
        let b = batch(&[AB]);
        let err = b.plan(&Selection::named(["zz"])).into_single().err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("no scenario named `zz` (scenarios: a, b)")
        );
        let one = b.plan(&Selection::named(["b"])).into_single();
        assert_eq!(names(&one), Ok(vec!["b"]));
    }

    #[test]
    fn a_file_with_errors_is_refused_before_its_project_opens() {
        let b = batch(&[BROKEN]);
        let p = b.plan(&Selection::all());
        assert!(matches!(p.files[0], Err(PlanError::Invalid(_))));
        assert!(b.runs.open_project(b.dir.path()).is_none());
    }
}
