//! Code actions: quick fixes for diagnostics, and scenario source actions (run, record).

use std::ops::Range;

use super::cursor::table_path_at;
use super::symbols::{document_symbols, Symbol, SymbolKind};
use crate::analysis::schema;
use crate::analysis::{Analysis, Code, Diagnostic, Edit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ActionKind {
    QuickFix,
    Source,
}

/// What a scenario source action does (the face names it as one of its commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ScenarioAction {
    Run,
    RecordBaseline,
}

/// A scenario action the face runs through its command mechanism.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScenarioCommand {
    pub action: ScenarioAction,
    pub scenario: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Action {
    pub title: String,
    pub kind: ActionKind,
    pub edits: Vec<Edit>,
    pub command: Option<ScenarioCommand>,
    /// Index of the diagnostic (in the slice given) this action fixes.
    pub fixes: Option<usize>,
    pub preferred: bool,
}

/// Actions for the byte `range` of `text`, given the diagnostics the client sent back.
pub fn code_actions(
    text: &str,
    range: Range<usize>,
    diagnostics: &[Diagnostic],
    analysis: &Analysis,
) -> Vec<Action> {
    let mut out = Vec::new();
    if super::too_large(text) {
        return out;
    }
    for (i, d) in diagnostics.iter().enumerate() {
        if let Some(fix) = &d.fix {
            out.push(Action {
                title: fix.title.clone(),
                kind: ActionKind::QuickFix,
                edits: fix.edits.clone(),
                command: None,
                fixes: Some(i),
                preferred: true,
            });
            continue;
        }
        let edit = match d.code {
            Code::MissingKey => {
                backticked(&d.message).map(|key| insert_missing_key(text, d.range.start, key))
            }
            Code::UndefinedService => backticked(&d.message).map(|id| create_service(text, id)),
            _ => None,
        };
        if let Some((title, edit)) = edit {
            out.push(Action {
                title,
                kind: ActionKind::QuickFix,
                edits: vec![edit],
                command: None,
                fixes: Some(i),
                preferred: false,
            });
        }
    }
    if let Some(scenario) = scenario_at(&document_symbols(analysis), range.start) {
        for (action, verb) in [
            (ScenarioAction::Run, "Run scenario"),
            (ScenarioAction::RecordBaseline, "Record trace baseline for"),
        ] {
            out.push(Action {
                title: format!("{verb} '{scenario}'"),
                kind: ActionKind::Source,
                edits: Vec::new(),
                command: Some(ScenarioCommand {
                    action,
                    scenario: scenario.clone(),
                }),
                fixes: None,
                preferred: false,
            });
        }
    }
    out
}

fn scenario_at(symbols: &[Symbol], offset: usize) -> Option<String> {
    symbols
        .iter()
        .find(|s| {
            s.kind == SymbolKind::Scenario && s.range.start <= offset && offset <= s.range.end
        })
        .map(|s| s.name.clone())
}

/// The first `name` in backticks of a message.
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len]).filter(|s| !s.is_empty())
}

fn insert_missing_key(text: &str, at: usize, key: &str) -> (String, Edit) {
    let at = at.min(text.len());
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let mut path = table_path_at(text, line_end).0;
    path.push(key.to_string());
    let root = schema::schema();
    let value = match schema::at_key(root, &path).map(|n| schema::resolve(root, n)) {
        Some(n) if schema::is_type(n, "string") => schema::enum_values(n)
            .first()
            .map_or("\"\"".to_string(), |v| format!("\"{v}\"")),
        Some(n) if schema::is_type(n, "integer") || schema::is_type(n, "number") => "0".into(),
        Some(n) if schema::is_type(n, "boolean") => "false".into(),
        Some(n) if schema::is_type(n, "array") => "[]".into(),
        Some(n) if schema::is_type(n, "object") => "{}".into(),
        _ => "\"\"".into(),
    };
    (
        format!("Add missing key `{key}`"),
        Edit {
            range: line_end..line_end,
            new_text: format!("\n{key} = {value}"),
        },
    )
}

fn create_service(text: &str, id: &str) -> (String, Edit) {
    let sep = if text.is_empty() || text.ends_with("\n\n") {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    (
        format!("Create service `{id}`"),
        Edit {
            range: text.len()..text.len(),
            new_text: format!(
                "{sep}[service.{id}]\nplugin = \"generic_container\"\nimage = \"alpine:latest\"\n"
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_uncached, Environment, FileKind, Fix};

    fn analysis(text: &str) -> Analysis {
        analyze_uncached(text, FileKind::Test, vec![], &Environment::empty())
    }

    fn apply(text: &str, edits: &[Edit]) -> String {
        crate::ide::apply_edits(text, edits)
    }

    #[test]
    fn offers_the_diagnostic_fix_first() {
        let text = "[meta]\nnmae = \"x\"\n";
        let d = Diagnostic::new(Code::UnknownKey, 7..11, "unknown key `nmae`").with_fix(Fix {
            title: "Replace with `name`".into(),
            edits: vec![Edit {
                range: 7..11,
                new_text: "name".into(),
            }],
        });
        let actions = code_actions(text, 7..7, &[d], &analysis(text));
        assert_eq!(actions[0].title, "Replace with `name`");
        assert_eq!(apply(text, &actions[0].edits), "[meta]\nname = \"x\"\n");
    }

    #[test]
    fn inserts_a_missing_key_and_creates_a_service() {
        let text =
            "[meta]\nname = \"x\"\n\n[[scenario]]\nname = \"s\"\nservice = \"db\"\nrun = \"true\"";
        let missing = Diagnostic::new(
            Code::MissingKey,
            0..6,
            "missing required key `version` in [meta]",
        );
        let undefined = Diagnostic::new(
            Code::UndefinedService,
            40..44,
            "service `db` is not defined",
        );
        let actions = code_actions(text, 0..text.len(), &[missing, undefined], &analysis(text));
        assert_eq!(
            apply(text, &actions[0].edits),
            text.replacen("[meta]", "[meta]\nversion = \"\"", 1)
        );
        let created = apply(text, &actions[1].edits);
        assert!(created.ends_with("run = \"true\"\n\n[service.db]\nplugin = \"generic_container\"\nimage = \"alpine:latest\"\n"));
    }

    #[test]
    fn scenario_source_actions_at_the_cursor() {
        let text = "[[scenario]]\nname = \"smoke\"\nrun = \"true\"\n";
        let actions = code_actions(text, 15..15, &[], &analysis(text));
        let commands: Vec<_> = actions
            .iter()
            .filter_map(|a| a.command.as_ref())
            .map(|c| (c.action, c.scenario.as_str()))
            .collect();
        assert_eq!(
            commands,
            [
                (ScenarioAction::Run, "smoke"),
                (ScenarioAction::RecordBaseline, "smoke")
            ]
        );
        assert!(code_actions("", 0..0, &[], &analysis("")).is_empty());
    }
}
