//! The parsed TOML as a `serde_json::Value`, with the source spans of every key and value
//! indexed by JSON pointer, so schema errors land on the offending key or value.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Number, Value};
use toml_edit::{Item, Table};

use crate::analysis::toml::Document;

/// toml_edit bounds nesting at 80 levels; this guards our own recursion regardless.
const MAX_DEPTH: usize = 128;

/// Where a key and its value are in the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans {
    /// The key (for a `[table]` the key inside its header, for array elements `None`).
    pub key: Option<Range<usize>>,
    /// The value; for a table its header, for an array-of-tables element its `[[…]]` header.
    pub value: Option<Range<usize>>,
}

/// Spans by JSON pointer (RFC 6901, as jsonschema reports `instance_path`).
#[derive(Debug, Default)]
pub struct SpanIndex {
    spans: HashMap<String, Spans, crate::analysis::FastHash>,
}

impl SpanIndex {
    /// The range to underline for the key at `pointer`: the key, else its value, else the
    /// nearest ancestor that has one.
    pub fn key_range(&self, pointer: &str) -> Range<usize> {
        self.find(pointer, |s| s.key.clone().or_else(|| s.value.clone()))
    }

    /// The range of the value at `pointer` (falls back to its key, then to ancestors).
    pub fn value_range(&self, pointer: &str) -> Range<usize> {
        self.find(pointer, |s| s.value.clone().or_else(|| s.key.clone()))
    }

    /// The range naming a table: its `[header]`, else its key.
    pub fn table_range(&self, pointer: &str) -> Range<usize> {
        self.value_range(pointer)
    }

    pub fn get(&self, pointer: &str) -> Option<&Spans> {
        self.spans.get(pointer)
    }

    fn find(&self, pointer: &str, pick: impl Fn(&Spans) -> Option<Range<usize>>) -> Range<usize> {
        let mut p = pointer;
        loop {
            if let Some(r) = self.spans.get(p).and_then(&pick) {
                return r;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 0..0,
            }
        }
    }
}

/// A document as JSON plus its span index.
pub type Converted = (Value, SpanIndex);

thread_local! {
    /// The last conversion on this thread, keyed by the exact text it was parsed from:
    /// the schema stage and the rules stage both need it for the same document.
    static LAST: std::cell::RefCell<Option<(String, std::rc::Rc<Converted>)>> =
        const { std::cell::RefCell::new(None) };
}

/// [`to_json`], shared between the stages that run one after the other on `text`.
/// `doc` must be the parse of `text` (the parse is deterministic, so text equality
/// implies the same conversion).
pub fn shared(doc: &Document, text: &str) -> std::rc::Rc<Converted> {
    if let Some(hit) = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(t, _)| t == text)
            .map(|(_, c)| c.clone())
    }) {
        return hit;
    }
    let converted = std::rc::Rc::new(to_json(doc));
    LAST.with(|l| *l.borrow_mut() = Some((text.to_string(), converted.clone())));
    converted
}

/// Convert `doc` into JSON plus the span index.
pub fn to_json(doc: &Document) -> (Value, SpanIndex) {
    let mut index = SpanIndex::default();
    let value = table(doc.as_table(), "", &mut index, 0);
    (value, index)
}

fn table(t: &Table, base: &str, index: &mut SpanIndex, depth: usize) -> Value {
    let mut map = Map::new();
    for (k, item) in t.iter() {
        let pointer = super::pointer::push(base, k);
        let key = t.key(k).and_then(|key| key.span());
        let value = item_span(item);
        map.insert(k.to_string(), self::item(item, &pointer, index, depth + 1));
        index.spans.insert(pointer, Spans { key, value });
    }
    Value::Object(map)
}

/// `pointer/i` for an array element.
fn index_pointer(pointer: &str, i: usize) -> String {
    use std::fmt::Write;
    let mut p = String::with_capacity(pointer.len() + 4);
    p.push_str(pointer);
    let _ = write!(p, "/{i}");
    p
}

fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.iter().next().and_then(Table::span),
        Item::Value(v) => v.span(),
        Item::None => None,
    }
}

fn item(item: &Item, pointer: &str, index: &mut SpanIndex, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match item {
        Item::None => Value::Null,
        Item::Table(t) => table(t, pointer, index, depth),
        Item::ArrayOfTables(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, t) in a.iter().enumerate() {
                let p = index_pointer(pointer, i);
                out.push(table(t, &p, index, depth + 1));
                index.spans.insert(
                    p,
                    Spans {
                        key: None,
                        value: t.span(),
                    },
                );
            }
            Value::Array(out)
        }
        Item::Value(v) => value(v, pointer, index, depth),
    }
}

fn value(v: &toml_edit::Value, pointer: &str, index: &mut SpanIndex, depth: usize) -> Value {
    use toml_edit::Value as V;
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match v {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(i) => Value::Number((*i.value()).into()),
        // JSON has no NaN/inf: keep the number's TOML text so type checks still say "number".
        V::Float(f) => Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or_else(|| Value::Number(0.into())),
        V::Boolean(b) => Value::Bool(*b.value()),
        V::Datetime(d) => Value::String(d.value().to_string()),
        V::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, el) in a.iter().enumerate() {
                let p = index_pointer(pointer, i);
                out.push(value(el, &p, index, depth + 1));
                index.spans.insert(
                    p,
                    Spans {
                        key: None,
                        value: el.span(),
                    },
                );
            }
            Value::Array(out)
        }
        V::InlineTable(t) => {
            let mut map = Map::new();
            for (k, el) in t.iter() {
                let p = super::pointer::push(pointer, k);
                let key = t.key(k).and_then(|key| key.span());
                map.insert(k.to_string(), value(el, &p, index, depth + 1));
                index.spans.insert(
                    p,
                    Spans {
                        key,
                        value: el.span(),
                    },
                );
            }
            Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(text: &str) -> (Value, SpanIndex) {
        let doc = Document::parse(text.to_string()).unwrap();
        to_json(&doc)
    }

    #[test]
    fn values_and_spans() {
        let text = "[meta]\nname = \"x\"\n[[scenario]]\nname = \"s\"\nports = [1, 2]\n[service.a]\nenv = { A = \"1\" }\n";
        let (v, idx) = conv(text);
        assert_eq!(v["meta"]["name"], "x");
        assert_eq!(v["scenario"][0]["ports"][1], 2);
        assert_eq!(&text[idx.key_range("/meta/name")], "name");
        assert_eq!(&text[idx.value_range("/meta/name")], "\"x\"");
        assert_eq!(&text[idx.table_range("/scenario/0")], "[[scenario]]");
        assert_eq!(&text[idx.value_range("/scenario/0/ports/1")], "2");
        assert_eq!(&text[idx.key_range("/service/a")], "a");
        assert_eq!(&text[idx.key_range("/service/a/env/A")], "A");
        // Implicit `service` table: falls back to something inside the file, never panics.
        let r = idx.key_range("/service");
        assert!(r.end <= text.len());
    }

    #[test]
    fn pointer_escaping_matches_rfc6901() {
        assert_eq!(super::super::pointer::push("/a", "x/y~z"), "/a/x~1y~0z");
    }
}
