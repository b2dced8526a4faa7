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
