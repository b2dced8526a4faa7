//! The one rule for a workspace root: the deepest client folder holding the file, else the
//! nearest ancestor holding `.clnrm/`, clnrm's `cleanroom.toml` or `.git`, else the
//! directory the search started from. Every face and every use case asks here.

use std::path::{Path, PathBuf};

/// Nearest ancestor of the directory `start` (itself included) holding `.clnrm/`,
/// `cleanroom.toml` or `.git`; else `start` itself.
pub fn find_root(start: &Path) -> PathBuf {
    start
        .ancestors()
        .find(|dir| is_marked(dir))
        .unwrap_or(start)
        .to_path_buf()
}

/// [`find_root`] for many starts (`check` of files named one by one): each directory is
/// probed once, however many files share it or its ancestors.
#[derive(Debug, Default)]
pub struct RootFinder {
    /// By the directory's bytes (hashing a `Path` walks its components).
    marked: std::collections::HashMap<std::ffi::OsString, bool, crate::analysis::FastHash>,
}

impl RootFinder {
    pub fn find(&mut self, start: &Path) -> PathBuf {
        for dir in start.ancestors() {
            let marked = match self.marked.get(dir.as_os_str()) {
                Some(&m) => m,
                None => *self
                    .marked
                    .entry(dir.into())
                    .or_insert_with(|| is_marked(dir)),
            };
            if marked {
                return dir.to_path_buf();
            }
        }
        start.to_path_buf()
    }
}

/// The root of the file `file`: the deepest of `folders` (the editor's workspace folders;
/// none for the CLI) holding it, else [`find_root`] of its directory.
pub fn root_of_file(file: &Path, folders: &[PathBuf]) -> PathBuf {
    folders
        .iter()
        .filter(|f| file.starts_with(f))
        .max_by_key(|f| f.components().count())
        .cloned()
        .unwrap_or_else(|| find_root(file.parent().unwrap_or(Path::new("/"))))
}

fn is_marked(dir: &Path) -> bool {
    dir.join(".clnrm").is_dir() || dir.join("cleanroom.toml").is_file() || dir.join(".git").exists()
}

/// `path` relative to the workspace `root`, `/`-separated: the same on every machine and
/// checkout (shard splits and cache ids use it).
pub fn workspace_relative(root: &Path, path: &Path) -> String {
    let abs = crate::documents::fs::absolute(path);
    let rel = abs.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_marked_ancestor_is_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("proj/.clnrm")).unwrap();
        std::fs::create_dir_all(d.join("proj/tests/deep")).unwrap();
        assert_eq!(find_root(&d.join("proj/tests/deep")), d.join("proj"));
        assert_eq!(
            root_of_file(&d.join("proj/tests/deep/a.clnrm.toml"), &[]),
            d.join("proj")
        );
        let mut finder = RootFinder::default();
        assert_eq!(finder.find(&d.join("proj/tests/deep")), d.join("proj"));
        assert_eq!(finder.find(&d.join("proj/tests")), d.join("proj"));
        let lone = d.join("lone");
        std::fs::create_dir_all(&lone).unwrap();
        // Unmarked all the way up: the directory itself. (The temp dir may sit inside a
        // checkout or a marked folder; then that ancestor is the right answer.)
        let marked = d.ancestors().find(|a| is_marked(a));
        assert_eq!(find_root(&lone), marked.unwrap_or(&lone));
    }

    #[test]
    fn cleanroom_toml_marks_a_root() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("p/t")).unwrap();
        std::fs::write(d.join("p/cleanroom.toml"), "").unwrap();
        assert_eq!(find_root(&d.join("p/t")), d.join("p"));
    }

    #[test]
    fn the_deepest_client_folder_wins_over_markers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b/.clnrm")).unwrap();
        let folders = vec![d.join("a"), d.join("a/b/c")];
        assert_eq!(
            root_of_file(&d.join("a/b/x.clnrm.toml"), &folders),
            d.join("a")
        );
        assert_eq!(
            root_of_file(&d.join("a/b/c/x.clnrm.toml"), &folders),
            d.join("a/b/c")
        );
    }
}
