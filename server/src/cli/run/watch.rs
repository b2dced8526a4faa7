//! `clnrm-lsp run --watch`: run once, then watch the workspace roots and re-run what each
//! debounced batch of changes affects: a changed test file, and the test files whose latest
//! analysis imports or includes a changed template. Unchanged scenarios come back from the
//! result cache at once. Runs until interrupted (Ctrl-C's default action ends it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};

use super::{report_problems, Printer, Problems, RunCommand};
use crate::cli::write_stdout;
use crate::documents::discover::{self, Target};
use crate::workspace::{classify, find_root, ChangeKind};

/// A watched workspace root and the `[watch] ignore` patterns that apply under it.
struct Root {
    path: PathBuf,
    ignore: Vec<glob::Pattern>,
}

pub fn watch(paths: &[PathBuf], command: &mut RunCommand, printer: Printer) -> ExitCode {
    let (targets, errors) = discover::discover(paths);
    let mut problems = Problems {
        errors,
        ..Problems::default()
    };
    let report = command.run(&targets, &mut problems);
    report_problems(&problems);
    if !problems.unknown_scenarios.is_empty() {
        return ExitCode::from(2);
    }
    if write_stdout(&printer.render(&report)) != ExitCode::SUCCESS {
        return ExitCode::from(2);
    }

    let roots = roots(paths, &targets, command);
    if roots.is_empty() {
        eprintln!("clnrm-lsp: nothing to watch");
        return ExitCode::from(2);
    }
    let debounce = roots
        .first()
        .map_or(300, |r| command.project(&r.path).config.watch.debounce_ms);
    let (tx, rx) = mpsc::channel::<notify::Result<Event>>();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("clnrm-lsp: cannot watch for changes: {e}");
            return ExitCode::from(2);
        }
    };
    for root in &roots {
        if let Err(e) = watcher.watch(&root.path, RecursiveMode::Recursive) {
            eprintln!("clnrm-lsp: cannot watch {}: {e}", root.path.display());
            return ExitCode::from(2);
        }
    }
    eprintln!(
        "clnrm-lsp: watching {} for changes (Ctrl-C to stop)",
        roots
            .iter()
            .map(|r| r.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let quiet = Duration::from_millis(debounce.max(1));
    while let Some(changed) = next_batch(&rx, quiet, &|p| !ignored(&roots, p)) {
        if changed.iter().any(|p| classify(p) == ChangeKind::Config) {
            command.reopen_projects();
        }
        let affected = affected(paths, &changed, command);
        if affected.is_empty() {
            continue;
        }
        let mut problems = Problems::default();
        let report = command.run(&affected, &mut problems);
        report_problems(&problems);
        if write_stdout(&printer.render(&report)) != ExitCode::SUCCESS {
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// The next debounced batch of changed paths: block for a relevant change, then collect
/// until `quiet` passes without another. Reads (our own analysis opens the files) and
/// paths `keep` rejects neither start nor extend a batch, so runs cannot trigger themselves.
/// `None` when the watcher is gone.
fn next_batch(
    rx: &Receiver<notify::Result<Event>>,
    quiet: Duration,
    keep: &dyn Fn(&Path) -> bool,
) -> Option<BTreeSet<PathBuf>> {
    let mut paths = BTreeSet::new();
    let take = |event: notify::Result<Event>, paths: &mut BTreeSet<PathBuf>| match event {
        Ok(e) if is_change(&e.kind) => {
            let kept: Vec<PathBuf> = e.paths.into_iter().filter(|p| keep(p)).collect();
            let relevant = !kept.is_empty();
            paths.extend(kept);
            relevant
        }
        Ok(_) => false,
        Err(e) => {
            eprintln!("clnrm-lsp: watch error: {e}");
            false
        }
    };
    while paths.is_empty() {
        let event = rx.recv().ok()?;
        take(event, &mut paths);
    }
    let mut deadline = Instant::now() + quiet;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(event) => {
                if take(event, &mut paths) {
                    deadline = Instant::now() + quiet;
                }
            }
            Err(RecvTimeoutError::Timeout) => return Some(paths),
            Err(RecvTimeoutError::Disconnected) => return Some(paths),
        }
    }
}

/// Whether an event can change what a run sees: not an open or a read.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// The workspace roots of the arguments and of the files found, each with its ignores.
fn roots(paths: &[PathBuf], targets: &[Target], command: &mut RunCommand) -> Vec<Root> {
    let mut set: BTreeSet<PathBuf> = targets.iter().map(|t| t.root.clone()).collect();
    for p in paths {
        if let Ok(abs) = std::path::absolute(p) {
            if abs.is_dir() {
                set.insert(find_root(&abs));
            }
        }
    }
    set.into_iter()
        .map(|path| {
            let project = command.project(&path);
            let ignore = project
                .config
                .watch
                .ignore
                .iter()
                .filter_map(|g| match glob::Pattern::new(g) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        eprintln!("clnrm-lsp: [watch] ignore pattern `{g}`: {e}");
                        None
                    }
                })
                .collect();
            Root { path, ignore }
        })
        .collect()
}

/// Whether `path` matches an ignore pattern of the innermost root holding it.
fn ignored(roots: &[Root], path: &Path) -> bool {
    let Some((root, rel)) = roots
        .iter()
        .filter_map(|r| path.strip_prefix(&r.path).ok().map(|rel| (r, rel)))
        .min_by_key(|(_, rel)| rel.components().count())
    else {
        return false;
    };
    root.ignore.iter().any(|g| g.matches_path(rel))
}

/// The test files (re-discovered, so new files count) a batch of changes affects.
fn affected(paths: &[PathBuf], changed: &BTreeSet<PathBuf>, command: &RunCommand) -> Vec<Target> {
    let sources = changed.iter().filter(|c| classify(c) == ChangeKind::Source);
    let mut hit: BTreeSet<PathBuf> = sources.clone().cloned().collect();
    for c in sources {
        hit.extend(command.dependents(c));
    }
    let (targets, _) = discover::discover(paths);
    targets
        .into_iter()
        .filter(|t| {
            std::path::absolute(&t.path)
                .map(|abs| hit.contains(&abs))
                .unwrap_or(false)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};

    fn event(kind: EventKind, path: &str) -> notify::Result<Event> {
        Ok(Event::new(kind).add_path(PathBuf::from(path)))
    }

    /// No timing assumption: a rendezvous channel (capacity 0) makes each `send` return
    /// only once `next_batch` has taken the event, so the test knows what it has seen. The
    /// quiet window is long, so only a thread stalled for seconds could split the batch.
    #[test]
    fn batches_collect_changes_and_skip_reads_and_ignored_paths() {
        let (tx, rx) = mpsc::sync_channel(0);
        let modify = EventKind::Modify(ModifyKind::Any);
        let sender = std::thread::spawn(move || {
            let open = EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any));
            // Neither a read nor an ignored path starts a batch ...
            tx.send(event(open, "/ws/a.clnrm.toml")).unwrap();
            tx.send(event(modify, "/ws/.clnrm/cache/x")).unwrap();
            // ... the first change does, and a change taken while it collects joins it.
            tx.send(event(modify, "/ws/a.clnrm.toml")).unwrap();
            tx.send(event(
                EventKind::Create(CreateKind::File),
                "/ws/b.clnrm.toml",
            ))
            .unwrap();
            tx
        });
        let keep = |p: &Path| !p.starts_with("/ws/.clnrm");
        let batch = next_batch(&rx, Duration::from_secs(2), &keep).unwrap();
        let tx = sender.join().unwrap();
        let want: BTreeSet<PathBuf> = ["/ws/a.clnrm.toml", "/ws/b.clnrm.toml"]
            .into_iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(batch, want);
        drop(tx);
        assert_eq!(next_batch(&rx, Duration::from_millis(10), &keep), None);
    }

    /// A batch ends when the window passes quietly, not when the channel runs dry: events
    /// already waiting all count; a later change starts the next batch.
    #[test]
    fn a_quiet_window_ends_the_batch() {
        let (tx, rx) = mpsc::channel();
        let modify = EventKind::Modify(ModifyKind::Any);
        tx.send(event(modify, "/ws/a.clnrm.toml")).unwrap();
        tx.send(event(modify, "/ws/b.clnrm.toml")).unwrap();
        let keep = |_: &Path| true;
        let first = next_batch(&rx, Duration::from_millis(10), &keep).unwrap();
        assert_eq!(first.len(), 2, "{first:?}");
        tx.send(event(modify, "/ws/c.clnrm.toml")).unwrap();
        let second = next_batch(&rx, Duration::from_millis(10), &keep).unwrap();
        assert_eq!(second, BTreeSet::from([PathBuf::from("/ws/c.clnrm.toml")]));
    }

    #[test]
    fn ignores_apply_relative_to_the_root() {
        let roots = vec![Root {
            path: PathBuf::from("/ws"),
            ignore: vec![
                glob::Pattern::new(".clnrm/**").unwrap(),
                glob::Pattern::new("**/*.swp").unwrap(),
            ],
        }];
        assert!(ignored(&roots, Path::new("/ws/.clnrm/cache/x.json")));
        assert!(ignored(&roots, Path::new("/ws/tests/.a.clnrm.toml.swp")));
        assert!(!ignored(&roots, Path::new("/ws/tests/a.clnrm.toml")));
        assert!(!ignored(&roots, Path::new("/elsewhere/.clnrm/x")));
    }
}
