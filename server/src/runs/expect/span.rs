//! `[[expect.span]]`: a span with this exact name exists and one such span meets every
//! listed constraint (parent, kind, attrs, events, duration). clnrm 1.3.0 checks only the
//! first span of the name; we accept any one, and report per constraint what the spans of
//! that name actually had. Unlike clnrm, a duration bound on a span without timestamps
//! fails instead of passing silently.

use super::kind_name;
use super::{count_noun, fmt_ms, list, show_attr, ExpectationFailure, Spans};
use crate::model::expect::SpanExpectation;
use crate::runs::spans::fields::kind_from_name;
use crate::traces::Span;

struct Constraint<'a> {
    key: &'static str,
    expected: String,
    test: Box<dyn Fn(&Span) -> bool + 'a>,
    observe: Box<dyn Fn(&Span) -> String + 'a>,
}

pub(super) fn check(
    path: &str,
    e: &SpanExpectation,
    ctx: &Spans<'_>,
    out: &mut Vec<ExpectationFailure>,
) {
    let name = &e.name;
    let cands = ctx.named(name);
    if cands.is_empty() {
        out.push(ExpectationFailure::new(
            path,
            Some("name".into()),
            format!("a span named {name:?}"),
            ctx.absent(name),
        ));
        return;
    }
    let mut cs: Vec<Constraint<'_>> = Vec::new();
    if let Some(p) = &e.parent {
        cs.push(Constraint {
            key: "parent",
            expected: format!("parent {p:?}"),
            test: Box::new(move |s| ctx.parent_of(s).is_some_and(|ps| &ps.name == p)),
            observe: Box::new(move |s| match (&s.parent_span_id, ctx.parent_of(s)) {
                (None, _) => "no parent".into(),
                (Some(_), Some(ps)) => format!("parent {:?}", ps.name),
                (Some(id), None) => format!("parent id {id} not among the collected spans"),
            }),
        });
    }
    if let Some(k) = &e.kind {
        match kind_from_name(k) {
            Some(kind) => cs.push(Constraint {
                key: "kind",
                expected: format!("kind {}", k.to_ascii_lowercase()),
                test: Box::new(move |s| s.kind == Some(kind)),
                observe: Box::new(|s| match s.kind {
                    Some(k) => format!("kind {}", kind_name(k)),
                    None => "no kind".into(),
                }),
            }),
            None => out.push(ExpectationFailure::new(
                path,
                Some("kind".into()),
                "one of internal, server, client, producer, consumer",
                format!("kind = {k:?}"),
            )),
        }
    }
    if let Some(attrs) = &e.attrs {
        if let Some(all) = attrs.all.as_ref().filter(|m| !m.is_empty()) {
            cs.push(Constraint {
                key: "attrs.all",
                expected: format!("all of {}", show_pairs(all)),
                test: Box::new(move |s| all.iter().all(|(k, v)| attr_eq(s, k, v))),
                observe: Box::new(move |s| {
                    all.keys()
                        .map(|k| show_attr(s, k))
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
            });
        }
        if let Some(any) = attrs.any.as_ref().filter(|m| !m.is_empty()) {
            cs.push(Constraint {
                key: "attrs.any",
                expected: format!("any of {}", show_pairs(any)),
                test: Box::new(move |s| any.iter().any(|(k, v)| attr_eq(s, k, v))),
                observe: Box::new(move |s| {
                    any.keys()
                        .map(|k| show_attr(s, k))
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
            });
        }
    }
    if let Some(ev) = &e.events {
        if let Some(any) = ev.any.as_ref().filter(|v| !v.is_empty()) {
            cs.push(Constraint {
                key: "events.any",
                expected: format!("any of the events {}", list(any, 8)),
                test: Box::new(move |s| any.iter().any(|n| s.events.contains(n))),
                observe: Box::new(show_events),
            });
        }
        if let Some(all) = ev.all.as_ref().filter(|v| !v.is_empty()) {
            cs.push(Constraint {
                key: "events.all",
                expected: format!("all of the events {}", list(all, 8)),
                test: Box::new(move |s| all.iter().all(|n| s.events.contains(n))),
                observe: Box::new(show_events),
            });
        }
    }
    if let Some(d) = e.duration_ms {
        if let Some(min) = d.min {
            cs.push(Constraint {
                key: "duration_ms.min",
                expected: format!("a duration of at least {} ms", fmt_ms(min)),
                test: Box::new(move |s| s.duration_ms().is_some_and(|x| x >= min)),
                observe: Box::new(show_duration),
            });
        }
        if let Some(max) = d.max {
            cs.push(Constraint {
                key: "duration_ms.max",
                expected: format!("a duration of at most {} ms", fmt_ms(max)),
                test: Box::new(move |s| s.duration_ms().is_some_and(|x| x <= max)),
                observe: Box::new(show_duration),
            });
        }
    }

    let found = format!("{} named {name:?}", count_noun(cands.len(), "span"));
    let mut any_unmet = false;
    for c in &cs {
        if cands.iter().any(|s| (c.test)(s)) {
            continue;
        }
        any_unmet = true;
        let mut seen: Vec<String> = cands.iter().map(|s| (c.observe)(s)).collect();
        seen.sort();
        seen.dedup();
        out.push(ExpectationFailure::new(
            path,
            Some(c.key.into()),
            format!("a span named {name:?} with {}", c.expected),
            format!(
                "{found}, none with {}; seen: {}",
                c.expected,
                list(&seen, 5)
            ),
        ));
    }
    // Each constraint is met by some span, but maybe not all by the same one.
    if !any_unmet && cs.len() > 1 && !cands.iter().any(|s| cs.iter().all(|c| (c.test)(s))) {
        let misses: Vec<String> = cands
            .iter()
            .map(|s| {
                let keys: Vec<&str> = cs.iter().filter(|c| !(c.test)(s)).map(|c| c.key).collect();
                format!("span {} misses {}", s.span_id, keys.join(", "))
            })
            .collect();
        let all: Vec<&str> = cs.iter().map(|c| c.expected.as_str()).collect();
        out.push(ExpectationFailure::new(
            path,
            None,
            format!("one span named {name:?} with {}", all.join(", ")),
            format!("{found}, none meeting them all: {}", list(&misses, 5)),
        ));
    }
}

fn attr_eq(s: &Span, k: &str, v: &str) -> bool {
    s.attributes
        .get(k)
        .is_some_and(|a| super::attr_matches(a, v))
}

fn show_pairs(m: &std::collections::BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} = {v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_events(s: &Span) -> String {
    if s.events.is_empty() {
        "no events".into()
    } else {
        format!("events {}", list(&s.events, 8))
    }
}

fn show_duration(s: &Span) -> String {
    match s.duration_ms() {
        Some(d) => format!("{} ms", fmt_ms(d)),
        None => "no start/end time".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, sp};
    use crate::traces::SpanKind;

    fn spans() -> Vec<crate::traces::Span> {
        let mut root = sp("http.request", "r", None, 0, 100);
        root.kind = Some(SpanKind::Server);
        root.attributes.insert("http.method".into(), "GET".into());
        root.attributes
            .insert("http.status_code".into(), 200.into());
        root.events = vec!["request.received".into()];
        let mut q1 = sp("db.query", "q1", Some("w"), 10, 20);
        q1.kind = Some(SpanKind::Client);
        let q2 = sp("db.query", "q2", Some("r"), 30, 90);
        let w = sp("worker", "w", None, 0, 50);
        vec![root, q1, q2, w]
    }

    #[test]
    fn met_when_one_span_of_the_name_meets_everything() {
        let toml = r#"
[[expect.span]]
name = "http.request"
kind = "SERVER"
attrs.all = { "http.method" = "GET", "http.status_code" = "200" }
attrs.any = { "http.method" = "POST", "http.route" = "/x", "http.status_code" = "200" }
events.all = ["request.received"]
events.any = ["nope", "request.received"]
duration_ms = { min = 100, max = 100 }

[[expect.span]]
name = "db.query"
parent = "http.request"
duration_ms = { min = 50 }
"#;
        assert_eq!(messages(toml, &spans()), Vec::<String>::new());
    }

    #[test]
    fn missing_name_lists_what_was_seen() {
        let m = messages("[[expect.span]]\nname = \"cache.get\"\n", &spans());
        assert_eq!(
            m,
            vec![
                r#"expect.span[0].name: expected a span named "cache.get"; observed no span named "cache.get" (span names seen: db.query, http.request, worker)"#
            ]
        );
    }

    #[test]
    fn each_unmet_constraint_says_what_the_spans_had() {
        let toml = r#"
[[expect.span]]
name = "db.query"
parent = "http.request"
kind = "server"
attrs.all = { "db.system" = "postgres" }
events.any = ["retry"]
duration_ms = { max = 5 }
"#;
        let m = messages(toml, &spans());
        assert_eq!(
            m,
            vec![
                r#"expect.span[0].kind: expected a span named "db.query" with kind server; observed 2 spans named "db.query", none with kind server; seen: kind client, kind internal"#,
                r#"expect.span[0].attrs.all: expected a span named "db.query" with all of db.system = "postgres"; observed 2 spans named "db.query", none with all of db.system = "postgres"; seen: db.system absent"#,
                r#"expect.span[0].events.any: expected a span named "db.query" with any of the events retry; observed 2 spans named "db.query", none with any of the events retry; seen: no events"#,
                r#"expect.span[0].duration_ms.max: expected a span named "db.query" with a duration of at most 5 ms; observed 2 spans named "db.query", none with a duration of at most 5 ms; seen: 10 ms, 60 ms"#,
            ]
        );
        let m = messages(
            "[[expect.span]]\nname = \"db.query\"\nparent = \"nobody\"\n",
            &spans(),
        );
        assert_eq!(
            m,
            vec![
                r#"expect.span[0].parent: expected a span named "db.query" with parent "nobody"; observed 2 spans named "db.query", none with parent "nobody"; seen: parent "http.request", parent "worker""#
            ]
        );
    }

    #[test]
    fn constraints_met_by_different_spans_fail_together() {
        // q1 is a client span, q2 is the child of http.request: no single span is both.
        let toml =
            "[[expect.span]]\nname = \"db.query\"\nparent = \"http.request\"\nkind = \"client\"\n";
        let m = messages(toml, &spans());
        assert_eq!(
            m,
            vec![
                r#"expect.span[0]: expected one span named "db.query" with parent "http.request", kind client; observed 2 spans named "db.query", none meeting them all: span q1 misses parent, span q2 misses kind"#
            ]
        );
    }

    #[test]
    fn invalid_kind_and_untimed_duration_fail() {
        let mut s = spans();
        s[0].end_time_unix_nano = None;
        let toml =
            "[[expect.span]]\nname = \"http.request\"\nkind = \"rpc\"\nduration_ms = { min = 1 }\n";
        let m = messages(toml, &s);
        assert_eq!(
            m,
            vec![
                r#"expect.span[0].kind: expected one of internal, server, client, producer, consumer; observed kind = "rpc""#,
                r#"expect.span[0].duration_ms.min: expected a span named "http.request" with a duration of at least 1 ms; observed 1 span named "http.request", none with a duration of at least 1 ms; seen: no start/end time"#,
            ]
        );
    }

    #[test]
    fn numbers_match_their_json_text_only() {
        let m = messages("[[expect.span]]\nname = \"http.request\"\nattrs.all = { \"http.status_code\" = \"200.0\" }\n", &spans());
        assert_eq!(m.len(), 1);
        assert!(m[0].ends_with("seen: http.status_code = 200"), "{}", m[0]);
    }
}
