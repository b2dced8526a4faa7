//! Cutting the byte stream into messages and vetting each one before tower-lsp sees it.
//! tower-lsp's decoder ends the session on the first body it cannot decode and never
//! finds its way back after a wrong `Content-Length`; here frames are cut by hand,
//! resynchronised on the next `Content-Length:` header, and only bodies tower-lsp can
//! decode go on. Pure and synchronous, so the transport, its tests and the fuzz target
//! share it.

use serde_json::{json, Value};

/// Largest message accepted (a 10 MB document is ~10.5 MB of JSON).
pub const MAX_FRAME: usize = 256 * 1024 * 1024;
/// Bytes kept while looking for a header end; past this the stream is garbage.
const MAX_HEADER: usize = 64 * 1024;
const HEADER: &[u8] = b"content-length:";

/// What the deframer found in the stream.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// A body of exactly the declared length.
    Frame(Vec<u8>),
    /// Bytes thrown away, and why (for the log).
    Dropped(String),
}

/// Incremental frame cutter: `push` what was read, then take `next` until `None`.
#[derive(Default)]
pub struct Deframer {
    buf: Vec<u8>,
    /// Bytes of an oversized body still to be thrown away as they arrive.
    skip: usize,
    /// How far the current body has been searched for a stray header.
    scanned: usize,
}

impl Deframer {
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete event, or `None` when more input is needed.
    pub fn next(&mut self) -> Option<Event> {
        let Some(end) = find(&self.buf, b"\r\n\r\n") else {
            if self.buf.len() > MAX_HEADER {
                // Keep a tail: a header may have started in it.
                let cut = self.buf.len() - 64;
                self.consume(cut);
                return Some(Event::Dropped(format!("{cut} bytes without a header")));
            }
            return None;
        };
        let start = end + 4;
        let Some(len) = content_length(&self.buf[..end]) else {
            self.consume(start);
            return Some(Event::Dropped(
                "a header without a valid Content-Length".into(),
            ));
        };
        if len > MAX_FRAME {
            let have = (self.buf.len() - start).min(len);
            self.consume(start + have);
            self.skip = len - have;
            return Some(Event::Dropped(format!(
                "a {len}-byte message (limit {MAX_FRAME})"
            )));
        }
        // A header inside the body means the declared length ran past the message's end
        // (valid JSON never holds a raw CR LF after `Content-Length: N`).
        let avail = (self.buf.len() - start).min(len);
        let from = self.scanned.min(avail);
        if let Some(at) = stray_header(&self.buf[start + from..start + avail]) {
            self.consume(start + from + at);
            return Some(Event::Dropped(format!(
                "a message shorter than its Content-Length ({len})"
            )));
        }
        if self.buf.len() - start < len {
            // Rescan a little: a header may be split across reads.
            self.scanned = avail.saturating_sub(64);
            return None;
        }
        let body = self.buf[start..start + len].to_vec();
        self.consume(start + len);
        Some(Event::Frame(body))
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.scanned = 0;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The last `Content-Length:` in a header block (bytes before it are leftovers of a
/// message whose length was too short).
fn content_length(header: &[u8]) -> Option<usize> {
    let at = header
        .windows(HEADER.len())
        .rposition(|w| w.eq_ignore_ascii_case(HEADER))?;
    let rest = &header[at + HEADER.len()..];
    let line = rest.split(|&b| b == b'\r' || b == b'\n').next()?;
    std::str::from_utf8(line).ok()?.trim().parse().ok()
}

/// Where `Content-Length:` digits `\r\n` starts in `body`, if anywhere.
fn stray_header(body: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = body[from..]
        .windows(HEADER.len())
        .position(|w| w.eq_ignore_ascii_case(HEADER))
    {
        let at = from + i;
        let rest = &body[at + HEADER.len()..];
        let rest = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && rest[digits..].starts_with(b"\r\n") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// What to do with a body.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// A JSON-RPC message tower-lsp can decode (UTF-8 repaired if need be).
    Forward(Vec<u8>),
    /// Valid JSON but no JSON-RPC message: answer `InvalidRequest` with this id.
    Reject { id: Value, reason: String },
    /// Not JSON at all: dropped with a log line.
    Drop(String),
}

/// Vet one body. Everything forwarded decodes as tower-lsp's `Message`, so its decoder
/// never fails and never ends the session.
pub fn vet(body: Vec<u8>) -> Verdict {
    let body = match String::from_utf8(body) {
        Ok(s) => s.into_bytes(),
        Err(e) => {
            tracing::warn!("message with invalid UTF-8 repaired");
            String::from_utf8_lossy(e.as_bytes())
                .into_owned()
                .into_bytes()
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Verdict::Drop(format!("not JSON: {e}")),
    };
    match shape(&value) {
        Ok(()) => Verdict::Forward(body),
        Err(reason) => Verdict::Reject {
            id: value
                .get("id")
                .filter(|id| valid_id(id))
                .cloned()
                .unwrap_or(Value::Null),
            reason,
        },
    }
}

/// tower-lsp's ids: integers that fit an i64, strings, null.
fn valid_id(id: &Value) -> bool {
    id.is_i64() || id.is_string() || id.is_null()
}

fn shape(v: &Value) -> Result<(), String> {
    let obj = match v {
        Value::Object(o) => o,
        Value::Array(_) => return Err("batches are not supported".into()),
        other => return Err(format!("expected an object, got {}", kind(other))),
    };
    if obj.get("jsonrpc") != Some(&json!("2.0")) {
        return Err("`jsonrpc` must be \"2.0\"".into());
    }
    if obj.get("id").is_some_and(|id| !valid_id(id)) {
        return Err("`id` must be an integer, a string or null".into());
    }
    match obj.get("method") {
        Some(Value::String(_)) => {
            if obj
                .get("params")
                .is_some_and(|p| !p.is_object() && !p.is_array())
            {
                return Err("`params` must be an object or an array".into());
            }
            serde_json::from_value::<tower_lsp::jsonrpc::Request>(v.clone())
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Some(other) => Err(format!("`method` must be a string, got {}", kind(other))),
        None => {
            if !obj.contains_key("id") || obj.contains_key("result") == obj.contains_key("error") {
                return Err("neither a request nor a response".into());
            }
            serde_json::from_value::<tower_lsp::jsonrpc::Response>(v.clone())
                .map(|_| ())
                .map_err(|e| format!("malformed response: {e}"))
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The error response for a rejected message.
pub fn invalid_request(id: Value, reason: &str) -> Vec<u8> {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": -32600, "message": format!("Invalid request: {reason}") },
    })
    .to_string()
    .into_bytes()
}

/// `body` with its header.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &[u8], chunk: usize) -> Vec<Event> {
        let mut d = Deframer::default();
        let mut out = Vec::new();
        for part in input.chunks(chunk) {
            d.push(part);
            while let Some(e) = d.next() {
                out.push(e);
            }
        }
        out
    }

    fn frames(input: &[u8], chunk: usize) -> Vec<String> {
        events(input, chunk)
            .into_iter()
            .filter_map(|e| match e {
                Event::Frame(b) => Some(String::from_utf8(b).unwrap()),
                Event::Dropped(_) => None,
            })
            .collect()
    }

    const GOOD: &str = r#"{"jsonrpc":"2.0","id":7,"method":"shutdown"}"#;

    #[test]
    fn wrong_lengths_resynchronise_on_the_next_header() {
        let body = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        for declared in [
            (body.len() - 10).to_string(),
            (body.len() + 40).to_string(),
            "abc".to_string(),
        ] {
            let mut input = format!("Content-Length: {declared}\r\n\r\n{body}").into_bytes();
            input.extend(frame(GOOD.as_bytes()));
            for chunk in [1, 7, 4096] {
                let got = frames(&input, chunk);
                assert_eq!(
                    got.last().map(String::as_str),
                    Some(GOOD),
                    "{declared}/{chunk}"
                );
            }
        }
    }

    #[test]
    fn a_header_text_inside_a_string_is_no_header() {
        let body = r#"{"jsonrpc":"2.0","method":"x","params":{"t":"Content-Length: 5\r\n\r\n"}}"#;
        let input = frame(body.as_bytes());
        assert_eq!(frames(&input, 3), vec![body.to_string()]);
    }

    #[test]
    fn oversized_messages_are_skipped_without_buffering() {
        let mut d = Deframer::default();
        d.push(format!("Content-Length: {}\r\n\r\n", MAX_FRAME + 1).as_bytes());
        assert!(matches!(d.next(), Some(Event::Dropped(_))));
        d.push(&vec![b'x'; 1 << 20]);
        assert!(d.buf.is_empty() && d.next().is_none());
    }

    #[test]
    fn non_messages_are_rejected_with_their_id_when_valid() {
        let cases = [
            ("{}", Value::Null),
            ("[]", Value::Null),
            ("1", Value::Null),
            ("null", Value::Null),
            (r#"{"jsonrpc":"1.0","id":3,"method":"x"}"#, json!(3)),
            (
                r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#,
                Value::Null,
            ),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":"s","method":5}"#, json!("s")),
            (r#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":2,"error":5}"#, json!(2)),
        ];
        for (body, want) in cases {
            match vet(body.as_bytes().to_vec()) {
                Verdict::Reject { id, .. } => assert_eq!(id, want, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(vet(b"{garbage}".to_vec()), Verdict::Drop(_)));
        for ok in [
            GOOD,
            r#"{"jsonrpc":"2.0","method":"exit"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}"#,
        ] {
            assert!(
                matches!(vet(ok.as_bytes().to_vec()), Verdict::Forward(_)),
                "{ok}"
            );
        }
        let Verdict::Forward(repaired) =
            vet(b"{\"jsonrpc\":\"2.0\",\"method\":\"x\xff\"}".to_vec())
        else {
            panic!("bad UTF-8 is repaired");
        };
        assert!(String::from_utf8(repaired).unwrap().contains('\u{FFFD}'));
    }
}
