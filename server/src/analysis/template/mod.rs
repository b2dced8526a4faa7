//! Stages a and b: Tera syntax and rendering with clnrm's context.
//!
//! - [`is_template`] — clnrm's rule: the text contains `{{`, `{%` or `{#`.
//! - [`collect_dependencies`] — imports/includes/extends, recursively, read via the loader,
//!   inside the workspace only; the result is part of the cache key.
//! - [`render`] — syntax errors (all it can find), render with clnrm's context, every
//!   undefined variable at its use; returns the rendered text with its [`SourceMap`].
//!
//! Modules: `scan` (Tera lexer), `syntax` (stage a), `marks` (source markers and the
//! map), `parse` (cached piecewise parsing), `context` (variables), `functions` (clnrm's
//! functions and filters, deterministic), `render` (stage b), `deps` (imports/includes),
//! `limits` (bounds on every evaluation), `compat` (`clnrm run` raw-TOML note).

mod compat;
mod context;
mod deps;
mod explain;
mod functions;
mod limits;
mod marks;
mod parse;
mod quick_parse;
mod render;
mod scan;
mod syntax;
mod tera_error;
mod wording;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Diagnostic, Environment, FileKind, Origin, SourceMap};

pub use context::{Binding, BindingOrigin};
pub use deps::{EMBEDDED_MACROS, EMBEDDED_MACROS_NAME};

/// Reads template sources: the LSP face overlays open documents on the disk, the CLI
/// reads the disk. Returns `None` when the file does not exist or cannot be read.
pub trait SourceLoader: Send + Sync {
    fn load(&self, path: &Path) -> Option<Arc<str>>;

    /// Load a dependency that must resolve (through symlinks) inside `root`.
    fn load_within(&self, path: &Path, root: Option<&Path>) -> Option<Arc<str>> {
        let _ = root;
        self.load(path)
    }

    /// After a failed [`SourceLoader::load_within`]: why the file at `path`, if it exists,
    /// could not be read.
    fn problem(&self, path: &Path, root: Option<&Path>) -> Option<String> {
        let _ = (path, root);
        None
    }

    /// The text of `path` (absolute) when this loader has already read it within `root`
    /// and keeps what it read (a command-line run's snapshot): a test file it read while
    /// looking for a library's importers is then not read again to be checked.
    fn already_read(&self, path: &Path, root: &Path) -> Option<Arc<str>> {
        let _ = (path, root);
        None
    }
}

/// Reads straight from the file system, through the one opener (regular files only,
/// bounded, symlinks resolved before the workspace check).
pub struct DiskLoader;

impl SourceLoader for DiskLoader {
    fn load(&self, path: &Path) -> Option<Arc<str>> {
        self.load_within(path, None)
    }

    fn load_within(&self, path: &Path, root: Option<&Path>) -> Option<Arc<str>> {
        let limit = crate::documents::fs::MAX_READ_BYTES;
        crate::documents::fs::read_text(path, root, limit)
            .ok()
            .map(Into::into)
    }

    fn problem(&self, path: &Path, root: Option<&Path>) -> Option<String> {
        let limit = crate::documents::fs::MAX_READ_BYTES;
        match crate::documents::fs::read_text(path, root, limit) {
            Err(e) if !e.is_not_found() => Some(e.to_string()),
            _ => None,
        }
    }
}

/// A template named by `{% import %}`, `{% include %}` or `{% extends %}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The name as written in the tag.
    pub name: String,
    /// Where it resolved to, when it resolved inside the workspace.
    pub path: Option<PathBuf>,
    /// Its content; `None` when not found (or outside the workspace).
    pub text: Option<Arc<str>>,
    /// Why a file that exists was not read: "resolves outside the workspace (…)", "is a
    /// FIFO, not a regular file"…
    pub problem: Option<String>,
}

/// The rendered TOML text and how to map its bytes back to the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub map: SourceMap,
}

impl Rendered {
    /// A plain TOML file renders to itself.
    pub fn verbatim(text: &str) -> Self {
        Self {
            text: text.to_string(),
            map: SourceMap::identity(text.len()),
        }
    }

    pub fn weight(&self) -> usize {
        self.text.len() + self.map.weight()
    }
}

pub fn is_template(text: &str) -> bool {
    // One pass (`memchr` to each `{`) rather than a search of the whole text per opener.
    let b = text.as_bytes();
    memchr::memchr_iter(b'{', b).any(|i| matches!(b.get(i + 1), Some(b'{' | b'%' | b'#')))
}

/// Imports, includes and extends of `text`, recursively, resolved next to the file, then
/// at the workspace root (never outside it), read through `loader`.
pub fn collect_dependencies(
    text: &str,
    origin: Origin<'_>,
    loader: &dyn SourceLoader,
) -> Vec<Dependency> {
    if !is_template(text) {
        return Vec::new();
    }
    deps::collect(text, origin, loader)
}

/// The name the template itself is registered under in Tera.
pub const MAIN: &str = "__clnrm_template__";

/// Stages a and b: pushes syntax and render problems (in template positions) and returns
/// the rendered text with its source map, only when the real render succeeded. A template
/// library is only syntax-checked.
pub fn render(
    text: &str,
    kind: FileKind,
    deps: &[Dependency],
    env: &Environment,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rendered> {
    let first_new = diags.len();
    let rendered = 'checked: {
        let scan = scan::scan(text);
        if !syntax::nesting_ok(text, &scan, diags) {
            break 'checked None;
        }
        if !scan.problems.is_empty() {
            // The scan stopped at an unterminated tag: the marked text would be truncated.
            // Tera's error is only reported when it comes before the scanner's first
            // problem (a tag never closed, which Tera cannot parse either): if the text
            // before that parses, Tera's parse gets at least that far, and its slow parse
            // of the whole text is not needed.
            let first = scan.problems.iter().map(|p| p.range.start).min();
            let before_parses = first.is_some_and(|at| parse::parses(MAIN, &text[..at]));
            let main = match before_parses
                .then_some(())
                .map_or_else(|| parse::new_template(MAIN, text).map(drop), Ok)
            {
                Err(e) => syntax::tera_error(text, &e),
                Ok(()) => Diagnostic::new(super::Code::TeraSyntax, 0..0, ""),
            };
            syntax::report(text, &scan, main, diags);
            diags.retain(|d| !d.message.is_empty());
            break 'checked None;
        }
        let marked = if marks::can_mark(text) {
            marks::mark(text, &scan)
        } else {
            marks::Marked::unmarked(text)
        };
        // One parse serves the syntax check and the render.
        let parsed = match parse::parse(MAIN, &marked) {
            Ok(t) => t,
            Err(main) => {
                let at = marked.to_template(main.range.start);
                syntax::report(text, &scan, syntax::moved(main, text, at), diags);
                break 'checked None;
            }
        };
        if kind == FileKind::TemplateLibrary {
            break 'checked None;
        }
        // The render stage's findings in source order.
        let stage_start = diags.len();
        if kind == FileKind::RawTest {
            diags.extend(compat::raw_run_check(text, &scan));
            diags.extend(compat::step_command_vars(text, &scan));
        }
        let rendered = render::render(text, &scan, &marked, parsed, deps, env, diags);
        diags[stage_start..].sort_by_key(|d| (d.range.start, d.range.end));
        rendered
    };
    explain::explain(text, &mut diags[first_new..]);
    rendered
}

/// The library behind the tag at `offset` of `text`: the name of an `{% include %}`, or
/// of the import whose namespace a `{{ ns::macro(…) }}` call uses.
pub fn library_of_tag(text: &str, offset: usize) -> Option<String> {
    let scan = scan::scan(text);
    let tag = scan.tags().find(|t| t.range.contains(&offset))?;
    let inner = &text[tag.inner.clone()];
    let refs = deps::references(text);
    if tag.keyword(text) == "include" {
        return refs
            .into_iter()
            .find(|r| r.tag == tag.range)
            .map(|r| r.name);
    }
    let call = inner.trim_start();
    let ns_end = call.find("::")?;
    let ns = &call[..ns_end];
    refs.into_iter()
        .find(|r| {
            text.get(r.tag.clone())
                .and_then(|t| t.rsplit_once(" as "))
                .is_some_and(|(_, after)| {
                    after
                        .trim_start()
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        == Some(ns)
                })
        })
        .map(|r| r.name)
}

/// The variables `text` renders with: name, value and where the value comes from.
pub fn bindings(text: &str, env: &Environment) -> Vec<Binding> {
    context::bindings(text, env)
}

/// Names of every function a template can call (Tera's built-ins and clnrm's).
pub fn function_names() -> Vec<&'static str> {
    functions::function_names()
}

/// Names of every filter: Tera's built-ins and the ones clnrm adds.
pub fn filter_names() -> Vec<String> {
    functions::filter_names()
}

#[cfg(test)]
mod tests;
