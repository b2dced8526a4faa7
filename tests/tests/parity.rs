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
