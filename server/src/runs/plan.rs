//! What a run of one file would execute: its scenarios, each with its result-cache key.
//! Built from an analysis, so the editor and the CLI plan from the same rendered text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::inputs::{scenario_inputs, Place};
use super::key::run_key;
use super::project::Project;
use super::selection::Selection;
use super::settings::RunSettings;
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
    // Whether services start is in the key of a scenario that uses one: "on in the config"
    // is not enough, a verdict from a run without an engine must not answer once one runs.
    let uses_services = file
        .scenarios
        .iter()
        .any(|s| !file.services_of(s).is_empty());
    let settings = RunSettings {
        services: uses_services && project.services_engine().is_some(),
        ..project.settings.clone()
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
                    &settings,
                    Some((place, &inputs)),
                )?,
                blocked: inputs.blocked,
                notes: inputs.notes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::runs::backend::{Backend, BackendKind, Container, Invocation, Local, NoEngine};
    use crate::runs::process::ProcessSpec;

    /// The local backend where docker answers (no engine is probed).
    struct EngineAnswers;

    impl Backend for EngineAnswers {
        fn kind(&self) -> BackendKind {
            BackendKind::Local
        }
        fn command(&self, inv: &Invocation<'_>) -> ProcessSpec {
            Local.command(inv)
        }
        fn engine(&self) -> Option<Container> {
            Some(Container::new(BackendKind::Docker))
        }
    }

    #[test]
    fn a_verdict_without_an_engine_does_not_answer_once_services_start() {
        let root = tempfile::tempdir().unwrap();
        let file = TestFile::from_rendered(
            "[service.db]\nimage = \"postgres\"\n[[scenario]]\nname = \"uses\"\nservice = \"db\"\nrun = \"true\"\n[[scenario]]\nname = \"plain\"\nrun = \"true\"\n",
            None,
        )
        .unwrap();
        let path = root.path().join("a.clnrm.toml");
        let mut project = Project::with_config(root.path(), Config::default(), Vec::new());
        assert!(project.settings.services, "services are on by default");
        project.backend = Arc::new(NoEngine);
        let without_engine = keys(&file, &project, &path);
        project.settings.services = false;
        let services_off = keys(&file, &project, &path);
        // No engine and services turned off are the same run: the same keys.
        assert_eq!(without_engine[0].key, services_off[0].key);
        // Services that start are another run for the scenario using one, not for the other.
        project.settings.services = true;
        project.backend = Arc::new(EngineAnswers);
        let with_engine = keys(&file, &project, &path);
        assert_ne!(with_engine[0].key, without_engine[0].key);
        assert_eq!(without_engine[1].key, services_off[1].key);
    }
}
