//! The trace-diff use case, once for `clnrm-lsp diff`, the editor's commands and its
//! lenses: compare a trace with its baseline, and record it on request. The policy lives
//! here: what may be recorded (a trace that ran; a malformed baseline is replaced only
//! when an update is asked for), and the verdict of each comparison.

use std::path::{Path, PathBuf};

use super::baseline::{self, BaselineError};
use super::scenario::{compare_scenario, update_baseline, ScenarioDiff, ScenarioState};
use super::{DiffSettings, Span, TraceDiff};

/// What a comparison says, worst last: a batch's verdict is its worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// The trace matches its baseline (or was just recorded as it).
    Matches,
    /// A difference, or no baseline to compare with.
    Differs,
    /// Nothing could be compared or recorded (no trace, an unreadable file).
    Error,
}

/// Record the trace as the baseline, or only compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    No,
    Record,
}

/// One scenario's comparison and, with [`Update::Record`], its recording.
#[derive(Debug)]
pub struct ScenarioOutcome {
    pub scenario: String,
    /// The comparison, or why there is none (a malformed file, a path outside the workspace).
    pub compared: Result<ScenarioDiff, BaselineError>,
    /// The baseline written, or why it could not be; `None`: nothing to record.
    pub updated: Option<Result<PathBuf, BaselineError>>,
}

impl ScenarioOutcome {
    pub fn verdict(&self) -> Verdict {
        let found = match &self.compared {
            Ok(d) => match &d.state {
                ScenarioState::NoTrace => Found::Nothing,
                ScenarioState::NoBaseline { .. } => Found::NoBaseline,
                ScenarioState::Compared(diff) => Found::Diff(diff),
            },
            Err(_) => Found::Nothing,
        };
        verdict(self.updated.as_ref().map(Result::is_ok), found)
    }

    /// The recording asked for: the baseline written, or why not (no trace to record,
    /// an unreadable file that is not a malformed span file).
    pub fn into_update(self) -> Result<PathBuf, BaselineError> {
        match (self.updated, self.compared) {
            (Some(updated), _) => updated,
            (None, Err(e)) => Err(e),
            (None, Ok(d)) => Err(BaselineError::NoTrace {
                scenario: self.scenario,
                path: d.trace_path,
            }),
        }
    }
}

enum Found<'a> {
    /// Nothing to compare: no trace, or an error.
    Nothing,
    NoBaseline,
    Diff(&'a TraceDiff),
}

/// The one verdict rule: a recording decides (written: matches); else no baseline differs,
/// a diff differs when it has differences, and nothing to compare is an error.
fn verdict(updated: Option<bool>, found: Found<'_>) -> Verdict {
    match (updated, found) {
        (Some(true), _) => Verdict::Matches,
        (Some(false), _) | (None, Found::Nothing) => Verdict::Error,
        (None, Found::NoBaseline) => Verdict::Differs,
        (None, Found::Diff(d)) if d.has_differences() => Verdict::Differs,
        (None, Found::Diff(_)) => Verdict::Matches,
    }
}

/// Compare the last trace of `scenario` in `file` with its baseline; with
/// [`Update::Record`], record the trace as the baseline when there is one (replacing a
/// malformed baseline; any other unreadable file is left alone).
pub fn compare(
    root: &Path,
    settings: &DiffSettings,
    file: &Path,
    scenario: &str,
    update: Update,
) -> ScenarioOutcome {
    let compared = compare_scenario(root, settings, file, scenario);
    let record = update == Update::Record
        && match &compared {
            Ok(d) => !matches!(d.state, ScenarioState::NoTrace),
            Err(e) => e.is_malformed(),
        };
    let updated = record.then(|| update_baseline(root, settings, file, scenario));
    ScenarioOutcome {
        scenario: scenario.to_string(),
        compared,
        updated,
    }
}

/// Two span files compared (`diff --baseline A --current B`).
#[derive(Debug)]
pub struct FilesOutcome {
    pub current: Vec<Span>,
    /// The baseline's spans; `None` when it does not exist, or was unreadable and replaced.
    pub baseline: Option<Vec<Span>>,
    pub diff: Option<TraceDiff>,
    /// A malformed baseline that an update replaces (to warn about).
    pub replaced: Option<BaselineError>,
    /// With [`Update::Record`]: whether the current spans were written as the baseline.
    pub updated: Option<Result<(), BaselineError>>,
}

impl FilesOutcome {
    pub fn verdict(&self) -> Verdict {
        let found = match &self.diff {
            Some(d) => Found::Diff(d),
            None => Found::NoBaseline,
        };
        verdict(self.updated.as_ref().map(Result::is_ok), found)
    }
}

/// Why two span files could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("{}: no such file", .0.display())]
    NoCurrent(PathBuf),
    #[error(transparent)]
    Unreadable(#[from] BaselineError),
}

/// Compare the span file `current_path` with `baseline_path`; with [`Update::Record`],
/// write the current spans as the baseline (a malformed baseline is replaced only then).
pub fn compare_files(
    baseline_path: &Path,
    current_path: &Path,
    settings: &DiffSettings,
    update: Update,
) -> Result<FilesOutcome, FilesError> {
    let current = baseline::load_spans(current_path)?
        .ok_or_else(|| FilesError::NoCurrent(current_path.to_path_buf()))?;
    let (base, replaced) = match baseline::load_spans(baseline_path) {
        Ok(b) => (b, None),
        Err(e) if update == Update::Record && e.is_malformed() => (None, Some(e)),
        Err(e) => return Err(e.into()),
    };
    let diff = base
        .as_ref()
        .map(|b| TraceDiff::compute(b, &current, settings));
    let updated = (update == Update::Record).then(|| {
        baseline::write_span_file(baseline_path, baseline::BASELINE_FORMAT, "", "", &current)
    });
    Ok(FilesOutcome {
        current,
        baseline: base,
        diff,
        replaced,
        updated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(names: &[&str]) -> Vec<Span> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Span {
                name: (*n).into(),
                span_id: format!("{i}"),
                ..Span::default()
            })
            .collect()
    }

    struct Ws {
        dir: tempfile::TempDir,
        settings: DiffSettings,
    }

    impl Ws {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
                settings: DiffSettings::default(),
            }
        }
        fn root(&self) -> &Path {
            self.dir.path()
        }
        fn compare(&self, update: Update) -> ScenarioOutcome {
            compare(
                self.root(),
                &self.settings,
                Path::new("a.clnrm.toml"),
                "smoke",
                update,
            )
        }
        fn ran(&self, names: &[&str]) {
            baseline::save_last_trace(
                self.root(),
                Path::new("a.clnrm.toml"),
                "smoke",
                &spans(names),
            )
            .unwrap();
        }
        fn baseline_path(&self) -> PathBuf {
            baseline::baseline_path(
                self.root(),
                &self.settings,
                Path::new("a.clnrm.toml"),
                "smoke",
            )
            .unwrap()
        }
    }

    #[test]
    fn no_trace_is_an_error_and_nothing_is_recorded() {
        let ws = Ws::new();
        let o = ws.compare(Update::Record);
        assert_eq!(o.verdict(), Verdict::Error);
        assert!(o.updated.is_none());
        assert!(matches!(
            o.into_update(),
            Err(BaselineError::NoTrace { .. })
        ));
        assert!(!ws.baseline_path().exists());
    }

    #[test]
    fn no_baseline_differs_until_recorded_then_matches() {
        let ws = Ws::new();
        ws.ran(&["run"]);
        assert_eq!(ws.compare(Update::No).verdict(), Verdict::Differs);
        let o = ws.compare(Update::Record);
        assert_eq!(o.verdict(), Verdict::Matches);
        assert_eq!(o.into_update().ok(), Some(ws.baseline_path()));
        assert_eq!(ws.compare(Update::No).verdict(), Verdict::Matches);
        ws.ran(&["run", "extra"]);
        assert_eq!(ws.compare(Update::No).verdict(), Verdict::Differs);
    }

    #[test]
    fn a_malformed_baseline_is_replaced_only_on_request() {
        let ws = Ws::new();
        ws.ran(&["run"]);
        let path = ws.baseline_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{ not json").unwrap();
        let o = ws.compare(Update::No);
        assert_eq!(o.verdict(), Verdict::Error);
        assert!(o.updated.is_none());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
        assert_eq!(ws.compare(Update::Record).verdict(), Verdict::Matches);
        assert_eq!(ws.compare(Update::No).verdict(), Verdict::Matches);
    }

    #[test]
    fn span_files_follow_the_same_policy() {
        let dir = tempfile::tempdir().unwrap();
        let (base, cur) = (dir.path().join("base.json"), dir.path().join("cur.json"));
        let s = DiffSettings::default();
        let missing = compare_files(&base, &cur, &s, Update::No);
        assert!(matches!(missing, Err(FilesError::NoCurrent(_))));
        std::fs::write(&cur, serde_json::to_string(&spans(&["run"])).unwrap()).unwrap();
        let o = compare_files(&base, &cur, &s, Update::No).unwrap();
        assert_eq!((o.verdict(), o.diff.is_none()), (Verdict::Differs, true));
        std::fs::write(&base, "{ not json").unwrap();
        assert!(compare_files(&base, &cur, &s, Update::No).is_err());
        let o = compare_files(&base, &cur, &s, Update::Record).unwrap();
        assert!(o.replaced.is_some());
        assert_eq!(o.verdict(), Verdict::Matches);
        let o = compare_files(&base, &cur, &s, Update::No).unwrap();
        assert_eq!(o.verdict(), Verdict::Matches);
    }
}
