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
    analyse_target(target, analyzer, &DiskLoader).map(|(report, _)| report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Code, Environment};
    use crate::workspace::file::{analyse_bytes, FileBytes};
    use std::path::Path;

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
        let analyzer = Analyzer::new(Environment::empty());
        let p = Path::new("x.clnrm.toml");
        let file = FileBytes {
            display_path: p,
            abs_path: p,
            root: Path::new("."),
            kind: None,
        };
        let (report, _) = analyse_bytes(&file, b"a = = 1\n".to_vec(), &analyzer, &DiskLoader);
        let outcome = CheckOutcome {
            files: vec![report],
            errors: Vec::new(),
        };
        let s = outcome.summary();
        assert_eq!(s.files, 1);
        assert!(s.errors >= 1);
    }
}
