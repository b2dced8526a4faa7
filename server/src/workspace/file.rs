//! The "load a file and analyse it" use case, the same for `check`, `run`, `render` and the
//! editor's runs of a closed file: read the bytes, repair invalid UTF-8 (reported at the
//! first bad byte, the rest still analysed), analyse, sort the findings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::{Analysis, Analyzer, Code, Diagnostic, FileKind, Origin, SourceLoader};
use crate::documents::discover::{DiscoverError, Target};
use crate::documents::fs::{read_bytes, MAX_READ_BYTES};

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

/// Read and analyse one discovered target (what `check` and `run` do with each file).
pub fn analyse_target(
    target: &Target,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> Result<(FileReport, Arc<Analysis>), DiscoverError> {
    // A file the user named is what they say it is, whatever its name.
    let kind = target.explicit.then(|| FileKind::of_named(&target.path));
    analyse_file(&target.path, &target.root, kind, None, analyzer, loader)
}

/// Read `path` (shown as `display_path`; a regular file of bounded size, inside `within`
/// when given) and analyse it with includes read through `loader`: its report, and the
/// analysis it came from (what runs are planned from).
pub fn analyse_file(
    display_path: &Path,
    root: &Path,
    kind: Option<FileKind>,
    within: Option<&Path>,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> Result<(FileReport, Arc<Analysis>), DiscoverError> {
    let abs = crate::documents::fs::absolute(display_path);
    let bytes = match loader.already_read(&abs, within.unwrap_or(root)) {
        Some(text) => text.as_bytes().to_vec(),
        None => read_bytes(display_path, within, MAX_READ_BYTES).map_err(|e| DiscoverError {
            path: display_path.to_path_buf(),
            message: e.to_string(),
        })?,
    };
    let file = FileBytes {
        display_path,
        abs_path: &abs,
        root,
        kind,
    };
    Ok(analyse_bytes(&file, bytes, analyzer, loader))
}

/// Where a file's bytes came from, for [`analyse_bytes`].
pub struct FileBytes<'a> {
    /// The path as the user will see it.
    pub display_path: &'a Path,
    pub abs_path: &'a Path,
    pub root: &'a Path,
    /// What the file is when the caller knows better than its name.
    pub kind: Option<FileKind>,
}

/// Analyse one file's bytes (see [`analyse_file`]).
pub fn analyse_bytes(
    file: &FileBytes<'_>,
    bytes: Vec<u8>,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> (FileReport, Arc<Analysis>) {
    let (text, encoding) = decode(bytes);
    let origin = Origin {
        path: Some(file.abs_path),
        workspace_root: Some(file.root),
        kind: file.kind,
    };
    let analysis = analyzer.analyze(&text, origin, loader);
    let mut diagnostics: Vec<Diagnostic> = encoding.into_iter().collect();
    diagnostics.extend(analysis.diagnostics.iter().cloned());
    // Stable: equal positions keep pipeline order.
    diagnostics.sort_by_key(|d| (d.range.start, d.range.end));
    let report = FileReport {
        path: file.display_path.to_path_buf(),
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

/// The report of `bytes` as `x.clnrm.toml` (for tests beside the faces too).
#[cfg(test)]
pub(crate) fn report_of(bytes: &[u8]) -> FileReport {
    let analyzer = Analyzer::new(crate::analysis::Environment::empty());
    let p = Path::new("x.clnrm.toml");
    let file = FileBytes {
        display_path: p,
        abs_path: p,
        root: Path::new("."),
        kind: None,
    };
    analyse_bytes(
        &file,
        bytes.to_vec(),
        &analyzer,
        &crate::analysis::template::DiskLoader,
    )
    .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::DiskLoader;
    use crate::analysis::Environment;

    fn report(bytes: &[u8]) -> FileReport {
        report_of(bytes)
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
            None,
            None,
            &analyzer,
            &DiskLoader,
        )
        .unwrap_err();
        assert_eq!(e.message, "no such file or directory");
    }
}
