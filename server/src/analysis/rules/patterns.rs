//! Small parsers for values clnrm interprets: regexes, globs, durations, shell words,
//! timestamps, env names.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::analysis::FastHash;

/// Regex compilation dominates the rules' cost; on a keystroke the patterns rarely change,
/// so their verdicts are memoised (bounded: cleared when full).
static REGEX_VERDICTS: LazyLock<Mutex<HashMap<String, Option<String>, FastHash>>> =
    LazyLock::new(|| Mutex::new(HashMap::default()));
const REGEX_MEMO_MAX: usize = 1024;

/// clnrm matches `expected_output_regex` with the `regex` crate; `None` when it compiles.
pub fn regex_error(pattern: &str) -> Option<String> {
    if let Some(hit) = REGEX_VERDICTS
        .lock()
        .ok()
        .and_then(|m| m.get(pattern).cloned())
    {
        return hit;
    }
    let verdict = compile_error(pattern);
    if let Ok(mut m) = REGEX_VERDICTS.lock() {
        if m.len() >= REGEX_MEMO_MAX {
            m.clear();
        }
        m.insert(pattern.to_string(), verdict.clone());
    }
    verdict
}

fn compile_error(pattern: &str) -> Option<String> {
    if plainly_valid(pattern) {
        return None;
    }
    // Translating the syntax tree (Unicode classes such as `\w` become large tables) can
    // only fail on a Unicode property (`\p`, `\P`) or under flags (`(?-u)`); elsewhere
    // the tree decides.
    let translation_may_fail =
        pattern.contains("\\p") || pattern.contains("\\P") || pattern.contains("(?");
    if !translation_may_fail
        && regex_syntax::ast::parse::Parser::new()
            .parse(pattern)
            .is_ok()
    {
        return None;
    }
    // The `regex` crate's syntax errors come from regex-syntax; parsing alone is ~20x
    // cheaper than compiling, and compile-size limits do not apply to clnrm's patterns.
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .err()
        .map(|e| e.to_string())
}

/// Whether `pattern` is literals, `.`, anchors and `|` with single `*`/`+`/`?` after a
/// literal or `.` (`"success|completed"`, `"count.*2"`): valid without parsing, and most
/// real patterns look like that.
fn plainly_valid(pattern: &str) -> bool {
    let mut after_atom = false;
    for c in pattern.chars() {
        after_atom = match c {
            '*' | '+' | '?' if after_atom => false,
            '\\' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' => return false,
            '^' | '$' | '|' => false,
            _ => true,
        };
    }
    true
}

/// clnrm's dry-run and status matcher use `glob::Pattern`.
pub fn glob_error(pattern: &str) -> Option<String> {
    glob::Pattern::new(pattern).err().map(|e| e.msg.to_string())
}

/// clnrm's config duration: digits then a unit (`30s`, `5 min`, `2h`, `1day`).
pub fn is_duration(s: &str) -> bool {
    let s = s.trim();
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let unit = s[digits..].trim();
    matches!(
        unit,
        "s" | "sec"
            | "secs"
            | "second"
            | "seconds"
            | "m"
            | "min"
            | "mins"
            | "minute"
            | "minutes"
            | "h"
            | "hr"
            | "hrs"
            | "hour"
            | "hours"
            | "d"
            | "day"
            | "days"
    )
}

/// How clnrm's `parse_shell_command` fails on a scenario `run`, if it does.
pub fn shell_split_error(cmd: &str) -> Option<&'static str> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut words = 0usize;
    let mut in_word = false;
    for c in cmd.chars() {
        if escaped {
            escaped = false;
            in_word = true;
            continue;
        }
        match quote {
            Some('\'') if c == '\'' => quote = None,
            Some('\'') => {}
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => escaped = true,
            Some(_) => {}
            None if c == '\\' => escaped = true,
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                if !in_word {
                    words += 1;
                    in_word = true;
                }
            }
            None if c.is_whitespace() => in_word = false,
            None => {
                if !in_word {
                    words += 1;
                    in_word = true;
                }
            }
        }
    }
    if quote.is_some() {
        Some("unbalanced quote")
    } else if escaped {
        Some("trailing backslash")
    } else if words == 0 {
        Some("empty command")
    } else {
        None
    }
}

/// RFC 3339 date-time, as `chrono::DateTime::parse_from_rfc3339` accepts it.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|x| x.is_ascii_digit()),
        _ => false,
    }
}

/// dry-run's rule for env names: `^[A-Za-z_][A-Za-z0-9_]*$`.
pub fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// dry-run's secret heuristic: a secret-looking name with a literal (non-`$`) value.
pub fn looks_secret(key: &str, value: &str) -> bool {
    const MARKERS: [&str; 9] = [
        "API_KEY",
        "PASSWORD",
        "SECRET",
        "TOKEN",
        "PRIVATE_KEY",
        "CREDENTIALS",
        "AUTH_TOKEN",
        "ACCESS_KEY",
        "SECRET_KEY",
    ];
    let upper = key.to_ascii_uppercase();
    !value.is_empty() && !value.starts_with('$') && MARKERS.iter().any(|m| upper.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_and_globs() {
        assert!(regex_error("ok.*").is_none());
        assert!(regex_error("(unclosed").is_some());
        assert!(glob_error("clnrm.*").is_none());
        assert!(glob_error("a[b").is_some());
    }

    /// Every string of up to four of `alphabet`'s pieces.
    fn strings_of(alphabet: &[&str]) -> Vec<String> {
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            strings.extend(longer);
        }
        strings
    }

    #[test]
    fn the_fast_path_only_passes_what_the_parser_accepts() {
        let patterns = strings_of(&["a", ".", "*", "+", "?", "|", "^", "$", " ", "\\", "(", "{"]);
        let parser = || regex_syntax::ParserBuilder::new().build();
        for p in &patterns {
            if plainly_valid(p) {
                assert!(parser().parse(p).is_ok(), "{p:?}");
            }
        }
        assert!(plainly_valid("success|completed") && plainly_valid("count.*2"));
        // The syntax-tree shortcut gives the full parser's verdict.
        let mut patterns = strings_of(&[
            "\\", "p", "P", "{", "}", "(", "?", "-", "u", ")", "w", "[", "]", "x",
        ]);
        patterns.extend(
            [
                r"\p{Greek}",
                r"\p{Nope}",
                r"(?-u)\xFF",
                r"^\s*7\s*$",
                r"[0-9a-f]{8}-",
                r"\w+\d",
            ]
            .map(String::from),
        );
        for p in &patterns {
            let full = parser().parse(p).err().map(|e| e.to_string());
            assert_eq!(compile_error(p), full, "{p:?}");
        }
        assert!(!plainly_valid("*a") && !plainly_valid("a**"));
    }

    #[test]
    fn durations() {
        for ok in ["30s", "5 min", "2h", "1day", "10 seconds"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "s", "30", "1.5s", "10ms", "-1s"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_split_error("echo 'a b' \"c\""), None);
        assert_eq!(shell_split_error("echo 'a"), Some("unbalanced quote"));
        assert_eq!(shell_split_error("   "), Some("empty command"));
        assert_eq!(shell_split_error("a \\"), Some("trailing backslash"));
    }

    #[test]
    fn timestamps() {
        assert!(is_rfc3339("2025-01-01T00:00:00Z"));
        assert!(is_rfc3339("2025-01-01T00:00:00.123+02:00"));
        assert!(!is_rfc3339("2025-01-01"));
        assert!(!is_rfc3339("yesterday"));
    }

    #[test]
    fn env_names_and_secrets() {
        assert!(is_env_name("A_1") && !is_env_name("1A") && !is_env_name("A-B"));
        assert!(looks_secret("db_password", "hunter2"));
        assert!(!looks_secret("DB_PASSWORD", "$DB_PASSWORD"));
        assert!(!looks_secret("HOST", "x"));
    }
}
