//! Stage e: semantic rules clnrm applies at load time, the failures `clnrm run` would hit
//! that a static check can predict, cross-references, and notes where clnrm 1.3.0's `run`
//! behaves differently from what the file says.
//!
//! Rules read the same JSON view the schema stage validates (with spans per pointer), and
//! skip values of the wrong type: the schema stage has already reported those.

mod context;
mod expect;
pub(crate) mod patterns;
mod scenarios;
mod sections;
mod services;

use super::toml::Document;
use super::Diagnostic;

pub(crate) use context::Ctx;

/// Check `doc` (parsed from `text`); push diagnostics with ranges in `text`. Returns
/// whether it stopped at [`crate::analysis::STAGE_BUDGET`] findings.
pub fn check(doc: &Document, text: &str, diags: &mut Vec<Diagnostic>) -> bool {
    let mut ctx = Ctx::new(doc, text);
    sections::check(&mut ctx);
    services::check(&mut ctx);
    scenarios::check(&mut ctx);
    expect::check(&mut ctx);
    let stopped = ctx.full();
    let mut found = ctx.finish();
    found.sort_by(|a, b| {
        (a.range.start, a.range.end, a.code).cmp(&(b.range.start, b.range.end, b.code))
    });
    diags.extend(found);
    stopped
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Rules only (schema errors are not mixed in).
    pub fn rules(text: &str) -> Vec<Diagnostic> {
        let doc = Document::parse(text.to_string()).unwrap();
        let mut d = Vec::new();
        check(&doc, text, &mut d);
        d
    }

    pub fn with_code(text: &str, code: crate::analysis::Code) -> Vec<(String, Diagnostic)> {
        rules(text)
            .into_iter()
            .filter(|d| d.code == code)
            .map(|d| (text[d.range.clone()].to_string(), d))
            .collect()
    }

    /// The rules' diagnostics of `codes` for an annotated fixture (see
    /// [`crate::analysis::annotated`]) must be exactly its annotations; returns the fixture
    /// text and those diagnostics, for what annotations do not say (related places, fixes).
    #[track_caller]
    pub fn check_annotated(
        fixture: &str,
        codes: &[crate::analysis::Code],
    ) -> (String, Vec<Diagnostic>) {
        let text = crate::analysis::annotated::fixture(fixture);
        let found: Vec<Diagnostic> = rules(&text)
            .into_iter()
            .filter(|d| codes.contains(&d.code))
            .collect();
        crate::analysis::annotated::assert_annotated(&text, &found);
        (text, found)
    }

    /// A valid minimal v1 file to build on.
    pub const V1: &str = "[meta]\nname = \"t\"\nversion = \"1\"\n[service.db]\nimage = \"alpine\"\n[[scenario]]\nname = \"s\"\nservice = \"db\"\nrun = \"echo hi\"\n";
}
