//! The trace diff as a picture: one self-contained HTML page (no network, no external
//! assets) with the baseline and current span trees side by side as waterfalls over time.
//!
//! The tree, the bars and every change are plain HTML and CSS, so the page reads without
//! JavaScript (each span is a `<details>` whose body lists its changes); a small inline
//! script adds folding of subtrees and an "only differences" switch. Returns a string;
//! never prints.

use std::fmt::Write as _;

use super::diff::{Mark, TraceDiff};
use super::render::describe;
use super::Span;

/// Rows beyond this are left out with a note: a browser tab is no place for a million
/// spans, and the text diff still has them all.
const MAX_ROWS: usize = 20_000;
/// Indentation stops growing here (a 10,000-deep chain must not push bars off screen).
const MAX_INDENT: usize = 24;

/// One scenario's section of the page.
pub struct HtmlScenario<'a> {
    /// The test file, as the user names it (relative to the workspace root).
    pub file: &'a str,
    pub scenario: &'a str,
    pub view: HtmlView<'a>,
}

/// What a scenario's section shows.
pub enum HtmlView<'a> {
    /// The comparison, with the span lists the diff's indices point into.
    Compared {
        diff: &'a TraceDiff,
        baseline: &'a [Span],
        current: &'a [Span],
    },
    /// A run was recorded but no baseline yet.
    NoBaseline { spans: usize },
    /// The scenario has no recorded run.
    NotRun,
    /// The trace or baseline could not be read.
    Error(String),
}

/// The whole page for one or more scenarios.
pub fn render_html(title: &str, scenarios: &[HtmlScenario<'_>]) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n\
         <p class=\"legend\"><span class=\"m same\">✓ same</span> \
         <span class=\"m changed\">✏️ changed</span> <span class=\"m extra\">➕ extra</span> \
         <span class=\"m missing\">❌ missing</span></p>\n\
         <p class=\"controls\" hidden><label><input type=\"checkbox\" id=\"only-diff\"> \
         only differences</label> <button type=\"button\" id=\"expand\">expand all</button> \
         <button type=\"button\" id=\"collapse\">collapse all</button></p>\n</header>\n",
        escape(title),
        escape(title)
    );
    if scenarios.is_empty() {
        out.push_str("<p class=\"empty\">No traces to compare.</p>\n");
    }
    for s in scenarios {
        scenario_section(&mut out, s);
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn scenario_section(out: &mut String, s: &HtmlScenario<'_>) {
    let (diff, baseline, current) = match &s.view {
        HtmlView::Compared {
            diff,
            baseline,
            current,
        } => (*diff, *baseline, *current),
        HtmlView::NoBaseline { spans } => {
            let note = format!(
                "No baseline recorded yet ({spans} spans in the last run): \
                 record it with `clnrm-lsp diff FILE --update-baseline`."
            );
            return note_section(out, s, "no-baseline", &note);
        }
        HtmlView::NotRun => {
            return note_section(
                out,
                s,
                "not-run",
                "Not run yet: run the scenario first (`clnrm-lsp run`).",
            )
        }
        HtmlView::Error(e) => return note_section(out, s, "error", e),
    };
    let summary = &diff.summary;
    let state = if summary.has_differences() {
        "differs"
    } else {
        "matches"
    };
    let _ = write!(
        out,
        "<section class=\"scenario {state}\" data-scenario=\"{}\">\n<h2>{} \
         <small>{}</small></h2>\n<p class=\"summary\">{}</p>\n",
        escape(s.scenario),
        escape(s.scenario),
        escape(s.file),
        escape(&summary.line())
    );
    let base_scale = Scale::of(baseline);
    let cur_scale = Scale::of(current);
    let _ = write!(
        out,
        "<div class=\"grid head\"><span>span</span><span>baseline ({})</span>\
         <span>current ({})</span></div>\n<div class=\"rows\">\n",
        base_scale.total_text(),
        cur_scale.total_text()
    );
    // Explicit stack: the tree may be deeper than the call stack allows.
    let mut stack: Vec<usize> = diff.nodes[0].children.iter().rev().copied().collect();
    let mut rows = 0usize;
    let mut left_out = 0usize;
    while let Some(i) = stack.pop() {
        let node = &diff.nodes[i];
        stack.extend(node.children.iter().rev().copied());
        if rows >= MAX_ROWS {
            left_out += 1;
            continue;
        }
        rows += 1;
        let mark = mark_class(node.mark);
        let differs = node.mark != Mark::Same || node.differing_descendants > 0;
        let parent = node
            .parent
            .filter(|&p| p != 0)
            .map_or(String::new(), |p| format!(" data-parent=\"{p}\""));
        let _ = write!(
            out,
            "<details class=\"span {mark}{}\" data-node=\"{i}\"{parent}>\n<summary class=\"grid\">\
             <span class=\"name\" style=\"padding-left:{}em\">",
            if differs { " differs" } else { "" },
            node.depth.saturating_sub(1).min(MAX_INDENT)
        );
        if node.children.is_empty() {
            out.push_str("<span class=\"fold leaf\"></span>");
        } else {
            out.push_str("<span class=\"fold\" role=\"button\" title=\"fold\">▾</span>");
        }
        let _ = write!(
            out,
            "<span class=\"m {mark}\">{}</span> {}{}</span>",
            node.mark.symbol(),
            escape(&node.name),
            if node.orphan {
                " <em>(parent not in trace)</em>"
            } else {
                ""
            }
        );
        bar(
            out,
            "baseline",
            node.baseline.and_then(|j| baseline.get(j)),
            &base_scale,
        );
        bar(
            out,
            "current",
            node.current.and_then(|j| current.get(j)),
            &cur_scale,
        );
        out.push_str("</summary>\n<div class=\"body\">");
        if node.changes.is_empty() {
            out.push_str("<p class=\"nochange\">");
            out.push_str(match node.mark {
                Mark::Same => "No differences in this span.",
                Mark::Changed => "Differs below.",
                Mark::Extra => "Only in the current trace.",
                Mark::Missing => "Only in the baseline.",
            });
            out.push_str("</p>");
        } else {
            out.push_str("<ul class=\"changes\">");
            for change in &node.changes {
                let _ = write!(out, "<li>{}</li>", escape(&describe(change)));
            }
            out.push_str("</ul>");
        }
        out.push_str("</div>\n</details>\n");
    }
    out.push_str("</div>\n");
    if left_out > 0 {
        let _ = writeln!(
            out,
            "<p class=\"more\">… {left_out} more spans not shown (the text diff has them all).</p>"
        );
    }
    if rows == 0 {
        out.push_str("<p class=\"empty\">No spans on either side.</p>\n");
    }
    out.push_str("</section>\n");
}

/// A scenario without a comparison: its heading and why.
fn note_section(out: &mut String, s: &HtmlScenario<'_>, state: &str, note: &str) {
    let _ = write!(
        out,
        "<section class=\"scenario {state}\" data-scenario=\"{}\">\n<h2>{} \
         <small>{}</small></h2>\n<p class=\"summary note\">{}</p>\n</section>\n",
        escape(s.scenario),
        escape(s.scenario),
        escape(s.file),
        escape(note)
    );
}

/// The bar of one span on its side's time axis, or an empty cell when the span is not on
/// that side. Times shown on hover (`title`).
fn bar(out: &mut String, side: &str, span: Option<&Span>, scale: &Scale) {
    let Some(span) = span else {
        let _ = write!(out, "<span class=\"lane {side} absent\"></span>");
        return;
    };
    let (left, width) = scale.place(span);
    let duration = span
        .duration_ms()
        .map_or("no timing".to_string(), format_ms);
    let _ = write!(
        out,
        "<span class=\"lane {side}\"><span class=\"bar\" style=\"left:{left:.2}%;width:{width:.2}%\" \
         title=\"{}: {}\"></span><span class=\"dur\">{}</span></span>",
        escape(&span.name),
        escape(&duration),
        escape(&duration)
    );
}

/// One side's time axis: from its first start to its last end.
struct Scale {
    start: u64,
    end: u64,
}

impl Scale {
    fn of(spans: &[Span]) -> Self {
        let start = spans
            .iter()
            .filter_map(|s| s.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let end = spans
            .iter()
            .filter_map(|s| s.end_time_unix_nano.or(s.start_time_unix_nano))
            .max()
            .unwrap_or(start)
            .max(start);
        Self { start, end }
    }

    fn total_text(&self) -> String {
        format_ms((self.end - self.start) as f64 / 1e6)
    }

    /// Left offset and width in percent; untimed spans fill the lane, faintly (CSS).
    fn place(&self, span: &Span) -> (f64, f64) {
        let total = (self.end - self.start) as f64;
        let (Some(s), true) = (span.start_time_unix_nano, total > 0.0) else {
            return (0.0, 100.0);
        };
        let e = span.end_time_unix_nano.unwrap_or(s).max(s);
        let left = (s.saturating_sub(self.start) as f64 / total * 100.0).clamp(0.0, 100.0);
        let width = ((e - s) as f64 / total * 100.0).clamp(0.3, 100.0 - left.min(99.7));
        (left, width)
    }
}

fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.0} µs", ms * 1000.0)
    }
}

fn mark_class(mark: Mark) -> &'static str {
    match mark {
        Mark::Same => "same",
        Mark::Changed => "changed",
        Mark::Extra => "extra",
        Mark::Missing => "missing",
    }
}

/// HTML text and attribute escaping (the page quotes attributes with `"`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "&#xFFFD;");
            }
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{color-scheme:light dark;--same:#8a8a8a;--changed:#c48a00;--extra:#2e9b3a;--missing:#d03a3a;--lane:rgba(127,127,127,.12)}
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}
h1{font-size:1.3em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.5em 0 .2em}h2 small{font-weight:normal;opacity:.7}
.legend .m{margin-right:1em}.summary{margin:.2em 0 .6em;font-weight:600}
.grid{display:grid;grid-template-columns:minmax(14em,2fr) 3fr 3fr;gap:.6em;align-items:center}
.head{font-weight:600;border-bottom:1px solid var(--lane);padding:.2em 0}
details.span>summary{list-style:none;cursor:pointer;padding:1px 0}
details.span>summary::-webkit-details-marker{display:none}
details.span>summary:hover{background:var(--lane)}
.name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.fold{display:inline-block;width:1em;user-select:none}
.m.same{color:var(--same)}.m.changed{color:var(--changed)}.m.extra{color:var(--extra)}.m.missing{color:var(--missing)}
.lane{position:relative;display:block;height:1.1em;background:var(--lane);border-radius:2px}
.lane.absent{background:repeating-linear-gradient(45deg,transparent 0 4px,var(--lane) 4px 8px)}
.bar{position:absolute;top:0;bottom:0;border-radius:2px;background:var(--same)}
details.changed .bar{background:var(--changed)}details.extra .bar{background:var(--extra)}details.missing .bar{background:var(--missing)}
.dur{position:absolute;right:.3em;font-size:.75em;opacity:.8}
.body{margin:.1em 0 .4em 2em;font-size:.9em}.body ul{margin:0;padding-left:1.2em}.nochange{margin:0;opacity:.7}
.note{font-weight:normal;opacity:.8}.folded{display:none}body.only-diff details.span:not(.differs){display:none}
"#;

const SCRIPT: &str = r#"
(function(){
  document.querySelectorAll('.controls').forEach(function(c){c.hidden=false;});
  var rows=Array.prototype.slice.call(document.querySelectorAll('details.span'));
  var kids={};
  rows.forEach(function(r){var p=r.dataset.parent;var s=r.closest('section');if(p){var k=s.dataset.scenario+'/'+p;(kids[k]=kids[k]||[]).push(r);}});
  function setHidden(row,hidden){var s=row.closest('section');(kids[s.dataset.scenario+'/'+row.dataset.node]||[]).forEach(function(c){c.classList.toggle('folded',hidden);setHidden(c,hidden||c.dataset.closed==='1');});}
  document.querySelectorAll('.fold[role=button]').forEach(function(f){
    f.addEventListener('click',function(e){e.preventDefault();e.stopPropagation();var row=f.closest('details');var closed=row.dataset.closed!=='1';row.dataset.closed=closed?'1':'0';f.textContent=closed?'▸':'▾';setHidden(row,closed);});
  });
  var only=document.getElementById('only-diff');
  if(only){only.addEventListener('change',function(){document.body.classList.toggle('only-diff',only.checked);});}
  function all(open){rows.forEach(function(r){r.open=open;});}
  var ex=document.getElementById('expand');if(ex){ex.addEventListener('click',function(){all(true);});}
  var co=document.getElementById('collapse');if(co){co.addEventListener('click',function(){all(false);});}
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::{DiffSettings, SpanStatus};

    fn timed(id: &str, parent: Option<&str>, name: &str, start_ms: u64, end_ms: u64) -> Span {
        let mut s = Span::test(id, parent, name);
        s.start_time_unix_nano = Some(start_ms * 1_000_000);
        s.end_time_unix_nano = Some(end_ms * 1_000_000);
        s
    }

    fn sample() -> (Vec<Span>, Vec<Span>) {
        let b = vec![
            timed("r", None, "run", 0, 100),
            timed("a", Some("r"), "build <x>", 0, 40),
            timed("b", Some("r"), "test", 40, 90),
            timed("c", Some("b"), "exec", 45, 80),
        ];
        let mut c = b.clone();
        c[1].status = SpanStatus::Error;
        c[1].attributes.insert("exit_code".into(), 2.into());
        c.remove(3);
        c.push(timed("e", Some("r"), "retry", 90, 100));
        (b, c)
    }

    fn page(b: &[Span], c: &[Span]) -> String {
        let diff = TraceDiff::compute(b, c, &DiffSettings::default());
        render_html(
            "Trace diff: a.clnrm.toml",
            &[HtmlScenario {
                file: "a.clnrm.toml",
                scenario: "smoke",
                view: HtmlView::Compared {
                    diff: &diff,
                    baseline: b,
                    current: c,
                },
            }],
        )
    }

    #[test]
    fn one_row_per_span_with_its_marker() {
        let (b, c) = sample();
        let html = page(&b, &c);
        assert_eq!(html.matches("<details class=\"span").count(), 5, "{html}");
        assert_eq!(html.matches("<details class=\"span missing").count(), 1);
        assert_eq!(html.matches("<details class=\"span extra").count(), 1);
        assert_eq!(html.matches("<details class=\"span changed").count(), 1);
        assert!(html.contains("attribute exit_code added: 2"), "{html}");
        assert!(html.contains("trace: ❌ 1 ➕ 1 ✏️ 1"));
    }

    #[test]
    fn self_contained_and_escaped() {
        let (b, c) = sample();
        let html = page(&b, &c);
        assert!(html.contains("build &lt;x&gt;"));
        assert!(!html.contains("build <x>"));
        for external in ["http://", "https://", "src=", "href="] {
            assert!(!html.contains(external), "{external} in the page");
        }
    }

    #[test]
    fn bars_follow_the_time_axis() {
        let (b, c) = sample();
        let html = page(&b, &c);
        // `test` runs from 40 to 90 ms of a 100 ms baseline.
        assert!(html.contains("left:40.00%;width:50.00%"), "{html}");
        // A span only in the baseline has an empty current lane.
        assert!(html.contains("lane current absent"));
    }

    #[test]
    fn scenarios_without_a_comparison_say_why() {
        let html = render_html(
            "t",
            &[
                HtmlScenario {
                    file: "a.clnrm.toml",
                    scenario: "fresh",
                    view: HtmlView::NotRun,
                },
                HtmlScenario {
                    file: "a.clnrm.toml",
                    scenario: "new",
                    view: HtmlView::NoBaseline { spans: 3 },
                },
            ],
        );
        assert!(html.contains("<section class=\"scenario not-run\" data-scenario=\"fresh\">"));
        assert!(html.contains("No baseline recorded yet (3 spans in the last run)"));
        assert_eq!(html.matches("<details class=\"span").count(), 0);
    }

    #[test]
    fn deep_and_untimed_traces_stay_bounded() {
        let mut spans = vec![Span::test("0", None, "s0")];
        for i in 1..5_000 {
            spans.push(Span::test(&i.to_string(), Some(&(i - 1).to_string()), "s"));
        }
        let html = page(&spans, &spans);
        assert!(html.contains("padding-left:24em"));
        assert!(!html.contains("padding-left:25em"));
        assert!(html.contains("left:0.00%;width:100.00%"));
    }
}
