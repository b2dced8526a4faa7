//! Hover: a key's schema documentation; a template variable's value and origin.

use std::ops::Range;

use super::cursor::{line_at, table_path_at, tera_tag_at, word_at};
use super::vocabulary::{display_value, origin_label, Vocabulary};
use crate::analysis::schema;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hover {
    pub range: Range<usize>,
    pub markdown: String,
}

pub fn hover(text: &str, offset: usize, vocab: &Vocabulary) -> Option<Hover> {
    if super::too_large(text) {
        return None;
    }
    let word = word_at(text, offset)?;
    let name = &text[word.clone()];
    if tera_tag_at(text, offset).is_some() {
        let root = name.split('.').find(|s| *s != "vars").unwrap_or(name);
        if let Some(var) = vocab.variables.iter().find(|v| v.name == root) {
            return Some(Hover {
                range: word,
                markdown: format!(
                    "**{}** = `{}`\n\n{}",
                    var.name,
                    display_value(&var.name, &var.value),
                    origin_label(var.origin)
                ),
            });
        }
        if vocab.functions.iter().any(|f| f == name) {
            return Some(Hover {
                range: word,
                markdown: format!("**{name}()**: template function (clnrm / Tera); rendered deterministically by clnrm-lsp"),
            });
        }
        if vocab.filters.iter().any(|f| f == name) {
            return Some(Hover {
                range: word,
                markdown: format!("**| {name}**: template filter"),
            });
        }
        return None;
    }
    key_hover(text, offset, word)
}

fn key_hover(text: &str, offset: usize, word: Range<usize>) -> Option<Hover> {
    let root = schema::schema();
    let (line_start, before) = line_at(text, offset);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let trimmed = line.trim_start();
    let path: Vec<String> = if trimmed.starts_with('[') {
        // A header: the path up to and including the hovered segment.
        let inner = trimmed.trim_start_matches('[');
        let upto = before.trim_start().trim_start_matches('[').len() + (word.end - offset);
        inner[..upto.min(inner.len())]
            .split('.')
            .map(|s| s.trim().trim_matches(['"', '\'', ']']).to_string())
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        // A key: only when the word is left of the `=`.
        let eq = line.find('=')?;
        if word.start - line_start > eq {
            return None;
        }
        let mut path = table_path_at(text, line_start).0;
        path.extend(text[word.clone()].split('.').map(str::to_string));
        path
    };
    let node = schema::at_key(root, &path)?;
    let node = schema::resolve(root, node);
    let mut md = format!(
        "**{}**: `{}`",
        path.join("."),
        schema::type_name(root, node)
    );
    if schema::required(
        schema::at_path(root, &path[..path.len() - 1]).unwrap_or(&serde_json::Value::Null),
    )
    .contains(&path[path.len() - 1].as_str())
    {
        md.push_str(" (required)");
    }
    if let Some(d) = schema::description(node) {
        md.push_str("\n\n");
        md.push_str(d);
    }
    if let Some(default) = node.get("default") {
        md.push_str(&format!("\n\nDefault: `{default}`"));
    }
    let values = schema::enum_values(node);
    if !values.is_empty() {
        md.push_str(&format!(
            "\n\nAllowed: {}",
            values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Some(Hover {
        range: word,
        markdown: md,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::{Binding, BindingOrigin};

    fn vocab() -> Vocabulary {
        Vocabulary {
            variables: vec![
                Binding {
                    name: "svc".into(),
                    value: "api".into(),
                    origin: BindingOrigin::Vars,
                    range: None,
                    env_var: None,
                },
                Binding {
                    name: "token".into(),
                    value: "s3cr3t".into(),
                    origin: BindingOrigin::Environment,
                    range: None,
                    env_var: None,
                },
            ],
            functions: vec!["env".into()],
            filters: vec![],
            macros: vec![],
        }
    }

    #[test]
    fn shows_variable_values_and_masks_secrets() {
        let text = "a = \"{{ svc }}-{{ token }}\"";
        let h = hover(text, text.find("svc").unwrap() + 1, &vocab()).unwrap();
        assert!(
            h.markdown.contains("\"api\"") && h.markdown.contains("[vars]"),
            "{}",
            h.markdown
        );
        let h = hover(text, text.find("token").unwrap() + 1, &vocab()).unwrap();
        assert!(!h.markdown.contains("s3cr3t"));
        assert!(h.markdown.contains("environment"));
    }

    #[test]
    fn shows_schema_docs_for_keys_and_headers() {
        let text = "[meta]\nversion = \"1\"\n[expect.status]\nall = \"OK\"\n";
        let h = hover(text, text.find("version").unwrap() + 2, &vocab()).unwrap();
        assert!(
            h.markdown
                .starts_with("**meta.version**: `string` (required)"),
            "{}",
            h.markdown
        );
        let h = hover(text, text.find("all").unwrap() + 1, &vocab()).unwrap();
        assert!(h.markdown.contains("Allowed: `OK`"), "{}", h.markdown);
        assert!(
            hover(text, text.find("\"OK\"").unwrap() + 2, &vocab()).is_none(),
            "values have no key hover"
        );
        let h = hover(text, 2, &vocab()).unwrap();
        assert!(h.markdown.starts_with("**meta**"), "{}", h.markdown);
        assert!(hover("", 0, &vocab()).is_none());
    }
}
