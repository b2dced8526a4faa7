//! The editor's test view (PROTOCOL14): `clnrm/scenarios` answers, and the
//! `clnrm/scenariosChanged` and `clnrm/runResult` notifications. The engine lists and
//! places (`runs::outline`); this converts to LSP positions and JSON.

use std::sync::Arc;

use serde_json::{json, Value};
use tower_lsp::lsp_types as lsp;
use tower_lsp::Client;

use super::convert;
use crate::analysis::Analysis;
use crate::documents::{LineIndex, PositionEncoding};
use crate::runs::outline::{self, ScenarioOutline};
use crate::runs::result::{RunResult, RunStatus};

/// `clnrm/scenariosChanged { uri }`: re-request that file's scenarios.
pub enum ScenariosChanged {}

impl lsp::notification::Notification for ScenariosChanged {
    type Params = Value;
    const METHOD: &'static str = "clnrm/scenariosChanged";
}

/// `clnrm/runResult`: one scenario's state in a run batch.
pub enum RunResultNotification {}

impl lsp::notification::Notification for RunResultNotification {
    type Params = Value;
    const METHOD: &'static str = "clnrm/runResult";
}

/// A file's text and analysis, to place ranges in the negotiated encoding.
#[derive(Clone)]
pub struct Placed {
    pub text: Arc<str>,
    pub index: Arc<LineIndex>,
    pub enc: PositionEncoding,
    pub analysis: Arc<Analysis>,
}

impl Placed {
    pub fn new(text: &str, enc: PositionEncoding, analysis: Arc<Analysis>) -> Self {
        Self {
            index: Arc::new(LineIndex::new(text)),
            text: Arc::from(text),
            enc,
            analysis,
        }
    }

    fn range(&self, r: std::ops::Range<usize>) -> lsp::Range {
        convert::range(&self.index, &self.text, r, self.enc)
    }

    /// The file's entry of a `clnrm/scenarios` answer.
    pub fn file_entry(&self, uri: &lsp::Url) -> Value {
        let scenarios: Vec<Value> = outline::outline(&self.analysis)
            .iter()
            .map(|s| self.scenario(s))
            .collect();
        json!({ "uri": uri, "scenarios": scenarios })
    }

    fn scenario(&self, s: &ScenarioOutline) -> Value {
        let steps: Vec<Value> = s
            .steps
            .iter()
            .map(|st| json!({ "name": st.name, "range": self.range(st.range.clone()) }))
            .collect();
        json!({ "name": s.name, "range": self.range(s.header.clone()), "steps": steps })
    }

    /// A `clnrm/runResult` for `scenario` in `state`, with the verdict's details when done.
    pub fn run_result(&self, uri: &lsp::Url, scenario: &str, state: RunState<'_>) -> Value {
        let (state, result) = match state {
            RunState::Queued => ("queued", None),
            RunState::Running => ("running", None),
            RunState::Done(r) => (verdict(r.status), Some(r)),
        };
        let failures: Vec<Value> = result
            .map(|r| {
                outline::place_failures(&self.analysis, r)
                    .into_iter()
                    .map(|f| {
                        json!({
                            "range": self.range(f.range),
                            "message": f.message,
                            "expected": f.expected,
                            "actual": f.actual,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The runner records no per-step verdicts: steps share their scenario's state.
        let steps: Vec<Value> = outline::outline(&self.analysis)
            .into_iter()
            .find(|s| s.name == scenario)
            .map(|s| {
                s.steps
                    .into_iter()
                    .map(|st| {
                        json!({ "name": st.name, "state": state, "durationMs": null,
                                "failures": [] })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let message = result
            .filter(|r| r.status != RunStatus::Passed)
            .map(RunResult::short_reason);
        json!({
            "uri": uri,
            "scenario": scenario,
            "state": state,
            "cached": result.is_some_and(|r| r.cached),
            "durationMs": result.filter(|r| r.status != RunStatus::Cancelled).map(|r| r.duration_ms),
            "message": message,
            "failures": failures,
            "steps": steps,
        })
    }
}

pub enum RunState<'a> {
    Queued,
    Running,
    Done(&'a RunResult),
}

fn verdict(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Passed => "passed",
        RunStatus::Failed => "failed",
        RunStatus::Error | RunStatus::TimedOut => "errored",
        RunStatus::Cancelled => "skipped",
    }
}

pub async fn send_run_result(client: &Client, params: Value) {
    client
        .send_notification::<RunResultNotification>(params)
        .await;
}

/// Tell the client a test file's scenario list may have changed (other files: nothing).
pub fn scenarios_changed(client: &Client, uri: &lsp::Url) {
    let is_test = uri
        .path_segments()
        .and_then(|mut s| s.next_back())
        .is_some_and(crate::documents::discover::is_test_file_name);
    if !is_test {
        return;
    }
    let client2 = client.clone();
    let params = json!({ "uri": uri });
    super::client::spawn(client, "scenarios changed", async move {
        client2.send_notification::<ScenariosChanged>(params).await;
    });
}
