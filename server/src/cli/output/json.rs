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
use crate::workspace::check::{CheckOutcome, Summary};
use crate::workspace::FileReport;

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
    /// Only when the place is in another file (a template library).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
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
        let (entry, diagnostics) = entries(file);
        doc.files.push(entry);
        doc.diagnostics.extend(diagnostics);
    }
    super::pretty_json(&doc)
}

/// The same document written as the reports arrive: `version`, then each file's
/// diagnostics, then `files` and `summary` (an object's key order carries no meaning).
pub struct JsonStream {
    files: Vec<FileEntry>,
    first: bool,
}

impl JsonStream {
    pub fn begin(out: &mut impl std::io::Write) -> std::io::Result<Self> {
        write!(
            out,
            "{{\n  \"version\": {FORMAT_VERSION},\n  \"diagnostics\": ["
        )?;
        Ok(Self {
            files: Vec::new(),
            first: true,
        })
    }

    /// One file's part of the document, made on any thread: its `files` entry and its
    /// diagnostics, each pretty-printed at its indentation.
    pub fn render(file: &FileReport) -> JsonFile {
        let (entry, diagnostics) = entries(file);
        let diagnostics = diagnostics
            .iter()
            .map(|d| {
                let text = serde_json::to_string_pretty(d).unwrap_or_default();
                let mut indented = String::with_capacity(text.len() + 64);
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        indented.push('\n');
                    }
                    indented.push_str("    ");
                    indented.push_str(line);
                }
                indented
            })
            .collect();
        JsonFile { entry, diagnostics }
    }

    pub fn file(&mut self, out: &mut impl std::io::Write, file: JsonFile) -> std::io::Result<()> {
        self.files.push(file.entry);
        for text in file.diagnostics {
            out.write_all(if self.first { b"\n" } else { b",\n" })?;
            self.first = false;
            out.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    pub fn finish(self, out: &mut impl std::io::Write, summary: &Summary) -> std::io::Result<()> {
        let indent = |v: String| v.replace('\n', "\n  ");
        let files = indent(serde_json::to_string_pretty(&self.files).unwrap_or_default());
        let summary = indent(serde_json::to_string_pretty(summary).unwrap_or_default());
        let close = if self.first { "]" } else { "\n  ]" };
        writeln!(
            out,
            "{close},\n  \"files\": {files},\n  \"summary\": {summary}\n}}"
        )
    }
}

/// One file's part of the streamed document, see [`JsonStream::render`].
pub struct JsonFile {
    entry: FileEntry,
    diagnostics: Vec<String>,
}

/// One file's `files` entry and its `diagnostics` entries.
fn entries(file: &FileReport) -> (FileEntry, Vec<Entry>) {
    let path = slash_path(&file.path);
    let loc = Locator::new(&file.text);
    let count = |s: Severity| file.diagnostics.iter().filter(|d| d.severity == s).count();
    let entry = FileEntry {
        path: path.clone(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
    };
    let mut out = Vec::with_capacity(file.diagnostics.len());
    {
        for d in &file.diagnostics {
            out.push(Entry {
                path: path.clone(),
                severity: d.severity,
                code: d.code,
                message: d.message.clone(),
                range: loc.span(&d.range),
                related: d
                    .related
                    .iter()
                    .map(|r| {
                        let (file, range) = super::related_place(r, &loc);
                        RelatedEntry {
                            path: file.map(|f| slash_path(&f)),
                            range,
                            message: r.message.clone(),
                        }
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
    (entry, out)
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

        // Streamed, file by file: the same document.
        let streamed = |files: &[FileReport]| {
            let mut out = Vec::new();
            let mut s = JsonStream::begin(&mut out).unwrap();
            let mut summary = Summary::default();
            for f in files {
                s.file(&mut out, JsonStream::render(f)).unwrap();
                summary.add(f);
            }
            s.finish(&mut out, &summary).unwrap();
            serde_json::from_slice::<serde_json::Value>(&out).unwrap()
        };
        assert_eq!(streamed(&outcome.files), v);
        let empty = streamed(&[]);
        assert_eq!(empty["diagnostics"], serde_json::json!([]));
        assert_eq!(empty["summary"]["files"], 0);
        let two = [outcome.files[0].clone(), outcome.files[0].clone()];
        assert_eq!(streamed(&two)["diagnostics"].as_array().unwrap().len(), 2);
    }
}
