//! A span tree built from parent links. Index 0 is a synthetic root holding every real
//! root and every orphan (a span whose parent is not in the trace); parent cycles are
//! broken so every span is reachable exactly once. Everything is iterative: a trace may
//! be a 10,000-deep chain.

use std::collections::HashMap;

use super::Span;

/// Index of the synthetic root.
pub const ROOT: usize = 0;

#[derive(Debug, Clone)]
pub struct TreeNode {
    /// Index into the span slice; `None` for the synthetic root.
    pub span: Option<usize>,
    pub parent: Option<usize>,
    /// In start-time order (spans without a start time last), then arrival order.
    pub children: Vec<usize>,
    pub depth: usize,
    /// The span names a parent that is not in the trace (or sits in a parent cycle).
    pub orphan: bool,
}

#[derive(Debug, Clone)]
pub struct SpanTree<'a> {
    pub spans: &'a [Span],
    pub nodes: Vec<TreeNode>,
    /// Nodes in pre-order (parents before children), starting at the root.
    pub preorder: Vec<usize>,
}

impl<'a> SpanTree<'a> {
    pub fn build(spans: &'a [Span]) -> Self {
        let n = spans.len();
        // Span ids are unique per trace; the first span with an id wins.
        let mut by_id: HashMap<(&str, &str), usize> = HashMap::with_capacity(n);
        for (i, s) in spans.iter().enumerate() {
            if !s.span_id.is_empty() {
                by_id
                    .entry((s.trace_id.as_str(), s.span_id.as_str()))
                    .or_insert(i + 1);
            }
        }
        let mut nodes: Vec<TreeNode> = Vec::with_capacity(n + 1);
        nodes.push(TreeNode {
            span: None,
            parent: None,
            children: Vec::new(),
            depth: 0,
            orphan: false,
        });
        for (i, s) in spans.iter().enumerate() {
            let (parent, orphan) = match &s.parent_span_id {
                None => (ROOT, false),
                Some(p) => match by_id.get(&(s.trace_id.as_str(), p.as_str())) {
                    Some(&idx) if idx != i + 1 => (idx, false),
                    _ => (ROOT, true),
                },
            };
            nodes.push(TreeNode {
                span: Some(i),
                parent: Some(parent),
                children: Vec::new(),
                depth: 0,
                orphan,
            });
        }
        for i in 1..nodes.len() {
            if let Some(p) = nodes[i].parent {
                nodes[p].children.push(i);
            }
        }
        let mut tree = SpanTree {
            spans,
            nodes,
            preorder: Vec::with_capacity(n + 1),
        };
        // Spans caught in a parent cycle are unreachable from the root: detach the
        // first of each cycle (by arrival) and hang it under the root as an orphan.
        let mut seen = vec![false; n + 1];
        tree.walk_from(ROOT, &mut seen);
        for i in 1..=n {
            if !seen[i] {
                if let Some(p) = tree.nodes[i].parent {
                    tree.nodes[p].children.retain(|&c| c != i);
                }
                tree.nodes[i].parent = Some(ROOT);
                tree.nodes[i].orphan = true;
                tree.nodes[ROOT].children.push(i);
                tree.walk_from(i, &mut seen);
            }
        }
        for node in &mut tree.nodes {
            node.children.sort_by_key(|&c| {
                let start = spans[c - 1].start_time_unix_nano;
                (start.is_none(), start, c)
            });
        }
        // Depths and the final pre-order, now that the children are sorted.
        tree.preorder.clear();
        let mut stack = vec![ROOT];
        while let Some(i) = stack.pop() {
            tree.preorder.push(i);
            let depth = tree.nodes[i].depth + 1;
            for k in (0..tree.nodes[i].children.len()).rev() {
                let c = tree.nodes[i].children[k];
                tree.nodes[c].depth = depth;
                stack.push(c);
            }
        }
        tree
    }

    fn walk_from(&mut self, start: usize, seen: &mut [bool]) {
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            stack.extend(self.nodes[i].children.iter().copied());
        }
    }

    /// The span of a node (`None` for the synthetic root).
    pub fn span(&self, node: usize) -> Option<&'a Span> {
        self.nodes[node].span.map(|i| &self.spans[i])
    }

    pub fn len(&self) -> usize {
        self.nodes.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, name: &str) -> Span {
        Span::test(id, parent, name)
    }

    fn names(tree: &SpanTree, node: usize) -> Vec<String> {
        tree.nodes[node]
            .children
            .iter()
            .map(|&c| tree.span(c).unwrap().name.clone())
            .collect()
    }

    #[test]
    fn children_arriving_before_parents() {
        let spans = vec![
            span("c", Some("b"), "grandchild"),
            span("b", Some("a"), "child"),
            span("a", None, "root"),
        ];
        let t = SpanTree::build(&spans);
        assert_eq!(names(&t, ROOT), vec!["root"]);
        assert_eq!(t.nodes[3].children, vec![2]);
        assert_eq!(t.nodes[1].depth, 3);
        assert_eq!(t.preorder, vec![0, 3, 2, 1]);
    }

    #[test]
    fn orphans_and_cycles_hang_under_the_root() {
        let spans = vec![
            span("a", None, "root"),
            span("x", Some("gone"), "orphan"),
            span("p", Some("q"), "p"),
            span("q", Some("p"), "q"),
            span("s", Some("s"), "self"),
        ];
        let t = SpanTree::build(&spans);
        assert_eq!(names(&t, ROOT), vec!["root", "orphan", "p", "self"]);
        assert!(t.nodes[2].orphan && t.nodes[3].orphan && t.nodes[5].orphan);
        assert!(!t.nodes[1].orphan && !t.nodes[4].orphan);
        assert_eq!(names(&t, 3), vec!["q"]);
        assert_eq!(t.preorder.len(), 6);
    }

    #[test]
    fn siblings_sorted_by_start_time() {
        let mut s = vec![
            span("r", None, "r"),
            span("b", Some("r"), "b"),
            span("a", Some("r"), "a"),
        ];
        s[1].start_time_unix_nano = Some(20);
        s[2].start_time_unix_nano = Some(10);
        let t = SpanTree::build(&s);
        assert_eq!(names(&t, 1), vec!["a", "b"]);
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let spans: Vec<Span> = (0..20_000)
            .map(|i| {
                let parent = (i > 0).then(|| format!("s{}", i - 1));
                span(&format!("s{i}"), parent.as_deref(), "n")
            })
            .collect();
        let t = SpanTree::build(&spans);
        assert_eq!(t.nodes[20_000].depth, 20_000);
    }
}
