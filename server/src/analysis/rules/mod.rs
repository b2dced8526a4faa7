//! Stage e: semantic rules clnrm applies at load time, and cross-references.
//!
//! OWNER: schema helper.

use super::toml::Document;
use super::Diagnostic;

/// Check `doc` (parsed from `text`); push diagnostics with ranges in `text`.
pub fn check(_doc: &Document, _text: &str, _diags: &mut Vec<Diagnostic>) {}
