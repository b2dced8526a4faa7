//! A cached run result restored from disk (target: ≤ 1 ms): a fresh `ResultCache` per
//! iteration so that every lookup reads, parses and checks the entry file.
#![allow(clippy::expect_used)]

use clnrm_lsp::analysis::ContentKey;
use clnrm_lsp::cache::ResultCache;
use criterion::{criterion_group, criterion_main, Criterion};
use serde::{Deserialize, Serialize};

/// Shaped like a scenario run: a verdict, captured output and a few dozen spans.
#[derive(Clone, Serialize, Deserialize)]
struct Run {
    passed: bool,
    duration_ms: u64,
    stdout: String,
    stderr: String,
    spans: Vec<Span>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Span {
    name: String,
    parent: Option<String>,
    attributes: Vec<(String, String)>,
}

fn sample() -> Run {
    Run {
        passed: true,
        duration_ms: 1234,
        stdout: "ok\n".repeat(2000),
        stderr: String::new(),
        spans: (0..50)
            .map(|i| Span {
                name: format!("clnrm.step.{i}"),
                parent: (i > 0).then(|| format!("clnrm.step.{}", i - 1)),
                attributes: (0..8)
                    .map(|a| (format!("attr.{a}"), format!("value-{i}-{a}")))
                    .collect(),
            })
            .collect(),
    }
}

fn restore(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = ContentKey([0x5a; 32]);
    ResultCache::<Run>::new(dir.path(), 16)
        .put(&key, &sample())
        .expect("put");
    c.bench_function("result_cache_restore_from_disk", |b| {
        b.iter(|| {
            let cache = ResultCache::<Run>::new(dir.path(), 16);
            let run = cache.get(&key).expect("hit");
            std::hint::black_box(run.spans.len())
        })
    });
}

criterion_group!(benches, restore);
criterion_main!(benches);
