//! Edit → diagnostics latency distribution: 1,000 one-character edits of a 500-line
//! template through the uncached pipeline, printing p50/p99/max (criterion reports means).
//! `cargo bench -p clnrm-lsp --bench edit_latency`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use clnrm_lsp::analysis::{self, Environment, FileKind};

const EDITS: usize = 1000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // `cargo test --benches` runs bench targets with no `--bench` flag: do a smoke run only.
    let quick = !std::env::args().any(|a| a == "--bench");
    let edits = if quick { 10 } else { EDITS };
    let text = common::template(500);
    let at = common::edit_offset(&text);
    let env = Environment::empty();
    for n in 0..20 {
        black_box(analysis::analyze_uncached(
            &common::edited(&text, at, n),
            FileKind::Test,
            Vec::new(),
            &env,
        ));
    }
    let mut times = Vec::with_capacity(edits);
    for n in 0..edits {
        let t = common::edited(&text, at, n);
        let start = Instant::now();
        black_box(analysis::analyze_uncached(
            &t,
            FileKind::Test,
            Vec::new(),
            &env,
        ));
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "edit_latency: {} edits of a {}-line template: p50 {:?}  p99 {:?}  max {:?}",
        edits,
        text.lines().count(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times.last().unwrap()
    );
}
