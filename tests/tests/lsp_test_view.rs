//! The editor's test view (PROTOCOL14) over stdio: `clnrm/scenarios` lists scenarios with
//! their steps, `clnrm/scenariosChanged` follows edits, `clnrm/runResult` streams each
//! scenario's state (unmet expectations placed, `cached` on an unchanged re-run), and an
//! untrusted workspace lists but neither runs nor shows a ▶ Run lens.

use clnrm_lsp_e2e::lsp::LspClient;
use clnrm_lsp_e2e::workspace::{local_settings, LocalWorkspace as Workspace};
use serde_json::{json, Value};

fn workspace() -> Workspace {
    Workspace::new()
}

fn start(ws: &Workspace, options: Value) -> LspClient {
    let mut c = LspClient::spawn();
    let init = c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": format!("file://{}", ws.root.display()),
            "capabilities": {},
            "initializationOptions": options,
        }),
    );
    assert_eq!(
        init["capabilities"]["experimental"]["clnrm"]["runResult"], true,
        "{init}"
    );
    c.notify("initialized", json!({}));
    c
}

const STEPS: &str = "[meta]\nname = \"s\"\nversion = \"1\"\n\n[[scenario]]\nname = \"build\"\n\n[[scenario.steps]]\nname = \"compile\"\ncommand = [\"true\"]\n\n[[scenario.steps]]\nname = \"link\"\ncommand = [\"true\"]\n\n[[scenario]]\nname = \"smoke\"\nrun = \"true\"\n";

fn names(file: &Value) -> Vec<&str> {
    file["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

fn scenarios_changed(c: &mut LspClient, uri: &str) {
    c.wait_for(|m| m["method"] == "clnrm/scenariosChanged" && m["params"]["uri"] == uri)
        .expect("clnrm/scenariosChanged");
}

#[test]
fn scenarios_are_listed_with_steps_and_follow_edits() {
    let ws = workspace();
    let uri = ws.file("s.clnrm.toml", STEPS);
    let other = ws.file(
        "other.clnrm.toml",
        "[[scenario]]\nname = \"alone\"\nrun = \"true\"\n",
    );
    let mut c = start(&ws, local_settings(json!({})));

    // Without a uri: every test file of the workspace, open or not.
    let all = c.request("clnrm/scenarios", json!({}));
    let files = all["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{all}");
    assert!(files.iter().any(|f| f["uri"] == other.as_str()));

    c.open(&uri, STEPS, 1);
    scenarios_changed(&mut c, &uri);
    let one = c.request("clnrm/scenarios", json!({ "uri": uri }));
    let file = &one["files"][0];
    assert_eq!(file["uri"], uri.as_str());
    assert_eq!(names(file), ["build", "smoke"]);
    let build = &file["scenarios"][0];
    assert_eq!(
        build["range"]["start"]["line"], 4,
        "the [[scenario]] header"
    );
    let steps: Vec<_> = build["steps"].as_array().unwrap().iter().collect();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["name"], "compile");
    assert_eq!(steps[0]["range"]["start"]["line"], 7);
    assert_eq!(steps[1]["name"], "link");
    assert_eq!(steps[1]["range"]["start"]["line"], 11);

    // An edit adding a scenario: the client is told, and the list has it.
    let edited = format!("{STEPS}\n[[scenario]]\nname = \"added\"\nrun = \"true\"\n");
    c.change_full(&uri, &edited, 2);
    scenarios_changed(&mut c, &uri);
    let one = c.request("clnrm/scenarios", json!({ "uri": uri }));
    assert_eq!(names(&one["files"][0]), ["build", "smoke", "added"]);

    // A deleted file that is not open has no entry.
    std::fs::remove_file(ws.root.join("other.clnrm.toml")).unwrap();
    let gone = c.request("clnrm/scenarios", json!({ "uri": other }));
    assert_eq!(gone["files"], json!([]));
    assert!(c.shutdown());
}

/// The `clnrm/runResult`s of `scenario` up to its verdict, in arrival order.
fn results_until_verdict(c: &mut LspClient, uri: &str, scenario: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let m = c
            .wait_for(|m| {
                m["method"] == "clnrm/runResult"
                    && m["params"]["uri"] == uri
                    && m["params"]["scenario"] == scenario
            })
            .expect("clnrm/runResult");
        let state = m["params"]["state"].as_str().unwrap().to_string();
        seen.push(m["params"].clone());
        if !["queued", "running"].contains(&state.as_str()) {
            return seen;
        }
    }
}

fn run_file(c: &mut LspClient, uri: &str) -> Value {
    c.request_raw(
        "workspace/executeCommand",
        json!({ "command": "clnrm.runFile", "arguments": [uri] }),
    )
}

#[test]
fn run_results_stream_with_failures_placed_and_cached_reruns() {
    let ws = workspace();
    let pass =
        "[meta]\nname = \"p\"\nversion = \"1\"\n\n[[scenario]]\nname = \"ok\"\nrun = \"true\"\n";
    let fail = "[meta]\nname = \"f\"\nversion = \"1\"\n\n[[scenario]]\nname = \"counts\"\nrun = \"true\"\n\n[expect.counts]\nspans_total = { gte = 50 }\n";
    let pass_uri = ws.file("pass.clnrm.toml", pass);
    let fail_uri = ws.file("fail.clnrm.toml", fail);
    let mut c = start(&ws, local_settings(json!({ "runOnSave": true })));
    c.open(&pass_uri, pass, 1);
    c.open(&fail_uri, fail, 1);

    let resp = run_file(&mut c, &pass_uri);
    assert!(resp.get("error").is_none(), "{resp}");
    let seen = results_until_verdict(&mut c, &pass_uri, "ok");
    let states: Vec<&str> = seen.iter().map(|p| p["state"].as_str().unwrap()).collect();
    assert_eq!(states.first(), Some(&"queued"), "{seen:?}");
    assert_eq!(states.last(), Some(&"passed"), "{seen:?}");
    let verdict = seen.last().unwrap();
    assert_eq!(verdict["cached"], false);
    assert!(verdict["durationMs"].is_u64(), "{verdict}");
    assert_eq!(verdict["failures"], json!([]));
    assert_eq!(verdict["message"], Value::Null);

    let resp = run_file(&mut c, &fail_uri);
    assert!(resp.get("error").is_none(), "{resp}");
    let seen = results_until_verdict(&mut c, &fail_uri, "counts");
    let verdict = seen.last().unwrap();
    assert_eq!(verdict["state"], "failed", "{verdict}");
    let failures = verdict["failures"].as_array().unwrap();
    assert!(!failures.is_empty(), "{verdict}");
    // On the `spans_total` key (line 9), with what was expected and what was seen.
    assert_eq!(failures[0]["range"]["start"]["line"], 9, "{verdict}");
    assert!(
        failures[0]["expected"].as_str().unwrap().contains("50"),
        "{verdict}"
    );
    assert!(failures[0]["actual"].is_string(), "{verdict}");
    assert!(verdict["message"].is_string());

    // A save re-runs the unchanged passing scenario from the cache.
    c.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": pass_uri } }),
    );
    let seen = results_until_verdict(&mut c, &pass_uri, "ok");
    let verdict = seen.last().unwrap();
    assert_eq!(verdict["state"], "passed", "{verdict}");
    assert_eq!(verdict["cached"], true, "{verdict}");
    assert!(c.shutdown());
}

#[test]
fn untrusted_lists_scenarios_but_refuses_runs_once_and_shows_no_run_lens() {
    let ws = workspace();
    let uri = ws.file("s.clnrm.toml", STEPS);
    let mut c = start(&ws, local_settings(json!({ "trusted": false })));
    c.open(&uri, STEPS, 1);
    c.wait_for(|m| m["method"] == "textDocument/publishDiagnostics")
        .expect("diagnostics");

    let listed = c.request("clnrm/scenarios", json!({ "uri": uri }));
    assert_eq!(names(&listed["files"][0]), ["build", "smoke"]);

    let lenses = c.lenses(&uri);
    assert!(
        lenses.iter().all(|(cmd, _)| cmd != "clnrm.runScenario"),
        "{lenses:?}"
    );
    assert_eq!(lenses.len(), 2, "one trace lens per scenario: {lenses:?}");

    let resp = run_file(&mut c, &uri);
    let reason = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(reason.contains("not trusted"), "{resp}");
    // The end of the stream is the barrier: the reason was never also shown.
    let rest = c.shutdown_collect().expect("exits");
    let shown: Vec<_> = rest
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .filter(|m| {
            m["params"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("not trusted")
        })
        .collect();
    assert!(shown.is_empty(), "{shown:?}");
    assert!(!rest.iter().any(|m| m["method"] == "clnrm/runResult"));
}

/// A scenario whose second `[[scenario.steps]]` entry prints something else than its
/// `expected_output_regex` (line 14, 0-based) says.
const STEP_FAILS: &str = "[meta]\nname = \"s\"\nversion = \"1\"\n\n[[scenario]]\nname = \"build\"\n\n[[scenario.steps]]\nname = \"compile\"\ncommand = [\"true\"]\n\n[[scenario.steps]]\nname = \"link\"\ncommand = [\"echo nope\"]\nexpected_output_regex = \"^linked$\"\n";

#[test]
fn a_step_failure_is_placed_on_its_step_in_run_results_and_diagnostics() {
    let ws = workspace();
    let uri = ws.file("steps.clnrm.toml", STEP_FAILS);
    let mut c = start(&ws, local_settings(json!({ "runOnSave": false })));
    c.open(&uri, STEP_FAILS, 1);
    let resp = run_file(&mut c, &uri);
    assert!(resp.get("error").is_none(), "{resp}");
    let seen = results_until_verdict(&mut c, &uri, "build");
    let verdict = seen.last().unwrap();
    assert_eq!(verdict["state"], "failed", "{verdict}");
    let failures = verdict["failures"].as_array().unwrap();
    assert_eq!(
        failures[0]["range"]["start"]["line"], 14,
        "placed on the `link` step: {verdict}"
    );
    assert!(
        failures[0]["actual"].as_str().unwrap().contains("nope"),
        "{verdict}"
    );
    // The diagnostic of the unmet expectation sits on the same step.
    let d = c
        .wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|ds| ds.iter().any(|d| d["code"] == "expectation-unmet"))
        })
        .expect("the run's diagnostics");
    let unmet: Vec<&Value> = d["params"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "expectation-unmet")
        .collect();
    assert_eq!(unmet.len(), 1, "{d}");
    assert_eq!(unmet[0]["range"]["start"]["line"], 14, "{d}");
    assert!(c.shutdown());
}
