//! `[expect]` (and legacy `[otel_validation]`): span references, globs, impossible
//! bounds, ordering cycles, and which expectations `clnrm run` never evaluates.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{patterns, Ctx};
use crate::analysis::schema::pointer;
use crate::analysis::{Code, Diagnostic, Severity};

/// Spans clnrm itself emits during `run`: valid parents without an expectation.
const CLNRM_SPANS: [&str; 12] = [
    "clnrm.run",
    "clnrm.test",
    "clnrm.service.start",
    "clnrm.command.execute",
    "clnrm.plugin.registry",
    "clnrm.step",
    "clnrm.assertion.validate",
    "clnrm.container.start",
    "clnrm.container.exec",
    "clnrm.container.stop",
    "service.exec",
    "container.exec",
];

pub(super) fn check(ctx: &mut Ctx<'_>) {
    spans(ctx);
    counts(ctx, "/expect/counts");
    counts(ctx, "/otel_validation/expect_counts");
    status(ctx, "/expect/status");
    status(ctx, "/otel_validation/expect_status");
    legacy_spans(ctx);
    order_cycles(ctx);
    never_evaluated(ctx);
}

fn spans(ctx: &mut Ctx<'_>) {
    let known = known_span_names(ctx);
    // Each span's table found once; pointers are built only to place a finding.
    let doc = ctx.document();
    let spans = pointer::get(&doc, "/expect/span").and_then(Value::as_array);
    for (i, span) in spans.into_iter().flatten().enumerate() {
        if ctx.full() {
            return;
        }
        let at = |field: &str| pointer::at(&pointer::at_index("/expect/span", i), field);
        if let Some(name) = span.get("name").and_then(Value::as_str) {
            if let Some(err) = patterns::glob_error(name) {
                ctx.report_as(
                    Code::InvalidGlob,
                    Severity::Warning,
                    ctx.value(&at("name")),
                    format!("clnrm dry-run rejects this span name as a glob ({err}); `run` matches it literally"),
                );
            }
        }
        if let Some(parent) = span.get("parent").and_then(Value::as_str) {
            let is_clnrm = CLNRM_SPANS
                .iter()
                .any(|s| parent == *s || parent.starts_with(&format!("{s}.")));
            if !known.contains(parent) && !is_clnrm {
                ctx.report(
                    Code::UndefinedSpan,
                    ctx.value(&at("parent")),
                    format!("no expectation defines a span named `{parent}`"),
                );
            }
        }
        let duration = span.get("duration_ms");
        let min = duration.and_then(|d| d.get("min")).and_then(Value::as_f64);
        let max = duration.and_then(|d| d.get("max")).and_then(Value::as_f64);
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                let d = Diagnostic::new(
                    Code::InvalidDuration,
                    ctx.value(&at("duration_ms/min")),
                    format!(
                        "duration_ms.min ({min}) is greater than max ({max}): no span can match"
                    ),
                )
                .with_related(ctx.value(&at("duration_ms/max")), "max is here");
                ctx.push(d);
            }
        }
    }
}

/// Every span name any expectation mentions.
fn known_span_names(ctx: &Ctx<'_>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(spans) = ctx.get("/expect/span").and_then(Value::as_array) {
        names.extend(
            spans
                .iter()
                .filter_map(|s| s.get("name")?.as_str().map(str::to_string)),
        );
    }
    for p in [
        "/expect/graph/must_include",
        "/expect/graph/must_not_cross",
        "/expect/order/must_precede",
        "/expect/order/must_follow",
    ] {
        for pair in items(ctx.get(p)) {
            names.extend(strings(Some(pair)));
        }
    }
    for w in items(ctx.get("/expect/window")) {
        names.extend(w.get("outer").and_then(Value::as_str).map(str::to_string));
        names.extend(strings(w.get("contains")));
    }
    if let Some(by_name) = ctx.get("/expect/counts/by_name").and_then(Value::as_object) {
        names.extend(by_name.keys().cloned());
    }
    names
}

/// The items of an array (none for anything else).
fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

/// The strings of an array, owned.
fn strings(v: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    items(v).filter_map(|s| s.as_str().map(str::to_string))
}

fn counts(ctx: &mut Ctx<'_>, base: &str) {
    let doc = ctx.document();
    let table = pointer::get(&doc, base);
    let by_name = table
        .and_then(|t| t.get("by_name"))
        .and_then(Value::as_object);
    // The bounds, and where each is (its pointer is built only for a finding).
    let totals = ["spans_total", "events_total", "errors_total"]
        .into_iter()
        .map(|k| (table.and_then(|t| t.get(k)), k, false));
    let named = by_name
        .into_iter()
        .flatten()
        .map(|(name, bound)| (Some(bound), name.as_str(), true));
    for (bound, key, is_named) in totals.chain(named) {
        let limit = |k: &str| bound.and_then(|b| b.get(k)).and_then(Value::as_u64);
        let (Some(gte), Some(lte)) = (limit("gte"), limit("lte")) else {
            continue;
        };
        if gte > lte {
            let b = if is_named {
                pointer::push(&pointer::at(base, "by_name"), key)
            } else {
                pointer::at(base, key)
            };
            let d = Diagnostic::new(
                Code::InvalidValue,
                ctx.value(&pointer::at(&b, "gte")),
                format!("gte ({gte}) is greater than lte ({lte}): no count can satisfy both (clnrm run fails)"),
            )
            .with_related(ctx.value(&pointer::at(&b, "lte")), "lte is here");
            ctx.push(d);
        }
    }
}

fn status(ctx: &mut Ctx<'_>, base: &str) {
    let by_name = pointer::at(base, "by_name");
    for pattern in ctx.keys(&by_name) {
        let p = pointer::push(&by_name, &pattern);
        if let Some(err) = patterns::glob_error(&pattern) {
            ctx.report(
                Code::InvalidGlob,
                ctx.key(&p),
                format!("`{pattern}` is not a valid glob pattern: {err}"),
            );
        } else if pattern.trim().is_empty() {
            ctx.report(
                Code::EmptyValue,
                ctx.key(&p),
                "span-name pattern must not be empty",
            );
        }
    }
}

fn legacy_spans(ctx: &mut Ctx<'_>) {
    let doc = ctx.document();
    let spans = pointer::get(&doc, "/otel_validation/expected_spans").and_then(Value::as_array);
    for (i, span) in spans.into_iter().flatten().enumerate() {
        let at = |field: &str| {
            pointer::at(
                &pointer::at_index("/otel_validation/expected_spans", i),
                field,
            )
        };
        if let Some(name) = span.get("name").and_then(Value::as_str) {
            if let Some(err) = patterns::glob_error(name) {
                ctx.report_as(
                    Code::InvalidGlob,
                    Severity::Warning,
                    ctx.value(&at("name")),
                    format!("clnrm dry-run rejects this span name as a glob: {err}"),
                );
            }
        }
        let min = span.get("min_duration_ms").and_then(Value::as_f64);
        let max = span.get("max_duration_ms").and_then(Value::as_f64);
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                ctx.report_as(
                    Code::InvalidDuration,
                    Severity::Warning,
                    ctx.value(&at("min_duration_ms")),
                    format!("min_duration_ms ({min}) is greater than max_duration_ms ({max}) (clnrm dry-run rejects this)"),
                );
            }
        }
    }
}

/// A cycle in must_precede (A→B) / must_follow (B→A) can never be satisfied.
fn order_cycles(ctx: &mut Ctx<'_>) {
    for base in ["/expect/order", "/otel_validation/expect_order"] {
        let mut edges: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (key, flip) in [("must_precede", false), ("must_follow", true)] {
            let list = pointer::at(base, key);
            for i in 0..ctx.len(&list) {
                let p = pointer::at_index(&list, i);
                let pair: Vec<String> = ctx
                    .get(&p)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if let [a, b] = pair.as_slice() {
                    let (from, to) = if flip { (b, a) } else { (a, b) };
                    edges.entry(from.clone()).or_default().push((to.clone(), p));
                }
            }
        }
        if let Some((cycle, at)) = find_cycle(&edges) {
            ctx.report(
                Code::OrderingCycle,
                ctx.value(&at),
                format!("ordering constraints form a cycle: {}", cycle.join(" → ")),
            );
        }
    }
}

/// Iterative DFS; returns the cycle's names and the pointer of the edge closing it.
fn find_cycle(edges: &BTreeMap<String, Vec<(String, String)>>) -> Option<(Vec<String>, String)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut mark: BTreeMap<&str, Mark> = BTreeMap::new();
    for start in edges.keys() {
        if mark.contains_key(start.as_str()) {
            continue;
        }
        let mut path: Vec<&str> = vec![start];
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        mark.insert(start, Mark::Active);
        while let Some((node, idx)) = stack.last_mut() {
            let next = edges.get(*node).and_then(|e| e.get(*idx));
            *idx += 1;
            match next {
                None => {
                    mark.insert(node, Mark::Done);
                    stack.pop();
                    path.pop();
                }
                Some((to, ptr)) => match mark.get(to.as_str()) {
                    Some(Mark::Active) => {
                        let from = path.iter().position(|n| *n == to.as_str()).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[from..].iter().map(|s| s.to_string()).collect();
                        cycle.push(to.clone());
                        return Some((cycle, ptr.clone()));
                    }
                    Some(Mark::Done) => {}
                    None => {
                        mark.insert(to, Mark::Active);
                        path.push(to);
                        stack.push((to, 0));
                    }
                },
            }
        }
    }
    None
}

/// One information note per construct clnrm 1.3.0's `run` parses but never evaluates.
fn never_evaluated(ctx: &mut Ctx<'_>) {
    let notes: [(&str, &str); 6] = [
        (
            "/expect/order",
            "[expect.order] is never evaluated by clnrm 1.3.0's `run` (only by `clnrm analyze`)",
        ),
        (
            "/expect/status",
            "[expect.status] is never evaluated by clnrm 1.3.0's `run` (only by `clnrm analyze`)",
        ),
        (
            "/expect/graph/must_not_cross",
            "`must_not_cross` is never evaluated by clnrm 1.3.0",
        ),
        (
            "/expect/graph/acyclic",
            "`acyclic` is never evaluated by clnrm 1.3.0",
        ),
        (
            "/expect/counts/events_total",
            "`events_total` is never evaluated by clnrm 1.3.0",
        ),
        (
            "/expect/counts/errors_total",
            "`errors_total` is never evaluated by clnrm 1.3.0",
        ),
    ];
    for (p, message) in notes {
        if ctx.has(p) {
            ctx.report(Code::RunCompat, ctx.key(p), message);
        }
    }
    let by_name = "/expect/counts/by_name";
    let doc = ctx.document();
    let bounds = pointer::get(&doc, by_name).and_then(Value::as_object);
    for (name, bound) in bounds.into_iter().flatten() {
        let only_lte = bound.as_object().is_some_and(|b| {
            b.contains_key("lte") && !b.contains_key("gte") && !b.contains_key("eq")
        });
        if only_lte {
            ctx.report(
                Code::RunCompat,
                ctx.key(&pointer::push(by_name, name)),
                "clnrm 1.3.0's `run` drops by_name bounds that have only `lte`",
            );
        }
    }
    // Graph, counts, window and hermeticity run only on spans a scenario prints to stdout.
    let collects_spans = (0..ctx.len("/scenario")).any(|i| {
        ctx.get(&format!("/scenario/{i}/artifacts/collect"))
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|v| v.as_str().is_some_and(|s| s.starts_with("spans:")))
            })
    });
    if !collects_spans {
        for p in [
            "/expect/graph",
            "/expect/counts",
            "/expect/window",
            "/expect/hermeticity",
        ] {
            if ctx.has(p) {
                ctx.report(
                    Code::RunCompat,
                    ctx.key(p),
                    format!(
                        "clnrm 1.3.0's `run` checks [expect.{}] only for a scenario with `artifacts.collect = [\"spans:…\"]`; none has it",
                        &p[8..]
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::analysis::annotated::fixture;
    use crate::analysis::Code;

    #[test]
    fn undefined_parent_span() {
        let text = format!(
            "{V1}{}",
            fixture(
                r#"
                [[expect.span]]
                name = "a"
                  parent = "b"
                #          ^^^ warning[undefined-span]
                [[expect.span]]
                name = "c"
                parent = "a"
                [[expect.span]]
                name = "d"
                parent = "clnrm.run"
            "#
            )
        );
        check_annotated(&text, &[Code::UndefinedSpan]);
    }

    #[test]
    fn globs() {
        let text = format!(
            "{V1}{}",
            fixture(
                r#"
                [[expect.span]]
                  name = "a["
                #        ^^^^ warning[invalid-glob]
                [expect.status]
                  by_name = { "x[" = "OK", "ok*" = "OK" }
                #             ^^^^ error[invalid-glob]
            "#
            )
        );
        check_annotated(&text, &[Code::InvalidGlob]);
    }

    #[test]
    fn impossible_bounds() {
        let text = format!(
            "{V1}{}",
            fixture(
                r#"
                [[expect.span]]
                name = "a"
                  duration_ms = { min = 10.0, max = 5 }
                #                       ^^^^ error[invalid-duration]
                [expect.counts]
                  spans_total = { gte = 3, lte = 1 }
                #                       ^ error[invalid-value]
                by_name = { a = { gte = 1, lte = 2 } }
            "#
            )
        );
        let (_, found) = check_annotated(&text, &[Code::InvalidDuration, Code::InvalidValue]);
        let duration = found
            .iter()
            .find(|d| d.code == Code::InvalidDuration)
            .unwrap();
        assert_eq!(duration.related.len(), 1, "the other bound");
    }

    #[test]
    fn ordering_cycles() {
        let text = format!(
            "{V1}{}",
            fixture(
                r#"
                [expect.order]
                must_precede = [["a", "b"], ["b", "c"]]
                  must_follow = [["a", "c"]]
                #                ^^^^^^^^^^ error[ordering-cycle]: a → b → c → a
            "#
            )
        );
        check_annotated(&text, &[Code::OrderingCycle]);
        let ok = format!("{V1}[expect.order]\nmust_precede = [[\"a\", \"b\"], [\"b\", \"c\"]]\nmust_follow = [[\"c\", \"a\"]]\n");
        assert!(with_code(&ok, Code::OrderingCycle).is_empty());
    }

    #[test]
    fn never_evaluated_notes() {
        let text = format!("{V1}[expect.status]\nall = \"OK\"\n[expect.counts]\nerrors_total = {{ eq = 0 }}\nby_name = {{ a = {{ lte = 2 }} }}\n");
        let notes: Vec<_> = with_code(&text, Code::RunCompat)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(notes, vec!["status", "counts", "errors_total", "a"]);
        let collected = text.replace(
            "run = \"echo hi\"\n",
            "run = \"echo hi\"\nartifacts.collect = [\"spans:default\"]\n",
        );
        let notes: Vec<_> = with_code(&collected, Code::RunCompat)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(notes, vec!["status", "errors_total", "a"]);
    }
}
