//! OTLP/HTTP trace receiver on 127.0.0.1 (`POST /v1/traces`, JSON or protobuf bodies,
//! optionally gzip-compressed); bodies are decoded by [`super::decode`].
//!
//! Served from two std threads through `tiny_http`, so it works the same whether the
//! caller is inside a tokio runtime or not. A span is stored before the 200 is sent, so
//! every export the program saw acknowledged is in the result.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use super::decode::{decode_json, decode_protobuf};
use crate::traces::Span;

/// Largest accepted body, before and after decompression.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const WORKERS: usize = 2;
/// How long shutdown waits for an export that is still being read.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running receiver. Dropping it stops it; [`OtlpReceiver::finish`] also returns spans.
pub struct OtlpReceiver {
    server: Arc<tiny_http::Server>,
    port: u16,
    spans: Arc<Mutex<Vec<Span>>>,
    stop: Arc<AtomicBool>,
    /// One message per worker that stopped; in a Mutex so the receiver is `Sync`.
    done: Mutex<mpsc::Receiver<()>>,
    stopped: bool,
}

impl OtlpReceiver {
    /// Binds 127.0.0.1 on an ephemeral port and starts serving.
    pub fn start() -> io::Result<OtlpReceiver> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| io::Error::other("OTLP receiver has no IP address"))?;
        let server = Arc::new(server);
        let spans = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, done) = mpsc::channel();
        for i in 0..WORKERS {
            let (server, spans, stop, tx) =
                (server.clone(), spans.clone(), stop.clone(), tx.clone());
            thread::Builder::new()
                .name(format!("otlp-receiver-{i}"))
                .spawn(move || {
                    serve(&server, &spans, &stop);
                    let _ = tx.send(());
                })?;
        }
        Ok(OtlpReceiver {
            server,
            port,
            spans,
            stop,
            done: Mutex::new(done),
            stopped: false,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Spans received so far, in arrival order.
    pub fn spans(&self) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops serving (finishing exports already queued) and returns every span received.
    pub fn finish(mut self) -> Vec<Span> {
        self.shutdown();
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn shutdown(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..WORKERS {
            self.server.unblock();
        }
        // A client that never sends its body must not hang the run: wait a bounded time.
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        for _ in 0..WORKERS {
            let left = deadline.saturating_duration_since(Instant::now());
            if done.recv_timeout(left).is_err() {
                break;
            }
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if !self.stopped {
            self.stop.store(true, Ordering::SeqCst);
            for _ in 0..WORKERS {
                self.server.unblock();
            }
        }
    }
}

fn serve(server: &tiny_http::Server, spans: &Mutex<Vec<Span>>, stop: &AtomicBool) {
    loop {
        match server.recv() {
            Ok(rq) => handle(rq, spans),
            Err(_) if stop.load(Ordering::SeqCst) => return,
            // An accept error on one connection; keep serving the others.
            Err(_) => continue,
        }
    }
}

enum Format {
    Json,
    Protobuf,
}

fn header<'a>(rq: &'a tiny_http::Request, name: &'static str) -> Option<&'a str> {
    rq.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

fn handle(mut rq: tiny_http::Request, spans: &Mutex<Vec<Span>>) {
    let reply = match receive(&mut rq) {
        Ok((received, format)) => {
            spans
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(received);
            match format {
                Format::Json => ok_response(b"{}".to_vec(), "application/json"),
                Format::Protobuf => ok_response(
                    ExportTraceServiceResponse::default().encode_to_vec(),
                    "application/x-protobuf",
                ),
            }
        }
        Err((code, message)) => {
            tiny_http::Response::from_data(message.into_bytes()).with_status_code(code)
        }
    };
    // The client may have gone away; nothing useful to do about it.
    let _ = rq.respond(reply);
}

fn ok_response(body: Vec<u8>, content_type: &str) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
    let mut r = tiny_http::Response::from_data(body).with_status_code(200);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
        r.add_header(h);
    }
    r
}

/// Checks and reads one request; `Err((status, message))` on anything unacceptable.
fn receive(rq: &mut tiny_http::Request) -> Result<(Vec<Span>, Format), (u16, String)> {
    let path = rq.url().split('?').next().unwrap_or_default();
    if path != "/v1/traces" {
        return Err((
            404,
            format!("no such endpoint {path}; traces go to /v1/traces"),
        ));
    }
    if *rq.method() != tiny_http::Method::Post {
        return Err((405, "use POST".into()));
    }
    let media = header(rq, "Content-Type")
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let format = match media.as_str() {
        "application/json" => Format::Json,
        "application/x-protobuf" | "application/protobuf" => Format::Protobuf,
        other => return Err((415, format!("unsupported content type {other:?}"))),
    };
    let gzip = match header(rq, "Content-Encoding").map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(e) if e.is_empty() || e == "identity" => false,
        Some(e) if e == "gzip" => true,
        Some(e) => return Err((415, format!("unsupported content encoding {e:?}"))),
    };
    if rq.body_length().is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err((413, format!("body larger than {MAX_BODY_BYTES} bytes")));
    }
    let mut body = read_bounded(rq.as_reader())?;
    if gzip {
        body = read_bounded(&mut flate2::read::GzDecoder::new(&body[..]))?;
    }
    let spans = match format {
        Format::Json => decode_json(&body),
        Format::Protobuf => decode_protobuf(&body),
    }
    .map_err(|e| (400, e))?;
    Ok((spans, format))
}

fn read_bounded(reader: &mut dyn Read) -> Result<Vec<u8>, (u16, String)> {
    let mut buf = Vec::new();
    reader
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| (400, format!("could not read body: {e}")))?;
    if buf.len() > MAX_BODY_BYTES {
        return Err((413, format!("body larger than {MAX_BODY_BYTES} bytes")));
    }
    Ok(buf)
}
