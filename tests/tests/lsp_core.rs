//! The server over stdio, as an editor drives it: diagnostics at the right place, edits,
//! ordering, pull diagnostics, the hash cache, dependencies, and bad input.

use clnrm_lsp_e2e::lsp::LspClient;
use serde_json::{json, Value};

const BROKEN: &str = "[meta]\nname = \"demo\"\nversion = \n";
const VALID: &str =
    "[meta]\nname = \"demo\"\nversion = \"1\"\n\n[[scenario]]\nname = \"s\"\nrun = \"echo hi\"\n";

fn utf16_client() -> LspClient {
    LspClient::start(json!({}), None).0
}

fn codes(params: &Value) -> Vec<String> {
    params["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn initialize_negotiates_the_position_encoding() {
    let (c, result) = LspClient::start(
        json!({ "general": { "positionEncodings": ["utf-16", "utf-8"] } }),
        None,
    );
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(
        result["capabilities"]["textDocumentSync"]["change"], 2,
        "incremental sync"
    );
    assert_eq!(result["serverInfo"]["name"], "clnrm-lsp");
    assert!(c.shutdown(), "server exits after shutdown/exit");

    let (c, result) = LspClient::start(json!({}), None);
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    assert!(c.shutdown());
}

#[test]
fn columns_follow_the_negotiated_encoding() {
    // A wrong-typed value after a multi-byte key on the same line.
    let line = "env = { \"😀\" = \"x\", B = 1 }";
    let text = format!("[meta]\nname = \"d\"\nversion = \"1\"\n[[scenario]]\nname = \"s\"\nrun = \"x\"\n[service.a]\nimage = \"i\"\n{line}\n");
    let prefix = &line[..line.find("1 }").unwrap()];
    let want_utf8 = prefix.len() as u64;
    let want_utf16 = prefix.encode_utf16().count() as u64;
    assert_ne!(want_utf8, want_utf16);
    for (caps, want) in [
        (
            json!({ "general": { "positionEncodings": ["utf-8"] } }),
            want_utf8,
        ),
        (json!({}), want_utf16),
    ] {
        let (mut c, _) = LspClient::start(caps, None);
        let uri = "file:///tmp/enc.clnrm.toml";
        c.open(uri, &text, 1);
        let params = c.diagnostics_where(uri, |_| true);
        let d = params["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "invalid-type")
            .unwrap_or_else(|| panic!("no invalid-type: {params}"))
            .clone();
        assert_eq!(d["range"]["start"]["line"], 8);
        assert_eq!(d["range"]["start"]["character"], want, "{d}");
        assert!(c.shutdown());
    }
}

#[test]
fn diagnostics_land_where_the_error_is_and_clear_after_a_fix() {
    let mut c = utf16_client();
    let uri = "file:///tmp/broken.clnrm.toml";
    c.open(uri, BROKEN, 1);
    let p = c.diagnostics_where(uri, |p| p["version"] == 1);
    let d = &p["diagnostics"][0];
    assert_eq!(d["code"], "toml-syntax");
    assert_eq!(d["source"], "clnrm");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["range"]["start"]["line"], 2);
    assert_eq!(d["range"]["start"]["character"], 10);

    // Incremental edit: insert the missing value.
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [
                { "range": { "start": { "line": 2, "character": 10 }, "end": { "line": 2, "character": 10 } }, "text": "\"1\"" },
                { "range": { "start": { "line": 3, "character": 0 }, "end": { "line": 3, "character": 0 } }, "text": "[[scenario]]\nname = \"s\"\nrun = \"true\"\n" }
            ]
        }),
    );
    let p = c.diagnostics_where(uri, |p| p["version"] == 2);
    let errors: Vec<&Value> = p["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == 1)
        .collect();
    assert!(errors.is_empty(), "fixed: {p}");
    assert!(c.shutdown());
}

#[test]
fn a_burst_of_edits_ends_with_the_last_versions_diagnostics_in_order() {
    let mut c = utf16_client();
    let uri = "file:///tmp/burst.clnrm.toml";
    c.open(uri, VALID, 1);
    for v in 2..=51 {
        // Odd versions are broken, even ones valid; the last (51) is broken.
        let text = if v % 2 == 1 { BROKEN } else { VALID };
        c.change_full(uri, text, v);
    }
    // Publishes in arrival order up to the last version's: intermediate versions may be
    // published (coalescing depends on timing), but never out of order.
    let seen = c.published_until(uri, |p| p["version"] == 51);
    let versions: Vec<i64> = seen
        .iter()
        .map(|p| p["version"].as_i64().unwrap())
        .collect();
    assert_eq!(codes(seen.last().unwrap()), ["toml-syntax"]);
    assert!(
        versions.windows(2).all(|w| w[0] <= w[1]),
        "versions went backwards: {versions:?}"
    );
    // Barrier: one more version. Whatever was still coming for 2..=51 arrives before its
    // publish, and nothing older than 51 may be among it.
    c.change_full(uri, VALID, 52);
    let after: Vec<i64> = c
        .published_until(uri, |p| p["version"] == 52)
        .iter()
        .map(|p| p["version"].as_i64().unwrap())
        .collect();
    assert!(
        after.iter().all(|&v| v >= 51),
        "published after the last version: {after:?}"
    );
    assert!(c.shutdown());
}

#[test]
fn pull_diagnostics_for_clients_that_ask() {
    let (mut c, init) = LspClient::start(
        json!({ "textDocument": { "diagnostic": { "dynamicRegistration": false } } }),
        None,
    );
    assert_eq!(
        init["capabilities"]["diagnosticProvider"]["identifier"],
        "clnrm"
    );
    let uri = "file:///tmp/pull.clnrm.toml";
    c.open(uri, BROKEN, 1);
    let report = c.request(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(report["kind"], "full");
    assert_eq!(report["items"][0]["code"], "toml-syntax");
    assert_eq!(report["items"][0]["range"]["start"]["line"], 2);
    // A pulling client is not also pushed the same diagnostics: nothing in the whole
    // session, read to the end of the server's output.
    let rest = c
        .shutdown_collect()
        .expect("server exits after shutdown/exit");
    let pushed: Vec<&Value> = rest
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .collect();
    assert!(pushed.is_empty(), "{pushed:?}");
}

#[test]
fn unchanged_content_is_served_from_the_hash_cache() {
    let mut c = utf16_client();
    let a = "file:///tmp/cache-a.clnrm.toml";
    c.open(a, VALID, 1);
    c.diagnostics_where(a, |p| p["version"] == 1);
    let before = c.request("clnrm/cacheStats", Value::Null);
    // Edit away and undo back: the undo is a hit.
    c.change_full(a, BROKEN, 2);
    c.diagnostics_where(a, |p| p["version"] == 2);
    c.change_full(a, VALID, 3);
    c.diagnostics_where(a, |p| p["version"] == 3);
    // Another document with the same text shares the analysis.
    let b = "file:///tmp/cache-b.clnrm.toml";
    c.open(b, VALID, 1);
    c.diagnostics_where(b, |p| p["version"] == 1);
    let after = c.request("clnrm/cacheStats", Value::Null);
    let hits = after["hits"].as_u64().unwrap() - before["hits"].as_u64().unwrap();
    let misses = after["misses"].as_u64().unwrap() - before["misses"].as_u64().unwrap();
    assert_eq!(
        misses, 1,
        "only the broken text was new: {before} -> {after}"
    );
    assert!(
        hits >= 2,
        "undo and the second document hit: {before} -> {after}"
    );
    assert!(c.shutdown());
}

#[test]
fn an_included_template_edited_in_the_editor_revalidates_its_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("part.toml.tera"), "version = \"1\"\n").unwrap();
    let main_text = "[meta]\nname = \"x\"\n{% include \"part.toml.tera\" %}\n[[scenario]]\nname = \"s\"\nrun = \"true\"\n";
    std::fs::write(root.join("main.clnrm.toml.tera"), main_text).unwrap();
    let (mut c, _) = LspClient::start(json!({}), Some(root));
    let main_uri = format!("file://{}/main.clnrm.toml.tera", root.display());
    let part_uri = format!("file://{}/part.toml.tera", root.display());
    c.open(&main_uri, main_text, 1);
    let first = c.diagnostics_where(&main_uri, |_| true);
    assert!(
        !codes(&first).contains(&"missing-key".to_string()),
        "{first}"
    );
    // Open the include and break it in the buffer (not on disk): the dependent re-validates.
    c.open(&part_uri, "version = \"1\"\n", 1);
    c.change_full(&part_uri, "# no version any more\n", 2);
    let again = c.diagnostics_where(&main_uri, |p| codes(p).contains(&"missing-key".to_string()));
    assert_eq!(
        again["version"], 1,
        "the dependent's own version is unchanged"
    );
    assert!(c.shutdown());
}

#[test]
fn an_open_library_shows_the_mistakes_its_importers_find_in_it_and_refreshes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    let lib = "{% macro service(name) %}\n[service.{{ name }}]\nimage = \"x\"\nports = \"oops\"\n{% endmacro service %}\n";
    std::fs::write(root.join("_lib.toml.tera"), lib).unwrap();
    let test = |call: &str| {
        format!("{{% import \"_lib.toml.tera\" as m %}}\n[meta]\nname = \"t\"\nversion = \"1\"\n{call}\n[[scenario]]\nname = \"a\"\nservice = \"db\"\nrun = \"true\"\n")
    };
    let with_call = test("{{ m::service(name=\"db\") }}");
    // The importer is closed: it is found on disk.
    std::fs::write(root.join("a.clnrm.toml.tera"), &with_call).unwrap();
    let (mut c, _) = LspClient::start(json!({}), Some(root));
    let lib_uri = format!("file://{}/_lib.toml.tera", root.display());
    let test_uri = format!("file://{}/a.clnrm.toml.tera", root.display());
    c.open(&lib_uri, lib, 1);
    let p = c.diagnostics_where(&lib_uri, |_| true);
    assert_eq!(codes(&p), ["invalid-type"], "{p}");
    let d = &p["diagnostics"][0];
    assert_eq!(d["range"]["start"]["line"], 3, "{d}");
    let rel = &d["relatedInformation"][0];
    assert_eq!(rel["location"]["uri"], test_uri.as_str(), "{d}");
    assert_eq!(rel["location"]["range"]["start"]["line"], 4, "{d}");
    // The importer opened and edited so it no longer calls the macro: the library clears.
    c.open(&test_uri, &with_call, 1);
    c.change_full(&test_uri, &test("[service.db]\nimage = \"x\""), 2);
    let cleared = c.diagnostics_where(&lib_uri, |p| codes(p).is_empty());
    assert_eq!(cleared["version"], 1);
    assert!(c.shutdown());
}

#[test]
fn bad_input_never_kills_the_server() {
    let mut c = utf16_client();
    // A 10 MB document.
    let huge = "# filler line\n".repeat(10 * 1024 * 1024 / 14);
    c.open("file:///tmp/huge.clnrm.toml", &huge, 1);
    let p = c.diagnostics_where("file:///tmp/huge.clnrm.toml", |_| true);
    assert_eq!(codes(&p), ["file-too-large"]);
    // Deeply nested arrays and tables.
    let deep = format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    c.open("file:///tmp/deep.clnrm.toml", &deep, 1);
    c.diagnostics_where("file:///tmp/deep.clnrm.toml", |_| true);
    let deep_tpl = format!(
        "x = \"{{{{ {}1{} }}}}\"\n",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    c.open("file:///tmp/deep.clnrm.toml.tera", &deep_tpl, 1);
    c.diagnostics_where("file:///tmp/deep.clnrm.toml.tera", |_| true);
    // Out-of-range positions in an edit are clamped, not fatal.
    c.open("file:///tmp/r.clnrm.toml", VALID, 1);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": "file:///tmp/r.clnrm.toml", "version": 2 },
                "contentChanges": [{ "range": { "start": { "line": 999, "character": 999 }, "end": { "line": 0, "character": 0 } }, "text": "\n" }] }),
    );
    c.diagnostics_where("file:///tmp/r.clnrm.toml", |p| p["version"] == 2);
    // Requests for a document never opened get an error, not a crash.
    let resp = c.request_raw(
        "textDocument/hover",
        json!({ "textDocument": { "uri": "file:///tmp/never.clnrm.toml" }, "position": { "line": 0, "character": 0 } }),
    );
    assert!(resp.get("error").is_some(), "{resp}");
    // Garbage on the wire.
    c.send_raw(b"Content-Length: 9\r\n\r\n{garbage}");
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": "file:///nope", "version": 1 }, "contentChanges": [] }),
    );
    // Still serving.
    let stats = c.request("clnrm/cacheStats", Value::Null);
    assert!(stats["misses"].as_u64().unwrap() >= 3);
    let stderr = c.stderr();
    assert!(c.shutdown(), "stderr:\n{stderr}");
}
