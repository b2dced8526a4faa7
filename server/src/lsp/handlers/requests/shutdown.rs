//! `shutdown`.

use tower_lsp::jsonrpc::Result;

use crate::lsp::session::Session;

pub(crate) async fn run(_session: &Session) -> Result<()> {
    Ok(())
}
