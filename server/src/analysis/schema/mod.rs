//! Stage d: JSON Schema validation (`schemas/clnrm.schema.json`) of the parsed TOML.
//!
//! The document is converted to JSON ([`convert`], spans found by pointer on demand), validated by
//! the `jsonschema` crate against the embedded schema (compiled once), and each error is
//! mapped onto the offending key or value with a message in clnrm's terms ([`report`]).

pub mod convert;
pub mod navigate;
pub mod pointer;
mod report;
pub mod vocabulary;

pub use navigate::{at_key, at_path, resolve};
pub use report::suggest;
pub use vocabulary::{description, enum_values, is_type, properties, required, type_name};

use std::sync::LazyLock;

use serde_json::Value;

use super::toml::Document;
use super::{Diagnostic, STAGE_BUDGET};

/// The schema text, also published for editors (taplo / Even Better TOML).
pub const SCHEMA_TEXT: &str = include_str!("../../../../schemas/clnrm.schema.json");

/// The parsed schema (`None` only if the embedded file were broken; a unit test pins it).
pub static SCHEMA_JSON: LazyLock<Option<Value>> =
    LazyLock::new(|| serde_json::from_str(SCHEMA_TEXT).ok());

static NULL: Value = Value::Null;

/// The parsed schema (`null` if the embedded file were broken).
pub fn schema() -> &'static Value {
    SCHEMA_JSON.as_ref().unwrap_or(&NULL)
}

static VALIDATOR: LazyLock<Option<jsonschema::Validator>> = LazyLock::new(|| {
    let schema = SCHEMA_JSON.as_ref()?;
    jsonschema::draft7::options()
        .build(&without_annotations(schema))
        .ok()
});

/// Compile the validator now (it is otherwise compiled by the first validation): `check`
/// has an analysis thread do it while the files are being found.
pub fn compile() {
    LazyLock::force(&VALIDATOR);
}

/// Words for editors that validation never reads.
const ANNOTATIONS: [&str; 5] = [
    "description",
    "markdownDescription",
    "examples",
    "default",
    "title",
];

/// The schema without its [`ANNOTATIONS`]: the compiler copies each into the validator
/// and checks it against the meta-schema, which was most of compiling our schema (what a
/// one-file `check` waits for). Property names are kept, whatever they are called.
fn without_annotations(node: &Value) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    let lean = map
        .iter()
        .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()))
        .map(|(k, v)| {
            let v = match (k.as_str(), v) {
                ("properties" | "definitions", Value::Object(named)) => Value::Object(
                    named
                        .iter()
                        .map(|(name, s)| (name.clone(), without_annotations(s)))
                        .collect(),
                ),
                ("items" | "additionalProperties", s) => without_annotations(s),
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect();
    Value::Object(lean)
}

/// Validate `doc` (parsed from `text`); push diagnostics with ranges in `text`. Returns
/// whether it stopped at [`STAGE_BUDGET`] findings.
pub fn validate(doc: &Document, text: &str, diags: &mut Vec<Diagnostic>) -> bool {
    let (Some(validator), Some(schema)) = (VALIDATOR.as_ref(), SCHEMA_JSON.as_ref()) else {
        return false;
    };
    let instance = convert::shared(doc, text);
    let index = convert::SpanIndex::new(doc);
    // Errors come in document order; describing them is the costly part.
    let mut errors = validator.iter_errors(&instance);
    let mut found: Vec<Diagnostic> = errors
        .by_ref()
        .take(STAGE_BUDGET)
        .flat_map(|e| report::diagnostics(&e, schema, &index, text))
        .collect();
    let stopped = errors.next().is_some();
    found.sort_by(|a, b| {
        (a.range.start, a.range.end, a.code).cmp(&(b.range.start, b.range.end, b.code))
    });
    found.dedup_by(|a, b| a.range == b.range && a.code == b.code && a.message == b.message);
    diags.extend(found);
    stopped
}

#[cfg(test)]
mod tests;
