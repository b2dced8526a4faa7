//! The owners' register: which clnrm-lsp processes have handed out run markers.
//!
//! An owner enters `<pid>.<start time>` here before its first run and leaves at a clean
//! exit, so an entry whose owner is gone is the only sign that runs may have left
//! processes behind. A command that starts no process (`check`) reads this directory and
//! scans every process's environment only when it finds such an entry: that scan is ~6 %
//! of `check`'s wall time on 124 files. A command that starts runs always scans (see
//! [`super::reaper::init`]), so an owner that could not register is still swept then.
//!
//! The register is `$TMPDIR/clnrm-lsp-<uid>/owners`, private to the user; one that is not
//! ours (another user made it) counts as unreadable, which means "sweep".

use std::path::{Path, PathBuf};

/// Where owners register.
fn default_dir() -> PathBuf {
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir()
        .join(format!("clnrm-lsp-{uid}"))
        .join("owners")
}

/// Enter `tag` (`<pid>.<start>`) in the register. Best effort: on failure the owner's
/// leftovers are swept by the next command that starts runs, not by a `check`.
pub fn register(tag: &str) {
    if let Err(e) = register_in(&default_dir(), tag) {
        tracing::warn!("cannot register as a run owner ({e}); `check` will not sweep what a killed run of this process leaves");
    }
}

/// Leave the register (a clean exit: our runs are gone).
pub fn unregister(tag: &str) {
    let _ = std::fs::remove_file(default_dir().join(tag));
}

/// The registered owners that `alive` says are gone, or `None` when the register cannot
/// be trusted (not ours, unreadable): then any owner may have died.
pub fn dead(alive: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    dead_in(&default_dir(), alive)
}

/// Drop the entries of `tags` (their leftovers were swept).
pub fn forget(tags: &[String]) {
    let dir = default_dir();
    for tag in tags {
        let _ = std::fs::remove_file(dir.join(tag));
    }
}

fn register_in(dir: &Path, tag: &str) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    if !ours(dir)? {
        return Err(std::io::Error::other(format!(
            "{} belongs to another user",
            dir.display()
        )));
    }
    std::fs::write(dir.join(tag), b"")
}

fn dead_in(dir: &Path, alive: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // Nobody ever registered here: no run of ours can have been left.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Vec::new()),
        Err(_) => return None,
    };
    if !ours(dir).ok()? {
        return None;
    }
    let mut gone = Vec::new();
    for entry in entries {
        let name = entry.ok()?.file_name();
        // Anything else in the directory is not an entry of ours.
        if let Some(tag) = name.to_str().filter(|t| is_tag(t)) {
            if !alive(tag) {
                gone.push(tag.to_string());
            }
        }
    }
    Some(gone)
}

/// `<pid>.<start>`, both decimal.
fn is_tag(name: &str) -> bool {
    name.split_once('.').is_some_and(|(pid, start)| {
        [pid, start]
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Whether `dir` is a real directory (not a link) of this user, writable by no one else.
fn ours(dir: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    Ok(meta.is_dir() && meta.uid() == uid && meta.mode() & 0o022 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_registered_owners_that_died_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("owners");
        // No register at all: no owner can have died.
        assert_eq!(dead_in(&dir, |_| false), Some(vec![]));
        register_in(&dir, "100.7").unwrap();
        register_in(&dir, "200.9").unwrap();
        std::fs::write(dir.join("notes.txt"), "").unwrap();
        let mut gone = dead_in(&dir, |tag| tag == "100.7").unwrap();
        gone.sort();
        assert_eq!(gone, ["200.9"]);
        assert_eq!(dead_in(&dir, |_| true), Some(vec![]));
    }

    #[test]
    fn a_register_others_can_write_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("owners");
        register_in(&dir, "100.7").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(dead_in(&dir, |_| true), None, "anyone could hide an entry");
        assert!(register_in(&dir, "100.8").is_err());
        // A link to a directory is not the register either.
        let link = tmp.path().join("link");
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(dead_in(&link, |_| true), None);
    }

    #[test]
    fn tags_are_pid_dot_start() {
        assert!(is_tag("123.456"));
        for t in ["123", "123.", ".4", "1.2.3", "a.1", "notes.txt"] {
            assert!(!is_tag(t), "{t}");
        }
    }
}
