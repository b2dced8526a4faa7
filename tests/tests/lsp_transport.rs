//! The transport survives bad bytes: JSON that is no JSON-RPC message is answered with
//! `InvalidRequest`, wrong `Content-Length`s resynchronise, and the process ends with the
//! spec's exit code however the client goes away. After each bad input a good request
//! gets its answer (the barrier).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clnrm_lsp_e2e::bin_path::clnrm_lsp_bin;
use clnrm_lsp_e2e::lsp::{LspClient, TIMEOUT};
use serde_json::{json, Value};

fn started() -> LspClient {
    LspClient::start(json!({}), None).0
}

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// A request after the bad input is answered: the session goes on.
fn still_serving(c: &mut LspClient) {
    let stats = c.request("clnrm/cacheStats", Value::Null);
    assert!(stats.is_object(), "{stats}");
}

fn invalid_request_for(c: &mut LspClient, id: &Value) -> Value {
    c.wait_for(|m| m["error"]["code"] == -32600 && &m["id"] == id)
        .unwrap_or_else(|| panic!("no InvalidRequest for id {id}; stderr:\n{}", c.stderr()))
}

#[test]
fn json_that_is_no_message_gets_invalid_request_and_the_session_goes_on() {
    let mut c = started();
    let cases = [
        ("{}", Value::Null),
        ("[]", Value::Null),
        ("1", Value::Null),
        ("null", Value::Null),
        (
            r#"{"jsonrpc":"1.0","id":41,"method":"shutdown"}"#,
            json!(41),
        ),
        (
            r#"{"jsonrpc":"2.0","id":{"x":1},"method":"shutdown"}"#,
            Value::Null,
        ),
        (r#"{"jsonrpc":"2.0","id":"m","method":12}"#, json!("m")),
        (
            r#"[{"jsonrpc":"2.0","id":42,"method":"shutdown"},{"jsonrpc":"2.0","method":"exit"}]"#,
            Value::Null,
        ),
    ];
    for (body, id) in cases {
        c.send_raw(&frame(body));
        let answer = invalid_request_for(&mut c, &id);
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Invalid request")),
            "{body}: {answer}"
        );
        still_serving(&mut c);
    }
    // Not JSON at all: dropped with a log line, nothing answered, session goes on.
    c.send_raw(&frame("{garbage"));
    still_serving(&mut c);
    assert!(c.log_shows("not JSON"), "{}", c.stderr());
    assert!(c.shutdown());
}

#[test]
fn a_wrong_content_length_resynchronises_on_the_next_header() {
    let mut c = started();
    let open = json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": {
        "uri": "file:///tmp/t.clnrm.toml", "languageId": "toml", "version": 1, "text": "[test]\n" } } })
    .to_string();
    for declared in [
        (open.len() - 10).to_string(),
        (open.len() + 40).to_string(),
        "abc".into(),
    ] {
        c.send_raw(format!("Content-Length: {declared}\r\n\r\n{open}").as_bytes());
        still_serving(&mut c);
    }
    // A header split across writes and a body split mid-character still arrive whole.
    let body =
        r#"{"jsonrpc":"2.0","id":"split","method":"clnrm/cacheStats","params":null,"x":"→"}"#;
    let bytes = frame(body);
    for part in bytes.chunks(7) {
        c.send_raw(part);
    }
    assert!(c.wait_for(|m| m["id"] == "split").is_some());
    assert!(c.log_shows("dropping"), "{}", c.stderr());
    assert!(c.shutdown());
}

#[test]
fn exit_without_shutdown_exits_1_and_after_shutdown_0() {
    let mut c = started();
    still_serving(&mut c);
    c.notify("exit", Value::Null);
    assert_eq!(c.wait_exit(), Some(1));

    let mut c = started();
    c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    assert_eq!(c.wait_exit(), Some(0));
}

#[test]
fn end_of_input_ends_the_process_with_the_spec_code() {
    let mut c = started();
    still_serving(&mut c);
    c.close_stdin();
    assert_eq!(c.wait_exit(), Some(1), "stderr:\n{}", c.stderr());

    let mut c = started();
    c.request("shutdown", Value::Null);
    c.close_stdin();
    assert_eq!(c.wait_exit(), Some(0), "stderr:\n{}", c.stderr());
}

#[test]
fn a_client_that_closes_stdout_then_stdin_ends_the_server_cleanly() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(clnrm_lsp_bin())
        .env("CLNRM_LSP_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let init = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "capabilities": {} } });
    stdin.write_all(&frame(&init.to_string())).unwrap();
    // Barrier: the server is up and writing before its stdout goes away.
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    for id in 2..40 {
        let req = json!({ "jsonrpc": "2.0", "id": id, "method": "clnrm/cacheStats" });
        // The server may already be gone; the exit code below is what matters.
        let _ = stdin.write_all(&frame(&req.to_string()));
    }
    drop(stdin);
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(log.path()).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
}
