//! `check`: discover, read, analyse in parallel with one shared [`Analyzer`], collect.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::template::DiskLoader;
use crate::analysis::{Analysis, Analyzer, Code, Diagnostic, Origin, Severity};
use crate::documents::discover::{self, DiscoverError, Target};

/// One checked file: the text the positions refer to, and its findings sorted by position.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    /// The file's text; for a file that is not UTF-8, its lossy decoding (same bytes up to
    /// the first invalid one, where the diagnostic points).
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

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
    let (mut targets, mut errors) = discover::discover(paths);
    // A checked workspace root's own configuration is checked too (bounds, typos).
    for dir in paths.iter().filter(|p| p.is_dir()) {
        let config = dir.join(crate::config::CONFIG_FILE);
        if config.is_file() && !targets.iter().any(|t| t.path == config) {
            let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            targets.push(Target {
                path: config,
                root: discover::workspace_root(&abs),
            });
        }
    }
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
    analyse_target(target, analyzer).map(|(report, _)| report)
}

/// Read and analyse one target (`check` and `run` share this): its report, and the
/// analysis it came from (what `run` plans from).
pub fn analyse_target(
    target: &Target,
    analyzer: &Analyzer,
) -> Result<(FileReport, Arc<Analysis>), DiscoverError> {
    let bytes = std::fs::read(&target.path).map_err(|e| DiscoverError {
        path: target.path.clone(),
        message: discover::io_message(&e),
    })?;
    let abs = std::path::absolute(&target.path).unwrap_or_else(|_| target.path.clone());
    Ok(analyse_bytes(
        &target.path,
        &abs,
        &target.root,
        bytes,
        analyzer,
    ))
}

/// Analyse one file's bytes. Invalid UTF-8 is reported at the first bad byte and the rest
/// is still analysed (lossily decoded), so one stray byte does not hide other problems.
pub fn check_bytes(
    display_path: &Path,
    abs_path: &Path,
    root: &Path,
    bytes: Vec<u8>,
    analyzer: &Analyzer,
) -> FileReport {
    analyse_bytes(display_path, abs_path, root, bytes, analyzer).0
}

fn analyse_bytes(
    display_path: &Path,
    abs_path: &Path,
    root: &Path,
    bytes: Vec<u8>,
    analyzer: &Analyzer,
) -> (FileReport, Arc<Analysis>) {
    let (text, encoding) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let diag = Diagnostic::new(
                Code::InvalidEncoding,
                at..at,
                format!("the file is not valid UTF-8: invalid byte at offset {at}"),
            );
            (text, Some(diag))
        }
    };
    let origin = Origin {
        path: Some(abs_path),
        workspace_root: Some(root),
    };
    let analysis = analyzer.analyze(&text, origin, &DiskLoader);
    let mut diagnostics: Vec<Diagnostic> = encoding.into_iter().collect();
    diagnostics.extend(analysis.diagnostics.iter().cloned());
    // Stable: equal positions keep pipeline order.
    diagnostics.sort_by_key(|d| (d.range.start, d.range.end));
    let report = FileReport {
        path: display_path.to_path_buf(),
        text,
        diagnostics,
    };
    (report, analysis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Environment;

    #[test]
    fn invalid_utf8_is_reported_at_the_first_bad_byte() {
        let analyzer = Analyzer::new(Environment::empty());
        let bytes = b"[meta]\nname = \"a\xffb\"\n".to_vec();
        let p = Path::new("x.clnrm.toml");
        let report = check_bytes(p, p, Path::new("."), bytes, &analyzer);
        let d = report
            .diagnostics
            .iter()
            .find(|d| d.code == Code::InvalidEncoding)
            .unwrap();
        assert_eq!(d.range, 16..16);
        assert!(report.text.contains('\u{FFFD}'));
    }

    #[test]
    fn summary_counts_by_severity() {
        let analyzer = Analyzer::new(Environment::empty());
        let p = Path::new("x.clnrm.toml");
        let report = check_bytes(p, p, Path::new("."), b"a = = 1\n".to_vec(), &analyzer);
        let outcome = CheckOutcome {
            files: vec![report],
            errors: Vec::new(),
        };
        let s = outcome.summary();
        assert_eq!(s.files, 1);
        assert!(s.errors >= 1);
    }
}
