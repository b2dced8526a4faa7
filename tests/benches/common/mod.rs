//! What the stdio benchmarks share: the server binary to drive, a workspace on disk, a
//! client that starts the server the way an editor does, and the statistics printed.
#![allow(dead_code)] // each bench uses a different subset

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clnrm_lsp_e2e::bin_path::clnrm_lsp_bin;
use clnrm_lsp_e2e::lsp::LspClient;
use clnrm_lsp_e2e::workspace::{local_settings, pin_local};
use serde_json::{json, Value};

/// `cargo bench` passes `--bench`; `cargo test --benches` and clippy builds do not, and
/// then only a smoke run is done (against the debug build, already there for the tests).
pub fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// The binary under measurement: cargo builds it in the bench profile (optimised) for
/// `cargo bench`, in the test profile for a smoke run (`CLNRM_LSP_BIN` overrides).
pub fn server_bin() -> &'static Path {
    clnrm_lsp_bin()
}

pub struct Workspace {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Workspace {
    /// A workspace with `.clnrm/` and the result cache off, so every save really runs.
    pub fn new() -> Self {
        let ws = Self::plain();
        pin_local(&ws.root, "[cache]\nenabled = false\n");
        ws
    }

    /// A workspace with `.clnrm/` and the default configuration (the local backend pinned).
    pub fn plain() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        pin_local(&root, "");
        Self { _dir: dir, root }
    }

    /// Write `name` (creating its directory) and return its URI.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        format!("file://{}", path.display())
    }
}

/// Start `bin` and initialize it like VS Code does, minus pull diagnostics (so the
/// server pushes `publishDiagnostics`): work-done progress, lens refresh, versioned publishes,
/// and empty `initializationOptions` (the defaults: run on save, workers = CPU count).
pub fn start(bin: &Path, ws: &Workspace) -> LspClient {
    start_with(bin, ws, json!({}))
}

/// [`start`] with these `initializationOptions` (the `clnrm` settings).
pub fn start_with(bin: &Path, ws: &Workspace, options: Value) -> LspClient {
    let mut c = LspClient::spawn_bin(bin, "warn");
    c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": format!("file://{}", ws.root.display()),
            "capabilities": {
                "window": { "workDoneProgress": true },
                "workspace": { "codeLens": { "refreshSupport": true } },
                "textDocument": { "publishDiagnostics": { "versionSupport": true } }
            },
            "initializationOptions": local_settings(options),
        }),
    );
    c.notify("initialized", json!({}));
    c
}

/// Open `uri` at version 1 and wait for its first diagnostics.
pub fn open_and_wait(c: &mut LspClient, uri: &str, text: &str) -> Value {
    c.open(uri, text, 1);
    c.diagnostics_where(uri, |p| p["version"] == 1)
}

/// `clnrm/cacheStats` → `runs.executor`: (workers, queued, running).
pub fn executor(c: &mut LspClient) -> (u64, u64, u64) {
    let s = c.request("clnrm/cacheStats", Value::Null);
    let e = &s["runs"]["executor"];
    let n = |k: &str| e[k].as_u64().unwrap_or(0);
    (n("workers"), n("queued"), n("running"))
}

/// Poll the executor until `pred(queued, running)` holds; false after `within`.
pub fn wait_executor(c: &mut LspClient, within: Duration, pred: impl Fn(u64, u64) -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let (_, queued, running) = executor(c);
        if pred(queued, running) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Processes whose parent is `pid` (the server's scenario runs), from `/proc/*/stat`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                // The command name may hold spaces and parentheses: fields follow the last ')'.
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_string()))
                .and_then(|rest| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                == Some(pid)
        })
        .collect()
}

/// `key` (e.g. `VmRSS`) from `/proc/<pid>/status`, in KiB.
pub fn proc_status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .strip_prefix(':')?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The 1-minute load average: the machine is shared, so every table says how busy it was.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
