//! The scenario-run executor: a fixed pool of plain std threads fed from one priority queue.
//!
//! Runs block on child processes, so they get their own threads rather than tokio's pool.
//! Every job carries a [`CancelToken`]: a newer save of the same file cancels the old runs,
//! whether they still wait in the queue (removed, their work told at once) or already run
//! (token flipped; the process runner stops the process group).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use crate::runs::process::CancelToken;

/// Explicit runs (a user's command) before on-save runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    OnSave,
    Explicit,
}

/// What a job is about, for cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobTag {
    pub file: PathBuf,
    /// The scenarios it runs (several when they share the file's services).
    pub scenarios: Vec<String>,
}

/// The work: called exactly once, on a worker thread, or — when cancelled while still queued —
/// on the cancelling thread with an already-cancelled token (work must then return quickly).
pub type Work = Box<dyn FnOnce(&CancelToken) + Send + 'static>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExecutorStats {
    /// The configured pool size; surplus workers of a shrink may still finish a job.
    pub workers: usize,
    pub queued: usize,
    pub running: usize,
}

/// Queue order: the smallest key runs first — higher priority, then the newest batch,
/// then submission order (a per-job sequence number, also the job's id while running).
type QueueKey = (Reverse<Priority>, Reverse<u64>, u64);

/// A submitted job; once taken off the queue (by a worker, a cancel or shutdown) it runs
/// outside the lock.
struct Job {
    tag: JobTag,
    token: CancelToken,
    work: Work,
}

#[derive(Default)]
struct State {
    queue: BTreeMap<QueueKey, Job>,
    running: HashMap<u64, (JobTag, CancelToken)>,
    /// Wanted pool size.
    target: usize,
    /// Worker threads alive (above `target` while surplus workers finish their job).
    live: usize,
    handles: Vec<JoinHandle<()>>,
    next_batch: u64,
    next_job: u64,
    next_worker: usize,
    /// Threads start with the first submission: a server whose runs are never allowed
    /// (an untrusted workspace) starts none, whatever `jobs` says.
    started: bool,
    shutdown: bool,
}

struct Inner {
    state: Mutex<State>,
    wake: Condvar,
}

impl Inner {
    /// A job panicking never happens under the lock, but recover anyway rather than cascade.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Workers hold only `Inner`; dropping the last `Handle` (the last `Executor` clone)
/// shuts the pool down.
struct Handle {
    inner: Arc<Inner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        shutdown(&self.inner);
    }
}

/// A cheap, cloneable handle to the pool.
#[derive(Clone)]
pub struct Executor {
    handle: Arc<Handle>,
}

impl Executor {
    /// `workers` threads (at least 1), named `clnrm-run-<n>`, started on first use.
    pub fn new(workers: usize) -> Self {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let exec = Self {
            handle: Arc::new(Handle { inner }),
        };
        exec.set_workers(workers);
        exec
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.handle.inner
    }

    /// Grow at once; shrink as surplus workers finish their current job.
    /// At least 1: a pool of 0 would leave every queued job waiting forever.
    pub fn set_workers(&self, n: usize) {
        let inner = self.inner();
        let mut st = inner.lock();
        if st.shutdown {
            return;
        }
        st.target = n.max(1);
        if st.started {
            grow(inner, &mut st);
        }
        drop(st);
        // Idle surplus workers notice the smaller target and exit.
        inner.wake.notify_all();
    }

    /// One batch (e.g. one save of one file). Order: higher priority first; among equal
    /// priority, the newest batch first (the file just saved before others); within a batch,
    /// jobs in the given order. After shutdown the work is called at once, cancelled.
    pub fn submit(&self, priority: Priority, jobs: Vec<(JobTag, Work)>) {
        if jobs.is_empty() {
            return;
        }
        let inner = self.inner();
        let mut st = inner.lock();
        if st.shutdown {
            drop(st);
            for (tag, work) in jobs {
                let token = CancelToken::new();
                token.cancel();
                run_work(Job { tag, token, work });
            }
            return;
        }
        if !st.started {
            st.started = true;
            grow(inner, &mut st);
        }
        let batch = st.next_batch;
        st.next_batch += 1;
        for (tag, work) in jobs {
            let seq = st.next_job;
            st.next_job += 1;
            let queued = Job {
                tag,
                token: CancelToken::new(),
                work,
            };
            st.queue
                .insert((Reverse(priority), Reverse(batch), seq), queued);
        }
        drop(st);
        inner.wake.notify_all();
    }

    /// Cancel queued and running jobs whose tag matches: queued ones are removed and their work
    /// called (after releasing the queue lock) with a cancelled token; running ones get their
    /// token cancelled. Returns how many jobs were hit (running jobs already cancelled by an
    /// earlier call are not counted again).
    pub fn cancel(&self, pred: impl Fn(&JobTag) -> bool) -> usize {
        let mut st = self.inner().lock();
        let keys: Vec<QueueKey> = st
            .queue
            .iter()
            .filter(|(_, q)| pred(&q.tag))
            .map(|(k, _)| *k)
            .collect();
        let taken: Vec<Job> = keys.iter().filter_map(|k| st.queue.remove(k)).collect();
        let mut hits = taken.len();
        for (tag, token) in st.running.values() {
            if pred(tag) && !token.is_cancelled() {
                token.cancel();
                hits += 1;
            }
        }
        drop(st);
        for job in taken {
            job.token.cancel();
            run_work(job);
        }
        hits
    }

    pub fn stats(&self) -> ExecutorStats {
        let st = self.inner().lock();
        ExecutorStats {
            workers: st.target,
            queued: st.queue.len(),
            running: st.running.len(),
        }
    }

    /// Cancel everything and join the workers (also done when the last handle is dropped).
    pub fn shutdown(&self) {
        shutdown(self.inner());
    }
}

/// Start workers up to the target.
fn grow(inner: &Arc<Inner>, st: &mut State) {
    // Exited surplus workers leave finished handles behind; drop them (a no-op detach).
    st.handles.retain(|h| !h.is_finished());
    while st.live < st.target {
        let id = st.next_worker;
        st.next_worker += 1;
        let worker_inner = Arc::clone(inner);
        match thread::Builder::new()
            .name(format!("clnrm-run-{id}"))
            .spawn(move || worker_loop(&worker_inner))
        {
            Ok(h) => {
                st.live += 1;
                st.handles.push(h);
            }
            Err(err) => {
                tracing::error!(%err, "cannot start a run worker thread");
                break;
            }
        }
    }
}

fn shutdown(inner: &Inner) {
    let mut st = inner.lock();
    st.shutdown = true;
    let drained: Vec<Job> = std::mem::take(&mut st.queue).into_values().collect();
    for (_, token) in st.running.values() {
        token.cancel();
    }
    let handles = std::mem::take(&mut st.handles);
    drop(st);
    inner.wake.notify_all();
    for job in drained {
        job.token.cancel();
        run_work(job);
    }
    let me = thread::current().id();
    for h in handles {
        // Dropped from inside a job (a job held the last handle): joining ourselves would
        // deadlock, so this worker is detached; it exits once its job returns.
        if h.thread().id() == me {
            continue;
        }
        if h.join().is_err() {
            tracing::error!("a run worker thread panicked");
        }
    }
}

fn worker_loop(inner: &Inner) {
    loop {
        let (seq, job) = {
            let mut st = inner.lock();
            loop {
                if st.shutdown || st.live > st.target {
                    st.live -= 1;
                    return;
                }
                if let Some(((_, _, seq), q)) = st.queue.pop_first() {
                    st.running.insert(seq, (q.tag.clone(), q.token.clone()));
                    break (seq, q);
                }
                st = inner.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        run_work(job);
        inner.lock().running.remove(&seq);
    }
}

/// Runs one job; a panic is logged and swallowed so it costs neither the worker thread
/// nor the thread that cancelled the job.
fn run_work(job: Job) {
    let Job { tag, token, work } = job;
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || work(&token))) {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_owned());
        tracing::error!(
            file = %tag.file.display(),
            scenarios = %tag.scenarios.join(", "),
            panic = %msg,
            "scenario run panicked"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    const LONG: Duration = Duration::from_secs(10);

    fn tag(file: &str, scenario: &str) -> JobTag {
        JobTag {
            file: PathBuf::from(file),
            scenarios: vec![scenario.to_owned()],
        }
    }

    fn work(f: impl FnOnce(&CancelToken) + Send + 'static) -> Work {
        Box::new(f)
    }

    /// Polls `cond` until true or a generous deadline.
    fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + LONG;
        while Instant::now() < deadline {
            if cond() {
                return true;
            }
            thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Occupies a worker until the returned sender is used (or dropped).
    fn blocker(exec: &Executor) -> mpsc::Sender<()> {
        let (release, gate) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel();
        exec.submit(
            Priority::Explicit,
            vec![(
                tag("block", "block"),
                work(move |_| {
                    started_tx.send(()).unwrap();
                    let _ = gate.recv();
                }),
            )],
        );
        started.recv_timeout(LONG).unwrap();
        release
    }

    #[test]
    fn n_workers_run_n_jobs_concurrently() {
        let exec = Executor::new(3);
        let barrier = Arc::new(Barrier::new(4));
        let (done_tx, done) = mpsc::channel();
        let jobs = (0..3)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                let done_tx = done_tx.clone();
                let w = work(move |_| {
                    // Only passes if all three run at once (plus the test thread).
                    barrier.wait();
                    done_tx.send(i).unwrap();
                });
                (tag("f", &format!("s{i}")), w)
            })
            .collect();
        exec.submit(Priority::OnSave, jobs);
        barrier.wait();
        let mut got: Vec<i32> = (0..3).map(|_| done.recv_timeout(LONG).unwrap()).collect();
        got.sort();
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(exec.stats().workers, 3);
    }

    #[test]
    fn priority_then_newest_batch_then_given_order() {
        let exec = Executor::new(1);
        let release = blocker(&exec);
        let (tx, rx) = mpsc::channel();
        let batch = |names: &[&'static str]| -> Vec<(JobTag, Work)> {
            names
                .iter()
                .map(|&n| {
                    let tx = tx.clone();
                    (tag(n, n), work(move |_| tx.send(n).unwrap()))
                })
                .collect()
        };
        exec.submit(Priority::OnSave, batch(&["a1", "a2"]));
        exec.submit(Priority::OnSave, batch(&["b1", "b2"]));
        exec.submit(Priority::Explicit, batch(&["c1", "c2"]));
        assert_eq!(exec.stats().queued, 6);
        assert_eq!(exec.stats().running, 1);
        release.send(()).unwrap();
        let order: Vec<&str> = (0..6).map(|_| rx.recv_timeout(LONG).unwrap()).collect();
        assert_eq!(order, ["c1", "c2", "b1", "b2", "a1", "a2"]);
    }

    #[test]
    fn cancel_queued_calls_work_at_once_with_cancelled_token() {
        let exec = Executor::new(1);
        let release = blocker(&exec);
        let (tx, rx) = mpsc::channel();
        let jobs = ["x", "y", "z"]
            .into_iter()
            .map(|s| {
                let tx = tx.clone();
                let w = work(move |t: &CancelToken| {
                    tx.send((s, t.is_cancelled(), thread::current().id()))
                        .unwrap()
                });
                (tag("a.clnrm.toml", s), w)
            })
            .collect();
        exec.submit(Priority::OnSave, jobs);
        let hits = exec.cancel(|t| t.file.ends_with("a.clnrm.toml") && t.scenarios != ["y"]);
        assert_eq!(hits, 2);
        // Called synchronously, on this thread, while the only worker is still blocked.
        let me = thread::current().id();
        let mut cancelled: Vec<_> = rx.try_iter().collect();
        cancelled.sort_by_key(|c| c.0);
        assert_eq!(cancelled, vec![("x", true, me), ("z", true, me)]);
        assert_eq!(exec.stats().queued, 1);
        release.send(()).unwrap();
        let (name, was_cancelled, _) = rx.recv_timeout(LONG).unwrap();
        assert_eq!((name, was_cancelled), ("y", false));
    }

    #[test]
    fn cancel_running_flips_its_token() {
        let exec = Executor::new(1);
        let (started_tx, started) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        exec.submit(
            Priority::OnSave,
            vec![(
                tag("a.clnrm.toml", "loop"),
                work(move |t: &CancelToken| {
                    started_tx.send(()).unwrap();
                    while !t.is_cancelled() {
                        thread::sleep(Duration::from_millis(2));
                    }
                    done_tx.send(()).unwrap();
                }),
            )],
        );
        started.recv_timeout(LONG).unwrap();
        assert_eq!(exec.cancel(|t| t.file.ends_with("other.clnrm.toml")), 0);
        assert_eq!(exec.cancel(|t| t.file.ends_with("a.clnrm.toml")), 1);
        done.recv_timeout(LONG).unwrap();
        assert!(wait_until(|| exec.stats().running == 0));
    }

    #[test]
    fn panicking_job_leaves_worker_alive() {
        let exec = Executor::new(1);
        let (tx, rx) = mpsc::channel();
        exec.submit(
            Priority::OnSave,
            vec![
                (tag("f", "boom"), work(|_| panic!("boom"))),
                (tag("f", "after"), work(move |_| tx.send(()).unwrap())),
            ],
        );
        rx.recv_timeout(LONG).unwrap();
        assert!(wait_until(|| exec.stats().running == 0));
        assert_eq!(exec.stats().workers, 1);
    }

    #[test]
    fn growing_lets_a_blocked_pool_progress() {
        let exec = Executor::new(1);
        let release = blocker(&exec);
        let (tx, rx) = mpsc::channel();
        exec.submit(
            Priority::OnSave,
            vec![(tag("f", "s"), work(move |_| tx.send(()).unwrap()))],
        );
        // The only worker is blocked: the job waits in the queue (a state, not a timing).
        assert_eq!(exec.stats().queued, 1);
        assert!(rx.try_recv().is_err());
        exec.set_workers(2);
        rx.recv_timeout(LONG).unwrap();
        assert_eq!(exec.stats().workers, 2);
        drop(release);
    }

    #[test]
    fn workers_start_on_first_submission_and_shrink() {
        let exec = Executor::new(3);
        let inner = Arc::clone(exec.inner());
        exec.set_workers(2000);
        assert_eq!(inner.lock().live, 0, "no thread before a run");
        exec.set_workers(3);
        let (tx, rx) = mpsc::channel();
        exec.submit(
            Priority::OnSave,
            vec![(tag("f", "a"), work(move |_| tx.send(()).unwrap()))],
        );
        rx.recv_timeout(LONG).unwrap();
        assert_eq!(inner.lock().live, 3);
        exec.set_workers(1);
        assert!(wait_until(|| inner.lock().live == 1));
        assert_eq!(exec.stats().workers, 1);
    }

    #[test]
    fn shutdown_cancels_and_joins() {
        let exec = Executor::new(1);
        let (started_tx, started) = mpsc::channel();
        let (tx, rx) = mpsc::channel();
        let running_tx = tx.clone();
        exec.submit(
            Priority::OnSave,
            vec![(
                tag("f", "running"),
                work(move |t: &CancelToken| {
                    started_tx.send(()).unwrap();
                    while !t.is_cancelled() {
                        thread::sleep(Duration::from_millis(2));
                    }
                    running_tx.send("running").unwrap();
                }),
            )],
        );
        started.recv_timeout(LONG).unwrap();
        let queued_tx = tx.clone();
        exec.submit(
            Priority::OnSave,
            vec![(
                tag("f", "queued"),
                work(move |t: &CancelToken| {
                    assert!(t.is_cancelled());
                    queued_tx.send("queued").unwrap();
                }),
            )],
        );
        let inner = Arc::clone(exec.inner());
        exec.shutdown();
        // Joined: every worker has exited and both jobs reported before shutdown returned.
        assert_eq!(inner.lock().live, 0);
        let mut got: Vec<&str> = rx.try_iter().collect();
        got.sort();
        assert_eq!(got, ["queued", "running"]);
        // Later submissions are refused with a cancelled token rather than lost.
        let late_tx = tx.clone();
        exec.submit(
            Priority::Explicit,
            vec![(
                tag("f", "late"),
                work(move |t: &CancelToken| {
                    late_tx
                        .send(if t.is_cancelled() {
                            "late-cancelled"
                        } else {
                            "late-ran"
                        })
                        .unwrap()
                }),
            )],
        );
        assert_eq!(rx.try_recv().unwrap(), "late-cancelled");
    }

    #[test]
    fn dropping_last_handle_inside_a_job_does_not_deadlock() {
        let exec = Executor::new(2);
        let inner = Arc::clone(exec.inner());
        let (tx, rx) = mpsc::channel();
        let (go_tx, go) = mpsc::channel::<()>();
        let own = exec.clone();
        exec.submit(
            Priority::OnSave,
            vec![(
                tag("f", "self-drop"),
                work(move |_| {
                    go.recv().unwrap();
                    // The last handle: shutdown runs here, on a worker thread.
                    drop(own);
                    tx.send(()).unwrap();
                }),
            )],
        );
        drop(exec);
        go_tx.send(()).unwrap();
        rx.recv_timeout(LONG).unwrap();
        assert!(wait_until(|| inner.lock().live == 0));
        assert!(inner.lock().shutdown);
    }

    #[test]
    fn workers_are_named() {
        let exec = Executor::new(1);
        let (tx, rx) = mpsc::channel();
        exec.submit(
            Priority::OnSave,
            vec![(
                tag("f", "name"),
                work(move |_| {
                    tx.send(thread::current().name().map(str::to_owned))
                        .unwrap()
                }),
            )],
        );
        let name = rx.recv_timeout(LONG).unwrap().unwrap();
        assert!(name.starts_with("clnrm-run-"), "{name}");
    }
}
