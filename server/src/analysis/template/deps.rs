//! Finds the templates a text imports, includes or extends, and reads them through the
//! loader: relative to the including file, then to the workspace root, never outside it.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use super::scan::{self, Tag, TagKind};
use super::{Dependency, Origin, SourceLoader};

/// clnrm-template 1.3.0's embedded `_macros.toml.tera`: one comment, no macros.
pub const EMBEDDED_MACROS_NAME: &str = "_macros.toml.tera";
pub const EMBEDDED_MACROS: &str =
    "{# clnrm 1.3.0 embedded macro library: it defines no macros #}\n";

/// Nesting limit for imports of imports.
const MAX_DEPTH: usize = 8;
/// Upper bound on distinct dependencies, whatever the input.
const MAX_DEPS: usize = 64;

/// A reference to another template inside a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    pub name: String,
    /// The tag that names it.
    pub tag: Range<usize>,
    /// `{% include … ignore missing %}`.
    pub ignore_missing: bool,
}

/// Every template named by an `import`, `include` or `extends` tag of `text`.
pub fn references(text: &str) -> Vec<TemplateRef> {
    let scan = scan::scan(text);
    scan.tags()
        .filter(|t| t.kind == TagKind::Stmt)
        .flat_map(|t| refs_of(text, t))
        .collect()
}

fn refs_of(text: &str, tag: &Tag) -> Vec<TemplateRef> {
    let keyword = tag.keyword(text);
    if !matches!(keyword, "import" | "include" | "extends") {
        return Vec::new();
    }
    let code = &text[tag.inner.clone()];
    let ignore_missing =
        keyword == "include" && code.contains("ignore") && code.contains("missing");
    // Only the string literals before `as` (import) or `ignore` (include) are names.
    let names_part = code.split(" as ").next().unwrap_or(code);
    let mut out = Vec::new();
    let mut rest = names_part;
    while let Some(i) = rest.find(['"', '\'', '`']) {
        let q = rest[i..].chars().next().unwrap_or('"');
        let after = &rest[i + 1..];
        let Some(j) = after.find(q) else { break };
        out.push(TemplateRef {
            name: after[..j].to_string(),
            tag: tag.range.clone(),
            ignore_missing,
        });
        rest = &after[j + 1..];
    }
    out
}

/// The dependencies of `text`, recursively (bounded depth, each name once).
pub fn collect(text: &str, origin: Origin<'_>, loader: &dyn SourceLoader) -> Vec<Dependency> {
    let mut deps: Vec<Dependency> = Vec::new();
    let base_dir = origin.path.and_then(Path::parent).map(Path::to_path_buf);
    let mut queue: Vec<(String, Option<PathBuf>, usize)> = references(text)
        .into_iter()
        .map(|r| (r.name, base_dir.clone(), 0))
        .collect();
    queue.reverse();
    while let Some((name, dir, depth)) = queue.pop() {
        if deps.len() >= MAX_DEPS || deps.iter().any(|d| d.name == name) {
            continue;
        }
        let dep = resolve(&name, dir.as_deref(), origin.workspace_root, loader);
        if depth < MAX_DEPTH {
            if let Some(t) = &dep.text {
                let next_dir = dep
                    .path
                    .as_deref()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf);
                let mut children: Vec<_> = references(t)
                    .into_iter()
                    .map(|r| (r.name, next_dir.clone(), depth + 1))
                    .collect();
                children.reverse();
                queue.extend(children);
            }
        }
        deps.push(dep);
    }
    deps
}

fn resolve(
    name: &str,
    dir: Option<&Path>,
    root: Option<&Path>,
    loader: &dyn SourceLoader,
) -> Dependency {
    let candidates = [dir, root];
    let mut problem = None;
    for base in candidates.into_iter().flatten() {
        let Some(path) = join_inside(base, name, root) else {
            continue;
        };
        if let Some(text) = loader.load_within(&path, root) {
            return Dependency {
                name: name.to_string(),
                path: Some(path),
                text: Some(text),
                problem: None,
            };
        }
        problem = problem.or_else(|| loader.problem(&path, root));
    }
    let embedded = name == EMBEDDED_MACROS_NAME;
    Dependency {
        name: name.to_string(),
        path: None,
        text: embedded.then(|| EMBEDDED_MACROS.into()),
        problem: problem.filter(|_| !embedded),
    }
}

/// `base/name`, normalised, when it stays inside `root` (and there is a root).
fn join_inside(base: &Path, name: &str, root: Option<&Path>) -> Option<PathBuf> {
    let root = normalise(root?)?;
    let joined = normalise(&base.join(name))?;
    joined.starts_with(&root).then_some(joined)
}

/// Resolves `.` and `..` lexically (the file may not exist, and symlinks are the loader's
/// business); `None` when `..` climbs above the start.
fn normalise(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    struct MapLoader(HashMap<PathBuf, &'static str>);
    impl SourceLoader for MapLoader {
        fn load(&self, path: &Path) -> Option<Arc<str>> {
            self.0.get(path).map(|t| Arc::from(*t))
        }
    }

    fn loader(files: &[(&str, &'static str)]) -> MapLoader {
        MapLoader(files.iter().map(|(p, t)| (PathBuf::from(p), *t)).collect())
    }

    #[test]
    fn resolves_relative_then_root_and_recurses() {
        let l = loader(&[
            ("/ws/tests/a.tera", "{% include \"lib/b.tera\" %}"),
            ("/ws/lib/b.tera", "{% import \"a.tera\" as a %}"),
        ]);
        let text = "{% import \"a.tera\" as m %}{% include 'missing.tera' ignore missing %}";
        let origin = Origin {
            path: Some(Path::new("/ws/tests/t.clnrm.toml.tera")),
            workspace_root: Some(Path::new("/ws")),
            kind: None,
        };
        let deps = collect(text, origin, &l);
        let names: Vec<(&str, bool)> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.text.is_some()))
            .collect();
        assert_eq!(
            names,
            [
                ("a.tera", true),
                ("lib/b.tera", true),
                ("missing.tera", false)
            ]
        );
        assert_eq!(deps[1].path.as_deref(), Some(Path::new("/ws/lib/b.tera")));
    }

    #[test]
    fn a_link_out_of_the_workspace_or_a_special_file_says_why() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.tera"), "s3cret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.tera"), ws.join("esc.tera"))
            .unwrap();
        std::os::unix::fs::symlink("/dev/null", ws.join("null.tera")).unwrap();
        crate::documents::fs::testing::mkfifo(&ws.join("fifo.tera"));
        let main = ws.join("t.clnrm.toml.tera");
        let origin = Origin {
            path: Some(&main),
            workspace_root: Some(&ws),
            kind: None,
        };
        let text =
            "{% include \"esc.tera\" %}{% include \"fifo.tera\" %}{% include \"nope.tera\" %}";
        let deps = collect(text, origin, &crate::analysis::template::DiskLoader);
        let problems: Vec<_> = deps
            .iter()
            .map(|d| (d.text.is_some(), d.problem.clone()))
            .collect();
        let esc = outside.path().canonicalize().unwrap().join("secret.tera");
        assert_eq!(
            problems,
            [
                (
                    false,
                    Some(format!(
                        "resolves outside the workspace ({})",
                        esc.display()
                    ))
                ),
                (false, Some("is a FIFO, not a regular file".to_string())),
                (false, None),
            ]
        );
    }

    #[test]
    fn never_reads_outside_the_workspace() {
        let l = loader(&[("/etc/secret.tera", "x"), ("/ws/t/_macros.toml.tera", "y")]);
        let origin = Origin {
            path: Some(Path::new("/ws/t/x.clnrm.toml.tera")),
            workspace_root: Some(Path::new("/ws")),
            kind: None,
        };
        let deps = collect("{% include \"../../etc/secret.tera\" %}", origin, &l);
        assert_eq!(deps[0].text, None);
        let deps = collect("{% include \"/etc/secret.tera\" %}", origin, &l);
        assert_eq!(deps[0].text, None);
        // No workspace: nothing is read, but the embedded library still exists.
        let none = Origin::default();
        let deps = collect("{% import \"_macros.toml.tera\" as m %}", none, &l);
        assert_eq!(deps[0].text.as_deref(), Some(EMBEDDED_MACROS));
        let deps = collect("{% import \"_macros.toml.tera\" as m %}", origin, &l);
        assert_eq!(deps[0].text.as_deref(), Some("y"));
    }
}
