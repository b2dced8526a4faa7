//! Per-scenario trace diff: the last run's trace against the recorded baseline. This is
//! what the code lens, the hover and `clnrm-lsp diff FILE` all show.

use std::path::{Path, PathBuf};

use super::baseline::{self, BaselineError};
use super::{DiffSettings, TraceDiff, NO_BASELINE_TITLE, NO_TRACE_TITLE};

#[derive(Debug, Clone)]
pub enum ScenarioState {
    /// The scenario has no recorded run yet.
    NoTrace,
    /// A trace exists but no baseline was recorded.
    NoBaseline {
        spans: usize,
    },
    Compared(TraceDiff),
}

#[derive(Debug, Clone)]
pub struct ScenarioDiff {
    pub scenario: String,
    /// Watch this file: the lens must be recomputed when it changes.
    pub baseline_path: PathBuf,
    pub trace_path: PathBuf,
    pub state: ScenarioState,
}

impl ScenarioDiff {
    pub fn lens_title(&self) -> String {
        match &self.state {
            ScenarioState::NoTrace => NO_TRACE_TITLE.to_string(),
            ScenarioState::NoBaseline { .. } => NO_BASELINE_TITLE.to_string(),
            ScenarioState::Compared(d) => d.summary.lens_title(),
        }
    }

    pub fn has_differences(&self) -> bool {
        match &self.state {
            ScenarioState::Compared(d) => d.has_differences(),
            _ => false,
        }
    }
}

/// Compare the last trace of `scenario` in `file` with its baseline. A malformed file
/// is an error (naming the file and position); nothing is written.
pub fn compare_scenario(
    root: &Path,
    settings: &DiffSettings,
    file: &Path,
    scenario: &str,
) -> Result<ScenarioDiff, BaselineError> {
    let baseline_path = baseline::baseline_path(root, settings, file, scenario)?;
    let trace_path = baseline::last_trace_path(root, file, scenario)?;
    let current = baseline::load_spans(&trace_path)?;
    let base = baseline::load_spans(&baseline_path)?;
    let state = match (current, base) {
        (None, _) => ScenarioState::NoTrace,
        (Some(c), None) => ScenarioState::NoBaseline { spans: c.len() },
        (Some(c), Some(b)) => ScenarioState::Compared(TraceDiff::compute(&b, &c, settings)),
    };
    Ok(ScenarioDiff {
        scenario: scenario.to_string(),
        baseline_path,
        trace_path,
        state,
    })
}

/// Record the last trace of `scenario` as its baseline (atomically). Returns the
/// baseline's path; an error when the scenario has no trace yet.
pub fn update_baseline(
    root: &Path,
    settings: &DiffSettings,
    file: &Path,
    scenario: &str,
) -> Result<PathBuf, BaselineError> {
    let trace_path = baseline::last_trace_path(root, file, scenario)?;
    let Some(spans) = baseline::load_spans(&trace_path)? else {
        return Err(BaselineError::NoTrace {
            scenario: scenario.to_string(),
            path: trace_path,
        });
    };
    baseline::save_baseline(root, settings, file, scenario, &spans)
}

/// A `[[scenario]]` of a test file and where a lens for it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioRef {
    pub name: String,
    /// Byte range of the scenario's `name` value in the *template source* (mapped back
    /// through the render's source map); the lens goes on its line.
    pub range: std::ops::Range<usize>,
}

/// `[[scenario]]` names of a rendered test file, in file order, without duplicates.
pub fn scenario_names(rendered_toml: &str) -> Vec<String> {
    scenario_spans(rendered_toml)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The scenarios of an analysed file with their places in the template source.
pub fn scenarios_of(rendered: &crate::analysis::Rendered) -> Vec<ScenarioRef> {
    scenario_spans(&rendered.text)
        .into_iter()
        .map(|(name, r)| ScenarioRef {
            name,
            range: rendered.map.to_source(r),
        })
        .collect()
}

/// (name, range of the name value in the rendered text), first occurrence of each name.
fn scenario_spans(rendered_toml: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let Ok(doc) = toml_edit::Document::parse(rendered_toml.to_string()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let mut add = |name: Option<&str>, span: Option<std::ops::Range<usize>>| {
        if let Some(n) = name {
            if !out.iter().any(|(x, _)| x == n) {
                out.push((n.to_string(), span.unwrap_or(0..0)));
            }
        }
    };
    match doc.get("scenario") {
        Some(toml_edit::Item::ArrayOfTables(a)) => {
            for t in a.iter() {
                let item = t.get("name");
                add(item.and_then(|v| v.as_str()), item.and_then(|v| v.span()));
            }
        }
        Some(toml_edit::Item::Value(toml_edit::Value::Array(a))) => {
            for v in a.iter() {
                let value = v.as_inline_table().and_then(|t| t.get("name"));
                add(value.and_then(|v| v.as_str()), value.and_then(|v| v.span()));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::Span;

    #[test]
    fn names_from_rendered_toml() {
        let text = "[test.metadata]\nname='x'\n[[scenario]]\nname = \"smoke\"\n[[scenario]]\nname = \"load\"\n[[scenario]]\nname = \"smoke\"\n";
        assert_eq!(scenario_names(text), vec!["smoke", "load"]);
        assert_eq!(scenario_names("scenario = [{name = \"a\"}]"), vec!["a"]);
        assert!(scenario_names("not toml [").is_empty());
        let refs = scenarios_of(&crate::analysis::Rendered::verbatim(text));
        assert_eq!(refs.len(), 2);
        assert_eq!(&text[refs[1].range.clone()], "\"load\"");
    }

    #[test]
    fn states_and_update() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let s = DiffSettings::default();
        let file = Path::new("a.clnrm.toml");
        let d = compare_scenario(root, &s, file, "smoke").unwrap();
        assert_eq!(d.lens_title(), "trace: not run yet");
        assert!(update_baseline(root, &s, file, "smoke").is_err());
        let spans = vec![Span {
            name: "run".into(),
            span_id: "1".into(),
            ..Span::default()
        }];
        baseline::save_last_trace(root, file, "smoke", &spans).unwrap();
        let d = compare_scenario(root, &s, file, "smoke").unwrap();
        assert_eq!(d.lens_title(), "trace: no baseline — record");
        let path = update_baseline(root, &s, file, "smoke").unwrap();
        assert_eq!(path, d.baseline_path);
        let d = compare_scenario(root, &s, file, "smoke").unwrap();
        assert_eq!(d.lens_title(), "trace ✓ matches baseline");
    }
}
