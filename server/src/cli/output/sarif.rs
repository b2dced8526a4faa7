//! SARIF 2.1.0 (OASIS), the format code-scanning services ingest. One run; the rules are
//! every [`Code`], so a result's `ruleIndex` is stable across files and versions.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use super::{slash_path, Locator, Span};
use crate::analysis::{Code, Severity};
use crate::workspace::check::CheckOutcome;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Information | Severity::Hint => "note",
    }
}

fn rules() -> Vec<Value> {
    Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": c.as_str(),
                "shortDescription": { "text": c.description() },
                "fullDescription": { "text": c.description() },
                "defaultConfiguration": { "level": level(c.default_severity()) },
            })
        })
        .collect()
}

/// Columns count Unicode code points, as the run's `columnKind` declares; SARIF's
/// `charOffset` is left out since line and column already pin the place down.
fn region(span: &Span) -> Value {
    json!({
        "startLine": span.start.line,
        "startColumn": span.start.column,
        "endLine": span.end.line,
        "endColumn": span.end.column,
    })
}

/// The unreserved set of RFC 3986, and `/` between segments.
const URI_PATH_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A relative path as a URI reference: `/`-separated, percent-encoded outside the
/// unreserved set; absolute paths become `file://` URIs.
fn uri(path: &std::path::Path) -> String {
    if path.is_absolute() {
        if let Ok(url) = url::Url::from_file_path(path) {
            return url.to_string();
        }
    }
    let slashed = slash_path(path);
    let out = utf8_percent_encode(&slashed, URI_PATH_SAFE).to_string();
    out.strip_prefix("./").map(str::to_string).unwrap_or(out)
}

pub fn render(outcome: &CheckOutcome) -> String {
    let mut results = Vec::new();
    let mut artifacts = Vec::new();
    for (artifact_index, file) in outcome.files.iter().enumerate() {
        let file_uri = uri(&file.path);
        artifacts.push(json!({ "location": { "uri": file_uri } }));
        let loc = Locator::new(&file.text);
        let location = |span: &Span| {
            json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": file_uri, "index": artifact_index },
                    "region": region(span),
                }
            })
        };
        for d in &file.diagnostics {
            let rule_index = Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": rule_index,
                "level": level(d.severity),
                "message": { "text": d.message },
                "locations": [location(&loc.span(&d.range))],
            });
            if !d.related.is_empty() {
                result["relatedLocations"] = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let (file, span) = super::related_place(r, &loc);
                        let mut l = location(&span);
                        if let Some(f) = file {
                            l["physicalLocation"]["artifactLocation"] = json!({ "uri": uri(&f) });
                        }
                        l["id"] = json!(i);
                        l["message"] = json!({ "text": r.message });
                        l
                    })
                    .collect();
            }
            if let Some(fix) = &d.fix {
                result["fixes"] = json!([{
                    "description": { "text": fix.title },
                    "artifactChanges": [{
                        "artifactLocation": { "uri": file_uri, "index": artifact_index },
                        "replacements": fix.edits.iter().map(|e| json!({
                            "deletedRegion": region(&loc.span(&e.range)),
                            "insertedContent": { "text": e.new_text },
                        })).collect::<Vec<_>>(),
                    }],
                }]);
            }
            results.push(result);
        }
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "clnrm-lsp",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "artifacts": artifacts,
            "results": results,
        }]
    });
    super::pretty_json(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_point_at_their_rule_and_carry_fixes() {
        use crate::analysis::{Diagnostic, Edit, Fix};
        use crate::workspace::FileReport;
        let d = Diagnostic::new(Code::UnknownKey, 7..11, "unknown key")
            .with_related(0..6, "table")
            .with_fix(Fix {
                title: "rename".into(),
                edits: vec![Edit {
                    range: 7..11,
                    new_text: "name".into(),
                }],
            });
        let outcome = CheckOutcome {
            files: vec![FileReport {
                path: "x.clnrm.toml".into(),
                text: "[meta]\nnmae = 1\n".into(),
                diagnostics: vec![d],
            }],
            errors: Vec::new(),
        };
        let v: Value = serde_json::from_str(&render(&outcome)).unwrap();
        let run = &v["runs"][0];
        let r = &run["results"][0];
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][i]["id"], "unknown-key");
        assert_eq!(r["level"], "warning");
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            (&region["startLine"], &region["startColumn"]),
            (&json!(2), &json!(1))
        );
        assert_eq!(region["endColumn"], 5);
        assert_eq!(r["relatedLocations"][0]["message"]["text"], "table");
        let rep = &r["fixes"][0]["artifactChanges"][0]["replacements"][0];
        assert_eq!(rep["insertedContent"]["text"], "name");
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            Code::ALL.len()
        );
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri(std::path::Path::new("./a b/x.toml")), "a%20b/x.toml");
        assert_eq!(
            uri(std::path::Path::new("/tmp/x.toml")),
            "file:///tmp/x.toml"
        );
    }
}
