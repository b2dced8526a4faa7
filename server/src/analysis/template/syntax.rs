//! Stage a: Tera syntax. Tera's parser stops at the first error and speaks in line:column;
//! we convert its position to a byte offset, and when it fails we also run our own checks
//! (unterminated tags, imports below content, positional macro arguments, unbalanced
//! blocks, each tag parsed on its own) to report more than one problem. Our checks only
//! run when Tera itself rejects the text, so valid Tera never gets a false error.

use std::ops::Range;

use super::scan::{self, Scan, TagKind, Token, BLOCK_KEYWORDS};
pub use super::tera_error::tera_error;
use super::tera_error::{first_line_end, next_char_end};
use crate::analysis::{Code, Diagnostic};

/// Deeper nesting than this is refused before Tera's recursive parser sees it.
pub const MAX_NESTING: usize = 64;
/// Calls nested inside calls' arguments beyond this are refused too: Tera's parser takes
/// time exponential in this depth (six levels need 1.6 million parser calls).
pub const MAX_CALL_NESTING: usize = 5;

const KNOWN_KEYWORDS: &[&str] = &[
    "if",
    "elif",
    "else",
    "endif",
    "for",
    "endfor",
    "macro",
    "endmacro",
    "block",
    "endblock",
    "filter",
    "endfilter",
    "set",
    "set_global",
    "include",
    "import",
    "extends",
    "raw",
    "endraw",
    "break",
    "continue",
];

/// Refuses nesting deep enough to overflow Tera's recursive parser; false when refused.
pub fn nesting_ok(text: &str, scan: &Scan, diags: &mut Vec<Diagnostic>) -> bool {
    match nesting_problem(scan) {
        Some(problem) => {
            diags.push(Diagnostic::new(
                Code::TeraSyntax,
                0..first_line_end(text),
                format!("the template {problem}; it is not checked further"),
            ));
            false
        }
        None => true,
    }
}

/// Why `text` (a dependency) nests too deep for Tera's parser, if it does.
pub fn too_deep(text: &str) -> Option<String> {
    nesting_problem(&scan::scan(text)).map(|p| format!("it {p}"))
}

fn nesting_problem(scan: &Scan) -> Option<String> {
    if scan.max_expr_depth > MAX_NESTING || scan.max_block_depth > MAX_NESTING {
        Some(format!(
            "nests expressions or blocks more than {MAX_NESTING} levels deep"
        ))
    } else if scan.max_call_depth > MAX_CALL_NESTING {
        Some(format!(
            "nests function calls more than {MAX_CALL_NESTING} levels deep inside each other's arguments"
        ))
    } else {
        None
    }
}

/// Checks the syntax of `text` on its own; pushes every problem found and returns whether
/// it is valid.
#[cfg(test)]
pub fn check(text: &str, scan: &Scan, diags: &mut Vec<Diagnostic>) -> bool {
    if !nesting_ok(text, scan, diags) {
        return false;
    }
    match tera::Template::new("template", None, text) {
        Ok(_) => true,
        Err(e) => {
            report(text, scan, tera_error(text, &e), diags);
            false
        }
    }
}

/// Reports Tera's own error `main` (already in template positions) together with what
/// our checks find, without duplicates.
pub fn report(text: &str, scan: &Scan, main: Diagnostic, diags: &mut Vec<Diagnostic>) {
    let mut found = own_checks(text, scan);
    if !found
        .iter()
        .any(|d| d.range.start <= main.range.start || d.range.contains(&main.range.start))
    {
        found.push(main);
    }
    found.sort_by_key(|d| (d.range.start, d.range.end));
    let mut last_end = None;
    for d in found {
        if last_end.is_some_and(|e| d.range.start < e) {
            continue;
        }
        last_end = Some(d.range.end.max(d.range.start + 1));
        diags.push(d);
    }
}

/// Re-anchors a diagnostic computed on `from` (e.g. the marked text) at `at` in `text`.
pub fn moved(mut d: Diagnostic, text: &str, at: usize) -> Diagnostic {
    let at = at.min(text.len());
    d.range = at..next_char_end(text, at);
    d
}

fn own_checks(text: &str, scan: &Scan) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = scan
        .problems
        .iter()
        .map(|p| Diagnostic::new(Code::TeraSyntax, p.range.clone(), p.message.clone()))
        .collect();
    import_position(text, scan, &mut out);
    block_balance(text, scan, &mut out);
    for tag in scan.tags() {
        if tag.kind == TagKind::Comment {
            continue;
        }
        positional_macro_args(text, tag.inner.clone(), &mut out);
        let keyword = tag.keyword(text);
        if tag.kind == TagKind::Stmt && !KNOWN_KEYWORDS.contains(&keyword) {
            out.push(Diagnostic::new(
                Code::TeraSyntax,
                tag.range.clone(),
                format!("unknown tag `{{% {keyword} %}}`"),
            ));
            continue;
        }
        if out.iter().any(|d| tag.range.contains(&d.range.start)) {
            continue;
        }
        if let Some(d) = parse_alone(text, tag, keyword) {
            out.push(d);
        }
    }
    out
}

/// Parses a single tag, wrapped so that it forms a template by itself.
fn parse_alone(text: &str, tag: &scan::Tag, keyword: &str) -> Option<Diagnostic> {
    let src = &text[tag.range.clone()];
    let (prefix, suffix) = match (tag.kind, keyword) {
        (TagKind::Expr, _) if src.contains("super()") => return None,
        (TagKind::Expr, _) | (TagKind::Stmt, "set" | "set_global" | "include") => ("", ""),
        (TagKind::Stmt, "if") => ("", "{% endif %}"),
        (TagKind::Stmt, "elif") => ("{% if true %}", "{% endif %}"),
        (TagKind::Stmt, "for") => ("", "{% endfor %}"),
        (TagKind::Stmt, "filter") => ("", "{% endfilter %}"),
        _ => return None,
    };
    let wrapped = format!("{prefix}{src}{suffix}");
    let err = super::parse::error_alone(&wrapped)?;
    let mut d = tera_error(&wrapped, &err);
    let at = d.range.start.saturating_sub(prefix.len()).min(src.len());
    let start = tag.range.start + at;
    d.range = start..next_char_end(text, start).min(tag.range.end).max(start);
    Some(d)
}

/// Tera accepts `{% import %}` / `{% extends %}` only before any other content.
fn import_position(text: &str, scan: &Scan, out: &mut Vec<Diagnostic>) {
    let mut content: Option<Range<usize>> = None;
    for tok in &scan.tokens {
        match tok {
            Token::Text(r) => {
                if content.is_none() && !text[r.clone()].trim().is_empty() {
                    let s = r.start + (text[r.clone()].len() - text[r.clone()].trim_start().len());
                    content = Some(s..s + first_line_end(&text[s..]));
                }
            }
            Token::Tag(t) if t.kind == TagKind::Comment => {}
            Token::Tag(t) => {
                let kw = t.keyword(text);
                if matches!(kw, "import" | "extends") {
                    if let Some(c) = &content {
                        let what = if text[c.clone()].starts_with('#') {
                            " (a TOML `#` comment is content too; use a Tera comment `{# … #}`)"
                        } else {
                            ""
                        };
                        out.push(
                            Diagnostic::new(
                                Code::TeraSyntax,
                                t.range.clone(),
                                format!("`{{% {kw} %}}` must come before any other content: Tera only accepts it at the top of the template{what}"),
                            )
                            .with_related(c.clone(), "content before it"),
                        );
                    }
                } else if content.is_none() {
                    content = Some(t.range.clone());
                }
            }
        }
    }
}

/// `ns::name("x")`: Tera macros take keyword arguments only.
fn positional_macro_args(text: &str, inner: Range<usize>, out: &mut Vec<Diagnostic>) {
    let code = &text[inner.clone()];
    let bytes = code.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if matches!(bytes[i], b'"' | b'\'' | b'`') {
            match code[i + 1..].find(bytes[i] as char) {
                Some(rel) => i += rel + 2,
                None => return,
            }
            continue;
        }
        if &bytes[i..i + 2] == b"::" {
            // After the last non-identifier character, whatever its width (`é::m`).
            let name_start = code[..i]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                .map_or(0, |(p, c)| p + c.len_utf8());
            let mut j = i + 2;
            while j < bytes.len() && scan::is_ident_byte(bytes[j]) {
                j += 1;
            }
            let call_name_end = j;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if bytes.get(j) == Some(&b'(') {
                let args = code[j + 1..].trim_start();
                if !args.starts_with(')') && !is_kwarg_start(args) {
                    out.push(Diagnostic::new(
                        Code::TeraSyntax,
                        inner.start + name_start..inner.start + call_name_end,
                        format!(
                            "macro `{}` is called with positional arguments; Tera macros take keyword arguments only (`name=value`)",
                            &code[name_start..call_name_end]
                        ),
                    ));
                }
            }
            i = j.max(i + 2);
            continue;
        }
        i += 1;
    }
}

fn is_kwarg_start(s: &str) -> bool {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    if end == 0 {
        return false;
    }
    let rest = s[end..].trim_start();
    rest.starts_with('=') && !rest.starts_with("==")
}

/// Every `if`/`for`/`macro`/`block`/`filter` needs its `end…`, in order.
fn block_balance(text: &str, scan: &Scan, out: &mut Vec<Diagnostic>) {
    let mut stack: Vec<(&str, Range<usize>)> = Vec::new();
    for tag in scan.tags().filter(|t| t.kind == TagKind::Stmt) {
        let kw = tag.keyword(text);
        if BLOCK_KEYWORDS.contains(&kw) {
            stack.push((kw, tag.range.clone()));
        } else if let Some(open) = kw
            .strip_prefix("end")
            .filter(|k| BLOCK_KEYWORDS.contains(k))
        {
            match stack.iter().rposition(|(k, _)| *k == open) {
                Some(pos) => {
                    for (k, r) in stack.drain(pos + 1..) {
                        out.push(unclosed(k, r));
                    }
                    stack.pop();
                }
                None => out.push(Diagnostic::new(
                    Code::TeraSyntax,
                    tag.range.clone(),
                    format!("`{{% {kw} %}}` without a matching `{{% {open} %}}`"),
                )),
            }
        } else if matches!(kw, "elif" | "else") {
            let ok = stack
                .last()
                .is_some_and(|(k, _)| *k == "if" || (kw == "else" && *k == "for"));
            if !ok {
                out.push(Diagnostic::new(
                    Code::TeraSyntax,
                    tag.range.clone(),
                    format!("`{{% {kw} %}}` outside an `{{% if %}}` block"),
                ));
            }
        }
    }
    // After an unterminated tag the scan stopped: the `end…` tags may be in what it skipped.
    if !scan.truncated {
        for (k, r) in stack {
            out.push(unclosed(k, r));
        }
    }
}

fn unclosed(keyword: &str, range: Range<usize>) -> Diagnostic {
    Diagnostic::new(
        Code::TeraSyntax,
        range,
        format!("`{{% {keyword} %}}` is never closed by `{{% end{keyword} %}}`"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        check(text, &scan::scan(text), &mut d);
        d
    }

    #[test]
    fn an_unterminated_tag_does_not_leave_its_block_unclosed_too() {
        let text = "{% macro cache(name) %}\n[service.{{ name }]\nimage = \"redis:7\"\n{% endmacro cache %}\n";
        let d = check_text(text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].range.start, text.find("{{").unwrap());
    }

    #[test]
    fn valid_templates_have_no_errors() {
        for t in [
            "{# c #}\n{% import \"m.tera\" as m %}\n[a]\nx = {{ m::f(a=1) }}\n",
            "{% for x in [1,2] -%}\n{{ x }}{% if x > 1 %}y{% else %}z{% endif %}\n{%- endfor %}",
            "{% raw %}{{ not parsed {% {% endraw %}",
            "{{ \"}}\" ~ '%}' }}",
            "{% macro f(a, b=1) %}{{ a }}{% endmacro %}{{ self::f(a=2) }}",
        ] {
            assert_eq!(check_text(t), vec![], "{t}");
        }
    }

    #[test]
    fn syntax_error_has_its_position() {
        let t = "[a]\nx = 1\ny = {{ foo( }}\n";
        let d = check_text(t);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, Code::TeraSyntax);
        let line3 = t.find("y =").unwrap();
        assert!(
            d[0].range.start > line3 && d[0].range.start < line3 + 16,
            "{d:?}"
        );
        assert!(!d[0].message.contains("-->"));
    }

    #[test]
    fn reports_several_problems() {
        let t = "# toml comment\n{% import \"_macros.toml.tera\" as m %}\n{{ m::span(\"x\") }}\n{% if a %}\n{{ b + }}\n";
        let d = check_text(t);
        let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("must come before")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("positional")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("never closed")), "{msgs:?}");
        assert!(d.len() >= 4, "{msgs:?}");
        let import = t.find("{% import").unwrap();
        assert_eq!(d[0].range.start, import);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let t = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        let d = check_text(&t);
        assert_eq!(d.len(), 1);
        let t = "{% if a %}".repeat(500);
        assert_eq!(check_text(&t).len(), 1);
    }

    #[test]
    fn positions_count_characters() {
        let t = "a = \"é€\"\nb = {{ x y }}";
        let d = check_text(t);
        assert_eq!(d.len(), 1);
        assert!(
            t[d[0].range.clone()].starts_with('y'),
            "{:?}",
            &t[d[0].range.clone()]
        );
    }
}
