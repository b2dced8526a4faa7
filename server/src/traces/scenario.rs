//! Per-scenario trace diff: the last run's trace against the recorded baseline. This is
//! what the code lens, the hover and `clnrm-lsp diff FILE` all show (the scenarios of a
//! file are the model's: `runs::plan::model`).

use std::path::{Path, PathBuf};

use super::baseline::{self, BaselineError};
use super::html::{render_html, HtmlScenario, HtmlView};
use super::{DiffSettings, Span, TraceDiff, NO_BASELINE_TITLE, NO_TRACE_TITLE};

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

/// The HTML page of `scenarios` of `file` (`shown`: the file as the user names it): each
/// scenario's last trace against its baseline, or why there is no comparison. The page the
/// CLI writes (`diff FILE --format html`) and the editor shows (`clnrm/traceDiff`).
pub fn scenario_page(
    root: &Path,
    settings: &DiffSettings,
    file: &Path,
    shown: &str,
    scenarios: &[String],
) -> String {
    /// The last trace and the baseline, if any.
    type Pair = (Vec<Span>, Option<Vec<Span>>);
    type Loaded = Result<Pair, String>;
    let load = |name: &str| -> Option<Loaded> {
        let pair = || -> Result<Option<Pair>, BaselineError> {
            let trace = baseline::load_spans(&baseline::last_trace_path(root, file, name)?)?;
            let Some(current) = trace else {
                return Ok(None);
            };
            let base = baseline::load_spans(&baseline::baseline_path(root, settings, file, name)?)?;
            Ok(Some((current, base)))
        };
        match pair() {
            Ok(p) => p.map(Ok),
            Err(e) => Some(Err(e.to_string())),
        }
    };
    let loaded: Vec<Option<Loaded>> = scenarios.iter().map(|n| load(n)).collect();
    let diffs: Vec<Option<TraceDiff>> = loaded
        .iter()
        .map(|l| match l {
            Some(Ok((current, Some(base)))) => Some(TraceDiff::compute(base, current, settings)),
            _ => None,
        })
        .collect();
    let sections: Vec<HtmlScenario<'_>> = scenarios
        .iter()
        .zip(loaded.iter().zip(&diffs))
        .map(|(name, (l, d))| HtmlScenario {
            file: shown,
            scenario: name,
            view: match (l, d) {
                (None, _) => HtmlView::NotRun,
                (Some(Err(e)), _) => HtmlView::Error(e.clone()),
                (Some(Ok((current, Some(base)))), Some(diff)) => HtmlView::Compared {
                    diff,
                    baseline: base,
                    current,
                },
                (Some(Ok((current, _))), _) => HtmlView::NoBaseline {
                    spans: current.len(),
                },
            },
        })
        .collect();
    render_html(&format!("Trace diff: {shown}"), &sections)
}

#[cfg(test)]
mod tests {
    use super::*;

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
