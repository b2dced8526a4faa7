//! The tower-lsp `LanguageServer`: every method forwards to its handler in `handlers/`.
//!
//! Ordering by construction: notification handlers are plain functions that cannot wait.
//! After `initialize`, `didOpen`/`didChange`/`didClose` never reach these methods: they
//! are applied on the read loop, in arrival order, by `document_sync.rs`.

use std::sync::Arc;

use serde_json::Value;
use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;
use tower_lsp::{Client, LanguageServer};

use super::handlers::{notifications, requests};
use super::session::Session;

pub struct Server {
    session: Arc<Session>,
}

impl Server {
    pub fn new(client: Client) -> Self {
        Self {
            session: Arc::new(Session::new(client)),
        }
    }

    /// The session, for the document-sync path that runs beside tower-lsp's handlers.
    pub(crate) fn session(&self) -> Arc<Session> {
        self.session.clone()
    }

    /// `clnrm/scenarios` (PROTOCOL14).
    pub async fn scenarios(&self, params: Option<Value>) -> Result<Value> {
        requests::scenarios::run(&self.session, params).await
    }

    /// `clnrm/traceDiff` (PROTOCOL14).
    pub async fn trace_diff(&self, params: Value) -> Result<Value> {
        requests::trace_diff::run(&self.session, params).await
    }

    /// `clnrm/cacheStats` (a custom request).
    pub async fn cache_stats(&self) -> Result<Value> {
        requests::cache_stats::run(&self.session).await
    }
}

#[tower_lsp::async_trait]
impl LanguageServer for Server {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        requests::initialize::run(&self.session, params).await
    }

    async fn initialized(&self, params: lsp::InitializedParams) {
        notifications::initialized::run(&self.session, params)
    }

    async fn shutdown(&self) -> Result<()> {
        requests::shutdown::run(&self.session).await
    }

    async fn did_open(&self, params: lsp::DidOpenTextDocumentParams) {
        notifications::did_open::run(&self.session, params)
    }

    async fn did_change(&self, params: lsp::DidChangeTextDocumentParams) {
        notifications::did_change::run(&self.session, params)
    }

    async fn did_save(&self, params: lsp::DidSaveTextDocumentParams) {
        notifications::did_save::run(&self.session, params)
    }

    async fn did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        notifications::did_change_configuration::run(&self.session, params)
    }

    async fn did_close(&self, params: lsp::DidCloseTextDocumentParams) {
        notifications::did_close::run(&self.session, params)
    }

    async fn did_change_watched_files(&self, params: lsp::DidChangeWatchedFilesParams) {
        notifications::did_change_watched_files::run(&self.session, params)
    }

    async fn code_lens(&self, params: lsp::CodeLensParams) -> Result<Option<Vec<lsp::CodeLens>>> {
        requests::code_lens::run(&self.session, params).await
    }

    async fn execute_command(&self, params: lsp::ExecuteCommandParams) -> Result<Option<Value>> {
        requests::execute_command::run(&self.session, params).await
    }

    async fn did_change_workspace_folders(&self, params: lsp::DidChangeWorkspaceFoldersParams) {
        notifications::did_change_workspace_folders::run(&self.session, params)
    }

    async fn diagnostic(
        &self,
        params: lsp::DocumentDiagnosticParams,
    ) -> Result<lsp::DocumentDiagnosticReportResult> {
        requests::diagnostic::run(&self.session, params).await
    }

    async fn completion(
        &self,
        params: lsp::CompletionParams,
    ) -> Result<Option<lsp::CompletionResponse>> {
        requests::completion::run(&self.session, params).await
    }

    async fn hover(&self, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
        requests::hover::run(&self.session, params).await
    }

    async fn goto_definition(
        &self,
        params: lsp::GotoDefinitionParams,
    ) -> Result<Option<lsp::GotoDefinitionResponse>> {
        requests::goto_definition::run(&self.session, params).await
    }

    async fn references(&self, params: lsp::ReferenceParams) -> Result<Option<Vec<lsp::Location>>> {
        requests::references::run(&self.session, params).await
    }

    async fn document_symbol(
        &self,
        params: lsp::DocumentSymbolParams,
    ) -> Result<Option<lsp::DocumentSymbolResponse>> {
        requests::document_symbol::run(&self.session, params).await
    }

    async fn folding_range(
        &self,
        params: lsp::FoldingRangeParams,
    ) -> Result<Option<Vec<lsp::FoldingRange>>> {
        requests::folding_range::run(&self.session, params).await
    }

    async fn formatting(
        &self,
        params: lsp::DocumentFormattingParams,
    ) -> Result<Option<Vec<lsp::TextEdit>>> {
        requests::formatting::run(&self.session, params).await
    }

    async fn range_formatting(
        &self,
        params: lsp::DocumentRangeFormattingParams,
    ) -> Result<Option<Vec<lsp::TextEdit>>> {
        requests::range_formatting::run(&self.session, params).await
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>> {
        requests::code_action::run(&self.session, params).await
    }

    async fn symbol(
        &self,
        params: lsp::WorkspaceSymbolParams,
    ) -> Result<Option<Vec<lsp::SymbolInformation>>> {
        requests::workspace_symbol::run(&self.session, params).await
    }
}
