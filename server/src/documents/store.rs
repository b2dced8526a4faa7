//! Open documents keyed by URI (a string: the engine does not parse URIs).

use std::sync::Arc;

use dashmap::DashMap;

use super::{LineCol, LineIndex, PositionEncoding};

/// One open document. Cheap to clone: the text and index are shared.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: Arc<str>,
    pub version: i32,
    pub line_index: Arc<LineIndex>,
}

impl Document {
    pub fn new(text: impl Into<Arc<str>>, version: i32) -> Self {
        let text = text.into();
        Self {
            line_index: Arc::new(LineIndex::new(&text)),
            text,
            version,
        }
    }
}

/// One content change: replace `range` (or the whole text when `None`) with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChange {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct DocumentStore {
    docs: DashMap<String, Document>,
}

impl DocumentStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self, uri: &str, text: String, version: i32) -> Document {
        let doc = Document::new(text, version);
        self.docs.insert(uri.to_string(), doc.clone());
        doc
    }

    /// Apply changes in order (each range is relative to the text after the previous one).
    /// Returns the new document, or `None` for a document that is not open.
    pub fn change(
        &self,
        uri: &str,
        version: i32,
        changes: &[TextChange],
        enc: PositionEncoding,
    ) -> Option<Document> {
        let mut entry = self.docs.get_mut(uri)?;
        let mut text = entry.text.to_string();
        let mut index = entry.line_index.clone();
        for change in changes {
            match change.range {
                None => text.clone_from(&change.text),
                Some((start, end)) => {
                    let s = index.offset(&text, start, enc);
                    let e = index.offset(&text, end, enc).max(s);
                    text.replace_range(s..e, &change.text);
                }
            }
            index = Arc::new(LineIndex::new(&text));
        }
        let doc = Document {
            text: text.into(),
            version,
            line_index: index,
        };
        *entry = doc.clone();
        Some(doc)
    }

    pub fn close(&self, uri: &str) -> Option<Document> {
        self.docs.remove(uri).map(|(_, d)| d)
    }

    pub fn get(&self, uri: &str) -> Option<Document> {
        self.docs.get(uri).map(|d| d.clone())
    }

    pub fn uris(&self) -> Vec<String> {
        self.docs.iter().map(|e| e.key().clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    #[test]
    fn applies_incremental_changes_in_order() {
        let store = DocumentStore::new();
        store.open("u", "a = 1\nb = 2\n".into(), 1);
        let changes = [
            TextChange {
                range: Some((lc(0, 4), lc(0, 5))),
                text: "10".into(),
            },
            TextChange {
                range: Some((lc(1, 0), lc(1, 0))),
                text: "# 😀\n".into(),
            },
            TextChange {
                range: Some((lc(1, 2), lc(1, 4))),
                text: "x".into(),
            },
        ];
        let doc = store
            .change("u", 2, &changes, PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(&*doc.text, "a = 10\n# x\nb = 2\n");
        assert_eq!(doc.version, 2);
    }

    #[test]
    fn unknown_documents_and_wild_positions_do_not_fail() {
        let store = DocumentStore::new();
        assert!(store
            .change("nope", 1, &[], PositionEncoding::Utf16)
            .is_none());
        store.open("u", "ab".into(), 1);
        let wild = [TextChange {
            range: Some((lc(7, 9), lc(0, 0))),
            text: "!".into(),
        }];
        let doc = store.change("u", 2, &wild, PositionEncoding::Utf8).unwrap();
        assert_eq!(&*doc.text, "ab!");
    }
}
