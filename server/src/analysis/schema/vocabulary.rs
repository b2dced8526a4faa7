//! What a schema node says, in the words completion and hover show: its key names (and
//! which are required), its description, its type and its allowed values.

use serde_json::Value;

pub use super::navigate::is_type;
use super::navigate::resolve;

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
