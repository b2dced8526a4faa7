//! `textDocument/codeLens`: a run lens and a trace lens per scenario.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::runs;
use crate::lsp::session::Session;
use crate::lsp::traces;

pub(crate) async fn run(
    session: &Session,
    params: lsp::CodeLensParams,
) -> Result<Option<Vec<lsp::CodeLens>>> {
    let uri = params.text_document.uri;
    let Some(path) = session.ws.path_of(uri.as_str()) else {
        return Ok(None);
    };
    let root = session.root_of(&path);
    let project = runs::project(session, &root)
        .await
        .map_err(|e| tower_lsp::jsonrpc::Error::invalid_params(e.message))?;
    // Runs would be refused: only the trace lens (PROTOCOL14 item 6).
    let runnable = !session.settings().untrusted();
    let engine_runs = session.runs.clone();
    let lens_uri = uri.clone();
    let lenses = session
        .on_document(&uri, move |view, _, analysis| {
            let settings = crate::traces::DiffSettings::load(&root).unwrap_or_default();
            let mut out = Vec::new();
            for run in engine_runs.lenses(&project, &path, analysis) {
                let line = view.range(run.anchor.clone()).start.line;
                if runnable {
                    out.push(runs::run_lens(&lens_uri, &run, line));
                }
                out.push(traces::lens(
                    &lens_uri, &path, &root, &settings, &run.name, line,
                ));
            }
            out
        })
        .await?;
    Ok(Some(lenses))
}
