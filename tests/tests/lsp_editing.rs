//! Editing help over LSP: completion, hover, definition, references, symbols, folding,
//! formatting and code actions, as an editor asks for them.

use clnrm_lsp_e2e::lsp::LspClient;
use serde_json::{json, Value};

const DOC: &str = "[meta]\nname = \"demo\"\nversion = \"1\"\n\n[vars]\nregion = \"eu-west\"\n\n[service.db]\nimage = \"postgres:16\"\n\n[[scenario]]\nname = \"smoke\"\nservice = \"db\"\nrun = \"echo {{ region }}\"\n";

fn open(text: &str) -> (LspClient, &'static str) {
    let (mut c, _) = LspClient::start(json!({}), None);
    let uri = "file:///tmp/edit.clnrm.toml.tera";
    c.open(uri, text, 1);
    c.diagnostics_where(uri, |_| true);
    (c, uri)
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

fn labels(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn completes_keys_services_and_template_variables() {
    let text = format!("{DOC}\n[[scenario]]\nname = \"two\"\nservice = ");
    let (mut c, uri) = open(&text);
    let last = text.lines().count() as u32 - 1;
    let items = c.request("textDocument/completion", at(uri, last, 10));
    assert_eq!(labels(&items), ["db"]);

    let text = format!("{DOC}\n[[scenario]]\nna");
    c.change_full(uri, &text, 2);
    let items = c.request(
        "textDocument/completion",
        at(uri, text.lines().count() as u32 - 1, 2),
    );
    let l = labels(&items);
    assert!(
        l.contains(&"run".to_string()) && l.contains(&"name".to_string()),
        "{l:?}"
    );

    // Inside a tag: variables with their values.
    let line = DOC
        .lines()
        .position(|l| l.contains("{{ region }}"))
        .unwrap() as u32;
    let items = c.request("textDocument/completion", at(uri, line, 18));
    let region = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "region")
        .expect("region offered");
    assert!(region["detail"].as_str().unwrap().contains("eu-west"));
    assert!(c.shutdown());
}

#[test]
fn hover_definition_and_references() {
    let (mut c, uri) = open(DOC);
    let version_line = 2;
    let hover = c.request("textDocument/hover", at(uri, version_line, 2));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("meta.version"),
        "{hover}"
    );

    let service_line = DOC.lines().position(|l| l == "service = \"db\"").unwrap() as u32;
    let defs = c.request("textDocument/definition", at(uri, service_line, 12));
    assert_eq!(defs[0]["range"]["start"]["line"], 7, "{defs}");
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 7, "character": 10 }, "context": { "includeDeclaration": true } }),
    );
    assert_eq!(refs.as_array().unwrap().len(), 2);

    let var_line = DOC
        .lines()
        .position(|l| l.contains("{{ region }}"))
        .unwrap() as u32;
    let hover = c.request("textDocument/hover", at(uri, var_line, 17));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("eu-west"),
        "{hover}"
    );
    let defs = c.request("textDocument/definition", at(uri, var_line, 17));
    assert_eq!(defs[0]["range"]["start"]["line"], 5, "{defs}");
    assert!(c.shutdown());
}

#[test]
fn outline_folding_and_workspace_symbols() {
    let (mut c, uri) = open(DOC);
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo", "vars", "db", "smoke"]);
    let folds = c.request(
        "textDocument/foldingRange",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert!(
        folds
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["startLine"] == 10),
        "{folds}"
    );
    assert!(c.shutdown());
}

#[test]
fn formatting_and_quick_fixes() {
    let (mut c, uri) = open("[meta]\nversion=\"1\"   \nname = \"x\"\n[[scenario]]\nname = \"s\"\nrun = \"true\"\nservce = \"db\"\n");
    // A .tera file: only whitespace outside tags changes.
    let edits = c.request("textDocument/formatting", json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }));
    assert!(edits.as_array().unwrap().len() <= 1);

    let plain = "file:///tmp/fmt.clnrm.toml";
    c.open(plain, "[meta]\nversion=\"1\"\nname = \"x\"\n", 1);
    c.diagnostics_where(plain, |_| true);
    let edits = c.request("textDocument/formatting", json!({ "textDocument": { "uri": plain }, "options": { "tabSize": 2, "insertSpaces": true } }));
    let new_text: String = edits
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["newText"].as_str().unwrap())
        .collect();
    assert!(
        new_text.starts_with("name = \"x\"\nversion = \"1"),
        "{edits}"
    );

    // The unknown key `servce` gets a "did you mean" quick fix.
    let report = c.request(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    let unknown: Vec<Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "unknown-key")
        .cloned()
        .collect();
    assert_eq!(unknown.len(), 1, "{report}");
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": unknown[0]["range"], "context": { "diagnostics": unknown } }),
    );
    let fix = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "quickfix")
        .expect("a quick fix");
    let edit = &fix["edit"]["changes"][uri][0];
    assert_eq!(edit["newText"], "service");
    let source: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "source")
        .map(|a| a["command"]["command"].as_str().unwrap())
        .collect();
    // Inside a scenario: run it, or record its baseline.
    assert_eq!(source, ["clnrm.runScenario", "clnrm.updateBaseline"]);
    assert!(c.shutdown());
}
