//! Per-document analysis scheduling and publishing.
//!
//! Each document has at most one analysis in flight. An edit arriving meanwhile only marks
//! the document dirty; when the running analysis ends, the worker analyses the newest text
//! once more, so a burst of edits costs two analyses, not one per keystroke. A result is
//! published only if its version is still the document's current one, and never after a
//! newer version's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dashmap::DashMap;
use tower_lsp::lsp_types as lsp;
use tower_lsp::Client;

use super::client;
use super::convert::{self, uri_to_path};
use super::pool::{AnalysisPool, JobError};
use super::workspace::Workspace;
use crate::analysis::{Analysis, Analyzer, Origin};
use crate::documents::Document;
use crate::workspace::libraries::{is_library, with_importer_findings};

#[derive(Default)]
struct DocState {
    running: bool,
    dirty: bool,
    /// The newest version whose diagnostics were published.
    published: Option<i32>,
    /// The latest analysis and the version it belongs to.
    latest: Option<(i32, Arc<Analysis>)>,
}

/// The last run results of a file as diagnostics (the session's runs provide them; the
/// scheduler only shows them).
pub trait RunResults: Send + Sync {
    fn diagnostics(
        &self,
        path: &std::path::Path,
        analysis: &Analysis,
    ) -> Vec<crate::analysis::Diagnostic>;
}

pub struct Scheduler {
    client: Client,
    ws: Arc<Workspace>,
    analyzer: Arc<Analyzer>,
    pool: Arc<AnalysisPool>,
    runs: Arc<dyn RunResults>,
    docs: DashMap<String, Arc<Mutex<DocState>>>,
    push: AtomicBool,
    runs_pushed: AtomicBool,
}

impl Scheduler {
    pub fn new(
        client: Client,
        ws: Arc<Workspace>,
        analyzer: Arc<Analyzer>,
        pool: Arc<AnalysisPool>,
        runs: Arc<dyn RunResults>,
    ) -> Self {
        Self {
            client,
            ws,
            analyzer,
            pool,
            runs,
            docs: DashMap::new(),
            push: AtomicBool::new(true),
            runs_pushed: AtomicBool::new(false),
        }
    }

    pub fn set_push(&self, push: bool) {
        self.push.store(push, Ordering::Relaxed);
    }

    pub fn pushes(&self) -> bool {
        self.push.load(Ordering::Relaxed)
    }

    fn state(&self, uri: &str) -> Arc<Mutex<DocState>> {
        self.docs.entry(uri.to_string()).or_default().clone()
    }

    pub fn forget(&self, uri: &str) {
        self.docs.remove(uri);
    }

    /// Ask for `uri` to be (re-)analysed; returns at once.
    pub fn schedule(self: &Arc<Self>, uri: &str) {
        let state = self.state(uri);
        {
            let mut s = lock(&state);
            if s.running {
                s.dirty = true;
                return;
            }
            s.running = true;
            s.dirty = false;
        }
        let this = self.clone();
        let uri = uri.to_string();
        client::spawn(&self.client, "analysis scheduler", async move {
            this.work(uri, state).await
        });
    }

    async fn work(self: Arc<Self>, uri: String, state: Arc<Mutex<DocState>>) {
        loop {
            lock(&state).dirty = false;
            let Some(doc) = self.ws.documents.get(&uri) else {
                break;
            };
            match self.analyze(&uri, &doc).await {
                Ok(analysis) => {
                    self.refresh_open_libraries(&uri, &analysis);
                    self.remember(&state, doc.version, analysis.clone());
                    if let Some((url, diags)) = self.to_publish(&uri, &doc, &analysis, &state) {
                        // Awaited here (a notification: no reply to wait for), so this
                        // document's publishes leave in order.
                        self.client
                            .publish_diagnostics(url, diags, Some(doc.version))
                            .await;
                    }
                }
                Err(e) => tracing::error!("analysis of {uri} failed: {e}"),
            }
            let mut s = lock(&state);
            if !s.dirty {
                s.running = false;
                break;
            }
        }
    }

    /// A test file was re-analysed: the open libraries it imports show its findings in
    /// them, so they are re-analysed too (a library's own analysis schedules nothing, so
    /// this never loops).
    fn refresh_open_libraries(self: &Arc<Self>, uri: &str, analysis: &Analysis) {
        let Some(path) = self.ws.path_of(uri) else {
            return;
        };
        if is_library(&path, None) {
            return;
        }
        for dep in &analysis.dependencies {
            let Some(lib_path) = dep.path.as_deref() else {
                continue;
            };
            if let Some(lib) = self.ws.uri_of(lib_path) {
                self.ws.importers.imported_by(lib_path, &path);
                self.schedule(&lib);
            }
        }
    }

    fn remember(&self, state: &Mutex<DocState>, version: i32, analysis: Arc<Analysis>) {
        let mut s = lock(state);
        if s.latest.as_ref().is_none_or(|(v, _)| *v <= version) {
            s.latest = Some((version, analysis));
        }
    }

    /// Analyse `doc` on an analysis thread (hash-cached) and record its dependencies.
    async fn analyze(&self, uri: &str, doc: &Document) -> Result<Arc<Analysis>, JobError> {
        let path = self
            .ws
            .path_of(uri)
            .or_else(|| lsp::Url::parse(uri).ok().and_then(|u| uri_to_path(&u)));
        let root = self.ws.root_for(path.as_deref());
        let text = doc.text.clone();
        let analyzer = self.analyzer.clone();
        let loader = self.ws.loader();
        let importers = self.ws.importers.clone();
        let started = Instant::now();
        let (analysis, info) = self
            .pool
            .run(move || {
                let origin = Origin {
                    path: path.as_deref(),
                    workspace_root: root.as_deref(),
                    kind: None,
                };
                let (analysis, info) = analyzer.analyze_with_info(&text, origin, &loader);
                // An open library also shows what its importers find in it.
                let analysis = with_importer_findings(
                    analysis,
                    path.as_deref(),
                    root.as_deref(),
                    &importers,
                    &analyzer,
                    &loader,
                );
                (analysis, info)
            })
            .await?;
        tracing::debug!(
            uri,
            version = doc.version,
            cache = if info.cache_hit { "hit" } else { "miss" },
            key = %&info.key.to_hex()[..12],
            micros = started.elapsed().as_micros() as u64,
            diagnostics = analysis.diagnostics.len(),
            "analysed"
        );
        self.ws
            .dependents
            .set(uri.to_string(), &analysis.dependencies);
        Ok(analysis)
    }

    /// The analysis of `doc`'s exact version: the remembered one, or a fresh one.
    pub async fn analysis_of(&self, uri: &str, doc: &Document) -> Result<Arc<Analysis>, JobError> {
        let state = self.state(uri);
        if let Some((v, a)) = &lock(&state).latest {
            if *v == doc.version {
                return Ok(a.clone());
            }
        }
        let analysis = self.analyze(uri, doc).await?;
        self.remember(&state, doc.version, analysis.clone());
        Ok(analysis)
    }

    fn to_publish(
        &self,
        uri: &str,
        doc: &Document,
        analysis: &Analysis,
        state: &Mutex<DocState>,
    ) -> Option<(lsp::Url, Vec<lsp::Diagnostic>)> {
        if !self.pushes() {
            return None;
        }
        let url = lsp::Url::parse(uri).ok()?;
        {
            let mut s = lock(state);
            // Only the current version, and never one older than what is shown.
            let current = self.ws.documents.get(uri).map(|d| d.version);
            if current != Some(doc.version) || s.published.is_some_and(|p| p > doc.version) {
                return None;
            }
            s.published = Some(doc.version);
        }
        Some((url, self.lsp_diagnostics(uri, doc, analysis)))
    }

    /// Everything shown for `doc`: the analysis, then the last run results (source
    /// `clnrm-run`), both in the negotiated encoding.
    pub fn lsp_diagnostics(
        &self,
        uri: &str,
        doc: &Document,
        analysis: &Analysis,
    ) -> Vec<lsp::Diagnostic> {
        let mut out = self.converted(uri, doc, &analysis.diagnostics);
        out.extend(self.run_diagnostics(uri, doc, analysis));
        out
    }

    /// The pull report: the run results too, unless they are pushed on their own.
    pub fn pulled_diagnostics(
        &self,
        uri: &str,
        doc: &Document,
        analysis: &Analysis,
    ) -> Vec<lsp::Diagnostic> {
        if self.runs_pushed.load(Ordering::Relaxed) {
            self.converted(uri, doc, &analysis.diagnostics)
        } else {
            self.lsp_diagnostics(uri, doc, analysis)
        }
    }

    /// The last run results of `doc` (source `clnrm-run`).
    pub fn run_diagnostics(
        &self,
        uri: &str,
        doc: &Document,
        analysis: &Analysis,
    ) -> Vec<lsp::Diagnostic> {
        let runs = self
            .ws
            .path_of(uri)
            .map(|p| self.runs.diagnostics(&p, analysis))
            .unwrap_or_default();
        self.converted(uri, doc, &runs)
    }

    fn converted(
        &self,
        uri: &str,
        doc: &Document,
        diags: &[crate::analysis::Diagnostic],
    ) -> Vec<lsp::Diagnostic> {
        let Ok(url) = lsp::Url::parse(uri) else {
            return Vec::new();
        };
        convert::diagnostics(diags, &url, &doc.text, &doc.line_index, self.ws.encoding())
    }

    /// A closed document: clear what was published for it.
    pub fn publish_cleared(&self, uri: lsp::Url) {
        if self.pushes() || self.runs_pushed() {
            let c = self.client.clone();
            client::spawn(&self.client, "clearing diagnostics", async move {
                c.publish_diagnostics(uri, Vec::new(), None).await
            });
        }
    }

    /// Push the run results of `doc` alone (for clients that pull the rest).
    pub fn publish_runs(self: &Arc<Self>, uri: &lsp::Url, doc: Document) {
        let this = self.clone();
        let uri = uri.clone();
        client::spawn(&self.client, "publishing run results", async move {
            if let Ok(analysis) = this.analysis_of(uri.as_str(), &doc).await {
                let diags = this.run_diagnostics(uri.as_str(), &doc, &analysis);
                this.client
                    .publish_diagnostics(uri, diags, Some(doc.version))
                    .await;
            }
        });
    }

    /// A client that pulls but cannot be told to pull again gets run results pushed on
    /// their own (and not in its pull reports, so nothing shows twice).
    pub fn set_runs_pushed(&self, on: bool) {
        self.runs_pushed.store(on, Ordering::Relaxed);
    }

    pub fn runs_pushed(&self) -> bool {
        self.runs_pushed.load(Ordering::Relaxed)
    }
}

fn lock(m: &Mutex<DocState>) -> std::sync::MutexGuard<'_, DocState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
