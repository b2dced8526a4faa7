//! Walks `schemas/clnrm.schema.json` along an instance path: which keys are allowed at a
//! place (for "did you mean") and what a place expects (for messages). Completion and
//! hover can reuse it.

use serde_json::Value;

/// The schema node describing the instance at `pointer` (RFC 6901), following
/// `properties`, `additionalProperties`, `items` and local `$ref`s.
pub fn schema_at<'s>(root: &'s Value, pointer: &str) -> Option<&'s Value> {
    let mut node = resolve(root, root)?;
    if pointer.is_empty() {
        return Some(node);
    }
    for segment in super::pointer::segments(pointer) {
        node = child(root, node, &segment)?;
    }
    Some(node)
}

pub fn child<'s>(root: &'s Value, node: &'s Value, segment: &str) -> Option<&'s Value> {
    if let Some(p) = node.get("properties").and_then(|p| p.get(segment)) {
        return resolve(root, p);
    }
    if let Some(items) = node.get("items") {
        if segment.parse::<usize>().is_ok() {
            return resolve(root, items);
        }
    }
    match node.get("additionalProperties") {
        Some(ap @ Value::Object(_)) => resolve(root, ap),
        _ => None,
    }
}

/// Follows `$ref: "#/definitions/x"` chains (bounded, in case of a cyclic schema).
pub fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> Option<&'s Value> {
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => node = root.pointer(r.strip_prefix('#')?)?,
            None => return Some(node),
        }
    }
    None
}

/// The fixed key names allowed in the table at `pointer`.
pub fn allowed_keys<'s>(root: &'s Value, pointer: &str) -> Vec<&'s str> {
    schema_at(root, pointer)
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_refs_maps_and_arrays() {
        let root = &*super::super::SCHEMA_JSON;
        let root = root.as_ref().unwrap();
        let keys = allowed_keys(root, "/service/db");
        assert!(keys.contains(&"image") && keys.contains(&"ports"));
        let port = schema_at(root, "/service/db/ports/0").unwrap();
        assert_eq!(port["type"], "integer");
        let keys = allowed_keys(root, "/scenario/3/steps/0");
        assert!(keys.contains(&"expected_output_regex"));
        assert!(allowed_keys(root, "/expect").contains(&"span"));
        assert!(schema_at(root, "/nope/x").is_none());
    }
}
