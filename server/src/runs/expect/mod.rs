//! The verdict on collected spans: every `[expect.*]` kind, evaluated on ALL spans of a
//! run (runner, stdout and OTLP), following the documented intent of clnrm's expectations
//! (reference §5.5) rather than 1.3.0's partial evaluation.
//!
//! Shared conventions, where we differ from clnrm 1.3.0:
//! - Span names match exactly; only `[expect.status].by_name` keys are globs.
//! - Attribute values compare as strings: a string attribute must equal the expected
//!   text; any other attribute (number, bool, array…) matches when its JSON text equals it
//!   (`200`, `true`, `["a","b"]`). clnrm only ever matches string attributes.
//! - A parent link is `parent_span_id` = the parent's `span_id` within the same trace.
//! - A span's status is its OTLP status when set, else its `otel.status_code`, else its
//!   `status` attribute (OK/ERROR/UNSET, any case), else UNSET.
//! - Nothing passes vacuously for lack of data: a span expectation, window or order on a
//!   name that never appeared, a duration or time check on spans without timestamps,
//!   `status.all` with no spans, and `resource_attrs.must_match` without OTLP resources
//!   all fail, saying what was missing.
//!
//! The process checks (exit code, `expected_output_regex`) are in [`check_process`].

mod counts;
mod graph;
mod hermeticity;
mod locate;
mod order;
mod process;
mod span;
mod status;
mod window;

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use process::{check_process, ProcessExpectation, ProcessOutcome};

use crate::model::expect::Expectations;
use crate::traces::{Span, SpanStatus};

/// One unmet expectation, located by its table so it can be reported there.
/// Serializable so run results holding it can be cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationFailure {
    /// TOML path of the expectation's table: `expect.span[2]` (zero-based array index),
    /// `expect.counts`, `expect.window[0]`, …
    pub path: String,
    /// The key inside that table, when one is to blame: `spans_total`, `attrs.all`,
    /// `by_name."db.query"` (segments quoted as TOML when not bare keys).
    pub key: Option<String>,
    pub expected: String,
    pub observed: String,
}

impl ExpectationFailure {
    pub(crate) fn new(
        path: impl Into<String>,
        key: Option<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        ExpectationFailure {
            path: path.into(),
            key,
            expected: expected.into(),
            observed: observed.into(),
        }
    }

    /// `expect.counts.spans_total: expected at least 3 spans, observed 2 spans`.
    pub fn message(&self) -> String {
        let at = match &self.key {
            Some(k) => format!("{}.{k}", self.path),
            None => self.path.clone(),
        };
        format!(
            "{at}: expected {}; observed {}",
            self.expected, self.observed
        )
    }
}

impl fmt::Display for ExpectationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Evaluates every configured expectation on `spans`; empty means all met.
pub fn evaluate(expect: &Expectations, spans: &[Span]) -> Vec<ExpectationFailure> {
    let ctx = Spans::new(spans);
    let mut out = Vec::new();
    for (i, e) in expect.span.iter().enumerate() {
        span::check(&format!("expect.span[{i}]"), e, &ctx, &mut out);
    }
    if let Some(g) = &expect.graph {
        graph::check(g, &ctx, &mut out);
    }
    if let Some(c) = &expect.counts {
        counts::check(c, &ctx, &mut out);
    }
    for (i, w) in expect.window.iter().enumerate() {
        window::check(&format!("expect.window[{i}]"), w, &ctx, &mut out);
    }
    if let Some(o) = &expect.order {
        order::check(o, &ctx, &mut out);
    }
    if let Some(s) = &expect.status {
        status::check(s, &ctx, &mut out);
    }
    if let Some(h) = &expect.hermeticity {
        hermeticity::check(h, &ctx, &mut out);
    }
    out
}

/// The collected spans with the lookups every kind needs.
pub(crate) struct Spans<'a> {
    pub all: &'a [Span],
    by_id: HashMap<(&'a str, &'a str), &'a Span>,
}

impl<'a> Spans<'a> {
    fn new(all: &'a [Span]) -> Self {
        let by_id = all
            .iter()
            .map(|s| ((s.trace_id.as_str(), s.span_id.as_str()), s))
            .collect();
        Spans { all, by_id }
    }

    pub fn named(&self, name: &str) -> Vec<&'a Span> {
        self.all.iter().filter(|s| s.name == name).collect()
    }

    pub fn parent_of(&self, s: &Span) -> Option<&'a Span> {
        let p = s.parent_span_id.as_deref()?;
        self.by_id.get(&(s.trace_id.as_str(), p)).copied()
    }

    /// "no span named X (spans seen: a, b, c)".
    pub fn absent(&self, name: &str) -> String {
        let mut names: Vec<&str> = self.all.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            format!("no span named {name:?} (no spans were collected)")
        } else {
            format!(
                "no span named {name:?} (span names seen: {})",
                list(&names, 8)
            )
        }
    }

    /// Earliest start of any span, the origin for relative times in messages.
    pub fn origin(&self) -> Option<u64> {
        self.all.iter().filter_map(|s| s.start_time_unix_nano).min()
    }

    /// A time as milliseconds after [`Spans::origin`].
    pub fn rel_ms(&self, t: u64) -> String {
        let o = self.origin().unwrap_or(t);
        format!("+{} ms", fmt_ms(t.saturating_sub(o) as f64 / 1e6))
    }
}

/// A kind as written in test files.
pub(crate) fn kind_name(k: crate::traces::SpanKind) -> &'static str {
    use crate::traces::SpanKind;
    match k {
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

pub(crate) fn fmt_ms(ms: f64) -> String {
    let r = (ms * 1000.0).round() / 1000.0;
    format!("{r}")
}

/// Status as described in the module docs.
pub(crate) fn effective_status(s: &Span) -> SpanStatus {
    if s.status != SpanStatus::Unset {
        return s.status;
    }
    ["otel.status_code", "status"]
        .iter()
        .find_map(|k| s.attributes.get(*k)?.as_str().and_then(parse_status))
        .unwrap_or(SpanStatus::Unset)
}

pub(crate) fn parse_status(text: &str) -> Option<SpanStatus> {
    match text.trim().to_ascii_uppercase().as_str() {
        "OK" => Some(SpanStatus::Ok),
        "ERROR" => Some(SpanStatus::Error),
        "UNSET" => Some(SpanStatus::Unset),
        _ => None,
    }
}

pub(crate) fn status_name(s: SpanStatus) -> &'static str {
    match s {
        SpanStatus::Ok => "OK",
        SpanStatus::Error => "ERROR",
        SpanStatus::Unset => "UNSET",
    }
}

/// An attribute value against the expected text (see module docs).
pub(crate) fn attr_matches(value: &Value, expected: &str) -> bool {
    match value {
        Value::String(s) => s == expected,
        other => {
            let text = other.to_string();
            text == expected
        }
    }
}

/// How an attribute shows in messages: `key = "v"` / `key = 200` / `key absent`.
pub(crate) fn show_attr(s: &Span, key: &str) -> String {
    match s.attributes.get(key) {
        Some(v) => format!("{key} = {v}"),
        None => format!("{key} absent"),
    }
}

/// `a, b, c and 4 more`.
pub(crate) fn list<T: AsRef<str>>(items: &[T], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut s = shown.join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

/// "1 span" / "3 spans".
pub(crate) fn count_noun(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A key segment as TOML writes it: bare when possible, quoted otherwise.
pub(crate) fn toml_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// `[A, B]` pairs from a TOML list of lists; malformed entries are reported.
pub(crate) fn pairs<'e>(
    path: &str,
    key: &str,
    edges: &'e [Vec<String>],
    out: &mut Vec<ExpectationFailure>,
) -> Vec<(String, &'e str, &'e str)> {
    let mut ok = Vec::new();
    for (i, e) in edges.iter().enumerate() {
        match e.as_slice() {
            [a, b] if !a.is_empty() && !b.is_empty() => {
                ok.push((format!("{key}[{i}]"), a.as_str(), b.as_str()))
            }
            _ => out.push(ExpectationFailure::new(
                path,
                Some(format!("{key}[{i}]")),
                "a pair of two non-empty span names",
                format!("{e:?}"),
            )),
        }
    }
    ok
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::traces::SpanKind;

    /// A span in trace "t" with times in milliseconds.
    pub(crate) fn sp(
        name: &str,
        id: &str,
        parent: Option<&str>,
        start_ms: u64,
        end_ms: u64,
    ) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_owned),
            name: name.into(),
            kind: Some(SpanKind::Internal),
            start_time_unix_nano: Some(start_ms * 1_000_000),
            end_time_unix_nano: Some(end_ms * 1_000_000),
            ..Default::default()
        }
    }

    pub(crate) fn expect(toml: &str) -> Expectations {
        Expectations::from_rendered(toml).unwrap()
    }

    pub(crate) fn messages(toml: &str, spans: &[Span]) -> Vec<String> {
        evaluate(&expect(toml), spans)
            .iter()
            .map(ExpectationFailure::message)
            .collect()
    }

    #[test]
    fn message_names_the_table_and_key() {
        let f = ExpectationFailure::new(
            "expect.counts",
            Some("spans_total".into()),
            "3 spans",
            "2 spans",
        );
        assert_eq!(
            f.message(),
            "expect.counts.spans_total: expected 3 spans; observed 2 spans"
        );
        assert_eq!(f.to_string(), f.message());
    }

    #[test]
    fn status_falls_back_to_attributes() {
        let mut s = sp("a", "1", None, 0, 1);
        assert_eq!(effective_status(&s), SpanStatus::Unset);
        s.attributes.insert("status".into(), "error".into());
        assert_eq!(effective_status(&s), SpanStatus::Error);
        s.attributes.insert("otel.status_code".into(), "OK".into());
        assert_eq!(effective_status(&s), SpanStatus::Ok);
        s.status = SpanStatus::Error;
        assert_eq!(effective_status(&s), SpanStatus::Error);
    }

    #[test]
    fn attribute_values_compare_as_text() {
        assert!(attr_matches(&Value::from("GET"), "GET"));
        assert!(!attr_matches(&Value::from("GET"), "\"GET\""));
        assert!(attr_matches(&Value::from(200), "200"));
        assert!(attr_matches(&Value::from(true), "true"));
        assert!(!attr_matches(&Value::from(200), "200.0"));
        assert_eq!(toml_key("db.query"), "\"db.query\"");
        assert_eq!(toml_key("db_query"), "db_query");
    }

    #[test]
    fn no_expectations_means_no_failures() {
        assert!(evaluate(&Expectations::default(), &[]).is_empty());
    }
}
