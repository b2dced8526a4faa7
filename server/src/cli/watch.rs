//! `clnrm-lsp run --watch`: run once, then watch the workspace roots and re-run what each
//! debounced batch of changes affects: a changed test file, and the test files whose latest
//! analysis imports or includes a changed template. Unchanged scenarios come back from the
//! result cache at once. Runs until interrupted (Ctrl-C's default action ends it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult};

use super::run::{report_problems, Printer, Problems, Session};
use super::write_stdout;
use crate::config::find_root;
use crate::documents::discover::{self, Target};

/// A watched workspace root and the `[watch] ignore` patterns that apply under it.
struct Root {
    path: PathBuf,
    ignore: Vec<glob::Pattern>,
}

pub fn watch(paths: &[PathBuf], session: &mut Session, printer: Printer) -> ExitCode {
    let (targets, errors) = discover::discover(paths);
    let mut problems = Problems {
        errors,
        ..Problems::default()
    };
    let report = session.run(&targets, &mut problems);
    report_problems(&problems);
    if !problems.unknown_scenarios.is_empty() {
        return ExitCode::from(2);
    }
    if write_stdout(&printer.render(&report)) != ExitCode::SUCCESS {
        return ExitCode::from(2);
    }

    let roots = roots(paths, &targets, session);
    if roots.is_empty() {
        eprintln!("clnrm-lsp: nothing to watch");
        return ExitCode::from(2);
    }
    let debounce = roots
        .first()
        .map_or(300, |r| session.project(&r.path).config.watch.debounce_ms);
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = match new_debouncer(Duration::from_millis(debounce.max(1)), tx) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("clnrm-lsp: cannot watch for changes: {e}");
            return ExitCode::from(2);
        }
    };
    for root in &roots {
        if let Err(e) = debouncer
            .watcher()
            .watch(&root.path, RecursiveMode::Recursive)
        {
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

    while let Ok(batch) = rx.recv() {
        let events = match batch {
            Ok(events) => events,
            Err(e) => {
                eprintln!("clnrm-lsp: watch error: {e}");
                continue;
            }
        };
        let changed: BTreeSet<PathBuf> = events
            .into_iter()
            .map(|e| e.path)
            .filter(|p| !ignored(&roots, p))
            .collect();
        if changed.is_empty() {
            continue;
        }
        let affected = affected(paths, &changed, session);
        if affected.is_empty() {
            continue;
        }
        let mut problems = Problems::default();
        let report = session.run(&affected, &mut problems);
        report_problems(&problems);
        if write_stdout(&printer.render(&report)) != ExitCode::SUCCESS {
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// The workspace roots of the arguments and of the files found, each with its ignores.
fn roots(paths: &[PathBuf], targets: &[Target], session: &mut Session) -> Vec<Root> {
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
            let project = session.project(&path);
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
fn affected(paths: &[PathBuf], changed: &BTreeSet<PathBuf>, session: &Session) -> Vec<Target> {
    let mut hit: BTreeSet<PathBuf> = changed.clone();
    for c in changed {
        hit.extend(session.dependents(c));
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
