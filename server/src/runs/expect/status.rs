//! `[expect.status]`: `all` = every span has that status; `by_name` = for each glob, at
//! least one span name matches and every matching span has the status. Statuses are
//! OK/ERROR/UNSET in any case; a span's status is as described in `expect`'s docs.
//! clnrm 1.3.0's `run` never evaluates this table.

use super::{count_noun, effective_status, list, parse_status, status_name, toml_key};
use super::{ExpectationFailure, Spans};
use crate::model::expect::StatusExpectation;
use crate::traces::{Span, SpanStatus};

const PATH: &str = "expect.status";

pub(super) fn check(st: &StatusExpectation, ctx: &Spans<'_>, out: &mut Vec<ExpectationFailure>) {
    if let Some(all) = &st.all {
        match status(all, "all", out) {
            Some(want) if ctx.all.is_empty() => out.push(ExpectationFailure::new(
                PATH,
                Some("all".into()),
                format!("every span with status {}", status_name(want)),
                "no spans were collected",
            )),
            Some(want) => {
                let spans: Vec<&Span> = ctx.all.iter().collect();
                if let Some(o) = mismatches(&spans, want) {
                    out.push(ExpectationFailure::new(
                        PATH,
                        Some("all".into()),
                        format!("every span with status {}", status_name(want)),
                        o,
                    ));
                }
            }
            None => {}
        }
    }
    for (pattern, want) in &st.by_name {
        let key = format!("by_name.{}", toml_key(pattern));
        let Some(want) = status(want, &key, out) else {
            continue;
        };
        let glob = match glob::Pattern::new(pattern) {
            Ok(g) => g,
            Err(e) => {
                out.push(ExpectationFailure::new(
                    PATH,
                    Some(key),
                    "a valid glob pattern",
                    format!("{pattern:?}: {e}"),
                ));
                continue;
            }
        };
        let matching: Vec<&Span> = ctx.all.iter().filter(|s| glob.matches(&s.name)).collect();
        let expected = format!(
            "spans matching {pattern:?} with status {}",
            status_name(want)
        );
        if matching.is_empty() {
            let mut names: Vec<&str> = ctx.all.iter().map(|s| s.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            out.push(ExpectationFailure::new(
                PATH,
                Some(key),
                expected,
                format!(
                    "no span name matches {pattern:?} (span names seen: {})",
                    list(&names, 8)
                ),
            ));
        } else if let Some(o) = mismatches(&matching, want) {
            out.push(ExpectationFailure::new(PATH, Some(key), expected, o));
        }
    }
}

fn status(text: &str, key: &str, out: &mut Vec<ExpectationFailure>) -> Option<SpanStatus> {
    let s = parse_status(text);
    if s.is_none() {
        out.push(ExpectationFailure::new(
            PATH,
            Some(key.into()),
            "one of OK, ERROR, UNSET",
            format!("{text:?}"),
        ));
    }
    s
}

/// "2 of 5 spans have another status: \"db\" ERROR, \"x\" UNSET".
fn mismatches(spans: &[&Span], want: SpanStatus) -> Option<String> {
    let bad: Vec<String> = spans
        .iter()
        .map(|s| (s, effective_status(s)))
        .filter(|(_, st)| *st != want)
        .map(|(s, st)| format!("{:?} {}", s.name, status_name(st)))
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "{} of {} {} another status: {}",
            bad.len(),
            count_noun(spans.len(), "span"),
            if bad.len() == 1 { "has" } else { "have" },
            list(&bad, 5)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, sp};
    use crate::traces::SpanStatus;

    fn spans() -> Vec<crate::traces::Span> {
        let mut a = sp("db.query", "1", None, 0, 1);
        a.status = SpanStatus::Ok;
        let mut b = sp("db.insert", "2", None, 0, 1);
        b.attributes.insert("otel.status_code".into(), "ok".into());
        let mut c = sp("http", "3", None, 0, 1);
        c.attributes.insert("status".into(), "ERROR".into());
        vec![a, b, c]
    }

    #[test]
    fn statuses_that_hold_pass() {
        let toml = "[expect.status]\nby_name = { \"db.*\" = \"ok\", \"ht?p\" = \"Error\" }\n";
        assert_eq!(messages(toml, &spans()), Vec::<String>::new());
        let mut s = spans();
        s.truncate(2);
        assert_eq!(
            messages("[expect.status]\nall = \"OK\"\n", &s),
            Vec::<String>::new()
        );
    }

    #[test]
    fn wrong_statuses_unmatched_globs_and_bad_values_fail() {
        let toml = "[expect.status]\nall = \"OK\"\nby_name = { \"db.*\" = \"ERROR\", \"cache.*\" = \"OK\", \"x\" = \"FAILED\", \"[\" = \"OK\" }\n";
        assert_eq!(
            messages(toml, &spans()),
            vec![
                r#"expect.status.all: expected every span with status OK; observed 1 of 3 spans has another status: "http" ERROR"#,
                r#"expect.status.by_name."[": expected a valid glob pattern; observed "[": Pattern syntax error near position 0: invalid range pattern"#,
                r#"expect.status.by_name."cache.*": expected spans matching "cache.*" with status OK; observed no span name matches "cache.*" (span names seen: db.insert, db.query, http)"#,
                r#"expect.status.by_name."db.*": expected spans matching "db.*" with status ERROR; observed 2 of 2 spans have another status: "db.query" OK, "db.insert" OK"#,
                r#"expect.status.by_name.x: expected one of OK, ERROR, UNSET; observed "FAILED""#,
            ]
        );
    }
}
