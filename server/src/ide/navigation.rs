//! Go to definition and find references: services, span names, template variables, macros.

use std::ops::Range;
use std::path::PathBuf;

use super::cursor::{line_at, tera_tag_at, word_at};
use super::vocabulary::Vocabulary;
use crate::analysis::Dependency;

/// A place in this document (`path: None`) or in another file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub path: Option<PathBuf>,
    pub range: Range<usize>,
}

fn here(range: Range<usize>) -> Location {
    Location { path: None, range }
}

/// What the cursor names, when it names something navigable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Service(String),
    Span(String),
    Variable(String),
    Macro { namespace: String, name: String },
}

pub fn definition(
    text: &str,
    offset: usize,
    vocab: &Vocabulary,
    deps: &[Dependency],
) -> Vec<Location> {
    if super::too_large(text) {
        return Vec::new();
    }
    match target_at(text, offset) {
        Some(Target::Service(id)) => service_headers(text, &id).into_iter().map(here).collect(),
        Some(Target::Span(name)) => span_definitions(text, &name)
            .into_iter()
            .map(here)
            .collect(),
        Some(Target::Variable(name)) => vocab
            .variables
            .iter()
            .filter(|v| v.name == name)
            .filter_map(|v| v.range.clone())
            .map(here)
            .collect(),
        Some(Target::Macro { namespace, name }) => macro_definition(text, &namespace, &name, deps),
        None => Vec::new(),
    }
}

/// Every place naming the same service or span as the cursor, definitions included.
pub fn references(text: &str, offset: usize) -> Vec<Range<usize>> {
    if super::too_large(text) {
        return Vec::new();
    }
    let mut out = match target_at(text, offset) {
        Some(Target::Service(id)) => {
            let mut v = service_headers(text, &id);
            v.extend(string_values(text, "service", &id));
            v
        }
        Some(Target::Span(name)) => {
            let mut v = span_definitions(text, &name);
            v.extend(string_values(text, "parent", &name));
            v
        }
        _ => Vec::new(),
    };
    out.sort_by_key(|r| r.start);
    out.dedup();
    out
}

fn target_at(text: &str, offset: usize) -> Option<Target> {
    if let Some(tag) = tera_tag_at(text, offset) {
        let word = &text[word_at(text, offset)?];
        if let Some((ns, name)) = word.split_once("::") {
            return Some(Target::Macro {
                namespace: ns.into(),
                name: name.trim_end_matches(':').into(),
            });
        }
        let _ = tag;
        let root = word.split('.').find(|s| *s != "vars").unwrap_or(word);
        return Some(Target::Variable(root.to_string()));
    }
    let (line_start, _) = line_at(text, offset);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let t = line.trim_start();
    for prefix in ["[service.", "[services."] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let id = rest
                .split([']', '.'])
                .next()?
                .trim()
                .trim_matches(['"', '\'']);
            return Some(Target::Service(id.to_string()));
        }
    }
    let (key, value) = line.split_once('=')?;
    let value = value.trim().trim_matches(['"', '\'']);
    match key.trim() {
        "service" => Some(Target::Service(value.to_string())),
        "parent" => Some(Target::Span(value.to_string())),
        "name" if in_span_table(text, line_start) => Some(Target::Span(value.to_string())),
        _ => None,
    }
}

fn in_span_table(text: &str, line_start: usize) -> bool {
    text[..line_start]
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .is_some_and(|l| l.trim_start().starts_with("[[expect.span]]"))
}

/// Lines as (start offset, text).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |pos, l| {
        let start = *pos;
        *pos += l.len();
        Some((start, l.trim_end_matches(['\n', '\r'])))
    })
}

fn service_headers(text: &str, id: &str) -> Vec<Range<usize>> {
    lines(text)
        .filter_map(|(start, l)| {
            let t = l.trim_start();
            let rest = t
                .strip_prefix("[services.")
                .or_else(|| t.strip_prefix("[service."))?;
            let name = rest.split(']').next()?.trim().trim_matches(['"', '\'']);
            (name == id).then(|| {
                let s = start + (l.len() - t.len());
                s..s + t.trim_end().len()
            })
        })
        .collect()
}

/// Value ranges (without quotes) of `key = "value"` lines.
fn string_values(text: &str, key: &str, value: &str) -> Vec<Range<usize>> {
    lines(text)
        .filter_map(|(start, l)| {
            let (k, v) = l.split_once('=')?;
            if k.trim() != key {
                return None;
            }
            let trimmed = v.trim().trim_matches(['"', '\'']);
            if trimmed != value {
                return None;
            }
            let at = l.rfind(value)?;
            Some(start + at..start + at + value.len())
        })
        .collect()
}

fn span_definitions(text: &str, name: &str) -> Vec<Range<usize>> {
    string_values(text, "name", name)
        .into_iter()
        .filter(|r| in_span_table(text, line_at(text, r.start).0))
        .collect()
}

fn macro_definition(text: &str, namespace: &str, name: &str, deps: &[Dependency]) -> Vec<Location> {
    let find = |src: &str| {
        let needle = format!("macro {name}(");
        src.match_indices(&needle)
            .map(|(i, _)| i + 6..i + 6 + name.len())
            .next()
    };
    if namespace == "self" {
        return find(text).map(here).into_iter().collect();
    }
    // `{% import "file" as ns %}` names the file.
    let file = lines(text).find_map(|(_, l)| {
        let inner = l.trim().strip_prefix("{%")?.trim_start_matches('-').trim();
        let rest = inner.strip_prefix("import")?.trim();
        let (quoted, alias) = rest.split_once(" as ")?;
        let alias = alias
            .trim()
            .trim_end_matches("%}")
            .trim_end_matches('-')
            .trim();
        (alias == namespace).then(|| quoted.trim().trim_matches(['"', '\'']).to_string())
    });
    let Some(file) = file else { return Vec::new() };
    deps.iter()
        .filter(|d| d.name == file)
        .filter_map(|d| {
            let range = find(d.text.as_deref()?)?;
            Some(Location {
                path: d.path.clone(),
                range,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::{Binding, BindingOrigin};

    const TEXT: &str = "[vars]\nsvc = \"api\"\n\n[service.db]\nimage = \"pg\"\n\n[[scenario]]\nname = \"s\"\nservice = \"db\"\n\n[[expect.span]]\nname = \"root\"\n\n[[expect.span]]\nname = \"child\"\nparent = \"root\"\n";

    #[test]
    fn service_reference_goes_to_its_table_and_finds_references() {
        let at = TEXT.find("service = \"db\"").unwrap() + 12;
        let defs = definition(TEXT, at, &Vocabulary::default(), &[]);
        assert_eq!(defs.len(), 1);
        assert_eq!(&TEXT[defs[0].range.clone()], "[service.db]");
        let refs = references(TEXT, TEXT.find("[service.db]").unwrap() + 3);
        assert_eq!(refs.len(), 2);
    }

    #[test]
    fn parent_goes_to_the_span_expectation() {
        let at = TEXT.find("parent = \"root\"").unwrap() + 11;
        let defs = definition(TEXT, at, &Vocabulary::default(), &[]);
        assert_eq!(defs.len(), 1);
        assert_eq!(&TEXT[defs[0].range.clone()], "root");
        assert_eq!(
            TEXT[..defs[0].range.start].lines().last().unwrap(),
            "name = \""
        );
        assert_eq!(references(TEXT, at).len(), 2);
    }

    #[test]
    fn variables_and_macros() {
        let text = "{% import \"_m.toml.tera\" as m %}\nx = \"{{ svc }}\"\n{{ m::span(name=\"a\") }}\n{% macro local(a) %}{% endmacro %}{{ self::local(a=1) }}";
        let vocab = Vocabulary {
            variables: vec![Binding {
                name: "svc".into(),
                value: "api".into(),
                origin: BindingOrigin::Vars,
                range: Some(3..6),
                env_var: None,
            }],
            ..Vocabulary::default()
        };
        let defs = definition(text, text.find("svc").unwrap() + 1, &vocab, &[]);
        assert_eq!(
            defs,
            [Location {
                path: None,
                range: 3..6
            }]
        );
        let dep = Dependency {
            name: "_m.toml.tera".into(),
            path: Some("/w/_m.toml.tera".into()),
            problem: None,
            text: Some("{% macro span(name) %}[[expect.span]]{% endmacro %}".into()),
        };
        let defs = definition(text, text.find("m::span").unwrap() + 4, &vocab, &[dep]);
        assert_eq!(defs.len(), 1);
        assert_eq!(defs[0].range, 9..13);
        let local = definition(text, text.find("self::local").unwrap() + 7, &vocab, &[]);
        assert_eq!(&text[local[0].range.clone()], "local");
        assert!(definition("", 0, &vocab, &[]).is_empty());
    }
}
