//! clnrm 1.3.0's `run` reads a `*.toml` test as raw TOML without rendering it, so a Tera
//! statement outside a TOML string makes the file unreadable there, although it renders.

use super::scan::{Scan, TagKind, Token};
use crate::analysis::{Code, Diagnostic};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Comment,
    Basic,
    Literal,
    MultiBasic,
    MultiLiteral,
}

/// The first `{% … %}` tag standing outside TOML strings and comments, as one
/// information diagnostic.
pub fn raw_run_check(text: &str, scan: &Scan) -> Option<Diagnostic> {
    let mut state = State::Code;
    let mut pos = 0;
    for tok in &scan.tokens {
        match tok {
            Token::Text(r) => {
                state = advance(&text[pos.max(r.start)..r.end], state);
                pos = r.end;
            }
            Token::Tag(tag) => {
                if tag.kind == TagKind::Stmt && state == State::Code {
                    return Some(Diagnostic::new(
                        Code::RunCompat,
                        tag.range.clone(),
                        "`clnrm run` parses this `.toml` file as plain TOML without rendering it, so this Tera tag outside a string makes it fail to load; rename the file to `.clnrm.toml.tera` and use `clnrm render`, or keep Tera inside string values",
                    ));
                }
                pos = tag.range.end;
            }
        }
    }
    None
}

fn advance(s: &str, mut state: State) -> State {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        match state {
            State::Code => match b[i] {
                b'#' => state = State::Comment,
                b'"' if rest.starts_with(b"\"\"\"") => {
                    state = State::MultiBasic;
                    i += 2;
                }
                b'\'' if rest.starts_with(b"'''") => {
                    state = State::MultiLiteral;
                    i += 2;
                }
                b'"' => state = State::Basic,
                b'\'' => state = State::Literal,
                _ => {}
            },
            State::Comment => {
                if b[i] == b'\n' {
                    state = State::Code;
                }
            }
            State::Basic => match b[i] {
                b'\\' => i += 1,
                b'"' | b'\n' => state = State::Code,
                _ => {}
            },
            State::Literal => {
                if b[i] == b'\'' || b[i] == b'\n' {
                    state = State::Code;
                }
            }
            State::MultiBasic => {
                if b[i] == b'\\' {
                    i += 1;
                } else if rest.starts_with(b"\"\"\"") {
                    state = State::Code;
                    i += 2;
                }
            }
            State::MultiLiteral => {
                if rest.starts_with(b"'''") {
                    state = State::Code;
                    i += 2;
                }
            }
        }
        i += 1;
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::scan::scan;

    fn check(t: &str) -> Option<std::ops::Range<usize>> {
        raw_run_check(t, &scan(t)).map(|d| d.range)
    }

    #[test]
    fn flags_statements_outside_strings_only() {
        assert_eq!(check("a = \"{% if x %}y{% endif %}\"\n# {% c %}\n"), None);
        let t = "a = 1\n{% for s in [1] %}\n[x]\n{% endfor %}";
        assert_eq!(check(t), Some(6..24));
        assert_eq!(check("a = '''\n{% x %}\n'''"), None);
        assert_eq!(check("a = {{ x }}"), None);
    }
}
