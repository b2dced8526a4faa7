//! Stable machine output: one JSON document. Fields are only ever added, never renamed.
//!
//! ```json
//! { "version": 1,
//!   "summary": { "files": 1, "errors": 1, "warnings": 0, "infos": 0 },
//!   "files": [ { "path": "a.clnrm.toml", "errors": 1, "warnings": 0 } ],
//!   "diagnostics": [ { "path": "a.clnrm.toml", "severity": "error", "code": "toml-syntax",
//!       "message": "…", "range": { "start": { "line": 1, "column": 5, "offset": 4 }, "end": … },
//!       "related": [ { "range": …, "message": "…" } ],
//!       "fix": { "title": "…", "edits": [ { "range": …, "new_text": "…" } ] } } ] }
//! ```
//! Lines and columns are 1-based, columns in characters; offsets are bytes of the file.

use serde::Serialize;

use super::{slash_path, Locator, Span};
use crate::analysis::{Code, Severity};
use crate::cli::check::{CheckOutcome, Summary};

/// Bumped only if a field changes meaning (never for additions).
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document {
    version: u32,
    summary: Summary,
    files: Vec<FileEntry>,
    diagnostics: Vec<Entry>,
}

#[derive(Serialize)]
struct FileEntry {
    path: String,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct Entry {
    path: String,
    severity: Severity,
    code: Code,
    message: String,
    range: Span,
    related: Vec<RelatedEntry>,
    fix: Option<FixEntry>,
}

#[derive(Serialize)]
struct RelatedEntry {
    range: Span,
    message: String,
}

#[derive(Serialize)]
struct FixEntry {
    title: String,
    edits: Vec<EditEntry>,
}

#[derive(Serialize)]
struct EditEntry {
    range: Span,
    new_text: String,
}

pub fn render(outcome: &CheckOutcome) -> String {
    let mut doc = Document {
        version: FORMAT_VERSION,
        summary: outcome.summary(),
        files: Vec::new(),
        diagnostics: Vec::new(),
    };
    for file in &outcome.files {
        let path = slash_path(&file.path);
        let loc = Locator::new(&file.text);
        let count = |s: Severity| file.diagnostics.iter().filter(|d| d.severity == s).count();
        doc.files.push(FileEntry {
            path: path.clone(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
        });
        for d in &file.diagnostics {
            doc.diagnostics.push(Entry {
                path: path.clone(),
                severity: d.severity,
                code: d.code,
                message: d.message.clone(),
                range: loc.span(&d.range),
                related: d
                    .related
                    .iter()
                    .map(|r| RelatedEntry {
                        range: loc.span(&r.range),
                        message: r.message.clone(),
                    })
                    .collect(),
                fix: d.fix.as_ref().map(|f| FixEntry {
                    title: f.title.clone(),
                    edits: f
                        .edits
                        .iter()
                        .map(|e| EditEntry {
                            range: loc.span(&e.range),
                            new_text: e.new_text.clone(),
                        })
                        .collect(),
                }),
            });
        }
    }
    super::pretty_json(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Diagnostic, Edit, Fix};
    use crate::workspace::FileReport;

    #[test]
    fn fixes_and_related_places_carry_positions() {
        let text = "[meta]\nnmae = \"é\"\n";
        let at = text.find("nmae").unwrap();
        let d = Diagnostic::new(Code::UnknownKey, at..at + 4, "unknown key `nmae`")
            .with_related(0..6, "in [meta]")
            .with_fix(Fix {
                title: "rename to `name`".into(),
                edits: vec![Edit {
                    range: at..at + 4,
                    new_text: "name".into(),
                }],
            });
        let outcome = CheckOutcome {
            files: vec![FileReport {
                path: "a/b.clnrm.toml".into(),
                text: text.into(),
                diagnostics: vec![d],
            }],
            errors: Vec::new(),
        };
        let v: serde_json::Value = serde_json::from_str(&render(&outcome)).unwrap();
        let d = &v["diagnostics"][0];
        assert_eq!(d["severity"], "warning");
        assert_eq!(d["range"]["start"]["line"], 2);
        assert_eq!(d["range"]["end"]["column"], 5);
        assert_eq!(d["related"][0]["range"]["end"]["column"], 7);
        assert_eq!(d["fix"]["edits"][0]["new_text"], "name");
        assert_eq!(d["fix"]["edits"][0]["range"]["start"]["offset"], at);
        assert_eq!(v["files"][0]["warnings"], 1);
        assert_eq!(v["summary"]["warnings"], 1);
    }
}
