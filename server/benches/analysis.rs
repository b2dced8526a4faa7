//! Criterion benchmarks of the paths DESIGN.md sets targets for. Kept short (small samples):
//! `cargo bench -p clnrm-lsp --bench analysis`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use clnrm_lsp::analysis::template::DiskLoader;
use clnrm_lsp::analysis::{self, Analyzer, Environment, FileKind, Origin};
use clnrm_lsp::workspace::check::check_paths;
use criterion::{criterion_group, criterion_main, Criterion};

fn edit_to_diagnostics(c: &mut Criterion) {
    let text = common::template(500);
    let at = common::edit_offset(&text);
    let env = Environment::empty();
    let mut g = c.benchmark_group("edit");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    let mut n = 0usize;
    g.bench_function("edit_to_diagnostics_500_lines", |b| {
        b.iter(|| {
            n += 1;
            let t = common::edited(&text, at, n);
            black_box(analysis::analyze_uncached(
                &t,
                FileKind::Test,
                Vec::new(),
                &env,
            ))
        })
    });
    // A tag on every line (the corpus has one per 4-8): the template path's worst case.
    let dense = dense_template(120);
    let dense_at = dense[..dense.len() / 2].rfind('\n').map_or(0, |p| p + 1);
    g.bench_function("dense_template_edit_120_scenarios", |b| {
        b.iter(|| {
            n += 1;
            let t = format!("{}# edit {n}\n{}", &dense[..dense_at], &dense[dense_at..]);
            black_box(analysis::analyze_uncached(
                &t,
                FileKind::Test,
                Vec::new(),
                &env,
            ))
        })
    });
    let plain = common::plain(500);
    g.bench_function("toml_edit_parse_500_lines_floor", |b| {
        b.iter(|| black_box(toml_edit::Document::parse(black_box(plain.clone())).is_ok()))
    });
    g.finish();
}

/// `scenarios` scenarios, each with a filter, a function call, a variable and an `if`.
fn dense_template(scenarios: usize) -> String {
    let mut text = String::from("[meta]\nname = \"dense\"\nversion = \"1\"\n[vars]\nport = 8080\n");
    for i in 0..scenarios {
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"s{i}-{{{{ svc | kebab }}}}\"\nrun = \"echo {{{{ fake_name(seed={i}) }}}} {{{{ port }}}}\"\n{{% if env == \"ci\" %}}service = \"api\"{{% endif %}}\n"
        ));
    }
    text
}

fn cached_reanalysis(c: &mut Criterion) {
    let text = common::template(500);
    let analyzer = Analyzer::new(Environment::empty());
    let path = PathBuf::from("/bench/x.clnrm.toml.tera");
    let origin = Origin {
        path: Some(&path),
        workspace_root: Some(path.parent().unwrap()),
        kind: None,
    };
    analyzer.analyze(&text, origin, &DiskLoader);
    let mut g = c.benchmark_group("cache");
    g.sample_size(50).measurement_time(Duration::from_secs(2));
    g.bench_function("reanalysis_unchanged_hash_500_lines", |b| {
        b.iter(|| black_box(analyzer.analyze(black_box(&text), origin, &DiskLoader)))
    });
    g.finish();
}

fn check_1000_templates(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..1000 {
        let sub = dir.path().join(format!("group{}", i % 10));
        std::fs::create_dir_all(&sub).unwrap();
        let text = common::template(40).replace("-bench", &format!("-bench-{i}"));
        std::fs::write(sub.join(format!("t{i}.clnrm.toml.tera")), text).unwrap();
    }
    let paths = vec![dir.path().to_path_buf()];
    let mut g = c.benchmark_group("check");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("check_1000_templates", |b| {
        // A fresh analyzer per run, as each `clnrm-lsp check` process starts cold.
        b.iter(|| {
            let analyzer = Analyzer::new(Environment::empty());
            let outcome = check_paths(&paths, &analyzer);
            assert_eq!(outcome.files.len(), 1000);
            black_box(outcome)
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    edit_to_diagnostics,
    cached_reanalysis,
    check_1000_templates
);
criterion_main!(benches);
