//! Span collection for one run: an OTLP/HTTP receiver on 127.0.0.1 and JSON span lines
//! on stdout, merged by [`Collector`].

mod collector;
pub mod otlp;
pub mod stdout;

pub use collector::Collector;
