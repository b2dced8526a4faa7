//! Completion: table headers and keys from the schema, enum values, service and span
//! names, template variables/functions/filters/macros inside tags, and snippets.

use std::ops::Range;

use serde_json::Value;

use super::cursor::{line_at, table_path_at, tera_tag_at};
use super::vocabulary::Vocabulary;
use super::vocabulary::{display_value, origin_label};
use crate::analysis::schema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CompletionKind {
    Table,
    Key,
    Value,
    Service,
    Variable,
    Function,
    Filter,
    Macro,
    Snippet,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompletionItem {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    /// Markdown.
    pub documentation: Option<String>,
    pub insert_text: String,
    /// `insert_text` uses LSP snippet syntax (`$1`, `${1:x}`).
    pub snippet: bool,
    /// The bytes the insertion replaces (the partial word typed so far).
    pub replace: Range<usize>,
}

/// Completion items at `offset` in `text`.
pub fn complete(text: &str, offset: usize, vocab: &Vocabulary) -> Vec<CompletionItem> {
    if super::too_large(text) {
        return Vec::new();
    }
    let offset = clamp(text, offset);
    if let Some(tag) = tera_tag_at(text, offset) {
        // Between the two braces of `{{` is not inside the tag yet: nothing to offer.
        return if tag.open == "{#" || offset < tag.range.start + 2 {
            Vec::new()
        } else {
            in_tag(text, offset, tag.range.start + 2, vocab)
        };
    }
    let (line_start, before) = line_at(text, offset);
    let trimmed = before.trim_start();
    let indent = before.len() - trimmed.len();
    if trimmed.starts_with('[') && !trimmed.contains('=') {
        let brackets = trimmed.len() - trimmed.trim_start_matches('[').len();
        let word_start = line_start + indent + brackets;
        return headers(
            &text[word_start..offset],
            word_start..offset,
            trimmed.starts_with("[["),
        );
    }
    if let Some(eq) = trimmed.find('=') {
        let key = trimmed[..eq].trim().trim_matches(['"', '\'']).to_string();
        let value_typed = &trimmed[eq + 1..];
        let value_start = offset - value_typed.trim_start().len();
        return values(text, offset, &key, value_start..offset);
    }
    let word_start = line_start + indent;
    let mut items = keys(text, offset, word_start..offset);
    if table_path_at(text, offset).0.is_empty() || trimmed.is_empty() {
        items.extend(snippets(word_start..offset));
    }
    items
}

fn clamp(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

fn item(label: impl Into<String>, kind: CompletionKind, replace: Range<usize>) -> CompletionItem {
    let label = label.into();
    CompletionItem {
        insert_text: label.clone(),
        label,
        kind,
        detail: None,
        documentation: None,
        snippet: false,
        replace,
    }
}

fn in_tag(
    text: &str,
    offset: usize,
    inner_start: usize,
    vocab: &Vocabulary,
) -> Vec<CompletionItem> {
    let before = &text[inner_start..offset];
    let word_len = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .map(char::len_utf8)
        .sum::<usize>();
    let replace = offset - word_len..offset;
    let word = &text[replace.clone()];
    let prefix = before[..before.len() - word_len].trim_end();
    if prefix.ends_with('|') {
        return vocab
            .filters
            .iter()
            .map(|f| item(f.clone(), CompletionKind::Filter, replace.clone()))
            .collect();
    }
    if let Some((ns, _)) = word.split_once("::") {
        return vocab
            .macros
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(n, m)| {
                let mut it = item(format!("{n}::{m}"), CompletionKind::Macro, replace.clone());
                it.insert_text = format!("{n}::{m}($1)");
                it.snippet = true;
                it
            })
            .collect();
    }
    let mut out: Vec<CompletionItem> = vocab
        .variables
        .iter()
        .map(|v| {
            let mut it = item(v.name.clone(), CompletionKind::Variable, replace.clone());
            it.detail = Some(format!(
                "{} ({})",
                display_value(&v.name, &v.value),
                origin_label(v.origin)
            ));
            it
        })
        .collect();
    out.extend(vocab.functions.iter().map(|f| {
        let mut it = item(f.clone(), CompletionKind::Function, replace.clone());
        it.insert_text = format!("{f}($1)");
        it.snippet = true;
        it
    }));
    let mut namespaces: Vec<&str> = vocab.macros.iter().map(|(n, _)| n.as_str()).collect();
    namespaces.dedup();
    out.extend(
        namespaces
            .into_iter()
            .map(|n| item(format!("{n}::"), CompletionKind::Macro, replace.clone())),
    );
    out
}

/// Header names valid in the schema: `meta`, `service.<id>`, `[[scenario]]`, `expect.span`…
fn headers(typed: &str, replace: Range<usize>, array: bool) -> Vec<CompletionItem> {
    let root = schema::schema();
    let mut out = Vec::new();
    collect_headers(root, root, &mut Vec::new(), &mut out, 0);
    out.into_iter()
        .filter(|(_, is_array, _)| *is_array == array || !array)
        .filter(|(name, _, _)| name.starts_with(typed.trim()) || typed.trim().is_empty())
        .map(|(name, is_array, node)| {
            let mut it = item(name.clone(), CompletionKind::Table, replace.clone());
            it.documentation = schema::description(node).map(str::to_string);
            it.detail = Some(if is_array {
                format!("[[{name}]]")
            } else {
                format!("[{name}]")
            });
            if name.ends_with(".<id>") {
                it.insert_text = format!("{}${{1:name}}", name.trim_end_matches("<id>"));
                it.snippet = true;
            }
            if is_array && !array {
                // Typed a single `[`: complete to the array-of-tables form.
                it.insert_text = format!("[{}]", it.insert_text);
            }
            it
        })
        .collect()
}

fn collect_headers<'a>(
    root: &'a Value,
    node: &'a Value,
    path: &mut Vec<String>,
    out: &mut Vec<(String, bool, &'a Value)>,
    depth: usize,
) {
    if depth > 3 {
        return;
    }
    for (name, child) in schema::properties(root, node) {
        path.push(name.to_string());
        let dotted = path.join(".");
        if schema::is_type(child, "array") {
            if let Some(items) = child.get("items").map(|i| schema::resolve(root, i)) {
                if schema::is_type(items, "object") {
                    out.push((dotted, true, child));
                    collect_headers(root, items, path, out, depth + 1);
                }
            }
        } else if schema::is_type(child, "object") {
            out.push((dotted.clone(), false, child));
            if let Some(Value::Object(_)) = child.get("additionalProperties") {
                if child.get("properties").is_none() {
                    let entry = child
                        .get("additionalProperties")
                        .map(|a| schema::resolve(root, a));
                    if entry.is_some_and(|e| schema::is_type(e, "object")) {
                        out.push((format!("{dotted}.<id>"), false, child));
                    }
                }
            }
            collect_headers(root, child, path, out, depth + 1);
        }
        path.pop();
    }
}

/// Keys of the table at the cursor that are not set yet.
fn keys(text: &str, offset: usize, replace: Range<usize>) -> Vec<CompletionItem> {
    let root = schema::schema();
    let (path, _) = table_path_at(text, offset);
    let Some(node) = schema::at_path(root, &path) else {
        return Vec::new();
    };
    let present = keys_present(text, offset);
    let required = schema::required(node);
    schema::properties(root, node)
        .into_iter()
        .filter(|(name, child)| !present.iter().any(|p| p == name) && !is_table_only(child))
        .map(|(name, child)| {
            let mut it = item(name, CompletionKind::Key, replace.clone());
            let ty = schema::type_name(root, child);
            it.detail = Some(if required.contains(&name) {
                format!("{ty} (required)")
            } else {
                ty
            });
            it.documentation = schema::description(child).map(str::to_string);
            it.insert_text = format!("{name} = {}", placeholder(root, child));
            it.snippet = true;
            it
        })
        .collect()
}

/// Sub-tables are offered as headers, not as keys.
fn is_table_only(node: &Value) -> bool {
    schema::is_type(node, "object")
        && node
            .get("properties")
            .is_some_and(|p| p.as_object().is_some_and(|o| o.len() > 3))
}

fn placeholder(root: &Value, node: &Value) -> String {
    let node = schema::resolve(root, node);
    let values = schema::enum_values(node);
    if !values.is_empty() && schema::is_type(node, "string") {
        return format!("\"${{1|{}|}}\"", values.join(","));
    }
    if schema::is_type(node, "string") {
        "\"$1\"".into()
    } else if schema::is_type(node, "boolean") {
        "${1|true,false|}".into()
    } else if schema::is_type(node, "array") {
        "[$1]".into()
    } else if schema::is_type(node, "object") {
        "{ $1 }".into()
    } else {
        "$1".into()
    }
}

/// Keys already written in the current table (between its header and the cursor's table end).
fn keys_present(text: &str, offset: usize) -> Vec<String> {
    let (line_start, _) = line_at(text, offset);
    let mut keys = Vec::new();
    let header_start = text[..line_start]
        .rmatch_indices('\n')
        .map(|(i, _)| i + 1)
        .chain(std::iter::once(0))
        .find(|&i| text[i..].trim_start().starts_with('['))
        .unwrap_or(0);
    let rest_end = text[offset..]
        .match_indices('\n')
        .map(|(i, _)| offset + i + 1)
        .find(|&i| text[i..].trim_start().starts_with('['))
        .unwrap_or(text.len());
    for line in text[header_start..rest_end].lines() {
        if let Some((k, _)) = line.split_once('=') {
            let k = k.trim().trim_matches(['"', '\'']);
            if !k.is_empty() && !k.starts_with('#') && !k.starts_with('[') {
                keys.push(k.split('.').next().unwrap_or(k).to_string());
            }
        }
    }
    keys
}

fn values(text: &str, offset: usize, key: &str, replace: Range<usize>) -> Vec<CompletionItem> {
    let root = schema::schema();
    let (path, _) = table_path_at(text, offset);
    let mut full = path.clone();
    full.push(key.to_string());
    let quoted = |s: &str| format!("\"{s}\"");
    let mut out: Vec<CompletionItem> = Vec::new();
    if key == "service" {
        out.extend(defined_services(text).into_iter().map(|s| {
            let mut it = item(s.clone(), CompletionKind::Service, replace.clone());
            it.insert_text = quoted(&s);
            it
        }));
    }
    if key == "parent" && path.first().is_some_and(|p| p == "expect") {
        out.extend(span_names(text).into_iter().map(|s| {
            let mut it = item(s.clone(), CompletionKind::Value, replace.clone());
            it.insert_text = quoted(&s);
            it
        }));
    }
    if let Some(node) = schema::at_key(root, &full) {
        let node = schema::resolve(root, node);
        for v in schema::enum_values(node) {
            let mut it = item(v.clone(), CompletionKind::Value, replace.clone());
            it.insert_text = if schema::is_type(node, "string") {
                quoted(&v)
            } else {
                v
            };
            out.push(it);
        }
        if schema::is_type(node, "boolean") {
            out.extend(["true", "false"].map(|b| item(b, CompletionKind::Value, replace.clone())));
        }
    }
    // Typed an opening quote already: insert the bare value.
    if text[replace.clone()].starts_with('"') {
        for it in &mut out {
            it.insert_text = format!("\"{}\"", it.insert_text.trim_matches('"'));
        }
    }
    out
}

/// Service ids defined by `[service.X]` / `[services.X]` headers.
pub fn defined_services(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        for prefix in ["[service.", "[services."] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if let Some(id) = rest.split(']').next() {
                    let id = id
                        .split('.')
                        .next()
                        .unwrap_or(id)
                        .trim()
                        .trim_matches(['"', '\'']);
                    if !id.is_empty() && !out.iter().any(|s| s == id) {
                        out.push(id.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Names of `[[expect.span]]` entries, for `parent = "…"`.
pub fn span_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_span = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_span = t.starts_with("[[expect.span]]");
        } else if in_span {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == "name" {
                    let v = v.trim().trim_matches(['"', '\'']);
                    if !v.is_empty() && !out.iter().any(|s| s == v) {
                        out.push(v.to_string());
                    }
                }
            }
        }
    }
    out
}

fn snippets(replace: Range<usize>) -> Vec<CompletionItem> {
    let snip = |label: &str, detail: &str, body: &str| {
        let mut it = item(label, CompletionKind::Snippet, replace.clone());
        it.detail = Some(detail.to_string());
        it.insert_text = body.to_string();
        it.snippet = true;
        it
    };
    vec![
        snip(
            "scenario",
            "new [[scenario]]",
            "[[scenario]]\nname = \"${1:name}\"\nservice = \"${2:service}\"\nrun = \"${3:command}\"\n",
        ),
        snip(
            "service",
            "new [service.<id>]",
            "[service.${1:id}]\nplugin = \"generic_container\"\nimage = \"${2:alpine:latest}\"\n",
        ),
        snip(
            "span expectation",
            "new [[expect.span]]",
            "[[expect.span]]\nname = \"${1:span.name}\"\nparent = \"${2:parent.span}\"\n",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::{Binding, BindingOrigin};
    use crate::analysis::{Dependency, Environment};

    fn labels(items: &[CompletionItem]) -> Vec<&str> {
        items.iter().map(|i| i.label.as_str()).collect()
    }

    fn vocab() -> Vocabulary {
        Vocabulary {
            variables: vec![Binding {
                name: "svc".into(),
                value: "clnrm".into(),
                origin: BindingOrigin::Default,
                range: None,
                env_var: Some("SERVICE_NAME"),
            }],
            functions: vec!["env".into(), "fake_name".into()],
            filters: vec!["upper".into()],
            macros: vec![("m".into(), "span".into())],
        }
    }

    #[test]
    fn completes_keys_of_the_current_table_without_present_ones() {
        let text = "[meta]\nname = \"x\"\n";
        let items = complete(text, text.len(), &Vocabulary::default());
        let l = labels(&items);
        assert!(l.contains(&"version"), "{l:?}");
        assert!(!l.contains(&"name"), "name is already set");
        let version = items.iter().find(|i| i.label == "version").unwrap();
        assert!(version.detail.as_deref().unwrap().contains("required"));
    }

    #[test]
    fn completes_headers_and_enum_values_and_services() {
        let text = "[meta]\nname = \"x\"\n[service.db]\nimage = \"a\"\n[[scenario]]\nservice = ";
        let items = complete(text, text.len(), &Vocabulary::default());
        assert_eq!(labels(&items), ["db"]);
        assert_eq!(items[0].insert_text, "\"db\"");

        let header = "[[sce";
        let items = complete(header, header.len(), &Vocabulary::default());
        assert!(labels(&items).contains(&"scenario"), "{:?}", labels(&items));

        let otel = "[[expect.span]]\nkind = ";
        let l = complete(otel, otel.len(), &Vocabulary::default());
        assert!(labels(&l).contains(&"server"), "{:?}", labels(&l));
    }

    #[test]
    fn completes_inside_tags() {
        let text = "name = \"{{ sv }}\"";
        let at = text.find("sv").unwrap() + 2;
        let items = complete(text, at, &vocab());
        assert!(labels(&items).contains(&"svc"));
        assert_eq!(&text[items[0].replace.clone()], "sv");
        let filt = "x = \"{{ svc | up }}\"";
        let at = filt.find("up").unwrap() + 2;
        assert_eq!(labels(&complete(filt, at, &vocab())), ["upper"]);
        let mac = "{{ m:: }}";
        assert_eq!(labels(&complete(mac, 6, &vocab())), ["m::span"]);
        assert!(complete("{# comment #}", 4, &vocab()).is_empty());
    }

    #[test]
    fn vocabulary_of_a_template_lists_vars_functions_and_macros() {
        let dep = Dependency {
            name: "_m.toml.tera".into(),
            path: None,
            problem: None,
            text: Some("{% macro span(name) %}{% endmacro %}".into()),
        };
        let text = "{% import \"_m.toml.tera\" as m %}\n[vars]\nregion = \"eu\"\n";
        let v = Vocabulary::of(text, &Environment::empty(), &[dep]);
        assert!(v
            .variables
            .iter()
            .any(|b| b.name == "region" && b.origin == BindingOrigin::Vars));
        assert!(v.variables.iter().any(|b| b.name == "svc"));
        assert!(v.functions.iter().any(|f| f == "fake_name"));
        assert!(v.filters.iter().any(|f| f == "upper"));
        assert_eq!(v.macros, [("m".to_string(), "span".to_string())]);
    }

    #[test]
    fn workspace_completes_and_hovers_with_the_files_root() {
        use crate::analysis::template::DiskLoader;
        use crate::analysis::{Analyzer, Origin};
        let root = std::path::Path::new("/src/repo");
        let text = "[[scenario]]\nname = \"a\"\nrun = \"sh {{ workspace }}/app.sh {{ wor }}\"\n";
        let analysis = Analyzer::new(Environment::empty()).analyze(
            text,
            Origin {
                path: Some(&root.join("t.clnrm.toml")),
                workspace_root: Some(root),
                kind: None,
            },
            &DiskLoader,
        );
        let v = Vocabulary::of_analysis(text, &Environment::empty(), &analysis);
        let at = text.find("wor }}").unwrap() + 3;
        let items = complete(text, at, &v);
        let item = items.iter().find(|i| i.label == "workspace").unwrap();
        assert!(
            item.detail
                .as_deref()
                .unwrap_or("")
                .contains("workspace root"),
            "{item:?}"
        );
        let at = text.find("workspace").unwrap() + 2;
        let h = crate::ide::hover::hover(text, at, &v).unwrap();
        assert!(h.markdown.contains("/src/repo"), "{}", h.markdown);
        // Without a root (an unsaved buffer), there is no such variable.
        let v = Vocabulary::of(text, &Environment::empty(), &[]);
        assert!(!v.variables.iter().any(|b| b.name == "workspace"));
    }

    #[test]
    fn edges_empty_file_and_borders_and_multibyte() {
        let items = complete("", 0, &Vocabulary::default());
        assert!(
            labels(&items).contains(&"scenario"),
            "snippets in an empty file"
        );
        let text = "a = \"é\"{{ x }}";
        // At the border just before the tag: not inside it.
        let before = text.find("{{").unwrap();
        assert!(complete(text, before, &vocab())
            .iter()
            .all(|i| i.kind != CompletionKind::Variable));
        // Between the braces of `{{` (a panic once): nothing from the tag's vocabulary.
        for t in ["{{", "{{ }}", "x = \"{{\"", "{%", "{% x %}"] {
            let at = t.find('{').unwrap() + 1;
            assert!(complete(t, at, &vocab()).is_empty(), "{t}");
        }
        // Offsets inside a multi-byte character do not panic.
        let _ = complete(text, 6, &vocab());
        let _ = complete(text, 999, &vocab());
    }
}
