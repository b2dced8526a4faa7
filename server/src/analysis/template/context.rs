//! The variables a template renders with, as `clnrm render` and clnrm's loader build them:
//! `[vars]` in the template, then the environment, then clnrm's defaults.

use std::ops::Range;

use serde_json::{Map, Value};

use super::super::Environment;

/// Where a variable's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BindingOrigin {
    /// The template's own `[vars]` / `[variables]` table.
    Vars,
    /// A process environment variable (e.g. `SERVICE_NAME` for `svc`).
    Environment,
    /// clnrm's built-in default.
    Default,
    /// Given by the user for this render (`render --var k=v`, like `clnrm render --map`):
    /// wins over everything else.
    User,
}

/// One template variable and its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Binding {
    pub name: String,
    pub value: Value,
    pub origin: BindingOrigin,
    /// The `key = value` line in the template, for `Vars`.
    pub range: Option<Range<usize>>,
    /// The environment variable consulted for this default, if any.
    pub env_var: Option<&'static str>,
}

/// clnrm's defaults (`context.rs` `with_defaults`): name, environment variable, default.
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    ("svc", "SERVICE_NAME", "clnrm"),
    ("env", "ENV", "ci"),
    ("endpoint", "OTEL_ENDPOINT", "http://localhost:4318"),
    ("exporter", "OTEL_TRACES_EXPORTER", "otlp"),
    ("image", "CLNRM_IMAGE", "registry/clnrm:1.0.0"),
    ("freeze_clock", "FREEZE_CLOCK", "2025-01-01T00:00:00Z"),
    ("token", "OTEL_TOKEN", ""),
];

/// Every variable of `text`: the defaults (possibly overridden) first, then the other
/// `[vars]` entries in file order.
pub fn bindings(text: &str, env: &Environment) -> Vec<Binding> {
    let vars = scan_vars(text);
    let mut out: Vec<Binding> = DEFAULTS
        .iter()
        .map(|&(name, var, default)| {
            if let Some((value, range)) = vars
                .iter()
                .rev()
                .find(|(k, _, _)| k == name)
                .map(|(_, v, r)| (v.clone(), r.clone()))
            {
                Binding {
                    name: name.into(),
                    value,
                    origin: BindingOrigin::Vars,
                    range: Some(range),
                    env_var: Some(var),
                }
            } else if let Some(v) = env.get(var) {
                Binding {
                    name: name.into(),
                    value: Value::String(v.into()),
                    origin: BindingOrigin::Environment,
                    range: None,
                    env_var: Some(var),
                }
            } else {
                Binding {
                    name: name.into(),
                    value: Value::String(default.into()),
                    origin: BindingOrigin::Default,
                    range: None,
                    env_var: Some(var),
                }
            }
        })
        .collect();
    for (name, value, range) in vars {
        if let Some(b) = out.iter_mut().find(|b| b.name == name) {
            if b.origin == BindingOrigin::Vars {
                // A later line for the same key wins, like the loader's map insert.
                b.value = value;
                b.range = Some(range);
            }
            continue;
        }
        out.push(Binding {
            name,
            value,
            origin: BindingOrigin::Vars,
            range: Some(range),
            env_var: None,
        });
    }
    for (name, value) in env.user_vars() {
        let binding = Binding {
            name: name.clone(),
            value: Value::String(value.clone()),
            origin: BindingOrigin::User,
            range: None,
            env_var: None,
        };
        match out.iter_mut().find(|b| b.name == *name) {
            Some(b) => *b = binding,
            None => out.push(binding),
        }
    }
    out
}

#[cfg(test)]
mod user_var_tests {
    use super::*;

    #[test]
    fn user_vars_win_over_vars_environment_and_defaults() {
        let env = Environment::from_vars([("SERVICE_NAME".to_string(), "from-env".to_string())])
            .with_user_vars([
                ("svc".to_string(), "cli".to_string()),
                ("extra".to_string(), "x".to_string()),
            ]);
        let b = bindings("[vars]\nsvc = \"file\"\n", &env);
        let svc = b.iter().find(|b| b.name == "svc").unwrap();
        assert_eq!(
            (svc.value.as_str(), svc.origin),
            (Some("cli"), BindingOrigin::User)
        );
        assert!(b
            .iter()
            .any(|b| b.name == "extra" && b.origin == BindingOrigin::User));
    }
}

/// The Tera context object: each variable at top level and under `vars`, plus empty
/// `matrix` and `otel` objects.
pub fn context_value(bindings: &[Binding]) -> Map<String, Value> {
    let mut top = Map::new();
    let mut vars = Map::new();
    for b in bindings {
        top.insert(b.name.clone(), b.value.clone());
        vars.insert(b.name.clone(), b.value.clone());
    }
    top.insert("vars".into(), Value::Object(vars));
    top.insert("matrix".into(), Value::Object(Map::new()));
    top.insert("otel".into(), Value::Object(Map::new()));
    top
}

/// The `[vars]`/`[variables]` entries, read line by line like clnrm's loader (the text is
/// a template, so it cannot be parsed as TOML as a whole). Values holding Tera markup are
/// skipped: they are rendered text, not values.
pub fn scan_vars(text: &str) -> Vec<(String, Value, Range<usize>)> {
    let mut out = Vec::new();
    let mut in_vars = false;
    let mut offset = 0;
    for raw_line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            let header = trimmed.split('#').next().unwrap_or("").trim();
            in_vars = header == "[vars]" || header == "[variables]";
            continue;
        }
        if !in_vars || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some(eq) = line.find('=') else { continue };
        let key = line[..eq].trim().trim_matches(|c| c == '"' || c == '\'');
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            continue;
        }
        let value_text = line[eq + 1..].trim();
        if super::is_template(value_text) {
            continue;
        }
        let key_start = line_start + (line.len() - line.trim_start().len());
        out.push((
            key.to_string(),
            parse_value(value_text),
            key_start..line_start + line.len(),
        ));
    }
    out
}

/// A TOML value as JSON; text that is not a TOML value is kept as a string, like the
/// loader's fallback.
fn parse_value(text: &str) -> Value {
    let parsed = text
        .parse::<toml_edit::Value>()
        .ok()
        .or_else(|| strip_comment(text).parse::<toml_edit::Value>().ok());
    parsed.map_or_else(|| Value::String(text.to_string()), |v| toml_to_json(&v))
}

/// `value  # comment` → `value`, ignoring `#` inside quotes.
fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return text[..i].trim_end(),
            _ => {}
        }
    }
    text
}

pub fn toml_to_json(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as T;
    match v {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => Value::from(*i.value()),
        T::Float(f) => serde_json::Number::from_f64(*f.value()).map_or(Value::Null, Value::Number),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        T::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn value_of(b: &[Binding], name: &str) -> (Value, BindingOrigin) {
        let b = b.iter().find(|b| b.name == name).unwrap();
        (b.value.clone(), b.origin)
    }

    #[test]
    fn every_default_has_its_value() {
        let b = bindings("", &Environment::empty());
        for (name, _, default) in DEFAULTS {
            assert_eq!(
                value_of(&b, name),
                (Value::String(default.to_string()), BindingOrigin::Default)
            );
        }
    }

    #[test]
    fn vars_beat_environment_beats_default() {
        let text = "[vars]\nsvc = \"from-vars\"\n";
        let e = env(&[("SERVICE_NAME", "from-env"), ("ENV", "prod")]);
        let b = bindings(text, &e);
        assert_eq!(
            value_of(&b, "svc"),
            (Value::String("from-vars".into()), BindingOrigin::Vars)
        );
        assert_eq!(
            value_of(&b, "env"),
            (Value::String("prod".into()), BindingOrigin::Environment)
        );
        for (name, var, _) in DEFAULTS {
            let e = env(&[(var, "E")]);
            assert_eq!(
                value_of(&bindings("", &e), name),
                (Value::String("E".into()), BindingOrigin::Environment)
            );
        }
    }

    #[test]
    fn scans_vars_like_the_loader() {
        let text = "[meta]\nname = \"x\"\n[vars]\n# c\nport = 8080\nratio = 0.5\non = true\n\
                    list = [1, \"b\"]\nname = \"api\" # trailing\nraw = hello world\n\
                    tpl = \"{{ svc }}\"\n[other]\nnot_a_var = 1\n";
        let vars = scan_vars(text);
        let names: Vec<&str> = vars.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(names, ["port", "ratio", "on", "list", "name", "raw"]);
        assert_eq!(vars[0].1, Value::from(8080));
        assert_eq!(vars[1].1, Value::from(0.5));
        assert_eq!(vars[2].1, Value::Bool(true));
        assert_eq!(vars[3].1, serde_json::json!([1, "b"]));
        assert_eq!(vars[4].1, Value::String("api".into()));
        assert_eq!(vars[5].1, Value::String("hello world".into()));
        assert_eq!(&text[vars[0].2.clone()], "port = 8080");
    }

    #[test]
    fn context_has_vars_at_top_level_and_under_vars() {
        let b = bindings("[vars]\nx = 1\n", &Environment::empty());
        let ctx = context_value(&b);
        assert_eq!(ctx["x"], Value::from(1));
        assert_eq!(ctx["vars"]["x"], Value::from(1));
        assert_eq!(ctx["vars"]["svc"], Value::String("clnrm".into()));
        assert!(ctx["matrix"].as_object().unwrap().is_empty());
        assert!(ctx["otel"].as_object().unwrap().is_empty());
    }
}
