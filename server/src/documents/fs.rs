//! The one way we read a file: opened, not followed.
//!
//! - Symlinks are resolved first and, when a scope (workspace root, cache directory)
//!   applies, the resolved path must stay inside it.
//! - The *opened handle* must be a regular file (`fstat`, so the check and the read see the
//!   same file): the open uses `O_NONBLOCK`, so a FIFO fails fast instead of blocking, and
//!   `O_NOFOLLOW` on the resolved path, so a link swapped in after resolving is refused.
//! - The read is bounded (`take(limit + 1)`): `/dev/zero`, a growing file or a huge one
//!   is an error, never unbounded memory.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// The default read limit: far above any real test file, template, baseline or cache
/// entry, far below what would hurt.
pub const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// Configuration files (`.clnrm/config.toml`, `cleanroom.toml`) are small.
pub const CONFIG_READ_BYTES: u64 = 1024 * 1024;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Missing, permission denied, or another I/O error.
    Io(std::io::Error),
    /// What it is instead: "a FIFO", "a directory", "a character device"...
    NotRegular(&'static str),
    /// The path resolves (through symlinks) outside the directory it must stay in.
    Outside {
        resolved: PathBuf,
    },
    TooLarge {
        limit: u64,
    },
    NotUtf8,
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => f.write_str(&io_message(e)),
            Self::NotRegular(what) => write!(f, "is {what}, not a regular file"),
            Self::Outside { resolved } => {
                write!(f, "resolves outside the workspace ({})", resolved.display())
            }
            Self::TooLarge { limit } => {
                write!(f, "larger than the {} MiB limit", limit / (1024 * 1024))
            }
            Self::NotUtf8 => f.write_str("is not valid UTF-8"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<ReadError> for std::io::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(e) => e,
            other => std::io::Error::other(other.to_string()),
        }
    }
}

/// `No such file or directory (os error 2)` reads better without the errno suffix.
pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Read `path` (at most `limit` bytes). With `within`, the path's symlinks are resolved and
/// the result must lie inside `within` (itself resolved); without, a symlink named
/// explicitly (a command-line argument) is followed, but it must still end at a regular file.
pub fn read_bytes(path: &Path, within: Option<&Path>, limit: u64) -> Result<Vec<u8>, ReadError> {
    let (mut file, len) = open(path, within)?;
    // Sized from the file's length, one byte over: a read that comes back short once the
    // length is reached is the end of the file, without a read of 0 to prove it. A file
    // that grew meanwhile fills the buffer and is read on to its end (or the limit). Files
    // that give no length (`/proc`, which also reads a page at a time) are read to a 0.
    let expected = len.min(limit);
    let mut buf = vec![0u8; expected.saturating_add(1) as usize];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled as u64 > limit {
                return Err(ReadError::TooLarge { limit });
            }
            buf.resize(filled + (filled / 2).max(4096), 0);
        }
        let asked = buf.len() - filled;
        let got = match file.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        filled += got;
        if got == 0 || (len > 0 && got < asked && filled as u64 >= expected) {
            break;
        }
    }
    if filled as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    buf.truncate(filled);
    Ok(buf)
}

/// [`read_bytes`], as UTF-8 text.
pub fn read_text(path: &Path, within: Option<&Path>, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, within, limit)?).map_err(|_| ReadError::NotUtf8)
}

/// The opened regular file and its length.
fn open(path: &Path, within: Option<&Path>) -> Result<(File, u64), ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    let target = match within {
        Some(scope) => {
            if let Some(file) = open_beneath(path, scope, flags).map_err(ReadError::Io)? {
                return checked_file(file);
            }
            let resolved = resolve(path).map_err(ReadError::Io)?;
            // A resolved path has no links or `..` left: when it starts with the scope as
            // written, that is the scope's real directory, and resolving the scope (one
            // system call per component, for every read) can be skipped.
            let inside = resolved.starts_with(scope)
                || std::fs::canonicalize(scope).is_ok_and(|scope| resolved.starts_with(scope));
            if !inside {
                return Err(ReadError::Outside { resolved });
            }
            // Resolved: a link here now was swapped in after the check.
            flags |= libc::O_NOFOLLOW;
            resolved
        }
        None => path.to_path_buf(),
    };
    options.custom_flags(flags);
    let file = options.open(&target).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            ReadError::NotRegular("a symbolic link")
        } else {
            ReadError::Io(e)
        }
    })?;
    checked_file(file)
}

/// `file` and its length when it is a regular file.
fn checked_file(file: File) -> Result<(File, u64), ReadError> {
    let meta = file.metadata().map_err(ReadError::Io)?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok((file, meta.len()));
    }
    Err(ReadError::NotRegular(if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }))
}

/// `path` opened by the kernel under the rule "never leave `scope`" (`openat2` with
/// `RESOLVE_BENEATH`): links are followed, but a path that would end outside the scope is
/// refused, in one system call and without a race between checking and opening. `None`
/// when this cannot decide (the path is not written under the scope, a link leads out or
/// is absolute, the kernel has no `openat2`): the caller then resolves the path itself.
#[cfg(target_os = "linux")]
fn open_beneath(path: &Path, scope_path: &Path, flags: i32) -> std::io::Result<Option<File>> {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::ffi::OsStrExt;
    let Ok(rel) = path.strip_prefix(scope_path) else {
        return Ok(None);
    };
    let (Ok(rel), Ok(scope)) = (
        std::ffi::CString::new(rel.as_os_str().as_bytes()),
        std::ffi::CString::new(scope_path.as_os_str().as_bytes()),
    ) else {
        return Ok(None);
    };
    let Some(dir) = scope_handle(scope_path, &scope) else {
        return Ok(None);
    };
    // SAFETY: a zeroed `open_how` is valid (three integers); the fields are set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | flags) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2(2) with a valid directory descriptor, a NUL-terminated path and a
    // `struct open_how` of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            rel.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            // Escapes, absolute links, magic links, an old kernel or a filter: decide slowly.
            Some(
                libc::EXDEV | libc::ELOOP | libc::ENOSYS | libc::EPERM | libc::EINVAL | libc::E2BIG,
            ) => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(Some(unsafe { File::from_raw_fd(fd as i32) }))
}

/// Scope directories kept open for the life of the process, once
/// [`keep_scope_handles`] was called: one `open` and one `close` fewer per read.
#[cfg(target_os = "linux")]
static KEPT_SCOPES: std::sync::OnceLock<std::sync::Mutex<Vec<(PathBuf, ScopeHandle)>>> =
    std::sync::OnceLock::new();

#[cfg(target_os = "linux")]
type ScopeHandle = std::sync::Arc<std::os::fd::OwnedFd>;

/// At most this many scope directories are kept open (a run has one per workspace).
#[cfg(target_os = "linux")]
const MAX_KEPT_SCOPES: usize = 16;

/// Keep each scope directory open once opened, for a command that lives for milliseconds
/// (`check`). Not for the language server: a workspace directory replaced while it runs
/// must be read as it is now, not as it was.
pub fn keep_scope_handles() {
    #[cfg(target_os = "linux")]
    let _ = KEPT_SCOPES.set(std::sync::Mutex::new(Vec::new()));
}

/// An `O_PATH` handle on the scope directory (`c_path` is `path` for the system call).
#[cfg(target_os = "linux")]
fn scope_handle(path: &Path, c_path: &std::ffi::CStr) -> Option<ScopeHandle> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let open = || {
        // SAFETY: open(2) of a NUL-terminated path; the descriptor is owned right away.
        let fd = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        // SAFETY: `fd` is a descriptor we just opened and nothing else owns.
        (fd >= 0).then(|| std::sync::Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }))
    };
    let Some(kept) = KEPT_SCOPES.get() else {
        return open();
    };
    let mut kept = kept
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, fd)) = kept.iter().find(|(p, _)| p == path) {
        return Some(fd.clone());
    }
    let fd = open()?;
    if kept.len() < MAX_KEPT_SCOPES {
        kept.push((path.to_path_buf(), fd.clone()));
    }
    Some(fd)
}

#[cfg(not(target_os = "linux"))]
fn open_beneath(_: &Path, _: &Path, _: i32) -> std::io::Result<Option<File>> {
    Ok(None)
}

/// `path` with every symlink resolved, as `realpath` does, but in three system calls
/// instead of one per component: an `O_PATH` handle (nothing is opened for reading, so a
/// device has no say) and the kernel's name for it in `/proc/self/fd`. Without `/proc`,
/// `realpath`.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path)?;
    match std::fs::read_link(format!("/proc/self/fd/{}", handle.as_raw_fd())) {
        Ok(resolved) if resolved.is_absolute() => Ok(resolved),
        _ => std::fs::canonicalize(path),
    }
}

/// The working directory, read once: nothing in this program changes it, and paths are
/// made absolute (or shown relative to it) for every file.
pub fn working_dir() -> Option<&'static Path> {
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    CWD.get_or_init(|| std::env::current_dir().ok()).as_deref()
}

/// [`std::path::absolute`] against [`working_dir`], without asking the system for it each
/// time; `path` itself when neither works.
pub fn absolute(path: &Path) -> PathBuf {
    let joined;
    let path = match working_dir() {
        Some(cwd) if path.is_relative() => {
            joined = cwd.join(path);
            &joined
        }
        _ => path,
    };
    if is_plain_absolute(path) {
        // What `std::path::absolute` would rebuild component by component (a few hundred
        // paths per `check`, several times each).
        return path.to_path_buf();
    }
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// An absolute path that `std::path::absolute` returns as it is: no `.` component, no
/// doubled or trailing `/`.
fn is_plain_absolute(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let b = path.as_os_str().as_bytes();
    b.first() == Some(&b'/')
        && b.len() > 1
        && !b.ends_with(b"/")
        && !b.ends_with(b"/.")
        && !b.windows(2).any(|w| w == b"//")
        && !b.windows(3).any(|w| w == b"/./")
}

/// Test helpers shared by the modules that read through [`read_bytes`].
/// Write `bytes` to `path` atomically: a temp file in the same directory, flushed, then
/// renamed over the target, so readers see the old file or the new one, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Lexical normalization (`.` and `..`), so `a/./b/../c` and `a/c` are one key. Symlinks
/// are left alone: the editor and the template resolver both see the path as written.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
pub mod testing {
    use std::path::Path;

    /// Make a FIFO at `path` (nobody ever writes to it: a blocking open would hang).
    pub fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let mut c = path.as_os_str().as_bytes().to_vec();
        c.push(0);
        // SAFETY: a NUL-terminated path.
        let rc = unsafe { libc::mkfifo(c.as_ptr().cast(), 0o600) };
        assert_eq!(rc, 0, "mkfifo {}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::testing::mkfifo;
    use super::*;

    #[test]
    fn plain_absolute_paths_are_what_std_makes_of_them() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/a/b/",
            "/a//b",
            "/a/./b",
            "/a/.",
            "/a/..",
            "/a/../b",
            "//a",
            "///a",
            "/.",
            "/./a",
            "/a/.b",
            "/a/b.",
            "/a/...",
            "/é/ü",
            "/a/b/c.clnrm.toml",
        ] {
            let path = Path::new(p);
            if is_plain_absolute(path) {
                assert_eq!(std::path::absolute(path).unwrap(), path, "{p}");
            }
            assert_eq!(absolute(path), std::path::absolute(path).unwrap(), "{p}");
        }
    }

    #[test]
    fn reads_a_regular_file_inside_the_scope() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "hello").unwrap();
        let got = read_text(&dir.path().join("a"), Some(dir.path()), 100).unwrap();
        assert_eq!(got, "hello");
        // A link that stays inside is fine.
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        assert_eq!(
            read_text(&dir.path().join("b"), Some(dir.path()), 100).unwrap(),
            "hello"
        );
    }

    #[test]
    fn refuses_a_symlink_out_of_the_scope() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s3cret").unwrap();
        let ws = tempfile::tempdir().unwrap();
        let link = ws.path().join("inc.tera");
        std::os::unix::fs::symlink(outside.path().join("secret"), &link).unwrap();
        let e = read_text(&link, Some(ws.path()), 100).unwrap_err();
        assert!(matches!(e, ReadError::Outside { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("resolves outside the workspace ("),
            "{e}"
        );
    }

    #[test]
    fn every_way_out_of_the_scope_is_refused_and_every_way_within_is_read() {
        ways_out_and_within();
    }

    #[test]
    fn scopes_kept_open_for_a_check_refuse_and_read_the_same() {
        keep_scope_handles();
        // Twice: the second round reads through the handles kept by the first.
        ways_out_and_within();
        ways_out_and_within();
    }

    #[test]
    fn files_without_a_length_are_read_to_their_end() {
        // `/proc/PID/environ` has no length and is read a page at a time: a long
        // environment must come back whole (the orphan sweep looks for its marker in it).
        let big = "x".repeat(20_000);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("CLNRM_LSP_TEST_BIG", &big)
            .env("CLNRM_LSP_TEST_LAST", "found")
            .spawn()
            .unwrap();
        let environ = Path::new("/proc")
            .join(child.id().to_string())
            .join("environ");
        // Until the child is through `exec`, its environment reads empty.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let read = loop {
            let read = read_bytes(&environ, None, 1024 * 1024);
            if read.as_ref().map_or(true, |r| !r.is_empty()) || std::time::Instant::now() > deadline
            {
                break read;
            }
            std::thread::yield_now();
        };
        child.kill().unwrap();
        child.wait().unwrap();
        let read = String::from_utf8_lossy(&read.unwrap()).into_owned();
        assert!(read.len() > 20_000, "{} bytes", read.len());
        assert!(read.contains(&format!("CLNRM_LSP_TEST_BIG={big}\0")));
        assert!(read.contains("CLNRM_LSP_TEST_LAST=found\0"));
    }

    fn ways_out_and_within() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s3cret").unwrap();
        let ws = tempfile::tempdir().unwrap();
        let root = ws.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/lib.tera"), "lib").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).unwrap();
            root.join(name)
        };
        let read = |path: &Path| read_text(path, Some(&root), 100);
        // Out: `..` past the scope, a linked directory, a relative link climbing out (the
        // two temporary directories are siblings).
        let outside_dir = outside.path().canonicalize().unwrap();
        let sibling = Path::new("..").join(outside_dir.file_name().unwrap());
        for path in [
            root.join("sub/..").join(&sibling).join("secret"),
            link(&outside_dir, "dir").join("secret"),
            link(&sibling.join("secret"), "rel"),
        ] {
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret");
            let e = read(&path).unwrap_err();
            assert!(matches!(e, ReadError::Outside { .. }), "{path:?}: {e}");
            assert!(!e.to_string().contains("s3cret"));
        }
        // Within: `..` that stays inside, a chain of relative links, an absolute link.
        link(Path::new("sub/lib.tera"), "one");
        assert_eq!(read(&root.join("sub/../sub/lib.tera")).unwrap(), "lib");
        assert_eq!(read(&link(Path::new("one"), "two")).unwrap(), "lib");
        assert_eq!(
            read(&link(&root.join("sub/lib.tera"), "abs")).unwrap(),
            "lib"
        );
    }

    #[test]
    fn dev_zero_and_fifos_fail_fast() {
        let ws = tempfile::tempdir().unwrap();
        let zero = ws.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(
            read_bytes(&zero, None, 100).unwrap_err().to_string(),
            "is a character device, not a regular file"
        );
        // Inside a scope, /dev/zero is first of all outside it.
        assert!(matches!(
            read_bytes(&zero, Some(ws.path()), 100).unwrap_err(),
            ReadError::Outside { .. }
        ));
        let fifo = ws.path().join("fifo");
        mkfifo(&fifo);
        for within in [None, Some(ws.path())] {
            assert_eq!(
                read_bytes(&fifo, within, 100).unwrap_err().to_string(),
                "is a FIFO, not a regular file"
            );
        }
        assert_eq!(
            read_bytes(ws.path(), None, 100).unwrap_err().to_string(),
            "is a directory, not a regular file"
        );
    }

    #[test]
    fn the_read_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'x'; 3 * 1024 * 1024]).unwrap();
        assert_eq!(
            read_bytes(&p, None, 2 * 1024 * 1024)
                .unwrap_err()
                .to_string(),
            "larger than the 2 MiB limit"
        );
        assert_eq!(
            read_bytes(&p, None, 3 * 1024 * 1024).unwrap().len(),
            3 * 1024 * 1024
        );
    }

    #[test]
    fn missing_and_non_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_bytes(&dir.path().join("nope"), Some(dir.path()), 10).unwrap_err();
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "no such file or directory");
        std::fs::write(dir.path().join("bin"), [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_text(&dir.path().join("bin"), None, 10).unwrap_err(),
            ReadError::NotUtf8
        ));
    }
}
