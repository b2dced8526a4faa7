//! Trace diff of two 10,000-span traces (target: ≤ 100 ms on a 2-core machine).
//! The current trace has the same shape with its spans shuffled (concurrent arrival),
//! other ids, some changed attributes, one removed subtree and some extra spans.

use criterion::{criterion_group, criterion_main, Criterion};

use clnrm_lsp::traces::{render_text, DiffSettings, RenderOptions, Span, TraceDiff};

/// A tree of `n` spans: each node has up to 6 children, names repeat among siblings.
fn trace(n: usize, tag: &str) -> Vec<Span> {
    (0..n)
        .map(|i| {
            let parent = (i > 0).then(|| format!("{tag}{}", (i - 1) / 6));
            let mut s = Span {
                trace_id: tag.to_string(),
                span_id: format!("{tag}{i}"),
                parent_span_id: parent,
                name: format!("op.{}", i % 4),
                ..Span::default()
            };
            s.attributes.insert("index".into(), (i % 6).into());
            s.attributes.insert("component".into(), "worker".into());
            s
        })
        .collect()
}

fn current(n: usize) -> Vec<Span> {
    let mut c = trace(n, "c");
    for (i, s) in c.iter_mut().enumerate() {
        if i % 997 == 0 {
            s.attributes.insert("index".into(), 99.into());
        }
    }
    c.retain(|s| s.span_id != "c1234");
    for k in 0..10 {
        c.push(Span {
            trace_id: "c".into(),
            span_id: format!("extra{k}"),
            parent_span_id: Some(format!("c{}", k * 100)),
            name: "op.extra".into(),
            ..Span::default()
        });
    }
    // Deterministic shuffle (arrival order is not start order).
    let len = c.len();
    for i in 0..len {
        let j = (i * 7919 + 13) % len;
        c.swap(i, j);
    }
    c
}

fn bench(cr: &mut Criterion) {
    let base = trace(10_000, "b");
    let cur = current(10_000);
    let settings = DiffSettings::default();
    cr.bench_function("diff 10k vs 10k spans", |b| {
        b.iter(|| TraceDiff::compute(&base, &cur, &settings))
    });
    let diff = TraceDiff::compute(&base, &cur, &settings);
    cr.bench_function("render 10k-span diff (only differences)", |b| {
        let opts = RenderOptions {
            only_differences: true,
            ..RenderOptions::default()
        };
        b.iter(|| render_text(&diff, &opts))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
