//! Document outline: meta, services, scenarios with their steps, expectations, other tables.

use std::ops::Range;

use super::toml_tree::{self, TableNode};
use crate::analysis::Analysis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SymbolKind {
    Metadata,
    Service,
    Scenario,
    Step,
    Expectation,
    Section,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Symbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    /// The whole table, in template bytes.
    pub range: Range<usize>,
    /// The header (or name), inside `range`.
    pub selection: Range<usize>,
    pub children: Vec<Symbol>,
}

/// The outline of an analysed document; empty when it did not render to TOML.
pub fn document_symbols(analysis: &Analysis) -> Vec<Symbol> {
    let Some(rendered) = &analysis.rendered else {
        return Vec::new();
    };
    let nodes = toml_tree::tables_of(rendered);
    // (path, symbol) stack: each table nests under the closest earlier table whose path
    // is a prefix of its own.
    let mut roots: Vec<Symbol> = Vec::new();
    let mut stack: Vec<(Vec<String>, Symbol)> = Vec::new();
    for node in nodes.iter() {
        let Some(header) = node.header.as_ref().filter(|_| !node.path.is_empty()) else {
            continue;
        };
        let Some(mut sym) = symbol_for(node) else {
            continue;
        };
        sym.range = rendered.map.to_source(node.extent.clone());
        let sel = rendered.map.to_source(header.clone());
        sym.selection = sel.start.max(sym.range.start)
            ..sel
                .end
                .min(sym.range.end)
                .max(sel.start.max(sym.range.start));
        while let Some((path, _)) = stack.last() {
            if node.path.starts_with(path) && node.path.len() > path.len() {
                break;
            }
            pop_into(&mut stack, &mut roots);
        }
        stack.push((node.path.clone(), sym));
    }
    while !stack.is_empty() {
        pop_into(&mut stack, &mut roots);
    }
    roots
}

fn pop_into(stack: &mut Vec<(Vec<String>, Symbol)>, roots: &mut Vec<Symbol>) {
    if let Some((_, sym)) = stack.pop() {
        match stack.last_mut() {
            Some((_, parent)) => parent.children.push(sym),
            None => roots.push(sym),
        }
    }
}

fn symbol_for(node: &TableNode) -> Option<Symbol> {
    let path: Vec<&str> = node.path.iter().map(String::as_str).collect();
    let name_of = |fallback: String| {
        node.string("name")
            .and_then(|kv| kv.string.clone())
            .unwrap_or(fallback)
    };
    let (name, kind, detail) = match path.as_slice() {
        ["meta"] | ["test", "metadata"] => (
            name_of(path.join(".")),
            SymbolKind::Metadata,
            Some(path.join(".")),
        ),
        ["service" | "services", id] => (
            (*id).to_string(),
            SymbolKind::Service,
            node.string("image")
                .and_then(|kv| kv.string.clone())
                .or(Some("service".into())),
        ),
        ["scenario", i] => (
            name_of(format!("scenario #{}", idx(i))),
            SymbolKind::Scenario,
            Some("scenario".into()),
        ),
        ["steps", i] | [.., "steps", i] => (
            name_of(format!("step #{}", idx(i))),
            SymbolKind::Step,
            Some("step".into()),
        ),
        ["expect", kind, i] if i.parse::<usize>().is_ok() => {
            let fallback = format!("{kind} #{}", idx(i));
            let name = node
                .string("name")
                .or_else(|| node.string("outer"))
                .and_then(|kv| kv.string.clone())
                .unwrap_or(fallback);
            (
                name,
                SymbolKind::Expectation,
                Some(format!("expect.{kind}")),
            )
        }
        ["expect", kind] => (format!("expect.{kind}"), SymbolKind::Expectation, None),
        _ => (path.join("."), SymbolKind::Section, None),
    };
    Some(Symbol {
        name,
        detail,
        kind,
        range: 0..0,
        selection: 0..0,
        children: Vec::new(),
    })
}

/// Every symbol of a tree, depth first, with its container's name.
pub fn flatten(symbols: &[Symbol]) -> Vec<(&Symbol, Option<&str>)> {
    let mut out = Vec::new();
    let mut stack: Vec<(&Symbol, Option<&str>)> = symbols.iter().rev().map(|s| (s, None)).collect();
    while let Some((s, parent)) = stack.pop() {
        out.push((s, parent));
        stack.extend(s.children.iter().rev().map(|c| (c, Some(s.name.as_str()))));
    }
    out
}

/// Workspace-symbol matching: the query's characters appear in order, ignoring case.
pub fn matches_query(name: &str, query: &str) -> bool {
    let mut chars = name.chars().flat_map(char::to_lowercase);
    query
        .chars()
        .flat_map(char::to_lowercase)
        .all(|q| chars.any(|c| c == q))
}

fn idx(i: &str) -> usize {
    i.parse::<usize>().map_or(0, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_uncached, Environment, FileKind};

    fn outline(text: &str) -> Vec<Symbol> {
        document_symbols(&analyze_uncached(
            text,
            FileKind::Test,
            vec![],
            &Environment::empty(),
        ))
    }

    #[test]
    fn builds_a_tree_of_scenarios_steps_services_and_expectations() {
        let text = "[meta]\nname = \"demo\"\nversion = \"1\"\n\n[service.db]\nimage = \"postgres:16\"\n\n[[scenario]]\nname = \"smoke\"\nrun = \"echo hi\"\n\n[[scenario.steps]]\nname = \"one\"\ncommand = [\"true\"]\n\n[[expect.span]]\nname = \"http.request\"\n";
        let syms = outline(text);
        let names: Vec<(&str, SymbolKind)> =
            syms.iter().map(|s| (s.name.as_str(), s.kind)).collect();
        assert_eq!(
            names,
            [
                ("demo", SymbolKind::Metadata),
                ("db", SymbolKind::Service),
                ("smoke", SymbolKind::Scenario),
                ("http.request", SymbolKind::Expectation)
            ]
        );
        let scenario = &syms[2];
        assert_eq!(scenario.children.len(), 1);
        assert_eq!(scenario.children[0].name, "one");
        assert_eq!(&text[scenario.selection.clone()], "[[scenario]]");
        assert!(text[scenario.range.clone()].ends_with("command = [\"true\"]"));
        assert_eq!(syms[1].detail.as_deref(), Some("postgres:16"));
    }

    #[test]
    fn flattens_and_matches_queries() {
        let syms =
            outline("[[scenario]]\nname = \"api_smoke\"\n[[scenario.steps]]\nname = \"login\"\n");
        let flat: Vec<(&str, Option<&str>)> = flatten(&syms)
            .iter()
            .map(|(s, p)| (s.name.as_str(), *p))
            .collect();
        assert_eq!(flat, [("api_smoke", None), ("login", Some("api_smoke"))]);
        assert!(matches_query("api_smoke", "APsm"));
        assert!(matches_query("api_smoke", ""));
        assert!(!matches_query("api_smoke", "smoke_api"));
    }

    #[test]
    fn empty_and_broken_files_have_no_symbols() {
        assert!(outline("").is_empty());
        assert!(outline("[meta\n").is_empty());
    }
}
