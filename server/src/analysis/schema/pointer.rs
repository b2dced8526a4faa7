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

/// `base` + `/` + `tail`, `tail` written as pointer already (key names without `~` or
/// `/`, indices): `format!("{base}/{tail}")` without the formatting machinery, which the
/// rules' lookups of every place they check spent ~4 % of a `check` in.
pub fn at(base: &str, tail: &str) -> String {
    let mut p = String::with_capacity(base.len() + 1 + tail.len());
    p.push_str(base);
    p.push('/');
    p.push_str(tail);
    p
}

/// [`at`] the array index `i`.
pub fn at_index(base: &str, i: usize) -> String {
    at(base, itoa::Buffer::new().format(i))
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
///
/// Pointers are short: one pass over the bytes finds a segment's end and whether it has an
/// escape (`split` and `contains` searched with `memchr` per segment, ~4 % of a `check`).
pub fn segments(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    let mut rest = pointer.strip_prefix('/');
    std::iter::from_fn(move || {
        let r = rest?;
        let (mut end, mut escaped) = (0, false);
        for &b in r.as_bytes() {
            if b == b'/' {
                break;
            }
            escaped |= b == b'~';
            end += 1;
        }
        let raw = &r[..end];
        rest = r.get(end + 1..);
        Some(if escaped {
            Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(raw)
        })
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
        // As splitting at every `/` and unescaping each piece.
        for p in [
            "/a//b/",
            "//",
            "/~0~1/x~",
            "/é/ü~1/",
            "no-slash",
            "/steps/12/command",
        ] {
            let split: Vec<String> = p
                .strip_prefix('/')
                .into_iter()
                .flat_map(|r| r.split('/'))
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect();
            assert_eq!(segments(p).collect::<Vec<_>>(), split, "{p:?}");
        }
    }
}
