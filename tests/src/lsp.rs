//! A minimal LSP client over stdio for the built binary: framing, requests with ids,
//! notifications, and waiting for a server notification with a deadline.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bin_path::clnrm_lsp_bin;

pub const TIMEOUT: Duration = Duration::from_secs(20);

pub struct LspClient {
    child: Child,
    /// `None` once closed by [`LspClient::close_stdin`].
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Messages read but not yet consumed by a wait.
    pending: Vec<Value>,
    next_id: i64,
    /// Server-to-client requests are left for the test to answer ([`LspClient::answer`]).
    pub hold_server_requests: bool,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl LspClient {
    /// Start the server with `CLNRM_LSP_LOG` set to `log`.
    pub fn spawn_with_log(log: &str) -> Self {
        Self::spawn_bin(clnrm_lsp_bin(), log)
    }

    /// Start the executable at `bin` (e.g. the release build, for benchmarks).
    pub fn spawn_bin(bin: &std::path::Path, log: &str) -> Self {
        Self::spawn_env(bin, log, &[])
    }

    /// Start the server with extra environment variables.
    pub fn spawn_env(bin: &std::path::Path, log: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(bin)
            .arg("--stdio")
            .env("CLNRM_LSP_LOG", log)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn clnrm-lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut reader) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let log_buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log_buf.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Self {
            child,
            stdin: Some(stdin),
            incoming,
            pending: Vec::new(),
            next_id: 1,
            hold_server_requests: false,
            stderr: log_buf,
        }
    }

    pub fn spawn() -> Self {
        Self::spawn_with_log("info")
    }

    /// Spawn and run `initialize`/`initialized` with the given client capabilities and no
    /// settings (a workspace that runs scenarios pins its backend in its config: see
    /// [`crate::workspace`]).
    pub fn start(capabilities: Value, root: Option<&std::path::Path>) -> (Self, Value) {
        let mut c = Self::spawn();
        let root_uri = root.map(|r| format!("file://{}", r.display()));
        let result = c.request(
            "initialize",
            json!({ "processId": null, "rootUri": root_uri, "capabilities": capabilities }),
        );
        c.notify("initialized", json!({}));
        (c, result)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            let _ = stdin.write_all(bytes);
            let _ = stdin.flush();
        }
    }

    /// Answer a server-to-client request held back by `hold_server_requests`.
    pub fn answer(&mut self, id: &Value, result: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": result }));
    }

    /// Close the server's stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The server's exit code once it ends by itself (`None`: killed by a signal, or
    /// still running after [`TIMEOUT`], then killed).
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }

    fn send(&mut self, msg: &Value) {
        let body = serde_json::to_string(msg).unwrap();
        let frame = format!("Content-Length: {}\r\n\r\n{}", body.len(), body);
        self.send_raw(frame.as_bytes());
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let mut msg = json!({ "jsonrpc": "2.0", "method": method });
        if !params.is_null() {
            msg["params"] = params;
        }
        self.send(&msg);
    }

    /// Send a request and return its whole response (`result` or `error`).
    pub fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if !params.is_null() {
            msg["params"] = params;
        }
        self.send(&msg);
        self.wait_for(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
            .unwrap_or_else(|| {
                panic!(
                    "no response to {method} within {TIMEOUT:?}; stderr:\n{}",
                    self.stderr()
                )
            })
    }

    /// Send a request and return its `result`, failing the test on an error response.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let resp = self.request_raw(method, params);
        assert!(resp.get("error").is_none(), "{method} failed: {resp}");
        resp["result"].clone()
    }

    /// The first message (in arrival order) matching `pred`, waiting up to [`TIMEOUT`].
    /// Server-to-client requests are answered with a null result as they pass.
    pub fn wait_for(&mut self, mut pred: impl FnMut(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(&mut pred) {
            return Some(self.pending.remove(i));
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(msg) => {
                    if msg.get("method").is_some()
                        && msg.get("id").is_some()
                        && !self.hold_server_requests
                    {
                        let id = msg["id"].clone();
                        self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": null }));
                    }
                    if pred(&msg) {
                        return Some(msg);
                    }
                    self.pending.push(msg);
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// The next `publishDiagnostics` for `uri` matching `pred`.
    pub fn diagnostics_where(&mut self, uri: &str, mut pred: impl FnMut(&Value) -> bool) -> Value {
        let uri = uri.to_string();
        self.wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri.as_str()
                && pred(&m["params"])
        })
        .unwrap_or_else(|| {
            panic!(
                "no matching diagnostics for {uri}; stderr:\n{}",
                self.stderr()
            )
        })["params"]
            .clone()
    }

    /// Every `publishDiagnostics` for `uri`, in arrival order, up to and including the first
    /// matching `pred`: a later version's publish is a barrier, so what arrived before it
    /// is all that was ever going to arrive for the earlier versions.
    pub fn published_until(
        &mut self,
        uri: &str,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let p = self.diagnostics_where(uri, |_| true);
            let done = pred(&p);
            seen.push(p);
            if done {
                return seen;
            }
        }
    }

    pub fn open(&mut self, uri: &str, text: &str, version: i64) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "clnrm", "version": version, "text": text } }),
        );
    }

    pub fn change_full(&mut self, uri: &str, text: &str, version: i64) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    /// The code lenses of `uri` as (command, title), in order.
    pub fn lenses(&mut self, uri: &str) -> Vec<(String, String)> {
        let lenses = self.request(
            "textDocument/codeLens",
            json!({ "textDocument": { "uri": uri } }),
        );
        lenses
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let c = &l["command"];
                (
                    c["command"].as_str().unwrap().to_string(),
                    c["title"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// One-range incremental `didChange`: replace `start..end` (line, character) by `text`.
    pub fn change_range(
        &mut self,
        uri: &str,
        version: i64,
        start: (u32, u32),
        end: (u32, u32),
        text: &str,
    ) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{
                    "range": {
                        "start": { "line": start.0, "character": start.1 },
                        "end": { "line": end.0, "character": end.1 }
                    },
                    "text": text
                }]
            }),
        );
    }

    /// The server's process id (to read its memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Whether the server's log comes to contain `needle` within [`TIMEOUT`]. The log is
    /// another pipe than the protocol: a line logged before an answer can be read after it.
    pub fn log_shows(&self, needle: &str) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.stderr().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `shutdown` + `exit`, then every message the server sent that was not consumed yet,
    /// read until its stdout closes: the end of the stream is the barrier after which
    /// nothing more can come. `None` if the process did not exit by itself.
    pub fn shutdown_collect(mut self) -> Option<Vec<Value>> {
        let _ = self.request_raw("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        let mut rest = std::mem::take(&mut self.pending);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(msg) => rest.push(msg),
                Err(RecvTimeoutError::Disconnected) => return Some(rest),
                Err(RecvTimeoutError::Timeout) => return None,
            }
        }
    }

    /// `shutdown` + `exit`; returns whether the process exited by itself.
    pub fn shutdown(mut self) -> bool {
        let _ = self.request_raw("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        false
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}
