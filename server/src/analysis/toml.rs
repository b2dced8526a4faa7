//! Stage c: TOML parse of the rendered text (toml_edit, TOML 1.1 as clnrm's `toml` 0.9 reads).
//!
//! OWNER: schema helper.

use super::Diagnostic;

pub type Document = toml_edit::Document<String>;

/// Parse `text`; on failure push diagnostics (ranges in `text`) and return `None`.
pub fn parse(text: &str, diags: &mut Vec<Diagnostic>) -> Option<Document> {
    match toml_edit::Document::parse(text.to_string()) {
        Ok(doc) => Some(doc),
        Err(e) => {
            let range = e.span().unwrap_or(0..0);
            diags.push(Diagnostic::new(
                super::Code::TomlSyntax,
                range,
                e.message().to_string(),
            ));
            None
        }
    }
}
