//! LSP ⇄ engine conversions: positions in the negotiated encoding, content changes,
//! diagnostics, URIs. No decisions are made here.

use std::ops::Range;
use std::path::PathBuf;

use serde_json::json;
use tower_lsp::lsp_types as lsp;

use crate::analysis;
use crate::documents::{LineCol, LineIndex, PositionEncoding, TextChange};

/// The diagnostic `source` of analysis findings.
pub const SOURCE: &str = "clnrm";
/// The source of run results: its own, so Helix can keep them between saves
/// (`persistent-diagnostic-sources`).
pub const RUN_SOURCE: &str = "clnrm-run";

fn source_of(code: analysis::Code) -> &'static str {
    use analysis::Code::{ExpectationUnmet, RunFailed, RunPassed};
    match code {
        RunPassed | RunFailed | ExpectationUnmet => RUN_SOURCE,
        _ => SOURCE,
    }
}

pub fn encoding_kind(enc: PositionEncoding) -> lsp::PositionEncodingKind {
    match enc {
        PositionEncoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}

pub fn line_col(pos: lsp::Position) -> LineCol {
    LineCol {
        line: pos.line,
        col: pos.character,
    }
}

pub fn position(lc: LineCol) -> lsp::Position {
    lsp::Position::new(lc.line, lc.col)
}

/// A byte range of `text` as an LSP range in `enc`.
pub fn range(
    index: &LineIndex,
    text: &str,
    bytes: Range<usize>,
    enc: PositionEncoding,
) -> lsp::Range {
    let start = index.line_col(text, bytes.start, enc);
    let end = index.line_col(text, bytes.end.max(bytes.start), enc);
    lsp::Range::new(position(start), position(end))
}

/// A document's text with its index and the negotiated encoding: converts positions.
pub struct View<'a> {
    pub text: &'a str,
    pub index: &'a LineIndex,
    pub enc: PositionEncoding,
}

impl View<'_> {
    pub fn offset(&self, p: lsp::Position) -> usize {
        self.index.offset(self.text, line_col(p), self.enc)
    }

    pub fn position(&self, offset: usize) -> lsp::Position {
        position(self.index.line_col(self.text, offset, self.enc))
    }

    pub fn range(&self, r: Range<usize>) -> lsp::Range {
        range(self.index, self.text, r, self.enc)
    }

    pub fn byte_range(&self, r: lsp::Range) -> Range<usize> {
        let s = self.offset(r.start);
        s..self.offset(r.end).max(s)
    }
}

pub fn text_change(event: lsp::TextDocumentContentChangeEvent) -> TextChange {
    TextChange {
        range: event.range.map(|r| (line_col(r.start), line_col(r.end))),
        text: event.text,
    }
}

/// The file system path of a `file:` URI; `None` for `untitled:` and other schemes.
pub fn uri_to_path(uri: &lsp::Url) -> Option<PathBuf> {
    if uri.scheme() != "file" {
        return None;
    }
    uri.to_file_path().ok()
}

fn severity(s: analysis::Severity) -> lsp::DiagnosticSeverity {
    match s {
        analysis::Severity::Error => lsp::DiagnosticSeverity::ERROR,
        analysis::Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        analysis::Severity::Information => lsp::DiagnosticSeverity::INFORMATION,
        analysis::Severity::Hint => lsp::DiagnosticSeverity::HINT,
    }
}

/// An engine diagnostic of `text` (the exact text that was analysed) as an LSP diagnostic.
/// The fix, if any, travels in `data` with its edits already in LSP ranges, so a code
/// action needs no second analysis.
pub fn diagnostic(
    d: &analysis::Diagnostic,
    uri: &lsp::Url,
    text: &str,
    index: &LineIndex,
    enc: PositionEncoding,
) -> lsp::Diagnostic {
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .related
        .iter()
        .map(|r| {
            let location = match &r.file {
                // A place in a library: its own file, positions in its own text.
                Some(f) => lsp::Location::new(
                    lsp::Url::from_file_path(&f.path).unwrap_or_else(|()| uri.clone()),
                    range(&LineIndex::new(&f.text), &f.text, r.range.clone(), enc),
                ),
                None => lsp::Location::new(uri.clone(), range(index, text, r.range.clone(), enc)),
            };
            lsp::DiagnosticRelatedInformation {
                location,
                message: r.message.clone(),
            }
        })
        .collect();
    let data = d.fix.as_ref().map(|fix| {
        let edits: Vec<serde_json::Value> = fix
            .edits
            .iter()
            .map(|e| json!({ "range": range(index, text, e.range.clone(), enc), "newText": e.new_text }))
            .collect();
        json!({ "fix": { "title": fix.title, "edits": edits } })
    });
    lsp::Diagnostic {
        range: range(index, text, d.range.clone(), enc),
        severity: Some(severity(d.severity)),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some(source_of(d.code).to_string()),
        message: d.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data,
    }
}

pub fn diagnostics(
    diags: &[analysis::Diagnostic],
    uri: &lsp::Url,
    text: &str,
    index: &LineIndex,
    enc: PositionEncoding,
) -> Vec<lsp::Diagnostic> {
    diags
        .iter()
        .map(|d| diagnostic(d, uri, text, index, enc))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Code, Diagnostic, Edit, Fix};

    #[test]
    fn converts_ranges_related_and_fix_in_the_negotiated_encoding() {
        let text = "a = \"😀\"\nbad = 1\n";
        let index = LineIndex::new(text);
        let uri = lsp::Url::parse("file:///w/x.clnrm.toml").unwrap();
        let bad = text.find("bad").unwrap();
        let d = Diagnostic::new(Code::UnknownKey, bad..bad + 3, "unknown key `bad`")
            .with_related(5..9, "here")
            .with_fix(Fix {
                title: "rename".into(),
                edits: vec![Edit {
                    range: bad..bad + 3,
                    new_text: "bar".into(),
                }],
            });
        let l16 = diagnostic(&d, &uri, text, &index, PositionEncoding::Utf16);
        assert_eq!(
            l16.range,
            lsp::Range::new(lsp::Position::new(1, 0), lsp::Position::new(1, 3))
        );
        assert_eq!(l16.source.as_deref(), Some("clnrm"));
        assert_eq!(
            l16.code,
            Some(lsp::NumberOrString::String("unknown-key".into()))
        );
        assert_eq!(l16.severity, Some(lsp::DiagnosticSeverity::WARNING));
        let rel = l16.related_information.as_ref().unwrap();
        assert_eq!(
            rel[0].location.range.end,
            lsp::Position::new(0, 7),
            "utf-16: 😀 is 2 units"
        );
        let l8 = diagnostic(&d, &uri, text, &index, PositionEncoding::Utf8);
        let rel8 = l8.related_information.as_ref().unwrap();
        assert_eq!(
            rel8[0].location.range.end,
            lsp::Position::new(0, 9),
            "utf-8: 😀 is 4 bytes"
        );
        let data = l16.data.unwrap();
        assert_eq!(data["fix"]["title"], "rename");
        assert_eq!(data["fix"]["edits"][0]["newText"], "bar");
        assert_eq!(data["fix"]["edits"][0]["range"]["start"]["line"], 1);
    }

    #[test]
    fn a_related_place_in_a_library_uses_its_own_uri_and_text() {
        let text = "{% import \"_lib.toml.tera\" as m %}\n";
        let lib = "\n\nports = \"oops\"\n";
        let file = std::sync::Arc::new(crate::analysis::SourceFile {
            path: "/w/_lib.toml.tera".into(),
            text: lib.into(),
        });
        let at = lib.find("\"oops").unwrap();
        let d = Diagnostic::new(Code::InvalidType, 0..10, "wrong type").with_related_in(
            file,
            at..at + 6,
            "it comes from here",
        );
        let uri = lsp::Url::parse("file:///w/x.clnrm.toml.tera").unwrap();
        let l = diagnostic(
            &d,
            &uri,
            text,
            &LineIndex::new(text),
            PositionEncoding::Utf16,
        );
        let rel = &l.related_information.unwrap()[0];
        assert_eq!(rel.location.uri.as_str(), "file:///w/_lib.toml.tera");
        assert_eq!(
            rel.location.range,
            lsp::Range::new(lsp::Position::new(2, 8), lsp::Position::new(2, 14))
        );
    }

    #[test]
    fn only_file_uris_have_paths() {
        let file = lsp::Url::parse("file:///tmp/a%20b.clnrm.toml").unwrap();
        assert_eq!(
            uri_to_path(&file),
            Some(PathBuf::from("/tmp/a b.clnrm.toml"))
        );
        let untitled = lsp::Url::parse("untitled:Untitled-1").unwrap();
        assert_eq!(uri_to_path(&untitled), None);
    }
}
