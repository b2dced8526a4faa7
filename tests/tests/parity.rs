//! The editor and `clnrm-lsp check` show the same diagnostics: every fixture is checked
//! by the CLI (JSON output) and opened in the server, and the two lists must be equal in
//! code, severity, message and range.

use std::path::Path;
use std::process::Command;

use clnrm_lsp_e2e::bin_path::{clnrm_lsp_bin, fixtures};
use clnrm_lsp_e2e::lsp::LspClient;
use serde_json::{json, Value};

/// (code, severity 1-4, message, start line, start byte column, end line, end byte column)
type Key = (String, u64, String, u64, u64, u64, u64);

fn fixture_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["valid", "invalid", "examples", "cli/errors"] {
        for e in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            // The editor only ever receives valid UTF-8 text.
            if (name.ends_with(".clnrm.toml") || name.ends_with(".clnrm.toml.tera"))
                && std::fs::read_to_string(&p).is_ok()
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 8, "fixtures present: {files:?}");
    files
}

fn severity(s: &str) -> u64 {
    match s {
        "error" => 1,
        "warning" => 2,
        "information" | "info" => 3,
        _ => 4,
    }
}

fn byte_col(text: &str, offset: u64) -> (u64, u64) {
    let offset = offset as usize;
    let line = text[..offset].matches('\n').count() as u64;
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    (line, (offset - start) as u64)
}

fn cli_keys(path: &Path, text: &str) -> Vec<Key> {
    let out = Command::new(clnrm_lsp_bin())
        .args(["check", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<Key> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let (sl, sc) = byte_col(text, d["range"]["start"]["offset"].as_u64().unwrap());
            let (el, ec) = byte_col(text, d["range"]["end"]["offset"].as_u64().unwrap());
            (
                d["code"].as_str().unwrap().to_string(),
                severity(d["severity"].as_str().unwrap()),
                d["message"].as_str().unwrap().to_string(),
                sl,
                sc,
                el,
                ec,
            )
        })
        .collect();
    keys.sort();
    keys
}

fn lsp_keys(params: &Value) -> Vec<Key> {
    let mut keys: Vec<Key> = params["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let r = &d["range"];
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
                r["start"]["line"].as_u64().unwrap(),
                r["start"]["character"].as_u64().unwrap(),
                r["end"]["line"].as_u64().unwrap(),
                r["end"]["character"].as_u64().unwrap(),
            )
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn editor_and_cli_report_the_same_diagnostics() {
    let root = fixtures().canonicalize().unwrap();
    let (mut c, _) = LspClient::start(
        json!({ "general": { "positionEncodings": ["utf-8"] } }),
        Some(&root),
    );
    let mut compared = 0;
    for path in fixture_files() {
        let path = path.canonicalize().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let uri = format!("file://{}", path.display());
        c.open(&uri, &text, 1);
        let params = c.diagnostics_where(&uri, |_| true);
        assert_eq!(
            lsp_keys(&params),
            cli_keys(&path, &text),
            "{}",
            path.display()
        );
        compared += params["diagnostics"].as_array().unwrap().len();
    }
    assert!(
        compared >= 5,
        "the fixtures exercise real diagnostics ({compared})"
    );
    assert!(c.shutdown());
}

/// Start a server on `root` that may run (so `clnrm.runFile` gets as far as planning).
fn trusted_server(root: &Path) -> LspClient {
    let mut c = LspClient::spawn();
    c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": format!("file://{}", root.display()),
            "capabilities": { "general": { "positionEncodings": ["utf-8"] } },
            "initializationOptions": { "trusted": true },
        }),
    );
    c.notify("initialized", json!({}));
    c
}

/// `clnrm.runFile` on a file with errors refuses, carrying the diagnostics it refused for.
fn run_file_keys(c: &mut LspClient, uri: &str) -> Vec<Key> {
    let resp = c.request_raw(
        "workspace/executeCommand",
        json!({ "command": "clnrm.runFile", "arguments": [uri] }),
    );
    let err = &resp["error"];
    assert!(
        err["message"]
            .as_str()
            .unwrap_or("")
            .contains("fix them first"),
        "{resp}"
    );
    lsp_keys(&err["data"])
}

#[test]
fn check_an_open_document_and_run_file_agree_on_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".clnrm")).unwrap();
    let root = dir.path().canonicalize().unwrap();
    // Not UTF-8 (a Latin-1 byte in the comment), and an error of its own.
    let latin1 = root.join("latin1.clnrm.toml");
    let bytes = b"# caf\xe9\n[meta]\nname = 1\nversion = \"1.0.0\"\n\n[[scenario]]\nname = \"s\"\nrun = \"echo\"\n";
    std::fs::write(&latin1, bytes).unwrap();
    let syntax = root.join("syntax.clnrm.toml");
    std::fs::copy(fixtures().join("invalid/toml-syntax.clnrm.toml"), &syntax).unwrap();

    let mut c = trusted_server(&root);
    for path in [&latin1, &syntax] {
        let bytes = std::fs::read(path).unwrap();
        // What the editor holds: the file decoded (lossily, as editors show bad bytes).
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let cli = cli_keys(path, &text);
        assert!(cli.iter().any(|k| k.1 == 1), "{}: {cli:?}", path.display());
        let uri = format!("file://{}", path.display());

        // Closed: the run reads the file from disk exactly as `check` does.
        assert_eq!(run_file_keys(&mut c, &uri), cli, "{}", path.display());

        // Open: the buffer is text, so only the encoding error is not the editor's.
        let decoded: Vec<Key> = cli
            .iter()
            .filter(|k| k.0 != "invalid-encoding")
            .cloned()
            .collect();
        c.open(&uri, &text, 1);
        let published = c.diagnostics_where(&uri, |_| true);
        assert_eq!(lsp_keys(&published), decoded, "{}", path.display());
        assert_eq!(run_file_keys(&mut c, &uri), decoded, "{}", path.display());
    }
    assert!(
        cli_keys(&latin1, &String::from_utf8_lossy(bytes))
            .iter()
            .any(|k| k.0 == "invalid-encoding"),
        "the non-UTF-8 case is exercised"
    );
    assert!(c.shutdown());
}
