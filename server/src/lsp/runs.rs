//! Scenario runs in the editor: the per-root projects, run lenses, `clnrm-run` diagnostics
//! and the progress of a batch. The engine (`crate::runs`) plans, runs and caches.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use tower_lsp::lsp_types as lsp;
use tower_lsp::Client;

use super::client::{self, refresh_lenses, ClientFlags};
use super::convert::uri_to_path;
use super::diagnostics::{RunResults, Scheduler};
use super::pool::AnalysisPool;
use super::settings::ClientSettings;
use super::tests_view::{send_run_result, Placed, RunState};
use super::workspace::Workspace;
use crate::analysis::{Analysis, Analyzer, Diagnostic};
use crate::runs::plan::{self, Plan};
use crate::runs::project::Project;
use crate::runs::queue::Priority;
use crate::runs::report::{self, RunLens};
use crate::runs::result::RunStatus;
use crate::runs::runner::{BatchOptions, EventSink, RunEvent, Runner};

pub struct Runs {
    runner: Runner,
    projects: DashMap<PathBuf, Arc<Project>>,
    settings: RwLock<ClientSettings>,
}

impl Runs {
    pub fn new() -> Self {
        Self {
            runner: Runner::new(crate::config::ExecutorConfig::default().workers()),
            projects: DashMap::new(),
            settings: RwLock::new(ClientSettings::default()),
        }
    }

    pub fn settings(&self) -> ClientSettings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// New client settings (see [`ClientSettings::then`]): projects are rebuilt with them
    /// on next use.
    pub fn set_settings(&self, s: ClientSettings) {
        if let Some(n) = s.workers() {
            self.runner
                .executor()
                .set_workers(crate::config::clamp_jobs(n));
        }
        let mut current = self.settings.write().unwrap_or_else(|p| p.into_inner());
        *current = current.clone().then(s);
        drop(current);
        self.projects.clear();
    }

    /// The client will not tell its trust (no initializationOptions, no configuration
    /// support, or an empty reply): it is known now, as "not untrusted".
    pub fn settle_trust(&self) {
        let mut current = self.settings.write().unwrap_or_else(|p| p.into_inner());
        *current = current.clone().known();
    }

    /// A configuration file changed on disk.
    pub fn invalidate(&self) {
        self.projects.clear();
    }

    /// The project of `root`, and the configuration problems to show when it was just
    /// (re)loaded. Blocking (`auto` may probe `docker info`): call on an engine thread.
    pub fn project(&self, root: &Path) -> (Arc<Project>, Vec<String>) {
        if let Some(p) = self.projects.get(root) {
            return (p.clone(), Vec::new());
        }
        let settings = self.settings();
        let project = Arc::new(Project::open(root, settings.overlay()).in_background());
        if settings.workers().is_none() {
            self.runner
                .executor()
                .set_workers(project.config.executor.workers());
        }
        let errors = project
            .config_errors
            .iter()
            .map(|e| format!("clnrm: configuration ignored: {e}"))
            .collect();
        self.projects.insert(root.to_path_buf(), project.clone());
        (project, errors)
    }

    pub fn submit(&self, project: &Arc<Project>, plan: Plan, opts: BatchOptions, sink: EventSink) {
        self.runner.submit(project, plan, opts, sink);
    }

    pub fn lenses(&self, project: &Project, path: &Path, analysis: &Analysis) -> Vec<RunLens> {
        report::lenses(&self.runner, project, path, analysis)
    }

    /// For `clnrm/cacheStats`: the executor and each loaded project's result cache.
    pub fn stats(&self) -> serde_json::Value {
        let results: serde_json::Map<String, serde_json::Value> = self
            .projects
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

    pub fn forget(&self, path: &Path) {
        self.runner.forget(path);
    }
}

/// What a batch's reporting task needs from the session.
pub struct BatchReport {
    pub client: Client,
    /// The client shows `$/progress` work-done reports.
    pub progress: bool,
    /// A label for the file (its name).
    pub label: String,
    pub total: usize,
    /// The file run, for `clnrm/runResult`.
    pub uri: lsp::Url,
    pub placed: Placed,
}

/// Report a batch as it goes: `$/progress` ("scenario 2 of 5: smoke"), and `on_result` after
/// each finished scenario (republish diagnostics, refresh lenses). Ends with the batch.
pub async fn report_batch(
    b: BatchReport,
    mut events: tokio::sync::mpsc::UnboundedReceiver<RunEvent>,
    on_result: impl Fn() + Send,
) {
    let token = if b.progress && b.total > 0 {
        begin(&b).await
    } else {
        None
    };
    let (mut passed, mut failed, mut cached) = (0usize, 0usize, 0usize);
    while let Some(ev) = events.recv().await {
        match ev {
            RunEvent::Started {
                scenario,
                ordinal,
                total,
                ..
            } => {
                let params = b.placed.run_result(&b.uri, &scenario, RunState::Running);
                send_run_result(&b.client, params).await;
                if let Some(t) = &token {
                    progress(
                        &b.client,
                        t,
                        lsp::WorkDoneProgress::Report(lsp::WorkDoneProgressReport {
                            cancellable: Some(false),
                            message: Some(format!("scenario {ordinal} of {total}: {scenario}")),
                            percentage: percent(ordinal.saturating_sub(1), total),
                        }),
                    )
                    .await;
                }
            }
            RunEvent::Finished {
                result,
                done,
                total,
                ..
            } => {
                match result.status {
                    RunStatus::Cancelled => {}
                    RunStatus::Passed => passed += 1,
                    _ => failed += 1,
                }
                cached += usize::from(result.cached);
                let params = b
                    .placed
                    .run_result(&b.uri, &result.scenario, RunState::Done(&result));
                send_run_result(&b.client, params).await;
                if result.status != RunStatus::Cancelled {
                    on_result();
                }
                if done >= total {
                    break;
                }
            }
        }
    }
    if let Some(t) = token {
        let mut summary = format!("{passed} passed, {failed} failed");
        if cached > 0 {
            summary.push_str(&format!(" ({cached} cached)"));
        }
        progress(
            &b.client,
            &t,
            lsp::WorkDoneProgress::End(lsp::WorkDoneProgressEnd {
                message: Some(summary),
            }),
        )
        .await;
    }
}

async fn begin(b: &BatchReport) -> Option<lsp::ProgressToken> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let token = lsp::ProgressToken::String(format!("clnrm-run-{n}"));
    let created = b
        .client
        .send_request::<lsp::request::WorkDoneProgressCreate>(lsp::WorkDoneProgressCreateParams {
            token: token.clone(),
        })
        .await;
    if let Err(e) = created {
        tracing::debug!("progress not created: {e}");
        return None;
    }
    progress(
        &b.client,
        &token,
        lsp::WorkDoneProgress::Begin(lsp::WorkDoneProgressBegin {
            title: format!("clnrm: running {}", b.label),
            cancellable: Some(false),
            message: Some(format!("0 of {}", b.total)),
            percentage: Some(0),
        }),
    )
    .await;
    Some(token)
}

async fn progress(client: &Client, token: &lsp::ProgressToken, value: lsp::WorkDoneProgress) {
    client
        .send_notification::<lsp::notification::Progress>(lsp::ProgressParams {
            token: token.clone(),
            value: lsp::ProgressParamsValue::WorkDone(value),
        })
        .await;
}

fn percent(done: usize, total: usize) -> Option<u32> {
    (total > 0).then(|| u32::try_from(done * 100 / total).unwrap_or(100))
}

impl RunResults for Runs {
    fn diagnostics(&self, path: &Path, analysis: &Analysis) -> Vec<Diagnostic> {
        report::last_run_diagnostics(&self.runner, path, analysis)
    }
}

impl Default for Runs {
    fn default() -> Self {
        Self::new()
    }
}

/// The run lens of a scenario on `line`; clicking it runs the scenario.
pub fn run_lens(uri: &lsp::Url, run: &RunLens, line: u32) -> lsp::CodeLens {
    let at = lsp::Position::new(line, 0);
    lsp::CodeLens {
        range: lsp::Range::new(at, at),
        command: Some(lsp::Command {
            title: run.title.clone(),
            command: super::commands::Command::RunScenario.id().to_string(),
            arguments: Some(vec![serde_json::json!(uri), serde_json::json!(run.name)]),
        }),
        data: None,
    }
}

/// `[uri]` or `[uri, scenario]` command arguments.
pub fn command_args(args: &[serde_json::Value]) -> Option<(lsp::Url, Option<String>)> {
    let uri = lsp::Url::parse(args.first()?.as_str()?).ok()?;
    let scenario = args.get(1).and_then(|s| s.as_str()).map(str::to_string);
    Some((uri, scenario))
}

/// A file's analysis and the diagnostics it shows (a closed file's include reading it).
pub(crate) struct Analysed {
    pub(crate) text: String,
    diagnostics: Vec<Diagnostic>,
    pub(crate) analysis: Arc<Analysis>,
}

/// Why a run did not start; a file with errors carries them (and the text they refer to).
#[derive(Debug)]
pub struct StartError {
    pub message: String,
    pub diagnostics: Option<(String, Vec<Diagnostic>)>,
}

impl From<String> for StartError {
    fn from(message: String) -> Self {
        Self {
            message,
            diagnostics: None,
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a run started from the editor needs of the session; cheap to clone into tasks.
#[derive(Clone)]
pub struct RunContext {
    pub client: Client,
    pub ws: Arc<Workspace>,
    pub scheduler: Arc<Scheduler>,
    pub runs: Arc<Runs>,
    pub pool: Arc<AnalysisPool>,
    pub analyzer: Arc<Analyzer>,
    pub flags: ClientFlags,
}

impl RunContext {
    /// The project of `root`, opened off the analysis threads (selecting `auto` may wait
    /// for `docker info`); configuration problems are shown once, when it is (re)loaded.
    pub async fn project(&self, root: &Path) -> Result<Arc<Project>, tower_lsp::jsonrpc::Error> {
        let runs = self.runs.clone();
        let root = root.to_path_buf();
        let (project, errors) = tokio::task::spawn_blocking(move || runs.project(&root))
            .await
            .map_err(|e| tower_lsp::jsonrpc::Error::invalid_params(e.to_string()))?;
        for message in errors {
            client::show_message(&self.client, lsp::MessageType::WARNING, message);
        }
        Ok(project)
    }

    /// The analysis of `uri` and what it shows: its open buffer's, else the file on disk
    /// read and analysed as `check` does (encoding repair included).
    pub(crate) async fn analysis(
        &self,
        uri: &lsp::Url,
        path: &Path,
    ) -> Result<Analysed, StartError> {
        if let Some(doc) = self.ws.documents.get(uri.as_str()) {
            let analysis = self
                .scheduler
                .analysis_of(uri.as_str(), &doc)
                .await
                .map_err(|e| StartError::from(e.to_string()))?;
            return Ok(Analysed {
                text: doc.text.to_string(),
                diagnostics: analysis.diagnostics.clone(),
                analysis,
            });
        }
        let loader = self.ws.loader();
        let analyzer = self.analyzer.clone();
        let root = self.ws.root_of(path);
        let path = path.to_path_buf();
        let found = self
            .pool
            .run(move || {
                crate::workspace::analyse_file(&path, &root, None, Some(&root), &analyzer, &loader)
            })
            .await
            .map_err(|e| StartError::from(e.to_string()))?;
        let (report, analysis) = found.map_err(|e| StartError::from(e.to_string()))?;
        Ok(Analysed {
            text: report.text,
            diagnostics: report.diagnostics,
            analysis,
        })
    }

    /// Plan and queue the scenarios of `uri` (all, or those named in `only`); returns how
    /// many were queued. Results arrive as `$/progress`, diagnostics and lens refreshes.
    pub async fn start(
        &self,
        uri: &lsp::Url,
        only: Vec<String>,
        priority: Priority,
        use_cache: bool,
    ) -> Result<usize, StartError> {
        let path = self
            .ws
            .path_of(uri.as_str())
            .or_else(|| uri_to_path(uri))
            .ok_or_else(|| format!("not a file: {uri}"))?;
        let root = self.ws.root_of(&path);
        let Analysed {
            text,
            diagnostics,
            analysis,
        } = self.analysis(uri, &path).await?;
        if let Err(why) = plan::refuse_errors(&diagnostics) {
            return Err(StartError {
                message: why.to_string(),
                diagnostics: Some((text, diagnostics)),
            });
        }
        let project = self
            .project(&root)
            .await
            .map_err(|e| e.message.to_string())?;
        let placed = Placed::new(&text, self.ws.encoding(), analysis.clone());
        let planned = {
            let (path, project) = (path.clone(), project.clone());
            tokio::task::spawn_blocking(move || plan::plan(&path, &analysis, &project, &only))
        };
        let plan = planned
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let total = plan.runs.len();
        for run in &plan.runs {
            let params = placed.run_result(uri, &run.name, RunState::Queued);
            send_run_result(&self.client, params).await;
        }

        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: EventSink = Arc::new(move |ev| {
            let _ = tx.send(ev);
        });
        let report = BatchReport {
            client: self.client.clone(),
            progress: self.flags.work_done_progress,
            label: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            total,
            uri: uri.clone(),
            placed,
        };
        let ctx = self.clone();
        let changed = uri.clone();
        client::spawn(
            &self.client,
            "run progress",
            report_batch(report, rx, move || ctx.results_changed(&changed)),
        );
        let runs = self.runs.clone();
        // Cache lookups read the disk: off the async runtime.
        tokio::task::spawn_blocking(move || {
            runs.submit(
                &project,
                plan,
                BatchOptions {
                    priority,
                    use_cache,
                },
                sink,
            );
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(total)
    }

    /// On open: results cached earlier (by this server or `clnrm-lsp run`) for the file's
    /// current scenarios become its lenses and diagnostics at once.
    pub async fn restore(&self, uri: lsp::Url, path: PathBuf) {
        let root = self.ws.root_of(&path);
        let (Ok(Analysed { analysis, .. }), Ok(project)) =
            (self.analysis(&uri, &path).await, self.project(&root).await)
        else {
            return;
        };
        if project.cache.is_none() {
            return;
        }
        let runs = self.runs.clone();
        let found = tokio::task::spawn_blocking(move || {
            report::prefetch(&project, &path, &analysis);
            runs.lenses(&project, &path, &analysis);
            !runs.runner.last_results(&path).is_empty()
        })
        .await
        .unwrap_or(false);
        if found {
            self.results_changed(&uri);
        }
    }

    /// New results for `uri`: republish its diagnostics (ask pulling clients to pull, or
    /// push the run results alone to those that cannot be asked) and refresh the lenses.
    fn results_changed(&self, uri: &lsp::Url) {
        if let Some(doc) = self.ws.documents.get(uri.as_str()) {
            if self.scheduler.pushes() {
                self.scheduler.schedule(uri.as_str());
            } else if self.scheduler.runs_pushed() {
                self.scheduler.publish_runs(uri, doc);
            } else if self.flags.diagnostic_refresh {
                let client = self.client.clone();
                client::spawn(&self.client, "diagnostic refresh", async move {
                    if let Err(e) = client.workspace_diagnostic_refresh().await {
                        tracing::debug!("diagnostic refresh: {e}");
                    }
                });
            }
        }
        refresh_lenses(&self.client, self.flags);
    }
}
