//! `[expect.counts]`: totals of spans, events and errors, and spans per exact name.
//! `eq`, when set, is the only bound; otherwise `gte` and `lte` both apply.
//! Differences from clnrm 1.3.0: `events_total` counts the spans' events (clnrm sums an
//! `event.count` attribute and never evaluates it), `errors_total` counts spans whose
//! status is ERROR (see the module docs of `expect`) or whose `error` attribute is true,
//! and `by_name` entries with only `lte` are kept.

use serde_json::Value;

use super::{count_noun, effective_status, toml_key, ExpectationFailure, Spans};
use crate::model::expect::{CountBounds, CountsExpectation};
use crate::traces::SpanStatus;

const PATH: &str = "expect.counts";

pub(super) fn check(c: &CountsExpectation, ctx: &Spans<'_>, out: &mut Vec<ExpectationFailure>) {
    if let Some(b) = &c.spans_total {
        bound(
            out,
            "spans_total".into(),
            b,
            ctx.all.len(),
            ("span", ""),
            None,
        );
    }
    if let Some(b) = &c.events_total {
        let n = ctx.all.iter().map(|s| s.events.len()).sum();
        bound(out, "events_total".into(), b, n, ("event", ""), None);
    }
    if let Some(b) = &c.errors_total {
        let n = ctx
            .all
            .iter()
            .filter(|s| {
                effective_status(s) == SpanStatus::Error
                    || s.attributes.get("error") == Some(&Value::Bool(true))
            })
            .count();
        bound(out, "errors_total".into(), b, n, ("error span", ""), None);
    }
    for (name, b) in &c.by_name {
        let n = ctx.named(name).len();
        let key = format!("by_name.{}", toml_key(name));
        let absent = (n == 0).then(|| ctx.absent(name));
        bound(
            out,
            key,
            b,
            n,
            ("span", &format!(" named {name:?}")),
            absent,
        );
    }
}

/// `what` = (noun, suffix): ("span", " named \"x\"") reads "2 spans named \"x\"".
fn bound(
    out: &mut Vec<ExpectationFailure>,
    key: String,
    b: &CountBounds,
    n: usize,
    what: (&str, &str),
    observed: Option<String>,
) {
    let (noun, suffix) = what;
    let show = |k: usize| format!("{}{suffix}", count_noun(k, noun));
    let fail = |expected: String| {
        ExpectationFailure::new(
            PATH,
            Some(key.clone()),
            expected,
            observed.clone().unwrap_or_else(|| show(n)),
        )
    };
    if let Some(eq) = b.eq {
        if n != eq {
            out.push(fail(format!("exactly {}", show(eq))));
        }
        return;
    }
    match (b.gte, b.lte) {
        (Some(lo), Some(hi)) if lo > hi => out.push(ExpectationFailure::new(
            PATH,
            Some(key.clone()),
            "gte ≤ lte",
            format!("gte = {lo}, lte = {hi}: no count can satisfy both"),
        )),
        (Some(lo), Some(hi)) if lo == hi && n != lo => {
            out.push(fail(format!("exactly {}", show(lo))))
        }
        (Some(lo), Some(hi)) if n < lo || n > hi => {
            out.push(fail(format!("between {lo} and {}", show(hi))))
        }
        (Some(lo), None) if n < lo => out.push(fail(format!("at least {}", show(lo)))),
        (None, Some(hi)) if n > hi => out.push(fail(format!("at most {}", show(hi)))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, sp};
    use crate::traces::SpanStatus;

    fn spans() -> Vec<crate::traces::Span> {
        let mut a = sp("db.query", "1", None, 0, 1);
        a.events = vec!["e1".into(), "e2".into()];
        a.status = SpanStatus::Error;
        let mut b = sp("db.query", "2", None, 0, 1);
        b.attributes.insert("error".into(), true.into());
        let mut c = sp("http", "3", None, 0, 1);
        c.events = vec!["e3".into()];
        c.attributes.insert("otel.status_code".into(), "OK".into());
        vec![a, b, c]
    }

    #[test]
    fn bounds_that_hold_pass() {
        let toml = r#"[expect.counts]
spans_total = { gte = 3, lte = 3 }
events_total = { eq = 3 }
errors_total = { gte = 2, lte = 2 }
by_name = { "db.query" = { eq = 2 }, http = { lte = 1 }, missing = { lte = 0 } }
"#;
        assert_eq!(messages(toml, &spans()), Vec::<String>::new());
    }

    #[test]
    fn each_bound_failing_says_the_count() {
        let toml = r#"[expect.counts]
spans_total = { gte = 4 }
events_total = { lte = 2 }
errors_total = { eq = 0 }
by_name = { "db.query" = { gte = 1, lte = 1 }, "cache.get" = { gte = 1 }, x = { gte = 2, lte = 1 } }
"#;
        assert_eq!(messages(toml, &spans()), vec![
            "expect.counts.spans_total: expected at least 4 spans; observed 3 spans",
            "expect.counts.events_total: expected at most 2 events; observed 3 events",
            "expect.counts.errors_total: expected exactly 0 error spans; observed 2 error spans",
            r#"expect.counts.by_name."cache.get": expected at least 1 span named "cache.get"; observed no span named "cache.get" (span names seen: db.query, http)"#,
            r#"expect.counts.by_name."db.query": expected exactly 1 span named "db.query"; observed 2 spans named "db.query""#,
            "expect.counts.by_name.x: expected gte ≤ lte; observed gte = 2, lte = 1: no count can satisfy both",
        ]);
    }
}
