//! A loader that reads each template once per command-line run.
//!
//! A macro library imported by a hundred test files was resolved and read a hundred times
//! (each read canonicalizes the path and the workspace root: a dozen system calls), and the
//! scan for a library's importers read them again. A `check` run sees every file as of its
//! first read instead, as a snapshot of the tree would.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::analysis::SourceLoader;

/// Bytes of file text remembered at most; past it, reads go to the inner loader each time.
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// The path and the scope as written (their bytes: hashing a `Path` walks its components;
/// a path spelt two ways is read twice, which costs a read, never a wrong text).
type Key = (OsString, Option<OsString>);

fn memo_key(path: &Path, root: Option<&Path>) -> Key {
    (path.into(), root.map(Into::into))
}

/// [`SourceLoader`] over `inner`, remembering what each `(path, root)` read gave.
pub struct SnapshotLoader<L> {
    inner: L,
    memo: Mutex<Memo>,
}

#[derive(Default)]
struct Memo {
    reads: HashMap<Key, Option<Arc<str>>, crate::analysis::FastHash>,
    bytes: usize,
}

impl<L: SourceLoader> SnapshotLoader<L> {
    pub fn new(inner: L) -> Self {
        Self {
            inner,
            memo: Mutex::new(Memo::default()),
        }
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        self.memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<L: SourceLoader> SourceLoader for SnapshotLoader<L> {
    fn load(&self, path: &Path) -> Option<Arc<str>> {
        self.load_within(path, None)
    }

    fn load_within(&self, path: &Path, root: Option<&Path>) -> Option<Arc<str>> {
        let key = memo_key(path, root);
        if let Some(known) = self.memo().reads.get(&key) {
            return known.clone();
        }
        // Read outside the lock: two threads may both read a file the first time.
        let read = self.inner.load_within(path, root);
        let mut memo = self.memo();
        let size = read.as_ref().map_or(0, |t| t.len()) + key.0.len();
        if memo.bytes + size <= MAX_BYTES {
            memo.bytes += size;
            memo.reads.insert(key, read.clone());
        }
        read
    }

    fn problem(&self, path: &Path, root: Option<&Path>) -> Option<String> {
        self.inner.problem(path, root)
    }

    fn already_read(&self, path: &Path, root: &Path) -> Option<Arc<str>> {
        let key = memo_key(path, Some(root));
        self.memo().reads.get(&key).cloned().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::DiskLoader;

    #[test]
    fn a_file_is_read_once_and_seen_as_first_read() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("_lib.toml.tera");
        std::fs::write(&lib, "first").unwrap();
        let loader = SnapshotLoader::new(DiskLoader);
        assert_eq!(
            loader.load_within(&lib, Some(dir.path())).as_deref(),
            Some("first")
        );
        std::fs::write(&lib, "second").unwrap();
        assert_eq!(
            loader.load_within(&lib, Some(dir.path())).as_deref(),
            Some("first")
        );
        // Another scope is another read: the workspace check is the inner loader's.
        assert_eq!(loader.load(&lib).as_deref(), Some("second"));
        let missing = dir.path().join("missing");
        assert_eq!(loader.load_within(&missing, Some(dir.path())), None);
        std::fs::write(&missing, "now").unwrap();
        assert_eq!(loader.load_within(&missing, Some(dir.path())), None);
        // What was read within the workspace is there for the check of the file itself.
        assert_eq!(
            loader.already_read(&lib, dir.path()).as_deref(),
            Some("first")
        );
        assert_eq!(loader.already_read(&missing, dir.path()), None);
    }
}
