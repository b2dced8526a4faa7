//! Tera renders macros recursively with no depth limit, so a macro that calls itself
//! (directly or through others) would exhaust the stack. Such templates are found here,
//! statically, and not rendered.

use std::collections::HashMap;
use std::ops::Range;

use super::scan::{self, TagKind};

/// A macro of one of the files: (file index, macro name).
type Key = (usize, String);

/// The first macro (of file 0, the template itself, when possible) that can reach itself
/// through macro calls. `files[0]` is the template; the others are its dependencies by name.
pub fn find_cycle(files: &[(&str, &str)]) -> Option<(usize, String, Range<usize>)> {
    let mut calls: HashMap<Key, Vec<Key>> = HashMap::new();
    let mut defs: Vec<(Key, Range<usize>)> = Vec::new();
    for (fi, (_, text)) in files.iter().enumerate() {
        let s = scan::scan(text);
        let mut aliases: HashMap<String, usize> = HashMap::new();
        let mut current: Option<Key> = None;
        for tag in s.tags().filter(|t| t.kind != TagKind::Comment) {
            let code = &text[tag.inner.clone()];
            match tag.keyword(text) {
                "import" => {
                    if let (Some(name), Some(alias)) = (quoted(code), code.rsplit(" as ").next()) {
                        if let Some(target) = files.iter().position(|(n, _)| *n == name) {
                            aliases.insert(alias.trim().to_string(), target);
                        }
                    }
                }
                "macro" => {
                    let name = code
                        .trim_start()
                        .trim_start_matches("macro")
                        .trim_start()
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let key = (fi, name);
                    defs.push((key.clone(), tag.range.clone()));
                    current = Some(key);
                }
                "endmacro" => current = None,
                _ => {
                    let Some(cur) = &current else { continue };
                    for (ns, callee) in macro_calls(code) {
                        let target = if ns == "self" {
                            Some(fi)
                        } else {
                            aliases.get(ns).copied()
                        };
                        if let Some(t) = target {
                            calls
                                .entry(cur.clone())
                                .or_default()
                                .push((t, callee.to_string()));
                        }
                    }
                }
            }
        }
    }
    defs.iter()
        .find(|(k, _)| reaches(&calls, k, k))
        .map(|((fi, name), r)| (*fi, name.clone(), r.clone()))
}

fn reaches(calls: &HashMap<Key, Vec<Key>>, from: &Key, goal: &Key) -> bool {
    let mut stack = vec![from.clone()];
    let mut seen: Vec<Key> = Vec::new();
    while let Some(k) = stack.pop() {
        for next in calls.get(&k).into_iter().flatten() {
            if next == goal {
                return true;
            }
            if !seen.contains(next) {
                seen.push(next.clone());
                stack.push(next.clone());
            }
        }
    }
    false
}

fn quoted(code: &str) -> Option<&str> {
    let i = code.find(['"', '\'', '`'])?;
    let q = code[i..].chars().next()?;
    let rest = &code[i + 1..];
    rest.find(q).map(|j| &rest[..j])
}

/// `ns::name(` occurrences in a tag's code.
fn macro_calls(code: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("::") {
        let at = from + i;
        let ns_start = code[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        let rest = &code[at + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if rest[end..].trim_start().starts_with('(') {
            out.push((&code[ns_start..at], &rest[..end]));
        }
        from = at + 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_direct_and_indirect_recursion() {
        let t = "{% macro a() %}{{ self::a() }}{% endmacro %}";
        assert_eq!(find_cycle(&[("", t)]).map(|c| c.1), Some("a".to_string()));
        let lib = "{% macro x() %}{{ self::y() }}{% endmacro %}{% macro y() %}{{ self::x() }}{% endmacro %}";
        let t = "{% import \"lib\" as l %}{{ l::x() }}";
        assert!(find_cycle(&[("", t), ("lib", lib)]).is_some());
        let fine = "{% macro a() %}{{ self::b() }}{% endmacro %}{% macro b() %}x{% endmacro %}";
        assert_eq!(find_cycle(&[("", fine)]), None);
        // Same name in two files is not recursion.
        let lib = "{% macro span() %}x{% endmacro %}";
        let t = "{% import \"lib\" as m %}{% macro span() %}{{ m::span() }}{% endmacro %}";
        assert_eq!(find_cycle(&[("", t), ("lib", lib)]), None);
    }
}
