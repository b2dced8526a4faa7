//! Stages a and b: Tera syntax and rendering with clnrm's context.
//!
//! OWNER: template helper. Contract (keep the signatures):
//! - [`is_template`] — clnrm's rule: the text contains `{{`, `{%` or `{#`.
//! - [`collect_dependencies`] — imports/includes/extends, recursively, read via the loader,
//!   inside the workspace only; the result is part of the cache key.
//! - [`render`] — syntax errors (all it can find), render with clnrm's context, every
//!   undefined variable at its use; returns the rendered text with its [`SourceMap`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Diagnostic, Environment, FileKind, Origin, SourceMap};

/// Reads template sources: the LSP face overlays open documents on the disk, the CLI
/// reads the disk. Returns `None` when the file does not exist or cannot be read.
pub trait SourceLoader: Send + Sync {
    fn load(&self, path: &Path) -> Option<Arc<str>>;
}

/// Reads straight from the file system.
pub struct DiskLoader;

impl SourceLoader for DiskLoader {
    fn load(&self, path: &Path) -> Option<Arc<str>> {
        std::fs::read_to_string(path).ok().map(Into::into)
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
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

pub fn collect_dependencies(
    _text: &str,
    _origin: Origin<'_>,
    _loader: &dyn SourceLoader,
) -> Vec<Dependency> {
    Vec::new()
}

pub fn render(
    text: &str,
    _kind: FileKind,
    _deps: &[Dependency],
    _env: &Environment,
    _diags: &mut Vec<Diagnostic>,
) -> Option<Rendered> {
    Some(Rendered::verbatim(text))
}
