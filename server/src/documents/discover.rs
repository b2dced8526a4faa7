//! Which files `check` looks at: `*.clnrm.toml` and `*.clnrm.toml.tera` under directories
//! (honouring `.gitignore`/`.ignore`, skipping hidden entries and installed packages), and
//! any file named explicitly.

use std::path::{Path, PathBuf};

use crate::workspace::root::RootFinder;

/// A file to check, and the workspace root its includes resolve against.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The path as the user will see it: the argument, joined with the walked entry.
    pub path: PathBuf,
    /// Absolute workspace root (templates outside it are never read).
    pub root: PathBuf,
    /// Named on the command line (not found by a walk): checked whatever its name.
    pub explicit: bool,
}

/// A problem that makes `check` exit 2: a path that does not exist, or a walk error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for DiscoverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Whether a file name is a test template by name (`*.clnrm.toml`, `*.clnrm.toml.tera`).
pub fn is_test_file_name(name: &str) -> bool {
    name.ends_with(".clnrm.toml") || name.ends_with(".clnrm.toml.tera")
}

/// Expand the arguments into sorted, de-duplicated targets. Errors do not stop the rest.
pub fn discover(args: &[PathBuf]) -> (Vec<Target>, Vec<DiscoverError>) {
    let found = discover_args(args);
    (found.targets, found.errors)
}

/// What [`discover_args`] found.
#[derive(Debug, Default)]
pub struct Discovered {
    pub targets: Vec<Target>,
    pub errors: Vec<DiscoverError>,
    /// The arguments that are directories (walked), in argument order.
    pub dirs: Vec<PathBuf>,
}

/// [`discover`], also saying which arguments were directories (each argument is looked
/// at once: a system call per file named matters when a hundred are).
pub fn discover_args(args: &[PathBuf]) -> Discovered {
    let mut dirs = Vec::new();
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    // Files named one by one share directories: probe each directory once.
    let mut roots = RootFinder::default();
    for arg in args {
        let meta = match std::fs::metadata(arg) {
            Ok(m) => m,
            Err(e) => {
                errors.push(DiscoverError {
                    path: arg.clone(),
                    message: io_message(&e),
                });
                continue;
            }
        };
        let abs = super::fs::absolute(arg);
        if meta.is_dir() {
            dirs.push(arg.clone());
            let root = roots.find(&abs);
            walk(arg, &root, &mut targets, &mut errors);
        } else {
            let root = roots.find(abs.parent().unwrap_or(&abs));
            targets.push(Target {
                path: arg.clone(),
                root,
                explicit: true,
            });
        }
    }
    targets.sort();
    targets.dedup_by(|a, b| a.path == b.path);
    Discovered {
        targets,
        errors,
        dirs,
    }
}

fn walk(dir: &Path, root: &Path, targets: &mut Vec<Target>, errors: &mut Vec<DiscoverError>) {
    // `require_git(false)`: a .gitignore counts even outside a git checkout (fresh copies,
    // tarballs). The "parallel" walker on one thread: it learns which ignore files a
    // directory has from its listing, where the sequential one probes for four names in
    // every directory (most of a walk's system calls). Its order is the stack's, so the
    // results are sorted after.
    let mut builder = ignore::WalkBuilder::new(dir);
    builder
        .require_git(false)
        .threads(1)
        .filter_entry(|e| !is_package_dir(e));
    if let Some(default) = default_global_excludes() {
        // The same matcher `ignore` builds for the global excludes (rooted at the current
        // directory, matched last), without its regex search of the git configs.
        builder.git_global(false);
        if default.is_file() {
            // Errors in the file are `ignore`'s to skip, as it does for the global one.
            let _ = builder.add_ignore(default);
        }
    }
    let found = std::sync::Mutex::new(Found::default());
    let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                found
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take(entry, dir, root);
                ignore::WalkState::Continue
            })
        })
    }));
    let mut found = found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if walked.is_err() {
        // Its thread could not be started (the system is out of threads): walk here.
        found = Found::default();
        for entry in builder.build() {
            found.take(entry, dir, root);
        }
    }
    found.targets.sort();
    found.errors.sort_by(|a, b| a.message.cmp(&b.message));
    targets.extend(found.targets);
    errors.extend(found.errors);
}

/// git's global excludes file when no git config names one (`core.excludesFile`): its
/// default place (`$XDG_CONFIG_HOME/git/ignore`, else `~/.config/git/ignore`). `None`
/// when a config might name one: `ignore` then finds it. Reading the configs here costs
/// a few small reads; `ignore` compiles a regex to search them on every walk (~0.3 ms,
/// a tenth of the importer scan of a `check`), though almost no config sets the key.
fn default_global_excludes() -> Option<PathBuf> {
    #[allow(deprecated)] // as `ignore` finds it; its corner cases do not matter here
    let home = std::env::home_dir();
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let xdg = var("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
    // The configs `ignore` searches, in its order.
    let configs = [
        var("GIT_CONFIG_GLOBAL"),
        home.as_ref().map(|h| h.join(".gitconfig")),
        xdg.as_ref().map(|x| x.join("git/config")),
        Some(var("GIT_CONFIG_SYSTEM").unwrap_or_else(|| PathBuf::from("/etc/gitconfig"))),
    ];
    let names_one = |config: &PathBuf| {
        std::fs::read(config)
            .is_ok_and(|text| text.windows(KEY.len()).any(|w| w.eq_ignore_ascii_case(KEY)))
    };
    const KEY: &[u8] = b"excludesfile";
    if configs.iter().flatten().any(names_one) {
        return None;
    }
    Some(xdg?.join("git/ignore"))
}

/// Directories of installed packages (`node_modules`), skipped by walks as ruff, ESLint
/// and Prettier skip them: their test templates are a dependency's, not the workspace's,
/// and they are often most of a checkout (779 of the clnrm repository's 2,201 files).
/// A file in one is still checked when named.
fn is_package_dir(entry: &ignore::DirEntry) -> bool {
    entry.file_type().is_some_and(|t| t.is_dir()) && entry.file_name() == "node_modules"
}

/// What a walk found so far.
#[derive(Default)]
struct Found {
    targets: Vec<Target>,
    errors: Vec<DiscoverError>,
}

impl Found {
    fn take(&mut self, entry: Result<ignore::DirEntry, ignore::Error>, dir: &Path, root: &Path) {
        match entry {
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|t| t.is_file());
                let name_matches = entry.file_name().to_str().is_some_and(is_test_file_name);
                if is_file && name_matches {
                    // `check` (i.e. `.`) shows `a/b.clnrm.toml`, not `./a/b.clnrm.toml`.
                    let path = entry.into_path();
                    let path = match path.strip_prefix(".") {
                        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
                        _ => path,
                    };
                    self.targets.push(Target {
                        path,
                        root: root.to_path_buf(),
                        explicit: false,
                    });
                }
            }
            Err(e) => self.errors.push(DiscoverError {
                path: dir.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }
}

pub use super::fs::io_message;

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn finds_only_test_files_and_honours_ignores() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("b.clnrm.toml"));
        touch(&d.join("sub/a.clnrm.toml.tera"));
        touch(&d.join("Cargo.toml"));
        touch(&d.join("_macros.toml.tera"));
        touch(&d.join(".hidden/x.clnrm.toml"));
        touch(&d.join("ignored/y.clnrm.toml"));
        touch(&d.join("web/node_modules/pkg/z.clnrm.toml"));
        std::fs::write(d.join(".gitignore"), "ignored/\n").unwrap();

        let (targets, errors) = discover(&[d.to_path_buf()]);
        assert!(errors.is_empty());
        let names: Vec<_> = targets
            .iter()
            .map(|t| t.path.strip_prefix(d).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("b.clnrm.toml"),
                PathBuf::from("sub/a.clnrm.toml.tera")
            ]
        );
    }

    #[test]
    fn a_file_in_installed_packages_is_checked_when_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node_modules/pkg/z.clnrm.toml");
        touch(&file);
        let (walked, _) = discover(&[dir.path().to_path_buf()]);
        assert!(walked.is_empty(), "{walked:?}");
        let (named, errors) = discover(std::slice::from_ref(&file));
        assert!(errors.is_empty());
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].path, file);
    }

    #[test]
    fn explicit_files_are_taken_whatever_their_name_and_missing_ones_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("odd-name.txt");
        touch(&file);
        let missing = dir.path().join("nope");
        let (targets, errors) = discover(&[file.clone(), missing.clone(), file.clone()]);
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].path, file);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, missing);
    }
}
