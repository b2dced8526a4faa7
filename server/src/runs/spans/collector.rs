//! Per-run span collection: start a receiver, tell the program where it is, collect.

use std::io;

use super::otlp::OtlpReceiver;
use super::stdout::parse_stdout;
use crate::traces::Span;

/// Collects the spans of one run. Create it before starting the program, pass
/// [`Collector::otlp_env`] to the program's environment, call [`Collector::finish`] with
/// the program's stdout after it exited.
pub struct Collector {
    receiver: OtlpReceiver,
}

impl Collector {
    /// Starts an OTLP/HTTP receiver on 127.0.0.1, ephemeral port.
    pub fn start() -> io::Result<Collector> {
        Ok(Collector {
            receiver: OtlpReceiver::start()?,
        })
    }

    pub fn port(&self) -> u16 {
        self.receiver.port()
    }

    /// `http://127.0.0.1:PORT`, the OTLP/HTTP base endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// The standard SDK variables pointing traces at this receiver. The service name is
    /// left to the program.
    pub fn otlp_env(&self) -> Vec<(String, String)> {
        let base = self.endpoint();
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", base.clone()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("{base}/v1/traces"),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_string()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "http/protobuf".to_string(),
            ),
            ("OTEL_TRACES_EXPORTER", "otlp".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Stops the receiver and returns the OTLP spans (arrival order) followed by the span
    /// lines of `stdout` (line order), each tagged with its source.
    pub fn finish(self, stdout: &str) -> Vec<Span> {
        let mut spans = self.receiver.finish();
        spans.extend(parse_stdout(stdout));
        spans
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use prost::Message;

    use super::*;
    use crate::model::expect::Expectations;
    use crate::runs::expect::evaluate;
    use crate::traces::SpanSource;

    /// A minimal HTTP/1.1 client: one request per connection; returns (status, body).
    fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let head_end = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&resp[..head_end]).to_string();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, resp[head_end + 4..].to_vec())
    }

    const PROTO: (&str, &str) = ("Content-Type", "application/x-protobuf");
    const JSON: (&str, &str) = ("Content-Type", "application/json");

    #[test]
    fn collector_can_be_shared_across_threads_and_awaits() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Collector>();
    }

    #[test]
    fn env_points_sdks_at_the_receiver() {
        let c = Collector::start().unwrap();
        let env: std::collections::HashMap<_, _> = c.otlp_env().into_iter().collect();
        let base = format!("http://127.0.0.1:{}", c.port());
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], base);
        assert_eq!(
            env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
            format!("{base}/v1/traces")
        );
        assert_eq!(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf");
        assert_eq!(env["OTEL_TRACES_EXPORTER"], "otlp");
        assert!(c.finish("").is_empty());
    }

    #[test]
    fn otlp_json_protobuf_and_stdout_spans_reach_the_verdict() {
        let c = Collector::start().unwrap();
        let port = c.port();

        // Protobuf, gzip-compressed: http.request (server, OK) → db.query (client, ERROR).
        let proto = crate::runs::spans::otlp::decode::tests::sample_request().encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&proto).unwrap();
        let (status, body) = post(
            port,
            "/v1/traces",
            &[PROTO, ("Content-Encoding", "gzip")],
            &gz.finish().unwrap(),
        );
        assert_eq!(status, 200);
        // An empty ExportTraceServiceResponse encodes to zero bytes.
        assert!(body.is_empty());

        // JSON with a charset parameter: cache.get under db.query, in the same trace.
        let json = format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"api"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{t}","spanId":"0303030303030303","parentSpanId":"0202020202020202","name":"cache.get","kind":3,"startTimeUnixNano":"1012000000","endTimeUnixNano":"1013000000","attributes":[{{"key":"cache.hit","value":{{"boolValue":true}}}}]}}]}}]}}]}}"#,
            t = "ab".repeat(16)
        );
        let (status, body) = post(
            port,
            "/v1/traces",
            &[("Content-Type", "application/json; charset=utf-8")],
            json.as_bytes(),
        );
        assert_eq!((status, body.as_slice()), (200, &b"{}"[..]));

        let stdout = "listening\n{\"name\":\"app.main\",\"trace_id\":\"x\",\"span_id\":\"m\",\"kind\":\"internal\",\"start_time_unix_nano\":1100000000,\"end_time_unix_nano\":1200000000,\"attributes\":{\"result\":\"pass\"}}\nbye\n";
        let spans = c.finish(stdout);
        let names: Vec<(&str, SpanSource)> =
            spans.iter().map(|s| (s.name.as_str(), s.source)).collect();
        assert_eq!(
            names,
            vec![
                ("http.request", SpanSource::Otlp),
                ("db.query", SpanSource::Otlp),
                ("cache.get", SpanSource::Otlp),
                ("app.main", SpanSource::Stdout),
            ]
        );

        let pass = Expectations::from_rendered(
            r#"
[[expect.span]]
name = "db.query"
parent = "http.request"
kind = "client"
[[expect.span]]
name = "cache.get"
attrs.all = { "cache.hit" = "true" }
[[expect.span]]
name = "app.main"
attrs.all = { result = "pass" }
[expect.graph]
must_include = [["http.request", "db.query"], ["db.query", "cache.get"]]
acyclic = true
[expect.counts]
spans_total = { eq = 4 }
errors_total = { eq = 1 }
[[expect.window]]
outer = "http.request"
contains = ["db.query", "cache.get"]
[expect.order]
must_precede = [["db.query", "app.main"]]
[expect.status]
by_name = { "db.*" = "ERROR", "http.*" = "OK" }
[expect.hermeticity]
no_external_services = true
resource_attrs = { must_match = { "service.name" = "api" } }
"#,
        )
        .unwrap();
        let failures: Vec<String> = evaluate(&pass, &spans)
            .iter()
            .map(|f| f.message())
            .collect();
        assert_eq!(failures, Vec::<String>::new());

        let fail = Expectations::from_rendered(
            "[expect.counts]\nby_name = { \"db.query\" = { eq = 2 } }\n[expect.status]\nall = \"OK\"\n",
        )
        .unwrap();
        let failures = evaluate(&fail, &spans);
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].path, "expect.counts");
        assert_eq!(failures[0].key.as_deref(), Some("by_name.\"db.query\""));
        assert_eq!(failures[0].observed, "1 span named \"db.query\"");
        assert_eq!(
            failures[1].observed,
            "3 of 4 spans have another status: \"db.query\" ERROR, \"cache.get\" UNSET, \"app.main\" UNSET"
        );
    }

    #[test]
    fn bad_requests_are_refused_and_the_receiver_keeps_working() {
        let c = Collector::start().unwrap();
        let port = c.port();
        assert_eq!(
            post(port, "/v1/traces", &[PROTO], b"\xff\xff\xff\xff\xff").0,
            400
        );
        assert_eq!(
            post(port, "/v1/traces", &[JSON], b"{\"resourceSpans\":7}").0,
            400
        );
        assert_eq!(post(port, "/v1/traces", &[JSON], b"not json").0, 400);
        assert_eq!(
            post(
                port,
                "/v1/traces",
                &[PROTO, ("Content-Encoding", "gzip")],
                b"not gzip"
            )
            .0,
            400
        );
        assert_eq!(post(port, "/v1/metrics", &[PROTO], b"").0, 404);
        assert_eq!(
            post(port, "/v1/traces", &[("Content-Type", "text/plain")], b"x").0,
            415
        );
        assert_eq!(post(port, "/v1/traces", &[], b"x").0, 415);
        assert_eq!(
            post(
                port,
                "/v1/traces",
                &[PROTO, ("Content-Encoding", "br")],
                b"x"
            )
            .0,
            415
        );
        // A declared body over the limit is refused before it is read.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            crate::runs::spans::otlp::MAX_BODY_BYTES + 1
        )
        .unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
        drop(s);

        // Still serving: a valid export after all that is received.
        let proto = crate::runs::spans::otlp::decode::tests::sample_request().encode_to_vec();
        assert_eq!(post(port, "/v1/traces", &[PROTO], &proto).0, 200);
        assert_eq!(c.finish("").len(), 2);
    }

    #[test]
    fn chunked_bodies_and_reused_connections_are_received() {
        let c = Collector::start().unwrap();
        let proto = crate::runs::spans::otlp::decode::tests::sample_request().encode_to_vec();
        let mut s = TcpStream::connect(("127.0.0.1", c.port())).unwrap();
        let (a, b) = proto.split_at(proto.len() / 2);
        write!(
            s,
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            a.len()
        )
        .unwrap();
        s.write_all(a).unwrap();
        write!(s, "\r\n{:x}\r\n", b.len()).unwrap();
        s.write_all(b).unwrap();
        s.write_all(b"\r\n0\r\n\r\n").unwrap();
        // Second request on the same connection.
        write!(
            s,
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            proto.len()
        )
        .unwrap();
        s.write_all(&proto).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert_eq!(resp.matches("HTTP/1.1 200").count(), 2, "{resp}");
        assert_eq!(c.finish("").len(), 4);
    }

    #[test]
    fn a_client_that_never_sends_its_body_does_not_hang_finish() {
        let c = Collector::start().unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", c.port())).unwrap();
        s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let started = std::time::Instant::now();
        assert!(c.finish("").is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn finish_stops_the_receiver() {
        let c = Collector::start().unwrap();
        let port = c.port();
        let _ = c.finish("");
        // Stopped: the port refuses connections, or a connection is closed unanswered. A
        // read that merely times out proves nothing, so poll (generously) for a real answer.
        let stopped = || match TcpStream::connect(("127.0.0.1", port)) {
            Err(_) => true,
            Ok(mut s) => {
                let _ = s.write_all(b"POST /v1/traces HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut buf = [0u8; 16];
                match s.read(&mut buf) {
                    Ok(n) => n == 0,
                    Err(e) => !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ),
                }
            }
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !stopped() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(stopped(), "receiver still answering");
    }
}
