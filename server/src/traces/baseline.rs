//! Where baselines and last-run traces live, and reading/writing them safely.
//!
//! Layout, under the workspace root (documented in the README):
//!
//! ```text
//! <baseline_dir>/<file's workspace-relative path>/<scenario>.json   (default .clnrm/baselines/…)
//! .clnrm/traces/<file's workspace-relative path>/<scenario>.json    (the last run's trace)
//! ```
//!
//! e.g. `tests/api.clnrm.toml`, scenario `smoke` →
//! `.clnrm/baselines/tests/api.clnrm.toml/smoke.json`. Each path segment and the scenario
//! name are percent-encoded outside `[A-Za-z0-9._-]` (and a leading `.`), so any name maps
//! to one safe file name and two names never share a file.
//! Files are pretty JSON `{"format", "file", "scenario", "spans": [...]}`; a plain span
//! array or an OTLP export is also read. Every write is a temp file + rename.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::import::{parse_spans, ImportError};
use super::{DiffSettings, Span};
use crate::documents::fs::{ReadError, MAX_READ_BYTES};

/// Where the runner leaves the last trace of each scenario, under the workspace root.
pub const TRACES_DIR: &str = ".clnrm/traces";
pub const BASELINE_FORMAT: &str = "clnrm-lsp/baseline@1";
pub const TRACE_FORMAT: &str = "clnrm-lsp/trace@1";
/// Longer encoded names are shortened with a hash (file systems limit names to 255 bytes).
const MAX_NAME_BYTES: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: malformed span file: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: malformed span file: at {at}: {message}", path.display())]
    Shape {
        path: PathBuf,
        at: String,
        message: String,
    },
    /// Not a span file at all: not UTF-8, not a regular file, too large.
    #[error("{}: malformed span file: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("scenario {scenario:?} has not run yet (no trace at {})", path.display())]
    NoTrace { scenario: String, path: PathBuf },
    #[error("{} is not inside the workspace {}", file.display(), root.display())]
    OutsideWorkspace { file: PathBuf, root: PathBuf },
}

impl BaselineError {
    /// The file exists but is no span file: `--update-baseline` may replace it.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            Self::Syntax { .. } | Self::Shape { .. } | Self::Unreadable { .. }
        )
    }

    fn malformed(path: &Path, e: ImportError) -> Self {
        match e {
            ImportError::Syntax {
                line,
                column,
                message,
            } => BaselineError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message,
            },
            ImportError::Shape { path: at, message } => BaselineError::Shape {
                path: path.to_path_buf(),
                at,
                message,
            },
        }
    }
}

/// The file's path relative to the workspace root, with `/` separators.
pub fn workspace_relative(root: &Path, file: &Path) -> Result<String, BaselineError> {
    let outside = || BaselineError::OutsideWorkspace {
        file: file.to_path_buf(),
        root: root.to_path_buf(),
    };
    let rel: PathBuf = if file.is_absolute() {
        match file.strip_prefix(root) {
            Ok(r) => r.to_path_buf(),
            // Symlinks or `..` in one of them: compare the resolved paths.
            Err(_) => {
                let (f, r) = (file.canonicalize(), root.canonicalize());
                match (f, r) {
                    (Ok(f), Ok(r)) => f.strip_prefix(&r).map_err(|_| outside())?.to_path_buf(),
                    _ => return Err(outside()),
                }
            }
        }
    } else {
        file.to_path_buf()
    };
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    if parts.is_empty() {
        return Err(outside());
    }
    Ok(parts.join("/"))
}

/// Everything but `[A-Za-z0-9._-]` is encoded in a path segment.
const SEGMENT_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Percent-encode a name into one safe path segment (injective).
pub fn encode_segment(name: &str) -> String {
    if name.is_empty() {
        // '%' is always followed by two hex digits otherwise, so this cannot collide.
        return "%empty".to_string();
    }
    // A leading '.' is encoded too: no segment is hidden, `.` or `..`.
    let (first, rest) = match name.strip_prefix('.') {
        Some(rest) => ("%2E", rest),
        None => ("", name),
    };
    let mut out = first.to_string();
    out.extend(utf8_percent_encode(rest, SEGMENT_SAFE));
    if out.len() > MAX_NAME_BYTES {
        let digest = hex::encode(&Sha256::digest(name.as_bytes())[..8]);
        let mut cut = MAX_NAME_BYTES - 17;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out = format!("{}~{digest}", &out[..cut]);
    }
    out
}

fn derived(root: &Path, dir: &Path, file: &Path, scenario: &str) -> Result<PathBuf, BaselineError> {
    let rel = workspace_relative(root, file)?;
    let mut path = root.join(dir);
    for part in rel.split('/') {
        path.push(encode_segment(part));
    }
    path.push(format!("{}.json", encode_segment(scenario)));
    Ok(path)
}

/// The baseline file of one scenario of `file` (absolute, or relative to `root`).
pub fn baseline_path(
    root: &Path,
    settings: &DiffSettings,
    file: &Path,
    scenario: &str,
) -> Result<PathBuf, BaselineError> {
    derived(root, Path::new(&settings.baseline_dir), file, scenario)
}

/// The last-run trace file of one scenario of `file`.
pub fn last_trace_path(root: &Path, file: &Path, scenario: &str) -> Result<PathBuf, BaselineError> {
    derived(root, Path::new(TRACES_DIR), file, scenario)
}

#[derive(Serialize)]
struct SpanFile<'a> {
    format: &'a str,
    file: &'a str,
    scenario: &'a str,
    spans: &'a [Span],
}

/// Read a span file; `Ok(None)` when it does not exist. Malformed → an error naming the
/// file and the position; the file is left alone.
pub fn load_spans(path: &Path) -> Result<Option<Vec<Span>>, BaselineError> {
    let text = match crate::documents::fs::read_text(path, None, MAX_READ_BYTES) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(ReadError::Io(source)) => {
            return Err(BaselineError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(e) => {
            return Err(BaselineError::Unreadable {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        }
    };
    parse_spans(&text)
        .map(Some)
        .map_err(|e| BaselineError::malformed(path, e))
}

/// Write a span file (`format` is [`BASELINE_FORMAT`] or [`TRACE_FORMAT`]) atomically.
pub fn write_span_file(
    path: &Path,
    format: &str,
    file_rel: &str,
    scenario: &str,
    spans: &[Span],
) -> Result<(), BaselineError> {
    let doc = SpanFile {
        format,
        file: file_rel,
        scenario,
        spans,
    };
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| BaselineError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    bytes.push(b'\n');
    crate::documents::fs::write_atomic(path, &bytes).map_err(|source| BaselineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Record `spans` as the baseline of a scenario (replacing any previous one).
pub fn save_baseline(
    root: &Path,
    settings: &DiffSettings,
    file: &Path,
    scenario: &str,
    spans: &[Span],
) -> Result<PathBuf, BaselineError> {
    let path = baseline_path(root, settings, file, scenario)?;
    let rel = workspace_relative(root, file)?;
    write_span_file(&path, BASELINE_FORMAT, &rel, scenario, spans)?;
    Ok(path)
}

/// The recorded baseline of a scenario; `Ok(None)` when none was recorded.
pub fn load_baseline(
    root: &Path,
    settings: &DiffSettings,
    file: &Path,
    scenario: &str,
) -> Result<Option<Vec<Span>>, BaselineError> {
    load_spans(&baseline_path(root, settings, file, scenario)?)
}

/// For the runner: keep the trace of a scenario's latest run.
pub fn save_last_trace(
    root: &Path,
    file: &Path,
    scenario: &str,
    spans: &[Span],
) -> Result<PathBuf, BaselineError> {
    let path = last_trace_path(root, file, scenario)?;
    let rel = workspace_relative(root, file)?;
    write_span_file(&path, TRACE_FORMAT, &rel, scenario, spans)?;
    Ok(path)
}

/// The trace of a scenario's latest run; `Ok(None)` when it has not run.
pub fn load_last_trace(
    root: &Path,
    file: &Path,
    scenario: &str,
) -> Result<Option<Vec<Span>>, BaselineError> {
    load_spans(&last_trace_path(root, file, scenario)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(name: &str) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: name.into(),
            name: name.into(),
            ..Span::default()
        }
    }

    #[test]
    fn path_derivation() {
        let root = Path::new("/ws");
        let s = DiffSettings::default();
        let p = baseline_path(root, &s, Path::new("/ws/tests/api.clnrm.toml"), "smoke").unwrap();
        assert_eq!(
            p,
            Path::new("/ws/.clnrm/baselines/tests/api.clnrm.toml/smoke.json")
        );
        let p = baseline_path(root, &s, Path::new("tests/api.clnrm.toml"), "a b/../c").unwrap();
        assert_eq!(
            p,
            Path::new("/ws/.clnrm/baselines/tests/api.clnrm.toml/a%20b%2F..%2Fc.json")
        );
        let p = last_trace_path(root, Path::new("./x.clnrm.toml"), ".hidden").unwrap();
        assert_eq!(
            p,
            Path::new("/ws/.clnrm/traces/x.clnrm.toml/%2Ehidden.json")
        );
        assert!(matches!(
            baseline_path(root, &s, Path::new("/elsewhere/x.clnrm.toml"), "s"),
            Err(BaselineError::OutsideWorkspace { .. })
        ));
        assert!(baseline_path(root, &s, Path::new("../x.clnrm.toml"), "s").is_err());
    }

    #[test]
    fn encoding_is_injective_and_bounded() {
        assert_ne!(encode_segment("a b"), encode_segment("a_b"));
        assert_ne!(encode_segment("a%20b"), encode_segment("a b"));
        assert_ne!(encode_segment(""), encode_segment("_"));
        let long_a = "x".repeat(300) + "a";
        let long_b = "x".repeat(300) + "b";
        assert_ne!(encode_segment(&long_a), encode_segment(&long_b));
        assert!(encode_segment(&long_a).len() <= MAX_NAME_BYTES);
        assert!(encode_segment(&"é".repeat(100)).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let s = DiffSettings::default();
        let file = root.join("t.clnrm.toml");
        assert!(load_baseline(root, &s, &file, "smoke").unwrap().is_none());
        let spans = vec![span("a"), span("b")];
        let path = save_baseline(root, &s, &file, "smoke", &spans).unwrap();
        assert_eq!(
            load_baseline(root, &s, &file, "smoke").unwrap().unwrap(),
            spans
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"scenario\": \"smoke\"") && text.contains("\"file\": \"t.clnrm.toml\"")
        );
        save_last_trace(root, &file, "smoke", &spans[..1]).unwrap();
        assert_eq!(
            load_last_trace(root, &file, "smoke")
                .unwrap()
                .unwrap()
                .len(),
            1
        );
        // No temp files left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn special_and_binary_span_files_are_malformed_not_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let fifo = dir.path().join("fifo.json");
        crate::documents::fs::testing::mkfifo(&fifo);
        let binary = dir.path().join("bin.json");
        std::fs::write(&binary, [b'{', 0xff, 0xfe, b'}']).unwrap();
        for (path, why) in [
            (&zero, "is a character device, not a regular file"),
            (&fifo, "is a FIFO, not a regular file"),
            (&binary, "is not valid UTF-8"),
        ] {
            let e = load_spans(path).unwrap_err();
            assert!(e.is_malformed(), "{e}");
            assert_eq!(
                e.to_string(),
                format!("{}: malformed span file: {why}", path.display())
            );
        }
    }

    #[test]
    fn malformed_baseline_names_file_and_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, "{\"spans\": [\n  {\"name\": \"a\"},\n  {\"name\"").unwrap();
        let e = load_spans(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3:", path.display())), "{e}");
        assert!(e.contains("truncated"), "{e}");
    }
}
