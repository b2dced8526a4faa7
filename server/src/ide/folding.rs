//! Folding ranges: tables, multi-line arrays and strings, Tera blocks and comments.

use std::ops::Range;

use super::toml_tree;
use crate::analysis::Analysis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FoldKind {
    Region,
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fold {
    /// Byte range in the template; the face folds the lines it spans.
    pub range: Range<usize>,
    pub kind: FoldKind,
}

/// Folds for `text`, using its analysis for the TOML structure when it rendered.
pub fn folding_ranges(text: &str, analysis: &Analysis) -> Vec<Fold> {
    if super::too_large(text) {
        return Vec::new();
    }
    let mut folds = Vec::new();
    if let Some(rendered) = &analysis.rendered {
        for node in toml_tree::tables_of(rendered).iter() {
            if node.header.is_some() {
                folds.push(rendered.map.to_source(node.extent.clone()));
            }
            for kv in &node.values {
                if rendered.text[kv.value_span.clone()].contains('\n') {
                    folds.push(rendered.map.to_source(kv.value_span.clone()));
                }
            }
        }
    }
    let mut out: Vec<Fold> = folds
        .into_iter()
        .map(|range| Fold {
            range,
            kind: FoldKind::Region,
        })
        .collect();
    out.extend(tera_folds(text));
    out.retain(|f| text.get(f.range.clone()).is_some_and(|s| s.contains('\n')));
    out.sort_by_key(|f| (f.range.start, f.range.end));
    out.dedup();
    out
}

/// The next `{%` or `{#` at or after `from`, and whether it is a comment.
fn next_tag(text: &str, from: usize) -> Option<(usize, bool)> {
    let block = text[from..].find("{%");
    let comment = text[from..].find("{#");
    match (block, comment) {
        (Some(b), Some(c)) if c < b => Some((from + c, true)),
        (Some(b), _) => Some((from + b, false)),
        (None, Some(c)) => Some((from + c, true)),
        (None, None) => None,
    }
}

/// `{% if/for/macro/block/filter/raw %}` … `{% end… %}` pairs and multi-line `{# #}`.
fn tera_folds(text: &str) -> Vec<Fold> {
    let mut out = Vec::new();
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut rest = 0;
    while let Some((start, is_comment)) = next_tag(text, rest) {
        let close = if is_comment { "#}" } else { "%}" };
        let Some(end) = text[start + 2..].find(close).map(|i| start + 2 + i + 2) else {
            break;
        };
        if is_comment {
            out.push(Fold {
                range: start..end,
                kind: FoldKind::Comment,
            });
        } else {
            let inner =
                text[start + 2..end - 2].trim_matches(|c: char| c == '-' || c.is_whitespace());
            let word = inner.split_whitespace().next().unwrap_or("");
            match word {
                "if" | "for" | "macro" | "block" | "filter" | "raw" => {
                    open.push((word.to_string(), start))
                }
                w if w.starts_with("end") => {
                    if let Some(pos) = open.iter().rposition(|(k, _)| *k == w[3..]) {
                        let (_, s) = open.remove(pos);
                        open.truncate(pos);
                        out.push(Fold {
                            range: s..end,
                            kind: FoldKind::Region,
                        });
                    }
                }
                _ => {}
            }
        }
        rest = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_uncached, Environment, FileKind};

    #[test]
    fn folds_tables_arrays_and_tera_blocks() {
        let toml = "[meta]\nname = \"x\"\nversion = \"1\"\n\n[[steps]]\nname = \"s\"\ncommand = [\n  \"a\",\n]\n";
        let a = analyze_uncached(toml, FileKind::Test, vec![], &Environment::empty());
        let folds = folding_ranges(toml, &a);
        let texts: Vec<&str> = folds.iter().map(|f| &toml[f.range.clone()]).collect();
        assert!(
            texts.iter().any(|t| t.starts_with("[[steps]]")),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t.starts_with("[meta]")));
        assert!(texts.contains(&"[\n  \"a\",\n]"));

        let text = "{% if true %}\n# on\n{% endif %}\n{#\n note\n#}\n";
        let a = analyze_uncached(text, FileKind::Test, vec![], &Environment::empty());
        let folds = folding_ranges(text, &a);
        let texts: Vec<&str> = folds.iter().map(|f| &text[f.range.clone()]).collect();
        assert!(
            texts.contains(&"{% if true %}\n# on\n{% endif %}"),
            "{texts:?}"
        );
        assert!(texts.contains(&"{#\n note\n#}"));
    }

    #[test]
    fn unbalanced_tags_do_not_fold_or_fail() {
        let text = "{% if x %}\n{% for y in z %}\n{% endif %}\n{#";
        let a = analyze_uncached(text, FileKind::Test, vec![], &Environment::empty());
        let folds = tera_folds(text);
        assert_eq!(folds.len(), 1);
        let _ = folding_ranges(text, &a);
    }
}
