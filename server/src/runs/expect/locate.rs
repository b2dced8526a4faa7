//! Where an [`ExpectationFailure`] points in the rendered TOML: the failing key when it
//! is written out, else the expectation's table (its header, or its key for inline and
//! dotted tables). Byte ranges in the rendered text, for mapping back to the template.

use std::ops::Range;

use toml_edit::{Item, Key, TableLike};

use super::ExpectationFailure;

impl ExpectationFailure {
    /// Best-effort range of this failure in `doc`, parsed from the rendered text the
    /// expectations were read from. `None` only when the table itself is not found.
    pub fn locate(&self, doc: &toml_edit::Document<String>) -> Option<Range<usize>> {
        let mut cur: &dyn TableLike = doc.as_table();
        let mut at: Option<Range<usize>> = None;
        // `scenario[0].steps[1]`: every segment may index an array (of tables).
        for segment in self.path.split('.') {
            let (name, index) = split_index(segment);
            let keys = Key::parse(name).ok()?;
            let [k] = keys.as_slice() else {
                return None;
            };
            let (key, item) = cur.get_key_value(k.get())?;
            let key_span = key.span();
            match index {
                Some(idx) => {
                    if let Some(t) = item.as_array_of_tables().and_then(|a| a.get(idx)) {
                        at = t.span().or(key_span);
                        cur = t;
                    } else {
                        let v = item.as_array()?.get(idx)?;
                        at = v.span().or(key_span);
                        cur = v.as_inline_table()?;
                    }
                }
                None => {
                    at = table_span(item).or(key_span).or(at);
                    cur = item.as_table_like()?;
                }
            }
        }
        let Some(key) = &self.key else {
            return at;
        };
        let (key, element) = split_index(key);
        let Ok(parts) = Key::parse(key) else {
            return at;
        };
        for (i, k) in parts.iter().enumerate() {
            let Some((key, item)) = cur.get_key_value(k.get()) else {
                break;
            };
            at = key.span().or_else(|| item.span()).or(at);
            // `must_include[1]`: the failing element of the array, when it is written out.
            if i + 1 == parts.len() {
                if let Some(v) = element.and_then(|n| item.as_array()?.get(n)) {
                    at = v.span().or(at);
                }
            }
            match item.as_table_like() {
                Some(t) => cur = t,
                None => break,
            }
        }
        at
    }
}

/// A standard table's header span; other items have none worth pointing at here.
fn table_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) if !t.is_implicit() && !t.is_dotted() => t.span(),
        _ => None,
    }
}

/// `expect.span[2]` → (`expect.span`, Some(2)); `must_include[0]` → (`must_include`, Some(0)).
fn split_index(path: &str) -> (&str, Option<usize>) {
    if let Some(open) = path.rfind('[') {
        if let Some(n) = path[open + 1..].strip_suffix(']') {
            if let Ok(n) = n.parse() {
                return (&path[..open], Some(n));
            }
        }
    }
    (path, None)
}

#[cfg(test)]
mod tests {
    use super::super::{evaluate, tests::sp};
    use crate::model::expect::Expectations;

    fn located(text: &str) -> Vec<String> {
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let e = Expectations::from_rendered(text).unwrap();
        let spans = vec![sp("db.query", "q", None, 0, 10)];
        evaluate(&e, &spans)
            .iter()
            .map(|f| match f.locate(&doc) {
                Some(r) => text[r].to_string(),
                None => "<none>".into(),
            })
            .collect()
    }

    #[test]
    fn falls_back_to_the_table_header() {
        let text = "[[expect.span]]\nname = \"db.query\"\nkind = \"client\"\nparent = \"x\"\n";
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let f = super::ExpectationFailure::new("expect.span[0]", None, "", "");
        assert_eq!(f.locate(&doc).map(|r| &text[r]), Some("[[expect.span]]"));
        let f = super::ExpectationFailure::new("expect.span[0]", Some("events.any".into()), "", "");
        assert_eq!(f.locate(&doc).map(|r| &text[r]), Some("[[expect.span]]"));
        let f = super::ExpectationFailure::new("expect.counts", None, "", "");
        assert_eq!(f.locate(&doc), None);
    }

    #[test]
    fn a_step_inside_a_scenario_is_placed_on_the_step() {
        let text = "[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"b\"\nsteps = [\n  { name = \"one\", command = [\"true\"] },\n  { name = \"two\", command = [\"false\"] },\n]\n[[steps]]\nname = \"top\"\ncommand = [\"x\"]\n";
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let at = |path: &str| {
            super::ExpectationFailure::new(path, Some("expected_exit_code".into()), "", "")
                .locate(&doc)
                .map(|r| text[r].to_string())
        };
        assert_eq!(
            at("scenario[1].steps[1]").as_deref(),
            Some("{ name = \"two\", command = [\"false\"] }")
        );
        assert!(at("steps[0]").is_some());
        assert_eq!(at("scenario[5].steps[0]"), None);
    }

    #[test]
    fn points_at_the_key_or_the_table() {
        let text = r#"[[expect.span]]
name = "db.query"

[[expect.span]]
name = "http"

[[expect.span]]
name = "db.query"
attrs.all = { a = "b" }

[expect.counts]
spans_total = { eq = 2 }
by_name = { "db.query" = { eq = 3 } }

[expect.graph]
must_include = [["x"]]

[expect]
window = [{ outer = "nope", contains = [] }]
"#;
        assert_eq!(
            located(text),
            vec![
                "name",
                "all",
                "[\"x\"]",
                "spans_total",
                "\"db.query\"",
                "outer"
            ]
        );
    }
}
