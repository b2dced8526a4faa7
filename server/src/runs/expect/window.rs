//! `[[expect.window]]`: every span name in `contains` has a span that lies within a span
//! named `outer` (outer.start ≤ start and end ≤ outer.end). clnrm 1.3.0 compares only the
//! first span of each name; we accept any pair.

use super::{count_noun, ExpectationFailure, Spans};
use crate::model::expect::WindowExpectation;
use crate::traces::Span;

pub(super) fn check(
    path: &str,
    w: &WindowExpectation,
    ctx: &Spans<'_>,
    out: &mut Vec<ExpectationFailure>,
) {
    let outers = ctx.named(&w.outer);
    if outers.is_empty() {
        out.push(ExpectationFailure::new(
            path,
            Some("outer".into()),
            format!("a span named {:?}", w.outer),
            ctx.absent(&w.outer),
        ));
        return;
    }
    let timed_outers: Vec<(&Span, u64, u64)> = outers.iter().filter_map(|s| timed(s)).collect();
    if timed_outers.is_empty() {
        out.push(ExpectationFailure::new(
            path,
            Some("outer".into()),
            format!("a span named {:?} with start and end times", w.outer),
            format!(
                "{} named {:?}, none with both start and end times",
                count_noun(outers.len(), "span"),
                w.outer
            ),
        ));
        return;
    }
    for child in &w.contains {
        let expected = format!("a {child:?} span within a {:?} span", w.outer);
        let children = ctx.named(child);
        let timed_children: Vec<(&Span, u64, u64)> =
            children.iter().filter_map(|s| timed(s)).collect();
        let observed = if children.is_empty() {
            ctx.absent(child)
        } else if timed_children.is_empty() {
            format!(
                "{} named {child:?}, none with both start and end times",
                count_noun(children.len(), "span")
            )
        } else if timed_children
            .iter()
            .any(|&(_, cs, ce)| timed_outers.iter().any(|&(_, os, oe)| os <= cs && ce <= oe))
        {
            continue;
        } else {
            let (_, cs, ce) = timed_children[0];
            let (_, os, oe) = timed_outers[0];
            format!(
                "{child:?} runs {} to {}, {:?} runs {} to {}{}",
                ctx.rel_ms(cs),
                ctx.rel_ms(ce),
                w.outer,
                ctx.rel_ms(os),
                ctx.rel_ms(oe),
                if timed_children.len() + timed_outers.len() > 2 {
                    " (first of each; no pair nests)"
                } else {
                    ""
                }
            )
        };
        out.push(ExpectationFailure::new(
            path,
            Some("contains".into()),
            expected,
            observed,
        ));
    }
}

fn timed(s: &Span) -> Option<(&Span, u64, u64)> {
    Some((s, s.start_time_unix_nano?, s.end_time_unix_nano?))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, sp};

    fn spans() -> Vec<crate::traces::Span> {
        vec![
            sp("http", "r", None, 0, 100),
            sp("db", "q", Some("r"), 10, 20),
            sp("late", "l", Some("r"), 90, 130),
        ]
    }

    #[test]
    fn nested_children_pass() {
        let toml = "[[expect.window]]\nouter = \"http\"\ncontains = [\"db\", \"http\"]\n";
        assert_eq!(messages(toml, &spans()), Vec::<String>::new());
    }

    #[test]
    fn escaping_missing_and_untimed_children_fail() {
        let mut s = spans();
        s.push(sp("untimed", "u", None, 0, 0));
        s[3].end_time_unix_nano = None;
        let toml = "[[expect.window]]\nouter = \"db\"\ncontains = []\n\n[[expect.window]]\nouter = \"http\"\ncontains = [\"late\", \"gone\", \"untimed\"]\n\n[[expect.window]]\nouter = \"nope\"\ncontains = [\"db\"]\n";
        assert_eq!(
            messages(toml, &s),
            vec![
                r#"expect.window[1].contains: expected a "late" span within a "http" span; observed "late" runs +90 ms to +130 ms, "http" runs +0 ms to +100 ms"#,
                r#"expect.window[1].contains: expected a "gone" span within a "http" span; observed no span named "gone" (span names seen: db, http, late, untimed)"#,
                r#"expect.window[1].contains: expected a "untimed" span within a "http" span; observed 1 span named "untimed", none with both start and end times"#,
                r#"expect.window[2].outer: expected a span named "nope"; observed no span named "nope" (span names seen: db, http, late, untimed)"#,
            ]
        );
    }

    #[test]
    fn untimed_outer_fails() {
        let mut s = spans();
        s[0].start_time_unix_nano = None;
        let toml = "[[expect.window]]\nouter = \"http\"\ncontains = [\"db\"]\n";
        assert_eq!(
            messages(toml, &s),
            vec![
                r#"expect.window[0].outer: expected a span named "http" with start and end times; observed 1 span named "http", none with both start and end times"#,
            ]
        );
    }
}
