//! The "load a file and analyse it" use case, the same for `check`, `run`, `render` and the
//! editor's runs of a closed file: read the bytes, repair invalid UTF-8 (reported at the
//! first bad byte, the rest still analysed), analyse, sort the findings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::{Analysis, Analyzer, Code, Diagnostic, Origin, SourceLoader};
use crate::documents::discover::{io_message, DiscoverError};

/// One analysed file: the text the positions refer to, and its findings sorted by position.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    /// The file's text; for a file that is not UTF-8, its lossy decoding (same bytes up to
    /// the first invalid one, where the diagnostic points).
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

/// Read `path` (shown as `display_path`) and analyse it with includes read through
/// `loader`: its report, and the analysis it came from (what runs are planned from).
pub fn analyse_file(
    display_path: &Path,
    root: &Path,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> Result<(FileReport, Arc<Analysis>), DiscoverError> {
    let bytes = std::fs::read(display_path).map_err(|e| DiscoverError {
        path: display_path.to_path_buf(),
        message: io_message(&e),
    })?;
    let abs = std::path::absolute(display_path).unwrap_or_else(|_| display_path.to_path_buf());
    Ok(analyse_bytes(
        display_path,
        &abs,
        root,
        bytes,
        analyzer,
        loader,
    ))
}

/// Analyse one file's bytes (see [`analyse_file`]).
pub fn analyse_bytes(
    display_path: &Path,
    abs_path: &Path,
    root: &Path,
    bytes: Vec<u8>,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> (FileReport, Arc<Analysis>) {
    let (text, encoding) = decode(bytes);
    let origin = Origin {
        path: Some(abs_path),
        workspace_root: Some(root),
    };
    let analysis = analyzer.analyze(&text, origin, loader);
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

/// The text of a file's bytes, and an `invalid-encoding` error at the first bad byte when
/// they are not UTF-8 (the text is then the lossy decoding).
pub fn decode(bytes: Vec<u8>) -> (String, Option<Diagnostic>) {
    match String::from_utf8(bytes) {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::DiskLoader;
    use crate::analysis::Environment;

    fn report(bytes: &[u8]) -> FileReport {
        let analyzer = Analyzer::new(Environment::empty());
        let p = Path::new("x.clnrm.toml");
        analyse_bytes(p, p, Path::new("."), bytes.to_vec(), &analyzer, &DiskLoader).0
    }

    #[test]
    fn invalid_utf8_is_reported_at_the_first_bad_byte() {
        let report = report(b"[meta]\nname = \"a\xffb\"\n");
        let d = report
            .diagnostics
            .iter()
            .find(|d| d.code == Code::InvalidEncoding)
            .unwrap();
        assert_eq!(d.range, 16..16);
        assert!(report.text.contains('\u{FFFD}'));
        assert!(report.errors() >= 1);
    }

    #[test]
    fn a_missing_file_is_an_io_problem() {
        let analyzer = Analyzer::new(Environment::empty());
        let e = analyse_file(
            Path::new("/nonexistent/x.clnrm.toml"),
            Path::new("/"),
            &analyzer,
            &DiskLoader,
        )
        .unwrap_err();
        assert_eq!(e.message, "no such file or directory");
    }
}
