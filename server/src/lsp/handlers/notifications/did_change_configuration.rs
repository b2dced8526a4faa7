//! `workspace/didChangeConfiguration`: new client settings.

//! A plain function: it applies its change before returning, so notifications take
//! effect in arrival order whatever the handler concurrency.

use tower_lsp::lsp_types as lsp;

use crate::lsp::session::Session;
use crate::lsp::settings::ClientSettings;

pub(crate) fn run(session: &Session, params: lsp::DidChangeConfigurationParams) {
    let has_section = params.settings.get("clnrm").is_some_and(|s| !s.is_null());
    if has_section {
        session.set_settings(ClientSettings::from_json(&params.settings));
        session.refresh_lenses();
    } else if session.flags().configuration {
        session.fetch_settings();
    }
}
