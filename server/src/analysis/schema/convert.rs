//! The parsed TOML as a `serde_json::Value`, with the source spans of every key and value
//! indexed by JSON pointer, so schema errors land on the offending key or value.

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

/// Spans by JSON pointer (RFC 6901, as jsonschema reports `instance_path`), found by
/// walking the document along the pointer when a finding needs one: most places never
/// do, so no index of every key and value is built.
#[derive(Debug, Clone, Copy)]
pub struct SpanIndex<'d> {
    doc: &'d Document,
}

/// A place in the document while walking a pointer.
#[derive(Clone, Copy)]
enum Node<'d> {
    Table(&'d Table),
    Item(&'d Item),
    Value(&'d toml_edit::Value),
}

impl<'d> SpanIndex<'d> {
    pub fn new(doc: &'d Document) -> Self {
        Self { doc }
    }

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

    fn find(&self, pointer: &str, pick: impl Fn(&Spans) -> Option<Range<usize>>) -> Range<usize> {
        self.chain(pointer)
            .iter()
            .rev()
            .find_map(pick)
            .unwrap_or(0..0)
    }

    /// The spans of each place on the way to `pointer` that exists, outermost first.
    fn chain(&self, pointer: &str) -> Vec<Spans> {
        let mut out = Vec::new();
        if !pointer.starts_with('/') {
            return out;
        }
        let mut at: Option<Node<'d>> = None;
        for segment in super::pointer::segments(pointer).take(MAX_DEPTH) {
            let next = match at {
                None => entry(self.doc.as_table(), &segment),
                Some(Node::Table(t)) | Some(Node::Item(Item::Table(t))) => entry(t, &segment),
                Some(Node::Item(Item::ArrayOfTables(a))) => super::pointer::index(&segment)
                    .and_then(|i| a.get(i))
                    .map(|t| {
                        let spans = Spans {
                            key: None,
                            value: t.span(),
                        };
                        (spans, Node::Table(t))
                    }),
                Some(Node::Item(Item::Value(v))) | Some(Node::Value(v)) => element(v, &segment),
                Some(Node::Item(Item::None)) => None,
            };
            let Some((spans, node)) = next else { break };
            out.push(spans);
            at = Some(node);
        }
        out
    }
}

/// The entry `key` of table `t`: its spans and its item.
fn entry<'d>(t: &'d Table, key: &str) -> Option<(Spans, Node<'d>)> {
    let (k, item) = t.get_key_value(key)?;
    let spans = Spans {
        key: k.span(),
        value: item_span(item),
    };
    Some((spans, Node::Item(item)))
}

/// The element `segment` of an array or inline table value.
fn element<'d>(v: &'d toml_edit::Value, segment: &str) -> Option<(Spans, Node<'d>)> {
    match v {
        toml_edit::Value::Array(a) => {
            let el = super::pointer::index(segment).and_then(|i| a.get(i))?;
            let spans = Spans {
                key: None,
                value: el.span(),
            };
            Some((spans, Node::Value(el)))
        }
        toml_edit::Value::InlineTable(t) => {
            let el = t.get(segment)?;
            let spans = Spans {
                key: t.key(segment).and_then(|k| k.span()),
                value: el.span(),
            };
            Some((spans, Node::Value(el)))
        }
        _ => None,
    }
}

thread_local! {
    /// The last conversion on this thread, keyed by the exact text it was parsed from:
    /// the schema stage and the rules stage both need it for the same document.
    static LAST: std::cell::RefCell<Option<(String, std::rc::Rc<Value>)>> =
        const { std::cell::RefCell::new(None) };
}

/// [`to_json`], shared between the stages that run one after the other on `text`.
/// `doc` must be the parse of `text` (the parse is deterministic, so text equality
/// implies the same conversion).
pub fn shared(doc: &Document, text: &str) -> std::rc::Rc<Value> {
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

/// Convert `doc` into JSON.
pub fn to_json(doc: &Document) -> Value {
    table(doc.as_table(), 0)
}

fn table(t: &Table, depth: usize) -> Value {
    let mut map = Map::new();
    for (k, item) in t.iter() {
        map.insert(k.to_string(), self::item(item, depth + 1));
    }
    Value::Object(map)
}

fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.iter().next().and_then(Table::span),
        Item::Value(v) => v.span(),
        Item::None => None,
    }
}

fn item(item: &Item, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match item {
        Item::None => Value::Null,
        Item::Table(t) => table(t, depth),
        Item::ArrayOfTables(a) => Value::Array(a.iter().map(|t| table(t, depth + 1)).collect()),
        Item::Value(v) => value(v, depth),
    }
}

fn value(v: &toml_edit::Value, depth: usize) -> Value {
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
        V::Array(a) => Value::Array(a.iter().map(|el| value(el, depth + 1)).collect()),
        V::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, el)| (k.to_string(), value(el, depth + 1)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_spans() {
        let text = "[meta]\nname = \"x\"\n[[scenario]]\nname = \"s\"\nports = [1, 2]\n[service.a]\nenv = { A = \"1\" }\n";
        let doc = Document::parse(text.to_string()).unwrap();
        let (v, idx) = (to_json(&doc), SpanIndex::new(&doc));
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
