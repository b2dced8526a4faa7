//! The text tree of a trace diff (terminal, with optional ANSI color) and its markdown
//! form for editor hovers and documents. Returns strings; never prints.

use std::fmt::Write as _;

use serde_json::Value;

use super::diff::{Change, Mark, TraceDiff};
use super::DiffSettings;

/// Beyond this depth the indentation stops growing and a `[depth N]` label is shown,
/// so a 10,000-deep chain does not print megabytes of spaces.
const MAX_INDENT: usize = 40;
/// Attribute values longer than this are shortened.
const MAX_VALUE_CHARS: usize = 80;

#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// ANSI colors (the CLI decides: terminal or `--color always`).
    pub color: bool,
    /// Only spans that differ, with their ancestors for context.
    pub only_differences: bool,
    /// Deepest level shown (1 = top-level spans); deeper spans folded into a count.
    pub depth: Option<usize>,
    /// Cap on the number of span lines (hovers); the rest is summarised.
    pub max_spans: Option<usize>,
}

impl RenderOptions {
    pub fn from_settings(s: &DiffSettings) -> Self {
        Self {
            color: false,
            only_differences: s.only_differences,
            depth: s.depth,
            max_spans: None,
        }
    }
}

fn paint(out: &mut String, color: bool, mark: Mark, text: &str) {
    if !color {
        out.push_str(text);
        return;
    }
    let code = match mark {
        Mark::Same => "2",
        Mark::Changed => "33",
        Mark::Extra => "32",
        Mark::Missing => "31",
    };
    let _ = write!(out, "\x1b[{code}m{text}\x1b[0m");
}

/// The indented tree with ✓ ✏️ ➕ ❌ markers, followed by the summary line.
pub fn render_text(diff: &TraceDiff, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let mut shown = 0usize;
    let mut hidden = 0usize;
    // Explicit stack: the tree may be deeper than the call stack allows.
    let mut stack: Vec<usize> = diff.nodes[0].children.iter().rev().copied().collect();
    while let Some(i) = stack.pop() {
        let node = &diff.nodes[i];
        let differs = node.mark != Mark::Same || node.differing_descendants > 0;
        if opts.only_differences && !differs {
            continue;
        }
        if opts.max_spans.is_some_and(|m| shown >= m) {
            hidden += 1;
            continue;
        }
        shown += 1;
        let level = node.depth.saturating_sub(1);
        let indent = "  ".repeat(level.min(MAX_INDENT));
        out.push_str(&indent);
        if level > MAX_INDENT {
            let _ = write!(out, "[depth {}] ", node.depth);
        }
        paint(
            &mut out,
            opts.color,
            node.mark,
            &format!("{} {}", node.mark.symbol(), node.name),
        );
        if node.orphan {
            out.push_str("  (parent not in trace)");
        }
        let folded = opts.depth.is_some_and(|d| node.depth >= d) && !node.children.is_empty();
        if folded {
            let _ = write!(out, "  … {} spans below", node.descendants);
            if node.differing_descendants > 0 {
                let _ = write!(out, " ({} differ)", node.differing_descendants);
            }
        }
        out.push('\n');
        for change in &node.changes {
            let _ = writeln!(out, "{indent}      {}", describe(change));
        }
        if !folded {
            stack.extend(node.children.iter().rev().copied());
        }
    }
    if hidden > 0 {
        let _ = writeln!(out, "… {hidden} more spans not shown");
    }
    if diff.nodes.len() == 1 {
        out.push_str("(no spans on either side)\n");
    }
    out.push_str(&diff.summary.line());
    out.push('\n');
    out
}

/// Markdown for a hover or a virtual document: a heading, the summary in bold and the
/// tree in a fenced block.
pub fn render_markdown(diff: &TraceDiff, heading: &str, opts: &RenderOptions) -> String {
    let plain = RenderOptions {
        color: false,
        ..opts.clone()
    };
    let text = render_text(diff, &plain);
    format!(
        "### {heading}\n\n**{}**\n\n```text\n{text}```\n",
        diff.summary.lens_title()
    )
}

/// One line saying what changed in a matched span.
pub fn describe(change: &Change) -> String {
    match change {
        Change::Attribute { key, before, after } => describe_attr("attribute", key, before, after),
        Change::ResourceAttribute { key, before, after } => {
            describe_attr("resource attribute", key, before, after)
        }
        Change::Kind { before, after } => format!(
            "kind: {} → {}",
            before.map_or("none".to_string(), |k| format!("{k:?}").to_lowercase()),
            after.map_or("none".to_string(), |k| format!("{k:?}").to_lowercase())
        ),
        Change::Status { before, after } => format!(
            "status: {} → {}",
            format!("{before:?}").to_uppercase(),
            format!("{after:?}").to_uppercase()
        ),
        Change::Events { before, after } => {
            format!("events: [{}] → [{}]", before.join(", "), after.join(", "))
        }
        Change::StartTime { before, after } => {
            format!("start time: {} → {}", opt(before), opt(after))
        }
        Change::EndTime { before, after } => format!("end time: {} → {}", opt(before), opt(after)),
        Change::Id {
            field,
            before,
            after,
        } => format!(
            "{field}: {} → {}",
            before.as_deref().unwrap_or("none"),
            after.as_deref().unwrap_or("none")
        ),
    }
}

fn opt(v: &Option<u64>) -> String {
    v.map_or("none".to_string(), |n| n.to_string())
}

fn describe_attr(what: &str, key: &str, before: &Option<Value>, after: &Option<Value>) -> String {
    match (before, after) {
        (None, Some(a)) => format!("{what} {key} added: {}", short(a)),
        (Some(b), None) => format!("{what} {key} removed (was {})", short(b)),
        (Some(b), Some(a)) => format!("{what} {key}: {} → {}", short(b), short(a)),
        (None, None) => format!("{what} {key}"),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s;
    }
    let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::{Span, SpanStatus};

    fn span(id: &str, parent: Option<&str>, name: &str) -> Span {
        Span::test(id, parent, name)
    }

    fn sample() -> TraceDiff {
        let b = vec![
            span("r", None, "run"),
            span("a", Some("r"), "build"),
            span("b", Some("r"), "test"),
            span("c", Some("b"), "exec"),
            span("d", Some("r"), "cleanup"),
        ];
        let mut c = b.clone();
        c[1].status = SpanStatus::Error;
        c[1].attributes.insert("exit_code".into(), 2.into());
        c.remove(3);
        c.push(span("e", Some("r"), "retry"));
        TraceDiff::compute(&b, &c, &DiffSettings::default())
    }

    #[test]
    fn text_tree() {
        insta::assert_snapshot!(render_text(&sample(), &RenderOptions::default()));
    }

    #[test]
    fn only_differences_and_depth() {
        let opts = RenderOptions {
            only_differences: true,
            ..RenderOptions::default()
        };
        let text = render_text(&sample(), &opts);
        assert!(!text.contains("cleanup"), "{text}");
        assert!(text.contains("❌ exec"), "{text}");
        let folded = render_text(
            &sample(),
            &RenderOptions {
                depth: Some(1),
                ..RenderOptions::default()
            },
        );
        assert!(
            folded.starts_with("✓ run  … 5 spans below (3 differ)\n"),
            "{folded}"
        );
    }

    #[test]
    fn color_only_when_asked() {
        let plain = render_text(&sample(), &RenderOptions::default());
        assert!(!plain.contains('\x1b'));
        let colored = render_text(
            &sample(),
            &RenderOptions {
                color: true,
                ..RenderOptions::default()
            },
        );
        assert!(colored.contains("\x1b[31m❌ exec\x1b[0m"), "{colored}");
    }

    #[test]
    fn markdown() {
        let md = render_markdown(&sample(), "Trace diff: `smoke`", &RenderOptions::default());
        assert!(
            md.starts_with(
                "### Trace diff: `smoke`\n\n**trace: ❌ 1 ➕ 1 ✏️ 1**\n\n```text\n✓ run\n"
            ),
            "{md}"
        );
        assert!(md.ends_with("```\n"));
    }
}
