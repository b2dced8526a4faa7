//! Nothing outlives a run: daemons that `setsid` away are killed when the run ends, and a
//! SIGKILL of `clnrm-lsp run` or of the server takes the runs along. Processes are found in
//! `/proc` by a marker in their command line; waits are bounded and the pass condition is
//! the process being gone, never a timing window.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clnrm_lsp_e2e::bin_path::clnrm_lsp_bin;
use clnrm_lsp_e2e::cli::{code, run_in, stderr, stdout};

/// A workspace pinned to the local backend.
fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    clnrm_lsp_e2e::workspace::pin_local(ws.path(), "");
    ws
}

fn test_file(ws: &Path, name: &str, run: &str) {
    std::fs::write(
        ws.join(name),
        format!("[meta]\nname = \"t\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"s\"\nrun = {run:?}\n"),
    )
    .unwrap();
}

/// Live (not zombie) processes whose command line contains `marker`.
fn alive_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains(marker) {
            continue;
        }
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
            .unwrap_or(true);
        if !zombie {
            out.push(pid);
        }
    }
    out
}

/// Wait (bounded) until `pred` holds; false if it never did.
fn eventually(within: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if pred() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A unique `sleep` duration: its command line is the marker.
fn marker(base: u32) -> String {
    format!("{base}.{}", std::process::id())
}

#[test]
fn a_daemon_that_setsids_away_dies_with_its_run() {
    let ws = workspace();
    let m = marker(302);
    let ready = ws.path().join("ready");
    // The command ends only once the daemon is in its own session (it wrote `ready` after
    // `setsid`): no group kill can reach it, only the run's marker.
    test_file(
        ws.path(),
        "d.clnrm.toml",
        &format!(
            "sh -c 'setsid sh -c \"echo ok > {r}; exec sleep {m}\" > /dev/null 2>&1 < /dev/null & \
             while [ ! -s {r} ]; do sleep 0.05; done'",
            r = ready.display()
        ),
    );
    let o = run_in(ws.path(), &["run", "d.clnrm.toml"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        eventually(Duration::from_secs(20), || alive_with(&m).is_empty()),
        "daemon `sleep {m}` outlived the run: {:?}",
        alive_with(&m)
    );
}

#[test]
fn a_daemon_that_also_clears_its_environment_dies_with_the_cli() {
    let ws = workspace();
    let m = marker(305);
    let ready = ws.path().join("ready");
    // No marker and no group: only the subreaper's process tree still knows it.
    test_file(
        ws.path(),
        "d.clnrm.toml",
        &format!(
            "sh -c 'env -i setsid sh -c \"echo ok > {r}; exec sleep {m}\" > /dev/null 2>&1 < /dev/null & \
             while [ ! -s {r} ]; do sleep 0.05; done'",
            r = ready.display()
        ),
    );
    let o = run_in(ws.path(), &["run", "d.clnrm.toml"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        eventually(Duration::from_secs(20), || alive_with(&m).is_empty()),
        "daemon `sleep {m}` outlived clnrm-lsp: {:?}",
        alive_with(&m)
    );
}

#[test]
fn sigkill_of_clnrm_lsp_run_leaves_nothing_running() {
    let ws = workspace();
    let m = marker(300);
    test_file(ws.path(), "long.clnrm.toml", &format!("sleep {m}"));
    let mut child = Command::new(clnrm_lsp_bin())
        .args(["run", "long.clnrm.toml"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || !alive_with(&m).is_empty()),
        "the scenario never started"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(20), || alive_with(&m).is_empty()),
        "`sleep {m}` outlived a SIGKILLed clnrm-lsp: {:?}",
        alive_with(&m)
    );
}

#[test]
fn the_next_start_kills_what_a_killed_owner_left() {
    let ws = workspace();
    let m = marker(303);
    // The leader dies with its owner; its child does not: the next start sweeps it.
    test_file(
        ws.path(),
        "long.clnrm.toml",
        &format!("sh -c 'sleep {m} & wait'"),
    );
    let mut child = Command::new(clnrm_lsp_bin())
        .args(["run", "long.clnrm.toml"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || !alive_with(&m).is_empty()),
        "the scenario never started"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Any start of clnrm-lsp sweeps, even a `check`.
    std::fs::write(ws.path().join("ok.clnrm.toml"), "[meta]\nname = \"ok\"\n").unwrap();
    let _ = run_in(ws.path(), &["check", "ok.clnrm.toml"]);
    assert!(
        eventually(Duration::from_secs(20), || alive_with(&m).is_empty()),
        "`sleep {m}` survived the start-up sweep: {:?}",
        alive_with(&m)
    );
}

#[test]
fn sigkill_of_the_server_leaves_nothing_running() {
    let ws = workspace();
    let root = ws.path().canonicalize().unwrap();
    let m = marker(304);
    test_file(&root, "long.clnrm.toml", &format!("sleep {m}"));
    let text = std::fs::read_to_string(root.join("long.clnrm.toml")).unwrap();
    let uri = format!("file://{}/long.clnrm.toml", root.display());
    let mut c = clnrm_lsp_e2e::lsp::LspClient::spawn();
    c.request(
        "initialize",
        serde_json::json!({
            "processId": null,
            "rootUri": format!("file://{}", root.display()),
            "capabilities": {},
        }),
    );
    c.notify("initialized", serde_json::json!({}));
    c.open(&uri, &text, 1);
    c.diagnostics_where(&uri, |_| true);
    c.notify(
        "textDocument/didSave",
        serde_json::json!({ "textDocument": { "uri": uri } }),
    );
    assert!(
        eventually(Duration::from_secs(30), || !alive_with(&m).is_empty()),
        "the scenario never started: {}",
        c.stderr()
    );
    let status = Command::new("kill")
        .args(["-KILL", &c.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        eventually(Duration::from_secs(20), || alive_with(&m).is_empty()),
        "`sleep {m}` outlived a SIGKILLed server: {:?}",
        alive_with(&m)
    );
}
