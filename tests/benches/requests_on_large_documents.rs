//! Requests on a very large document, the way an editor meets the server: the release
//! binary over stdio, one 20 MB test file open, and the time from each request to its
//! answer (hover, completion, document and workspace symbols, formatting, folding, code
//! actions). Each answer must come within 100 ms: on the analysis already computed, or a
//! clean refusal above the size bound.
//!
//!   cargo bench -p clnrm-lsp-e2e --bench requests_on_large_documents
//!   CLNRM_LSP_BIN=/path/to/other/clnrm-lsp cargo bench … (to compare two builds)
//!   CLNRM_BENCH_MB=4 cargo bench …                       (another document size)
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{loadavg, ms, percentile, server_bin, start, Workspace};
use serde_json::{json, Value};

/// A test file of about `bytes` bytes: scenarios with a few keys each.
fn large(bytes: usize) -> String {
    let mut text = String::from("[meta]\nname = \"large\"\nversion = \"1\"\n");
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"scenario-{i}\"\nrun = \"echo {i}\"\ntimeout = \"5s\"\n"
        ));
        i += 1;
    }
    text
}

fn main() {
    let quick = common::quick();
    // `CLNRM_BENCH_MB` picks another size (e.g. 4: just under the analysis bound).
    let mb: usize = std::env::var("CLNRM_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let size = if quick { 1 << 20 } else { mb << 20 };
    let rounds = if quick { 2 } else { 7 };
    let ws = Workspace::plain();
    let text = large(size);
    let lines = text.lines().count() as u32;
    let uri = ws.file("large.clnrm.toml", &text);
    let bin = server_bin();
    let mut c = start(bin, &ws);
    let opened = Instant::now();
    common::open_and_wait(&mut c, &uri, &text);
    println!(
        "{} MB document ({lines} lines) open → first diagnostics: {} (load {})",
        text.len() >> 20,
        ms(opened.elapsed()),
        loadavg()
    );
    let doc = json!({ "uri": uri });
    // The middle of the file, on a key (`run`) so hover and completion have work to do.
    let at = json!({ "line": lines / 2 / 5 * 5 + 2, "character": 1 });
    let requests: Vec<(&str, &str, Value)> = vec![
        (
            "hover",
            "textDocument/hover",
            json!({ "textDocument": doc, "position": at }),
        ),
        (
            "completion",
            "textDocument/completion",
            json!({ "textDocument": doc, "position": at }),
        ),
        (
            "documentSymbol",
            "textDocument/documentSymbol",
            json!({ "textDocument": doc }),
        ),
        (
            "workspace/symbol",
            "workspace/symbol",
            json!({ "query": "scenario-1" }),
        ),
        (
            "formatting",
            "textDocument/formatting",
            json!({ "textDocument": doc, "options": { "tabSize": 2, "insertSpaces": true } }),
        ),
        (
            "foldingRange",
            "textDocument/foldingRange",
            json!({ "textDocument": doc }),
        ),
        (
            "codeAction",
            "textDocument/codeAction",
            json!({ "textDocument": doc, "range": { "start": at, "end": at }, "context": { "diagnostics": [] } }),
        ),
    ];
    println!("| request | median | max | answer |");
    println!("|---|---|---|---|");
    for (label, method, params) in requests {
        let mut times = Vec::new();
        let mut answer = String::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let resp = c.request_raw(method, params.clone());
            times.push(t.elapsed());
            answer = match (&resp["result"], &resp["error"]) {
                (_, Value::Object(e)) => format!("error: {}", e["message"].as_str().unwrap_or("")),
                (Value::Array(a), _) => format!("{} items", a.len()),
                (Value::Null, _) => "null".into(),
                (r, _) => format!("{} bytes", r.to_string().len()),
            };
        }
        times.sort();
        let max: Duration = *times.last().unwrap();
        println!(
            "| {label} | {} | {} | {} |",
            ms(percentile(&times, 0.5)),
            ms(max),
            answer.chars().take(70).collect::<String>()
        );
    }
    assert!(c.shutdown());
}
