//! Runs planned scenarios on the executor. A scenario whose key has a cached result is
//! answered at once; the others are queued. Every finished run is cached (when its verdict
//! can be trusted again), its trace kept for the diff, and reported as an event.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use super::inputs::Place;
use super::plan::Plan;
use super::process::CancelToken;
use super::project::Project;
use super::queue::{Executor, JobTag, Priority, Work};
use super::result::{RunResult, RunStatus};
use super::scenario::execute;
use super::services::FileServices;
use crate::analysis::ContentKey;
use crate::cache::BoundedCache;

/// Progress of one batch, reported from the thread that did the work.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// A scenario starts running (`ordinal` of `total` in its batch, counting cache hits).
    Started {
        path: PathBuf,
        scenario: String,
        ordinal: usize,
        total: usize,
    },
    /// A scenario has its result (restored, run, or cancelled). `done == total` ends the batch.
    Finished {
        path: PathBuf,
        index: usize,
        key: ContentKey,
        result: Arc<RunResult>,
        done: usize,
        total: usize,
    },
}

pub type EventSink = Arc<dyn Fn(RunEvent) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    pub priority: Priority,
    /// Answer from the result cache when it has the key (off: run again, then cache, as
    /// `--refresh` does; `--no-cache` is a project that records nothing).
    pub use_cache: bool,
}

/// What is known about a scenario key right now.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    Idle,
    Queued,
    Running,
    Done(Arc<RunResult>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Queued,
    Running,
}

/// Results and activity by key, shared with the jobs.
struct Board {
    /// Latest results of this session (also when caching is off); bounded.
    latest: BoundedCache<ContentKey, Arc<RunResult>>,
    /// The last result of each scenario by file and name, whatever its key: what the
    /// editor keeps showing (as diagnostics) until the scenario runs again.
    last: DashMap<PathBuf, BTreeMap<String, Arc<RunResult>>>,
    /// Keys queued or running, with the id of the job that owns the entry.
    active: DashMap<ContentKey, (u64, Activity)>,
    next_job: AtomicU64,
}

pub struct Runner {
    executor: Executor,
    board: Arc<Board>,
}

/// Results kept in memory for lenses, independent of the result cache.
const LATEST_ENTRIES: usize = 4096;
const LATEST_BYTES: usize = 64 * 1024 * 1024;

impl Runner {
    pub fn new(workers: usize) -> Self {
        Self {
            executor: Executor::new(workers),
            board: Arc::new(Board {
                latest: BoundedCache::new(LATEST_ENTRIES, LATEST_BYTES),
                last: DashMap::new(),
                active: DashMap::new(),
                next_job: AtomicU64::new(1),
            }),
        }
    }

    /// What a job of `plan` needs of the runner.
    fn job_context(&self, project: &Arc<Project>, plan: &Plan) -> JobContext {
        JobContext {
            board: self.board.clone(),
            project: project.clone(),
            file: plan.file.clone(),
        }
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Run `plan`. A newer request supersedes older ones: runs of the same file still
    /// queued or running are cancelled (all of them for a whole-file plan, else those of
    /// the same scenarios).
    ///
    /// Scenarios that use services run one after another in one job, around one start of
    /// each service (clnrm runs a file's scenarios in sequence around its services); the
    /// services stop when that job ends, after the file's last such scenario. Other
    /// scenarios are jobs of their own and run in parallel.
    pub fn submit(&self, project: &Arc<Project>, plan: Plan, opts: BatchOptions, sink: EventSink) {
        let names: HashSet<&str> = plan.runs.iter().map(|r| r.name.as_str()).collect();
        let whole_file = plan.runs.len() == plan.file.scenarios.len();
        self.executor.cancel(|tag| {
            tag.file == plan.path
                && (whole_file || tag.scenarios.iter().any(|s| names.contains(s.as_str())))
        });

        let total = plan.runs.len();
        let started = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(std::sync::Mutex::new(0usize));
        let engine = project.services_engine();
        let mut jobs: Vec<(JobTag, Work)> = Vec::new();
        if let (true, Some(cache)) = (opts.use_cache, &project.cache) {
            // A remote tier answers the batch's lookups at once, not one by one below.
            cache.prefetch(
                plan.runs
                    .iter()
                    .filter(|r| r.blocked.is_none())
                    .map(|r| r.key),
            );
        }
        let mut with_services: Vec<Member> = Vec::new();
        for run in &plan.runs {
            let batch = Batch {
                path: plan.path.clone(),
                index: run.index,
                key: run.key,
                total,
                started: started.clone(),
                done: done.clone(),
                sink: sink.clone(),
            };
            if let Some(why) = &run.blocked {
                // Nothing to run (an image the engine lacks): an error, never cached.
                batch.start(&run.name);
                let r = Arc::new(RunResult {
                    backend: project.backend_kind(),
                    ..RunResult::without_run(&run.name, RunStatus::Error, Some(why.clone()))
                });
                // By key too, as any result: the lens shows the error, not ▶ Run again.
                self.board.latest.insert(run.key, r.clone(), weight(&r));
                self.board.remember(&plan.path, &run.name, r.clone());
                batch.finish(r);
                continue;
            }
            if opts.use_cache {
                if let Some(hit) = self.restore(project, &run.key) {
                    batch.start(&run.name);
                    let hit = Arc::new(hit);
                    self.board
                        .keep(project, &plan.path, &run.name, &run.key, hit.clone());
                    batch.finish(hit);
                    continue;
                }
            }
            let job = self.board.next_job.fetch_add(1, Ordering::Relaxed);
            self.board.active.insert(run.key, (job, Activity::Queued));
            let member = Member {
                batch,
                name: run.name.clone(),
                job,
            };
            let uses_services = plan
                .file
                .scenarios
                .get(run.index)
                .is_some_and(|s| !plan.file.services_of(s).is_empty());
            if uses_services && engine.is_some() {
                with_services.push(member);
                continue;
            }
            let ctx = self.job_context(project, &plan);
            let tag = JobTag {
                file: plan.path.clone(),
                scenarios: vec![member.name.clone()],
            };
            let work: Work = Box::new(move |cancel: &CancelToken| ctx.run(member, None, cancel));
            jobs.push((tag, work));
        }
        if let (Some(engine), false) = (engine, with_services.is_empty()) {
            let ctx = self.job_context(project, &plan);
            let tag = JobTag {
                file: plan.path.clone(),
                scenarios: with_services.iter().map(|m| m.name.clone()).collect(),
            };
            let work: Work = Box::new(move |cancel: &CancelToken| {
                // Dropped when the job ends: the services stop after its last scenario,
                // however that ended.
                let services = FileServices::new(engine, ctx.project.settings.workspace.clone());
                for member in with_services {
                    ctx.run(member, Some(&services), cancel);
                }
            });
            jobs.push((tag, work));
        }
        if !jobs.is_empty() {
            self.executor.submit(opts.priority, jobs);
        }
    }

    /// What is known about scenario `name` of `path` with `key`: running or queued, else
    /// its latest or cached result (a cached one becomes the scenario's last result).
    pub fn state(&self, project: &Project, path: &Path, name: &str, key: &ContentKey) -> RunState {
        if let Some(entry) = self.board.active.get(key) {
            return match entry.1 {
                Activity::Queued => RunState::Queued,
                Activity::Running => RunState::Running,
            };
        }
        if let Some(r) = self.board.latest.get(key) {
            return RunState::Done(r);
        }
        // Asked on every edit: never waits on a remote cache (see `ResultCache::prefetch`).
        let local = project.cache.as_ref().and_then(|c| c.get_local(key));
        match local.map(|mut r| {
            r.cached = true;
            r
        }) {
            Some(r) => {
                let r = Arc::new(r);
                self.board.latest.insert(*key, r.clone(), weight(&r));
                self.board.remember(path, name, r.clone());
                RunState::Done(r)
            }
            None => RunState::Idle,
        }
    }

    /// The last result of each scenario of `path` (by name), run or restored.
    pub fn last_results(&self, path: &Path) -> BTreeMap<String, Arc<RunResult>> {
        self.board
            .last
            .get(path)
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Forget the last results of `path` (the document was closed).
    pub fn forget(&self, path: &Path) {
        self.board.last.remove(path);
    }

    fn restore(&self, project: &Project, key: &ContentKey) -> Option<RunResult> {
        let mut hit = project.cache.as_ref()?.get(key)?;
        hit.cached = true;
        Some(hit)
    }
}

/// What a job needs to run its scenarios and record their results.
struct JobContext {
    board: Arc<Board>,
    project: Arc<Project>,
    file: Arc<crate::model::TestFile>,
}

/// One scenario of a job.
struct Member {
    batch: Batch,
    name: String,
    /// Its entry in `Board::active`.
    job: u64,
}

impl JobContext {
    /// Run one scenario (or report it cancelled), cache and keep its result, report it.
    fn run(&self, member: Member, services: Option<&FileServices>, cancel: &CancelToken) {
        let Member { batch, name, job } = member;
        let (board, project, file) = (&self.board, &self.project, &self.file);
        let result = if cancel.is_cancelled() {
            cancelled(&name)
        } else {
            board.mark(&batch.key, job, Activity::Running);
            batch.start(&name);
            let dir = batch.path.parent().unwrap_or(&project.root);
            let place = Place {
                root: &project.root,
                dir,
            };
            match file.scenarios.get(batch.index) {
                Some(scenario) => execute(
                    file,
                    scenario,
                    place,
                    project.backend.as_ref(),
                    &project.settings,
                    services,
                    cancel,
                ),
                None => cancelled(&name),
            }
        };
        let result = Arc::new(result);
        if result.status != RunStatus::Cancelled {
            if let Some(cache) = &project.cache {
                cache.record_run(result.duration_ms);
                if !cacheable(&result) {
                    cache.flush_stats();
                } else if let Err(e) = cache.put(&batch.key, &result) {
                    tracing::warn!("cannot cache the result of `{name}`: {e}");
                }
            }
            // The key's latest result before it stops being active, the file's last
            // result after: a lens never says "running" for a result that diagnostics
            // already show.
            board
                .latest
                .insert(batch.key, result.clone(), weight(&result));
            board.release(&batch.key, job);
            board.keep(project, &batch.path, &name, &batch.key, result.clone());
        } else {
            board.release(&batch.key, job);
        }
        batch.finish(result);
    }
}

impl Board {
    fn mark(&self, key: &ContentKey, job: u64, activity: Activity) {
        if let Some(mut e) = self.active.get_mut(key) {
            if e.0 == job {
                e.1 = activity;
            }
        }
    }

    fn release(&self, key: &ContentKey, job: u64) {
        self.active.remove_if(key, |_, (owner, _)| *owner == job);
    }

    fn remember(&self, path: &Path, scenario: &str, result: Arc<RunResult>) {
        self.last
            .entry(path.to_path_buf())
            .or_default()
            .insert(scenario.to_string(), result);
    }

    /// Remember a result and keep its trace for the diff: the latest run's, or a restored
    /// one's unless the trace on disk is newer (a `--no-cache` run or another clone's
    /// result must not be overwritten by an older cached trace). Nothing is written
    /// when the project records nothing (`--no-cache`).
    fn keep(
        &self,
        project: &Project,
        path: &Path,
        scenario: &str,
        key: &ContentKey,
        result: Arc<RunResult>,
    ) {
        self.latest.insert(*key, result.clone(), weight(&result));
        self.remember(path, scenario, result.clone());
        if !project.record {
            return;
        }
        if result.cached {
            let on_disk = crate::traces::baseline::load_last_trace(&project.root, path, scenario)
                .ok()
                .flatten();
            if on_disk.is_some_and(|t| newest(&t) > newest(&result.spans)) {
                return;
            }
        }
        if let Err(e) =
            crate::traces::baseline::save_last_trace(&project.root, path, scenario, &result.spans)
        {
            tracing::warn!("cannot keep the trace of `{scenario}`: {e}");
        }
    }
}

/// One scenario's share of its batch's counters.
struct Batch {
    path: PathBuf,
    index: usize,
    key: ContentKey,
    total: usize,
    started: Arc<AtomicUsize>,
    /// Results sent so far; held while sending, so `done` arrives in order and the event
    /// with `done == total` is the batch's last (a receiver that stops there loses none).
    done: Arc<std::sync::Mutex<usize>>,
    sink: EventSink,
}

impl Batch {
    fn start(&self, scenario: &str) {
        let ordinal = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        (self.sink)(RunEvent::Started {
            path: self.path.clone(),
            scenario: scenario.to_string(),
            ordinal,
            total: self.total,
        });
    }

    fn finish(&self, result: Arc<RunResult>) {
        let mut sent = self.done.lock().unwrap_or_else(|p| p.into_inner());
        *sent += 1;
        let done = *sent;
        (self.sink)(RunEvent::Finished {
            path: self.path.clone(),
            index: self.index,
            key: self.key,
            result,
            done,
            total: self.total,
        });
    }
}

/// Only verdicts worth repeating: a timeout, a spawn failure or a cancellation says more
/// about the machine than about the scenario.
fn cacheable(r: &RunResult) -> bool {
    matches!(r.status, RunStatus::Passed | RunStatus::Failed)
}

/// When a trace ended (its latest span end), for "is the trace on disk newer".
fn newest(spans: &[crate::traces::Span]) -> u64 {
    spans
        .iter()
        .filter_map(|s| s.end_time_unix_nano.or(s.start_time_unix_nano))
        .max()
        .unwrap_or(0)
}

fn weight(r: &RunResult) -> usize {
    512 + r.stdout_tail.len() + r.stderr_tail.len() + r.spans.len() * 256
}

fn cancelled(scenario: &str) -> RunResult {
    RunResult::without_run(scenario, RunStatus::Cancelled, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Analysis, Rendered};
    use crate::config::Config;
    use crate::runs::plan::plan;
    use crate::runs::selection::Selection;
    use std::sync::mpsc;
    use std::time::Duration;

    struct Fixture {
        dir: tempfile::TempDir,
        project: Arc<Project>,
        runner: Runner,
    }

    fn fixture(workers: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let project = Arc::new(Project::with_config(dir.path(), Config::default(), vec![]));
        Fixture {
            dir,
            project,
            runner: Runner::new(workers),
        }
    }

    impl Fixture {
        fn path(&self) -> PathBuf {
            self.dir.path().join("t.clnrm.toml")
        }

        fn plan(&self, text: &str) -> Plan {
            let analysis = Analysis {
                rendered: Some(Arc::new(Rendered::verbatim(text))),
                parsed: true,
                ..Analysis::default()
            };
            plan(&self.path(), &analysis, &self.project, &Selection::all()).unwrap()
        }

        /// Submit and collect the batch's finished results in completion order.
        fn run(&self, text: &str, use_cache: bool) -> Vec<Arc<RunResult>> {
            let rx = self.submit(text, use_cache);
            collect(&rx)
        }

        fn submit(&self, text: &str, use_cache: bool) -> mpsc::Receiver<RunEvent> {
            let (tx, rx) = mpsc::channel();
            let tx = std::sync::Mutex::new(tx);
            let sink: EventSink = Arc::new(move |ev| {
                let _ = tx.lock().unwrap().send(ev);
            });
            let opts = BatchOptions {
                priority: Priority::OnSave,
                use_cache,
            };
            self.runner
                .submit(&self.project, self.plan(text), opts, sink);
            rx
        }
    }

    fn collect(rx: &mpsc::Receiver<RunEvent>) -> Vec<Arc<RunResult>> {
        let mut out = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
                RunEvent::Finished {
                    result,
                    done,
                    total,
                    ..
                } => {
                    out.push(result);
                    if done == total {
                        return out;
                    }
                }
                RunEvent::Started { .. } => {}
            }
        }
    }

    fn appending(count: &Path, extra: &str) -> String {
        format!(
            "[meta]\nname = \"t\"\n[[scenario]]\nname = \"a\"\nrun = \"sh -c 'echo x >> {}{extra}'\"\n",
            count.display()
        )
    }

    fn lines(p: &Path) -> usize {
        std::fs::read_to_string(p).map_or(0, |s| s.lines().count())
    }

    /// The batch's last event is the one with `done == total`, however the workers'
    /// results interleave: a receiver that stops there (the CLI, the editor's progress)
    /// loses none. (A result sent after its batch's "last" once went missing.)
    #[test]
    fn finished_events_arrive_in_done_order() {
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let total = 64;
        let batch = Arc::new(Batch {
            path: PathBuf::from("t.clnrm.toml"),
            index: 0,
            key: ContentKey([0; 32]),
            total,
            started: Arc::new(AtomicUsize::new(0)),
            done: Arc::new(std::sync::Mutex::new(0)),
            sink: Arc::new(move |ev| {
                if let RunEvent::Finished { done, .. } = ev {
                    std::thread::yield_now();
                    tx.lock().unwrap().send(done).unwrap();
                }
            }),
        });
        std::thread::scope(|s| {
            for _ in 0..8 {
                let batch = batch.clone();
                s.spawn(move || {
                    for _ in 0..total / 8 {
                        batch.finish(Arc::new(RunResult::without_run(
                            "s",
                            RunStatus::Passed,
                            None,
                        )));
                    }
                });
            }
        });
        let order: Vec<usize> = rx.try_iter().collect();
        assert_eq!(order, (1..=total).collect::<Vec<_>>());
    }

    #[test]
    fn unchanged_scenarios_come_from_the_cache() {
        let f = fixture(2);
        // Outside the workspace: a workspace file the command names would be an input.
        let elsewhere = tempfile::tempdir().unwrap();
        let count = elsewhere.path().join("count");
        let text = appending(&count, "");
        let first = f.run(&text, true);
        assert_eq!(first[0].status, RunStatus::Passed, "{:?}", first[0]);
        assert!(!first[0].cached);
        assert_eq!(lines(&count), 1);

        let second = f.run(&text, true);
        assert!(second[0].cached, "{:?}", second[0]);
        assert_eq!(lines(&count), 1, "a cache hit must not run the command");

        // A changed command is another key: it runs.
        let third = f.run(&appending(&count, "; true"), true);
        assert!(!third[0].cached);
        assert_eq!(lines(&count), 2);

        // Without the cache it runs again, and the result is still cached afterwards.
        let forced = f.run(&text, false);
        assert!(!forced[0].cached);
        assert_eq!(lines(&count), 3);

        // The trace of the latest run is kept for the diff.
        let trace = crate::traces::baseline::load_last_trace(f.dir.path(), &f.path(), "a").unwrap();
        assert!(trace.is_some_and(|t| !t.is_empty()));
    }

    #[test]
    fn state_follows_the_run_and_a_restart_restores_from_disk() {
        let f = fixture(1);
        let text = "[meta]\nname = \"t\"\n[[scenario]]\nname = \"slow\"\nrun = \"sleep 0.3\"\n";
        let plan = f.plan(text);
        let key = plan.runs[0].key;
        assert_eq!(
            f.runner.state(&f.project, &f.path(), "slow", &key),
            RunState::Idle
        );
        let rx = f.submit(text, true);
        let state = f.runner.state(&f.project, &f.path(), "slow", &key);
        assert!(
            matches!(state, RunState::Queued | RunState::Running),
            "{state:?}"
        );
        collect(&rx);
        assert!(matches!(
            f.runner.state(&f.project, &f.path(), "slow", &key),
            RunState::Done(r) if r.passed() && !r.cached
        ));

        // Another session (a fresh runner) finds the result on disk, marked cached.
        let again = Runner::new(1);
        match again.state(&f.project, &f.path(), "slow", &key) {
            RunState::Done(r) => assert!(r.cached),
            other => panic!("{other:?}"),
        }
        assert!(again.last_results(&f.path()).contains_key("slow"));
    }

    #[test]
    fn a_newer_save_cancels_the_running_one() {
        let f = fixture(1);
        let slow = "[meta]\nname = \"t\"\n[[scenario]]\nname = \"a\"\nrun = \"sleep 30\"\n";
        let first = f.submit(slow, true);
        // Wait until it runs, then save a new version.
        loop {
            if let RunEvent::Started { .. } = first.recv_timeout(Duration::from_secs(10)).unwrap() {
                break;
            }
        }
        let started = std::time::Instant::now();
        let second = f.submit(&slow.replace("sleep 30", "true"), true);
        let old = collect(&first);
        assert_eq!(old[0].status, RunStatus::Cancelled);
        let new = collect(&second);
        assert_eq!(new[0].status, RunStatus::Passed);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        // A cancelled run is neither cached nor shown.
        assert_eq!(
            f.runner.last_results(&f.path())["a"].status,
            RunStatus::Passed
        );
    }

    #[test]
    fn failures_and_timeouts_are_results() {
        let f = fixture(2);
        let text = "[meta]\nname = \"t\"\n[[scenario]]\nname = \"bad\"\nrun = \"false\"\n[[scenario]]\nname = \"slow\"\ntimeout_ms = 200\nrun = \"sleep 5\"\n";
        let mut results = f.run(text, true);
        results.sort_by(|a, b| a.scenario.cmp(&b.scenario));
        assert_eq!(results[0].status, RunStatus::Failed);
        assert_eq!(results[1].status, RunStatus::TimedOut);
        // A timeout is not cached: the next save runs it again.
        let again = f.run(text, true);
        let slow = again.iter().find(|r| r.scenario == "slow").unwrap();
        assert!(!slow.cached);
        let bad = again.iter().find(|r| r.scenario == "bad").unwrap();
        assert!(bad.cached);
    }

    /// Runs `text` in `f` and says whether the answer came from the cache.
    fn cached(f: &Fixture, text: &str) -> bool {
        let r = f.run(text, true);
        assert!(
            matches!(r[0].status, RunStatus::Passed | RunStatus::Failed),
            "{:?}",
            r[0]
        );
        r[0].cached
    }

    #[test]
    fn a_script_beside_the_test_file_runs_and_its_content_is_in_the_key() {
        let f = fixture(1);
        let app = f.dir.path().join("app.sh");
        std::fs::write(&app, "echo one").unwrap();
        let text = "[[scenario]]\nname = \"a\"\nrun = \"sh app.sh\"\n";
        let r = f.run(text, true);
        assert_eq!(r[0].status, RunStatus::Passed, "{:?}", r[0]);
        assert!(r[0].stdout_tail.contains("one"));
        assert!(cached(&f, text), "nothing changed: cached");
        std::fs::write(&app, "echo two").unwrap();
        let r = f.run(text, true);
        assert!(!r[0].cached, "the script changed: it runs again");
        assert!(r[0].stdout_tail.contains("two"));
        assert!(cached(&f, text));
    }

    #[test]
    fn declared_inputs_of_the_scenario_and_the_project_are_in_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/a.json"), "1").unwrap();
        std::fs::write(dir.path().join("shared.env"), "X=1").unwrap();
        let mut config = Config::default();
        config.cache.inputs = vec!["*.env".into()];
        let f = Fixture {
            project: Arc::new(Project::with_config(dir.path(), config, vec![])),
            dir,
            runner: Runner::new(1),
        };
        // The command names neither file: only the declarations make them inputs.
        let text = "[[scenario]]\nname = \"a\"\nrun = \"true\"\ninputs = [\"data/*.json\"]\n";
        assert!(!cached(&f, text));
        assert!(cached(&f, text));
        std::fs::write(f.dir.path().join("data/a.json"), "2").unwrap();
        assert!(!cached(&f, text), "a declared input changed");
        assert!(cached(&f, text));
        std::fs::write(f.dir.path().join("data/b.json"), "new").unwrap();
        assert!(!cached(&f, text), "a file joined the glob");
        std::fs::write(f.dir.path().join("shared.env"), "X=2").unwrap();
        assert!(!cached(&f, text), "a project input changed");
        assert!(cached(&f, text));
    }

    #[test]
    fn refresh_replaces_the_entry_and_no_cache_records_nothing() {
        let f = fixture(1);
        let elsewhere = tempfile::tempdir().unwrap();
        let count = elsewhere.path().join("count");
        let text = appending(&count, "");
        assert!(!f.run(&text, true)[0].cached);
        // `--refresh`: runs although cached, and records.
        let refreshed = f.run(&text, false);
        assert!(!refreshed[0].cached);
        assert_eq!(lines(&count), 2);
        let hit = f.run(&text, true);
        assert!(hit[0].cached);
        assert_eq!(
            hit[0].spans, refreshed[0].spans,
            "the refreshed entry is served"
        );

        // `--no-cache`: runs, and neither the result nor the trace is written.
        let trace_before =
            crate::traces::baseline::load_last_trace(f.dir.path(), &f.path(), "a").unwrap();
        let bare = Fixture {
            dir: tempfile::tempdir().unwrap(),
            project: Arc::new(
                Project::with_config(f.dir.path(), Config::default(), vec![]).without_cache(),
            ),
            runner: Runner::new(1),
        };
        let plan = {
            let analysis = Analysis {
                rendered: Some(Arc::new(Rendered::verbatim(&text))),
                parsed: true,
                ..Analysis::default()
            };
            plan(&f.path(), &analysis, &bare.project, &Selection::all()).unwrap()
        };
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        bare.runner.submit(
            &bare.project,
            plan,
            BatchOptions {
                priority: Priority::Explicit,
                use_cache: false,
            },
            Arc::new(move |ev| {
                let _ = tx.lock().unwrap().send(ev);
            }),
        );
        let fresh = collect(&rx);
        assert!(!fresh[0].cached);
        assert_eq!(lines(&count), 3);
        assert_eq!(
            crate::traces::baseline::load_last_trace(f.dir.path(), &f.path(), "a").unwrap(),
            trace_before,
            "--no-cache writes no trace"
        );
        let again = f.run(&text, true);
        assert!(again[0].cached);
        assert_eq!(
            again[0].spans, refreshed[0].spans,
            "--no-cache wrote no entry"
        );
    }

    #[test]
    fn a_cache_hit_never_replaces_a_newer_trace() {
        let f = fixture(1);
        let text = "[[scenario]]\nname = \"a\"\nrun = \"true\"\n";
        let first = f.run(text, true);
        // A newer trace arrives (another run of other content under the same name).
        let mut newer = first[0].spans.clone();
        for s in &mut newer {
            s.end_time_unix_nano = s.end_time_unix_nano.map(|t| t + 1_000_000_000);
            s.name.push_str("-newer");
        }
        crate::traces::baseline::save_last_trace(f.dir.path(), &f.path(), "a", &newer).unwrap();
        assert!(f.run(text, true)[0].cached);
        let kept = crate::traces::baseline::load_last_trace(f.dir.path(), &f.path(), "a").unwrap();
        assert_eq!(kept, Some(newer));
    }

    #[test]
    fn an_image_the_engine_lacks_is_an_error_never_cached() {
        let f = fixture(1);
        let text = "[[scenario]]\nname = \"a\"\nrun = \"true\"\n";
        let mut plan = f.plan(text);
        plan.runs[0].blocked = Some("image `x` is not available to docker: No such image".into());
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let opts = BatchOptions {
            priority: Priority::Explicit,
            use_cache: true,
        };
        f.runner.submit(
            &f.project,
            plan,
            opts,
            Arc::new(move |ev| {
                let _ = tx.lock().unwrap().send(ev);
            }),
        );
        let r = collect(&rx);
        assert_eq!(r[0].status, RunStatus::Error);
        assert!(r[0].short_reason().contains("No such image"));
        // The lens shows the error (by key), not ▶ Run as if nothing had happened.
        let key = f.plan(text).runs[0].key;
        assert!(matches!(
            f.runner.state(&f.project, &f.path(), "a", &key),
            RunState::Done(r) if r.status == RunStatus::Error
        ));
        // Nothing was cached: with the image there, the scenario runs.
        assert!(!f.run(text, true)[0].cached);
    }
}
