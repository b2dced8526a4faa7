//! The editor session: the documents and workspace, the client's capabilities (resolved
//! once at `initialize`), the settings and runs, the analysis pool and the per-document
//! scheduler. Handlers (`handlers/`) get a `&Session`; what they share lives here.

use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use tower_lsp::jsonrpc::{Error, Result};
use tower_lsp::lsp_types as lsp;
use tower_lsp::Client;

use super::client::{self, ClientFlags};
use super::diagnostics::Scheduler;
use super::ide::{self as face, View};
use super::pool::{AnalysisPool, JobError};
use super::settings::ClientSettings;
use super::workspace::Workspace;
use crate::analysis::{Analysis, Analyzer, Environment};
use crate::documents::Document;
use crate::ide::vocabulary::Vocabulary;
use crate::workspace::{ProjectOptions, Runs};

/// Cheap to clone: a task takes its own handle (what ruff calls a session snapshot).
#[derive(Clone)]
pub struct Session {
    pub(crate) client: Client,
    pub(crate) ws: Arc<Workspace>,
    pub(crate) analyzer: Arc<Analyzer>,
    pub(crate) pool: Arc<AnalysisPool>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) runs: Arc<Runs>,
    settings: Arc<RwLock<ClientSettings>>,
    pub(crate) flags: Arc<OnceLock<ClientFlags>>,
}

impl Session {
    pub fn new(client: Client) -> Self {
        let ws = Arc::new(Workspace::new());
        let analyzer = Arc::new(Analyzer::new(Environment::capture()));
        let pool = Arc::new(AnalysisPool::new());
        // The editor's runs yield to typing.
        let runs = Arc::new(Runs::new(ProjectOptions {
            background: true,
            ..ProjectOptions::default()
        }));
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
            settings: Arc::default(),
            flags: Arc::default(),
        }
    }

    /// `initialize` has been answered (the client's capabilities are known).
    pub(crate) fn initialized(&self) -> bool {
        self.flags.get().is_some()
    }

    pub(crate) fn flags(&self) -> ClientFlags {
        self.flags.get().copied().unwrap_or_default()
    }

    /// The document as the current request saw it on arrival (else as it is now).
    pub(crate) fn document(&self, uri: &lsp::Url) -> Result<Document> {
        super::snapshot::arrived(uri.as_str())
            .or_else(|| self.ws.documents.get(uri.as_str()))
            .ok_or_else(|| Error::invalid_params(format!("document not open: {uri}")))
    }

    /// The current document and its analysis (re-analysed if the cached one is stale).
    pub(crate) async fn current(&self, uri: &lsp::Url) -> Result<(Document, Arc<Analysis>)> {
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
    pub(crate) async fn on_document<T: Send + 'static>(
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
    pub(crate) async fn engine<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.pool.run(job).await.map_err(job_error)
    }

    /// Re-validate every open document that imports or includes `path`.
    pub(crate) fn revalidate_dependents(&self, path: &Path) {
        for uri in self.ws.dependents.dependents_of(path) {
            self.scheduler.schedule(&uri);
        }
    }
}

pub fn job_error(e: JobError) -> Error {
    let mut err = Error::internal_error();
    err.message = e.to_string().into();
    err
}

pub(crate) fn vocabulary(env: &Environment, text: &str, analysis: &Analysis) -> Vocabulary {
    Vocabulary::of_analysis(text, env, analysis)
}

impl Session {
    pub(crate) fn root_of(&self, path: &Path) -> std::path::PathBuf {
        self.ws.root_of(path)
    }

    pub(crate) fn refresh_lenses(&self) {
        client::refresh_lenses(&self.client, self.flags());
    }

    /// Run `task` in the background; a panic is logged and shown, never silent.
    pub(crate) fn spawn(
        &self,
        what: &'static str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        client::spawn(&self.client, what, task);
    }

    pub(crate) fn show_message(&self, typ: lsp::MessageType, message: String) {
        client::show_message(&self.client, typ, message);
    }

    pub(crate) fn settings(&self) -> ClientSettings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// New client settings (see [`ClientSettings::then`]): projects open again with them
    /// on next use; a worker count they name holds until they name none.
    pub(crate) fn set_settings(&self, s: ClientSettings) {
        let merged = {
            let mut current = self.settings.write().unwrap_or_else(|p| p.into_inner());
            *current = current.clone().then(s);
            current.clone()
        };
        self.runs
            .fix_workers(merged.workers().map(crate::config::clamp_jobs));
        self.runs.set_project_options(ProjectOptions {
            overlay: merged.overlay().cloned(),
            ..self.runs.project_options()
        });
    }

    /// The client will not tell its trust (no initializationOptions, no configuration
    /// support, or an empty reply): it is known now, as "not untrusted".
    pub(crate) fn settle_trust(&self) {
        let mut current = self.settings.write().unwrap_or_else(|p| p.into_inner());
        *current = current.clone().known();
    }

    /// Ask the client for the `clnrm` settings (from a task: never wait on the client).
    pub(crate) fn fetch_settings(&self) {
        let session = self.clone();
        self.spawn("workspace/configuration", async move {
            let item = lsp::ConfigurationItem {
                scope_uri: None,
                section: Some("clnrm".into()),
            };
            match session.client.configuration(vec![item]).await {
                Ok(values) => match values.into_iter().next().filter(|v| v.is_object()) {
                    Some(v) => session.set_settings(ClientSettings::from_json(&v)),
                    None => session.settle_trust(),
                },
                Err(e) => {
                    tracing::debug!("workspace/configuration: {e}");
                    session.settle_trust();
                }
            }
        });
    }

    pub(crate) async fn format(
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
                self.show_message(lsp::MessageType::WARNING, message.clone());
                Err(Error::invalid_params(message))
            }
        }
    }
}
