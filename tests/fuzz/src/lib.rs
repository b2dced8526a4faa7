//! clnrm-fuzz: a fuzz harness that runs on stable Rust.
//!
//! The driver ([`fuzz`]) mutates seeds from `corpus/<target>/` with the tokens of
//! `dict/tokens.txt` and the target's own, and runs every input in a child process
//! ([`child_main`]) with an address-space limit, restarting it whenever it dies. A child
//! that dies (panic, abort, stack overflow, out of memory) or does not answer within the
//! timeout is a crash: the input is saved to `crashes/<target>/` and the run fails.
//! [`replay`] runs every kept case of `regressions/<target>/` the same way.
//!
//! No coverage feedback (that needs nightly or cargo-afl); instead mutants that ran
//! cleanly join a bounded pool, so mutations stack over time.

pub mod mutate;
pub mod targets;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use mutate::{mutate, Rng};
pub use targets::{Target, TARGETS};

/// Stack of the thread that runs inputs in the child: the server's analysis threads
/// have the same.
pub const STACK_BYTES: usize = 64 * 1024 * 1024;

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// `tests/fuzz`: holds `corpus/`, `dict/`, `crashes/`, `regressions/`.
    pub root: PathBuf,
    pub seconds: u64,
    pub seed: u64,
    /// Per input.
    pub timeout: Duration,
    /// The child's address-space limit (RLIMIT_AS).
    pub memory_mb: u64,
}

/// What one target's run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub target: String,
    pub execs: u64,
    pub seconds: f64,
    pub crashes: Vec<PathBuf>,
}

impl Report {
    pub fn execs_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.execs as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The files of `dir` (sorted), skipping notes (`*.txt`, `*.md`); empty when missing.
pub fn inputs_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("txt" | "md")))
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect();
    out.sort();
    out
}

/// The shared dictionary: one token per line, `\n` and `\t` escaped.
fn dictionary(root: &Path) -> Vec<Vec<u8>> {
    std::fs::read_to_string(root.join("dict/tokens.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("##"))
        .map(|l| l.replace("\\n", "\n").replace("\\t", "\t").into_bytes())
        .collect()
}

/// A child process running one target's inputs.
struct Runner {
    target: &'static str,
    options: Options,
    child: Option<(Child, ChildStdin, Receiver<u8>)>,
    stderr_path: PathBuf,
}

/// How an input ended.
enum Outcome {
    Ok,
    Crash(String),
}

impl Runner {
    fn new(target: &'static str, options: &Options) -> Self {
        let stderr_path =
            std::env::temp_dir().join(format!("clnrm-fuzz-{}-{target}.stderr", std::process::id()));
        Self {
            target,
            options: options.clone(),
            child: None,
            stderr_path,
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        let stderr = std::fs::File::create(&self.stderr_path)?;
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "child",
                self.target,
                "--memory-mb",
                &self.options.memory_mb.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()?;
        let (Some(stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("child has no pipes"));
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut b = [0u8; 1];
            while stdout.read_exact(&mut b).is_ok() {
                if tx.send(b[0]).is_err() {
                    break;
                }
            }
        });
        self.child = Some((child, stdin, rx));
        Ok(())
    }

    fn run(&mut self, input: &[u8]) -> std::io::Result<Outcome> {
        if self.child.is_none() {
            self.start()?;
        }
        let Some((child, stdin, rx)) = self.child.as_mut() else {
            return Err(std::io::Error::other("no child"));
        };
        let len = u32::try_from(input.len()).unwrap_or(u32::MAX);
        let sent = stdin
            .write_all(&len.to_le_bytes())
            .and_then(|()| stdin.write_all(input))
            .and_then(|()| stdin.flush());
        let answer = match sent {
            Ok(()) => rx.recv_timeout(self.options.timeout),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        match answer {
            Ok(_) => Ok(Outcome::Ok),
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                Ok(Outcome::Crash(format!(
                    "no answer within {} ms (hang)",
                    self.options.timeout.as_millis()
                )))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait()?;
                self.child = None;
                let how = {
                    use std::os::unix::process::ExitStatusExt;
                    match (status.code(), status.signal()) {
                        (_, Some(sig)) => format!("killed by signal {sig}"),
                        (Some(c), _) => format!("exited with {c}"),
                        _ => "ended".to_string(),
                    }
                };
                let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
                let tail: String = stderr
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("at ") && !l.contains("::"))
                    .take(12)
                    .collect::<Vec<_>>()
                    .join("\n");
                Ok(Outcome::Crash(format!("{how}\n{tail}")))
            }
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some((mut child, stdin, _)) = self.child.take() {
            drop(stdin);
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

/// FNV-1a, for crash file names.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn save_crash(dir: &Path, input: &[u8], why: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("crash-{:016x}", hash(input)));
    std::fs::write(&path, input)?;
    std::fs::write(path.with_extension("txt"), why)?;
    Ok(path)
}

/// Fuzzes `target` for `options.seconds`.
pub fn fuzz(target: &'static Target, options: &Options) -> std::io::Result<Report> {
    let seeds: Vec<Vec<u8>> = inputs_in(&options.root.join("corpus").join(target.name))
        .into_iter()
        .chain(inputs_in(
            &options.root.join("regressions").join(target.name),
        ))
        .map(|(_, b)| b)
        .collect();
    let mut pool: Vec<Vec<u8>> = if seeds.is_empty() {
        vec![Vec::new()]
    } else {
        seeds.clone()
    };
    let mut tokens: Vec<Vec<u8>> = dictionary(&options.root);
    tokens.extend(target.tokens.iter().map(|t| t.as_bytes().to_vec()));
    let token_refs: Vec<&[u8]> = tokens.iter().map(Vec::as_slice).collect();
    let crash_dir = options.root.join("crashes").join(target.name);
    let mut rng = Rng::new(options.seed ^ hash(target.name.as_bytes()));
    let mut runner = Runner::new(target.name, options);
    let mut report = Report {
        target: target.name.to_string(),
        ..Report::default()
    };
    let started = Instant::now();
    let budget = Duration::from_secs(options.seconds);
    // Every seed once, then mutants.
    let mut queue: Vec<Vec<u8>> = seeds.into_iter().rev().collect();
    while started.elapsed() < budget {
        let input = match queue.pop() {
            Some(seed) => seed,
            None => {
                let base = &pool[rng.below(pool.len())];
                let other = &pool[rng.below(pool.len())];
                mutate(&mut rng, base, other, &token_refs)
            }
        };
        report.execs += 1;
        match runner.run(&input)? {
            Outcome::Ok => {
                // A bounded pool of clean mutants lets mutations stack.
                if pool.len() < 512 {
                    pool.push(input);
                } else if rng.below(4) == 0 {
                    let i = rng.below(pool.len());
                    pool[i] = input;
                }
            }
            Outcome::Crash(why) => {
                let path = save_crash(&crash_dir, &input, &why)?;
                eprintln!(
                    "clnrm-fuzz: {}: crash ({}) saved to {}",
                    target.name,
                    why.lines().next().unwrap_or(""),
                    path.display()
                );
                report.crashes.push(path);
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Runs every case of `regressions/<target>/` in a child; the cases that crashed.
pub fn replay(target: &'static Target, options: &Options) -> std::io::Result<Report> {
    let mut runner = Runner::new(target.name, options);
    let started = Instant::now();
    let mut report = Report {
        target: target.name.to_string(),
        ..Report::default()
    };
    for (path, input) in inputs_in(&options.root.join("regressions").join(target.name)) {
        report.execs += 1;
        if let Outcome::Crash(why) = runner.run(&input)? {
            eprintln!(
                "clnrm-fuzz: {}: {} crashes again: {}",
                target.name,
                path.display(),
                why.lines().next().unwrap_or("")
            );
            report.crashes.push(path);
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Runs `f` on a thread with [`STACK_BYTES`] of stack, like the server's analysis threads.
pub fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> std::thread::Result<T> {
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, f)
        {
            Ok(h) => h.join(),
            Err(e) => Err(Box::new(e.to_string()) as Box<dyn std::any::Any + Send>),
        }
    })
}

/// The child: limits its own address space, then runs length-prefixed inputs from stdin,
/// answering one byte per input. Any crash ends the process, which is the point.
pub fn child_main(target: &'static Target, memory_mb: u64) -> std::io::Result<()> {
    limit_memory(memory_mb);
    let run = target.run;
    let outcome = on_big_stack(move || -> std::io::Result<()> {
        let mut stdin = std::io::stdin().lock();
        let mut stdout = std::io::stdout().lock();
        loop {
            let mut len = [0u8; 4];
            if stdin.read_exact(&mut len).is_err() {
                return Ok(());
            }
            let mut input = vec![0u8; u32::from_le_bytes(len) as usize];
            stdin.read_exact(&mut input)?;
            run(&input);
            stdout.write_all(b"k")?;
            stdout.flush()?;
        }
    });
    match outcome {
        Ok(r) => r,
        // A panic on the input thread: end like an unhandled panic would.
        Err(_) => std::process::exit(101),
    }
}

fn limit_memory(memory_mb: u64) {
    let bytes = memory_mb.saturating_mul(1024 * 1024) as libc::rlim_t;
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit only reads the struct we pass; failure leaves the limit unset.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}

/// Runs every case of `regressions/<target>/` in this process (for `cargo test`); the
/// names of the cases that panicked.
pub fn replay_in_process(target: &'static Target, root: &Path) -> Vec<String> {
    let mut failed = Vec::new();
    for (path, input) in inputs_in(&root.join("regressions").join(target.name)) {
        let run = target.run;
        if on_big_stack(move || run(&input)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    failed
}
