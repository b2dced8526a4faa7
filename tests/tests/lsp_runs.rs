//! Scenario runs in the editor, over stdio like an editor: a save runs the file's
//! scenarios in the background, results come back as `clnrm-run` diagnostics, lenses and
//! `$/progress`; an unchanged scenario is not run again; commands run on demand; an
//! untrusted workspace runs nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clnrm_lsp_e2e::lsp::LspClient;
use clnrm_lsp_e2e::workspace::{local_settings, LocalWorkspace as Workspace};
use serde_json::{json, Value};

fn workspace() -> Workspace {
    Workspace::new()
}

/// Where the workspace's `append` scenario counts its runs.
trait RunCount {
    fn count(&self) -> PathBuf;
}

impl RunCount for Workspace {
    fn count(&self) -> PathBuf {
        self.root.join("count")
    }
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |s| s.lines().count())
}

fn appending(count: &Path, extra: &str) -> String {
    format!(
        "[meta]\nname = \"runs\"\nversion = \"1\"\n\n[[scenario]]\nname = \"append\"\nrun = \"sh -c 'echo x >> {}{extra}'\"\n",
        count.display()
    )
}

fn start(ws: &Workspace, options: Value) -> LspClient {
    start_with(
        ws,
        options,
        json!({
            "window": { "workDoneProgress": true },
            "workspace": { "codeLens": { "refreshSupport": true } }
        }),
    )
}

fn start_with(ws: &Workspace, options: Value, capabilities: Value) -> LspClient {
    let mut c = LspClient::spawn();
    c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": format!("file://{}", ws.root.display()),
            "capabilities": capabilities,
            "initializationOptions": local_settings(options),
        }),
    );
    c.notify("initialized", json!({}));
    c
}

fn save(c: &mut LspClient, uri: &str) {
    c.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
}

fn run_diagnostics(c: &mut LspClient, uri: &str) -> Vec<Value> {
    let published = c.diagnostics_where(uri, |p| {
        p["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["source"] == "clnrm-run")
    });
    published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source"] == "clnrm-run")
        .cloned()
        .collect()
}

fn run_lens_titles(c: &mut LspClient, uri: &str) -> Vec<String> {
    c.lenses(uri)
        .into_iter()
        .filter(|(command, _)| command == "clnrm.runScenario")
        .map(|(_, title)| title)
        .collect()
}

/// Poll the lenses until one matches (results arrive in the background).
fn wait_lens(c: &mut LspClient, uri: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let titles = run_lens_titles(c, uri);
        if let Some(t) = titles.iter().find(|t| pred(t)) {
            return t.clone();
        }
        assert!(
            Instant::now() < deadline,
            "lenses never matched: {titles:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn save_runs_and_an_unchanged_scenario_comes_from_the_cache() {
    let ws = workspace();
    let text = appending(&ws.count(), "");
    let uri = ws.file("a.clnrm.toml", &text);
    let mut c = start(&ws, json!({}));
    c.open(&uri, &text, 1);
    c.diagnostics_where(&uri, |_| true);
    assert_eq!(run_lens_titles(&mut c, &uri), ["▶ Run"]);

    save(&mut c, &uri);
    // Progress: begin, "scenario 1 of 1", end with the summary.
    let begin = c
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
        .expect("progress begin");
    assert!(begin["params"]["value"]["title"]
        .as_str()
        .unwrap()
        .contains("a.clnrm.toml"));
    let report = c
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "report")
        .expect("progress report");
    assert_eq!(
        report["params"]["value"]["message"],
        "scenario 1 of 1: append"
    );
    let end = c
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .expect("progress end");
    assert_eq!(end["params"]["value"]["message"], "1 passed, 0 failed");

    let diags = run_diagnostics(&mut c, &uri);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["severity"], 3, "information when passed");
    assert_eq!(
        diags[0]["range"]["start"]["line"], 4,
        "on the [[scenario]] header"
    );
    assert!(diags[0]["message"].as_str().unwrap().contains("passed"));
    assert!(c
        .wait_for(|m| m["method"] == "workspace/codeLens/refresh")
        .is_some());
    let title = wait_lens(&mut c, &uri, |t| t.starts_with('✓'));
    assert!(
        title.starts_with("✓ passed ") && title.ends_with(" s"),
        "{title}"
    );
    assert_eq!(lines(&ws.count()), 1);

    // Saving again without a change: the cached result, the command does not run.
    save(&mut c, &uri);
    let end = c
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .expect("second progress end");
    assert_eq!(
        end["params"]["value"]["message"],
        "1 passed, 0 failed (1 cached)"
    );
    let title = wait_lens(&mut c, &uri, |t| t.ends_with("(cached)"));
    assert!(title.starts_with("✓ passed"), "{title}");
    assert_eq!(
        lines(&ws.count()),
        1,
        "a cached scenario must not run again"
    );
    let stats = c.request("clnrm/cacheStats", Value::Null);
    let results = &stats["runs"]["results"][ws.root.display().to_string()];
    assert!(results["hits"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(results["entries"], 1, "{stats}");
    assert_eq!(results["runs"], 1, "{stats}");

    // A changed command runs again.
    let changed = appending(&ws.count(), "; true");
    c.change_full(&uri, &changed, 2);
    assert_eq!(
        run_lens_titles(&mut c, &uri),
        ["▶ Run"],
        "new content, no result yet"
    );
    save(&mut c, &uri);
    wait_lens(&mut c, &uri, |t| {
        t.starts_with('✓') && !t.contains("cached")
    });
    assert_eq!(lines(&ws.count()), 2);

    // The explicit command runs even a cached scenario.
    let queued = c.request(
        "workspace/executeCommand",
        json!({ "command": "clnrm.runScenario", "arguments": [uri, "append"] }),
    );
    assert_eq!(queued["scenarios"], 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while lines(&ws.count()) < 3 {
        assert!(Instant::now() < deadline, "runScenario did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The run's trace is kept: the trace lens no longer says "not run yet".
    let lenses = c.request(
        "textDocument/codeLens",
        json!({ "textDocument": { "uri": uri } }),
    );
    let trace = lenses
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["command"]["title"].as_str().unwrap().starts_with("trace"))
        .unwrap();
    assert_eq!(trace["command"]["title"], "trace: no baseline — record");
    assert!(c.shutdown());
}

#[test]
fn failures_are_diagnostics_on_the_header_and_the_expectation() {
    let ws = workspace();
    let text = "[meta]\nname = \"f\"\nversion = \"1\"\n\n[[scenario]]\nname = \"boom\"\nrun = \"sh -c 'echo went wrong >&2; exit 3'\"\n\n[[scenario]]\nname = \"counts\"\nrun = \"true\"\n\n[expect.counts]\nspans_total = { gte = 50 }\n";
    let uri = ws.file("f.clnrm.toml", text);
    let mut c = start(&ws, json!({ "runOnSave": true }));
    c.open(&uri, text, 1);
    c.diagnostics_where(&uri, |_| true);
    save(&mut c, &uri);
    let deadline = Instant::now() + Duration::from_secs(20);
    let diags = loop {
        let d = run_diagnostics(&mut c, &uri);
        if d.iter().filter(|d| d["code"] == "run-failed").count() == 2 {
            break d;
        }
        assert!(Instant::now() < deadline, "{d:?}");
    };
    let boom = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("`boom`"))
        .unwrap();
    assert_eq!(boom["severity"], 1);
    assert_eq!(boom["range"]["start"]["line"], 4);
    let message = boom["message"].as_str().unwrap();
    assert!(
        message.contains("exit 3") && message.contains("went wrong"),
        "{message}"
    );
    // The unmet expectation sits on its key, saying what was expected and observed.
    let unmet: Vec<_> = diags
        .iter()
        .filter(|d| d["code"] == "expectation-unmet")
        .collect();
    assert!(!unmet.is_empty(), "{diags:?}");
    assert!(
        unmet.iter().all(|d| d["range"]["start"]["line"] == 13),
        "{unmet:?}"
    );
    assert!(unmet[0]["message"].as_str().unwrap().contains("observed"));
    // The lenses follow the diagnostics (the runner forgets a finished job just after its
    // result is published, and a lens refresh follows): wait until neither says "running".
    let deadline = Instant::now() + Duration::from_secs(20);
    let titles = loop {
        let titles = run_lens_titles(&mut c, &uri);
        if titles.iter().all(|t| t.starts_with("✗ failed: ")) || Instant::now() > deadline {
            break titles;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        titles.iter().all(|t| t.starts_with("✗ failed: ")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.contains("exit 3: went wrong")),
        "{titles:?}"
    );
    assert!(c.shutdown());
}

#[test]
fn an_untrusted_workspace_or_run_on_save_off_runs_nothing() {
    for options in [
        json!({ "trusted": false, "runOnSave": true }),
        json!({ "runOnSave": false }),
    ] {
        let ws = workspace();
        let text = appending(&ws.count(), "");
        let uri = ws.file("u.clnrm.toml", &text);
        let mut c = start(&ws, options.clone());
        c.open(&uri, &text, 1);
        c.diagnostics_where(&uri, |_| true);
        save(&mut c, &uri);
        let resp = c.request_raw(
            "workspace/executeCommand",
            json!({ "command": "clnrm.runFile", "arguments": [uri] }),
        );
        if options["trusted"] == false {
            let err = resp["error"]["message"].as_str().unwrap();
            assert!(err.contains("not trusted"), "{err}");
            // The save's own decision, logged.
            assert!(
                c.log_shows("not run: the workspace is not trusted"),
                "no log of the refused save"
            );
        } else {
            // runOnSave off still allows an explicit run.
            assert_eq!(resp["result"]["scenarios"], 1, "{resp}");
            c.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
                .expect("the explicit run begins");
            let end = c
                .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
                .expect("the explicit run ends");
            assert_eq!(end["params"]["value"]["message"], "1 passed, 0 failed");
        }
        // Barrier: the server's exit (its runs stop with it). Over the whole session only
        // the explicit run began, and only it appended to the count.
        let rest = c.shutdown_collect().expect("server exits");
        let begun = rest
            .iter()
            .filter(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
            .count();
        assert_eq!(begun, 0, "a run began after the explicit one: {rest:?}");
        let expected = usize::from(options["trusted"] != false);
        assert_eq!(lines(&ws.count()), expected, "{options}");
    }
}

#[test]
fn a_file_with_errors_is_not_run_and_the_command_says_why() {
    let ws = workspace();
    let text = "[meta]\nname = \"e\"\n\n[[scenario]]\nname = \"x\"\nrun = \"true\"\nservice = \"missing\"\n";
    let uri = ws.file("e.clnrm.toml", text);
    let mut c = start(&ws, json!({}));
    c.open(&uri, text, 1);
    c.diagnostics_where(&uri, |_| true);
    let resp = c.request_raw(
        "workspace/executeCommand",
        json!({ "command": "clnrm.runScenario", "arguments": [uri, "x"] }),
    );
    let err = resp["error"]["message"].as_str().unwrap();
    assert!(err.contains("error"), "{err}");
    let resp = c.request_raw(
        "workspace/executeCommand",
        json!({ "command": "clnrm.runScenario", "arguments": [uri] }),
    );
    assert!(resp.get("error").is_some());
    assert!(c.shutdown());
}

#[test]
fn exiting_the_server_stops_its_runs() {
    let ws = workspace();
    let pid_file = ws.root.join("pid");
    let text = format!(
        "[meta]\nname = \"x\"\nversion = \"1\"\n\n[[scenario]]\nname = \"long\"\nrun = \"sh -c 'echo $$ > {}; exec sleep 60'\"\n",
        pid_file.display()
    );
    let uri = ws.file("x.clnrm.toml", &text);
    let mut c = start(&ws, json!({}));
    c.open(&uri, &text, 1);
    c.diagnostics_where(&uri, |_| true);
    save(&mut c, &uri);
    let pid = clnrm_lsp_e2e::procs::pid_from(&pid_file, Duration::from_secs(20))
        .expect("the scenario started");
    assert!(c.shutdown(), "the server exits while a run is going");
    assert!(
        clnrm_lsp_e2e::procs::gone(pid, Duration::from_secs(5)),
        "the run outlived the server"
    );
}

/// Clients that pull diagnostics: with `workspace/diagnostic/refresh` they are asked to pull
/// again and the report carries the run results; without it the run results are pushed on
/// their own and left out of the pulled report (nothing shows twice).
#[test]
fn pulling_clients_get_run_results_once() {
    for refresh in [true, false] {
        let ws = workspace();
        let text = appending(&ws.count(), "");
        let uri = ws.file("p.clnrm.toml", &text);
        let mut c = start_with(
            &ws,
            json!({}),
            json!({
                "textDocument": { "diagnostic": {} },
                "workspace": { "diagnostic": { "refreshSupport": refresh } }
            }),
        );
        c.open(&uri, &text, 1);
        save(&mut c, &uri);
        let pull = |c: &mut LspClient| {
            let report = c.request(
                "textDocument/diagnostic",
                json!({ "textDocument": { "uri": uri } }),
            );
            report["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["source"] == "clnrm-run")
                .count()
        };
        if refresh {
            assert!(c
                .wait_for(|m| m["method"] == "workspace/diagnostic/refresh")
                .is_some());
            assert_eq!(pull(&mut c), 1, "the pulled report carries the run result");
            // Nothing pushed in the whole session, read to the end of the server's output.
            let rest = c.shutdown_collect().expect("server exits");
            assert!(
                !rest
                    .iter()
                    .any(|m| m["method"] == "textDocument/publishDiagnostics"),
                "nothing pushed: {rest:?}"
            );
        } else {
            let pushed = run_diagnostics(&mut c, &uri);
            assert_eq!(pushed.len(), 1);
            assert_eq!(pull(&mut c), 0, "not twice");
            assert!(c.shutdown());
        }
    }
}
