//! RFC 6901 JSON pointers, the one place their escaping lives: how instance places are
//! named between the TOML converter, the validator's reports and the schema walker.

use std::borrow::Cow;

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
    fn segments_round_trip_through_escaping() {
        let p = push(&push("", "a/b"), "c~d");
        assert_eq!(p, "/a~1b/c~0d");
        assert_eq!(segments(&p).collect::<Vec<_>>(), ["a/b", "c~d"]);
        assert_eq!(segments("").count(), 0);
        assert_eq!(segments("/").collect::<Vec<_>>(), [""]);
    }
}
