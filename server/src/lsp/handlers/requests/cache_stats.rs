//! `clnrm/cacheStats`: the analysis cache's counters (top level), and under `runs` the
//! executor's queue and each workspace's result cache, so users and tests can see hits.

use serde_json::Value;
use tower_lsp::jsonrpc::{Error, Result};

use crate::lsp::session::Session;

pub(crate) async fn run(session: &Session) -> Result<Value> {
    let mut v = serde_json::to_value(session.analyzer.cache_stats())
        .map_err(|e| Error::invalid_params(e.to_string()))?;
    let runs = session.runs.clone();
    v["runs"] = tokio::task::spawn_blocking(move || runs.stats())
        .await
        .map_err(|e| Error::invalid_params(e.to_string()))?;
    Ok(v)
}
