//! What every rule reads: the document as JSON, spans by pointer, and the output list.

use std::ops::Range;
use std::rc::Rc;

use serde_json::Value;

use crate::analysis::schema::convert::{self, SpanIndex};
use crate::analysis::schema::pointer;
use crate::analysis::toml::Document;
use crate::analysis::{Code, Diagnostic, Severity, STAGE_BUDGET};

pub(crate) struct Ctx<'t> {
    root: Rc<Value>,
    spans: SpanIndex<'t>,
    out: Vec<Diagnostic>,
}

impl<'t> Ctx<'t> {
    pub fn new(doc: &'t Document, text: &str) -> Self {
        Self {
            root: convert::shared(doc, text),
            spans: SpanIndex::new(doc),
            out: Vec::new(),
        }
    }

    pub fn root(&self) -> &Value {
        &self.root
    }

    pub fn finish(self) -> Vec<Diagnostic> {
        self.out
    }

    pub fn get(&self, pointer: &str) -> Option<&Value> {
        pointer::get(self.root(), pointer)
    }

    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.get(pointer).and_then(Value::as_str)
    }

    /// The document, shared: a loop over one of its tables borrows this copy of the
    /// handle while it reports through `self` (no copy of the table's entries).
    pub fn document(&self) -> Rc<Value> {
        self.root.clone()
    }

    /// Keys of the table at `pointer` (empty when absent or not a table).
    pub fn keys(&self, pointer: &str) -> Vec<String> {
        self.get(pointer)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Length of the array at `pointer` (0 when absent or not an array).
    pub fn len(&self, pointer: &str) -> usize {
        self.get(pointer)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }

    pub fn has(&self, pointer: &str) -> bool {
        self.get(pointer).is_some()
    }

    pub fn key(&self, pointer: &str) -> Range<usize> {
        self.spans.key_range(pointer)
    }

    pub fn value(&self, pointer: &str) -> Range<usize> {
        self.spans.value_range(pointer)
    }

    /// Where a whole-file finding goes: the first key or table header in the file.
    pub fn file_anchor(&self) -> Range<usize> {
        self.root()
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .map(|k| self.key(&pointer::push("", k)))
            .min_by_key(|r| r.start)
            .unwrap_or(0..0)
    }

    /// Whether the rules have found [`STAGE_BUDGET`] problems: loops over scenarios,
    /// steps and services stop there (the rest could only be counted, not shown).
    pub fn full(&self) -> bool {
        self.out.len() >= STAGE_BUDGET
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }

    pub fn report(&mut self, code: Code, range: Range<usize>, message: impl Into<String>) {
        self.out.push(Diagnostic::new(code, range, message));
    }

    pub fn report_as(
        &mut self,
        code: Code,
        severity: Severity,
        range: Range<usize>,
        message: impl Into<String>,
    ) {
        self.out
            .push(Diagnostic::new(code, range, message).with_severity(severity));
    }
}

pub(crate) fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}
