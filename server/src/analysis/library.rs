//! Errors whose cause is inside a template library: a finding on rendered text that came
//! from `{% include "lib" %}` or `{{ m::macro(…) }}` maps back to that tag (the place in
//! the test file); this adds the library's own line as a related place, where the fix is.

use std::ops::Range;
use std::sync::Arc;

use super::template::{self, Dependency};
use super::{Diagnostic, Related, SourceFile};

/// Per-analysis lookup of the libraries a text pulls in.
pub struct Libraries<'a> {
    text: &'a str,
    deps: &'a [Dependency],
    files: Vec<Option<Arc<SourceFile>>>,
}

impl<'a> Libraries<'a> {
    pub fn new(text: &'a str, deps: &'a [Dependency]) -> Self {
        Self {
            text,
            deps,
            files: vec![None; deps.len()],
        }
    }

    /// If `d` (already in source positions) sits on an include or macro-call tag, add
    /// where in the library the rendered text `snippet` (what `d` points at) comes from.
    pub fn relate(&mut self, d: &mut Diagnostic, snippet: &str, rendered_line: &str) {
        if self.deps.is_empty() {
            return;
        }
        let Some(name) = template::library_of_tag(self.text, d.range.start) else {
            return;
        };
        let Some(i) = self.deps.iter().position(|dep| dep.name == name) else {
            return;
        };
        let Some(lib) = self.deps[i].text.clone() else {
            return;
        };
        let Some(range) = find(&lib, snippet, rendered_line) else {
            return;
        };
        let file = self.files[i]
            .get_or_insert_with(|| {
                Arc::new(SourceFile {
                    path: self.deps[i]
                        .path
                        .clone()
                        .unwrap_or_else(|| self.deps[i].name.clone().into()),
                    text: lib,
                })
            })
            .clone();
        let line = file.text[..range.start].matches('\n').count() + 1;
        d.related.push(Related {
            range,
            message: format!("it comes from `{name}`, line {line}: fix it there"),
            file: Some(file),
        });
    }
}

/// The snippet itself in the library, else the `key` of its rendered `key = …` line.
fn find(lib: &str, snippet: &str, rendered_line: &str) -> Option<Range<usize>> {
    let snippet = snippet.trim();
    if snippet.len() >= 2 {
        if let Some(at) = lib.find(snippet) {
            return Some(at..at + snippet.len());
        }
    }
    let key = rendered_line.split('=').next()?.trim();
    if key.is_empty() || key.starts_with('[') || rendered_line.find('=').is_none() {
        return None;
    }
    lib.match_indices(key).find_map(|(at, _)| {
        let before_ok = at == 0 || lib.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lib[at + key.len()..].trim_start_matches([' ', '\t']);
        (before_ok && after.starts_with('=')).then_some(at..at + key.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_uncached, Code, Environment, FileKind};

    fn dep(name: &str, text: &str) -> Dependency {
        Dependency {
            name: name.into(),
            path: Some(format!("/ws/{name}").into()),
            text: Some(text.into()),
            problem: None,
        }
    }

    #[test]
    fn a_mistake_in_a_macro_body_points_into_the_library() {
        let lib = "{% macro service(name) %}\n[service.{{ name }}]\nimage = \"x\"\nports = \"oops\"\n{% endmacro service %}\n";
        let text = "{% import \"_lib.toml.tera\" as m %}\n[meta]\nname = \"t\"\nversion = \"1\"\n{{ m::service(name=\"db\") }}\n[[scenario]]\nname = \"a\"\nservice = \"db\"\nrun = \"true\"\n";
        let a = analyze_uncached(
            text,
            FileKind::Test,
            vec![dep("_lib.toml.tera", lib)],
            &Environment::empty(),
        );
        let d = a
            .diagnostics
            .iter()
            .find(|d| d.code == Code::InvalidType)
            .unwrap_or_else(|| panic!("{:?}", a.diagnostics));
        assert!(text[d.range.clone()].contains("m::service"));
        let r = &d.related[0];
        let file = r.file.as_ref().unwrap();
        assert_eq!(file.path, std::path::Path::new("/ws/_lib.toml.tera"));
        assert_eq!(&lib[r.range.clone()], "\"oops\"");
        assert!(r.message.contains("line 4"), "{}", r.message);
    }

    #[test]
    fn an_included_scenario_names_its_line_in_the_include() {
        let inc = "[[scenario]]\nname = \"x\"\nservice = \"nope\"\nrun = \"true\"\n";
        let text = "[meta]\nname = \"t\"\nversion = \"1\"\n{% include \"_inc.toml.tera\" %}\n";
        let a = analyze_uncached(
            text,
            FileKind::Test,
            vec![dep("_inc.toml.tera", inc)],
            &Environment::empty(),
        );
        let d = a
            .diagnostics
            .iter()
            .find(|d| d.code == Code::UndefinedService)
            .unwrap_or_else(|| panic!("{:?}", a.diagnostics));
        assert_eq!(&inc[d.related[0].range.clone()], "\"nope\"");
    }

    #[test]
    fn an_undefined_variable_in_a_macro_body_points_at_its_use_in_the_library() {
        let lib = "{% macro cmd() %}\necho {{ nope }}\n{% endmacro cmd %}\n";
        let text = "{% import \"_lib.toml.tera\" as m %}\n[meta]\nname = \"{{ m::cmd() }}\"\n";
        let a = analyze_uncached(
            text,
            FileKind::Test,
            vec![dep("_lib.toml.tera", lib)],
            &Environment::empty(),
        );
        let d = a
            .diagnostics
            .iter()
            .find(|d| d.code == Code::UndefinedVariable)
            .unwrap_or_else(|| panic!("{:?}", a.diagnostics));
        let r = d.related.iter().find(|r| r.file.is_some()).unwrap();
        assert_eq!(&lib[r.range.clone()], "nope");
        assert!(r.message.contains("line 2"), "{}", r.message);
    }
}
