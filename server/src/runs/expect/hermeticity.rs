//! `[expect.hermeticity]`: no span talks to an external service, the program's resource
//! attributes match, and no span carries a forbidden attribute key.
//!
//! Differences from clnrm 1.3.0: `no_external_services` also knows the current
//! semantic-convention keys (`server.address`, `url.full`, …) next to clnrm's legacy ones,
//! since today's SDKs only send those; `resource_attrs.must_match` checks every resource
//! the program reported over OTLP (clnrm reads the first span's, which its parsers never
//! fill) and compares like span attributes do.

use serde_json::Value;

use super::{attr_matches, count_noun, list, ExpectationFailure, Spans};
use crate::model::expect::HermeticityExpectation;
use crate::traces::{Span, SpanSource};

const PATH: &str = "expect.hermeticity";

/// clnrm's list, then the stable semantic-convention names for the same facts.
const EXTERNAL_KEYS: &[&str] = &[
    "net.peer.name",
    "net.peer.ip",
    "net.peer.port",
    "http.host",
    "http.url",
    "db.connection_string",
    "rpc.service",
    "messaging.destination",
    "messaging.url",
    "server.address",
    "server.port",
    "network.peer.address",
    "network.peer.port",
    "url.full",
];

pub(super) fn check(
    h: &HermeticityExpectation,
    ctx: &Spans<'_>,
    out: &mut Vec<ExpectationFailure>,
) {
    if h.no_external_services == Some(true) {
        let hits = offenders(ctx.all, EXTERNAL_KEYS);
        if !hits.is_empty() {
            out.push(ExpectationFailure::new(
                PATH,
                Some("no_external_services".into()),
                "no span with a remote-peer attribute (net.peer.*, http.url, server.address, url.full, …)",
                format!("{}: {}", count_noun(hits.len(), "span"), list(&hits, 5)),
            ));
        }
    }
    if let Some(r) = h
        .resource_attrs
        .as_ref()
        .filter(|r| !r.must_match.is_empty())
    {
        let expected = r
            .must_match
            .iter()
            .map(|(k, v)| format!("{k} = {v:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let expected = format!("resource attributes {expected}");
        // One entry per distinct resource; runner spans describe the runner, not the program.
        let mut resources: Vec<&std::collections::BTreeMap<String, Value>> = ctx
            .all
            .iter()
            .filter(|s| s.source != SpanSource::Runner && !s.resource_attributes.is_empty())
            .map(|s| &s.resource_attributes)
            .collect();
        resources.dedup();
        if resources.is_empty() {
            out.push(ExpectationFailure::new(
                PATH,
                Some("resource_attrs.must_match".into()),
                expected,
                "no span with resource attributes (only spans sent over OTLP carry them)",
            ));
        } else {
            let mut bad: Vec<String> = Vec::new();
            for res in &resources {
                for (k, v) in &r.must_match {
                    match res.get(k) {
                        Some(actual) if attr_matches(actual, v) => {}
                        Some(actual) => bad.push(format!("{k} = {actual}")),
                        None => bad.push(format!("{k} absent")),
                    }
                }
            }
            bad.sort();
            bad.dedup();
            if !bad.is_empty() {
                out.push(ExpectationFailure::new(
                    PATH,
                    Some("resource_attrs.must_match".into()),
                    expected,
                    list(&bad, 5),
                ));
            }
        }
    }
    if let Some(s) = &h.span_attrs {
        let keys: Vec<&str> = s.forbid_keys.iter().map(String::as_str).collect();
        let hits = offenders(ctx.all, &keys);
        if !hits.is_empty() {
            out.push(ExpectationFailure::new(
                PATH,
                Some("span_attrs.forbid_keys".into()),
                format!("no span with any of the attributes {}", list(&keys, 8)),
                format!("{}: {}", count_noun(hits.len(), "span"), list(&hits, 5)),
            ));
        }
    }
}

/// `"name" has key = value` for each span carrying one of `keys`.
fn offenders(spans: &[Span], keys: &[&str]) -> Vec<String> {
    spans
        .iter()
        .filter_map(|s| {
            let found: Vec<String> = keys
                .iter()
                .filter_map(|k| s.attributes.get(*k).map(|v| format!("{k} = {v}")))
                .collect();
            (!found.is_empty()).then(|| format!("{:?} has {}", s.name, found.join(", ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, sp};
    use crate::traces::SpanSource;

    fn spans() -> Vec<crate::traces::Span> {
        let mut a = sp("http", "1", None, 0, 1);
        a.source = SpanSource::Otlp;
        a.resource_attributes
            .insert("service.name".into(), "api".into());
        a.resource_attributes
            .insert("service.instance".into(), 3.into());
        a.attributes.insert("http.route".into(), "/x".into());
        let mut b = sp("db", "2", Some("1"), 0, 1);
        b.source = SpanSource::Otlp;
        b.resource_attributes = a.resource_attributes.clone();
        b.attributes.insert("db.system".into(), "sqlite".into());
        vec![a, b]
    }

    #[test]
    fn hermetic_spans_pass() {
        let toml = r#"[expect.hermeticity]
no_external_services = true
resource_attrs = { must_match = { "service.name" = "api", "service.instance" = "3" } }
span_attrs = { forbid_keys = ["password", "token"] }
"#;
        assert_eq!(messages(toml, &spans()), Vec::<String>::new());
    }

    #[test]
    fn external_calls_resources_and_forbidden_keys_fail() {
        let mut s = spans();
        s[1].attributes
            .insert("server.address".into(), "db.example.com".into());
        s[1].attributes.insert("net.peer.port".into(), 5432.into());
        s[0].attributes.insert("password".into(), "hunter2".into());
        let toml = r#"[expect.hermeticity]
no_external_services = true
resource_attrs = { must_match = { "service.name" = "web", "deployment.environment" = "test" } }
span_attrs = { forbid_keys = ["password"] }
"#;
        assert_eq!(
            messages(toml, &s),
            vec![
                r#"expect.hermeticity.no_external_services: expected no span with a remote-peer attribute (net.peer.*, http.url, server.address, url.full, …); observed 1 span: "db" has net.peer.port = 5432, server.address = "db.example.com""#,
                r#"expect.hermeticity.resource_attrs.must_match: expected resource attributes deployment.environment = "test", service.name = "web"; observed deployment.environment absent, service.name = "api""#,
                r#"expect.hermeticity.span_attrs.forbid_keys: expected no span with any of the attributes password; observed 1 span: "http" has password = "hunter2""#,
            ]
        );
    }

    #[test]
    fn resource_check_without_otlp_spans_fails() {
        let mut s = spans();
        for x in &mut s {
            x.source = SpanSource::Stdout;
            x.resource_attributes.clear();
        }
        let m = messages(
            "[expect.hermeticity]\nresource_attrs_must_match = { must_match = { a = \"b\" } }\n",
            &s,
        );
        assert_eq!(
            m,
            vec![
                r#"expect.hermeticity.resource_attrs.must_match: expected resource attributes a = "b"; observed no span with resource attributes (only spans sent over OTLP carry them)"#
            ]
        );
    }
}
