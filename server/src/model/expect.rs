//! `[expect.*]` tables of a rendered test file, as serde structs (reference §2.8).
//!
//! Lenient like clnrm's loader: unknown keys are ignored here (analysis reports them).
//! The two hermeticity aliases clnrm accepts (`resource_attrs_must_match`,
//! `span_attrs_forbid_keys`) are honoured; like clnrm they still need the inner table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything under `[expect]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Expectations {
    pub span: Vec<SpanExpectation>,
    pub graph: Option<GraphExpectation>,
    pub counts: Option<CountsExpectation>,
    pub window: Vec<WindowExpectation>,
    pub order: Option<OrderExpectation>,
    pub status: Option<StatusExpectation>,
    pub hermeticity: Option<HermeticityExpectation>,
}

/// One `[[expect.span]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct SpanExpectation {
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub attrs: Option<AttrsExpectation>,
    #[serde(default)]
    pub events: Option<EventsExpectation>,
    #[serde(default)]
    pub duration_ms: Option<DurationBounds>,
}

/// `attrs.all` / `attrs.any`: attribute key → expected value (tables, not arrays).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct AttrsExpectation {
    pub all: Option<BTreeMap<String, String>>,
    pub any: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct EventsExpectation {
    pub any: Option<Vec<String>>,
    pub all: Option<Vec<String>>,
}

/// `duration_ms = { min, max }`, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DurationBounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// `[expect.graph]`. Edges are `[parent, child]` pairs; kept as plain lists so a
/// malformed edge is reported by the evaluator instead of failing the whole table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct GraphExpectation {
    pub must_include: Vec<Vec<String>>,
    pub must_not_cross: Vec<Vec<String>>,
    pub acyclic: Option<bool>,
}

/// `{ gte, lte, eq }`; when `eq` is set it is the only check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct CountBounds {
    pub gte: Option<usize>,
    pub lte: Option<usize>,
    pub eq: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct CountsExpectation {
    pub spans_total: Option<CountBounds>,
    pub events_total: Option<CountBounds>,
    pub errors_total: Option<CountBounds>,
    pub by_name: BTreeMap<String, CountBounds>,
}

/// One `[[expect.window]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct WindowExpectation {
    pub outer: String,
    pub contains: Vec<String>,
}

/// `[expect.order]`: `must_precede [A, B]` = A ends before B starts; `must_follow [A, B]` = A
/// starts after B ends.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct OrderExpectation {
    pub must_precede: Vec<Vec<String>>,
    pub must_follow: Vec<Vec<String>>,
}

/// `[expect.status]`: `all` and `by_name` (glob → status), statuses OK/ERROR/UNSET.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct StatusExpectation {
    pub all: Option<String>,
    pub by_name: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HermeticityExpectation {
    pub no_external_services: Option<bool>,
    #[serde(alias = "resource_attrs_must_match")]
    pub resource_attrs: Option<ResourceAttrsExpectation>,
    #[serde(alias = "span_attrs_forbid_keys")]
    pub span_attrs: Option<SpanAttrsExpectation>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ResourceAttrsExpectation {
    pub must_match: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SpanAttrsExpectation {
    pub forbid_keys: Vec<String>,
}

/// The part of a test file this module reads; every other top-level key is ignored.
#[derive(Debug, Default, Deserialize)]
struct FileExpect {
    #[serde(default)]
    expect: Expectations,
}

impl Expectations {
    /// Reads `[expect]` from a rendered test file. A file without `[expect]` gives the
    /// empty set; a type mismatch inside it gives the deserializer's message.
    pub fn from_rendered(text: &str) -> Result<Expectations, String> {
        toml_edit::de::from_str::<FileExpect>(text)
            .map(|f| f.expect)
            .map_err(|e| e.to_string())
    }

    /// True when no expectation of any kind is configured.
    pub fn is_empty(&self) -> bool {
        self == &Expectations::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_as_rendered() {
        let text = r#"
[meta]
name = "x"

[[expect.span]]
name = "http.request"
kind = "server"
attrs.all = { "http.method" = "GET" }
attrs.any = { "http.route" = "/a" }
events.any = ["start"]
duration_ms = { min = 1.0, max = 500 }

[[expect.span]]
name = "db.query"
parent = "http.request"

[expect.graph]
must_include = [["http.request", "db.query"]]
must_not_cross = [["db.query", "http.request"]]
acyclic = true

[expect.counts]
spans_total = { gte = 2, lte = 10 }
errors_total = { eq = 0 }
by_name = { "db.query" = { eq = 1 } }

[[expect.window]]
outer = "http.request"
contains = ["db.query"]

[expect.order]
must_precede = [["a", "b"]]
must_follow = [["c", "d"]]

[expect.status]
all = "OK"
by_name = { "db.*" = "ERROR" }

[expect.hermeticity]
no_external_services = true
resource_attrs_must_match = { must_match = { "service.name" = "api" } }
span_attrs = { forbid_keys = ["secret"] }
"#;
        let e = Expectations::from_rendered(text).unwrap();
        assert_eq!(e.span.len(), 2);
        assert_eq!(e.span[0].kind.as_deref(), Some("server"));
        let attrs = e.span[0].attrs.as_ref().unwrap();
        assert_eq!(attrs.all.as_ref().unwrap()["http.method"], "GET");
        assert_eq!(e.span[0].duration_ms.unwrap().max, Some(500.0));
        assert_eq!(e.span[1].parent.as_deref(), Some("http.request"));
        let g = e.graph.as_ref().unwrap();
        assert_eq!(
            g.must_include,
            vec![vec!["http.request".to_string(), "db.query".into()]]
        );
        assert_eq!(g.acyclic, Some(true));
        let c = e.counts.as_ref().unwrap();
        assert_eq!(c.spans_total.unwrap().lte, Some(10));
        assert_eq!(c.by_name["db.query"].eq, Some(1));
        assert_eq!(e.window[0].contains, vec!["db.query".to_string()]);
        assert_eq!(e.order.as_ref().unwrap().must_follow.len(), 1);
        assert_eq!(e.status.as_ref().unwrap().by_name["db.*"], "ERROR");
        let h = e.hermeticity.as_ref().unwrap();
        assert_eq!(
            h.resource_attrs.as_ref().unwrap().must_match["service.name"],
            "api"
        );
        assert_eq!(
            h.span_attrs.as_ref().unwrap().forbid_keys,
            vec!["secret".to_string()]
        );
        assert!(!e.is_empty());
    }

    #[test]
    fn no_expect_table_is_empty_and_type_errors_are_reported() {
        assert!(Expectations::from_rendered("[meta]\nname = \"x\"\n")
            .unwrap()
            .is_empty());
        let err =
            Expectations::from_rendered("[expect.counts]\nspans_total = \"many\"\n").unwrap_err();
        assert!(
            err.contains("spans_total") || err.contains("invalid type"),
            "{err}"
        );
        // A [[expect.span]] without its required name is an error, as in clnrm.
        assert!(Expectations::from_rendered("[[expect.span]]\nkind = \"server\"\n").is_err());
    }
}
