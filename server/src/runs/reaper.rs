//! Nothing outlives a run.
//!
//! Killing a run's process group misses daemons that `setsid` away. So:
//! - every run process carries [`RUN_MARKER`] in its environment, `<owner pid>.<owner
//!   start time>.<run number>`; descendants inherit it, daemons included, so a run's
//!   leftovers are found in `/proc` by their marker wherever they moved;
//! - this process is a child subreaper (`PR_SET_CHILD_SUBREAPER`): orphans of our runs are
//!   reparented to us, not to init, so we can reap them once killed;
//! - a run's leader gets `PR_SET_PDEATHSIG(SIGKILL)` (see `process::run`), so a SIGKILL of
//!   this process takes the leader along;
//! - at start-up, processes marked by an owner that is no longer alive (killed before it
//!   could clean up) are killed: the orphan sweep. A command that starts no process
//!   sweeps only when the owners' register ([`super::owners`]) names an owner that died.
//!
//! Where `/proc` is not readable, all of this quietly does nothing beyond the group kill.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The environment variable that marks the processes of a run.
pub const RUN_MARKER: &str = "CLNRM_LSP_RUN";

/// Set once we are a subreaper: every leftover of our runs is then in our own process
/// tree, and a run's end need not look at the whole system.
static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// Set once this process is in the owners' register.
static REGISTERED: OnceLock<()> = OnceLock::new();

/// Leave the owners' register: called once our runs and their leftovers are gone.
pub fn leave_register() {
    if REGISTERED.get().is_some() {
        super::owners::unregister(owner_tag());
    }
}

/// Make this process the subreaper of its descendants and kill what dead owners left.
/// Called once at start-up by the CLI and the server.
pub fn init() {
    // SAFETY: prctl with an integer argument; failure only means orphans go to init.
    let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
    SUBREAPER.store(ok, Ordering::Relaxed);
    sweep();
    if ok {
        // Adopted orphans that exit (podman's `conmon`, one per container) are ours to
        // wait for: without this a long-lived server collects a zombie per container.
        let started = std::thread::Builder::new()
            .name("clnrm-reaper".into())
            .spawn(|| loop {
                std::thread::sleep(ORPHAN_REAP_INTERVAL);
                super::process::reap_orphans();
            });
        if let Err(e) = started {
            tracing::warn!("cannot start the orphan reaper: {e}");
        }
    }
}

/// Kill the processes that runs of a dead owner left (the orphan sweep): every process
/// on the system is looked at.
pub fn sweep() {
    Sweep {
        dead: super::owners::dead(owner_alive),
    }
    .run();
}

/// The sweep a command that starts no process (`check`) needs: `None` when every owner in
/// the register ([`super::owners`]) is alive, so no run can have been left.
pub fn pending_sweep() -> Option<Sweep> {
    let dead = super::owners::dead(owner_alive);
    if dead.as_ref().is_some_and(Vec::is_empty) {
        return None;
    }
    Some(Sweep { dead })
}

/// An orphan sweep to run; `dead` are the registered owners it makes up for (`None`: the
/// register could not be read).
pub struct Sweep {
    dead: Option<Vec<String>>,
}

impl Sweep {
    pub fn run(self) {
        let killed = kill_marked(all_processes(), |marker| !owner_alive(marker));
        if killed > 0 {
            tracing::info!("killed {killed} process(es) left behind by runs of a dead clnrm-lsp");
        }
        if let Some(dead) = self.dead {
            super::owners::forget(&dead);
        }
    }
}

/// How often exited orphans are waited for.
const ORPHAN_REAP_INTERVAL: Duration = Duration::from_millis(500);

/// Wait for each of our direct children that has exited (a zombie) and that `adopted`
/// accepts; how many were reaped.
pub fn reap_exited_children(adopted: impl Fn(i32) -> bool) -> usize {
    let me = std::process::id() as i32;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{me}/task")) else {
        return 0;
    };
    let mut reaped = 0;
    for task in tasks.flatten() {
        let Ok(children) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in children
            .split_whitespace()
            .filter_map(|c| c.parse::<i32>().ok())
        {
            let exited = stat(pid).is_some_and(|s| s.state == 'Z');
            if !exited || !adopted(pid) {
                continue;
            }
            let mut status = 0;
            // SAFETY: waitpid on one exited child with WNOHANG: it returns at once.
            if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                reaped += 1;
            }
        }
    }
    reaped
}

/// `<pid>.<start time>`: who owns a marker (a pid alone could be reused).
fn owner_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let pid = std::process::id() as i32;
        let start = stat(pid).map_or(0, |s| s.start);
        format!("{pid}.{start}")
    })
}

/// A fresh marker for one run. The first one enters this process in the owners' register.
pub fn new_marker() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    REGISTERED.get_or_init(|| super::owners::register(owner_tag()));
    format!("{}.{}", owner_tag(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Kill every process left by the run marked `marker` (daemons that escaped its group).
pub fn kill_run(marker: &str) -> usize {
    kill_marked(candidates(), |m| m == marker)
}

/// Kill every process left by any run of this process (at exit, on a signal). As a
/// subreaper, that is our whole process tree: everything we spawn is a run, and an orphan
/// that cleared its environment (no marker) was still adopted by us.
pub fn kill_own() -> usize {
    if SUBREAPER.load(Ordering::Relaxed) {
        if let Some(tree) = descendants(std::process::id() as i32) {
            let me = std::process::id() as i32;
            let killed: Vec<i32> = tree
                .into_iter()
                // SAFETY: kill only sends a signal.
                .filter(|&pid| pid != me && unsafe { libc::kill(pid, libc::SIGKILL) } == 0)
                .collect();
            reap(&killed, me);
            return killed.len();
        }
    }
    let prefix = format!("{}.", owner_tag());
    kill_marked(all_processes(), |m| m.starts_with(&prefix))
}

/// Where our runs' leftovers can be: as a subreaper, our own process tree (a few
/// processes; a system-wide scan costs ~3 ms per run end at 100 processes); else anywhere.
fn candidates() -> Vec<i32> {
    if SUBREAPER.load(Ordering::Relaxed) {
        if let Some(tree) = descendants(std::process::id() as i32) {
            return tree;
        }
    }
    all_processes()
}

fn all_processes() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// Every descendant of `root`, from `/proc/PID/task/TID/children`; `None` when the kernel
/// does not offer those files. A process that exits hands its children to us (the
/// subreaper) before it disappears, so a walk never loses a live descendant.
fn descendants(root: i32) -> Option<Vec<i32>> {
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            if pid == root {
                return None;
            }
            continue;
        };
        for task in tasks.flatten() {
            let path = task.path().join("children");
            let Ok(children) = std::fs::read_to_string(&path) else {
                if pid == root {
                    return None;
                }
                continue;
            };
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if !out.contains(&child) && out.len() < 100_000 {
                    out.push(child);
                    queue.push(child);
                }
            }
        }
    }
    Some(out)
}

/// Whether the owner named in `marker` is still running (same pid, same start time).
fn owner_alive(marker: &str) -> bool {
    let mut parts = marker.split('.');
    let (Some(pid), Some(start)) = (
        parts.next().and_then(|p| p.parse::<i32>().ok()),
        parts.next().and_then(|s| s.parse::<u64>().ok()),
    ) else {
        // Not ours to judge.
        return true;
    };
    stat(pid).is_some_and(|s| s.start == start && s.state != 'Z')
}

struct Stat {
    ppid: i32,
    state: char,
    /// Start time in clock ticks after boot.
    start: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    // Field 22 (starttime) is the 20th after the command name.
    let start = fields.nth(17)?.parse().ok()?;
    Some(Stat { ppid, state, start })
}

/// The run marker in a process's environment, if any.
fn marker_of(pid: i32) -> Option<String> {
    let environ = crate::documents::fs::read_bytes(
        std::path::Path::new(&format!("/proc/{pid}/environ")),
        None,
        1024 * 1024,
    )
    .ok()?;
    let key = format!("{RUN_MARKER}=");
    environ
        .split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(key.as_bytes()))
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_string)
}

/// SIGKILL every process of `pids` whose marker satisfies `pred`; reap those that were
/// reparented to us. Returns how many were killed.
fn kill_marked(pids: Vec<i32>, pred: impl Fn(&str) -> bool) -> usize {
    let me = std::process::id() as i32;
    let mut killed = Vec::new();
    for pid in pids {
        if pid == me {
            continue;
        }
        let Some(marker) = marker_of(pid) else {
            continue;
        };
        if !pred(&marker) {
            continue;
        }
        // SAFETY: kill only sends a signal; a pid that just exited fails with ESRCH.
        if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
            killed.push(pid);
        }
    }
    reap(&killed, me);
    killed.len()
}

/// Collect the exit status of killed processes that are our children (orphans adopted as
/// subreaper), so they do not linger as zombies. Only these pids: a run's own leader is
/// waited for by its `Child`. Bounded: a process stuck in the kernel is left to init.
fn reap(pids: &[i32], me: i32) {
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut left: Vec<i32> = pids
        .iter()
        .copied()
        .filter(|&p| stat(p).is_some_and(|s| s.ppid == me))
        .collect();
    while !left.is_empty() {
        left.retain(|&pid| {
            let mut status = 0;
            // SAFETY: waitpid on a specific pid with WNOHANG; ECHILD if it is not ours.
            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 }
        });
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn marked_sleep(marker: &str) -> std::process::Child {
        // `setsid` puts it out of any group we could kill; only the marker finds it.
        Command::new("setsid")
            .args(["sleep", "30"])
            .env(RUN_MARKER, marker)
            .spawn()
            .unwrap()
    }

    fn wait_marked(marker: &str) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
                let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
                (marker_of(pid).as_deref() == Some(marker)).then_some(pid)
            });
            if let Some(pid) = found {
                return pid;
            }
            assert!(Instant::now() < deadline, "no process marked {marker}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn running(pid: i32) -> bool {
        stat(pid).is_some_and(|s| s.state != 'Z')
    }

    #[test]
    fn an_exited_child_is_reaped_only_when_the_filter_accepts_it() {
        let mut a = Command::new("true").spawn().unwrap();
        // Waited for by `reap_exited_children` below, not by its `Child`.
        #[allow(clippy::zombie_processes)]
        let b = Command::new("true").spawn().unwrap();
        let (pa, pb) = (a.id() as i32, b.id() as i32);
        // Both exit: zombies until someone waits.
        let deadline = Instant::now() + Duration::from_secs(20);
        while ![pa, pb]
            .iter()
            .all(|&p| stat(p).is_some_and(|s| s.state == 'Z'))
        {
            assert!(Instant::now() < deadline, "the children did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(reap_exited_children(|p| p == pb), 1);
        assert!(stat(pb).is_none(), "reaped: gone from /proc");
        assert_eq!(
            stat(pa).map(|s| s.state),
            Some('Z'),
            "not accepted: left to its `Child`"
        );
        assert!(a.wait().unwrap().success());
    }

    #[test]
    fn kills_exactly_the_marked_run() {
        let mine = new_marker();
        let other = new_marker();
        let mut a = marked_sleep(&mine);
        let mut b = marked_sleep(&other);
        let pa = wait_marked(&mine);
        let pb = wait_marked(&other);
        assert!(kill_run(&mine) >= 1);
        let _ = a.wait();
        assert!(!running(pa));
        assert!(running(pb), "another run's process is left alone");
        // (`kill_own` is not called here: it would kill the runs of tests running beside.)
        kill_run(&other);
        let _ = b.wait();
        assert!(!running(pb));
    }

    #[test]
    fn descendants_walk_the_whole_tree() {
        let mut c = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let sh = c.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(20);
        let tree = loop {
            let tree = descendants(std::process::id() as i32).unwrap();
            let grandchildren = tree
                .iter()
                .filter(|&&p| stat(p).is_some_and(|s| s.ppid == sh))
                .count();
            if grandchildren == 2 {
                break tree;
            }
            assert!(Instant::now() < deadline, "{tree:?}");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(tree.contains(&sh));
        for p in tree
            .iter()
            .filter(|&&p| stat(p).is_some_and(|s| s.ppid == sh))
        {
            // SAFETY: a test killing its own grandchildren.
            unsafe { libc::kill(*p, libc::SIGKILL) };
        }
        let _ = c.wait();
    }

    #[test]
    fn the_sweep_spares_live_owners_and_kills_dead_ones() {
        // An owner that is alive: ourselves.
        assert!(owner_alive(&new_marker()));
        // A dead owner: a pid that cannot exist, or ours with another start time.
        assert!(!owner_alive("999999999.1.1"));
        let start = stat(std::process::id() as i32).unwrap().start;
        assert!(!owner_alive(&format!(
            "{}.{}.1",
            std::process::id(),
            start + 1
        )));
        assert!(owner_alive("not-a-marker"));
        let dead = format!("999999999.{start}.7");
        let mut c = marked_sleep(&dead);
        let pid = wait_marked(&dead);
        // Any clnrm-lsp starting on this machine sweeps dead owners too, and may take it
        // first: then ours finds nothing left, but either way it is gone.
        let killed = kill_marked(all_processes(), |m| m == dead && !owner_alive(m));
        assert!(killed <= 1, "killed {killed}");
        let _ = c.wait();
        assert!(!running(pid));
    }
}
