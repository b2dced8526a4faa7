//! Both directions of the byte stream, between the client and tower-lsp.
//!
//! In: frames are cut and vetted (`framing`); JSON that is not a JSON-RPC message is
//! answered here with `InvalidRequest` and never reaches tower-lsp, whose decoder would
//! end the session on it.
//!
//! Out: tower-lsp writes into a duplex; one writer task forwards its whole frames to the
//! client and slips the guard's answers in between them. When the client's end fails
//! (closed stdout) the writer keeps draining the duplex: tower-lsp's own writer would
//! stop, and its response pump then panics on `unreachable!()` (ebkalderon/tower-lsp#413),
//! exit 101. tower-lsp never sees an output error this way.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::framing::{frame, invalid_request, vet, Deframer, Event, Verdict};

const CHUNK: usize = 64 * 1024;

/// tower-lsp's ends of the transport, and the writer to await before the process ends.
pub struct Transport {
    pub input: DuplexStream,
    pub output: DuplexStream,
    pub writer: JoinHandle<()>,
}

pub fn guarded(
    input: impl AsyncRead + Unpin + Send + 'static,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> Transport {
    let (to_server, server_input) = tokio::io::duplex(1024 * 1024);
    let (server_output, from_server) = tokio::io::duplex(1024 * 1024);
    let (answers, answers_rx) = mpsc::channel(64);
    tokio::spawn(read_input(input, to_server, answers));
    let writer = tokio::spawn(write_output(from_server, answers_rx, output));
    Transport {
        input: server_input,
        output: server_output,
        writer,
    }
}

async fn read_input(
    mut input: impl AsyncRead + Unpin,
    mut to_server: DuplexStream,
    answers: mpsc::Sender<Vec<u8>>,
) {
    let mut deframer = Deframer::default();
    let mut buf = vec![0; CHUNK];
    loop {
        let n = match input.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::info!("input closed: {e}");
                break;
            }
        };
        deframer.push(&buf[..n]);
        while let Some(event) = deframer.next() {
            let body = match event {
                Event::Frame(body) => body,
                Event::Dropped(why) => {
                    tracing::error!("dropping {why}");
                    continue;
                }
            };
            match vet(body) {
                Verdict::Forward(body) => {
                    if to_server.write_all(&frame(&body)).await.is_err() {
                        return;
                    }
                }
                Verdict::Reject { id, reason } => {
                    tracing::error!("invalid request (id {id}): {reason}");
                    // The writer only goes when the session ends.
                    let _ = answers.send(invalid_request(id, &reason)).await;
                }
                Verdict::Drop(why) => tracing::error!("dropping a message that is {why}"),
            }
        }
    }
    // End of input: dropping `to_server` tells tower-lsp.
}

async fn write_output(
    mut from_server: DuplexStream,
    mut answers: mpsc::Receiver<Vec<u8>>,
    mut output: impl AsyncWrite + Unpin,
) {
    let mut deframer = Deframer::default();
    let mut buf = vec![0; CHUNK];
    let mut open = true;
    loop {
        tokio::select! {
            read = from_server.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        // The server's side is done: answers already made still go out.
                        while let Ok(answer) = answers.try_recv() {
                            open = send(&mut output, &answer, open).await;
                        }
                        break;
                    }
                    Ok(n) => n,
                };
                deframer.push(&buf[..n]);
                while let Some(event) = deframer.next() {
                    if let Event::Frame(body) = event {
                        open = send(&mut output, &body, open).await;
                    }
                }
            }
            Some(answer) = answers.recv() => {
                open = send(&mut output, &answer, open).await;
            }
        }
    }
}

/// Write one whole frame; once the client's end has failed, discard quietly.
async fn send(output: &mut (impl AsyncWrite + Unpin), body: &[u8], open: bool) -> bool {
    if !open {
        return false;
    }
    let sent = async {
        output.write_all(&frame(body)).await?;
        output.flush().await
    };
    match sent.await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("output closed ({e}): discarding output until the session ends");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_non_messages_and_forwards_the_rest() {
        let mut input = Vec::new();
        for body in [
            &b"{garbage}"[..],
            b"{}",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"x\"}",
        ] {
            input.extend(frame(body));
        }
        let (client_out, mut client_in) = tokio::io::duplex(4096);
        let mut t = guarded(std::io::Cursor::new(input), client_out);
        let mut got = String::new();
        t.input.read_to_string(&mut got).await.unwrap();
        assert!(!got.contains("garbage") && !got.contains("{}"));
        assert!(got.ends_with("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}"));
        drop(t.output);
        t.writer.await.unwrap();
        let mut answered = String::new();
        client_in.read_to_string(&mut answered).await.unwrap();
        assert!(answered.contains("-32600"), "{answered}");
    }

    #[tokio::test]
    async fn keeps_draining_after_the_client_end_fails() {
        let (client_out, client_in) = tokio::io::duplex(16);
        drop(client_in);
        let mut t = guarded(tokio::io::empty(), client_out);
        for _ in 0..100 {
            t.output.write_all(&frame(&[b' '; 1000])).await.unwrap();
        }
        drop(t.output);
        t.writer.await.unwrap();
    }
}
