//! What a run of one file would execute: its scenarios, each with its result-cache key.
//! Built from an analysis, so the editor and the CLI plan from the same rendered text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::inputs::{scenario_inputs, Place};
use super::key::run_key;
use super::project::Project;
use super::selection::Selection;
use crate::analysis::{Analysis, ContentKey, Diagnostic};
use crate::model::TestFile;

#[derive(Debug, Clone)]
pub struct Plan {
    pub path: PathBuf,
    pub file: Arc<TestFile>,
    pub runs: Vec<Planned>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Index in `file.scenarios`.
    pub index: usize,
    pub name: String,
    pub key: ContentKey,
    /// Why it cannot run (an image the engine does not have): an `error`, never cached.
    pub blocked: Option<String>,
    /// Inputs ignored, for the user (a glob outside the workspace).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("not run: the file has {0} error(s); fix them first")]
    Invalid(usize),
    #[error("not run: the file did not render")]
    NotRendered,
    #[error("no scenario named `{name}` (scenarios: {available})")]
    UnknownScenario { name: String, available: String },
    #[error("the file defines no scenario to run")]
    Empty,
    /// The file has scenarios, none of them selected.
    #[error("no scenario of the file is selected")]
    NotSelected,
    #[error("cannot read the rendered file: {0}")]
    Model(String),
}

/// A file with errors (its analysis's, or reading it: `invalid-encoding`) never runs.
pub fn refuse_errors(diagnostics: &[Diagnostic]) -> Result<(), PlanError> {
    match diagnostics.iter().filter(|d| d.is_error()).count() {
        0 => Ok(()),
        errors => Err(PlanError::Invalid(errors)),
    }
}

/// The runs of `path` the selection keeps, planned for `project`. Names the file lacks are
/// not an error here: another file of the batch may define them (`workspace::runs` decides).
pub fn plan(
    path: &Path,
    analysis: &Analysis,
    project: &Project,
    selection: &Selection,
) -> Result<Plan, PlanError> {
    refuse_errors(&analysis.diagnostics)?;
    let file = model(analysis)?;
    if file.scenarios.is_empty() {
        return Err(PlanError::Empty);
    }
    // Image identities are looked up once per run batch: an image rebuilt under the same
    // tag since the last run is another key.
    project.images.clear();
    let runs = keys(&file, project, path)
        .into_iter()
        .filter(|p| selection.admits(&p.name))
        .collect();
    Ok(Plan {
        path: path.to_path_buf(),
        file: Arc::new(file),
        runs,
    })
}

/// The typed view of an analysed file (its rendered text, positions in the template).
pub fn model(analysis: &Analysis) -> Result<TestFile, PlanError> {
    let rendered = analysis.rendered.as_ref().ok_or(PlanError::NotRendered)?;
    TestFile::from_rendered(&rendered.text, Some(&rendered.map)).map_err(PlanError::Model)
}

/// Every scenario of `file` (at `path`) with its key (for lenses: what result belongs to
/// it now).
pub fn keys(file: &TestFile, project: &Project, path: &Path) -> Vec<Planned> {
    let dir = path.parent().unwrap_or(&project.root);
    let place = Place {
        root: &project.root,
        dir,
    };
    file.scenarios
        .iter()
        .enumerate()
        .filter_map(|(index, scenario)| {
            let inputs = scenario_inputs(
                file,
                scenario,
                place,
                &project.config.cache.inputs,
                project.backend_kind(),
                &project.settings.default_image,
                &project.images,
            );
            Some(Planned {
                index,
                name: scenario.name.clone(),
                key: run_key(
                    file,
                    index,
                    project.backend_kind(),
                    &project.settings,
                    Some((place, &inputs)),
                )?,
                blocked: inputs.blocked,
                notes: inputs.notes,
            })
        })
        .collect()
}
