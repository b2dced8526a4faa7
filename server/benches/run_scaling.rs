//! Scaling of the worker pool: 16 sleep-bound scenarios (each `sleep 0.25`) run with
//! 1, 2, 4, 8 and 16 workers, cache off. Sleep-bound, so the ideal time is
//! ceil(16 / N) × 0.25 s whatever the CPU count; the table shows how close we get.
//! A bench binary rather than criterion: one iteration takes seconds.
//!
//!   cargo bench -p clnrm-lsp --bench run_scaling
#![allow(clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use clnrm_lsp::analysis::{Analysis, Rendered};
use clnrm_lsp::config::Config;
use clnrm_lsp::runs::plan::plan;
use clnrm_lsp::runs::project::Project;
use clnrm_lsp::runs::queue::Priority;
use clnrm_lsp::runs::result::RunStatus;
use clnrm_lsp::runs::runner::{BatchOptions, EventSink, RunEvent, Runner};
use clnrm_lsp::runs::selection::Selection;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: a smoke run then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (scenarios, sleep, repeats, pools): (usize, f64, usize, &[usize]) = if quick {
        (4, 0.05, 1, &[1, 4])
    } else {
        (16, 0.25, 3, &[1, 2, 4, 8, 16])
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::from("[meta]\nname = \"scaling\"\nversion = \"1\"\n");
    for i in 0..scenarios {
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"s{i}\"\nrun = \"sleep {sleep}\"\n"
        ));
    }
    let analysis = Analysis {
        rendered: Some(Arc::new(Rendered::verbatim(&text))),
        parsed: true,
        ..Analysis::default()
    };
    let project = Arc::new(Project::with_config(
        dir.path(),
        Config::default(),
        Vec::new(),
    ));
    let path = dir.path().join("scaling.clnrm.toml");

    println!("| workers | wall time (best of {repeats}) | ideal | speed-up vs 1 | efficiency |");
    println!("|---|---|---|---|---|");
    let mut base = None;
    for &workers in pools {
        let runner = Runner::new(workers);
        let mut best = Duration::MAX;
        for _ in 0..repeats {
            let p = plan(&path, &analysis, &project, &Selection::all()).expect("plan");
            let (tx, rx) = std::sync::mpsc::channel::<RunEvent>();
            let tx = std::sync::Mutex::new(tx);
            let sink: EventSink = Arc::new(move |ev| {
                let _ = tx.lock().map(|t| t.send(ev));
            });
            let started = Instant::now();
            runner.submit(
                &project,
                p,
                BatchOptions {
                    priority: Priority::Explicit,
                    use_cache: false,
                },
                sink,
            );
            loop {
                if let Ok(RunEvent::Finished {
                    result,
                    done,
                    total,
                    ..
                }) = rx.recv()
                {
                    assert_eq!(result.status, RunStatus::Passed, "{result:?}");
                    if done == total {
                        break;
                    }
                }
            }
            best = best.min(started.elapsed());
        }
        let secs = best.as_secs_f64();
        let base = *base.get_or_insert(secs);
        let ideal = scenarios.div_ceil(workers) as f64 * sleep;
        let speedup = base / secs;
        println!(
            "| {workers} | {secs:.2} s | {ideal:.2} s | {speedup:.1}× | {:.0} % |",
            100.0 * speedup / workers as f64
        );
    }
}
