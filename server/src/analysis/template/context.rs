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
    /// The workspace root (`{{ workspace }}`), ours: clnrm has no such variable.
    Workspace,
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

/// The variable naming the workspace root of the file (absolute), for commands that name
/// workspace files on the local backend; a `[vars]` entry of that name wins. Not one of
/// clnrm's defaults (see [`DEFAULTS`]), so no clnrm file means something else by it.
pub const WORKSPACE_VAR: &str = "workspace";

/// Every variable of `text`: the defaults (possibly overridden) first, then `workspace`
/// when the file's root is known, then the other `[vars]` entries in file order.
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
    if let Some(root) = env.workspace() {
        out.push(Binding {
            name: WORKSPACE_VAR.into(),
            value: Value::String(root.into()),
            origin: BindingOrigin::Workspace,
            range: None,
            env_var: None,
        });
    }
    for (name, value, range) in vars {
        if let Some(b) = out.iter_mut().find(|b| b.name == name) {
            if b.origin == BindingOrigin::Workspace {
                // The file's own `workspace` var wins over the root.
                *b = Binding {
                    name,
                    value,
                    origin: BindingOrigin::Vars,
                    range: Some(range),
                    env_var: None,
                };
            } else if b.origin == BindingOrigin::Vars {
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
    fn workspace_is_the_root_unless_the_file_defines_it() {
        let env = Environment::empty().in_workspace(std::path::Path::new("/src/repo"));
        let b = bindings("", &env);
        let w = b.iter().find(|b| b.name == WORKSPACE_VAR).unwrap();
        assert_eq!(
            (w.value.as_str(), w.origin),
            (Some("/src/repo"), BindingOrigin::Workspace)
        );
        let b = bindings("[vars]\nworkspace = \"mine\"\n", &env);
        let w: Vec<_> = b.iter().filter(|b| b.name == WORKSPACE_VAR).collect();
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].value.as_str(), w[0].origin),
            (Some("mine"), BindingOrigin::Vars)
        );
        // No root known: no such variable.
        assert!(!bindings("", &Environment::empty())
            .iter()
            .any(|b| b.name == WORKSPACE_VAR));
        // Not one of clnrm's names.
        assert!(!DEFAULTS.iter().any(|d| d.0 == WORKSPACE_VAR));
    }

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
/// a template, so it cannot be parsed as TOML as a whole). Sub-tables (`[vars.database]`)
/// and dotted keys (`database.host = …`) nest, as `run` reads `[vars]` as a TOML table, so
/// `{{ vars.database.host }}` resolves. Values holding Tera markup are skipped: they are
/// rendered text, not values. Each entry is a top-level name with the range of its first line.
pub fn scan_vars(text: &str) -> Vec<(String, Value, Range<usize>)> {
    let mut out: Vec<(String, Value, Range<usize>)> = Vec::new();
    // The path below `[vars]` of the current section; `None` outside [vars].
    let mut section: Option<Vec<String>> = None;
    let mut offset = 0;
    for raw_line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let key_start = line_start + (line.len() - line.trim_start().len());
        let line_range = key_start..line_start + line.len();
        if trimmed.starts_with('[') {
            section = vars_section(trimmed);
            if let Some(path) = section.as_ref().filter(|p| !p.is_empty()) {
                insert_path(&mut out, path, None, &line_range);
            }
            continue;
        }
        let Some(prefix) = &section else { continue };
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some(eq) = line.find('=') else { continue };
        let Some(key) = dotted_key(&line[..eq]) else {
            continue;
        };
        let value_text = line[eq + 1..].trim();
        if super::is_template(value_text) {
            continue;
        }
        let mut path = prefix.clone();
        path.extend(key);
        insert_path(&mut out, &path, Some(parse_value(value_text)), &line_range);
    }
    out
}

/// `[vars]` → `Some([])`, `[vars.database]` → `Some(["database"])`, other headers → `None`
/// (also `[[vars.x]]`: arrays of tables are not variables clnrm's scanner knows).
fn vars_section(header_line: &str) -> Option<Vec<String>> {
    let header = header_line.split('#').next().unwrap_or("").trim();
    let inner = header.strip_prefix('[')?.strip_suffix(']')?;
    if inner.starts_with('[') {
        return None;
    }
    let mut parts = dotted_key(inner)?;
    let first = parts.first()?.clone();
    if first != "vars" && first != "variables" {
        return None;
    }
    parts.remove(0);
    Some(parts)
}

/// A bare or quoted dotted key (`a.b`, `"a".b`), as its parts; `None` if it is not one.
fn dotted_key(text: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = text
        .split('.')
        .map(|p| p.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .collect();
    let valid = |p: &String| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    parts.iter().all(valid).then_some(parts)
}

/// Set `path` (top-level name first) to `value`, creating tables on the way; with no value,
/// only make sure the table exists. A later line for the same key wins.
fn insert_path(
    out: &mut Vec<(String, Value, Range<usize>)>,
    path: &[String],
    value: Option<Value>,
    range: &Range<usize>,
) {
    let Some((top, rest)) = path.split_first() else {
        return;
    };
    let index = match out.iter().position(|(k, _, _)| k == top) {
        Some(i) => i,
        None => {
            out.push((top.clone(), Value::Object(Map::new()), range.clone()));
            out.len() - 1
        }
    };
    let slot = &mut out[index].1;
    if rest.is_empty() {
        if let Some(v) = value {
            *slot = v;
            out[index].2 = range.clone();
        }
        return;
    }
    let mut node = slot;
    for part in rest {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        node = map.entry(part.clone()).or_insert(Value::Object(Map::new()));
    }
    if let Some(v) = value {
        *node = v;
    }
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

#[cfg(test)]
mod scan_vars_tests {
    use super::*;

    #[test]
    fn sub_tables_dotted_keys_and_arrays_nest_under_their_top_level_name() {
        let text = "[vars]\nname = \"x\"\nports = [1, 2]\nlimits.cpu = 2\n\n[vars.database]\nhost = \"db\"\nport = 5432\n[vars.database.pool]\nsize = 4\n[meta]\nname = \"t\"\n";
        let vars = scan_vars(text);
        let names: Vec<_> = vars.iter().map(|v| v.0.as_str()).collect();
        assert_eq!(names, ["name", "ports", "limits", "database"]);
        assert_eq!(vars[1].1, serde_json::json!([1, 2]));
        assert_eq!(vars[2].1, serde_json::json!({"cpu": 2}));
        assert_eq!(
            vars[3].1,
            serde_json::json!({"host": "db", "port": 5432, "pool": {"size": 4}})
        );
        assert_eq!(&text[vars[3].2.clone()], "[vars.database]");
    }

    #[test]
    fn nested_vars_resolve_in_a_render() {
        let text = "[vars.database]\nhost = \"db\"\n\n[meta]\nname = \"{{ vars.database.host }}-{{ database.host }}\"\nversion = \"1\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n";
        let analysis = crate::analysis::analyze_uncached(
            text,
            crate::analysis::FileKind::Test,
            Vec::new(),
            &Environment::empty(),
        );
        assert!(
            analysis.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            analysis.diagnostics
        );
        let rendered = analysis.rendered.as_ref().unwrap();
        assert!(
            rendered.text.contains("name = \"db-db\""),
            "{}",
            rendered.text
        );
    }
}
