//! `check`: discover, read, analyse in parallel with one shared [`Analyzer`], collect.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::template::DiskLoader;
use crate::analysis::{Analysis, Analyzer, Code, Diagnostic, FileKind, Origin, Severity};
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
    mut emit: impl FnMut(FileReport),
) -> Streamed {
    let (targets, mut errors) = discover::discover(paths);
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
    let kind = target.explicit.then(|| FileKind::of_named(&target.path));
    Ok(analyse_bytes(
        &target.path,
        &abs,
        &target.root,
        bytes,
        kind,
        analyzer,
    ))
}

/// Analyse the bytes of a file the user named. Invalid UTF-8 is reported at the first bad byte and the rest
/// is still analysed (lossily decoded), so one stray byte does not hide other problems.
pub fn check_bytes(
    display_path: &Path,
    abs_path: &Path,
    root: &Path,
    bytes: Vec<u8>,
    analyzer: &Analyzer,
) -> FileReport {
    let kind = FileKind::of_named(abs_path);
    analyse_bytes(display_path, abs_path, root, bytes, Some(kind), analyzer).0
}

fn analyse_bytes(
    display_path: &Path,
    abs_path: &Path,
    root: &Path,
    bytes: Vec<u8>,
    kind: Option<FileKind>,
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
        kind,
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
