//! One jsonschema error → diagnostics on the offending key or value, in words a user of
//! clnrm understands.

use jsonschema::error::{TypeKind, ValidationErrorKind as K};
use jsonschema::ValidationError;
use serde_json::Value;

use super::convert::SpanIndex;
use super::navigate;
use super::pointer;
use crate::analysis::{Code, Diagnostic, Edit, Fix};

pub(super) fn diagnostics(
    e: &ValidationError<'_>,
    schema: &Value,
    index: &SpanIndex<'_>,
    text: &str,
) -> Vec<Diagnostic> {
    let path = e.instance_path().as_str();
    // Most errors are unknown keys, which name the table rather than the place.
    if let K::AdditionalProperties { unexpected } = e.kind() {
        // One table's unknown keys share its allowed names and its display name.
        let allowed = navigate::allowed_keys(schema, path);
        let table = table_name(path);
        return unexpected
            .iter()
            .map(|name| unknown_key(&allowed, &table, index, text, path, name))
            .collect();
    }
    let place = display_path(path);
    match e.kind() {
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let range = if path.is_empty() {
                0..0
            } else {
                index.table_range(path)
            };
            vec![Diagnostic::new(
                Code::MissingKey,
                range,
                format!("missing required key `{name}` in {}", table_name(path)),
            )]
        }
        K::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => article(t.as_str()),
                TypeKind::Multiple(ts) => {
                    // Alphabetical, as jsonschema 0.33 listed them (0.60 iterates null first).
                    let mut names: Vec<&str> = ts.iter().map(|t| t.as_str()).collect();
                    names.sort_unstable();
                    let names: Vec<String> = names.into_iter().map(article).collect();
                    names.join(" or ")
                }
            };
            let expected = refine_expected(schema, path, &expected);
            // Never echo the value of a secret-looking key.
            let last = path.rsplit('/').next().unwrap_or_default();
            let found = if crate::analysis::rules::patterns::looks_secret(last, "x") {
                "a value of another type".to_string()
            } else {
                describe(e.instance())
            };
            vec![Diagnostic::new(
                Code::InvalidType,
                index.value_range(path),
                format!("{place}: expected {expected}, found {found}"),
            )]
        }
        K::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| {
                    let mut seen: Vec<String> = Vec::new();
                    for o in a {
                        let s = o.as_str().map_or_else(|| o.to_string(), str::to_string);
                        if !seen.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
                            seen.push(s);
                        }
                    }
                    seen
                })
                .unwrap_or_default();
            vec![Diagnostic::new(
                Code::InvalidValue,
                index.value_range(path),
                format!(
                    "{place}: expected one of {}, found {}",
                    opts.iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    describe(e.instance())
                ),
            )]
        }
        K::Minimum { limit } | K::ExclusiveMinimum { limit } => vec![value_diag(
            index,
            path,
            format!("{place}: must be at least {limit}, found {}", e.instance()),
        )],
        K::Maximum { limit } | K::ExclusiveMaximum { limit } => vec![value_diag(
            index,
            path,
            format!("{place}: must be at most {limit}, found {}", e.instance()),
        )],
        K::MinItems { limit } | K::MaxItems { limit } if *limit == 2 => vec![value_diag(
            index,
            path,
            format!(
                "{place}: expected a pair of two span names, found {} item(s)",
                e.instance().as_array().map_or(0, Vec::len)
            ),
        )],
        K::MinLength { .. } => vec![Diagnostic::new(
            Code::EmptyValue,
            index.value_range(path),
            format!("{place}: must not be empty"),
        )],
        K::MinProperties { .. } => vec![value_diag(
            index,
            path,
            format!("{place}: must not be empty (clnrm rejects an empty table here)"),
        )],
        _ => vec![value_diag(index, path, format!("{place}: {e}"))],
    }
}

fn value_diag(index: &SpanIndex<'_>, path: &str, message: String) -> Diagnostic {
    Diagnostic::new(Code::InvalidValue, index.value_range(path), message)
}

fn unknown_key(
    allowed: &[&str],
    table: &str,
    index: &SpanIndex<'_>,
    text: &str,
    path: &str,
    name: &str,
) -> Diagnostic {
    let pointer = pointer::push(path, name);
    let range = index.key_range(&pointer);
    let suggestion = alias(name, allowed).or_else(|| suggest(name, allowed));
    // Built piece by piece: this is most findings of a run, and `format!` showed.
    let mut message = String::with_capacity(64 + name.len() + table.len());
    for piece in ["unknown key `", name, "` in ", table, "; clnrm ignores it"] {
        message.push_str(piece);
    }
    if let Some(s) = suggestion {
        for piece in [": did you mean `", s, "`?"] {
            message.push_str(piece);
        }
    }
    let mut d = Diagnostic::new(Code::UnknownKey, range.clone(), message);
    if let Some(s) = suggestion {
        // Only offer the edit when the range really is the key as written.
        let written = text.get(range.clone()).unwrap_or_default();
        if written.trim_matches(|c| c == '"' || c == '\'') == name {
            d = d.with_fix(Fix {
                title: ["Rename to `", s, "`"].concat(),
                edits: vec![Edit {
                    range,
                    new_text: s.to_string(),
                }],
            });
        }
    }
    d
}

/// Keys other tools (docker-compose, older clnrm docs) use for what clnrm calls differently.
fn alias<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let target = match name {
        "type" => "plugin",
        "environment" => "env",
        "attributes" => "attrs",
        "cmd" | "commands" => "command",
        _ => return None,
    };
    allowed.iter().copied().find(|a| *a == target)
}

/// The closest allowed name, if it is close enough to be a likely typo.
///
/// Remembered per name and candidate list: the same unknown key recurs in the same kind
/// of table across scenarios and files, and scoring it against every allowed name was
/// about 5 % of a `check` of the real files.
pub fn suggest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let mut key = String::with_capacity(name.len() + allowed.len() * 12);
    key.push_str(name);
    for a in allowed {
        key.push('\0');
        key.push_str(a);
    }
    if let Some(hit) = SUGGESTIONS.lock().ok().and_then(|m| m.get(&key).copied()) {
        return hit.and_then(|i| allowed.get(i).copied());
    }
    let found = closest(name, allowed);
    if let Ok(mut m) = SUGGESTIONS.lock() {
        if m.len() >= SUGGESTIONS_MAX {
            m.clear();
        }
        m.insert(key, found);
    }
    found.and_then(|i| allowed.get(i).copied())
}

/// Remembered suggestions: (name, candidates) → index of the suggestion.
static SUGGESTIONS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Option<usize>, crate::analysis::FastHash>>,
> = std::sync::LazyLock::new(Default::default);
const SUGGESTIONS_MAX: usize = 4096;

fn closest(name: &str, allowed: &[&str]) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    let len = lower.chars().count();
    // The highest score of the names that are close, the last of equals.
    let mut best: Option<(f64, usize)> = None;
    for (i, a) in allowed.iter().enumerate() {
        // The edit distance is at least the difference in length: skip it when that alone
        // is over 2.
        let near = len.abs_diff(a.chars().count()) <= 2 && strsim::levenshtein(&lower, a) <= 2;
        // Most names share too few letters to score 0.8: no need to score them.
        if !near && jaro_winkler_bound(&lower, a) < 0.8 - 1e-9 {
            continue;
        }
        let score = jaro_winkler(&lower, a);
        if (score >= 0.8 || near) && best.is_none_or(|(top, _)| score >= top) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| i)
}

/// At least [`jaro_winkler`] of `a` and `b`, from the letters they share: Jaro counts at
/// most that many matches, and at best no transpositions. 1 when it cannot tell cheaply.
fn jaro_winkler_bound(a: &str, b: &str) -> f64 {
    if !(a.is_ascii() && b.is_ascii()) || a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut counts = [0usize; 128];
    for &c in a.as_bytes() {
        counts[usize::from(c)] += 1;
    }
    let mut shared = 0usize;
    for &c in b.as_bytes() {
        let n = &mut counts[usize::from(c)];
        if *n > 0 {
            *n -= 1;
            shared += 1;
        }
    }
    let m = shared as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + 1.0) / 3.0;
    let prefix = a
        .bytes()
        .zip(b.bytes())
        .take(4)
        .take_while(|(x, y)| x == y)
        .count();
    jaro + 0.1 * prefix as f64 * (1.0 - jaro)
}

/// strsim's Jaro-Winkler similarity. On ASCII it runs over bytes, which gives the same
/// number: strsim decodes characters again in its inner loop (most of its cost here).
fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        strsim::generic_jaro_winkler(&Bytes(a.as_bytes()), &Bytes(b.as_bytes()))
    } else {
        strsim::jaro_winkler(a, b)
    }
}

struct Bytes<'s>(&'s [u8]);

impl<'s> IntoIterator for &Bytes<'s> {
    type Item = u8;
    type IntoIter = std::iter::Copied<std::slice::Iter<'s, u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().copied()
    }
}

/// `/service/db/ports/0` → `service.db.ports[0]`.
fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in super::pointer::segments(pointer) {
        if seg.is_empty() {
            continue;
        }
        if seg.parse::<usize>().is_ok() {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            if seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push_str(&seg);
            } else {
                out.push_str(&format!("{seg:?}"));
            }
        }
    }
    if out.is_empty() {
        "the file".to_string()
    } else {
        out.insert(0, '`');
        out.push('`');
        out
    }
}

fn table_name(pointer: &str) -> String {
    if pointer.is_empty() {
        "the top level".to_string()
    } else {
        display_path(pointer)
    }
}

fn article(t: &str) -> String {
    match t {
        "integer" => "an integer".into(),
        "array" => "an array".into(),
        "object" => "a table".into(),
        "null" => "nothing".into(),
        other => format!("a {other}"),
    }
}

/// Say what the place is for when the schema knows: "an integer port (0-65535)".
fn refine_expected(schema: &Value, path: &str, expected: &str) -> String {
    let Some(node) = navigate::schema_at(schema, path) else {
        return expected.to_string();
    };
    let is_port = path
        .rsplit('/')
        .nth(1)
        .is_some_and(|parent| parent == "ports");
    if is_port {
        return "an integer port (0-65535)".to_string();
    }
    if expected == "a table" {
        if let Some(Value::Object(ap)) = node.get("additionalProperties") {
            if ap.get("type").and_then(Value::as_str) == Some("string") {
                return "a table of string values (`{ KEY = \"value\" }`)".to_string();
            }
        }
        if let Some(required) = node.get("required").and_then(Value::as_array) {
            let keys: Vec<String> = required
                .iter()
                .filter_map(Value::as_str)
                .map(|k| format!("{k} = …"))
                .collect();
            if !keys.is_empty() {
                return format!("a table `{{ {} }}`", keys.join(", "));
            }
        }
    }
    let in_seconds = node
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| d.contains("whole seconds"));
    if in_seconds && expected == "an integer" {
        return "an integer number of seconds (e.g. `5`, not \"5s\")".to_string();
    }
    if node.get("minimum").and_then(Value::as_i64) == Some(0) && expected == "an integer" {
        return "a non-negative integer".to_string();
    }
    expected.to_string()
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_f64() => format!("float {n}"),
        Value::Number(n) => format!("integer {n}"),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let dots = if s.chars().count() > 40 { "…" } else { "" };
            format!("string {:?}{dots}", short)
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a table".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn jaro_winkler_over_bytes_is_strsims_number() {
        let names = [
            "timeout",
            "timeout_ms",
            "tags",
            "version",
            "name",
            "retry_on_failure",
            "type",
            "plugin",
            "working_dir",
            "workdir",
            "env",
            "environment",
            "",
            "a",
            "ab",
            "ba",
            "expected_exit_code",
            "expect_exit_code",
            "command",
            "cmd",
            "span",
            "spans",
        ];
        for a in names {
            for b in names {
                let (ours, theirs) = (super::jaro_winkler(a, b), strsim::jaro_winkler(a, b));
                assert_eq!(ours.to_bits(), theirs.to_bits(), "{a} / {b}");
            }
        }
        // Not ASCII: strsim's own.
        let (a, b) = ("größe", "grösse");
        assert_eq!(super::jaro_winkler(a, b), strsim::jaro_winkler(a, b));
    }

    /// The choice as it was made before names were skipped by their bound.
    fn closest_scoring_all(name: &str, allowed: &[&str]) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        let len = lower.chars().count();
        allowed
            .iter()
            .enumerate()
            .map(|(i, a)| (strsim::jaro_winkler(&lower, a), i, *a))
            .filter(|(score, _, a)| {
                *score >= 0.8
                    || (len.abs_diff(a.chars().count()) <= 2 && strsim::levenshtein(&lower, a) <= 2)
            })
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(_, i, _)| i)
    }

    #[test]
    fn skipping_names_by_their_bound_changes_no_suggestion() {
        // Every key name of the schema, and typos of them.
        let schema = crate::analysis::schema::schema().to_string();
        let mut names: Vec<String> = schema
            .split('"')
            .filter(|w| {
                !w.is_empty()
                    && w.len() < 40
                    && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
            .map(String::from)
            .collect();
        names.sort();
        names.dedup();
        let mut typos = Vec::new();
        for n in &names {
            typos.push(n.to_uppercase());
            typos.push(n.chars().rev().collect::<String>());
            typos.push(format!("{n}s"));
            typos.push(n.replacen('_', "", 1));
            if n.len() > 3 {
                typos.push(format!("{}{}", &n[..2], &n[3..]));
                let mut b = n.clone().into_bytes();
                b.swap(1, 2);
                typos.push(String::from_utf8(b).unwrap());
            }
        }
        typos.extend(["größe".to_string(), String::new(), "x".into()]);
        let allowed: Vec<&str> = names.iter().map(String::as_str).collect();
        for chunk in allowed.chunks(17).chain([&allowed[..], &[][..]]) {
            for t in typos.iter().chain(&names) {
                for a in chunk {
                    assert!(
                        super::jaro_winkler_bound(t, a) >= super::jaro_winkler(t, a),
                        "{t} {a}"
                    );
                }
                assert_eq!(
                    super::closest(t, chunk),
                    closest_scoring_all(t, chunk),
                    "{t}"
                );
            }
        }
    }
}
