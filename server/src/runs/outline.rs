//! A test file as a tree of tests for editors: its scenarios (where their headers are) and
//! their steps, and each unmet expectation of a result placed in the template source.

use std::ops::Range;

use super::expect::ExpectationFailure;
use super::plan;
use super::result::RunResult;
use crate::analysis::{Analysis, Rendered};

/// One scenario: its name, header (template bytes) and steps.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioOutline {
    pub name: String,
    pub header: Range<usize>,
    pub steps: Vec<StepOutline>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepOutline {
    pub name: String,
    /// The step's table in the template, else its scenario's header.
    pub range: Range<usize>,
}

/// An unmet expectation where the user reads it (template bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedFailure {
    pub range: Range<usize>,
    pub message: String,
    pub expected: String,
    pub actual: String,
}

/// The scenarios of an analysed file with their steps; empty when it does not render to a
/// test file.
pub fn outline(analysis: &Analysis) -> Vec<ScenarioOutline> {
    let (Ok(file), Some(rendered)) = (plan::model(analysis), analysis.rendered.as_deref()) else {
        return Vec::new();
    };
    let doc = toml_edit::Document::parse(rendered.text.clone()).ok();
    let anchors = super::report::anchors(rendered, &file);
    // Explicit scenarios are `[[scenario]]` entries in order, after an implicit one.
    let implicit = usize::from(file.scenarios.first().is_some_and(|s| s.implicit));
    file.scenarios
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let header = anchors.get(k).cloned().unwrap_or(0..0);
            let steps = s
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| StepOutline {
                    name: step.name.clone(),
                    range: step_range(doc.as_ref(), rendered, s.implicit, k - implicit.min(k), i)
                        .unwrap_or_else(|| header.clone()),
                })
                .collect();
            ScenarioOutline {
                name: s.name.clone(),
                header,
                steps,
            }
        })
        .collect()
}

/// `steps[i]` (implicit scenario) or `scenario[k].steps[i]` in the rendered TOML, mapped back.
fn step_range(
    doc: Option<&toml_edit::Document<String>>,
    rendered: &Rendered,
    implicit: bool,
    k: usize,
    i: usize,
) -> Option<Range<usize>> {
    let table = doc?.as_table();
    let steps = if implicit {
        table.get("steps")?
    } else {
        table
            .get("scenario")?
            .as_array_of_tables()?
            .get(k)?
            .get("steps")?
    };
    let span = match steps.as_array_of_tables() {
        Some(a) => a.get(i)?.span(),
        None => steps.as_array()?.get(i)?.span(),
    }?;
    Some(rendered.map.to_source(span))
}

/// Each unmet expectation of `result` on its table or key in the template (the scenario's
/// header when it cannot be placed).
pub fn place_failures(analysis: &Analysis, result: &RunResult) -> Vec<PlacedFailure> {
    let Some(rendered) = analysis.rendered.as_deref() else {
        return Vec::new();
    };
    let header = outline(analysis)
        .into_iter()
        .find(|s| s.name == result.scenario)
        .map_or(0..0, |s| s.header);
    let doc = toml_edit::Document::parse(rendered.text.clone()).ok();
    result
        .failures
        .iter()
        .map(|f: &ExpectationFailure| PlacedFailure {
            range: doc
                .as_ref()
                .and_then(|d| f.locate(d))
                .map(|r| rendered.map.to_source(r))
                .unwrap_or_else(|| header.clone()),
            message: f.message(),
            expected: f.expected.clone(),
            actual: f.observed.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::DiskLoader;
    use crate::analysis::{Analyzer, Environment, Origin};

    #[test]
    fn scenarios_with_their_steps() {
        let text = "[meta]\nname = \"t\"\n\n[[scenario]]\nname = \"a\"\n\n[[scenario.steps]]\nname = \"one\"\ncommand = [\"true\"]\n\n[[scenario]]\nname = \"b\"\nrun = \"true\"\n";
        let analysis = Analyzer::new(Environment::empty()).analyze(
            text,
            Origin {
                path: None,
                workspace_root: None,
                kind: None,
            },
            &DiskLoader,
        );
        let o = outline(&analysis);
        assert_eq!(o.len(), 2, "{o:?}");
        assert_eq!(o[0].name, "a");
        assert!(text[o[0].header.clone()].starts_with("[[scenario]]"));
        assert_eq!(o[0].steps.len(), 1);
        assert_eq!(o[0].steps[0].name, "one");
        assert_eq!(&text[o[0].steps[0].range.clone()], "[[scenario.steps]]");
        assert!(o[1].steps.is_empty());
    }
}
