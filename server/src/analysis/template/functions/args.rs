//! Argument helpers for the functions and filters.

use serde_json::Value;

use super::{Args, R};

pub(super) fn req<'a>(a: &'a Args, key: &str) -> tera::Result<&'a Value> {
    a.get(key)
        .ok_or_else(|| tera::Error::msg(format!("missing required argument `{key}`")))
}

pub(super) fn string(a: &Args, key: &str) -> tera::Result<String> {
    Ok(stringify(req(a, key)?))
}

pub(super) fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn int(a: &Args, key: &str, default: i64) -> tera::Result<i64> {
    match a.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| tera::Error::msg(format!("`{key}` must be an integer, got `{v}`"))),
    }
}

pub(super) fn list<'a>(a: &'a Args, key: &str) -> tera::Result<&'a Vec<Value>> {
    req(a, key)?
        .as_array()
        .ok_or_else(|| tera::Error::msg(format!("`{key}` must be an array")))
}

pub(super) fn s(v: impl Into<String>) -> R {
    Ok(Value::String(v.into()))
}
