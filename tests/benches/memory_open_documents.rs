//! Memory with many open documents: 1,000 distinct ~100-line templates opened in one
//! server (the release binary, over stdio), each waited for until its diagnostics are
//! published; the server's resident set (`VmRSS`) and peak (`VmHWM`) from `/proc` after
//! 0, 1, 250, 500 and 1,000 documents. Target (DESIGN.md): ≤ 100 MB RSS for 1,000.
//!
//!   cargo bench -p clnrm-lsp-e2e --bench memory_open_documents
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;
#[path = "../../server/benches/common/mod.rs"]
mod gen;

use std::time::Instant;

use common::{proc_status_kib, Workspace};
use serde_json::Value;

const DOCUMENTS: usize = 1000;

/// Document `i`: the benchmark template at 100–116 lines, its names and description made
/// unique so no two documents share a text (nor an analysis cache entry).
fn document(i: usize) -> String {
    let svc = format!("d{i}svc");
    gen::template(100 + i % 17)
        .replace("svc", &svc)
        // The `{{ svc }}` variable keeps its name (it is one clnrm defines).
        .replace(&format!("{{{{ {svc} }}}}"), "{{ svc }}")
        .replace("\"benchmark\"", &format!("\"document {i}\""))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let quick = common::quick();
    let bin = common::server_bin();
    let total = if quick { 20 } else { DOCUMENTS };
    // After one document the fixed costs are in (the compiled schema is built lazily, on
    // the first validation); the later rows show the cost per open document.
    let checkpoints = [0, 1, total / 4, total / 2, total];

    let ws = Workspace::plain();
    let docs: Vec<(String, String)> = (0..total)
        .map(|i| {
            let text = document(i);
            (
                ws.file(&format!("docs/t{i:04}.clnrm.toml.tera"), &text),
                text,
            )
        })
        .collect();
    let mut c = common::start(bin, &ws);
    let pid = c.pid();

    println!(
        "memory_open_documents: {} distinct templates of {}–{} lines opened over stdio ({})",
        total,
        docs.iter().map(|(_, t)| t.lines().count()).min().unwrap(),
        docs.iter().map(|(_, t)| t.lines().count()).max().unwrap(),
        bin.display()
    );
    println!();
    println!("| open documents | text bytes | VmRSS | VmHWM (peak) | analysis cache entries | cache bytes (estimated) | time to open the batch |");
    println!("|---|---|---|---|---|---|---|");
    let mut opened = 0;
    let mut bytes = 0;
    for &upto in &checkpoints {
        // An editor restoring a session opens a batch at once; then wait for every publish.
        let started = Instant::now();
        for (uri, text) in &docs[opened..upto] {
            c.open(uri, text, 1);
            bytes += text.len();
        }
        for (uri, _) in &docs[opened..upto] {
            let published = c.diagnostics_where(uri, |p| p["version"] == 1);
            // Each document is valid but for the `[otel]` note from the rules stage: seeing
            // it proves the whole pipeline ran (render, parse, schema, rules).
            let diags = published["diagnostics"].as_array().unwrap();
            assert!(
                diags.iter().all(|d| d["severity"] != 1) && !diags.is_empty(),
                "{uri}: {diags:?}"
            );
        }
        let took = started.elapsed();
        opened = upto;
        let stats = c.request("clnrm/cacheStats", Value::Null);
        println!(
            "| {} | {:.1} MiB | {} | {} | {} | {:.1} MiB | {:.2} s |",
            opened,
            bytes as f64 / (1024.0 * 1024.0),
            mib(proc_status_kib(pid, "VmRSS")),
            mib(proc_status_kib(pid, "VmHWM")),
            stats["entries"],
            stats["bytes"].as_f64().unwrap_or(0.0) / (1024.0 * 1024.0),
            took.as_secs_f64(),
        );
    }
    c.shutdown();
}
