//! Trust fails closed: a `trusted` that is not JSON `true` runs nothing, nothing runs
//! before the client's settings arrive, and workspace configuration is bounded (an
//! untrusted `jobs = 2000` starts no thread; out-of-range values are diagnostics on
//! `.clnrm/config.toml`).

use std::path::PathBuf;
use std::time::Instant;

use clnrm_lsp_e2e::lsp::{LspClient, TIMEOUT};
use serde_json::{json, Value};

struct Ws {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn workspace(config: &str) -> Ws {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    clnrm_lsp_e2e::workspace::pin_local(&root, config);
    Ws { _dir: dir, root }
}

impl Ws {
    fn uri(&self, name: &str) -> String {
        format!("file://{}/{name}", self.root.display())
    }

    fn test_file(&self) -> (String, String) {
        let text = format!(
            "[meta]\nname = \"t\"\nversion = \"1\"\n\n[[scenario]]\nname = \"s\"\nrun = \"sh -c 'echo x >> {}'\"\n",
            self.root.join("count").display()
        );
        std::fs::write(self.root.join("t.clnrm.toml"), &text).unwrap();
        (self.uri("t.clnrm.toml"), text)
    }
}

fn start(ws: &Ws, options: Value, capabilities: Value, hold: bool) -> LspClient {
    let mut c = LspClient::spawn();
    c.hold_server_requests = hold;
    c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": format!("file://{}", ws.root.display()),
            "capabilities": capabilities,
            "initializationOptions": options,
        }),
    );
    c.notify("initialized", json!({}));
    c
}

fn run_file(c: &mut LspClient, uri: &str) -> Value {
    c.request_raw(
        "workspace/executeCommand",
        json!({ "command": "clnrm.runFile", "arguments": [uri] }),
    )
}

fn run_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("clnrm-run-"))
        .count()
}

#[test]
fn a_trusted_that_is_not_json_true_runs_nothing() {
    for trusted in [json!("false"), json!(0), json!("true"), Value::Null] {
        let ws = workspace("");
        let (uri, text) = ws.test_file();
        let mut c = start(&ws, json!({ "trusted": trusted }), json!({}), false);
        c.open(&uri, &text, 1);
        c.diagnostics_where(&uri, |_| true);
        let resp = run_file(&mut c, &uri);
        let err = resp["error"]["message"].as_str().unwrap_or_default();
        assert!(err.contains("not trusted"), "{trusted}: {resp}");
        assert!(c.shutdown());
    }
}

#[test]
fn nothing_runs_before_the_configuration_reply() {
    let ws = workspace("");
    let (uri, text) = ws.test_file();
    let caps = json!({ "workspace": { "configuration": true } });
    let mut c = start(&ws, Value::Null, caps, true);
    let ask = c
        .wait_for(|m| m["method"] == "workspace/configuration")
        .expect("the server asks for its settings");
    c.open(&uri, &text, 1);
    c.diagnostics_where(&uri, |_| true);
    c.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    let resp = run_file(&mut c, &uri);
    let err = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(err.contains("have not arrived"), "{resp}");
    assert!(
        c.log_shows("not run: the client's settings have not arrived"),
        "no log of the dropped save"
    );
    assert_eq!(
        run_threads(c.pid()),
        0,
        "no run worker before a run is allowed"
    );
    // A client without a word on trust (Neovim, Helix) is trusted once it has answered.
    c.answer(
        &ask["id"],
        json!([{ "runOnSave": true, "executor": { "backend": "local" } }]),
    );
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let resp = run_file(&mut c, &uri);
        if resp.get("result").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {resp}");
    }
    assert!(c.shutdown());
}

#[test]
fn an_untrusted_workspace_asking_for_2000_jobs_starts_no_thread_and_says_so() {
    let config = "[executor]\njobs = 2000\n";
    let ws = workspace(config);
    let (uri, text) = ws.test_file();
    let mut c = start(&ws, json!({ "trusted": false }), json!({}), false);
    c.open(&uri, &text, 1);
    c.diagnostics_where(&uri, |_| true);
    let config_uri = ws.uri(".clnrm/config.toml");
    c.open(&config_uri, config, 1);
    let published = c.diagnostics_where(&config_uri, |_| true);
    let diags = published["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{published}");
    assert_eq!(diags[0]["code"], "config-out-of-range");
    assert_eq!(
        diags[0]["range"]["start"],
        json!({ "line": 1, "character": 7 })
    );
    assert!(run_file(&mut c, &uri).get("error").is_some());
    let stats = c.request("clnrm/cacheStats", Value::Null);
    let cpus = std::thread::available_parallelism().unwrap().get() as u64;
    assert!(
        stats["runs"]["executor"]["workers"].as_u64().unwrap_or(0) <= 4 * cpus,
        "{stats}"
    );
    assert_eq!(run_threads(c.pid()), 0);
    assert!(c.shutdown());
}
