//! Stage d: JSON Schema validation (`schemas/clnrm.schema.json`) of the parsed TOML.
//!
//! The document is converted to JSON ([`convert`], spans found by pointer on demand),
//! validated by the `jsonschema` crate against the schema (compiled into the program when
//! it is built), and each error is mapped onto the offending key or value with a message
//! in clnrm's terms ([`report`]).

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

/// The schema compiled into Rust when this program is built (jsonschema's `validator`
/// macro): nothing is compiled at run time, where compiling it was most of a one-file
/// `check` and held up the first files of every run. The macro reads the same file as
/// [`SCHEMA_TEXT`].
#[jsonschema::validator(path = "../schemas/clnrm.schema.json", draft = Draft7)]
struct ClnrmSchema;

/// Parse the schema now (messages and suggestions read it): `check` has an analysis
/// thread do it while the files are being found.
pub fn load() {
    LazyLock::force(&SCHEMA_JSON);
}

/// Validate `doc` (parsed from `text`); push diagnostics with ranges in `text`. Returns
/// whether it stopped at [`STAGE_BUDGET`] findings.
pub fn validate(doc: &Document, text: &str, diags: &mut Vec<Diagnostic>) -> bool {
    let Some(schema) = SCHEMA_JSON.as_ref() else {
        return false;
    };
    let instance = convert::shared(doc, text);
    let index = convert::SpanIndex::new(doc);
    // Errors come in document order; describing them is the costly part.
    let mut errors = ClnrmSchema::iter_errors(&instance);
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
