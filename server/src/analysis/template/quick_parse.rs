//! Most tags in real templates are `{{ name }}`, `{{ vars.x }}` or a call with literal
//! keyword arguments (`{{ env(name="X") | default(value="y") }}`), and the marked text is
//! mostly such tags and text markers. Tera's pest parser spends microseconds on each; this
//! builds their syntax nodes directly and leaves everything else to Tera, one run of
//! top-level nodes at a time.
//!
//! The result must equal `Template::new` on the same text (the unit test compares them
//! over the corpus). Anything not certainly simple goes to pest: a `{{ }}` tag this
//! grammar does not know becomes part of a pest run, and a text it cannot split at all
//! (`extends`, an import anywhere but at the top, `raw`, unbalanced blocks, a run that does
//! not parse) gives `None`, so the caller parses the whole text with Tera and gets Tera's
//! exact error. The imports at the top (with the comments before them and the whitespace
//! Tera's grammar takes along) are one run of their own.
//!
//! Why runs can be parsed apart: Tera's grammar is a PEG whose top-level `content*` items
//! end at a tag's closing delimiter or, for text, before the next `{{`/`{%`/`{#`; a run
//! cut at item boundaries parses to the same nodes. Its whitespace pass (`{%-`, `-%}`) only
//! reaches across a boundary into an adjacent text node, so such a text joins the run; a
//! comment opening a template is dropped by the grammar, so a run never starts with one
//! unless the text does.

use std::collections::HashMap;
use std::ops::Range;

use tera::ast::{Expr, ExprVal, FunctionCall, Node, WS};
use tera::Template;

/// Nesting of calls in one tag this parser follows (deeper goes to pest and its guards).
const MAX_DEPTH: usize = 8;

enum Item {
    Text(Range<usize>),
    /// A `{{ }}` tag built here.
    Quick(Range<usize>, Box<Node>),
    /// A top-level node (with its body) for Tera.
    Tera(Range<usize>),
}

/// The template of `text`, or `None` when Tera must parse it whole. `tera` parses a run
/// of top-level nodes the way the caller parses everything else.
pub fn parse(
    name: &str,
    text: &str,
    tera: impl Fn(&str) -> tera::Result<Template>,
) -> Option<Template> {
    let mut items = items(text)?;
    let ranges: Vec<Range<usize>> = items
        .iter()
        .map(|i| match i {
            Item::Text(r) | Item::Quick(r, _) | Item::Tera(r) => r.clone(),
        })
        .collect();
    let mut to_tera: Vec<bool> = items.iter().map(|i| matches!(i, Item::Tera(_))).collect();
    for k in 0..items.len() {
        let Item::Tera(r) = &items[k] else { continue };
        let s = &text[r.clone()];
        let prev_text = k > 0 && matches!(items[k - 1], Item::Text(_));
        let next_text = matches!(items.get(k + 1), Some(Item::Text(_)));
        if k > 0 && (s.starts_with("{#") || (prev_text && s.as_bytes().get(2) == Some(&b'-'))) {
            to_tera[k - 1] = true;
        }
        // The top imports' run ends with the whitespace after its last tag.
        let s = s.trim_end_matches([' ', '\t', '\r', '\n']);
        if next_text && s.as_bytes().get(s.len().saturating_sub(3)) == Some(&b'-') {
            to_tera[k + 1] = true;
        }
    }
    if to_tera.iter().all(|&t| t) {
        return None;
    }
    let mut t = Template {
        name: name.to_string(),
        path: None,
        ast: Vec::with_capacity(items.len()),
        from_extend: false,
        macros: HashMap::new(),
        imported_macro_files: Vec::new(),
        parent: None,
        blocks: HashMap::new(),
        parents: Vec::new(),
        blocks_definitions: HashMap::new(),
    };
    let mut k = 0;
    while k < items.len() {
        if to_tera[k] {
            let start = ranges[k].start;
            while k < items.len() && to_tera[k] {
                k += 1;
            }
            let run = tera(&text[start..ranges[k - 1].end]).ok()?;
            // Imports only in the run at the top (`items` leaves any other to Tera whole).
            let clash = run.parent.is_some()
                || (start != 0 && !run.imported_macro_files.is_empty())
                || run.macros.keys().any(|m| t.macros.contains_key(m))
                || run.blocks.keys().any(|b| t.blocks.contains_key(b));
            if clash {
                return None;
            }
            t.ast.extend(run.ast);
            t.macros.extend(run.macros);
            t.blocks.extend(run.blocks);
            t.imported_macro_files.extend(run.imported_macro_files);
            continue;
        }
        match std::mem::replace(&mut items[k], Item::Text(0..0)) {
            Item::Text(r) => t.ast.push(Node::Text(text[r].to_string())),
            Item::Quick(_, node) => t.ast.push(*node),
            Item::Tera(_) => return None,
        }
        k += 1;
    }
    Some(t)
}

fn items(text: &str) -> Option<Vec<Item>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    if let Some(end) = top_imports(text) {
        out.push(Item::Tera(0..end));
        i = end;
    }
    let mut depth = 0usize;
    let mut open_at = 0;
    while i < b.len() {
        let Some(p) = next_tag(b, i) else {
            if depth == 0 {
                out.push(Item::Text(i..b.len()));
            }
            break;
        };
        if p > i {
            if depth == 0 {
                out.push(Item::Text(i..p));
            }
            i = p;
            continue;
        }
        match b.get(i + 1) {
            Some(b'{') => {
                let end = tag_end(b, i + 2, b'}')?;
                if depth == 0 {
                    match quick_tag(&text[i + 2..end - 2]) {
                        Some(node) => out.push(Item::Quick(i..end, Box::new(node))),
                        None => out.push(Item::Tera(i..end)),
                    }
                }
                i = end;
            }
            Some(b'#') => {
                let end = find(b, i + 2, b"#}")? + 2;
                if depth == 0 {
                    out.push(Item::Tera(i..end));
                }
                i = end;
            }
            _ => {
                let end = tag_end(b, i + 2, b'%')?;
                match keyword(&text[i + 2..end - 2]) {
                    "if" | "for" | "macro" | "block" | "filter" => {
                        if depth == 0 {
                            open_at = i;
                        }
                        depth += 1;
                    }
                    "endif" | "endfor" | "endmacro" | "endblock" | "endfilter" => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            out.push(Item::Tera(open_at..end));
                        }
                    }
                    "else" | "elif" | "break" | "continue" if depth > 0 => {}
                    "set" | "set_global" | "include" => {
                        if depth == 0 {
                            out.push(Item::Tera(i..end));
                        }
                    }
                    _ => return None,
                }
                i = end;
            }
        }
    }
    (depth == 0).then_some(out)
}

/// Where the imports at the top of `text` end, with the whitespace Tera's grammar takes
/// along with them (`template = SOI ~ comment_tag* ~ top_imports? ~ …`, each import tag
/// with the whitespace around it): that prefix is one run for Tera, and only there may a
/// template import. `None` when the text does not start with imports.
fn top_imports(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut j = 0;
    while b[j..].starts_with(b"{#") {
        j = find(b, j + 2, b"#}")? + 2;
    }
    let mut end = None;
    loop {
        let k = skip_whitespace(b, j);
        if !b[k..].starts_with(b"{%") {
            break;
        }
        let tag = tag_end(b, k + 2, b'%')?;
        if keyword(&text[k + 2..tag - 2]) != "import" {
            break;
        }
        j = skip_whitespace(b, tag);
        end = Some(j);
    }
    end
}

/// Past Tera's `WHITESPACE` (space, tab, CR, LF) from `i`.
fn skip_whitespace(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// Where the next `{{`, `{%` or `{#` starts (where Tera's text ends).
fn next_tag(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = b.get(i..)?.iter().position(|&c| c == b'{') {
        let p = i + off;
        if matches!(b.get(p + 1), Some(b'{' | b'%' | b'#')) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The end (after `close}`) of a tag whose inside starts at `from`, skipping strings.
fn tag_end(b: &[u8], from: usize, close: u8) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i = i + 1 + b.get(i + 1..)?.iter().position(|&c| c == q)? + 1;
            }
            c if c == close && b.get(i + 1) == Some(&b'}') => return Some(i + 2),
            _ => i += 1,
        }
    }
    None
}

/// The tag's keyword: `if` for `{%- if x %}`.
fn keyword(inner: &str) -> &str {
    let s = inner.strip_prefix('-').unwrap_or(inner).trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The node of a `{{ }}` tag whose inside is `inner`, when it is simple.
fn quick_tag(inner: &str) -> Option<Node> {
    if inner.starts_with('-') || inner.ends_with('-') {
        return None;
    }
    let mut p = Parser {
        s: inner.as_bytes(),
        src: inner,
        i: 0,
    };
    p.ws();
    let e = p.expr(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(Node::VariableBlock(WS::default(), e))
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn ident(&mut self) -> Option<&str> {
        let start = self.i;
        if !matches!(self.peek(), Some(c) if c.is_ascii_alphabetic() || c == b'_') {
            return None;
        }
        while self.peek().is_some_and(is_word) {
            self.i += 1;
        }
        Some(&self.src[start..self.i])
    }

    /// A value and its filters, followed (after whitespace) by `}`, `,` or `)`.
    fn expr(&mut self, depth: usize) -> Option<Expr> {
        if depth > MAX_DEPTH {
            return None;
        }
        let val = self.value(depth)?;
        let mut filters = Vec::new();
        loop {
            self.ws();
            if self.peek() != Some(b'|') {
                break;
            }
            self.i += 1;
            self.ws();
            let name = self.ident()?.to_string();
            self.ws();
            let args = if self.peek() == Some(b'(') {
                self.kwargs(depth)?
            } else {
                HashMap::new()
            };
            filters.push(FunctionCall { name, args });
        }
        if !matches!(self.peek(), None | Some(b'}' | b',' | b')')) {
            return None;
        }
        Some(Expr {
            val,
            negated: false,
            filters,
        })
    }

    fn value(&mut self, depth: usize) -> Option<ExprVal> {
        match self.peek()? {
            q @ (b'"' | b'\'' | b'`') => {
                let start = self.i + 1;
                let len = self.s.get(start..)?.iter().position(|&c| c == q)?;
                self.i = start + len + 1;
                Some(ExprVal::String(self.src[start..start + len].to_string()))
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => {
                let start = self.i;
                let first = self.ident()?;
                for word in ["true", "false", "True", "False"] {
                    if first.starts_with(word) {
                        return (first == word && self.peek() != Some(b'.'))
                            .then_some(ExprVal::Bool(word.eq_ignore_ascii_case("true")));
                    }
                }
                if matches!(first, "not" | "and" | "or" | "in" | "is" | "super") {
                    return None;
                }
                while self.peek() == Some(b'.') {
                    self.i += 1;
                    let seg = self.i;
                    while self.peek().is_some_and(is_word) {
                        self.i += 1;
                    }
                    if self.i == seg {
                        return None;
                    }
                }
                let path = &self.src[start..self.i];
                self.ws();
                if self.peek() == Some(b'(') {
                    if path.contains('.') {
                        return None;
                    }
                    let name = path.to_string();
                    let args = self.kwargs(depth)?;
                    return Some(ExprVal::FunctionCall(FunctionCall { name, args }));
                }
                Some(ExprVal::Ident(path.to_string()))
            }
        }
    }

    /// Tera's `int` and `float`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, not followed by more of a
    /// word (which Tera would reject).
    fn number(&mut self) -> Option<ExprVal> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
            }
            _ => return None,
        }
        let mut float = false;
        if self.peek() == Some(b'.') && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit) {
            float = true;
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if self.peek().is_some_and(|c| is_word(c) || c == b'.') {
            return None;
        }
        let lit = &self.src[start..self.i];
        if float {
            lit.parse().ok().map(ExprVal::Float)
        } else {
            lit.parse().ok().map(ExprVal::Int)
        }
    }

    /// `(name=value, …)` with an optional trailing comma; the last of a repeated name wins,
    /// as in Tera.
    fn kwargs(&mut self, depth: usize) -> Option<HashMap<String, Expr>> {
        self.i += 1;
        let mut args = HashMap::new();
        self.ws();
        while self.peek() != Some(b')') {
            let name = self.ident()?.to_string();
            self.ws();
            if self.peek() != Some(b'=') {
                return None;
            }
            self.i += 1;
            self.ws();
            let value = self.expr(depth + 1)?;
            args.insert(name, value);
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b')' => {}
                _ => return None,
            }
        }
        self.i += 1;
        Some(args)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::analysis::template::{marks, scan};

    /// Tera's parse under the call limit (unlimited, its grammar backtracks for minutes).
    fn tera(text: &str) -> tera::Result<Template> {
        super::super::parse::new_template("t", text)
    }

    /// Whether the quick parse, when it answers, is Tera's; and whether it answered.
    fn same(text: &str) -> bool {
        let Some(q) = parse("t", text, tera) else {
            return false;
        };
        let t = tera(text)
            .unwrap_or_else(|e| panic!("quick parse accepted what Tera rejects: {text:?}: {e}"));
        assert_eq!(q.ast, t.ast, "{text:?}");
        assert_eq!(q.macros, t.macros, "{text:?}");
        assert_eq!(q.blocks, t.blocks, "{text:?}");
        assert_eq!(q.imported_macro_files, t.imported_macro_files, "{text:?}");
        assert_eq!(q.parent, t.parent, "{text:?}");
        true
    }

    /// The text, its marked text and every piece of it, as `check` parses them.
    fn texts_of(text: &str) -> Vec<String> {
        let mut out = vec![text.to_string()];
        let sc = scan::scan(text);
        if sc.problems.is_empty() && marks::can_mark(text) {
            let m = marks::mark(text, &sc);
            let mut bounds = vec![0];
            bounds.extend(
                m.cuts
                    .iter()
                    .copied()
                    .filter(|&c| c > 0 && c < m.text.len()),
            );
            bounds.push(m.text.len());
            for w in bounds.windows(2) {
                out.push(m.text[w[0]..w[1]].to_string());
            }
            out.push(m.text);
        }
        out
    }

    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for p in entries.flatten().map(|e| e.path()) {
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().contains(".toml") {
                out.push(p);
            }
        }
    }

    #[test]
    fn equals_tera_on_every_piece_of_the_corpus() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<PathBuf> = crate_dir
            .ancestors()
            .map(|a| a.join("shared/corpus/clnrm"))
            .filter(|d| d.is_dir())
            .take(1)
            .collect();
        // More real files to compare against, when at hand.
        dirs.extend(std::env::var_os("QUICK_PARSE_EXTRA_DIR").map(PathBuf::from));
        let mut files = Vec::new();
        for d in &dirs {
            walk(d, &mut files);
        }
        let (mut texts, mut quick) = (0, 0);
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            for t in texts_of(&text) {
                texts += 1;
                quick += usize::from(same(&t));
            }
        }
        eprintln!(
            "{} files, {texts} texts, {quick} parsed quickly",
            files.len()
        );
        assert!(dirs.is_empty() || quick > 0);
    }

    #[test]
    fn equals_tera_on_tricky_tags() {
        let quick = [
            "{{ svc }}",
            "a{{x}}b{{ vars.x.y }}c",
            "{{ a.0 }}",
            "{{ env(name=\"X\", default='y') }}",
            "{{ f() }}{{ f( ) }}{{ f (a=1,) }}",
            "{{ uuid_v4(seed=42) }}{{ f(a=-1, b=1.0, c=-0.5, d=0) }}",
            "{{ env(name='A') | default(value='3000') }}",
            "{{ x | upper | replace(from=\"a\", to=`b`) }}",
            "{{ f(a=x | default(value=\"é\"), a=2) }}",
            "{{ true }}{{ False }}{{ f(a=true, b=False) }}",
            "{{ nothing }}{{ island }}{{ order }}{{ android }}{{ into }}",
            "{{\n\tx\r\n}}",
            "{{ \"}}\" }}{{ '{{' }}",
            "{{ \"\u{E000}1\u{E001}\" }}\u{E000}2\u{E001}",
            "x { y } {{ z }}",
            "{% if a %}{{ b }}{% endif %}{{ c }}",
            "{{ a }}\n{% for i in x %}{{ i }}{% endfor %}\n{{ b }}",
            "{{ a }} {%- if a %}x{% endif -%} {{ b }}",
            "{{ a }}{# c #}{{ b }}",
            "{# c #}{{ b }}",
            "t{{ a }}{#- c -#} t",
            "{{ a }}{% set x = 1 %}{{ x }}{% include \"f\" %}",
            "{% macro m(a) %}{{ a }}{% endmacro %}{{ b }}{% block k %}{% endblock %}",
            "{{ a }}{{ -1 }}{{ b }}",
            "{{ a }}{{ x | f(a=[1]) }}{{ b }}",
            "{% import \"m\" as m %}\n{{ a }}",
            "{# c #}\n{% import \"m\" as m %}\n  {% import 'n' as n %}\n\n{{ a }} {{ m::x() }}",
            "{%- import \"m\" as m -%}\n\u{c}{{ a }}",
            "{% import \"m\" as m -%} \u{a0}x{{ a }}",
            "{% import \"m\" as m %}{# c #}{{ a }}",
        ];
        for t in quick {
            assert!(same(t), "not parsed quickly: {t:?}");
        }
        // Tera's own parse (or error) for all of these.
        let whole = [
            "{{ trueish }}",
            "{{ true_x() }}",
            "{{ not x }}",
            "{{ x is defined }}",
            "{{-x}}",
            "{{ x -}}",
            "{{-1 }}",
            "{{ 1e3 }}",
            "{{ 01 }}",
            "{{ 1. }}",
            "{{ 99999999999999999999 }}",
            "{{ \"a\\\"b\" }}",
            "{{ \"a\" ~ b }}",
            "{{ m::f() }}",
            "{{ a[0] }}",
            "{{ a. }}",
            "{{ f(a==1) }}",
            "{{ é }}",
            "{{ }}",
            "{{ super() }}",
            "{% extends \"b\" %}",
            "{% import \"m\" as m %}{% if a %}{{ b }}{% endif %}",
            "{% import \"m\" as m %}{% extends \"b\" %}",
            "{% import \"m\" as m %}\n{{ a }}{% import \"n\" as n %}",
            "{# a #} {# b #}{% import \"m\" as m %}{{ a }}",
            "{% import m as m %}{{ a }}",
            "{% import \"m\" %}{{ a }}",
            "\n{% import \"m\" as m %}{{ a }}",
            "{% raw %}{{ a }}{% endraw %}",
            "{% if a %}",
            "{{ a }}{% endif %}",
            "{{ a",
            "{{ \"a }}",
            "{##}",
            "{% macro m() %}{% endmacro %}{{ a }}{% macro m() %}{% endmacro %}",
            "{% block b %}{% endblock %}{{ a }}{% block b %}{% endblock %}",
            &format!("{{{{ {}1{} }}}}", "f(a=".repeat(20), ")".repeat(20)),
        ];
        for t in whole {
            let q = parse("t", t, tera);
            match tera(t) {
                Ok(_) => assert!(q.is_none() || same(t), "{t:?}"),
                Err(_) => assert!(q.is_none(), "quick parse accepted what Tera rejects: {t:?}"),
            }
        }
    }

    #[test]
    fn equals_tera_on_random_token_strings() {
        // Every string of tag-ish tokens the quick parser accepts must be Tera's parse.
        const TOKENS: [&str; 36] = [
            "{{", "}}", " ", "x", "vars", ".", "0", "1", "-", "(", ")", "=", ",", "|", "\"s\"",
            "'q'", "`b`", "f", "true", "not", "and", "{%", "%}", "{#", "#}", "\n", "é", "1.5",
            "default", "value", "[", "]", "~", "e3", "_", "\"}}\"",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut t = String::new();
            if next() % 5 == 0 {
                t.push_str(
                    ["{% import \"m\" as m %}", "{%- import 'm' as m -%}\n"][(next() % 2) as usize],
                );
            }
            if next() % 4 != 0 {
                t.push_str("{{ ");
            }
            for _ in 0..1 + next() % 10 {
                t.push_str(TOKENS[(next() % TOKENS.len() as u64) as usize]);
            }
            if next() % 4 != 0 {
                t.push_str(" }}");
            }
            accepted += usize::from(same(&t));
        }
        assert!(accepted > 1_000, "only {accepted} strings parsed quickly");
    }
}
