//! `check`: discover, read, analyse in parallel with one shared [`Analyzer`], collect.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::analysis::template::DiskLoader;
use crate::analysis::{Analyzer, Severity};
use crate::documents::discover::{self, DiscoverError, Target};
use crate::workspace::{analyse_file, FileReport};

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

impl CheckOutcome {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            files: self.files.len(),
            ..Summary::default()
        };
        for d in self.files.iter().flat_map(|f| &f.diagnostics) {
            match d.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Information | Severity::Hint => s.infos += 1,
            }
        }
        s
    }
}

/// Discover and check `paths` (the CLI's `check` and the benchmark call this).
pub fn check_paths(paths: &[PathBuf], analyzer: &Analyzer) -> CheckOutcome {
    let (targets, mut errors) = discover::discover(paths);
    let results: Vec<Result<FileReport, DiscoverError>> = targets
        .par_iter()
        .map(|t| check_target(t, analyzer))
        .collect();
    let mut files = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(f) => files.push(f),
            Err(e) => errors.push(e),
        }
    }
    CheckOutcome { files, errors }
}

fn check_target(target: &Target, analyzer: &Analyzer) -> Result<FileReport, DiscoverError> {
    analyse_file(&target.path, &target.root, analyzer, &DiskLoader).map(|(report, _)| report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Environment;
    use crate::workspace::file::analyse_bytes;
    use std::path::Path;

    #[test]
    fn summary_counts_by_severity() {
        let analyzer = Analyzer::new(Environment::empty());
        let p = Path::new("x.clnrm.toml");
        let bytes = b"a = = 1\n".to_vec();
        let (report, _) = analyse_bytes(p, p, Path::new("."), bytes, &analyzer, &DiskLoader);
        let outcome = CheckOutcome {
            files: vec![report],
            errors: Vec::new(),
        };
        let s = outcome.summary();
        assert_eq!(s.files, 1);
        assert!(s.errors >= 1);
    }
}
