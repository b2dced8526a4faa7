//! Tera's parser speaks in grammar terms ("expected `or`, `and`, … or a variable end");
//! these rewrite its syntax errors into what is wrong and what to do, for the slips people
//! actually make in TOML templates.

use super::compat::CommentCursor;
use crate::analysis::{Code, Diagnostic, Edit, Fix};

/// Improve every `tera-syntax` finding in `diags` (positions in `text`).
pub fn explain(text: &str, diags: &mut [Diagnostic]) {
    let mut comments = CommentCursor::new(text);
    for d in diags.iter_mut().filter(|d| d.code == Code::TeraSyntax) {
        single_brace_close(text, d);
        in_comment(text, d, &mut comments);
        missing_value(text, d);
    }
}

/// "expected a value that can be negated …": a value is missing, and what is before the
/// error says which one.
fn missing_value(text: &str, d: &mut Diagnostic) {
    let grammar = d
        .message
        .starts_with("expected a value that can be negated")
        || d.message.starts_with("expected an integer, a float");
    if !grammar {
        return;
    }
    let before = up_to(text, d.range.start).trim_end();
    const OPERATORS: [&str; 17] = [
        "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "~", " and", " or", " not",
        " in", "(",
    ];
    d.message = if before.ends_with('=') && !before.ends_with("==") {
        "a value is missing after `=`: write the value (a string goes in quotes)".to_string()
    } else if before.ends_with("{% if") || before.ends_with("{% elif") || before.ends_with("{%- if")
    {
        "`if` needs a condition: write one, e.g. `{% if svc == \"db\" %}`".to_string()
    } else if before.ends_with("{{") || before.ends_with("{{-") {
        "this `{{ }}` is empty: write an expression inside it, or remove it".to_string()
    } else if let Some(op) = OPERATORS.iter().find(|op| before.ends_with(*op)) {
        let op = op.trim();
        if op == "(" {
            "a value is missing after `(`: write it, or close the parenthesis".to_string()
        } else {
            format!("`{op}` has nothing after it: add the value it applies to, or remove `{op}`")
        }
    } else {
        return;
    };
}

/// `text` up to `end` (two bytes past an error), cut back to a character boundary: the
/// bytes after an error may be the middle of `é`.
fn up_to(text: &str, end: usize) -> &str {
    let mut end = end.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `{{ svc }_smoke`: the expression was closed with one brace.
fn single_brace_close(text: &str, d: &mut Diagnostic) {
    let start = d.range.start.min(text.len());
    let Some(opener) = up_to(text, start.saturating_add(2)).rfind("{{") else {
        return;
    };
    let line_end = text[opener..].find('\n').map_or(text.len(), |e| opener + e);
    let tag = &text[opener..line_end];
    let grammar = d.message.contains("a variable end (`}}`)");
    let unclosed = d.message.contains("is never closed by `}}`");
    if !(grammar || unclosed) {
        return;
    }
    // The first `}` of the tag that is not part of `}}`.
    let b = tag.as_bytes();
    let Some(i) = (2..b.len()).find(|&i| b[i] == b'}' && b.get(i + 1) != Some(&b'}')) else {
        return;
    };
    if b[2..i].contains(&b'}') {
        return;
    }
    let at = opener + i;
    d.range = at..at + 1;
    d.message = "`{{` closed with `}`: an expression ends with `}}`".to_string();
    d.fix = Some(Fix {
        title: "Close the expression with `}}`".to_string(),
        edits: vec![Edit {
            range: at..at + 1,
            new_text: "}}".to_string(),
        }],
    });
}

/// A tag inside a TOML comment: Tera reads comments too.
fn in_comment(text: &str, d: &mut Diagnostic, comments: &mut CommentCursor<'_>) {
    let start = d.range.start.min(text.len());
    let window = up_to(text, start.saturating_add(2));
    let opener = [window.rfind("{{"), window.rfind("{%")]
        .into_iter()
        .flatten()
        .max();
    let Some(opener) = opener else { return };
    // Only when the tag starts on the error's line: an earlier opener is another tag.
    // The opener may start just after the error's position (`get` is then `None`).
    let newline_between = text.get(opener..start).is_some_and(|s| s.contains('\n'));
    if newline_between || !comments.in_comment(opener) {
        return;
    }
    let delim = &text[opener..opener + 2];
    d.message = format!(
        "this `{delim}` is inside a TOML comment, but clnrm renders the whole file, comments included, and Tera cannot read it ({}); wrap it in `{{% raw %}}…{{% endraw %}}` to keep it literal, or write a Tera comment `{{# … #}}`",
        d.message
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_uncached, Environment, FileKind};

    fn first(text: &str) -> Diagnostic {
        let a = analyze_uncached(text, FileKind::Test, Vec::new(), &Environment::empty());
        a.diagnostics.into_iter().next().unwrap()
    }

    #[test]
    fn errors_next_to_multibyte_text_are_explained_without_panicking() {
        // Found by the fuzzer: the window two bytes past an error cut `é`/`→` in half,
        // and an opener right after the error made an inverted range.
        for text in [
            "{% extends \"b.tera\"[→service.db]\n",
            "x = \"{{ a é\"\n",
            "{{ self:~m(n=1) }}→",
            "{% macro m() %}) |m{{\n",
            "# {{ é\n",
        ] {
            let mut diags = vec![Diagnostic::new(Code::TeraSyntax, 0..0, "x")];
            for at in 0..=text.len() {
                diags[0].range = at..at;
                diags[0].message = "expected a variable end (`}}`)".to_string();
                explain(text, &mut diags);
            }
            let _ = analyze_uncached(text, FileKind::Test, Vec::new(), &Environment::empty());
        }
    }

    #[test]
    fn single_brace_close_is_named_and_fixed() {
        for text in [
            "[meta]\nname = \"{{ svc }_smoke\"\n",
            "[meta]\nname = \"{{ svc }_smoke\"\nversion = \"{{ env }}\"\n",
        ] {
            let d = first(text);
            assert_eq!(
                d.message,
                "`{{` closed with `}`: an expression ends with `}}`"
            );
            assert_eq!(&text[d.range.clone()], "}");
            assert_eq!(d.fix.unwrap().edits[0].new_text, "}}");
        }
    }

    #[test]
    fn a_missing_value_says_which() {
        let head = "[meta]\nname = \"t\"\nversion = \"1\"\n";
        for (body, want) in [
            ("{% set x = %}\n", "a value is missing after `=`"),
            (
                "x = \"{{ svc | default(value=) }}\"\n",
                "a value is missing after `=`",
            ),
            ("{% if %}\n{% endif %}\n", "`if` needs a condition"),
            ("x = \"{{ svc + }}\"\n", "`+` has nothing after it"),
            ("x = \"{{ \"a\" ~ }}\"\n", "`~` has nothing after it"),
        ] {
            let d = first(&format!("{head}{body}"));
            assert_eq!(d.code, Code::TeraSyntax);
            assert!(d.message.starts_with(want), "{body}: {}", d.message);
        }
    }

    #[test]
    fn a_tag_in_a_toml_comment_says_so_and_suggests_raw() {
        let text = "[meta]\nname = \"t\"\n# render with {{ }} here\n";
        let d = first(text);
        assert_eq!(d.code, Code::TeraSyntax);
        assert!(d.message.contains("inside a TOML comment"), "{}", d.message);
        assert!(d.message.contains("{% raw %}"), "{}", d.message);
        let text = "a = \"# not a comment {{ }}\"\n";
        assert!(!first(text).message.contains("TOML comment"));
    }
}
