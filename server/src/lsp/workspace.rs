//! The editor session's view of the world: workspace roots, open documents with their
//! paths, the overlay loader (open buffers before the disk) and their dependents index.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use dashmap::DashMap;

use crate::analysis::template::DiskLoader;
use crate::analysis::SourceLoader;
use crate::documents::fs::normalize;
use crate::documents::{Document, DocumentStore, PositionEncoding};
use crate::workspace::Dependents;

/// One workspace root. Each root is analysed against itself only: templates resolve inside
/// it, and (with runs) it has its own config and result cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub path: PathBuf,
}

#[derive(Default)]
pub struct Workspace {
    pub documents: Arc<DocumentStore>,
    /// Normalized path of every open `file:` document → its URI as the client spelled it.
    open_paths: Arc<DashMap<PathBuf, String>>,
    /// URI → path, for the reverse direction (dependents of a changed buffer).
    uri_paths: DashMap<String, PathBuf>,
    roots: RwLock<Vec<Root>>,
    encoding: OnceLock<PositionEncoding>,
    /// Which open documents (by URI) import or include which files.
    pub dependents: Dependents<String>,
    /// Which test files import each library (an open library shows their findings).
    pub importers: Arc<crate::workspace::libraries::ImporterIndex>,
}

impl Workspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// The negotiated encoding (UTF-16 until `initialize` says otherwise).
    pub fn encoding(&self) -> PositionEncoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    pub fn set_encoding(&self, enc: PositionEncoding) {
        let _ = self.encoding.set(enc);
    }

    pub fn set_roots(&self, paths: impl IntoIterator<Item = PathBuf>) {
        let roots = paths
            .into_iter()
            .map(|p| Root {
                path: normalize(&p),
            })
            .collect();
        *self.roots.write().unwrap_or_else(|p| p.into_inner()) = roots;
    }

    pub fn add_root(&self, path: &Path) {
        let path = normalize(path);
        let mut roots = self.roots.write().unwrap_or_else(|p| p.into_inner());
        if !roots.iter().any(|r| r.path == path) {
            roots.push(Root { path });
        }
    }

    pub fn remove_root(&self, path: &Path) {
        let path = normalize(path);
        self.roots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|r| r.path != path);
    }

    pub fn roots(&self) -> Vec<Root> {
        self.roots.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The root a document is analysed against: its file's root by the one rule
    /// (`workspace::root`, the client's folders first); a document with no path (an unsaved
    /// buffer) belongs to the first folder.
    pub fn root_for(&self, path: Option<&Path>) -> Option<PathBuf> {
        match path {
            Some(path) => Some(self.root_of(path)),
            None => self.roots().first().map(|r| r.path.clone()),
        }
    }

    /// The workspace root of a file.
    pub fn root_of(&self, path: &Path) -> PathBuf {
        let folders: Vec<PathBuf> = self.roots().into_iter().map(|r| r.path).collect();
        crate::workspace::root_of_file(&normalize(path), &folders)
    }

    pub fn open(&self, uri: &str, path: Option<&Path>, text: String, version: i32) -> Document {
        if let Some(path) = path {
            let path = normalize(path);
            self.open_paths.insert(path.clone(), uri.to_string());
            self.uri_paths.insert(uri.to_string(), path);
        }
        self.documents.open(uri, text, version)
    }

    pub fn close(&self, uri: &str) -> Option<Document> {
        if let Some((_, path)) = self.uri_paths.remove(uri) {
            self.open_paths.remove_if(&path, |_, u| u == uri);
        }
        self.documents.close(uri)
    }

    pub fn path_of(&self, uri: &str) -> Option<PathBuf> {
        self.uri_paths.get(uri).map(|p| p.clone())
    }

    /// The URI of the open document at `path`, if it is open.
    pub fn uri_of(&self, path: &Path) -> Option<String> {
        self.open_paths.get(&normalize(path)).map(|u| u.clone())
    }

    /// The URIs of the open template libraries (their findings come from other files).
    pub fn open_libraries(&self) -> Vec<String> {
        self.open_paths
            .iter()
            .filter(|e| crate::workspace::libraries::is_library(e.key(), None))
            .map(|e| e.value().clone())
            .collect()
    }

    /// Whether the file at `path` is open in the editor (its buffer wins over the disk).
    pub fn is_open(&self, path: &Path) -> bool {
        self.open_paths.contains_key(&normalize(path))
    }

    pub fn loader(&self) -> OverlayLoader {
        OverlayLoader {
            documents: self.documents.clone(),
            open_paths: self.open_paths.clone(),
        }
    }
}

/// Reads templates from open buffers first, then the disk, so an include that is being
/// edited is seen as typed, not as last saved.
#[derive(Clone)]
pub struct OverlayLoader {
    documents: Arc<DocumentStore>,
    open_paths: Arc<DashMap<PathBuf, String>>,
}

impl SourceLoader for OverlayLoader {
    fn load(&self, path: &Path) -> Option<Arc<str>> {
        self.load_within(path, None)
    }

    fn load_within(&self, path: &Path, root: Option<&Path>) -> Option<Arc<str>> {
        let uri = self.open_paths.get(&normalize(path)).map(|u| u.clone());
        if let Some(doc) = uri.and_then(|uri| self.documents.get(&uri)) {
            return Some(doc.text);
        }
        DiskLoader.load_within(path, root)
    }

    fn problem(&self, path: &Path, root: Option<&Path>) -> Option<String> {
        DiskLoader.problem(path, root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_prefers_open_buffers_over_disk() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("part.toml.tera");
        std::fs::write(&part, "on disk").unwrap();
        let ws = Workspace::new();
        let loader = ws.loader();
        assert_eq!(loader.load(&part).as_deref(), Some("on disk"));
        ws.open("file:///part", Some(&part), "in buffer".into(), 1);
        let dotted = dir.path().join("x/../part.toml.tera");
        assert_eq!(loader.load(&dotted).as_deref(), Some("in buffer"));
        ws.close("file:///part");
        assert_eq!(loader.load(&part).as_deref(), Some("on disk"));
        assert_eq!(loader.load(&dir.path().join("missing")), None);
    }

    #[test]
    fn disk_reads_stay_in_the_workspace_and_skip_special_files() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s3cret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
        crate::documents::fs::testing::mkfifo(&root.join("fifo"));
        let loader = Workspace::new().loader();
        for name in ["escape", "zero", "fifo"] {
            assert_eq!(
                loader.load_within(&root.join(name), Some(root)),
                None,
                "{name}"
            );
        }
    }

    #[test]
    fn picks_the_innermost_root() {
        let ws = Workspace::new();
        ws.set_roots([PathBuf::from("/w"), PathBuf::from("/w/sub")]);
        assert_eq!(
            ws.root_for(Some(Path::new("/w/sub/a.clnrm.toml"))),
            Some(PathBuf::from("/w/sub"))
        );
        assert_eq!(
            ws.root_for(Some(Path::new("/w/a.clnrm.toml"))),
            Some(PathBuf::from("/w"))
        );
        // Outside every folder: the rule's marked ancestor, else the file's directory.
        assert_eq!(
            ws.root_for(Some(Path::new("/nonexistent-elsewhere/a"))),
            Some(PathBuf::from("/nonexistent-elsewhere"))
        );
        assert_eq!(ws.root_for(None), Some(PathBuf::from("/w")));
    }
}
