//! Scenario runs in the editor: starting a file's runs from a save or a command, restoring
//! cached results on open, run lenses and the progress of a batch. The engine
//! (`workspace::Runs`) opens projects, plans with a selection, runs and caches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tower_lsp::lsp_types as lsp;
use tower_lsp::Client;

use super::convert::uri_to_path;
use super::diagnostics::RunResults;
use super::session::Session;
use super::tests_view::{send_run_result, Placed, RunState};
use crate::analysis::{Analysis, Diagnostic};
use crate::config::ConfigError;
use crate::runs::plan::PlanError;
use crate::runs::project::Project;
use crate::runs::queue::Priority;
use crate::runs::report::{self, RunLens};
use crate::runs::result::RunStatus;
use crate::runs::runner::{BatchOptions, EventSink, RunEvent};
use crate::runs::selection::Selection;
use crate::workspace::{FilePlan, Runs, ToPlan};

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
        self.last_run_diagnostics(path, analysis)
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

/// The project of `root`, opened off the analysis threads (selecting `auto` may wait for
/// `docker info`); configuration problems are shown once, when it is (re)loaded.
pub async fn project(session: &Session, root: &Path) -> Result<Arc<Project>, StartError> {
    let runs = session.runs.clone();
    let root = root.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || runs.project(&root))
        .await
        .map_err(|e| e.to_string())?;
    show_config_errors(session, opened.new_errors());
    Ok(opened.project)
}

fn show_config_errors(session: &Session, errors: &[ConfigError]) {
    for e in errors {
        session.show_message(
            lsp::MessageType::WARNING,
            format!("clnrm: configuration ignored: {e}"),
        );
    }
}

/// Open the project of `root` in a task (it may probe `docker info`), then ask the client
/// for the lenses again: they can say more with it.
pub fn open_project_then_refresh_lenses(session: &Session, root: PathBuf) {
    let task = session.clone();
    session.spawn("opening the project", async move {
        if project(&task, &root).await.is_ok() {
            task.refresh_lenses();
        }
    });
}

/// The analysis of `uri` and what it shows: its open buffer's, else the file on disk read
/// and analysed as `check` does (encoding repair included).
pub(crate) async fn analysis(
    session: &Session,
    uri: &lsp::Url,
    path: &Path,
) -> Result<Analysed, StartError> {
    if let Some(doc) = session.ws.documents.get(uri.as_str()) {
        let analysis = session
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
    let loader = session.ws.loader();
    let analyzer = session.analyzer.clone();
    let root = session.ws.root_of(path);
    let path = path.to_path_buf();
    let found = session
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

/// Plan and queue the scenarios of `uri` the selection keeps; returns how many were
/// queued. Results arrive as `$/progress`, diagnostics and lens refreshes.
pub async fn start(
    session: &Session,
    uri: &lsp::Url,
    selection: Selection,
    priority: Priority,
    use_cache: bool,
) -> Result<usize, StartError> {
    let path = session
        .ws
        .path_of(uri.as_str())
        .or_else(|| uri_to_path(uri))
        .ok_or_else(|| format!("not a file: {uri}"))?;
    let root = session.ws.root_of(&path);
    let Analysed {
        text,
        diagnostics,
        analysis,
    } = analysis(session, uri, &path).await?;
    let placed = Placed::new(&text, session.ws.encoding(), analysis.clone());
    let runs = session.runs.clone();
    // Opening the project and computing keys read the disk (and may ask docker).
    let planned = {
        let (path, diagnostics) = (path.clone(), diagnostics.clone());
        tokio::task::spawn_blocking(move || {
            let file = ToPlan {
                path: &path,
                root: &root,
                analysis: &analysis,
                diagnostics: &diagnostics,
            };
            let planning = runs.plan([file], &selection);
            let errors = planning.config_errors.clone();
            (planning.into_single(), errors)
        })
    };
    let (planned, config_errors) = planned.await.map_err(|e| e.to_string())?;
    show_config_errors(session, &config_errors);
    let FilePlan { plan, project } = match planned {
        Ok(p) => p,
        Err(why @ PlanError::Invalid(_)) => {
            return Err(StartError {
                message: why.to_string(),
                diagnostics: Some((text, diagnostics)),
            })
        }
        Err(why) => return Err(why.to_string().into()),
    };
    let total = plan.runs.len();
    for run in &plan.runs {
        let params = placed.run_result(uri, &run.name, RunState::Queued);
        send_run_result(&session.client, params).await;
    }

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let sink: EventSink = Arc::new(move |ev| {
        let _ = tx.send(ev);
    });
    let report = BatchReport {
        client: session.client.clone(),
        progress: session.flags().work_done_progress,
        label: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        total,
        uri: uri.clone(),
        placed,
    };
    let changed = (session.clone(), uri.clone());
    session.spawn(
        "run progress",
        report_batch(report, rx, move || results_changed(&changed.0, &changed.1)),
    );
    let runs = session.runs.clone();
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
pub async fn restore(session: &Session, uri: lsp::Url, path: PathBuf) {
    let root = session.ws.root_of(&path);
    let (Ok(Analysed { analysis, .. }), Ok(project)) = (
        analysis(session, &uri, &path).await,
        project(session, &root).await,
    ) else {
        return;
    };
    if project.cache.is_none() {
        return;
    }
    let runs = session.runs.clone();
    let found = tokio::task::spawn_blocking(move || {
        report::prefetch(&project, &path, &analysis);
        runs.lenses(Some(&project), &path, &analysis);
        runs.has_results(&path)
    })
    .await
    .unwrap_or(false);
    if found {
        results_changed(session, &uri);
    }
}

/// New results for `uri`: republish its diagnostics (ask pulling clients to pull, or push
/// the run results alone to those that cannot be asked) and refresh the lenses.
fn results_changed(session: &Session, uri: &lsp::Url) {
    let flags = session.flags();
    if let Some(doc) = session.ws.documents.get(uri.as_str()) {
        let scheduler = &session.scheduler;
        if scheduler.pushes() {
            scheduler.schedule(uri.as_str());
        } else if scheduler.runs_pushed() {
            scheduler.publish_runs(uri, doc);
        } else if flags.diagnostic_refresh {
            let client = session.client.clone();
            session.spawn("diagnostic refresh", async move {
                if let Err(e) = client.workspace_diagnostic_refresh().await {
                    tracing::debug!("diagnostic refresh: {e}");
                }
            });
        }
    }
    session.refresh_lenses();
}
