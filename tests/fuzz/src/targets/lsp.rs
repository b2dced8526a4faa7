//! Fuzz target: bytes → the LSP message stream (framing + dispatch), in process.
//!
//! The server is driven through `clnrm_lsp::lsp::serve` over tokio duplexes (no process,
//! no stdio): an `initialize` that declares the workspace untrusted, then the fuzz bytes
//! as they are (headers, bodies, garbage), then end of input. Every input must end the
//! session by itself within the timeout: a panic, a hang or an exit that is neither 0 nor
//! 1 is a finding.
//!
//! Safety of the fuzzing machine: the workspace is an empty temporary directory and stays
//! untrusted whatever the input says (the word `trusted` is defused before feeding), so no
//! input can make the server run a scenario; workspace-folder changes are defused too, so
//! no input points `workspace/symbol` at `/`.
//!
//! Seeds: `corpus/lsp/` (sessions: open, edit, hover, complete, format, symbols, run
//! commands, shutdown); regressions: `regressions/lsp/` (issue 10's transport killers).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the mutator inserts: frame headers (right, wrong and split), JSON-RPC fragments,
/// method names and values that were once fatal.
pub const TOKENS: &[&str] = &[
    "Content-Length: ",
    "Content-Length: 0\r\n\r\n",
    "Content-Length: abc\r\n\r\n",
    "Content-Length: 99999999999\r\n\r\n",
    "\r\n\r\n",
    "\r\n",
    "Content-Type: application/vscode-jsonrpc; charset=latin1\r\n",
    "{\"jsonrpc\":\"2.0\",",
    "\"jsonrpc\":\"1.0\"",
    "\"id\":",
    "\"id\":{}",
    "\"id\":1.5",
    "\"id\":null",
    "\"method\":",
    "\"method\":7",
    "\"params\":",
    "\"result\":",
    "\"error\":",
    "\"textDocument/didOpen\"",
    "\"textDocument/didChange\"",
    "\"textDocument/hover\"",
    "\"textDocument/completion\"",
    "\"textDocument/formatting\"",
    "\"textDocument/documentSymbol\"",
    "\"workspace/symbol\"",
    "\"workspace/executeCommand\"",
    "\"clnrm.runFile\"",
    "\"shutdown\"",
    "\"exit\"",
    "\"$/cancelRequest\"",
    "\"file:///ws/t.clnrm.toml.tera\"",
    "\"position\":{\"line\":0,\"character\":0}",
    "{{",
    "}}",
    "{%",
    "%}",
    "[]",
    "{}",
    "null",
    "-9223372036854775808",
    "\"\\ud800\"",
];

/// Longest a session may take after its input ended.
const TIMEOUT: Duration = Duration::from_secs(10);

// A panic is how a target reports a finding to the driver.
#[allow(clippy::panic)]
pub fn run(data: &[u8]) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("no runtime: {e}"),
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("no temp dir: {e}"),
    };
    let input = stream(data, &dir.path().display().to_string());
    let code = runtime.block_on(async move {
        let (mut client, server_in) = tokio::io::duplex(64 * 1024);
        let (server_out, mut from_server) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(clnrm_lsp::lsp::serve(server_in, server_out));
        // Drain the output concurrently: a full pipe must not stall the session.
        let drain = tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = from_server.read_to_end(&mut sink).await;
        });
        let _ = client.write_all(&input).await;
        drop(client);
        let code = tokio::time::timeout(TIMEOUT, server).await;
        drain.abort();
        code
    });
    runtime.shutdown_background();
    match code {
        Ok(Ok(0 | 1)) => {}
        Ok(Ok(other)) => panic!("exit code {other}"),
        Ok(Err(e)) => panic!("the session panicked: {e}"),
        Err(_) => panic!("the session did not end within {TIMEOUT:?} of its input ending"),
    }
}

/// `initialize` + `initialized` for an untrusted workspace at `root`, then `data` defused.
fn stream(data: &[u8], root: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for body in [
        serde_json::json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "capabilities": {}, "rootUri": format!("file://{root}"),
            "initializationOptions": { "trusted": false } } }),
        serde_json::json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }),
    ] {
        let body = body.to_string();
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }
    let mut data = data.to_vec();
    defuse(&mut data, b"trusted", b"trustex");
    defuse(&mut data, b"WorkspaceFolders", b"WorkspaceFolderx");
    out.extend_from_slice(&data);
    out
}

/// Replace every `word` in `data` by `with` (same length: frame lengths stay right).
fn defuse(data: &mut [u8], word: &[u8], with: &[u8]) {
    debug_assert_eq!(word.len(), with.len());
    let mut i = 0;
    while i + word.len() <= data.len() {
        if data[i..i + word.len()].eq_ignore_ascii_case(word) {
            data[i..i + word.len()].copy_from_slice(with);
            i += word.len();
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    #[test]
    fn the_known_killers_end_cleanly() {
        let mut seeds: Vec<Vec<u8>> = ["{}", "[]", "1", "null", r#"{"jsonrpc":"1.0"}"#]
            .iter()
            .map(|b| frame(b))
            .collect();
        seeds.push(b"Content-Length: abc\r\n\r\n{}".to_vec());
        seeds.push(b"Content-Length: 99\r\n\r\n{}".to_vec());
        seeds.push(frame(r#"{"jsonrpc":"2.0","id":9,"method":"shutdown"}"#));
        for seed in seeds {
            run(&seed);
        }
    }

    #[test]
    fn trust_cannot_be_fuzzed_in() {
        let mut d = br#"{"Trusted":true}"#.to_vec();
        defuse(&mut d, b"trusted", b"trustex");
        assert_eq!(d, br#"{"trustex":true}"#);
    }
}
