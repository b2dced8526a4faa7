//! Trace diff: match the span trees of a baseline and a current trace, then classify
//! every span as same, changed, extra or missing.
//!
//! Children are matched per parent, by name first. Among same-named siblings, arrival
//! order means nothing (concurrent spans finish in any order), so they are paired in
//! three passes: identical subtrees first, then spans identical in themselves, then the
//! rest by position (start time, then arrival). Hashes only choose pairs; every pair is
//! compared field by field, so a hash collision can never hide a difference.
//! Cost: O(n log n) in the number of spans; no recursion.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use serde::Serialize;
use serde_json::Value;

use super::summary::DiffSummary;
use super::tree::{SpanTree, ROOT};
use super::{DiffSettings, Span, SpanKind, SpanSource, SpanStatus};

/// How one span compares with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Same,
    Changed,
    Extra,
    Missing,
}

impl Mark {
    /// The marker shown in trees and lenses.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Same => "✓",
            Mark::Changed => "✏️",
            Mark::Extra => "➕",
            Mark::Missing => "❌",
        }
    }
}

/// One difference inside a matched pair of spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Change {
    /// `before: None` = added, `after: None` = removed.
    Attribute {
        key: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        after: Option<Value>,
    },
    ResourceAttribute {
        key: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        after: Option<Value>,
    },
    Kind {
        before: Option<SpanKind>,
        after: Option<SpanKind>,
    },
    Status {
        before: SpanStatus,
        after: SpanStatus,
    },
    Events {
        before: Vec<String>,
        after: Vec<String>,
    },
    StartTime {
        before: Option<u64>,
        after: Option<u64>,
    },
    EndTime {
        before: Option<u64>,
        after: Option<u64>,
    },
    Id {
        field: &'static str,
        before: Option<String>,
        after: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffNode {
    pub name: String,
    pub mark: Mark,
    /// 1 for top-level spans; 0 only for the synthetic root.
    pub depth: usize,
    #[serde(skip)]
    pub parent: Option<usize>,
    #[serde(skip)]
    pub children: Vec<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Index of the span in the baseline / current span list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<usize>,
    /// Its parent is not in the trace, so it was placed at the top level.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub orphan: bool,
    /// Spans below this one, and how many of them differ.
    #[serde(skip)]
    pub descendants: usize,
    #[serde(skip)]
    pub differing_descendants: usize,
}

/// The whole diff as an arena: node 0 is the synthetic root; parents come before their
/// children; children are in baseline order, extra spans after them in current order.
#[derive(Debug, Clone)]
pub struct TraceDiff {
    pub nodes: Vec<DiffNode>,
    pub summary: DiffSummary,
}

impl TraceDiff {
    pub fn compute(baseline: &[Span], current: &[Span], settings: &DiffSettings) -> Self {
        let cmp = Comparator::new(settings);
        let bt = SpanTree::build(baseline);
        let ct = SpanTree::build(current);
        let bh = cmp.hashes(&bt);
        let ch = cmp.hashes(&ct);
        let mut m = Matcher {
            cmp: &cmp,
            bt: &bt,
            ct: &ct,
            bh: &bh,
            ch: &ch,
            nodes: vec![DiffNode {
                name: String::new(),
                mark: Mark::Same,
                depth: 0,
                parent: None,
                children: Vec::new(),
                changes: Vec::new(),
                baseline: None,
                current: None,
                orphan: false,
                descendants: 0,
                differing_descendants: 0,
            }],
        };
        m.run();
        let mut nodes = m.nodes;
        let mut summary = DiffSummary::default();
        for i in (1..nodes.len()).rev() {
            match nodes[i].mark {
                Mark::Same => summary.same += 1,
                Mark::Changed => summary.changed += 1,
                Mark::Extra => summary.extra += 1,
                Mark::Missing => summary.missing += 1,
            }
            let own = usize::from(nodes[i].mark != Mark::Same);
            let (below, diff_below) = (nodes[i].descendants, nodes[i].differing_descendants);
            if let Some(p) = nodes[i].parent {
                nodes[p].descendants += below + 1;
                nodes[p].differing_descendants += diff_below + own;
            }
        }
        TraceDiff { nodes, summary }
    }

    pub fn has_differences(&self) -> bool {
        self.summary.has_differences()
    }

    /// Node indices in display order (pre-order), without the synthetic root.
    pub fn preorder(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<usize> = self.nodes[0].children.iter().rev().copied().collect();
        while let Some(i) = stack.pop() {
            out.push(i);
            stack.extend(self.nodes[i].children.iter().rev().copied());
        }
        out
    }
}

/// Attributes of the runner's own spans (`step:*`) that measure time: compared only with
/// the timestamps.
const RUNNER_TIMINGS: &[&str] = &["duration_ms"];

/// What is compared, compiled from the settings.
struct Comparator {
    ignore: Vec<glob::Pattern>,
    ignore_exact: Vec<String>,
    timestamps: bool,
    ids: bool,
    resource: bool,
}

impl Comparator {
    fn new(s: &DiffSettings) -> Self {
        let mut ignore = Vec::new();
        let mut ignore_exact = Vec::new();
        for p in &s.ignore_attributes {
            match glob::Pattern::new(p) {
                Ok(pat) => ignore.push(pat),
                // Not a valid pattern: take it as a literal key.
                Err(_) => ignore_exact.push(p.clone()),
            }
        }
        Self {
            ignore,
            ignore_exact,
            timestamps: !s.ignore_timestamps,
            ids: !s.ignore_ids,
            resource: s.compare_resource_attributes,
        }
    }

    fn ignored(&self, key: &str) -> bool {
        self.ignore.iter().any(|p| p.matches(key)) || self.ignore_exact.iter().any(|k| k == key)
    }

    /// An attribute of `span` left out: ignored by the settings, or a timing of the
    /// runner's own spans (it differs on every run) while timestamps are not compared.
    fn skipped(&self, span: &Span, key: &str) -> bool {
        self.ignored(key)
            || (!self.timestamps
                && span.source == SpanSource::Runner
                && RUNNER_TIMINGS.contains(&key))
    }

    /// Hash of everything compared about the span itself (not its children).
    fn own_hash(&self, s: &Span) -> u64 {
        let mut h = DefaultHasher::new();
        s.name.hash(&mut h);
        s.kind.hash(&mut h);
        s.status.hash(&mut h);
        s.events.hash(&mut h);
        self.hash_attrs(&s.attributes, &mut h, |k| self.skipped(s, k));
        if self.resource {
            self.hash_attrs(&s.resource_attributes, &mut h, |k| self.ignored(k));
        }
        if self.timestamps {
            (s.start_time_unix_nano, s.end_time_unix_nano).hash(&mut h);
        }
        if self.ids {
            (&s.trace_id, &s.span_id, &s.parent_span_id).hash(&mut h);
        }
        h.finish()
    }

    fn hash_attrs(
        &self,
        attrs: &BTreeMap<String, Value>,
        h: &mut DefaultHasher,
        skip: impl Fn(&str) -> bool,
    ) {
        for (k, v) in attrs {
            if !skip(k) {
                k.hash(h);
                hash_value(v, h);
            }
        }
        0xffu8.hash(h);
    }

    /// (own hash, subtree hash) per tree node; the subtree hash ignores sibling order.
    fn hashes(&self, t: &SpanTree) -> Vec<(u64, u64)> {
        let mut out = vec![(0, 0); t.nodes.len()];
        for &i in t.preorder.iter().rev() {
            let own = t.span(i).map_or(0, |s| self.own_hash(s));
            let mut kids: Vec<u64> = t.nodes[i].children.iter().map(|&c| out[c].1).collect();
            kids.sort_unstable();
            let mut h = DefaultHasher::new();
            own.hash(&mut h);
            kids.hash(&mut h);
            out[i] = (own, h.finish());
        }
        out
    }

    fn compare(&self, b: &Span, c: &Span) -> Vec<Change> {
        let mut out = Vec::new();
        if self.ids {
            for (field, before, after) in [
                ("trace_id", Some(&b.trace_id), Some(&c.trace_id)),
                ("span_id", Some(&b.span_id), Some(&c.span_id)),
                (
                    "parent_span_id",
                    b.parent_span_id.as_ref(),
                    c.parent_span_id.as_ref(),
                ),
            ] {
                if before != after {
                    out.push(Change::Id {
                        field,
                        before: before.cloned(),
                        after: after.cloned(),
                    });
                }
            }
        }
        changed(&mut out, &b.kind, &c.kind, |before, after| Change::Kind {
            before,
            after,
        });
        changed(&mut out, &b.status, &c.status, |before, after| {
            Change::Status { before, after }
        });
        let skip = |k: &str| self.skipped(b, k) || self.skipped(c, k);
        for (key, before, after) in self.attr_changes(&b.attributes, &c.attributes, skip) {
            out.push(Change::Attribute { key, before, after });
        }
        if self.resource {
            for (key, before, after) in
                self.attr_changes(&b.resource_attributes, &c.resource_attributes, |k| {
                    self.ignored(k)
                })
            {
                out.push(Change::ResourceAttribute { key, before, after });
            }
        }
        changed(&mut out, &b.events, &c.events, |before, after| {
            Change::Events { before, after }
        });
        if self.timestamps {
            let (bs, cs) = (&b.start_time_unix_nano, &c.start_time_unix_nano);
            changed(&mut out, bs, cs, |before, after| Change::StartTime {
                before,
                after,
            });
            let (be, ce) = (&b.end_time_unix_nano, &c.end_time_unix_nano);
            changed(&mut out, be, ce, |before, after| Change::EndTime {
                before,
                after,
            });
        }
        out
    }

    /// Changed, removed and added keys, in key order (both maps are sorted).
    fn attr_changes(
        &self,
        b: &BTreeMap<String, Value>,
        c: &BTreeMap<String, Value>,
        skip: impl Fn(&str) -> bool,
    ) -> Vec<(String, Option<Value>, Option<Value>)> {
        let mut keys: Vec<&String> = b.keys().chain(c.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| !skip(k))
            .filter_map(|k| {
                let (bv, cv) = (b.get(k), c.get(k));
                (bv != cv).then(|| (k.clone(), bv.cloned(), cv.cloned()))
            })
            .collect()
    }
}

fn hash_value(v: &Value, h: &mut DefaultHasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, n.to_string()).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(a) => {
            (4u8, a.len()).hash(h);
            for x in a {
                hash_value(x, h);
            }
        }
        Value::Object(o) => {
            (5u8, o.len()).hash(h);
            for (k, x) in o {
                k.hash(h);
                hash_value(x, h);
            }
        }
    }
}

struct Matcher<'t, 'a> {
    cmp: &'t Comparator,
    bt: &'t SpanTree<'a>,
    ct: &'t SpanTree<'a>,
    bh: &'t [(u64, u64)],
    ch: &'t [(u64, u64)],
    nodes: Vec<DiffNode>,
}

impl Matcher<'_, '_> {
    fn run(&mut self) {
        let mut work = vec![(ROOT, ROOT, 0usize)];
        while let Some((b, c, out)) = work.pop() {
            for (bk, ck) in self.pair_children(b, c) {
                match (bk, ck) {
                    (Some(bk), Some(ck)) => {
                        let (bs, cs) = (self.bt.span(bk), self.ct.span(ck));
                        let changes = match (bs, cs) {
                            (Some(bs), Some(cs)) => self.cmp.compare(bs, cs),
                            _ => Vec::new(),
                        };
                        let mark = if changes.is_empty() {
                            Mark::Same
                        } else {
                            Mark::Changed
                        };
                        let orphan = self.ct.nodes[ck].orphan;
                        let idx = self.push(out, bk, Some(bk), Some(ck), mark, changes, orphan);
                        work.push((bk, ck, idx));
                    }
                    (Some(bk), None) => self.push_subtree(out, bk, Mark::Missing),
                    (None, Some(ck)) => self.push_subtree(out, ck, Mark::Extra),
                    (None, None) => {}
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        parent: usize,
        name_from_baseline: usize,
        b: Option<usize>,
        c: Option<usize>,
        mark: Mark,
        changes: Vec<Change>,
        orphan: bool,
    ) -> usize {
        let name = match mark {
            Mark::Extra => self.ct.span(name_from_baseline),
            _ => self.bt.span(name_from_baseline),
        }
        .map(|s| s.name.clone())
        .unwrap_or_default();
        let idx = self.nodes.len();
        let depth = self.nodes[parent].depth + 1;
        self.nodes.push(DiffNode {
            name,
            mark,
            depth,
            parent: Some(parent),
            children: Vec::new(),
            changes,
            baseline: b.and_then(|n| self.bt.nodes[n].span),
            current: c.and_then(|n| self.ct.nodes[n].span),
            orphan,
            descendants: 0,
            differing_descendants: 0,
        });
        self.nodes[parent].children.push(idx);
        idx
    }

    /// A whole subtree present on one side only.
    fn push_subtree(&mut self, parent: usize, top: usize, mark: Mark) {
        let tree = if mark == Mark::Extra {
            self.ct
        } else {
            self.bt
        };
        let mut stack = vec![(top, parent)];
        while let Some((n, out_parent)) = stack.pop() {
            let (b, c) = if mark == Mark::Extra {
                (None, Some(n))
            } else {
                (Some(n), None)
            };
            let orphan = tree.nodes[n].orphan;
            let idx = self.push(out_parent, n, b, c, mark, Vec::new(), orphan);
            stack.extend(tree.nodes[n].children.iter().rev().map(|&k| (k, idx)));
        }
    }

    /// Pairs of children of baseline node `b` and current node `c`: baseline children
    /// in order (paired or missing), then unpaired current children in order (extra).
    fn pair_children(&self, b: usize, c: usize) -> Vec<(Option<usize>, Option<usize>)> {
        let bkids = &self.bt.nodes[b].children;
        let ckids = &self.ct.nodes[c].children;
        let name_b = |k: usize| self.bt.span(k).map_or("", |s| s.name.as_str());
        let name_c = |k: usize| self.ct.span(k).map_or("", |s| s.name.as_str());

        let mut c_groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for &k in ckids {
            c_groups.entry(name_c(k)).or_default().push(k);
        }
        let mut b_groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for &k in bkids {
            b_groups.entry(name_b(k)).or_default().push(k);
        }
        let mut partner: HashMap<usize, usize> = HashMap::new();
        for (name, bs) in &b_groups {
            if let Some(cs) = c_groups.get(name) {
                self.pair_group(bs, cs, &mut partner);
            }
        }
        let used: HashSet<usize> = partner.values().copied().collect();
        let mut out: Vec<(Option<usize>, Option<usize>)> = bkids
            .iter()
            .map(|&k| (Some(k), partner.get(&k).copied()))
            .collect();
        out.extend(
            ckids
                .iter()
                .filter(|k| !used.contains(k))
                .map(|&k| (None, Some(k))),
        );
        out
    }

    /// Pair same-named siblings: equal subtrees, then equal spans, then by position.
    fn pair_group(&self, bs: &[usize], cs: &[usize], partner: &mut HashMap<usize, usize>) {
        if bs.len() == 1 && cs.len() == 1 {
            partner.insert(bs[0], cs[0]);
            return;
        }
        let mut left_b: Vec<usize> = bs.to_vec();
        let mut left_c: Vec<usize> = cs.to_vec();
        for pass in [1u8, 0u8] {
            let key_b = |k: usize| {
                if pass == 1 {
                    self.bh[k].1
                } else {
                    self.bh[k].0
                }
            };
            let key_c = |k: usize| {
                if pass == 1 {
                    self.ch[k].1
                } else {
                    self.ch[k].0
                }
            };
            let mut by_hash: HashMap<u64, VecDeque<usize>> = HashMap::new();
            for &k in &left_c {
                by_hash.entry(key_c(k)).or_default().push_back(k);
            }
            let mut still_b = Vec::new();
            let mut taken = HashSet::new();
            for &k in &left_b {
                match by_hash.get_mut(&key_b(k)).and_then(VecDeque::pop_front) {
                    Some(p) => {
                        partner.insert(k, p);
                        taken.insert(p);
                    }
                    None => still_b.push(k),
                }
            }
            left_b = still_b;
            left_c.retain(|k| !taken.contains(k));
            if left_b.is_empty() || left_c.is_empty() {
                return;
            }
        }
        for (k, p) in left_b.into_iter().zip(left_c) {
            partner.insert(k, p);
        }
    }
}

/// A change of one field, when its values differ.
fn changed<T: PartialEq + Clone>(
    out: &mut Vec<Change>,
    before: &T,
    after: &T,
    change: impl FnOnce(T, T) -> Change,
) {
    if before != after {
        out.push(change(before.clone(), after.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, name: &str) -> Span {
        Span::test(id, parent, name)
    }

    fn with_attr(mut s: Span, k: &str, v: impl Into<Value>) -> Span {
        s.attributes.insert(k.into(), v.into());
        s
    }

    fn marks(d: &TraceDiff) -> Vec<(String, Mark)> {
        d.preorder()
            .into_iter()
            .map(|i| {
                (
                    format!("{}{}", "  ".repeat(d.nodes[i].depth - 1), d.nodes[i].name),
                    d.nodes[i].mark,
                )
            })
            .collect()
    }

    fn base() -> Vec<Span> {
        vec![
            span("r", None, "run"),
            with_attr(span("a", Some("r"), "step"), "n", 1),
            with_attr(span("b", Some("r"), "step"), "n", 2),
            with_attr(span("c", Some("r"), "step"), "n", 3),
            span("d", Some("b"), "exec"),
        ]
    }

    #[test]
    fn identical_traces_with_other_ids_and_times() {
        let b = base();
        let mut c = base();
        for (i, s) in c.iter_mut().enumerate() {
            s.trace_id = "other".into();
            s.start_time_unix_nano = Some(i as u64 * 7);
        }
        let d = TraceDiff::compute(&b, &c, &DiffSettings::default());
        assert!(!d.has_differences());
        assert_eq!(d.summary.same, 5);
    }

    #[test]
    fn reordered_concurrent_siblings_are_not_a_difference() {
        let b = base();
        let c = vec![
            b[4].clone(),
            b[3].clone(),
            b[0].clone(),
            b[2].clone(),
            b[1].clone(),
        ];
        let d = TraceDiff::compute(&b, &c, &DiffSettings::default());
        assert!(!d.has_differences(), "{:?}", marks(&d));
        // Display follows the baseline's order whatever the arrival order.
        let d2 = TraceDiff::compute(&b, &b, &DiffSettings::default());
        assert_eq!(marks(&d), marks(&d2));
    }

    #[test]
    fn one_changed_sibling_among_reordered_ones() {
        let b = base();
        let mut c = vec![
            b[3].clone(),
            b[2].clone(),
            b[1].clone(),
            b[0].clone(),
            b[4].clone(),
        ];
        c[2].attributes.insert("n".into(), Value::from(9)); // was n=1
        let d = TraceDiff::compute(&b, &c, &DiffSettings::default());
        assert_eq!(d.summary.changed, 1);
        assert_eq!(d.summary.same, 4);
        let changed = d.nodes.iter().find(|n| n.mark == Mark::Changed).unwrap();
        assert_eq!(
            changed.changes,
            vec![Change::Attribute {
                key: "n".into(),
                before: Some(1.into()),
                after: Some(9.into())
            }]
        );
    }

    #[test]
    fn every_marker_kind() {
        let b = base();
        let mut c = base();
        c[1].status = SpanStatus::Error; // step n=1 changed
        c[1].kind = Some(SpanKind::Client);
        c.remove(4); // exec missing
        c.push(span("e", Some("c"), "retry")); // extra under n=3
        let d = TraceDiff::compute(&b, &c, &DiffSettings::default());
        assert_eq!(
            (
                d.summary.same,
                d.summary.changed,
                d.summary.missing,
                d.summary.extra
            ),
            (3, 1, 1, 1)
        );
        let m = marks(&d);
        assert!(
            m.contains(&("    exec".into(), Mark::Missing))
                || m.contains(&("  exec".into(), Mark::Missing)),
            "{m:?}"
        );
        assert_eq!(d.nodes[0].differing_descendants, 3);
    }

    #[test]
    fn runner_timings_are_compared_only_with_the_timestamps() {
        let step = |ms: u64| {
            let mut s = with_attr(span("s", None, "step:run"), "duration_ms", "0");
            s.attributes.insert("duration_ms".into(), ms.into());
            s.source = SpanSource::Runner;
            s
        };
        let (b, c) = (vec![step(12)], vec![step(15)]);
        assert!(!TraceDiff::compute(&b, &c, &DiffSettings::default()).has_differences());
        let timed = DiffSettings {
            ignore_timestamps: false,
            ..DiffSettings::default()
        };
        assert!(TraceDiff::compute(&b, &c, &timed).has_differences());
        // A program's own `duration_ms` attribute is its data: compared.
        let own = |ms: u64| {
            let mut s = step(ms);
            s.source = SpanSource::Otlp;
            s
        };
        assert!(
            TraceDiff::compute(&[own(12)], &[own(15)], &DiffSettings::default()).has_differences()
        );
    }

    #[test]
    fn ignored_attributes_and_kept_timestamps() {
        let b = vec![with_attr(span("r", None, "run"), "http.host", "a")];
        let mut c = vec![with_attr(span("r", None, "run"), "http.host", "b")];
        let settings = DiffSettings {
            ignore_attributes: vec!["http.*".into()],
            ..DiffSettings::default()
        };
        assert!(!TraceDiff::compute(&b, &c, &settings).has_differences());
        assert!(TraceDiff::compute(&b, &c, &DiffSettings::default()).has_differences());
        c[0].attributes = b[0].attributes.clone();
        c[0].start_time_unix_nano = Some(1);
        assert!(!TraceDiff::compute(&b, &c, &DiffSettings::default()).has_differences());
        let keep = DiffSettings {
            ignore_timestamps: false,
            ..DiffSettings::default()
        };
        assert!(TraceDiff::compute(&b, &c, &keep).has_differences());
    }

    #[test]
    fn missing_parent_makes_children_orphans_not_false_matches() {
        let b = base();
        let mut c = base();
        c.remove(2); // step n=2 gone: its child exec becomes an orphan
        let d = TraceDiff::compute(&b, &c, &DiffSettings::default());
        assert_eq!(d.summary.missing, 2); // step n=2 and exec under it
        assert_eq!(d.summary.extra, 1); // orphan exec at the top
        let extra = d.nodes.iter().find(|n| n.mark == Mark::Extra).unwrap();
        assert!(extra.orphan);
        assert_eq!(extra.depth, 1);
    }

    #[test]
    fn deep_chains() {
        let chain = |n: usize, odd: Option<usize>| -> Vec<Span> {
            (0..n)
                .map(|i| {
                    let parent = (i > 0).then(|| format!("s{}", i - 1));
                    let s = span(&format!("s{i}"), parent.as_deref(), "level");
                    if Some(i) == odd {
                        with_attr(s, "x", 1)
                    } else {
                        s
                    }
                })
                .collect()
        };
        let d = TraceDiff::compute(
            &chain(20_000, None),
            &chain(20_000, Some(19_000)),
            &DiffSettings::default(),
        );
        assert_eq!(d.summary.changed, 1);
        assert_eq!(d.summary.same, 19_999);
        let changed = d.nodes.iter().find(|n| n.mark == Mark::Changed).unwrap();
        assert_eq!(changed.depth, 19_001);
    }

    #[test]
    fn large_shuffled_trace_has_no_false_difference() {
        let tree = |tag: &str| -> Vec<Span> {
            (0..10_000usize)
                .map(|i| {
                    let parent = (i > 0).then(|| format!("{tag}{}", (i - 1) / 6));
                    let s = span(
                        &format!("{tag}{i}"),
                        parent.as_deref(),
                        &format!("op.{}", i % 3),
                    );
                    with_attr(s, "i", (i % 5) as u64)
                })
                .collect()
        };
        let b = tree("b");
        let mut c = tree("c");
        let len = c.len();
        for i in 0..len {
            c.swap(i, (i * 7919 + 13) % len);
        }
        let d = TraceDiff::compute(&b, &c, &DiffSettings::default());
        assert!(!d.has_differences(), "{:?}", d.summary);
        c[17].attributes.insert("i".into(), 42.into());
        let d = TraceDiff::compute(&b, &c, &DiffSettings::default());
        assert_eq!((d.summary.changed, d.summary.same), (1, 9_999));
    }
}
