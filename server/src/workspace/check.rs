//! The `check` use case: discover, read, analyse in parallel with one shared [`Analyzer`],
//! and hand the reports on in path order (the CLI prints them; the benchmarks time them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::template::DiskLoader;
use crate::analysis::{Analyzer, FileKind, Severity};
use crate::documents::discover::{self, DiscoverError, Target};
use crate::workspace::libraries::{
    findings_from, is_library, without_repeats, ImporterIndex, LibraryFindings,
};
use crate::workspace::snapshot::SnapshotLoader;
use crate::workspace::{analyse_file, analyse_target, FileReport};

/// Everything `check` found: reports in path order, and the problems that make it exit 2.
#[derive(Debug, Default)]
pub struct CheckOutcome {
    pub files: Vec<FileReport>,
    pub errors: Vec<DiscoverError>,
}

/// Counts for the summary line and the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    /// Count one more file and its findings.
    pub fn add(&mut self, file: &FileReport) {
        self.files += 1;
        for d in &file.diagnostics {
            match d.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Information | Severity::Hint => self.infos += 1,
            }
        }
    }
}

impl CheckOutcome {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.files {
            s.add(f);
        }
        s
    }
}

/// Discover and check `paths`, holding every report (tests, and callers that need them all).
pub fn check_paths(paths: &[PathBuf], analyzer: &Analyzer) -> CheckOutcome {
    let mut files = Vec::new();
    let streamed = check_streaming(paths, analyzer, |f| files.push(f));
    CheckOutcome {
        files,
        errors: streamed.errors,
    }
}

/// Files in flight at most: analysed (or waiting to be handed on) ahead of the next one in
/// path order, so memory stays bounded whatever the number of files.
const WINDOW: usize = 256;

/// What a streamed check leaves once every report has been handed on.
#[derive(Debug, Default)]
pub struct Streamed {
    pub summary: Summary,
    pub errors: Vec<DiscoverError>,
}

/// Discover and check `paths`, handing each report to `emit` in path order as soon as it
/// and those before it are done (the benchmark calls this).
pub fn check_streaming(
    paths: &[PathBuf],
    analyzer: &Analyzer,
    mut emit: impl FnMut(FileReport) + Send,
) -> Streamed {
    check_shard_streaming(paths, analyzer, None, |_| (), |f, ()| emit(f))
}

/// [`check_streaming`] of one shard of the files (`check --shard I/N`): the files split
/// by count, the same way on every machine (by their workspace-relative paths). `prepare`
/// runs on the analysis thread of each report (the CLI formats its output there), `emit`
/// gets the report and what `prepare` made, in path order.
pub fn check_shard_streaming<T: Send>(
    paths: &[PathBuf],
    analyzer: &Analyzer,
    shard: Option<crate::runs::shard::Shard>,
    prepare: impl Fn(&FileReport) -> T + Sync,
    mut emit: impl FnMut(FileReport, T) + Send,
) -> Streamed {
    // One pool of analysis threads for the run: without it each file would start a
    // thread of its own for the analysis stack. Started first, so that its threads load
    // the schema and scan for importers while this one finds the files.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = crate::analysis::analysis_pool(threads, "clnrm-check").ok();
    // Each template read once, and the workspaces' test files scanned once for all the
    // libraries named in each.
    let run = Run {
        analyzer,
        loader: Arc::new(SnapshotLoader::new(DiskLoader)),
        importers: Arc::new(ImporterIndex::default()),
    };
    if let Some(pool) = &pool {
        // A library named here is reported with its importers' findings: scan their
        // workspace while the files are found (it is most of a library's check), first,
        // as the reports after the library wait for it. Not for a shard, which may not
        // hold the library.
        let named = if shard.is_none() { paths } else { &[] };
        for root in library_roots(named) {
            let (loader, importers) = (run.loader.clone(), run.importers.clone());
            pool.spawn(move || importers.scan(&root, &*loader));
        }
        pool.spawn(crate::analysis::schema::load);
    }
    let discover::Discovered {
        mut targets,
        mut errors,
        dirs,
    } = discover::discover_args(paths);
    // A checked workspace root's own configuration is checked too (bounds, typos).
    for dir in &dirs {
        let config = dir.join(crate::config::CONFIG_FILE);
        if config.is_file() && !targets.iter().any(|t| t.path == config) {
            let abs = crate::documents::fs::absolute(dir);
            targets.push(Target {
                path: config,
                root: crate::workspace::root::find_root(&abs),
                explicit: false,
            });
        }
    }
    if let Some(shard) = shard {
        use crate::runs::shard::{split, Item};
        let items: Vec<Item> = targets
            .iter()
            .map(|t| Item {
                id: super::root::workspace_relative(&t.root, &t.path),
                duration_ms: None,
            })
            .collect();
        let split = split(&items, shard.total);
        let mut i = 0;
        targets.retain(|_| {
            i += 1;
            split.contains(shard, i - 1)
        });
    }
    let mut summary = Summary::default();
    // Findings whose cause is in a library, from the test files checked so far.
    let mut in_libraries = LibraryFindings::default();
    // Libraries already reported (named ones, reported where they come in path order).
    let mut reported = Vec::new();
    let checked = |t: &Target| {
        let report = check_target(t, &run)?;
        let prepared = prepare(&report);
        Ok((report, prepared))
    };
    in_order(pool.as_ref(), &targets, checked, |t, r| match r {
        Ok((f, prepared)) => {
            if is_library(&f.path, t.explicit.then(|| FileKind::of_named(&t.path))) {
                reported.extend(absolute(&t.path));
            } else {
                let abs = absolute(&f.path).unwrap_or_else(|| f.path.clone());
                in_libraries.add(&abs, &f.text, &f.diagnostics);
            }
            summary.add(&f);
            emit(f, prepared);
        }
        Err(e) => errors.push(e),
    });
    // Libraries under a walked directory that the checked tests found mistakes in: after
    // the tests (their findings are known only once every importer is checked).
    let walked: Vec<(PathBuf, PathBuf)> = dirs
        .iter()
        .filter_map(|p| Some((absolute(p)?, p.clone())))
        .collect();
    for (lib, found) in in_libraries.into_libraries() {
        if reported.contains(&lib) {
            continue;
        }
        let Some((dir, arg)) = walked.iter().find(|(dir, _)| lib.starts_with(dir)) else {
            continue;
        };
        let shown = shown_path(arg, lib.strip_prefix(dir).unwrap_or(&lib));
        let root = crate::workspace::find_root(lib.parent().unwrap_or(&lib));
        match analyse_file(
            &shown,
            &root,
            Some(FileKind::TemplateLibrary),
            Some(&root),
            analyzer,
            &*run.loader,
        ) {
            Ok((mut f, _)) => {
                let found = without_repeats(found, &f.diagnostics);
                f.diagnostics.extend(found);
                f.diagnostics.sort_by_key(|d| (d.range.start, d.range.end));
                summary.add(&f);
                let prepared = prepare(&f);
                emit(f, prepared);
            }
            Err(e) => errors.push(e),
        }
    }
    Streamed { summary, errors }
}

/// `work` on each target on the pool's threads, and `sink` on each result in the targets'
/// order, called by whichever thread completes the next one in order (so no thread wakes
/// up per file); at most [`WINDOW`] in flight. A panic in `work` (outside the contained
/// analysis) becomes that file's error.
fn in_order<T: Send>(
    pool: Option<&rayon::ThreadPool>,
    targets: &[Target],
    work: impl Fn(&Target) -> Result<T, DiscoverError> + Sync,
    mut sink: impl FnMut(&Target, Result<T, DiscoverError>) + Send,
) {
    let guarded = |t: &Target| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(t))).unwrap_or_else(|_| {
            Err(DiscoverError {
                path: t.path.clone(),
                message: "internal error while checking this file (please report it)".into(),
            })
        })
    };
    let Some(pool) = pool else {
        targets.iter().for_each(|t| sink(t, guarded(t)));
        return;
    };
    let order = std::sync::Mutex::new(Order {
        sink,
        ready: std::collections::BTreeMap::new(),
        next: 0,
        spawned: 0,
    });
    let jobs = Jobs {
        targets,
        work: &guarded,
        order: &order,
    };
    pool.in_place_scope(|scope| jobs.spawn_more(scope));
}

/// Results waiting for their turn, and the one that hands them on.
struct Order<S, R> {
    sink: S,
    ready: std::collections::BTreeMap<usize, R>,
    /// The index of the next result to hand on.
    next: usize,
    spawned: usize,
}

/// What each job of [`in_order`] shares.
struct Jobs<'a, W, S, R> {
    targets: &'a [Target],
    work: &'a W,
    order: &'a std::sync::Mutex<Order<S, R>>,
}

impl<W, S, R> Clone for Jobs<'_, W, S, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<W, S, R> Copy for Jobs<'_, W, S, R> {}

impl<'a, W, S, R> Jobs<'a, W, S, R>
where
    W: Fn(&Target) -> R + Sync,
    S: FnMut(&Target, R) + Send,
    R: Send,
{
    fn lock(&self) -> std::sync::MutexGuard<'a, Order<S, R>> {
        self.order
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Spawn the jobs up to [`WINDOW`] past the next result to hand on.
    fn spawn_more<'s>(self, scope: &rayon::Scope<'s>)
    where
        'a: 's,
    {
        let range = {
            let mut o = self.lock();
            let end = (o.next + WINDOW).min(self.targets.len()).max(o.spawned);
            let range = o.spawned..end;
            o.spawned = end;
            range
        };
        for i in range {
            scope.spawn(move |scope| self.run(scope, i));
        }
    }

    fn run<'s>(self, scope: &rayon::Scope<'s>, i: usize)
    where
        'a: 's,
    {
        let result = (self.work)(&self.targets[i]);
        {
            let mut o = self.lock();
            o.ready.insert(i, result);
            loop {
                let next = o.next;
                let Some(result) = o.ready.remove(&next) else {
                    break;
                };
                (o.sink)(&self.targets[next], result);
                o.next += 1;
            }
        }
        self.spawn_more(scope);
    }
}

/// `path` made absolute and lexically normal.
fn absolute(path: &Path) -> Option<PathBuf> {
    Some(crate::documents::fs::normalize(
        &crate::documents::fs::absolute(path),
    ))
}

/// A walked entry as the walk shows it: `arg/rel`, without a leading `./`.
fn shown_path(arg: &Path, rel: &Path) -> PathBuf {
    let path = arg.join(rel);
    match path.strip_prefix(".") {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => path,
    }
}

/// What the files of one `check` run share.
struct Run<'a> {
    analyzer: &'a Analyzer,
    loader: Arc<SnapshotLoader<DiskLoader>>,
    importers: Arc<ImporterIndex>,
}

/// The workspace roots of the template libraries named in `paths` (by name, as
/// [`check_target`] will tell them, before anything is read), each once.
fn library_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut finder = crate::workspace::root::RootFinder::default();
    let mut roots: Vec<PathBuf> = Vec::new();
    for path in paths {
        if !is_library(path, Some(FileKind::of_named(path))) {
            continue;
        }
        let abs = crate::documents::fs::absolute(path);
        let root = finder.find(abs.parent().unwrap_or(&abs));
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    roots
}

/// One target's report. A template library also gets the findings its importers (the
/// workspace's test files that import or include it) have in it, on its own lines.
fn check_target(target: &Target, run: &Run<'_>) -> Result<FileReport, DiscoverError> {
    let (mut report, _) = analyse_target(target, run.analyzer, &*run.loader)?;
    let kind = target.explicit.then(|| FileKind::of_named(&target.path));
    if is_library(&target.path, kind) {
        if let Some(abs) = absolute(&target.path) {
            let importers = run.importers.importers(&abs, &target.root, &*run.loader);
            let found = findings_from(
                &abs,
                &target.root,
                &report.diagnostics,
                importers,
                run.analyzer,
                &*run.loader,
            );
            report.diagnostics.extend(found);
            report
                .diagnostics
                .sort_by_key(|d| (d.range.start, d.range.end));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Code, Environment};

    #[test]
    fn results_come_in_target_order_past_the_window_and_a_panic_is_that_files_error() {
        let targets: Vec<Target> = (0..3 * WINDOW)
            .map(|i| Target {
                path: PathBuf::from(format!("{i:04}.clnrm.toml")),
                root: PathBuf::from("/"),
                explicit: true,
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mut seen = Vec::new();
        in_order(
            Some(&pool),
            &targets,
            |t| {
                if t.path.as_os_str() == "0300.clnrm.toml" {
                    panic!("boom");
                }
                Ok(t.path.clone())
            },
            |t, r| seen.push((t.path.clone(), r)),
        );
        assert_eq!(seen.len(), targets.len());
        for (i, (path, r)) in seen.iter().enumerate() {
            assert_eq!(path, &targets[i].path);
            match r {
                Ok(p) => assert_eq!(p, path),
                Err(e) => {
                    assert_eq!(i, 300);
                    assert!(e.message.contains("internal error"), "{}", e.message);
                }
            }
        }
        assert!(seen[300].1.is_err());
    }

    #[test]
    fn a_toml_tera_named_explicitly_is_checked_as_a_test_but_not_when_walked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let file = dir.path().join("suite.toml.tera");
        std::fs::write(&file, "[meta]\nname = \"{{ svc }}\"\n").unwrap();
        let analyzer = Analyzer::new(Environment::empty());
        let named = check_paths(std::slice::from_ref(&file), &analyzer);
        let codes: Vec<_> = named.files[0].diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&Code::NoTests), "{codes:?}");
        // A walk never picks it up; a `_` partial named explicitly stays a library.
        assert!(check_paths(&[dir.path().to_path_buf()], &analyzer)
            .files
            .is_empty());
        let partial = dir.path().join("_macros.toml.tera");
        std::fs::write(&partial, "{% macro m() %}x{% endmacro m %}\n").unwrap();
        let lib = check_paths(&[partial], &analyzer);
        assert!(
            lib.files[0].diagnostics.is_empty(),
            "{:?}",
            lib.files[0].diagnostics
        );
    }

    const LIB: &str = "{% macro service(name) %}\n[service.{{ name }}]\nimage = \"x\"\nports = \"oops\"\n{% endmacro service %}\n";
    const TEST: &str = "{% import \"_lib.toml.tera\" as m %}\n[meta]\nname = \"t\"\nversion = \"1\"\n{{ m::service(name=\"db\") }}\n[[scenario]]\nname = \"a\"\nservice = \"db\"\nrun = \"true\"\n";

    fn workspace(lib: &str, tests: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("_lib.toml.tera"), lib).unwrap();
        for name in tests {
            std::fs::write(dir.path().join(name), TEST).unwrap();
        }
        dir
    }

    fn codes(f: &FileReport) -> Vec<Code> {
        f.diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn a_walk_reports_a_library_mistake_once_on_the_library_after_the_tests() {
        let dir = workspace(LIB, &["a.clnrm.toml.tera", "b.clnrm.toml.tera"]);
        let analyzer = Analyzer::new(Environment::empty());
        let out = check_paths(&[dir.path().to_path_buf()], &analyzer);
        let names: Vec<_> = out
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap())
            .collect();
        assert_eq!(
            names,
            ["a.clnrm.toml.tera", "b.clnrm.toml.tera", "_lib.toml.tera"]
        );
        let lib = &out.files[2];
        assert_eq!(codes(lib), [Code::InvalidType]);
        assert_eq!(&LIB[lib.diagnostics[0].range.clone()], "\"oops\"");
        assert_eq!(lib.diagnostics[0].related.len(), 2);
        assert_eq!(out.summary().files, 3);
    }

    #[test]
    fn a_library_named_alone_finds_its_importers_in_its_workspace() {
        let dir = workspace(LIB, &["a.clnrm.toml.tera"]);
        let analyzer = Analyzer::new(Environment::empty());
        let out = check_paths(&[dir.path().join("_lib.toml.tera")], &analyzer);
        assert_eq!(out.files.len(), 1);
        assert_eq!(codes(&out.files[0]), [Code::InvalidType]);
        // Named with its importer: still once, where it comes in path order.
        let both = [
            dir.path().join("a.clnrm.toml.tera"),
            dir.path().join("_lib.toml.tera"),
        ];
        let out = check_paths(&both, &analyzer);
        let names: Vec<_> = out
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap())
            .collect();
        assert_eq!(names, ["_lib.toml.tera", "a.clnrm.toml.tera"]);
        assert_eq!(codes(&out.files[0]), [Code::InvalidType]);
    }

    #[test]
    fn a_library_named_first_among_many_importers_waits_for_its_scan_without_losing_any() {
        // The scan starts ahead on the pool; the library comes first in path order, so its
        // check needs the scan at once and runs other files while it waits.
        let names: Vec<String> = (0..60)
            .map(|i| format!("t{i:02}.clnrm.toml.tera"))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let dir = workspace(LIB, &refs);
        let mut paths = vec![dir.path().join("_lib.toml.tera")];
        paths.extend(names.iter().map(|n| dir.path().join(n)));
        for _ in 0..5 {
            let analyzer = Analyzer::new(Environment::empty());
            let out = check_paths(&paths, &analyzer);
            assert_eq!(out.files.len(), 61);
            assert!(out.files[0].path.ends_with("_lib.toml.tera"));
            assert_eq!(codes(&out.files[0]), [Code::InvalidType]);
            // Five importers named on the finding, the rest counted.
            let d = &out.files[0].diagnostics[0];
            assert_eq!(d.related.len(), 5);
            assert!(
                d.message.ends_with("(and through 27 more test files)"),
                "{}",
                d.message
            );
            assert!(out.files[1..].windows(2).all(|w| w[0].path < w[1].path));
        }
    }

    #[test]
    fn a_broken_library_shows_its_syntax_error_once_and_its_callers_no_cascade() {
        let broken = "{% macro service(name) %}\n[service.{{ name }]\n{% endmacro service %}\n";
        let dir = workspace(broken, &["a.clnrm.toml.tera"]);
        let analyzer = Analyzer::new(Environment::empty());
        let out = check_paths(&[dir.path().to_path_buf()], &analyzer);
        let test = &out.files[0];
        assert_eq!(codes(test), [Code::RenderError], "{:?}", test.diagnostics);
        assert!(!test.diagnostics[0].message.contains("not defined"));
        // The library's own syntax error, not repeated from its importer.
        let lib = &out.files[1];
        let mut starts: Vec<_> = lib.diagnostics.iter().map(|d| d.range.start).collect();
        starts.dedup();
        assert_eq!(starts.len(), lib.diagnostics.len(), "{:?}", lib.diagnostics);
        assert!(lib.diagnostics.iter().any(|d| d.code == Code::TeraSyntax));
    }

    #[test]
    fn summary_counts_by_severity() {
        let report = crate::workspace::file::report_of(b"a = = 1\n");
        let outcome = CheckOutcome {
            files: vec![report],
            errors: Vec::new(),
        };
        let s = outcome.summary();
        assert_eq!(s.files, 1);
        assert!(s.errors >= 1);
    }
}
