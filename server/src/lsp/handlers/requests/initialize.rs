//! `initialize`: negotiate the encoding, resolve the client capabilities once, take the folders.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::capabilities;
use crate::lsp::convert::uri_to_path;
use crate::lsp::session::Session;
use crate::lsp::settings::ClientSettings;

pub(crate) async fn run(
    session: &Session,
    params: lsp::InitializeParams,
) -> Result<lsp::InitializeResult> {
    let enc = capabilities::negotiate_encoding(&params.capabilities);
    session.ws.set_encoding(enc);
    let flags = capabilities::client_flags(&params.capabilities);
    let _ = session.flags.set(flags);
    if let Some(options) = &params.initialization_options {
        session.set_settings(ClientSettings::from_json(options));
    }
    // A client that pulls diagnostics itself would show pushed ones twice.
    session.scheduler.set_push(!flags.pull_diagnostics);
    session
        .scheduler
        .set_runs_pushed(flags.pull_diagnostics && !flags.diagnostic_refresh);
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
    session.ws.set_roots(roots);
    Ok(lsp::InitializeResult {
        capabilities: capabilities::server_capabilities(enc),
        server_info: Some(lsp::ServerInfo {
            name: "clnrm-lsp".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    })
}
