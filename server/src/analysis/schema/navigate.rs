//! The one walker of `schemas/clnrm.schema.json`: from an instance place (an RFC 6901
//! pointer, or a key path from the editor) to the schema node describing it, following
//! `properties`, `additionalProperties`, `items` and local `$ref`s. The validator's
//! messages ("did you mean"), completion and hover all walk with it.

use serde_json::Value;

/// The schema node describing the instance at `pointer` (RFC 6901).
pub fn schema_at<'s>(root: &'s Value, pointer: &str) -> Option<&'s Value> {
    walk(root, super::pointer::segments(pointer))
}

/// The schema node at `segments` (table keys and array indices; an index may be left out:
/// a key under an array of tables is looked up in its items).
pub fn walk<S: AsRef<str>>(root: &Value, segments: impl IntoIterator<Item = S>) -> Option<&Value> {
    let mut node = resolve(root, root);
    for segment in segments {
        node = step(root, node, segment.as_ref())?;
    }
    Some(node)
}

/// The schema of the value at `path`; an array's schema is its items' (what the table or
/// value being written there is).
pub fn at_path<'s>(root: &'s Value, path: &[String]) -> Option<&'s Value> {
    walk(root, path).map(|n| items_of(root, n).unwrap_or(n))
}

/// The schema of the key at the end of `path`, an array's as the array (hover on a key
/// whose value is an array).
pub fn at_key<'s>(root: &'s Value, path: &[String]) -> Option<&'s Value> {
    let (last, parent) = path.split_last()?;
    child(root, at_path(root, parent)?, last)
}

/// One step: an index into an array, else a key (through an array's items).
fn step<'s>(root: &'s Value, node: &'s Value, segment: &str) -> Option<&'s Value> {
    let node = resolve(root, node);
    match items_of(root, node) {
        Some(items) if segment.parse::<usize>().is_ok() => Some(items),
        Some(items) => child(root, items, segment),
        None => child(root, node, segment),
    }
}

/// The node of key `segment` in the table `node`: a named property, else the schema of
/// every other key (`additionalProperties`); an index into an array.
pub fn child<'s>(root: &'s Value, node: &'s Value, segment: &str) -> Option<&'s Value> {
    let node = resolve(root, node);
    if let Some(p) = node.get("properties").and_then(|p| p.get(segment)) {
        return Some(resolve(root, p));
    }
    if let Some(items) = items_of(root, node) {
        if segment.parse::<usize>().is_ok() {
            return Some(items);
        }
    }
    match node.get("additionalProperties") {
        Some(ap @ Value::Object(_)) => Some(resolve(root, ap)),
        _ => None,
    }
}

/// An array schema's items.
fn items_of<'s>(root: &'s Value, node: &'s Value) -> Option<&'s Value> {
    let node = resolve(root, node);
    let items = node.get("items")?;
    is_type(node, "array").then(|| resolve(root, items))
}

/// Follows `$ref: "#/definitions/x"` chains (bounded, in case of a cyclic schema); a
/// dangling or cyclic one leaves the node as it is.
pub fn resolve<'s>(root: &'s Value, node: &'s Value) -> &'s Value {
    let mut at = node;
    for _ in 0..16 {
        match at.get("$ref").and_then(Value::as_str) {
            Some(r) => match r
                .strip_prefix('#')
                .and_then(|p| super::pointer::get(root, p))
            {
                Some(target) => at = target,
                None => return node,
            },
            None => return at,
        }
    }
    node
}

/// Whether the schema node's `type` is (or includes) `ty`.
pub fn is_type(node: &Value, ty: &str) -> bool {
    match node.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    }
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
        let root = super::super::schema();
        let keys = allowed_keys(root, "/service/db");
        assert!(keys.contains(&"image") && keys.contains(&"ports"));
        let port = schema_at(root, "/service/db/ports/0").unwrap();
        assert_eq!(port["type"], "integer");
        let keys = allowed_keys(root, "/scenario/3/steps/0");
        assert!(keys.contains(&"expected_output_regex"));
        assert!(allowed_keys(root, "/expect").contains(&"span"));
        assert!(schema_at(root, "/nope/x").is_none());
    }

    #[test]
    fn editor_paths_leave_out_the_indices_of_arrays_of_tables() {
        let root = super::super::schema();
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let step = at_path(root, &path(&["scenario", "steps"])).unwrap();
        assert!(step["properties"].get("expected_output_regex").is_some());
        assert_eq!(
            walk(root, ["scenario", "0", "steps", "1"]),
            walk(root, ["scenario", "steps"]).and_then(|n| items_of(root, n))
        );
        let ports = at_key(root, &path(&["service", "db", "ports"])).unwrap();
        assert!(is_type(ports, "array"));
        assert_eq!(
            at_path(root, &path(&["service", "db", "ports"])).unwrap()["type"],
            "integer"
        );
    }
}
