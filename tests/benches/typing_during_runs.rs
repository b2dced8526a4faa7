//! Typing while scenarios run, measured the way an editor meets the server: the release
//! binary over stdio, a 500-line template typed into one character at a time (incremental
//! `didChange`), and the time until the `publishDiagnostics` of that exact version arrives.
//!
//! Three phases, each with a fresh server and workspace (result cache off):
//! (a) idle; (b) while a saved file's 16 CPU-bound scenarios run (`sh` counting loops);
//! (c) while 16 sleep-bound scenarios (`sleep 2`) run. (b) against (c) separates CPU
//! contention on a small machine from anything in the server that blocks on runs.
//! The server runs scenarios at low CPU priority (nice 10, and the session's autogroup at
//! nice 19: each run is its own session, so with `kernel.sched_autogroup_enabled` the
//! kernel shares the CPU between sessions first). Row (d) is (b) with one worker
//! (`executor.workers: 1`).
//!
//! The last column counts scenario processes still alive after the server exited
//! (`shutdown` + `exit`); the bench kills them before the next phase.
//!
//!   cargo bench -p clnrm-lsp-e2e --bench typing_during_runs
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::panic)]

mod common;
#[path = "../../server/benches/common/mod.rs"]
mod gen;

use std::path::Path;
use std::time::{Duration, Instant};

use clnrm_lsp_e2e::lsp::LspClient;
use common::{executor, ms, percentile, Workspace};

const EDITS: usize = 300;
const ROUNDS: usize = 5;
const WARMUP: usize = 20;
const SCENARIOS: usize = 16;
/// Iterations of the `sh` loop: a few seconds of CPU per scenario here.
const LOOP: u64 = 2_000_000;

/// Background work started by saving a second file.
struct Load {
    label: &'static str,
    text: String,
    /// The client's `initializationOptions`.
    options: serde_json::Value,
}

fn scenarios(name: &str, count: usize, run: &str) -> String {
    let mut text = format!("[meta]\nname = \"{name}\"\nversion = \"1\"\n");
    for i in 0..count {
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"{name}-{i}\"\nrun = \"{run}\"\n"
        ));
    }
    text
}

/// Types into the `description` string of the template: every keystroke makes a text
/// never seen before, so each one is a real analysis, not a cache hit.
struct Typist {
    uri: String,
    line: u32,
    col: u32,
    version: i64,
}

impl Typist {
    fn new(uri: String, text: &str) -> Self {
        let (line, l) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with("description = \"benchmark"))
            .unwrap();
        let col = l.rfind('"').unwrap();
        Self {
            uri,
            line: line as u32,
            col: col as u32,
            version: 1,
        }
    }

    /// One keystroke; the time until its diagnostics are published.
    fn keystroke(&mut self, c: &mut LspClient) -> Duration {
        self.version += 1;
        let version = self.version;
        let letter = char::from(b'a' + (version % 26) as u8).to_string();
        let at = (self.line, self.col);
        let started = Instant::now();
        c.change_range(&self.uri, version, at, at, &letter);
        c.diagnostics_where(&self.uri, |p| p["version"] == version);
        let took = started.elapsed();
        self.col += 1;
        took
    }
}

struct Row {
    label: String,
    times: Vec<Duration>,
    /// (queued, running) when measuring started and ended.
    before: (u64, u64),
    after: (u64, u64),
    workers: u64,
    load: String,
    orphans: usize,
}

fn phase(bin: &Path, template: &str, load: Option<&Load>, edits: usize, quick: bool) -> Row {
    let ws = Workspace::new();
    let uri = ws.file("a.clnrm.toml.tera", template);
    let options = load.map_or(serde_json::json!({}), |l| l.options.clone());
    let mut c = common::start_with(bin, &ws, options);
    common::open_and_wait(&mut c, &uri, template);
    let mut typist = Typist::new(uri, template);
    for _ in 0..WARMUP.min(edits) {
        typist.keystroke(&mut c);
    }
    if let Some(load) = load {
        let b = ws.file("b.clnrm.toml", &load.text);
        common::open_and_wait(&mut c, &b, &load.text);
        c.notify(
            "textDocument/didSave",
            serde_json::json!({ "textDocument": { "uri": b } }),
        );
        let going = common::wait_executor(&mut c, Duration::from_secs(20), |_, r| r > 0);
        assert!(going || quick, "saving {} started no run", load.label);
    }
    let (workers, q0, r0) = executor(&mut c);
    let load_avg = common::loadavg();
    let mut times: Vec<Duration> = (0..edits).map(|_| typist.keystroke(&mut c)).collect();
    let (_, q1, r1) = executor(&mut c);
    times.sort();

    // Scenario processes live in their own sessions: see whether shutting the server
    // down stops them, and stop any it leaves behind (they would skew the next phase).
    let pid = c.pid();
    let runs = common::children_of(pid);
    let exited = c.shutdown();
    assert!(exited, "the server did not exit after shutdown/exit");
    std::thread::sleep(Duration::from_millis(500));
    let orphans: Vec<u32> = runs
        .into_iter()
        // Zombies count as gone: killed, waiting for a reaper.
        .filter(|p| !clnrm_lsp_e2e::procs::gone(*p, Duration::ZERO))
        .collect();
    for p in &orphans {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{p}")])
            .status();
    }
    Row {
        label: load.map_or("(a) idle".to_string(), |l| l.label.to_string()),
        times,
        before: (q0, r0),
        after: (q1, r1),
        workers,
        load: load_avg,
        orphans: orphans.len(),
    }
}

fn main() {
    let quick = common::quick();
    let bin = common::server_bin();
    let (rounds, edits, count, loop_n, sleep) = if quick {
        (1, 10, 2, 100_000, 1)
    } else {
        (ROUNDS, EDITS, SCENARIOS, LOOP, 2)
    };
    let template = gen::template(500);
    let counting = format!("sh -c 'i=0; while [ $i -lt {loop_n} ]; do i=$((i+1)); done'");
    let load = |label, name: &str, run: &str, options| Load {
        label,
        text: scenarios(name, count, run),
        options,
    };
    let none = serde_json::json!({});
    let cpu = load("(b) CPU-bound runs", "cpu", &counting, none.clone());
    let sleeping = load(
        "(c) sleep-bound runs",
        "sleep",
        &format!("sleep {sleep}"),
        none.clone(),
    );
    let one = load(
        "(d) = (b) with 1 worker",
        "one",
        &counting,
        serde_json::json!({ "executor": { "workers": 1 } }),
    );

    // Rounds interleave the phases, so load from elsewhere on a shared machine falls on
    // all of them alike; the table pools every round's keystrokes.
    let loads = [None, Some(&cpu), Some(&sleeping), Some(&one)];
    let mut rows: Vec<Vec<Row>> = loads.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (load, out) in loads.iter().zip(rows.iter_mut()) {
            out.push(phase(bin, &template, *load, edits, quick));
        }
    }

    println!(
        "typing_during_runs: {rounds} rounds × {edits} keystrokes into a {}-line template, edit → publishDiagnostics of that version, over stdio ({})",
        template.lines().count(),
        bin.display()
    );
    println!();
    println!("| phase | keystrokes | p50 | p99 | max | p99 of each round | runs running at start, end of each round (workers) | runs left after exit | load avg |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for phases in &rows {
        let mut all: Vec<Duration> = phases.iter().flat_map(|r| r.times.clone()).collect();
        all.sort();
        let each = |f: &dyn Fn(&Row) -> String| phases.iter().map(f).collect::<Vec<_>>().join(", ");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} |",
            phases[0].label,
            all.len(),
            ms(percentile(&all, 0.50)),
            ms(percentile(&all, 0.99)),
            ms(*all.last().unwrap()),
            each(&|r| format!("{:.1}", percentile(&r.times, 0.99).as_secs_f64() * 1e3)),
            each(&|r| format!("{}→{}", r.before.1, r.after.1)),
            phases[0].workers,
            each(&|r| r.orphans.to_string()),
            each(&|r| r.load.clone()),
        );
    }
}
