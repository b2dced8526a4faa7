//! Host processes for runs: each command leads its own session and process group
//! (`setsid`), so a timeout or a cancel can stop it *and every child* with `killpg`:
//! SIGTERM first, SIGKILL after a grace period (children that ignore SIGTERM die too).
//! Memory and CPU limits are applied as rlimits before `exec`; output is captured with a
//! size cap that keeps the tail. Daemons that leave the group are found by their run
//! marker and killed too; the leader dies with us ([`super::reaper`]).

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared stop flag: set by a newer save of the same file or by shutdown.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Resource limits applied with `setrlimit` in the child.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rlimits {
    /// RLIMIT_AS, bytes.
    pub memory_bytes: Option<u64>,
    /// RLIMIT_CPU, seconds of CPU time.
    pub cpu_seconds: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment: nothing is inherited.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub kill_grace: Duration,
    pub limits: Rlimits,
    /// Bytes kept of stdout and of stderr each (the last ones).
    pub output_cap: usize,
    /// Yield the CPU to the foreground (an editor's typing): nice 10 and, where the kernel
    /// groups sessions for scheduling (autogroup), the session's nice at 19 — the
    /// process's own nice counts only inside its session there.
    pub background: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessOutcome {
    /// Exit code, when the process exited (not killed by a signal).
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Bytes dropped from the head of stdout/stderr by the cap.
    pub truncated: bool,
    pub duration: Duration,
    pub timed_out: bool,
    pub cancelled: bool,
    /// The process could not be started.
    pub spawn_error: Option<String>,
}

/// Keeps the last `cap` bytes written, counting what was dropped.
struct Tail {
    buf: Vec<u8>,
    cap: usize,
    dropped: bool,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if self.buf.len() > self.cap {
            let excess = self.buf.len() - self.cap;
            self.buf.drain(..excess);
            self.dropped = true;
        }
    }
}

fn drain(
    mut from: impl Read + Send + 'static,
    cap: usize,
) -> (Arc<Mutex<Tail>>, mpsc::Receiver<()>) {
    let tail = Arc::new(Mutex::new(Tail {
        buf: Vec::new(),
        cap,
        dropped: false,
    }));
    let (done_tx, done_rx) = mpsc::channel();
    let sink = tail.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match from.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(&chunk[..n]),
            }
        }
        let _ = done_tx.send(());
    });
    (tail, done_rx)
}

fn take(tail: &Mutex<Tail>) -> (String, bool) {
    let t = tail.lock().unwrap_or_else(|p| p.into_inner());
    (String::from_utf8_lossy(&t.buf).into_owned(), t.dropped)
}

/// Process groups of runs in flight. Runs live in their own sessions, so neither a
/// terminal's Ctrl-C nor the death of this process reaches them: whoever ends the process
/// calls [`kill_all`] first.
static RUNNING: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn running() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    RUNNING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wait for exited children that are not runs of ours: orphans adopted as subreaper
/// (podman's `conmon` daemonizes, so each container's monitor is reparented to us and
/// stays a zombie when it exits unless we wait for it). A run's own leader is waited for
/// by its `Child`.
pub fn reap_orphans() -> usize {
    let ours = running();
    super::reaper::reap_exited_children(|pid| !ours.contains(&pid))
}

/// SIGKILL every run still in flight, then remove what they leave behind that a signal
/// does not reach: their containers (the engine owns them) and their run directories
/// (at exit, on SIGINT/SIGTERM/SIGHUP).
pub fn kill_all() {
    // One cleanup at a time: a second caller (the main thread finishing while the signal
    // handler cleans up) waits until the containers are gone instead of exiting first.
    static CLEANING: Mutex<()> = Mutex::new(());
    let _one = CLEANING.lock().unwrap_or_else(|p| p.into_inner());
    for pgid in std::mem::take(&mut *running()) {
        killpg(pgid, libc::SIGKILL);
    }
    let leftovers = std::mem::take(&mut *leftovers());
    for (cli, names) in leftovers.containers {
        remove_containers(&cli, names.into_iter().collect(), Duration::from_secs(20));
        // A `run` killed while the engine was creating its container may still create it.
        let owned = owned_containers(&cli, Some(owner()));
        remove_containers(&cli, owned, Duration::from_secs(20));
    }
    for dir in leftovers.dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    // Last, after the engine calls above: whatever our runs left outside their groups.
    super::reaper::kill_own();
    super::reaper::leave_register();
}

/// Containers and run directories in use, removed by [`kill_all`] if still there.
#[derive(Default)]
struct Leftovers {
    /// By engine CLI.
    containers: std::collections::BTreeMap<String, BTreeSet<String>>,
    dirs: BTreeSet<PathBuf>,
}

static LEFTOVERS: Mutex<Leftovers> = Mutex::new(Leftovers {
    containers: std::collections::BTreeMap::new(),
    dirs: BTreeSet::new(),
});

fn leftovers() -> std::sync::MutexGuard<'static, Leftovers> {
    LEFTOVERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A container `name` of engine `cli` exists until [`forget_container`].
pub fn track_container(cli: &str, name: &str) {
    leftovers()
        .containers
        .entry(cli.to_string())
        .or_default()
        .insert(name.to_string());
}

pub fn forget_container(cli: &str, name: &str) {
    if let Some(names) = leftovers().containers.get_mut(cli) {
        names.remove(name);
    }
}

/// A fresh run directory in the temp dir, named for its owner (so a dead owner's is swept)
/// and removed by [`kill_all`] if the process ends while it exists.
pub struct RunDir(tempfile::TempDir);

impl RunDir {
    pub fn new() -> std::io::Result<RunDir> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{RUN_DIR_PREFIX}{}-", owner().tag()))
            .tempdir()?;
        leftovers().dirs.insert(dir.path().to_path_buf());
        Ok(RunDir(dir))
    }

    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        leftovers().dirs.remove(self.0.path());
    }
}

/// This process as an owner of containers and run directories: pid and start time (clock
/// ticks since boot), so a recycled pid is not mistaken for the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub start: u64,
}

impl Owner {
    /// `<pid>-<start>`: part of container names and run-directory names.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.pid, self.start)
    }

    /// The owner in a name made with [`Owner::tag`] after `prefix`.
    pub fn parse(name: &str, prefix: &str) -> Option<Owner> {
        let rest = name.strip_prefix(prefix)?;
        let mut parts = rest.splitn(3, '-');
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        Some(Owner { pid, start })
    }

    /// The process is still running (and is the same process).
    pub fn alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

/// Field 22 of `/proc/<pid>/stat` (after the parenthesised command name).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

pub fn owner() -> Owner {
    static OWNER: std::sync::OnceLock<Owner> = std::sync::OnceLock::new();
    *OWNER.get_or_init(|| {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_time(pid).unwrap_or(0),
        }
    })
}

/// Label every container carries; its value is the owner's pid (the name has the rest).
pub const OWNER_LABEL: &str = "clnrm-lsp.owner";
/// Prefix of every container name: `clnrm-<pid>-<start>-<n>`.
pub const CONTAINER_PREFIX: &str = "clnrm-";
/// Prefix of run directories in the temp dir: `clnrm-run-<pid>-<start>-<random>`.
pub const RUN_DIR_PREFIX: &str = "clnrm-run-";

/// The user's environment for an engine CLI (`DOCKER_HOST`, `CONTAINER_HOST`,
/// `XDG_RUNTIME_DIR`, `HOME`, …): the engine is the user's, only the container is clean.
pub fn user_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Run an engine CLI command with the user's environment (short, bounded).
pub fn engine(argv: Vec<String>, timeout: Duration) -> ProcessOutcome {
    let cwd = std::env::temp_dir();
    let spec = ProcessSpec {
        argv,
        cwd,
        env: user_env(),
        timeout,
        kill_grace: Duration::from_millis(500),
        limits: Rlimits::default(),
        output_cap: 256 * 1024,
        background: false,
    };
    run_engine(&spec, &CancelToken::new())
}

/// Remove containers at once: `rm -f` (podman: `-t 0`, else it waits 10 s for a PID 1
/// that ignores SIGTERM).
pub fn remove_containers(cli: &str, names: Vec<String>, timeout: Duration) {
    if names.is_empty() {
        return;
    }
    let mut argv = vec![cli.to_string(), "rm".into(), "-f".into()];
    if cli.ends_with("podman") {
        argv.extend(["-t".into(), "0".into()]);
    }
    argv.extend(names);
    let out = engine(argv, timeout);
    if out.exit_code != Some(0) && !out.stderr.contains("no such container") {
        tracing::debug!("`{cli} rm -f` failed: {}", out.stderr.trim());
    }
}

/// Names of containers carrying [`OWNER_LABEL`]: of `owner`, or of owners no longer alive.
pub fn owned_containers(cli: &str, owner: Option<Owner>) -> Vec<String> {
    let filter = match owner {
        Some(o) => format!("label={OWNER_LABEL}={}", o.pid),
        None => format!("label={OWNER_LABEL}"),
    };
    let out = engine(
        vec![
            cli.into(),
            "ps".into(),
            "-a".into(),
            "--filter".into(),
            filter,
            "--format".into(),
            "{{.Names}}".into(),
        ],
        Duration::from_secs(10),
    );
    if out.exit_code != Some(0) {
        return Vec::new();
    }
    out.stdout
        .lines()
        .map(str::trim)
        .filter(|n| match Owner::parse(n, CONTAINER_PREFIX) {
            Some(o) => match owner {
                Some(me) => o == me,
                None => !o.alive(),
            },
            None => false,
        })
        .map(str::to_string)
        .collect()
}

/// Start-up sweep: remove containers and run directories left by owners no longer alive
/// (a killed server, a crashed CLI). `clis` are the engines to ask.
pub fn sweep_leftovers(clis: &[&str]) {
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if Owner::parse(name, RUN_DIR_PREFIX).is_some_and(|o| !o.alive()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    for cli in clis {
        let dead = owned_containers(cli, None);
        remove_containers(cli, dead, Duration::from_secs(30));
    }
}

fn killpg(pgid: i32, signal: i32) {
    // SAFETY: killpg only sends a signal; a stale group id fails with ESRCH.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: setrlimit with a valid pointer to an initialised struct.
    if unsafe { libc::setrlimit(resource, &lim) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Run `spec` to completion, timeout or cancel.
pub fn run(spec: &ProcessSpec, cancel: &CancelToken) -> ProcessOutcome {
    run_with(spec, cancel, true)
}

/// [`run`] for an engine CLI call that leaves a container running (`run -d`, `exec`,
/// `rm`): without the run marker, since the engine's container monitor (podman's
/// `conmon`) inherits the CLI's environment and must outlive the call; the container is
/// removed by name instead.
pub fn run_engine(spec: &ProcessSpec, cancel: &CancelToken) -> ProcessOutcome {
    run_with(spec, cancel, false)
}

fn run_with(spec: &ProcessSpec, cancel: &CancelToken, marked: bool) -> ProcessOutcome {
    let started = Instant::now();
    let Some((program, args)) = spec.argv.split_first() else {
        return ProcessOutcome {
            spawn_error: Some("empty command".into()),
            ..ProcessOutcome::default()
        };
    };
    let marker = super::reaper::new_marker();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if marked {
        cmd.env(super::reaper::RUN_MARKER, &marker);
    }
    let limits = spec.limits;
    let background = spec.background;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (setsid, prctl, getppid, setrlimit, setpriority,
    // open, write, close) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // Die with us: the signal comes when the spawning thread ends, and this thread
            // waits for the run. If we died before the prctl, do not start at all.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the owner exited"));
            }
            if background {
                // Best effort: a kernel without autogroup has no such file.
                libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                let fd = libc::open(c"/proc/self/autogroup".as_ptr(), libc::O_WRONLY);
                if fd >= 0 {
                    libc::write(fd, b"19".as_ptr().cast(), 2);
                    libc::close(fd);
                }
            }
            if let Some(bytes) = limits.memory_bytes {
                set_limit(libc::RLIMIT_AS, bytes)?;
            }
            if let Some(secs) = limits.cpu_seconds {
                set_limit(libc::RLIMIT_CPU, secs.max(1))?;
            }
            Ok(())
        });
    }
    // Spawned and registered under one lock: the orphan reaper, which holds it while it
    // reaps, never takes a child of ours that exits at once for an adopted orphan.
    let mut held = running();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            drop(held);
            return ProcessOutcome {
                spawn_error: Some(format!("cannot start `{program}`: {e}")),
                duration: started.elapsed(),
                ..ProcessOutcome::default()
            };
        }
    };
    let pgid = child.id() as i32;
    held.insert(pgid);
    drop(held);
    let out = child.stdout.take().map(|s| drain(s, spec.output_cap));
    let err = child.stderr.take().map(|s| drain(s, spec.output_cap));

    let mut timed_out = false;
    let mut cancelled = false;
    let mut term_sent_at: Option<Instant> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if term_sent_at.is_none() {
            if started.elapsed() >= spec.timeout {
                timed_out = true;
            } else if cancel.is_cancelled() {
                cancelled = true;
            }
            if timed_out || cancelled {
                killpg(pgid, libc::SIGTERM);
                term_sent_at = Some(Instant::now());
            }
        } else if term_sent_at.is_some_and(|t| t.elapsed() >= spec.kill_grace) {
            killpg(pgid, libc::SIGKILL);
        }
        // Short sleeps keep reaction to timeouts and cancels within a few milliseconds.
        let waited = started.elapsed();
        std::thread::sleep(if waited < Duration::from_millis(50) {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(5)
        });
    };
    let duration = started.elapsed();
    if let Some(t) = term_sent_at {
        // The leader is gone; give the rest of the group what is left of its grace.
        let left = spec.kill_grace.saturating_sub(t.elapsed());
        if !left.is_zero() {
            std::thread::sleep(left.min(Duration::from_millis(200)));
        }
    }
    // Whatever the group left behind (background children, SIGTERM-ignorers) dies with it,
    // and so do daemons that left the group (found by the run's marker).
    killpg(pgid, libc::SIGKILL);
    if marked {
        super::reaper::kill_run(&marker);
    }
    running().remove(&pgid);

    // A grandchild that escaped the group may still hold the pipes: do not wait forever.
    let deadline = Instant::now() + Duration::from_millis(500);
    for (_, done) in out.iter().chain(err.iter()) {
        let _ = done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
    let (stdout, t1) = out
        .as_ref()
        .map_or((String::new(), false), |(t, _)| take(t));
    let (stderr, t2) = err
        .as_ref()
        .map_or((String::new(), false), |(t, _)| take(t));
    ProcessOutcome {
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout,
        stderr,
        truncated: t1 || t2,
        duration,
        timed_out,
        cancelled,
        spawn_error: None,
    }
}

/// The environment every local run starts from: enough to find programs, nothing more.
pub fn base_env(home: &std::path::Path) -> Vec<(String, String)> {
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin".into());
    vec![
        ("PATH".into(), path),
        ("HOME".into(), home.display().to_string()),
        ("TMPDIR".into(), home.display().to_string()),
        ("LANG".into(), "C.UTF-8".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str) -> ProcessSpec {
        let cwd = std::env::temp_dir();
        ProcessSpec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: base_env(&cwd),
            cwd,
            timeout: Duration::from_secs(10),
            kill_grace: Duration::from_millis(200),
            limits: Rlimits::default(),
            output_cap: 1024,
            background: false,
        }
    }

    #[test]
    fn background_runs_yield_the_cpu() {
        let mut s = spec("nice; cat /proc/self/autogroup 2>/dev/null || true");
        s.background = true;
        let o = run(&s, &CancelToken::new());
        let mut lines = o.stdout.lines();
        let nice: i32 = lines.next().and_then(|l| l.parse().ok()).unwrap_or(-1);
        assert!(nice >= 10, "{o:?}");
        if std::path::Path::new("/proc/self/autogroup").exists() {
            assert!(
                lines.next().is_some_and(|l| l.ends_with("nice 19")),
                "{o:?}"
            );
        }
    }

    #[test]
    fn captures_exit_code_and_output() {
        let o = run(&spec("echo out; echo err >&2; exit 3"), &CancelToken::new());
        assert_eq!(o.exit_code, Some(3));
        assert_eq!(o.stdout, "out\n");
        assert_eq!(o.stderr, "err\n");
        assert!(!o.timed_out);
    }

    #[test]
    fn environment_is_clean() {
        std::env::set_var("CLNRM_LSP_TEST_LEAK", "1");
        let mut s = spec("echo ${CLNRM_LSP_TEST_LEAK:-clean} $DECLARED");
        s.env.push(("DECLARED".into(), "yes".into()));
        let o = run(&s, &CancelToken::new());
        assert_eq!(o.stdout, "clean yes\n");
    }

    #[test]
    fn output_cap_keeps_the_tail() {
        let mut s = spec("i=0; while [ $i -lt 500 ]; do echo line$i; i=$((i+1)); done");
        s.output_cap = 64;
        let o = run(&s, &CancelToken::new());
        assert!(o.truncated);
        assert!(o.stdout.len() <= 64);
        assert!(o.stdout.ends_with("line499\n"), "{}", o.stdout);
    }

    #[test]
    fn timeout_kills_children_that_ignore_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let mut s = spec(&format!(
            "sh -c 'trap \"\" TERM; echo $$ > {}; while :; do sleep 1; done' & wait",
            pidfile.display()
        ));
        s.timeout = Duration::from_millis(300);
        let t = Instant::now();
        let o = run(&s, &CancelToken::new());
        assert!(o.timed_out);
        // Killed (300 ms timeout + 200 ms grace), not left to loop forever.
        assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Gone, or a zombie waiting for its new parent to reap it: either way not running.
        // SIGKILL was sent; wait (generously) for the kernel to finish it.
        let running = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    !s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(false)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!running(), "child {pid} survived");
    }

    #[test]
    fn cancel_stops_a_running_process() {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let token = CancelToken::new();
        let t2 = token.clone();
        let marker = started.clone();
        // Cancel once the process is really running (it says so), not after a guess.
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !marker.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            t2.cancel();
        });
        let script = format!("touch {}; exec sleep 30", started.display());
        let o = run(&spec(&script), &token);
        assert!(started.exists(), "the process ran");
        assert!(o.cancelled);
        // Stopped, not left to its 30 s sleep.
        assert!(o.duration < Duration::from_secs(20), "{:?}", o.duration);
    }

    #[test]
    fn memory_limit_applies() {
        let mut s = spec("ulimit -v");
        s.limits.memory_bytes = Some(64 * 1024 * 1024);
        let o = run(&s, &CancelToken::new());
        assert_eq!(o.stdout.trim(), "65536");
    }

    #[test]
    fn owner_tags_round_trip_and_dead_owners_are_not_alive() {
        let me = owner();
        assert!(me.alive());
        let name = format!("{CONTAINER_PREFIX}{}-7", me.tag());
        assert_eq!(Owner::parse(&name, CONTAINER_PREFIX), Some(me));
        // The same pid with another start time is a recycled pid: not the owner.
        let other = Owner {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive());
        assert_eq!(Owner::parse("clnrm-abc", CONTAINER_PREFIX), None);
    }

    #[test]
    fn sweep_removes_run_directories_of_dead_owners_only() {
        let dead = Owner {
            pid: owner().pid,
            start: owner().start + 1,
        };
        let stale = tempfile::Builder::new()
            .prefix(&format!("{RUN_DIR_PREFIX}{}-", dead.tag()))
            .tempdir()
            .unwrap()
            .keep();
        let live = tempfile::Builder::new()
            .prefix(&format!("{RUN_DIR_PREFIX}{}-", owner().tag()))
            .tempdir()
            .unwrap();
        sweep_leftovers(&[]);
        assert!(!stale.exists());
        assert!(live.path().exists());
    }

    #[test]
    fn engine_cli_keeps_the_user_environment() {
        std::env::set_var("CLNRM_LSP_TEST_ENGINE_ENV", "kept");
        assert!(user_env().contains(&("CLNRM_LSP_TEST_ENGINE_ENV".into(), "kept".into())));
    }

    #[test]
    fn missing_program_is_an_error_value() {
        let mut s = spec("");
        s.argv = vec!["/nonexistent/prog".into()];
        let o = run(&s, &CancelToken::new());
        assert!(o.spawn_error.is_some());
    }
}
