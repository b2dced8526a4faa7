//! `textDocument/codeLens`: a run lens and a trace lens per scenario, from what is known
//! now (a project not open yet opens in the background, then the lenses refresh).

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
    // Never wait for a project to open (`auto` may probe `docker info`): answer from what is
    // known now, and refresh once it is open.
    let project = session.runs.open_project(&root);
    if project.is_none() {
        runs::open_project_then_refresh_lenses(session, root.clone());
    }
    // Runs would be refused: only the trace lens (PROTOCOL14 item 6).
    let runnable = !session.settings().untrusted();
    let engine_runs = session.runs.clone();
    let lens_uri = uri.clone();
    let lenses = session
        .on_document(&uri, move |view, _, analysis| {
            let settings = crate::traces::DiffSettings::load(&root).unwrap_or_default();
            let mut out = Vec::new();
            for run in engine_runs.lenses(project.as_deref(), &path, analysis) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::client::ClientFlags;
    use crate::lsp::Server;

    // The held lock stands for an open that never ends; the handler must not need it.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn lenses_never_wait_for_a_project_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join(".clnrm")).unwrap();
        std::fs::write(
            root.join(".clnrm/config.toml"),
            "[executor]\nbackend = \"local\"\n",
        )
        .unwrap();
        let built = std::sync::Arc::new(std::sync::OnceLock::new());
        let (_service, _socket) = tower_lsp::LspService::new(|client| {
            let server = Server::new(client);
            let _ = built.set(server.session());
            server
        });
        let session = built.get().cloned().unwrap();
        let _ = session.flags.set(ClientFlags::default());
        session.ws.set_roots([root.clone()]);
        let path = root.join("a.clnrm.toml");
        let uri = lsp::Url::from_file_path(&path).unwrap();
        let text = "[meta]\nname = \"a\"\nversion = \"1\"\n\n[[scenario]]\nname = \"smoke\"\nrun = \"true\"\n";
        session
            .ws
            .open(uri.as_str(), Some(&path), text.to_string(), 1);

        // An open that cannot finish (as `docker info` may not): the lenses come anyway.
        let opening = session.runs.hold_project_opening();
        let params = lsp::CodeLensParams {
            text_document: lsp::TextDocumentIdentifier { uri: uri.clone() },
            work_done_progress_params: Default::default(),
            partial_result_params: Default::default(),
        };
        let lenses = run(&session, params).await.unwrap().unwrap();
        let titles: Vec<&str> = lenses
            .iter()
            .filter_map(|l| l.command.as_ref().map(|c| c.title.as_str()))
            .collect();
        assert_eq!(titles, ["▶ Run", "trace: not run yet"]);
        assert!(session.runs.open_project(&root).is_none());

        // The lens request started the open; it completes once it may.
        drop(opening);
        let runs = session.runs.clone();
        let (opened_root, project_root) = (root.clone(), root.clone());
        let opened = tokio::task::spawn_blocking(move || runs.project(&opened_root))
            .await
            .unwrap();
        assert_eq!(opened.project.root, project_root);
        assert!(session.runs.open_project(&root).is_some());
    }
}
