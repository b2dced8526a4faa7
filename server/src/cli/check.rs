//! `check`: discover, read, analyse in parallel with one shared [`Analyzer`], collect.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::analysis::template::DiskLoader;
use crate::analysis::{Analyzer, Severity};
use crate::documents::discover::{self, DiscoverError, Target};
use crate::workspace::{analyse_target, FileReport};

/// Everything `check` found: reports in path order, and the problems that make it exit 2.
#[derive(Debug, Default)]
pub struct CheckOutcome {
    pub files: Vec<FileReport>,
    pub errors: Vec<DiscoverError>,
}

/// Counts for the summary line and the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    /// Count one more file and its findings.
    pub fn add(&mut self, file: &FileReport) {
        self.files += 1;
        for d in &file.diagnostics {
            match d.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Information | Severity::Hint => self.infos += 1,
            }
        }
    }
}

impl CheckOutcome {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.files {
            s.add(f);
        }
        s
    }
}

/// Discover and check `paths`, holding every report (tests, and callers that need them all).
pub fn check_paths(paths: &[PathBuf], analyzer: &Analyzer) -> CheckOutcome {
    let mut files = Vec::new();
    let streamed = check_streaming(paths, analyzer, |f| files.push(f));
    CheckOutcome {
        files,
        errors: streamed.errors,
    }
}

/// Files analysed in parallel per batch; a batch's reports are handed on in path order and
/// dropped, so memory stays bounded by one batch whatever the number of files.
const BATCH: usize = 256;

/// What a streamed check leaves once every report has been handed on.
#[derive(Debug, Default)]
pub struct Streamed {
    pub summary: Summary,
    pub errors: Vec<DiscoverError>,
}

/// Discover and check `paths`, handing each report to `emit` in path order as soon as its
/// batch is done (the CLI's `check` and the benchmark call this).
pub fn check_streaming(
    paths: &[PathBuf],
    analyzer: &Analyzer,
    emit: impl FnMut(FileReport),
) -> Streamed {
    check_shard_streaming(paths, analyzer, None, emit)
}

/// [`check_streaming`] of one shard of the files (`check --shard I/N`): the files split
/// by count, the same way on every machine (by their workspace-relative paths).
pub fn check_shard_streaming(
    paths: &[PathBuf],
    analyzer: &Analyzer,
    shard: Option<crate::runs::shard::Shard>,
    mut emit: impl FnMut(FileReport),
) -> Streamed {
    let (mut targets, mut errors) = discover::discover(paths);
    // A checked workspace root's own configuration is checked too (bounds, typos).
    for dir in paths.iter().filter(|p| p.is_dir()) {
        let config = dir.join(crate::config::CONFIG_FILE);
        if config.is_file() && !targets.iter().any(|t| t.path == config) {
            let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            targets.push(Target {
                path: config,
                root: crate::workspace::root::find_root(&abs),
                explicit: false,
            });
        }
    }
    if let Some(shard) = shard {
        use crate::runs::shard::{split, Item};
        let items: Vec<Item> = targets
            .iter()
            .map(|t| {
                // Relative to the workspace root: the same on every machine and checkout.
                let abs = std::path::absolute(&t.path).unwrap_or_else(|_| t.path.clone());
                let rel = abs.strip_prefix(&t.root).unwrap_or(&t.path);
                Item {
                    id: crate::cli::output::slash_path(rel),
                    duration_ms: None,
                }
            })
            .collect();
        let split = split(&items, shard.total);
        let mut i = 0;
        targets.retain(|_| {
            i += 1;
            split.contains(shard, i - 1)
        });
    }
    let mut summary = Summary::default();
    for batch in targets.chunks(BATCH) {
        let results: Vec<Result<FileReport, DiscoverError>> = batch
            .par_iter()
            .map(|t| check_target(t, analyzer))
            .collect();
        for r in results {
            match r {
                Ok(f) => {
                    summary.add(&f);
                    emit(f);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    Streamed { summary, errors }
}

fn check_target(target: &Target, analyzer: &Analyzer) -> Result<FileReport, DiscoverError> {
    analyse_target(target, analyzer, &DiskLoader).map(|(report, _)| report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Code, Environment};

    #[test]
    fn a_toml_tera_named_explicitly_is_checked_as_a_test_but_not_when_walked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let file = dir.path().join("suite.toml.tera");
        std::fs::write(&file, "[meta]\nname = \"{{ svc }}\"\n").unwrap();
        let analyzer = Analyzer::new(Environment::empty());
        let named = check_paths(std::slice::from_ref(&file), &analyzer);
        let codes: Vec<_> = named.files[0].diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&Code::NoTests), "{codes:?}");
        // A walk never picks it up; a `_` partial named explicitly stays a library.
        assert!(check_paths(&[dir.path().to_path_buf()], &analyzer)
            .files
            .is_empty());
        let partial = dir.path().join("_macros.toml.tera");
        std::fs::write(&partial, "{% macro m() %}x{% endmacro m %}\n").unwrap();
        let lib = check_paths(&[partial], &analyzer);
        assert!(
            lib.files[0].diagnostics.is_empty(),
            "{:?}",
            lib.files[0].diagnostics
        );
    }

    #[test]
    fn summary_counts_by_severity() {
        let report = crate::workspace::file::report_of(b"a = = 1\n");
        let outcome = CheckOutcome {
            files: vec![report],
            errors: Vec::new(),
        };
        let s = outcome.summary();
        assert_eq!(s.files, 1);
        assert!(s.errors >= 1);
    }
}
