//! Which files import or include which template files, from each file's latest analysis.
//! The editor keys it by document URI (re-analyse the open dependents of a changed library);
//! `run --watch` by path (re-run the test files a changed library affects).

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::analysis::Dependency;
use crate::documents::fs::normalize;

/// The dependents index: for each analysed file (`K`), the files its analysis read; and
/// back, for each read file, the analysed files that read it.
pub struct Dependents<K> {
    inner: Mutex<Index<K>>,
}

struct Index<K> {
    /// What each file read, and whether an import/include of it did not resolve.
    forward: HashMap<K, (Vec<PathBuf>, bool)>,
    reverse: HashMap<PathBuf, BTreeSet<K>>,
}

impl<K> Default for Dependents<K> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Index {
                forward: HashMap::new(),
                reverse: HashMap::new(),
            }),
        }
    }
}

impl<K: Clone + Ord + Hash> Dependents<K> {
    fn lock(&self) -> MutexGuard<'_, Index<K>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record `file`'s dependencies (from its latest analysis), replacing what was known.
    pub fn set(&self, file: K, deps: &[Dependency]) {
        let paths: Vec<PathBuf> = deps
            .iter()
            .filter_map(|d| d.path.as_deref().map(normalize))
            .collect();
        let unresolved = deps.iter().any(|d| d.text.is_none());
        let mut index = self.lock();
        index.remove(&file);
        for p in &paths {
            index
                .reverse
                .entry(p.clone())
                .or_default()
                .insert(file.clone());
        }
        if !paths.is_empty() || unresolved {
            index.forward.insert(file, (paths, unresolved));
        }
    }

    pub fn remove<Q: Hash + Ord + ?Sized>(&self, file: &Q)
    where
        K: Borrow<Q>,
    {
        self.lock().remove(file);
    }

    /// The files whose latest analysis read `path`, in key order.
    pub fn dependents_of(&self, path: &Path) -> Vec<K> {
        self.lock()
            .reverse
            .get(&normalize(path))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Files with an import/include that did not resolve: a file appearing may fix them.
    pub fn with_unresolved(&self) -> Vec<K> {
        let mut found: Vec<K> = self
            .lock()
            .forward
            .iter()
            .filter(|(_, (_, unresolved))| *unresolved)
            .map(|(file, _)| file.clone())
            .collect();
        found.sort();
        found
    }
}

impl<K: Clone + Ord + Hash> Index<K> {
    fn remove<Q: Hash + Ord + ?Sized>(&mut self, file: &Q)
    where
        K: Borrow<Q>,
    {
        let Some((paths, _)) = self.forward.remove(file) else {
            return;
        };
        for p in paths {
            if let Some(set) = self.reverse.get_mut(&p) {
                set.remove(file);
                if set.is_empty() {
                    self.reverse.remove(&p);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(path: &str, text: Option<&str>) -> Dependency {
        Dependency {
            name: path.rsplit('/').next().unwrap_or(path).into(),
            path: Some(PathBuf::from(path)),
            problem: None,
            text: text.map(Into::into),
        }
    }

    #[test]
    fn dependents_follow_the_latest_analysis() {
        let idx = Dependents::<String>::default();
        idx.set(
            "a".to_string(),
            &[dep("/w/p.tera", Some("x")), dep("/w/q.tera", Some("y"))],
        );
        idx.set("b".to_string(), &[dep("/w/p.tera", Some("x"))]);
        assert_eq!(idx.dependents_of(Path::new("/w/p.tera")), vec!["a", "b"]);
        idx.set("a".to_string(), &[dep("/w/q.tera", None)]);
        assert_eq!(idx.dependents_of(Path::new("/w/./p.tera")), vec!["b"]);
        assert_eq!(idx.with_unresolved(), vec!["a"]);
        idx.remove("b");
        assert!(idx.dependents_of(Path::new("/w/p.tera")).is_empty());
    }

    #[test]
    fn keyed_by_path_for_watch_mode() {
        let idx = Dependents::<PathBuf>::default();
        let test = PathBuf::from("/w/t/a.clnrm.toml.tera");
        idx.set(test.clone(), &[dep("/w/lib/_macros.toml.tera", Some("m"))]);
        // A change notification spells the library's path its own way.
        assert_eq!(
            idx.dependents_of(Path::new("/w/t/../lib/_macros.toml.tera")),
            vec![test.clone()]
        );
        assert!(idx.dependents_of(&test).is_empty());
        // The file no longer includes the library: it is no longer its dependent.
        idx.set(test.clone(), &[]);
        assert!(idx
            .dependents_of(Path::new("/w/lib/_macros.toml.tera"))
            .is_empty());
        assert!(idx.with_unresolved().is_empty());
    }
}
