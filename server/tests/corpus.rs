//! The real-world corpus (`shared/corpus/clnrm`, files written for clnrm itself) through
//! the whole pipeline: no panic, and per file whether we report errors and which codes,
//! pinned as one snapshot. Checked against clnrm 1.3.0's own verdicts (VERDICTS.tsv):
//! a file clnrm accepts gets no error from us (except the disagreements listed in
//! `corpus_notes.md`), and where clnrm's parser rejects a plain TOML file at a line, we
//! report an error on that line too.

#![allow(clippy::unwrap_used)] // a test harness: a broken corpus checkout should fail loudly

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clnrm_lsp::analysis::{analyze_uncached, template, Environment, FileKind};
use clnrm_lsp::documents::{LineIndex, PositionEncoding};

/// Files clnrm 1.3.0 accepts (validate_exit 0) on which we still report an error, each
/// with the reason spelled out in corpus_notes.md.
const ACCEPTED_BUT_ERROR: &[&str] = &[
    // Relative volume host_path: `clnrm validate` never calls TestConfig::validate(),
    // which rejects it, so `clnrm run` refuses this file.
    "examples/optimus-prime-platform/optimus-prime-otel.clnrm.toml",
];

/// `shared/corpus/clnrm` beside the repository (CI checks it out there: from the crate,
/// `../../shared/corpus/clnrm`); for checkouts nested deeper (git worktrees) the nearest
/// ancestor holding it; `CLNRM_CORPUS_DIR` overrides both.
fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CLNRM_CORPUS_DIR") {
        return PathBuf::from(dir);
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let beside = crate_dir.join("../../shared/corpus/clnrm");
    crate_dir
        .ancestors()
        .skip(2)
        .map(|a| a.join("shared/corpus/clnrm"))
        .find(|d| d.is_dir())
        .unwrap_or(beside)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".toml") || name.ends_with(".tera") {
                out.push(p);
            }
        }
    }
}

struct Verdict {
    validate_ok: bool,
    /// The 1-based line clnrm's TOML parser names, when it names one.
    parse_error_line: Option<usize>,
}

fn verdicts(dir: &Path) -> BTreeMap<String, Verdict> {
    let text = std::fs::read_to_string(dir.join("VERDICTS.tsv")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let parse_error_line = cols[2]
            .split("TOML parse error at line ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse().ok());
        out.insert(
            cols[0].to_string(),
            Verdict {
                validate_ok: cols[1] == "0",
                parse_error_line,
            },
        );
    }
    out
}

#[test]
fn corpus_verdicts() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "corpus missing at {} (CI must check out shared/ beside the repo)",
        dir.display()
    );
    let verdicts = verdicts(&dir);
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    assert!(paths.len() >= 60, "only {} corpus files found", paths.len());

    let env = Environment::empty();
    let mut snapshot = BTreeMap::new();
    let mut problems = Vec::new();
    for path in &paths {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).unwrap();
        let analysis = analyze_uncached(&text, FileKind::of(Some(path)), Vec::new(), &env);
        let codes: BTreeSet<&str> = analysis
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        let index = LineIndex::new(&text);
        let error_lines: BTreeSet<usize> = analysis
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                index
                    .line_col(&text, d.range.start, PositionEncoding::Utf8)
                    .line as usize
                    + 1
            })
            .collect();
        snapshot.insert(
            rel.clone(),
            serde_json::json!({
                "errors": analysis.has_errors(),
                "codes": codes,
            }),
        );

        let Some(v) = verdicts.get(&rel) else {
            continue;
        };
        let plain = !template::is_template(&text);
        if v.validate_ok && analysis.has_errors() && !ACCEPTED_BUT_ERROR.contains(&rel.as_str()) {
            let first = analysis.diagnostics.iter().find(|d| d.is_error()).unwrap();
            problems.push(format!(
                "{rel}: clnrm accepts it but we report {} `{}`",
                first.code, first.message
            ));
        }
        if !v.validate_ok && plain && !analysis.has_errors() {
            problems.push(format!("{rel}: clnrm rejects it but we report no error"));
        }
        if let (Some(line), true) = (v.parse_error_line, plain) {
            if !error_lines.contains(&line) {
                problems.push(format!(
                    "{rel}: clnrm's parser fails at line {line}, our errors are on lines {error_lines:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    insta::assert_json_snapshot!("corpus", snapshot);
}
