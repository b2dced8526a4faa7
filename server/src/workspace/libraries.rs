//! Errors whose cause is in a template library, reported on the library itself.
//!
//! A library (`_macros.toml.tera`, any `*.tera` a test imports or includes) is not a test:
//! analysed alone it shows only its Tera syntax. A mistake in a macro body or an included
//! table shows when a test file renders it, as a finding on the test's import/include line
//! with the library's line as a related place (`analysis::library`). This turns those
//! related places back into findings on the library's own lines, once per finding however
//! many test files hit it, each naming the test files (their tag as a related place).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::analysis::template;
use crate::analysis::{
    Analysis, Analyzer, Diagnostic, FileKind, Origin, Related, SourceFile, SourceLoader,
};
use crate::documents::discover;
use crate::documents::fs::normalize;

/// Test files read while looking for a library's importers: a bound on the work of a
/// library checked alone (or re-analysed on each keystroke in the editor).
pub const MAX_SCANNED: usize = 2000;
/// Importers analysed for one library.
pub const MAX_IMPORTERS: usize = 32;
/// Test files named on one library finding; the rest are counted in the last one's message.
const MAX_NAMED_IMPORTERS: usize = 5;

/// Library findings gathered from the analyses of the test files that import them.
#[derive(Debug, Default)]
pub struct LibraryFindings {
    libraries: BTreeMap<PathBuf, Library>,
}

#[derive(Debug)]
struct Library {
    diagnostics: Vec<Diagnostic>,
    /// Importers per finding (same index), beyond the ones named in its related places.
    importers: Vec<usize>,
}

impl LibraryFindings {
    /// Gather the findings of one test file (`importer`, with the text its ranges refer
    /// to) whose cause is in a library.
    pub fn add(&mut self, importer: &Path, importer_text: &str, diagnostics: &[Diagnostic]) {
        let mut shared: Option<Arc<SourceFile>> = None;
        for d in diagnostics {
            for r in &d.related {
                let Some(lib) = &r.file else { continue };
                let key = normalize(&lib.path);
                let importer_file = shared
                    .get_or_insert_with(|| {
                        Arc::new(SourceFile {
                            path: importer.to_path_buf(),
                            text: importer_text.into(),
                        })
                    })
                    .clone();
                self.libraries
                    .entry(key)
                    .or_insert_with(|| Library {
                        diagnostics: Vec::new(),
                        importers: Vec::new(),
                    })
                    .add(on_library(d, r), importer_file, d.range.clone());
            }
        }
    }

    /// The findings gathered for the library at `path` (absolute), removed from here.
    pub fn take(&mut self, path: &Path) -> Vec<Diagnostic> {
        self.libraries
            .remove(&normalize(path))
            .map(Library::finish)
            .unwrap_or_default()
    }

    /// Every library with findings, in path order, with its findings.
    pub fn into_libraries(self) -> impl Iterator<Item = (PathBuf, Vec<Diagnostic>)> {
        self.libraries
            .into_iter()
            .map(|(path, lib)| (path, lib.finish()))
    }

    pub fn is_empty(&self) -> bool {
        self.libraries.is_empty()
    }
}

impl Library {
    fn add(
        &mut self,
        mut finding: Diagnostic,
        importer: Arc<SourceFile>,
        tag: std::ops::Range<usize>,
    ) {
        let name = importer.path.file_name().map_or_else(
            || importer.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let place = Related {
            range: tag,
            message: format!("`{name}` renders it here"),
            file: Some(importer),
        };
        let same = self.diagnostics.iter().position(|d| {
            d.range == finding.range && d.code == finding.code && d.message == finding.message
        });
        match same {
            Some(i) => {
                let d = &mut self.diagnostics[i];
                let named = d.related.iter().filter(|r| r.file.is_some()).count();
                let already = d.related.iter().any(|r| {
                    r.range == place.range
                        && r.file.as_ref().map(|f| &f.path) == place.file.as_ref().map(|f| &f.path)
                });
                if !already && named < MAX_NAMED_IMPORTERS {
                    d.related.push(place);
                } else if !already {
                    self.importers[i] += 1;
                }
            }
            None => {
                finding.related.push(place);
                self.diagnostics.push(finding);
                self.importers.push(0);
            }
        }
    }

    fn finish(self) -> Vec<Diagnostic> {
        let mut out = self.diagnostics;
        for (d, more) in out.iter_mut().zip(self.importers) {
            if more > 0 {
                d.message
                    .push_str(&format!(" (and through {more} more test files)"));
            }
        }
        out
    }
}

/// A test file's finding `d`, whose cause is at `r` in a library, as a finding there.
fn on_library(d: &Diagnostic, r: &Related) -> Diagnostic {
    Diagnostic {
        range: r.range.clone(),
        severity: d.severity,
        code: d.code,
        message: d.message.clone(),
        related: Vec::new(),
        // Fixes edit the test file's text; they do not apply here.
        fix: None,
    }
}

/// The test files of a workspace that import or include templates, with the templates
/// each depends on: what finding a library's importers reads. Scanned once per workspace
/// and shared by every library there ([`ImporterIndex`]): the walk and the reads are most
/// of the cost, and they are the same for each library.
#[derive(Debug, Default)]
pub struct TestScan {
    /// Test files with at least one dependency, and the (normalized) paths of those.
    tests: Vec<(PathBuf, Vec<PathBuf>)>,
}

impl TestScan {
    /// Scan the workspace `root`, reading through `loader` (open buffers first, in the
    /// editor). Bounded: at most [`MAX_SCANNED`] test files are read.
    pub fn of(root: &Path, loader: &dyn SourceLoader) -> Self {
        let (targets, _) = discover::discover(&[root.to_path_buf()]);
        let mut tests = Vec::new();
        for target in targets.into_iter().take(MAX_SCANNED) {
            let path = crate::documents::fs::absolute(&target.path);
            let Some(text) = loader.load_within(&path, Some(root)) else {
                continue;
            };
            // Cheap filter first: without a statement tag nothing is imported or included.
            if !text.contains("{%") {
                continue;
            }
            let origin = Origin {
                path: Some(&path),
                workspace_root: Some(root),
                kind: None,
            };
            let deps: Vec<PathBuf> = template::collect_dependencies(&text, origin, loader)
                .iter()
                .filter_map(|d| d.path.as_deref().map(normalize))
                .collect();
            if !deps.is_empty() {
                tests.push((path, deps));
            }
        }
        Self { tests }
    }

    /// The test files that import or include the library at `lib` (absolute), directly or
    /// through another library, with their current text; at most [`MAX_IMPORTERS`].
    pub fn importers(
        &self,
        lib: &Path,
        root: &Path,
        loader: &dyn SourceLoader,
    ) -> Vec<(PathBuf, Arc<str>)> {
        let lib = normalize(lib);
        self.tests
            .iter()
            .filter(|(_, deps)| deps.contains(&lib))
            .filter_map(|(path, _)| Some((path.clone(), loader.load_within(path, Some(root))?)))
            .take(MAX_IMPORTERS)
            .collect()
    }
}

/// The findings `importers` (path, text) have in the library at `lib` (absolute, in
/// workspace `root`), each on the library's own line. `own` are the library's own
/// diagnostics (its Tera syntax): a finding already there is not repeated.
pub fn findings_from(
    lib: &Path,
    root: &Path,
    own: &[Diagnostic],
    importers: Vec<(PathBuf, Arc<str>)>,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> Vec<Diagnostic> {
    let mut found = LibraryFindings::default();
    for (path, text) in importers {
        let origin = Origin {
            path: Some(&path),
            workspace_root: Some(root),
            kind: None,
        };
        let analysis = analyzer.analyze_to_reuse(&text, origin, loader);
        found.add(&path, &text, &analysis.diagnostics);
    }
    without_repeats(found.take(lib), own)
}

/// `found` less what the library's own analysis already says at the same place.
pub fn without_repeats(found: Vec<Diagnostic>, own: &[Diagnostic]) -> Vec<Diagnostic> {
    found
        .into_iter()
        .filter(|d| !own.iter().any(|o| o.range.start == d.range.start))
        .collect()
}

/// Whether `path` is a template library (only its Tera syntax is its own).
pub fn is_library(path: &Path, kind: Option<FileKind>) -> bool {
    kind.unwrap_or_else(|| FileKind::of(Some(path))) == FileKind::TemplateLibrary
}

/// The [`TestScan`] of each workspace, remembered: a `check` run scans a workspace once
/// for all the libraries it names, and the editor, which re-analyses an open library on
/// every keystroke of an importer, re-reads only the importers the scan found, until a
/// change on disk or a new importer in the editor makes the scans stale.
#[derive(Default)]
pub struct ImporterIndex {
    by_root: Mutex<HashMap<PathBuf, Arc<Scan>>>,
}

/// One workspace's scan, made once.
#[derive(Default)]
struct Scan {
    done: OnceLock<TestScan>,
    /// Started ahead of need ([`ImporterIndex::scan`]).
    ahead: std::sync::atomic::AtomicBool,
}

thread_local! {
    /// This thread is running other work while it waits for a scan (no nested waits).
    static WAITING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl ImporterIndex {
    /// The importers of `lib` in the workspace `root` with their current text (open
    /// buffers first, via `loader`), the workspace scanned on first use, once however
    /// many threads ask at the same time.
    pub fn importers(
        &self,
        lib: &Path,
        root: &Path,
        loader: &dyn SourceLoader,
    ) -> Vec<(PathBuf, Arc<str>)> {
        let scan = self.scan_of(root);
        // A scan started ahead is under way on another thread of the pool: run other
        // files meanwhile instead of waiting idle (once: a file run here may wait too).
        if scan.ahead.load(std::sync::atomic::Ordering::Acquire) && !WAITING.get() {
            WAITING.set(true);
            while scan.done.get().is_none() && rayon::yield_now() == Some(rayon::Yield::Executed) {}
            WAITING.set(false);
        }
        scan.done
            .get_or_init(|| TestScan::of(root, loader))
            .importers(lib, root, loader)
    }

    /// Scan the workspace `root` now, ahead of the first library that needs it (`check`
    /// starts this on its pool while it finds the files; the texts it reads serve the
    /// checks of the test files after it).
    pub fn scan(&self, root: &Path, loader: &dyn SourceLoader) {
        let scan = self.scan_of(root);
        scan.ahead.store(true, std::sync::atomic::Ordering::Release);
        scan.done.get_or_init(|| TestScan::of(root, loader));
    }

    fn scan_of(&self, root: &Path) -> Arc<Scan> {
        lock(&self.by_root)
            .entry(root.to_path_buf())
            .or_default()
            .clone()
    }

    /// `importer` (absolute) imports `lib` now: scan again where it is not yet known as
    /// such.
    pub fn imported_by(&self, lib: &Path, importer: &Path) {
        let (lib, importer) = (normalize(lib), normalize(importer));
        let mut scans = lock(&self.by_root);
        let known = scans.values().any(|scan| {
            scan.done.get().is_some_and(|scan| {
                scan.tests
                    .iter()
                    .any(|(path, deps)| normalize(path) == importer && deps.contains(&lib))
            })
        });
        if !known {
            scans.clear();
        }
    }

    /// Files changed on disk: every scan may be stale.
    pub fn clear(&self) {
        lock(&self.by_root).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `analysis` of the document at `path` (in workspace `root`), with the findings its
/// importers have in it when it is a template library: what the editor shows on an open
/// library. The cached analysis is left alone (its key does not cover the importers).
pub fn with_importer_findings(
    analysis: Arc<Analysis>,
    path: Option<&Path>,
    root: Option<&Path>,
    index: &ImporterIndex,
    analyzer: &Analyzer,
    loader: &dyn SourceLoader,
) -> Arc<Analysis> {
    let (Some(path), Some(root)) = (path, root) else {
        return analysis;
    };
    if !is_library(path, None) {
        return analysis;
    }
    let importers = index.importers(path, root, loader);
    let found = findings_from(
        path,
        root,
        &analysis.diagnostics,
        importers,
        analyzer,
        loader,
    );
    if found.is_empty() {
        return analysis;
    }
    let mut with = Analysis::clone(&analysis);
    with.diagnostics.extend(found);
    with.diagnostics
        .sort_by_key(|d| (d.range.start, d.range.end));
    Arc::new(with)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::DiskLoader;
    use crate::analysis::{Code, Environment};

    const LIB: &str = "{% macro service(name) %}\n[service.{{ name }}]\nimage = \"x\"\nports = \"oops\"\n{% endmacro service %}\n";

    fn test_file(service: &str) -> String {
        format!("{{% import \"_lib.toml.tera\" as m %}}\n[meta]\nname = \"t\"\nversion = \"1\"\n{{{{ m::service(name=\"{service}\") }}}}\n[[scenario]]\nname = \"a\"\nservice = \"{service}\"\nrun = \"true\"\n")
    }

    /// A workspace with `_lib.toml.tera` and the given test files.
    fn workspace(tests: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("_lib.toml.tera"), LIB).unwrap();
        for (name, text) in tests {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    /// The importers of `lib` in a fresh scan of workspace `root`.
    fn importers_of(
        lib: &Path,
        root: &Path,
        loader: &dyn SourceLoader,
    ) -> Vec<(PathBuf, Arc<str>)> {
        TestScan::of(root, loader).importers(lib, root, loader)
    }

    /// What the importers in workspace `root` find in its `_lib.toml.tera`.
    fn findings_in(root: &Path) -> Vec<Diagnostic> {
        let analyzer = Analyzer::new(Environment::empty());
        let lib = root.join("_lib.toml.tera");
        let importers = importers_of(&lib, root, &DiskLoader);
        findings_from(&lib, root, &[], importers, &analyzer, &DiskLoader)
    }

    #[test]
    fn a_mistake_in_a_macro_body_is_a_finding_on_the_library_naming_its_importer() {
        let dir = workspace(&[("a.clnrm.toml.tera", &test_file("db"))]);
        let found = findings_in(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        let d = &found[0];
        assert_eq!(d.code, Code::InvalidType);
        assert_eq!(&LIB[d.range.clone()], "\"oops\"");
        let r = &d.related[0];
        let importer = r.file.as_ref().unwrap();
        assert!(importer.path.ends_with("a.clnrm.toml.tera"));
        assert!(importer.text[r.range.clone()].contains("m::service"));
        assert!(
            r.message.contains("`a.clnrm.toml.tera` renders it here"),
            "{}",
            r.message
        );
    }

    #[test]
    fn one_finding_however_many_importers_each_named() {
        let text = test_file("db");
        let dir = workspace(&[("a.clnrm.toml.tera", &text), ("b.clnrm.toml.tera", &text)]);
        let found = findings_in(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        let named: Vec<_> = found[0]
            .related
            .iter()
            .map(|r| {
                r.file
                    .as_ref()
                    .unwrap()
                    .path
                    .file_name()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(named, ["a.clnrm.toml.tera", "b.clnrm.toml.tera"]);
    }

    #[test]
    fn importers_beyond_the_named_ones_are_counted() {
        let mut lib = Library {
            diagnostics: Vec::new(),
            importers: Vec::new(),
        };
        for i in 0..(MAX_NAMED_IMPORTERS + 2) {
            let file = Arc::new(SourceFile {
                path: format!("/w/t{i}.clnrm.toml.tera").into(),
                text: "x".into(),
            });
            lib.add(Diagnostic::new(Code::InvalidType, 3..5, "bad"), file, 0..1);
        }
        let out = lib.finish();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].related.len(), MAX_NAMED_IMPORTERS);
        assert!(
            out[0].message.ends_with("(and through 2 more test files)"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn a_library_nobody_imports_has_no_importers() {
        let dir = workspace(&[(
            "other.clnrm.toml",
            "[meta]\nname = \"t\"\nversion = \"1\"\n",
        )]);
        let root = dir.path();
        assert!(importers_of(&root.join("_lib.toml.tera"), root, &DiskLoader).is_empty());
    }

    #[test]
    fn an_importer_through_another_library_is_an_importer() {
        let dir = workspace(&[(
            "a.clnrm.toml.tera",
            "{% include \"mid.toml.tera\" %}\n[meta]\nname = \"t\"\nversion = \"1\"\n",
        )]);
        let root = dir.path();
        std::fs::write(
            root.join("mid.toml.tera"),
            "{% include \"_lib.toml.tera\" %}\n",
        )
        .unwrap();
        let found = importers_of(&root.join("_lib.toml.tera"), root, &DiskLoader);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.ends_with("a.clnrm.toml.tera"));
    }

    #[test]
    fn one_scan_serves_every_library_of_a_workspace() {
        let dir = workspace(&[("a.clnrm.toml.tera", &test_file("db"))]);
        let root = dir.path();
        std::fs::write(root.join("_other.toml.tera"), "").unwrap();
        let scans = ImporterIndex::default();
        let lib = root.join("_lib.toml.tera");
        assert_eq!(scans.importers(&lib, root, &DiskLoader).len(), 1);
        // A test file written after the scan is not seen: the workspace was not walked again.
        let b = "{% import \"_other.toml.tera\" as o %}\n";
        std::fs::write(root.join("b.clnrm.toml.tera"), b).unwrap();
        let other = root.join("_other.toml.tera");
        assert!(scans.importers(&other, root, &DiskLoader).is_empty());
        assert_eq!(importers_of(&other, root, &DiskLoader).len(), 1);
    }

    #[test]
    fn an_open_library_shows_its_importers_findings_without_touching_the_cache() {
        let dir = workspace(&[("a.clnrm.toml.tera", &test_file("db"))]);
        let root = dir.path();
        let lib = root.join("_lib.toml.tera");
        let analyzer = Analyzer::new(Environment::empty());
        let origin = Origin {
            path: Some(&lib),
            workspace_root: Some(root),
            kind: None,
        };
        let own = analyzer.analyze(LIB, origin, &DiskLoader);
        assert!(own.diagnostics.is_empty());
        let shown = with_importer_findings(
            own,
            Some(&lib),
            Some(root),
            &ImporterIndex::default(),
            &analyzer,
            &DiskLoader,
        );
        assert_eq!(shown.diagnostics.len(), 1);
        assert!(analyzer
            .analyze(LIB, origin, &DiskLoader)
            .diagnostics
            .is_empty());
    }

    #[test]
    fn importers_are_scanned_once_until_a_change_makes_the_list_stale() {
        let dir = workspace(&[("a.clnrm.toml.tera", &test_file("db"))]);
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let lib = root.join("_lib.toml.tera");
        let index = ImporterIndex::default();
        let names = |found: Vec<(PathBuf, Arc<str>)>| -> Vec<String> {
            found
                .iter()
                .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(index.importers(&lib, &root, &DiskLoader)),
            ["a.clnrm.toml.tera"]
        );
        // A new importer on disk: not seen from the remembered list ...
        let b = root.join("b.clnrm.toml.tera");
        std::fs::write(&b, test_file("cache")).unwrap();
        assert_eq!(
            names(index.importers(&lib, &root, &DiskLoader)),
            ["a.clnrm.toml.tera"]
        );
        // ... until the editor says it imports the library (or files change on disk).
        index.imported_by(&lib, &b);
        let mut now = names(index.importers(&lib, &root, &DiskLoader));
        now.sort();
        assert_eq!(now, ["a.clnrm.toml.tera", "b.clnrm.toml.tera"]);
        std::fs::remove_file(&b).unwrap();
        index.clear();
        assert_eq!(
            names(index.importers(&lib, &root, &DiskLoader)),
            ["a.clnrm.toml.tera"]
        );
    }
}
