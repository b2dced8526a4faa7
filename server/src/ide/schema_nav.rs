//! Reads the test-file JSON Schema (`schemas/clnrm.schema.json`) for completion and hover:
//! follows `$ref`, `properties`, `additionalProperties` and `items` along a key path.

use serde_json::Value;

use crate::analysis::schema::{navigate, SCHEMA_JSON};

static NULL: Value = Value::Null;

pub fn schema() -> &'static Value {
    SCHEMA_JSON.as_ref().unwrap_or(&NULL)
}

/// Follow local `$ref`s; a dangling one leaves the node as it is.
pub fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    navigate::resolve(root, node).unwrap_or(node)
}

/// The schema of the value at `path` (table keys; array indices may be given as numbers
/// or skipped: arrays are stepped through `items`).
pub fn at_path<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = resolve(root, root);
    for seg in path {
        node = step_into_items(root, node);
        if seg.parse::<usize>().is_ok() && node.get("properties").is_none() {
            continue;
        }
        node = child(root, node, seg)?;
    }
    Some(step_into_items(root, node))
}

/// The schema of the value at `path` without stepping into array items at the end (for
/// hover on a key whose value is an array).
pub fn at_key<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    let (last, parent) = path.split_last()?;
    let parent = at_path(root, parent)?;
    child(root, parent, last)
}

fn child<'a>(root: &'a Value, node: &'a Value, key: &str) -> Option<&'a Value> {
    navigate::child(root, node, key)
}

fn step_into_items<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let node = resolve(root, node);
    if is_type(node, "array") {
        if let Some(items) = node.get("items") {
            return resolve(root, items);
        }
    }
    node
}

pub fn is_type(node: &Value, ty: &str) -> bool {
    match node.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    }
}

/// Named properties of an object schema: (name, its schema).
pub fn properties<'a>(root: &'a Value, node: &'a Value) -> Vec<(&'a str, &'a Value)> {
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), resolve(root, v)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn required(node: &Value) -> Vec<&str> {
    node.get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

pub fn description(node: &Value) -> Option<&str> {
    node.get("markdownDescription")
        .or_else(|| node.get("description"))
        .and_then(Value::as_str)
}

/// "string", "integer | string", "array of string", "table"…
pub fn type_name(root: &Value, node: &Value) -> String {
    let node = resolve(root, node);
    let base = match node.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ if node.get("enum").is_some() => "enum".into(),
        _ => "any".into(),
    };
    match base.as_str() {
        "object" => "table".into(),
        "array" => match node.get("items") {
            Some(items) => format!("array of {}", type_name(root, items)),
            None => "array".into(),
        },
        _ => base,
    }
}

pub fn enum_values(node: &Value) -> Vec<String> {
    node.get("enum")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}
