//! `[expect.graph]`: direct parent→child edges that must exist (`must_include`) or must
//! not (`must_not_cross`), and `acyclic` parent links. clnrm 1.3.0 evaluates only
//! `must_include`.

use std::collections::HashSet;

use super::{count_noun, list, pairs, ExpectationFailure, Spans};
use crate::model::expect::GraphExpectation;
use crate::traces::Span;

const PATH: &str = "expect.graph";

pub(super) fn check(g: &GraphExpectation, ctx: &Spans<'_>, out: &mut Vec<ExpectationFailure>) {
    for (key, p, c) in pairs(PATH, "must_include", &g.must_include, out) {
        let expected = format!("a {c:?} span whose direct parent is a {p:?} span");
        let observed = if ctx.named(p).is_empty() {
            ctx.absent(p)
        } else {
            let children = ctx.named(c);
            if children.is_empty() {
                ctx.absent(c)
            } else if children.iter().any(|s| is_child_of(ctx, s, p)) {
                continue;
            } else {
                let mut parents: Vec<String> = children
                    .iter()
                    .map(|s| match ctx.parent_of(s) {
                        Some(ps) => format!("{:?}", ps.name),
                        None => "none".into(),
                    })
                    .collect();
                parents.sort();
                parents.dedup();
                format!(
                    "{} named {c:?}, none under {p:?} (their parents: {})",
                    count_noun(children.len(), "span"),
                    list(&parents, 5)
                )
            }
        };
        out.push(ExpectationFailure::new(PATH, Some(key), expected, observed));
    }
    for (key, p, c) in pairs(PATH, "must_not_cross", &g.must_not_cross, out) {
        let crossing: Vec<&Span> = ctx
            .named(c)
            .into_iter()
            .filter(|s| is_child_of(ctx, s, p))
            .collect();
        if let Some(first) = crossing.first() {
            out.push(ExpectationFailure::new(
                PATH,
                Some(key),
                format!("no {c:?} span directly under a {p:?} span"),
                format!(
                    "{} directly under {p:?} (first: span {} in trace {})",
                    count_noun(crossing.len(), &format!("{c:?} span")),
                    first.span_id,
                    first.trace_id
                ),
            ));
        }
    }
    if g.acyclic == Some(true) {
        if let Some(cycle) = find_cycle(ctx) {
            out.push(ExpectationFailure::new(
                PATH,
                Some("acyclic".into()),
                "parent links without cycles",
                format!("a cycle: {}", cycle.join(" → ")),
            ));
        }
    }
}

fn is_child_of(ctx: &Spans<'_>, s: &Span, parent: &str) -> bool {
    ctx.parent_of(s).is_some_and(|ps| ps.name == parent)
}

/// Follows parent links from every span; a span met twice on one walk closes a cycle.
/// Returns the names along the cycle, starting and ending with the same span.
fn find_cycle(ctx: &Spans<'_>) -> Option<Vec<String>> {
    let mut cleared: HashSet<(&str, &str)> = HashSet::new();
    for start in ctx.all {
        let mut walk: Vec<&Span> = Vec::new();
        let mut on_walk: HashSet<(&str, &str)> = HashSet::new();
        let mut cur = Some(start);
        while let Some(s) = cur {
            let id = (s.trace_id.as_str(), s.span_id.as_str());
            if cleared.contains(&id) {
                break;
            }
            if !on_walk.insert(id) {
                let from = walk
                    .iter()
                    .position(|w| (w.trace_id.as_str(), w.span_id.as_str()) == id)?;
                let mut names: Vec<String> = walk[from..]
                    .iter()
                    .map(|w| format!("{:?}", w.name))
                    .collect();
                names.push(format!("{:?}", s.name));
                return Some(names);
            }
            walk.push(s);
            cur = ctx.parent_of(s);
        }
        cleared.extend(
            walk.iter()
                .map(|w| (w.trace_id.as_str(), w.span_id.as_str())),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, sp};

    fn spans() -> Vec<crate::traces::Span> {
        vec![
            sp("http.request", "r", None, 0, 100),
            sp("db.query", "q", Some("r"), 10, 20),
            sp("cache.get", "c", Some("q"), 11, 12),
        ]
    }

    #[test]
    fn edges_present_and_absent_as_expected_pass() {
        let toml = r#"[expect.graph]
must_include = [["http.request", "db.query"], ["db.query", "cache.get"]]
must_not_cross = [["http.request", "cache.get"], ["nope", "db.query"]]
acyclic = true
"#;
        assert_eq!(messages(toml, &spans()), Vec::<String>::new());
    }

    #[test]
    fn must_include_reports_the_actual_parents_or_missing_names() {
        let toml = r#"[expect.graph]
must_include = [["http.request", "cache.get"], ["worker", "db.query"], ["http.request", "x"], ["only-one"]]
"#;
        assert_eq!(
            messages(toml, &spans()),
            vec![
                r#"expect.graph.must_include[3]: expected a pair of two non-empty span names; observed ["only-one"]"#,
                r#"expect.graph.must_include[0]: expected a "cache.get" span whose direct parent is a "http.request" span; observed 1 span named "cache.get", none under "http.request" (their parents: "db.query")"#,
                r#"expect.graph.must_include[1]: expected a "db.query" span whose direct parent is a "worker" span; observed no span named "worker" (span names seen: cache.get, db.query, http.request)"#,
                r#"expect.graph.must_include[2]: expected a "x" span whose direct parent is a "http.request" span; observed no span named "x" (span names seen: cache.get, db.query, http.request)"#,
            ]
        );
    }

    #[test]
    fn must_not_cross_and_acyclic_fail() {
        let mut s = spans();
        // Make the root the child of cache.get: r → c → q → r.
        s[0].parent_span_id = Some("c".into());
        let toml =
            "[expect.graph]\nmust_not_cross = [[\"http.request\", \"db.query\"]]\nacyclic = true\n";
        assert_eq!(
            messages(toml, &s),
            vec![
                r#"expect.graph.must_not_cross[0]: expected no "db.query" span directly under a "http.request" span; observed 1 "db.query" span directly under "http.request" (first: span q in trace t)"#,
                r#"expect.graph.acyclic: expected parent links without cycles; observed a cycle: "http.request" → "cache.get" → "db.query" → "http.request""#,
            ]
        );
    }
}
