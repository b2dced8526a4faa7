//! clnrm 1.3.0's `run` reads a `*.toml` test as raw TOML without rendering it, so a Tera
//! tag outside a TOML string makes the file unreadable there, although it renders. `run`
//! renders only top-level `[[steps]]` `command` elements, with the file's `[vars]` and no
//! defaults, so a variable there that `[vars]` lacks fails the step.

use std::ops::Range;

use serde_json::{Map, Value};

use super::context::{toml_to_json, DEFAULTS};
use super::scan::{Scan, Tag, TagKind, Token};
use crate::analysis::{Code, Diagnostic, Severity};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Comment,
    Basic,
    Literal,
    MultiBasic,
    MultiLiteral,
}

/// The first Tera tag standing outside TOML strings and comments, as one error: clnrm's
/// loader cannot parse the file.
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
                if tag.kind != TagKind::Comment && state == State::Code {
                    return Some(
                        Diagnostic::new(
                            Code::RunCompat,
                            tag.range.clone(),
                            "clnrm's loader reads a `.toml` file as plain TOML without rendering it, so this Tera tag outside a string is a TOML syntax error there and `clnrm run` refuses the file; keep Tera inside string values, or rename the file to `.clnrm.toml.tera` and render it with `clnrm render`",
                        )
                        .with_severity(Severity::Error),
                    );
                }
                pos = tag.range.end;
            }
        }
    }
    None
}

/// Variables used in top-level `[[steps]]` commands that `run`'s renderer (this file's
/// `[vars]` only, no defaults) does not define: one error per name, other uses related.
pub fn step_command_vars(text: &str, scan: &Scan) -> Vec<Diagnostic> {
    // Most files have no `{{ }}` tag or no steps: spare them a second TOML parse.
    if !text.contains("steps") || !scan.tags().any(|t| t.kind == TagKind::Expr) {
        return Vec::new();
    }
    let Ok(doc) = toml_edit::Document::parse(text.to_string()) else {
        return Vec::new();
    };
    let commands: Vec<Range<usize>> = doc
        .get("steps")
        .and_then(|s| s.as_array_of_tables())
        .into_iter()
        .flat_map(|steps| steps.iter())
        .filter_map(|step| step.get("command").and_then(|c| c.as_array()))
        .flat_map(|cmd| cmd.iter().filter_map(|e| e.span()))
        .collect();
    if commands.is_empty() {
        return Vec::new();
    }
    let context = run_context(&doc);
    let mut undefined: Vec<(String, Vec<Range<usize>>)> = Vec::new();
    for tag in scan.tags().filter(|t| t.kind == TagKind::Expr) {
        let in_command = commands
            .iter()
            .any(|c| c.start <= tag.range.start && tag.range.end <= c.end);
        if !in_command {
            continue;
        }
        for (path, range) in variable_uses(text, tag) {
            if resolves(&context, &path) {
                continue;
            }
            match undefined.iter_mut().find(|(p, _)| *p == path) {
                Some((_, uses)) => uses.push(range),
                None => undefined.push((path, vec![range])),
            }
        }
    }
    undefined
        .into_iter()
        .filter_map(|(path, uses)| {
            let mut uses = uses.into_iter();
            let first = uses.next()?;
            let root = path.split('.').next().unwrap_or(&path);
            let default_note = if DEFAULTS.iter().any(|d| d.0 == root) {
                format!(" (`{root}` is one of clnrm's defaults, but `run` does not set them for step commands)")
            } else {
                String::new()
            };
            let mut d = Diagnostic::new(
                Code::UndefinedVariable,
                first,
                format!("`{path}` is not defined when `clnrm run` renders this step command: it uses this file's [vars] only{default_note}, so the file loads but the step fails when run; add `{root} = \"…\"` under [vars]"),
            );
            for r in uses {
                d = d.with_related(r, format!("`{path}` is also used here"));
            }
            Some(d)
        })
        .collect()
}

/// What `run` renders step commands with: the parsed `[vars]` table at top level and under
/// `vars`, and empty `matrix`/`otel`.
fn run_context(doc: &toml_edit::Document<String>) -> Map<String, Value> {
    let mut vars = Map::new();
    if let Some(table) = doc.get("vars").and_then(|v| v.as_table_like()) {
        for (k, v) in table.iter() {
            vars.insert(k.to_string(), item_to_json(v));
        }
    }
    let mut context = vars.clone();
    context.insert("vars".into(), Value::Object(vars));
    context.insert("matrix".into(), Value::Object(Map::new()));
    context.insert("otel".into(), Value::Object(Map::new()));
    context
}

fn item_to_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::Value(v) => toml_to_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), item_to_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_string(), item_to_json(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
        toml_edit::Item::None => Value::Null,
    }
}

/// Dotted variable paths an expression tag reads, with their ranges: not function or
/// filter names, keyword-argument names, keywords or literals; nothing when the tag guards
/// with `| default(…)` or an `is` test.
fn variable_uses(text: &str, tag: &Tag) -> Vec<(String, Range<usize>)> {
    let inner = &text[tag.inner.clone()];
    if inner.contains("default(") || inner.contains(" is ") {
        return Vec::new();
    }
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut prev: u8 = b' ';
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i = inner[i + 1..]
                .find(c as char)
                .map_or(b.len(), |e| i + 1 + e + 1);
            prev = c;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            let word = inner[start..i].trim_end_matches('.');
            let rest = inner[i..].trim_start();
            let is_call = rest.starts_with('(');
            let is_kwarg = rest.starts_with('=') && !rest.starts_with("==");
            let keyword = matches!(
                word,
                "and" | "or" | "not" | "in" | "is" | "true" | "false" | "True" | "False" | "none"
            );
            if prev != b'|' && !is_call && !is_kwarg && !keyword {
                let at = tag.inner.start + start;
                out.push((word.to_string(), at..at + word.len()));
            }
            prev = b'a';
            continue;
        }
        if !c.is_ascii_whitespace() {
            prev = c;
        }
        i += 1;
    }
    out
}

fn resolves(context: &Map<String, Value>, path: &str) -> bool {
    let mut parts = path.split('.');
    let Some(mut node) = parts.next().and_then(|first| context.get(first)) else {
        return false;
    };
    for p in parts {
        match node.get(p) {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

fn advance(s: &str, state: State) -> State {
    let b = s.as_bytes();
    run(b, 0, b.len(), state).0
}

/// [`step`] from `i` until the position reaches `end` (lookahead may read past it): the
/// state and where the next byte to step is. Bytes that cannot change the state are
/// skipped with `memchr` rather than stepped one by one.
fn run(b: &[u8], mut i: usize, end: usize, mut state: State) -> (State, usize) {
    let end = end.min(b.len());
    while i < end {
        let window = &b[i..end];
        let next = match state {
            State::Code => memchr::memchr3(b'#', b'"', b'\'', window),
            State::Comment => memchr::memchr(b'\n', window),
            State::Basic => memchr::memchr3(b'\\', b'"', b'\n', window),
            State::Literal => memchr::memchr2(b'\'', b'\n', window),
            State::MultiBasic => memchr::memchr2(b'\\', b'"', window),
            State::MultiLiteral => memchr::memchr(b'\'', window),
        };
        let Some(skip) = next else {
            return (state, end);
        };
        (state, i) = step(b, i + skip, state);
    }
    (state, i)
}

/// The state after the byte (or `"""`, `'''`, escape) at `i` of `b`, and where the next
/// one starts.
fn step(b: &[u8], mut i: usize, mut state: State) -> (State, usize) {
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
    (state, i + 1)
}

/// Whether tag openers (`{{`, `{%`) of one text are inside a TOML comment (strings taken
/// into account), asked in increasing order: the scan goes on from the last one instead
/// of starting over for each. At an opener no quote or escape straddles the position, so
/// this equals a scan of the text before it.
pub struct CommentCursor<'t> {
    text: &'t [u8],
    next: usize,
    state: State,
}

impl<'t> CommentCursor<'t> {
    pub fn new(text: &'t str) -> Self {
        Self {
            text: text.as_bytes(),
            next: 0,
            state: State::Code,
        }
    }

    /// Whether the opener at byte `at` is inside a TOML comment.
    pub fn in_comment(&mut self, at: usize) -> bool {
        if at > self.text.len() {
            return false;
        }
        if at < self.next {
            (self.next, self.state) = (0, State::Code);
        }
        (self.state, self.next) = run(self.text, self.next, at, self.state);
        self.state == State::Comment
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::template::scan::scan;

    fn check(t: &str) -> Option<std::ops::Range<usize>> {
        raw_run_check(t, &scan(t)).map(|d| d.range)
    }

    #[test]
    fn flags_tags_outside_strings_only() {
        assert_eq!(check("a = \"{% if x %}y{% endif %}\"\n# {% c %}\n"), None);
        let t = "a = 1\n{% for s in [1] %}\n[x]\n{% endfor %}";
        assert_eq!(check(t), Some(6..24));
        assert!(raw_run_check(t, &scan(t)).unwrap().is_error());
        assert_eq!(check("a = '''\n{% x %}\n'''"), None);
        assert_eq!(check("a = {{ x }}"), Some(4..11));
        assert_eq!(check("a = \"{{ x }}\" # {{ y }}"), None);
    }

    #[test]
    fn the_comment_cursor_agrees_with_a_scan_of_the_text_before_each_opener() {
        let texts = [
            "a = 1 # {{ x }}\nb = \"# {{ y }}\" # {% z %}\n",
            "s = \"\"\"\n# {{ in string }}\n\"\"\" # {{ c }}\nt = '''{{ a }}''' {{ b }}\n",
            "e = \"\\\"{{ q }}\" # x\n{{ r }}\nl = 'it''s' # {% t %}",
        ];
        for text in texts {
            let mut cursor = CommentCursor::new(text);
            for (at, _) in text.match_indices('{') {
                let whole = advance(&text[..at], State::Code) == State::Comment;
                assert_eq!(cursor.in_comment(at), whole, "{text:?} at {at}");
            }
            // Asked out of order, it starts over.
            let first = text.find('{').unwrap();
            let whole = advance(&text[..first], State::Code) == State::Comment;
            assert_eq!(cursor.in_comment(first), whole);
        }
    }

    #[test]
    fn skipping_to_the_bytes_that_matter_equals_stepping_every_byte() {
        let texts = [
            "a = 1 # {{ x }}\nb = \"# {{ y }}\" # {% z %}\n",
            "s = \"\"\"\n# \\\" {{ in string }}\n\"\"\" # {{ c }}\nt = '''{{ a }}''' {{ b }}\n",
            "e = \"\\\"{{ q }}\" # x\n{{ r }}\nl = 'it''s' # {% t %}\r\n'\n\"\\",
            "x = \"\"\"a\"\"b\"\"\"\"\ny = '''''c''''\n#",
        ];
        for text in texts {
            let b = text.as_bytes();
            for end in 0..=b.len() {
                for start in [State::Code, State::Comment, State::Basic, State::MultiBasic] {
                    let mut by_byte = (start, 0);
                    while by_byte.1 < end {
                        by_byte = step(b, by_byte.1, by_byte.0);
                    }
                    assert!(run(b, 0, end, start) == by_byte, "{text:?} to {end}");
                }
            }
        }
    }

    fn step_vars(t: &str) -> Vec<(String, usize)> {
        step_command_vars(t, &scan(t))
            .into_iter()
            .map(|d| (t[d.range.clone()].to_string(), d.related.len()))
            .collect()
    }

    #[test]
    fn step_command_variables_need_vars_since_run_sets_no_defaults() {
        let t = r#"[vars]
host = "h"
[vars.db]
port = 1
[[steps]]
name = "{{ svc }}"
command = ["echo", "{{ svc }} {{ host }} {{ vars.db.port }} {{ svc }}", "{{ x | default(value=1) }}", "{{ env(name='A') | upper }}"]
[[scenario]]
run = "{{ nope }}"
"#;
        assert_eq!(step_vars(t), [("svc".to_string(), 1)]);
        let d = &step_command_vars(t, &scan(t))[0];
        assert!(d.is_error());
        assert!(
            d.message.contains("loads but the step fails when run"),
            "{}",
            d.message
        );
        assert!(d.message.contains("clnrm's defaults"), "{}", d.message);
        let ok = "[vars]\nsvc = \"a\"\n[[steps]]\ncommand = [\"{{ svc }}\"]\n";
        assert_eq!(step_vars(ok), []);
    }
}
