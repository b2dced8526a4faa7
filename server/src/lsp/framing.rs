//! A guard between stdin and tower-lsp. tower-lsp's decoder ends the whole session on the
//! first malformed message; an editor bug or a stray byte must not cost the user their
//! server. Each frame is checked here: bodies with invalid UTF-8 are repaired (U+FFFD),
//! bodies that are not JSON are dropped with a log line, and only valid frames go on.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// Largest message accepted (a 10 MB document is ~10.5 MB of JSON).
const MAX_FRAME: usize = 256 * 1024 * 1024;

/// Read frames from `input` and forward the sound ones; returns the reader for tower-lsp.
pub fn guarded(input: impl AsyncRead + Unpin + Send + 'static) -> DuplexStream {
    let (mut to_server, from_guard) = tokio::io::duplex(1024 * 1024);
    tokio::spawn(async move {
        let mut reader = BufReader::new(input);
        while let Some(frame) = next_frame(&mut reader).await {
            let Some(body) = frame else { continue };
            let header = format!("Content-Length: {}\r\n\r\n", body.len());
            if to_server.write_all(header.as_bytes()).await.is_err()
                || to_server.write_all(&body).await.is_err()
            {
                break;
            }
        }
        // End of input: dropping the writer tells tower-lsp.
    });
    from_guard
}

/// The next frame: `None` at end of input, `Some(None)` for a frame that was dropped.
async fn next_frame(reader: &mut (impl AsyncBufReadExt + Unpin)) -> Option<Option<Vec<u8>>> {
    let mut length: Option<usize> = None;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await.ok()?;
        if n == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            length = v.trim().parse().ok();
        }
    }
    let len = length?;
    if len > MAX_FRAME {
        tracing::error!("dropping a {len}-byte message (limit {MAX_FRAME})");
        let mut rest = reader.take(len as u64);
        tokio::io::copy(&mut rest, &mut tokio::io::sink())
            .await
            .ok()?;
        return Some(None);
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await.ok()?;
    Some(sound(body))
}

fn sound(body: Vec<u8>) -> Option<Vec<u8>> {
    let body = match String::from_utf8(body) {
        Ok(s) => s.into_bytes(),
        Err(e) => {
            tracing::warn!("message with invalid UTF-8 repaired");
            String::from_utf8_lossy(e.as_bytes())
                .into_owned()
                .into_bytes()
        }
    };
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => Some(body),
        Err(e) => {
            tracing::error!("dropping a message that is not JSON: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drops_garbage_and_repairs_bad_utf8() {
        let mut input = Vec::new();
        for body in [&b"{garbage}"[..], b"{\"a\":\"x\xffy\"}", b"{\"ok\":1}"] {
            input.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            input.extend_from_slice(body);
        }
        let mut out = guarded(std::io::Cursor::new(input));
        let mut got = String::new();
        out.read_to_string(&mut got).await.unwrap();
        assert!(!got.contains("garbage"));
        assert!(got.contains("x\u{FFFD}y"));
        assert!(got.ends_with("{\"ok\":1}"));
    }
}
