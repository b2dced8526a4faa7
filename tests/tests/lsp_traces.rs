//! Trace-diff lenses in the editor: no baseline → record it → matches → a changed trace
//! shows its markers; `clnrm.showTraceDiff` returns the tree. The last run's trace is put
//! where the runner stores it (`.clnrm/traces/<file>/<scenario>.json`).

use std::path::Path;

use clnrm_lsp_e2e::bin_path::fixtures;
use clnrm_lsp_e2e::lsp::LspClient;
use serde_json::{json, Value};

/// Trace lenses (each scenario also has its run lens, tests/tests/lsp_runs.rs).
fn lens_titles(c: &mut LspClient, uri: &str) -> Vec<String> {
    c.lenses(uri)
        .into_iter()
        .filter(|(command, _)| command != "clnrm.runScenario")
        .map(|(_, title)| title)
        .collect()
}

fn put_trace(root: &Path, fixture: &str) {
    let dir = root.join(".clnrm/traces/smoke.clnrm.toml");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        fixtures().join("traces").join(fixture),
        dir.join("smoke.json"),
    )
    .unwrap();
}

#[test]
fn lenses_follow_the_trace_and_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    clnrm_lsp_e2e::workspace::pin_local(&root, "");
    let text = std::fs::read_to_string(fixtures().join("traces/smoke.clnrm.toml")).unwrap();
    std::fs::write(root.join("smoke.clnrm.toml"), &text).unwrap();
    let uri = format!("file://{}/smoke.clnrm.toml", root.display());
    let (mut c, init) = LspClient::start(
        json!({ "workspace": { "codeLens": { "refreshSupport": true } } }),
        Some(&root),
    );
    assert!(init["capabilities"]["codeLensProvider"].is_object());
    c.open(&uri, &text, 1);
    c.diagnostics_where(&uri, |_| true);

    assert_eq!(
        lens_titles(&mut c, &uri),
        ["trace: not run yet", "trace: not run yet"]
    );

    put_trace(&root, "baseline.json");
    assert_eq!(lens_titles(&mut c, &uri)[0], "trace: no baseline — record");

    let recorded = c.request(
        "workspace/executeCommand",
        json!({ "command": "clnrm.updateBaseline", "arguments": [uri, "smoke"] }),
    );
    let baseline = recorded["baseline"].as_str().unwrap();
    assert!(
        Path::new(baseline).ends_with(".clnrm/baselines/smoke.clnrm.toml/smoke.json"),
        "{baseline}"
    );
    assert!(Path::new(baseline).exists());
    // The client is asked to refresh its lenses.
    assert!(c
        .wait_for(|m| m["method"] == "workspace/codeLens/refresh")
        .is_some());
    assert_eq!(lens_titles(&mut c, &uri)[0], "trace ✓ matches baseline");

    put_trace(&root, "current_changed.json");
    let title = &lens_titles(&mut c, &uri)[0];
    assert!(
        title.starts_with("trace: ") && title.contains('✏'),
        "{title}"
    );
    let md = c.request(
        "workspace/executeCommand",
        json!({ "command": "clnrm.showTraceDiff", "arguments": [uri, "smoke"] }),
    );
    let md = md.as_str().unwrap();
    assert!(md.contains("clnrm.run") && md.contains("retries"), "{md}");

    // `clnrm/traceDiff`: the same diff as the page `diff FILE --format html` writes.
    let page = c.request(
        "clnrm/traceDiff",
        json!({ "uri": uri, "scenario": "smoke" }),
    );
    let html = page["html"].as_str().unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(html.contains("<section class=\"scenario differs\" data-scenario=\"smoke\">"));
    assert_eq!(html.matches("<details class=\"span").count(), 9);
    assert_eq!(page["markdown"].as_str().unwrap(), md);
    assert_eq!(page["title"], "Trace diff: smoke (smoke.clnrm.toml)");
    let bad = c.request_raw("clnrm/traceDiff", json!({ "uri": uri }));
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expects"),
        "{bad}"
    );

    // The same diff on hover over the scenario's header, where its lenses are (for
    // editors without lenses).
    let header = text.lines().position(|l| l == "[[scenario]]").unwrap();
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": header, "character": 1 } }),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("retries"),
        "{hover}"
    );

    // A bad command is an error, not a crash.
    let bad = c.request_raw(
        "workspace/executeCommand",
        json!({ "command": "clnrm.showTraceDiff", "arguments": [] }),
    );
    assert!(bad.get("error").is_some());
    let _: Value = c.request("clnrm/cacheStats", Value::Null);
    assert!(c.shutdown());
}
