//! Spans and traces: the span model shared by runs and diffs, span trees, trace diff,
//! baselines and the text tree.

mod span;

pub use span::{Span, SpanKind, SpanSource, SpanStatus};
