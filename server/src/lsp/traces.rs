//! Trace-diff code lenses and the `clnrm.showTraceDiff` / `clnrm.updateBaseline` commands:
//! converts `crate::traces` results for the editor.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tower_lsp::lsp_types as lsp;

use super::commands::Command;
use crate::traces::{self, DiffSettings, RenderOptions, ScenarioState, Update};

/// A scenario's trace lens on `line`: the last trace against its baseline.
pub fn lens(
    uri: &lsp::Url,
    path: &Path,
    root: &Path,
    settings: &DiffSettings,
    scenario: &str,
    line: u32,
) -> lsp::CodeLens {
    let (title, command) =
        match traces::compare(root, settings, path, scenario, Update::No).compared {
            Ok(d) => {
                let command = match d.state {
                    ScenarioState::NoBaseline { .. } => Command::UpdateBaseline,
                    _ => Command::ShowTraceDiff,
                };
                (d.lens_title(), command)
            }
            Err(e) => (format!("trace: {e}"), Command::ShowTraceDiff),
        };
    let at = lsp::Position::new(line, 0);
    lsp::CodeLens {
        range: lsp::Range::new(at, at),
        command: Some(lsp::Command {
            title,
            command: command.id().to_string(),
            arguments: Some(vec![json!(uri), json!(scenario)]),
        }),
        data: None,
    }
}

/// The markdown trace diff of one scenario (the command's result, shown by the client).
pub fn show_diff(path: &Path, root: &Path, scenario: &str) -> Result<String, String> {
    let settings = DiffSettings::load(root)?;
    let d = traces::compare(root, &settings, path, scenario, Update::No)
        .compared
        .map_err(|e| e.to_string())?;
    Ok(match &d.state {
        ScenarioState::NoTrace => format!("# {scenario}\n\nNo trace recorded yet: run the scenario first."),
        ScenarioState::NoBaseline { spans } => format!(
            "# {scenario}\n\nNo baseline yet ({spans} spans in the last run). Record it with *Update Baseline*."
        ),
        ScenarioState::Compared(diff) => traces::render_markdown(diff, scenario, &RenderOptions::from_settings(&settings)),
    })
}

/// `clnrm/traceDiff`: one scenario's page (as `clnrm-lsp diff FILE --format html`
/// writes it), its markdown and a title.
pub fn diff_page(path: &Path, root: &Path, scenario: &str) -> Result<Value, String> {
    let markdown = show_diff(path, root, scenario)?;
    let settings = DiffSettings::load(root)?;
    let shown = traces::baseline::workspace_relative(root, path)
        .unwrap_or_else(|_| path.display().to_string());
    let html = traces::scenario_page(root, &settings, path, &shown, &[scenario.to_string()]);
    Ok(serde_json::json!({
        "html": html,
        "markdown": markdown,
        "title": format!("Trace diff: {scenario} ({shown})"),
    }))
}

/// Record the last trace as the baseline (as `diff --update-baseline` does); returns the
/// baseline's path.
pub fn update_baseline(path: &Path, root: &Path, scenario: &str) -> Result<PathBuf, String> {
    let settings = DiffSettings::load(root)?;
    traces::compare(root, &settings, path, scenario, Update::Record)
        .into_update()
        .map_err(|e| e.to_string())
}

/// `[uri, scenario]` command arguments.
pub fn command_args(args: &[Value]) -> Option<(lsp::Url, String)> {
    let uri = lsp::Url::parse(args.first()?.as_str()?).ok()?;
    let scenario = args.get(1)?.as_str()?.to_string();
    Some((uri, scenario))
}
