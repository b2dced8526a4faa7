//! `textDocument/diagnostic`: the pull report.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::session::Session;

pub(crate) async fn run(
    session: &Session,
    params: lsp::DocumentDiagnosticParams,
) -> Result<lsp::DocumentDiagnosticReportResult> {
    let uri = params.text_document.uri;
    let (doc, analysis) = session.current(&uri).await?;
    let items = session
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
