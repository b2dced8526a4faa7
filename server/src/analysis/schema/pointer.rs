//! RFC 6901 JSON pointers, the one place their escaping lives: how instance places are
//! named between the TOML converter, the validator's reports and the schema walker.

use std::borrow::Cow;

use serde_json::Value;

/// `base` with one more segment (`~` → `~0`, `/` → `~1`).
pub fn push(base: &str, segment: &str) -> String {
    let mut p = String::with_capacity(base.len() + segment.len() + 1);
    p.push_str(base);
    p.push('/');
    if !segment.contains(['~', '/']) {
        p.push_str(segment);
        return p;
    }
    for c in segment.chars() {
        match c {
            '~' => p.push_str("~0"),
            '/' => p.push_str("~1"),
            c => p.push(c),
        }
    }
    p
}

/// The value at `pointer` in `root`, as [`Value::pointer`] finds it, without allocating a
/// copy of each segment (the rules look up many places in every file).
pub fn get<'v>(root: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    if !pointer.starts_with('/') {
        return None;
    }
    segments(pointer).try_fold(root, |at, token| match at {
        Value::Object(map) => map.get(token.as_ref()),
        Value::Array(list) => index(&token).and_then(|i| list.get(i)),
        _ => None,
    })
}

/// An array index as RFC 6901 writes it: no sign, no leading zero.
pub(crate) fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// The unescaped segments of `pointer` (none for the whole document, `""`); borrowed
/// unless a segment has an escape (the walker and messages call this for every error).
pub fn segments(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    pointer
        .strip_prefix('/')
        .into_iter()
        .flat_map(|rest| rest.split('/'))
        .map(|raw| {
            if raw.contains('~') {
                Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(raw)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_finds_what_serde_json_finds() {
        let v = serde_json::json!({
            "a": { "b/c": [10, { "d~e": true }], "": 1, "0": "zero" },
            "list": [1, 2, 3]
        });
        for p in [
            "",
            "/",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/d~0e",
            "/a/",
            "/a/0",
            "/list/2",
            "/list/02",
            "/list/+1",
            "/list/-1",
            "/list/3",
            "/list/x",
            "a",
            "/nope/x",
            "/a/b~1c/00",
        ] {
            assert_eq!(get(&v, p), v.pointer(p), "{p:?}");
        }
    }

    #[test]
    fn segments_round_trip_through_escaping() {
        let p = push(&push("", "a/b"), "c~d");
        assert_eq!(p, "/a~1b/c~0d");
        assert_eq!(segments(&p).collect::<Vec<_>>(), ["a/b", "c~d"]);
        assert_eq!(segments("").count(), 0);
        assert_eq!(segments("/").collect::<Vec<_>>(), [""]);
    }
}
