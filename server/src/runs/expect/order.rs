//! `[expect.order]`: `must_precede [A, B]` holds when some A ends at or before some B
//! starts; `must_follow [A, B]` means `must_precede [B, A]`. Spans without both times are
//! left out. clnrm 1.3.0's `run` never evaluates this table.

use super::{pairs, ExpectationFailure, Spans};
use crate::model::expect::OrderExpectation;

const PATH: &str = "expect.order";

pub(super) fn check(o: &OrderExpectation, ctx: &Spans<'_>, out: &mut Vec<ExpectationFailure>) {
    for (key, a, b) in pairs(PATH, "must_precede", &o.must_precede, out) {
        precede(
            ctx,
            key,
            a,
            b,
            format!("{a:?} to end before {b:?} starts"),
            out,
        );
    }
    for (key, a, b) in pairs(PATH, "must_follow", &o.must_follow, out) {
        precede(
            ctx,
            key,
            b,
            a,
            format!("{a:?} to start after {b:?} ends"),
            out,
        );
    }
}

/// Some `first` span ends at or before some `then` span starts.
fn precede(
    ctx: &Spans<'_>,
    key: String,
    first: &str,
    then: &str,
    expected: String,
    out: &mut Vec<ExpectationFailure>,
) {
    let mut problems = Vec::new();
    let ends: Vec<u64> = ctx
        .named(first)
        .iter()
        .filter_map(|s| s.end_time_unix_nano)
        .collect();
    let starts: Vec<u64> = ctx
        .named(then)
        .iter()
        .filter_map(|s| s.start_time_unix_nano)
        .collect();
    for (name, times) in [(first, &ends), (then, &starts)] {
        if ctx.named(name).is_empty() {
            problems.push(ctx.absent(name));
        } else if times.is_empty() {
            problems.push(format!("no {name:?} span has its times"));
        }
    }
    let observed = if !problems.is_empty() {
        problems.join("; ")
    } else {
        match (ends.iter().min(), starts.iter().max()) {
            (Some(&end), Some(&start)) if end <= start => return,
            (Some(&end), Some(&start)) => format!(
                "the earliest {first:?} ends at {}, after the latest {then:?} starts at {}",
                ctx.rel_ms(end),
                ctx.rel_ms(start)
            ),
            _ => return,
        }
    };
    out.push(ExpectationFailure::new(PATH, Some(key), expected, observed));
}

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, sp};

    fn spans() -> Vec<crate::traces::Span> {
        vec![
            sp("setup", "s", None, 0, 10),
            sp("test", "t", None, 10, 50),
            sp("teardown", "d", None, 40, 60),
        ]
    }

    #[test]
    fn order_that_holds_passes() {
        let toml = "[expect.order]\nmust_precede = [[\"setup\", \"test\"], [\"setup\", \"teardown\"]]\nmust_follow = [[\"test\", \"setup\"]]\n";
        assert_eq!(messages(toml, &spans()), Vec::<String>::new());
    }

    #[test]
    fn overlapping_or_missing_spans_fail() {
        let mut s = spans();
        s.push(sp("untimed", "u", None, 0, 0));
        s[3].start_time_unix_nano = None;
        s[3].end_time_unix_nano = None;
        let toml = "[expect.order]\nmust_precede = [[\"test\", \"teardown\"], [\"ghost\", \"untimed\"]]\nmust_follow = [[\"setup\", \"test\"]]\n";
        assert_eq!(
            messages(toml, &s),
            vec![
                r#"expect.order.must_precede[0]: expected "test" to end before "teardown" starts; observed the earliest "test" ends at +50 ms, after the latest "teardown" starts at +40 ms"#,
                r#"expect.order.must_precede[1]: expected "ghost" to end before "untimed" starts; observed no span named "ghost" (span names seen: setup, teardown, test, untimed); no "untimed" span has its times"#,
                r#"expect.order.must_follow[0]: expected "setup" to start after "test" ends; observed the earliest "test" ends at +50 ms, after the latest "setup" starts at +0 ms"#,
            ]
        );
    }
}
