//! A cached scenario result restored (target: ≤ 1 ms).
//! - `result_cache_restore_from_disk`: a fresh `ResultCache` per iteration, so every lookup
//!   reads, parses and checks the entry file of a real `RunResult` with 50 spans.
//! - `runner_submit_cached_scenario`: what a save of an unchanged file costs: plan (render →
//!   model → key), the cache lookup on disk, and the finished event.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use clnrm_lsp::analysis::{Analysis, Rendered};
use clnrm_lsp::cache::ResultCache;
use clnrm_lsp::config::Config;
use clnrm_lsp::runs::plan::plan;
use clnrm_lsp::runs::project::Project;
use clnrm_lsp::runs::queue::Priority;
use clnrm_lsp::runs::result::{RunResult, RunStatus};
use clnrm_lsp::runs::runner::{BatchOptions, EventSink, RunEvent, Runner};
use clnrm_lsp::runs::selection::Selection;
use clnrm_lsp::traces::Span;
use criterion::{criterion_group, criterion_main, Criterion};

const FILE: &str =
    "[meta]\nname = \"bench\"\nversion = \"1\"\n\n[[scenario]]\nname = \"a\"\nrun = \"echo ok\"\n";

fn sample() -> RunResult {
    RunResult {
        duration_ms: 1234,
        stdout_tail: "ok\n".repeat(1300),
        spans: (0..50)
            .map(|i| Span {
                trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
                span_id: format!("{i:016x}"),
                parent_span_id: (i > 0).then(|| format!("{:016x}", i - 1)),
                name: format!("clnrm.step.{i}"),
                attributes: (0..8)
                    .map(|a| (format!("attr.{a}"), format!("value-{i}-{a}").into()))
                    .collect(),
                ..Span::default()
            })
            .collect(),
        ..RunResult::without_run("a", RunStatus::Passed, None)
    }
}

fn restore(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = Project::with_config(dir.path(), Config::default(), Vec::new());
    let analysis = Analysis {
        rendered: Some(Arc::new(Rendered::verbatim(FILE))),
        parsed: true,
        ..Analysis::default()
    };
    let path = dir.path().join("bench.clnrm.toml");
    let key = plan(&path, &analysis, &project, &Selection::all())
        .expect("plan")
        .runs[0]
        .key;
    let cache_dir = project.cache.as_ref().expect("cache").dir().to_path_buf();
    ResultCache::<RunResult>::new(&cache_dir, 16)
        .put(&key, &sample())
        .expect("put");

    c.bench_function("result_cache_restore_from_disk", |b| {
        b.iter(|| {
            let cache = ResultCache::<RunResult>::new(&cache_dir, 16);
            let run = cache.get(&key).expect("hit");
            std::hint::black_box(run.spans.len())
        })
    });

    let runner = Runner::new(1);
    let (tx, rx) = std::sync::mpsc::channel::<RunEvent>();
    let tx = std::sync::Mutex::new(tx);
    let sink: EventSink = Arc::new(move |ev| {
        let _ = tx.lock().map(|t| t.send(ev));
    });
    c.bench_function("runner_submit_cached_scenario", |b| {
        b.iter(|| {
            // A fresh project: its cache's memory layer is empty, the entry is read from disk.
            let project = Arc::new(Project::with_config(
                dir.path(),
                Config::default(),
                Vec::new(),
            ));
            let p = plan(&path, &analysis, &project, &Selection::all()).expect("plan");
            let opts = BatchOptions {
                priority: Priority::OnSave,
                use_cache: true,
            };
            runner.submit(&project, p, opts, sink.clone());
            loop {
                if let Ok(RunEvent::Finished { result, .. }) = rx.recv() {
                    assert!(result.cached);
                    break;
                }
            }
        })
    });
}

criterion_group!(benches, restore);
criterion_main!(benches);
