//! Stage d: JSON Schema validation (`schemas/clnrm.schema.json`) of the parsed TOML.
//!
//! OWNER: schema helper.

use super::toml::Document;
use super::Diagnostic;

/// Validate `doc` (parsed from `text`); push diagnostics with ranges in `text`.
pub fn validate(_doc: &Document, _text: &str, _diags: &mut Vec<Diagnostic>) {}
