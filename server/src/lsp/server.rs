//! The tower-lsp `LanguageServer`: each handler converts, calls the engine, converts back.
//!
//! Ordering: tower-lsp runs handlers concurrently, so every edit is applied to the
//! document store before the handler's first `.await`. Analyses are scheduled per
//! document (see `diagnostics.rs`) and only the current version's result is published.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tower_lsp::jsonrpc::{Error, Result};
use tower_lsp::lsp_types as lsp;
use tower_lsp::{Client, LanguageServer};

use super::capabilities::{self, negotiate_encoding, supports_dynamic_watchers};
use super::convert::{self, uri_to_path};
use super::diagnostics::Scheduler;
use super::ide::{self as face, View};
use super::pool::{AnalysisPool, JobError};
use super::runs::{self as face_runs, RunContext, Runs};
use super::settings::ClientSettings;
use super::traces as lens_traces;
use super::workspace::{normalize, Workspace};
use crate::analysis::{Analysis, Analyzer, Environment, FileKind, Origin};
use crate::documents::Document;
use crate::ide::completion::Vocabulary;
use crate::ide::symbols;
use crate::runs::queue::Priority;

/// What the client said it can do, fixed at `initialize`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientFlags {
    pub dynamic_watchers: bool,
    /// The client accepts `workspace/codeLens/refresh`.
    pub lens_refresh: bool,
    /// The client accepts `workspace/diagnostic/refresh` (pull clients re-pull run results).
    pub diagnostic_refresh: bool,
    /// The client shows `$/progress` work-done reports.
    pub work_done_progress: bool,
    /// The client answers `workspace/configuration`.
    pub configuration: bool,
}

pub struct Server {
    pub(super) client: Client,
    pub(super) ws: Arc<Workspace>,
    pub(super) analyzer: Arc<Analyzer>,
    pub(super) pool: Arc<AnalysisPool>,
    pub(super) scheduler: Arc<Scheduler>,
    pub(super) runs: Arc<Runs>,
    pub(super) flags: OnceLock<ClientFlags>,
}

impl Server {
    pub fn new(client: Client) -> Self {
        let ws = Arc::new(Workspace::new());
        let analyzer = Arc::new(Analyzer::new(Environment::capture()));
        let pool = Arc::new(AnalysisPool::new());
        let runs = Arc::new(Runs::new());
        let scheduler = Arc::new(Scheduler::new(
            client.clone(),
            ws.clone(),
            analyzer.clone(),
            pool.clone(),
            runs.clone(),
        ));
        Self {
            client,
            ws,
            analyzer,
            pool,
            scheduler,
            runs,
            flags: OnceLock::new(),
        }
    }

    fn flags(&self) -> ClientFlags {
        self.flags.get().copied().unwrap_or_default()
    }

    /// `clnrm/cacheStats`: the analysis cache's counters (top level), and under `runs` the
    /// executor's queue and each workspace's result cache, so users and tests can see hits.
    pub async fn cache_stats(&self) -> Result<Value> {
        let mut v = serde_json::to_value(self.analyzer.cache_stats())
            .map_err(|e| Error::invalid_params(e.to_string()))?;
        let runs = self.runs.clone();
        v["runs"] = tokio::task::spawn_blocking(move || runs.stats())
            .await
            .map_err(|e| Error::invalid_params(e.to_string()))?;
        Ok(v)
    }

    fn document(&self, uri: &lsp::Url) -> Result<Document> {
        self.ws
            .documents
            .get(uri.as_str())
            .ok_or_else(|| Error::invalid_params(format!("document not open: {uri}")))
    }

    /// The current document and its analysis (re-analysed if the cached one is stale).
    async fn current(&self, uri: &lsp::Url) -> Result<(Document, Arc<Analysis>)> {
        let doc = self.document(uri)?;
        let analysis = self
            .scheduler
            .analysis_of(uri.as_str(), &doc)
            .await
            .map_err(job_error)?;
        Ok((doc, analysis))
    }

    /// Run `job` on the current analysis of `uri`, with a position-converting view of the
    /// exact text that was analysed (on an analysis thread, like every engine call).
    async fn on_document<T: Send + 'static>(
        &self,
        uri: &lsp::Url,
        job: impl FnOnce(&View<'_>, &Document, &Analysis) -> T + Send + 'static,
    ) -> Result<T> {
        let (doc, analysis) = self.current(uri).await?;
        let enc = self.ws.encoding();
        self.engine(move || {
            let view = View {
                text: &doc.text,
                index: &doc.line_index,
                enc,
            };
            job(&view, &doc, &analysis)
        })
        .await
    }

    /// Run engine work on an analysis thread: big stack, and a panic becomes an LSP error.
    async fn engine<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.pool.run(job).await.map_err(job_error)
    }

    /// Re-validate every open document that imports or includes `path`.
    fn revalidate_dependents(&self, path: &Path) {
        for uri in self.ws.dependents.dependents_of(path) {
            self.scheduler.schedule(&uri);
        }
    }
}

/// Ask the client to re-request code lenses (from a task: never wait on the client).
pub(super) fn refresh_lenses(client: &Client, flags: ClientFlags) {
    if flags.lens_refresh {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.code_lens_refresh().await {
                tracing::debug!("codeLens refresh: {e}");
            }
        });
    }
}

pub fn job_error(e: JobError) -> Error {
    let mut err = Error::internal_error();
    err.message = e.to_string().into();
    err
}

fn append_markdown(hover: Option<lsp::Hover>, md: String, range: lsp::Range) -> lsp::Hover {
    let value = match hover.as_ref().map(|h| &h.contents) {
        Some(lsp::HoverContents::Markup(m)) => format!("{}\n\n---\n\n{md}", m.value),
        _ => md,
    };
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value,
        }),
        range: hover.and_then(|h| h.range).or(Some(range)),
    }
}

fn vocabulary(env: &Environment, text: &str, analysis: &Analysis) -> Vocabulary {
    Vocabulary::of(text, env, &analysis.dependencies)
}

#[tower_lsp::async_trait]
impl LanguageServer for Server {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        let enc = negotiate_encoding(&params.capabilities);
        self.ws.set_encoding(enc);
        let pulls = params
            .capabilities
            .text_document
            .as_ref()
            .and_then(|t| t.diagnostic.as_ref())
            .is_some();
        let lens_refresh = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.code_lens.as_ref())
            .and_then(|c| c.refresh_support)
            .unwrap_or(false);
        let caps = &params.capabilities;
        let workspace = caps.workspace.as_ref();
        let _ = self.flags.set(ClientFlags {
            dynamic_watchers: supports_dynamic_watchers(caps),
            lens_refresh,
            diagnostic_refresh: workspace
                .and_then(|w| w.diagnostic.as_ref())
                .and_then(|d| d.refresh_support)
                .unwrap_or(false),
            work_done_progress: caps
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false),
            configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
        });
        if let Some(options) = &params.initialization_options {
            self.runs.set_settings(ClientSettings::from_json(options));
        }
        // A client that pulls diagnostics itself would show pushed ones twice.
        self.scheduler.set_push(!pulls);
        self.scheduler
            .set_runs_pushed(pulls && !self.flags().diagnostic_refresh);
        let mut roots: Vec<std::path::PathBuf> = params
            .workspace_folders
            .unwrap_or_default()
            .iter()
            .filter_map(|f| uri_to_path(&f.uri))
            .collect();
        #[allow(deprecated)] // rootUri is deprecated but still all some clients send.
        if roots.is_empty() {
            roots.extend(params.root_uri.as_ref().and_then(uri_to_path));
        }
        self.ws.set_roots(roots);
        Ok(lsp::InitializeResult {
            capabilities: capabilities::server_capabilities(enc),
            server_info: Some(lsp::ServerInfo {
                name: "clnrm-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        })
    }

    async fn initialized(&self, _: lsp::InitializedParams) {
        if self.flags().dynamic_watchers {
            // Never await a client reply inside a handler: edits would queue behind it.
            let client = self.client.clone();
            tokio::spawn(async move {
                if let Err(e) = client
                    .register_capability(vec![capabilities::watcher_registration()])
                    .await
                {
                    tracing::warn!("file watcher registration failed: {e}");
                }
            });
        }
        if self.flags().configuration {
            self.fetch_settings();
        } else {
            // initializationOptions, if any, were all this client will say.
            self.runs.settle_trust();
        }
        tracing::info!(roots = ?self.ws.roots(), encoding = ?self.ws.encoding(), "clnrm-lsp ready");
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: lsp::DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let path = uri_to_path(&doc.uri);
        self.ws
            .open(doc.uri.as_str(), path.as_deref(), doc.text, doc.version);
        self.scheduler.schedule(doc.uri.as_str());
        if let Some(path) = path {
            self.revalidate_dependents(&path);
            // Results cached by earlier sessions or `clnrm-lsp run` show at once.
            let ctx = self.run_context();
            tokio::spawn(async move { ctx.restore(doc.uri, path).await });
        }
    }

    async fn did_change(&self, params: lsp::DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let changes: Vec<_> = params
            .content_changes
            .into_iter()
            .map(convert::text_change)
            .collect();
        let applied = self.ws.documents.change(
            uri.as_str(),
            params.text_document.version,
            &changes,
            self.ws.encoding(),
        );
        if applied.is_none() {
            tracing::warn!("didChange for a document that is not open: {uri}");
            return;
        }
        self.scheduler.schedule(uri.as_str());
        if let Some(path) = self.ws.path_of(uri.as_str()) {
            self.revalidate_dependents(&path);
        }
    }

    async fn did_save(&self, params: lsp::DidSaveTextDocumentParams) {
        let uri = params.text_document.uri;
        let runnable = self
            .ws
            .path_of(uri.as_str())
            .is_some_and(|p| matches!(FileKind::of(Some(&p)), FileKind::Test | FileKind::RawTest));
        let settings = self.runs.settings();
        if runnable && settings.run_on_save && !settings.trusted() {
            tracing::info!("save of {uri} not run: {}", settings.refusal());
        }
        if runnable && settings.runs_on_save() {
            // Never block the handler: typing goes on while the plan is made.
            let ctx = self.run_context();
            tokio::spawn(async move {
                if let Err(e) = ctx.start(&uri, Vec::new(), Priority::OnSave, true).await {
                    // An invalid file already shows why; nothing else to say on save.
                    tracing::debug!("no run on save of {uri}: {e}");
                }
            });
        }
    }

    async fn did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        let has_section = params.settings.get("clnrm").is_some_and(|s| !s.is_null());
        if has_section {
            self.runs
                .set_settings(ClientSettings::from_json(&params.settings));
            self.refresh_lenses();
        } else if self.flags().configuration {
            self.fetch_settings();
        }
    }

    async fn did_close(&self, params: lsp::DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let path = self.ws.path_of(uri.as_str());
        self.ws.close(uri.as_str());
        self.ws.dependents.remove(uri.as_str());
        if let Some(path) = &path {
            self.runs.forget(path);
        }
        self.scheduler.forget(uri.as_str());
        if self.scheduler.pushes() || self.scheduler.runs_pushed() {
            let client = self.client.clone();
            tokio::spawn(async move { client.publish_diagnostics(uri, Vec::new(), None).await });
        }
        // A dependent now reads the file from disk instead of the closed buffer.
        if let Some(path) = path {
            self.revalidate_dependents(&path);
        }
    }

    async fn did_change_watched_files(&self, params: lsp::DidChangeWatchedFilesParams) {
        let mut any = false;
        let mut lenses_stale = false;
        for change in params.changes {
            if let Some(path) = uri_to_path(&change.uri) {
                let name = path.file_name().and_then(|n| n.to_str());
                if name == Some(crate::config::CLEANROOM_FILE)
                    || path.ends_with(crate::config::CONFIG_FILE)
                {
                    self.runs.invalidate();
                    lenses_stale = true;
                    continue;
                }
                if path.components().any(|c| c.as_os_str() == ".clnrm") {
                    lenses_stale = true;
                    continue;
                }
                if !self.ws.is_open(&path) {
                    self.revalidate_dependents(&normalize(&path));
                    any = true;
                }
            }
        }
        if any {
            for uri in self.ws.dependents.with_unresolved() {
                self.scheduler.schedule(&uri);
            }
        }
        if lenses_stale {
            self.refresh_lenses();
        }
    }

    async fn code_lens(&self, params: lsp::CodeLensParams) -> Result<Option<Vec<lsp::CodeLens>>> {
        let uri = params.text_document.uri;
        let Some(path) = self.ws.path_of(uri.as_str()) else {
            return Ok(None);
        };
        let root = self.root_of(&path);
        let project = self.run_context().project(&root).await?;
        let runs = self.runs.clone();
        let lens_uri = uri.clone();
        let lenses = self
            .on_document(&uri, move |view, _, analysis| {
                let settings = crate::traces::DiffSettings::load(&root).unwrap_or_default();
                let mut out = Vec::new();
                for run in runs.lenses(&project, &path, analysis) {
                    let line = view.range(run.anchor.clone()).start.line;
                    out.push(face_runs::run_lens(&lens_uri, &run, line));
                    out.push(lens_traces::lens(
                        &lens_uri, &path, &root, &settings, &run.name, line,
                    ));
                }
                out
            })
            .await?;
        Ok(Some(lenses))
    }

    async fn execute_command(&self, params: lsp::ExecuteCommandParams) -> Result<Option<Value>> {
        let command = params.command.as_str();
        if command == face_runs::RUN_SCENARIO || command == face_runs::RUN_FILE {
            let Some((uri, scenario)) = face_runs::command_args(&params.arguments) else {
                return Err(Error::invalid_params(format!(
                    "{command} expects [uri, scenario?]"
                )));
            };
            let only = match (command, scenario) {
                (face_runs::RUN_FILE, _) => Vec::new(),
                (_, Some(s)) => vec![s],
                (_, None) => {
                    return Err(Error::invalid_params(format!(
                        "{command} expects [uri, scenario]"
                    )))
                }
            };
            let settings = self.runs.settings();
            if !settings.trusted() {
                return Err(Error::invalid_params(settings.refusal()));
            }
            // A user's explicit run goes first and runs again even when a result is cached.
            let queued = self
                .run_context()
                .start(&uri, only, Priority::Explicit, false)
                .await
                .map_err(Error::invalid_params)?;
            return Ok(Some(serde_json::json!({ "scenarios": queued })));
        }
        let Some((uri, scenario)) = lens_traces::command_args(&params.arguments) else {
            return Err(Error::invalid_params(format!(
                "{command} expects [uri, scenario]"
            )));
        };
        let path =
            uri_to_path(&uri).ok_or_else(|| Error::invalid_params(format!("not a file: {uri}")))?;
        let root = self.root_of(&path);
        match command {
            lens_traces::SHOW_TRACE_DIFF => {
                let md = self
                    .engine(move || lens_traces::show_diff(&path, &root, &scenario))
                    .await?
                    .map_err(Error::invalid_params)?;
                Ok(Some(Value::String(md)))
            }
            lens_traces::UPDATE_BASELINE => {
                let written = self
                    .engine(move || lens_traces::update_baseline(&path, &root, &scenario))
                    .await?
                    .map_err(Error::invalid_params)?;
                let client = self.client.clone();
                let message = format!("baseline recorded: {}", written.display());
                tokio::spawn(
                    async move { client.show_message(lsp::MessageType::INFO, message).await },
                );
                self.refresh_lenses();
                Ok(Some(serde_json::json!({ "baseline": written })))
            }
            other => Err(Error::invalid_params(format!("unknown command: {other}"))),
        }
    }

    async fn did_change_workspace_folders(&self, params: lsp::DidChangeWorkspaceFoldersParams) {
        for f in params.event.removed {
            if let Some(p) = uri_to_path(&f.uri) {
                self.ws.remove_root(&p);
            }
        }
        for f in params.event.added {
            if let Some(p) = uri_to_path(&f.uri) {
                self.ws.add_root(&p);
            }
        }
    }

    async fn diagnostic(
        &self,
        params: lsp::DocumentDiagnosticParams,
    ) -> Result<lsp::DocumentDiagnosticReportResult> {
        let uri = params.text_document.uri;
        let (doc, analysis) = self.current(&uri).await?;
        let items = self
            .scheduler
            .pulled_diagnostics(uri.as_str(), &doc, &analysis);
        Ok(lsp::DocumentDiagnosticReportResult::Report(
            lsp::DocumentDiagnosticReport::Full(lsp::RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: lsp::FullDocumentDiagnosticReport {
                    result_id: Some(doc.version.to_string()),
                    items,
                },
            }),
        ))
    }

    async fn completion(
        &self,
        params: lsp::CompletionParams,
    ) -> Result<Option<lsp::CompletionResponse>> {
        let pos = params.text_document_position;
        let analyzer = self.analyzer.clone();
        let items = self
            .on_document(&pos.text_document.uri, move |view, _, analysis| {
                let vocab = vocabulary(analyzer.environment(), view.text, analysis);
                face::completion(view, pos.position, &vocab)
            })
            .await?;
        Ok(Some(lsp::CompletionResponse::Array(items)))
    }

    async fn hover(&self, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
        let pos = params.text_document_position_params;
        let uri = pos.text_document.uri;
        let analyzer = self.analyzer.clone();
        // On a scenario's header line (where its lenses are) the hover also carries its
        // trace diff: the one place editors without code lenses (Helix) can show it.
        let trace = self.ws.path_of(uri.as_str()).map(|path| {
            let root = self.root_of(&path);
            (path, root)
        });
        self.on_document(&uri, move |view, doc, analysis| {
            let vocab = vocabulary(analyzer.environment(), view.text, analysis);
            let mut hover = face::hover(view, pos.position, &vocab);
            if let Some((path, root)) = trace {
                let line_of = |o: usize| doc.line_index.line_col(&doc.text, o, view.enc).line;
                let line = line_of(view.offset(pos.position));
                let scenario = crate::runs::report::scenario_anchors(analysis)
                    .into_iter()
                    .find(|(_, anchor)| line_of(anchor.start) == line);
                if let Some((name, anchor)) = scenario {
                    if let Ok(md) = lens_traces::show_diff(&path, &root, &name) {
                        hover = Some(append_markdown(hover, md, view.range(anchor)));
                    }
                }
            }
            hover
        })
        .await
    }

    async fn goto_definition(
        &self,
        params: lsp::GotoDefinitionParams,
    ) -> Result<Option<lsp::GotoDefinitionResponse>> {
        let pos = params.text_document_position_params;
        let uri = pos.text_document.uri.clone();
        let analyzer = self.analyzer.clone();
        let loader = self.ws.loader();
        let locations = self
            .on_document(&pos.text_document.uri, move |view, _, analysis| {
                let vocab = vocabulary(analyzer.environment(), view.text, analysis);
                let other = |path: &Path, range: std::ops::Range<usize>| {
                    use crate::analysis::SourceLoader as _;
                    let text = loader.load(path)?;
                    let index = crate::documents::LineIndex::new(&text);
                    let uri = lsp::Url::from_file_path(path).ok()?;
                    Some(lsp::Location::new(
                        uri,
                        convert::range(&index, &text, range, view.enc),
                    ))
                };
                face::definition(view, &uri, pos.position, &vocab, analysis, &other)
            })
            .await?;
        Ok((!locations.is_empty()).then_some(lsp::GotoDefinitionResponse::Array(locations)))
    }

    async fn references(&self, params: lsp::ReferenceParams) -> Result<Option<Vec<lsp::Location>>> {
        let pos = params.text_document_position;
        let uri = pos.text_document.uri.clone();
        let refs = self
            .on_document(&pos.text_document.uri, move |view, _, _| {
                face::references(view, &uri, pos.position)
            })
            .await?;
        Ok(Some(refs))
    }

    async fn document_symbol(
        &self,
        params: lsp::DocumentSymbolParams,
    ) -> Result<Option<lsp::DocumentSymbolResponse>> {
        let symbols = self
            .on_document(&params.text_document.uri, |view, _, analysis| {
                face::document_symbols(view, analysis)
            })
            .await?;
        Ok(Some(lsp::DocumentSymbolResponse::Nested(symbols)))
    }

    async fn folding_range(
        &self,
        params: lsp::FoldingRangeParams,
    ) -> Result<Option<Vec<lsp::FoldingRange>>> {
        let folds = self
            .on_document(&params.text_document.uri, |view, _, analysis| {
                face::folding_ranges(view, analysis)
            })
            .await?;
        Ok(Some(folds))
    }

    async fn formatting(
        &self,
        params: lsp::DocumentFormattingParams,
    ) -> Result<Option<Vec<lsp::TextEdit>>> {
        self.format(&params.text_document.uri, None).await
    }

    async fn range_formatting(
        &self,
        params: lsp::DocumentRangeFormattingParams,
    ) -> Result<Option<Vec<lsp::TextEdit>>> {
        self.format(&params.text_document.uri, Some(params.range))
            .await
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        let actions = self
            .on_document(&params.text_document.uri, move |view, _, analysis| {
                let (range, client_diags) = (params.range, &params.context.diagnostics);
                face::code_actions(
                    view,
                    &uri,
                    range,
                    client_diags,
                    &analysis.diagnostics,
                    analysis,
                )
            })
            .await?;
        Ok(Some(actions))
    }

    async fn symbol(
        &self,
        params: lsp::WorkspaceSymbolParams,
    ) -> Result<Option<Vec<lsp::SymbolInformation>>> {
        let roots: Vec<_> = self.ws.roots().into_iter().map(|r| r.path).collect();
        let analyzer = self.analyzer.clone();
        let loader = self.ws.loader();
        let query = params.query;
        let enc = self.ws.encoding();
        let found = self
            .engine(move || {
                use crate::analysis::SourceLoader as _;
                let mut out = Vec::new();
                for root in &roots {
                    for target in crate::documents::discover::discover(std::slice::from_ref(root)).0
                    {
                        let path = target.path;
                        let Some(text) = loader.load(&path) else {
                            continue;
                        };
                        let analysis = analyzer.analyze(
                            &text,
                            Origin {
                                path: Some(&path),
                                workspace_root: Some(root),
                            },
                            &loader,
                        );
                        let Ok(uri) = lsp::Url::from_file_path(&path) else {
                            continue;
                        };
                        // Only files with a match pay for a line index.
                        let mut index = None;
                        for (sym, container) in
                            symbols::flatten(&symbols::document_symbols(&analysis))
                        {
                            if symbols::matches_query(&sym.name, &query) {
                                #[allow(deprecated)]
                                out.push(lsp::SymbolInformation {
                                    name: sym.name.clone(),
                                    kind: face::symbol_kind(sym.kind),
                                    tags: None,
                                    deprecated: None,
                                    location: lsp::Location::new(
                                        uri.clone(),
                                        convert::range(
                                            index.get_or_insert_with(|| {
                                                crate::documents::LineIndex::new(&text)
                                            }),
                                            &text,
                                            sym.selection.clone(),
                                            enc,
                                        ),
                                    ),
                                    container_name: container.map(str::to_string),
                                });
                            }
                        }
                    }
                }
                out
            })
            .await?;
        Ok(Some(found))
    }
}

impl Server {
    fn root_of(&self, path: &Path) -> std::path::PathBuf {
        self.ws.root_of(path)
    }

    fn refresh_lenses(&self) {
        refresh_lenses(&self.client, self.flags());
    }

    /// What runs started from the editor need of the session, to move into tasks.
    fn run_context(&self) -> RunContext {
        RunContext {
            client: self.client.clone(),
            ws: self.ws.clone(),
            scheduler: self.scheduler.clone(),
            runs: self.runs.clone(),
            pool: self.pool.clone(),
            analyzer: self.analyzer.clone(),
            flags: self.flags(),
        }
    }

    /// Ask the client for the `clnrm` settings (from a task: never wait on the client).
    fn fetch_settings(&self) {
        let client = self.client.clone();
        let runs = self.runs.clone();
        tokio::spawn(async move {
            let item = lsp::ConfigurationItem {
                scope_uri: None,
                section: Some("clnrm".into()),
            };
            match client.configuration(vec![item]).await {
                Ok(values) => match values.into_iter().next().filter(|v| v.is_object()) {
                    Some(v) => runs.set_settings(ClientSettings::from_json(&v)),
                    None => runs.settle_trust(),
                },
                Err(e) => {
                    tracing::debug!("workspace/configuration: {e}");
                    runs.settle_trust();
                }
            }
        });
    }

    async fn format(
        &self,
        uri: &lsp::Url,
        range: Option<lsp::Range>,
    ) -> Result<Option<Vec<lsp::TextEdit>>> {
        let doc = self.document(uri)?;
        let enc = self.ws.encoding();
        let result = self
            .engine(move || {
                let view = View {
                    text: &doc.text,
                    index: &doc.line_index,
                    enc,
                };
                face::formatting(&view, range)
            })
            .await?;
        match result {
            Ok(edits) => Ok(Some(edits)),
            Err(message) => {
                // A refusal is not a server failure: tell the user why nothing changed.
                let client = self.client.clone();
                let shown = message.clone();
                tokio::spawn(
                    async move { client.show_message(lsp::MessageType::WARNING, shown).await },
                );
                Err(Error::invalid_params(message))
            }
        }
    }
}
