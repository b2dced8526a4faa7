//! Diffing a test file's traces (`clnrm-lsp diff FILE`): which scenarios (the file's, or
//! the selected ones; an unknown name is an error), each compared by `traces::compare`.

use std::path::{Path, PathBuf};

use crate::analysis::template::DiskLoader;
use crate::analysis::Analyzer;
use crate::runs::selection::Selection;
use crate::traces::{self, baseline, DiffSettings, ScenarioOutcome, Update, Verdict};

/// Why a file's traces could not be diffed at all.
#[derive(Debug, thiserror::Error)]
pub enum FileDiffError {
    #[error("{0}")]
    Read(String),
    #[error("{0}")]
    Settings(String),
    #[error("{}: the template does not render to TOML; run `clnrm-lsp check` for details", .0.display())]
    NotRendered(PathBuf),
    #[error("{}: no scenario named {name:?} (scenarios: {available})", file.display())]
    UnknownScenario {
        file: PathBuf,
        name: String,
        available: String,
    },
    #[error("{}: no [[scenario]] found", .0.display())]
    NoScenario(PathBuf),
}

/// A file's scenarios, each compared (and recorded when asked).
pub struct FileDiff {
    pub root: PathBuf,
    pub settings: DiffSettings,
    /// The file as the user sees it: relative to the workspace root when inside it.
    pub shown: String,
    /// Absolute.
    pub file: PathBuf,
    pub scenarios: Vec<ScenarioOutcome>,
}

impl FileDiff {
    /// The worst verdict of its scenarios.
    pub fn verdict(&self) -> Verdict {
        self.scenarios
            .iter()
            .map(ScenarioOutcome::verdict)
            .max()
            .unwrap_or(Verdict::Matches)
    }

    pub fn names(&self) -> Vec<String> {
        self.scenarios.iter().map(|s| s.scenario.clone()).collect()
    }
}

/// Diff the scenarios `selection` keeps of `file` (in `root`), recording on request.
pub fn diff_file(
    file: &Path,
    root: &Path,
    selection: &Selection,
    update: Update,
    analyzer: &Analyzer,
) -> Result<FileDiff, FileDiffError> {
    let file = std::path::absolute(file)
        .map_err(|e| FileDiffError::Read(format!("{}: {e}", file.display())))?;
    let (_, analysis) = super::analyse_file(&file, root, None, None, analyzer, &DiskLoader)
        .map_err(|e| FileDiffError::Read(e.to_string()))?;
    let settings = DiffSettings::load(root).map_err(FileDiffError::Settings)?;
    let model = crate::runs::plan::model(&analysis)
        .map_err(|_| FileDiffError::NotRendered(file.clone()))?;
    let mut names: Vec<String> = Vec::new();
    for s in model.scenarios {
        if !names.contains(&s.name) {
            names.push(s.name);
        }
    }
    if let Some(name) = selection
        .unknown(names.iter().map(String::as_str))
        .into_iter()
        .next()
    {
        return Err(FileDiffError::UnknownScenario {
            file,
            name,
            available: names.join(", "),
        });
    }
    names.retain(|n| selection.admits(n));
    if names.is_empty() {
        return Err(FileDiffError::NoScenario(file));
    }
    let scenarios = names
        .iter()
        .map(|name| traces::compare(root, &settings, &file, name, update))
        .collect();
    let shown =
        baseline::workspace_relative(root, &file).unwrap_or_else(|_| file.display().to_string());
    Ok(FileDiff {
        root: root.to_path_buf(),
        settings,
        shown,
        file,
        scenarios,
    })
}
