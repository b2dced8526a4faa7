//! What a template can name inside tags (variables, functions, filters, imported macros)
//! and how completion, hover and navigation show it.

use crate::analysis::template::{self, Binding, BindingOrigin};
use crate::analysis::{Dependency, Environment};

/// What a template can use inside tags.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub variables: Vec<Binding>,
    pub functions: Vec<String>,
    pub filters: Vec<String>,
    /// Imported macros as (namespace, macro name).
    pub macros: Vec<(String, String)>,
}

impl Vocabulary {
    /// [`Vocabulary::of`] `text` as `analysis` rendered it: its dependencies, and its
    /// workspace root as `{{ workspace }}`.
    pub fn of_analysis(
        text: &str,
        env: &Environment,
        analysis: &crate::analysis::Analysis,
    ) -> Self {
        match analysis.workspace.as_deref() {
            Some(root) => Self::of(
                text,
                &env.in_workspace(std::path::Path::new(root)),
                &analysis.dependencies,
            ),
            None => Self::of(text, env, &analysis.dependencies),
        }
    }

    /// The variables, functions, filters and imported macros visible in `text`.
    pub fn of(text: &str, env: &Environment, deps: &[Dependency]) -> Self {
        if super::too_large(text) {
            // Nothing here scans a text that large (see `MAX_EDITED_BYTES`).
            return Self::default();
        }
        let mut macros = Vec::new();
        for (alias, file) in imports(text) {
            if let Some(src) = deps
                .iter()
                .find(|d| d.name == file)
                .and_then(|d| d.text.clone())
            {
                macros.extend(macro_names(&src).into_iter().map(|m| (alias.clone(), m)));
            }
        }
        macros.extend(
            macro_names(text)
                .into_iter()
                .map(|m| ("self".to_string(), m)),
        );
        Self {
            variables: template::bindings(text, env),
            functions: template::function_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            filters: template::filter_names(),
            macros,
        }
    }
}

/// `{% import "file" as alias %}` tags: (alias, file).
pub(crate) fn imports(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("{%") {
        let Some(tag) = text[i + 2..].split("%}").next() else {
            continue;
        };
        let inner = tag.trim_matches(|c: char| c == '-' || c.is_whitespace());
        let Some(rest) = inner.strip_prefix("import") else {
            continue;
        };
        if let Some((file, alias)) = rest.trim().split_once(" as ") {
            out.push((
                alias.trim().to_string(),
                file.trim().trim_matches(['"', '\'']).to_string(),
            ));
        }
    }
    out
}

/// Names of the macros `{% macro name(...) %}` defined in `text`.
fn macro_names(text: &str) -> Vec<String> {
    text.match_indices("macro ")
        .filter_map(|(i, _)| {
            let rest = &text[i + 6..];
            let name = rest.split('(').next()?.trim();
            (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .then(|| name.to_string())
        })
        .collect()
}

pub(crate) fn origin_label(o: BindingOrigin) -> &'static str {
    match o {
        BindingOrigin::Vars => "from [vars]",
        BindingOrigin::Environment => "from the environment",
        BindingOrigin::Default => "clnrm default",
        BindingOrigin::User => "given on the command line",
        BindingOrigin::Workspace => "the workspace root (clnrm-lsp; not a clnrm variable)",
    }
}

/// The value as it may be shown: masked for secret-looking names.
pub fn display_value(name: &str, value: &serde_json::Value) -> String {
    use crate::analysis::environment::{is_secret_name, MASK};
    let empty = matches!(value, serde_json::Value::String(s) if s.is_empty());
    if is_secret_name(name) && !empty {
        MASK.into()
    } else {
        value.to_string()
    }
}
