//! Walks a parsed TOML document into a flat list of tables (with header spans and the
//! extent of their body), the shape every editing feature needs.

use std::ops::Range;
use std::sync::{Arc, Mutex, Weak};

use toml_edit::{Item, Table};

use crate::analysis::template::Rendered;

/// Analyses whose table tree is kept (the documents being looked at).
const KEPT: usize = 16;

type Kept = Vec<(Weak<Rendered>, Arc<Vec<TableNode>>)>;

/// The tables of an analysis's rendered TOML, parsed once per analysis rather than once per
/// request: outline, folding and workspace symbols ask again and again about documents
/// that did not change. Empty when the text is not TOML.
pub fn tables_of(rendered: &Arc<Rendered>) -> Arc<Vec<TableNode>> {
    static CACHE: Mutex<Kept> = Mutex::new(Vec::new());
    let find = |kept: &mut Kept| {
        kept.retain(|(w, _)| w.strong_count() > 0);
        let at = kept
            .iter()
            .position(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(rendered)))?;
        // Most recently used last.
        let entry = kept.remove(at);
        let tables = entry.1.clone();
        kept.push(entry);
        Some(tables)
    };
    if let Some(hit) = find(&mut CACHE.lock().unwrap_or_else(|p| p.into_inner())) {
        return hit;
    }
    // Parse outside the lock: other documents' requests must not wait for this one.
    let tables = Arc::new(
        toml_edit::Document::parse(rendered.text.clone())
            .map(|doc| tables(doc.as_table()))
            .unwrap_or_default(),
    );
    let mut kept = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if kept.len() >= KEPT {
        kept.remove(0);
    }
    kept.push((Arc::downgrade(rendered), tables.clone()));
    tables
}

/// One table of the document: `[a.b]`, one `[[a]]` entry, or the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNode {
    /// Key path, with array-of-tables entries as their index: `["scenario", "1", "steps", "0"]`.
    pub path: Vec<String>,
    /// Span of the header (`[meta]`), `None` for the root and implicit tables.
    pub header: Option<Range<usize>>,
    /// From the header to the end of the last value in this table or its sub-tables.
    pub extent: Range<usize>,
    /// Direct key/value pairs: key, key span, value span, value as text when it is a string.
    pub values: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub key_span: Range<usize>,
    pub value_span: Range<usize>,
    pub string: Option<String>,
}

impl TableNode {
    pub fn string(&self, key: &str) -> Option<&KeyValue> {
        self.values
            .iter()
            .find(|kv| kv.key == key && kv.string.is_some())
    }
}

/// Every table of `root`, in document order of their headers.
pub fn tables(root: &Table) -> Vec<TableNode> {
    let mut out = Vec::new();
    walk(root, &mut Vec::new(), &mut out, 0);
    out.sort_by_key(|t| (t.header.as_ref().map_or(0, |h| h.start), t.path.len()));
    out
}

const MAX_DEPTH: usize = 64;

fn walk(
    table: &Table,
    path: &mut Vec<String>,
    out: &mut Vec<TableNode>,
    depth: usize,
) -> Range<usize> {
    let header = table.span().filter(|_| !table.is_implicit());
    // An empty table (no header, no values) keeps the "nothing yet" sentinel start > end.
    #[allow(clippy::reversed_empty_ranges)]
    let mut extent = header.clone().unwrap_or(usize::MAX..0);
    let mut values = Vec::new();
    let index = out.len();
    out.push(TableNode {
        path: path.clone(),
        header: header.clone(),
        extent: 0..0,
        values: Vec::new(),
    });
    for (key, item) in table.iter() {
        if depth >= MAX_DEPTH {
            break;
        }
        let key_span = table.key(key).and_then(|k| k.span());
        match item {
            Item::Table(sub) => {
                path.push(key.to_string());
                let sub_extent = walk(sub, path, out, depth + 1);
                path.pop();
                extent = union(extent, sub_extent);
            }
            Item::ArrayOfTables(arr) => {
                for (i, sub) in arr.iter().enumerate() {
                    path.push(key.to_string());
                    path.push(i.to_string());
                    let sub_extent = walk(sub, path, out, depth + 1);
                    path.truncate(path.len() - 2);
                    extent = union(extent, sub_extent);
                }
            }
            Item::Value(v) => {
                let value_span = v.span().unwrap_or(0..0);
                let key_span = key_span.unwrap_or(value_span.start..value_span.start);
                extent = union(extent, key_span.start..value_span.end);
                values.push(KeyValue {
                    key: key.to_string(),
                    key_span,
                    value_span,
                    string: v.as_str().map(str::to_string),
                });
            }
            Item::None => {}
        }
    }
    if extent.start > extent.end {
        extent = 0..0;
    }
    out[index].extent = extent.clone();
    out[index].values = values;
    extent
}

fn union(a: Range<usize>, b: Range<usize>) -> Range<usize> {
    if b.start > b.end {
        return a;
    }
    a.start.min(b.start)..a.end.max(b.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_analysis_is_parsed_once_for_all_requests() {
        let text = "[meta]\nname = \"t\"\n";
        let rendered = Arc::new(Rendered::verbatim(text));
        let first = tables_of(&rendered);
        assert_eq!(first.len(), 2, "{first:?}");
        assert!(
            Arc::ptr_eq(&first, &tables_of(&rendered)),
            "served from the cache"
        );
        // Another analysis of the same text is another entry, not a stale hit.
        let other = Arc::new(Rendered::verbatim(text));
        assert!(!Arc::ptr_eq(&first, &tables_of(&other)));
        let broken = Arc::new(Rendered::verbatim("[meta"));
        assert!(tables_of(&broken).is_empty());
    }

    #[test]
    fn lists_tables_with_extents_and_values() {
        let text = "[meta]\nname = \"t\"\n\n[[scenario]]\nname = \"a\"\n[[scenario.steps]]\nname = \"s\"\n";
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let t = tables(doc.as_table());
        let paths: Vec<String> = t.iter().map(|n| n.path.join(".")).collect();
        assert_eq!(paths, ["", "meta", "scenario.0", "scenario.0.steps.0"]);
        let scenario = &t[2];
        assert_eq!(
            &text[scenario.extent.clone()],
            "[[scenario]]\nname = \"a\"\n[[scenario.steps]]\nname = \"s\""
        );
        assert_eq!(
            scenario.string("name").unwrap().string.as_deref(),
            Some("a")
        );
    }
}
