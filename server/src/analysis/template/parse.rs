//! Tera's parser costs several microseconds per tag, too slow to re-run over a whole
//! dense template on every keystroke. The marked text is cut between top-level nodes,
//! each piece is parsed on its own and cached by content hash, and the pieces' syntax
//! trees are joined. An edit then re-parses only the piece it touched.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sha2::{Digest, Sha256};
use tera::Template;

use super::marks::Marked;
use super::tera_error::tera_error;
use crate::analysis::Diagnostic;

/// Bound on cached syntax trees (pieces are a few KiB of text each).
const MAX_CACHED: usize = 1024;

static CACHE: LazyLock<Mutex<HashMap<[u8; 32], Arc<Template>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Parses the marked text as the template `name`. A syntax error comes back as a
/// diagnostic whose range is in the marked text.
pub fn parse(name: &str, marked: &Marked) -> Result<Template, Diagnostic> {
    let text = marked.text.as_str();
    let mut bounds = Vec::with_capacity(marked.cuts.len() + 2);
    bounds.push(0);
    bounds.extend(
        marked
            .cuts
            .iter()
            .copied()
            .filter(|&c| c > 0 && c < text.len()),
    );
    bounds.push(text.len());
    if bounds.len() <= 2 {
        return whole(name, text);
    }
    let mut joined: Option<Template> = None;
    for w in bounds.windows(2) {
        let (start, end) = (w[0], w[1]);
        let piece = match piece(name, &text[start..end]) {
            Ok(p) => p,
            Err(mut d) => {
                d.range = d.range.start + start..d.range.end + start;
                return Err(d);
            }
        };
        match &mut joined {
            None => joined = Some((*piece).clone()),
            Some(t) => {
                let clash = piece.parent.is_some()
                    || !piece.imported_macro_files.is_empty()
                    || piece.macros.keys().any(|k| t.macros.contains_key(k))
                    || piece.blocks.keys().any(|k| t.blocks.contains_key(k));
                if clash {
                    // Whatever Tera says about the whole text is the answer.
                    return whole(name, text);
                }
                t.ast.extend(piece.ast.iter().cloned());
                t.macros
                    .extend(piece.macros.iter().map(|(k, v)| (k.clone(), v.clone())));
                t.blocks
                    .extend(piece.blocks.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
    joined.map_or_else(|| whole(name, text), Ok)
}

/// Calls of Tera's (pest) parser allowed per parse: a floor, plus so many per byte of
/// text (real templates need under 20 per byte). Its grammar backtracks exponentially on
/// nested calls (`f(a=g(a=…` took over a minute at five unclosed levels); the scanner
/// refuses deep call nesting first (`MAX_CALL_NESTING` in `syntax`), and this limit is the
/// backstop: past it the parse fails with a syntax error instead of hanging.
const PARSER_CALLS_FLOOR: usize = 1_000_000;
const PARSER_CALLS_PER_BYTE: usize = 64;

/// What each running parse needs. pest's limit is process-wide and read when a parse
/// starts, so it is kept at the largest need of the parses in flight: each parse gets at
/// least its own, and at most that of the biggest text being parsed at the time.
static IN_FLIGHT: LazyLock<Mutex<Vec<usize>>> = LazyLock::new(|| Mutex::new(Vec::new()));

fn set_limit(needs: &[usize]) {
    let most = needs.iter().copied().max().unwrap_or(PARSER_CALLS_FLOOR);
    pest::set_call_limit(std::num::NonZeroUsize::new(most));
}

/// Tera's `Template::new` under the parser's call limit. Every parse of user text goes
/// through here.
pub fn new_template(name: &str, text: &str) -> tera::Result<Template> {
    let need = PARSER_CALLS_FLOOR.saturating_add(text.len().saturating_mul(PARSER_CALLS_PER_BYTE));
    if let Ok(mut f) = IN_FLIGHT.lock() {
        f.push(need);
        set_limit(&f);
    }
    let result = Template::new(name, None, text);
    if let Ok(mut f) = IN_FLIGHT.lock() {
        if let Some(i) = f.iter().position(|&n| n == need) {
            f.swap_remove(i);
        }
        set_limit(&f);
    }
    result
}

fn whole(name: &str, text: &str) -> Result<Template, Diagnostic> {
    quick(name, text).map_err(|e| tera_error(text, &e))
}

/// Whether Tera parses `text`, when the quick parser can tell (false when it cannot).
pub fn parses(name: &str, text: &str) -> bool {
    super::quick_parse::parse(name, text, |run| new_template(name, run)).is_some()
}

/// Tera's parse of `text`, with simple tags built without pest (see `quick_parse`).
fn quick(name: &str, text: &str) -> tera::Result<Template> {
    match super::quick_parse::parse(name, text, |run| new_template(name, run)) {
        Some(t) => Ok(t),
        None => new_template(name, text),
    }
}

fn piece(name: &str, text: &str) -> Result<Arc<Template>, Diagnostic> {
    let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    if let Some(hit) = CACHE.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let t = Arc::new(quick(name, text).map_err(|e| tera_error(text, &e))?);
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= MAX_CACHED {
            c.clear();
        }
        c.insert(key, t.clone());
    }
    Ok(t)
}

/// Parses a dependency (`name` matters to Tera: macros and blocks are looked up by it),
/// cached by name and content like the pieces of the template.
pub fn dependency(name: &str, text: &str) -> tera::Result<Template> {
    let mut h = Sha256::new();
    h.update((name.len() as u64).to_le_bytes());
    h.update(name.as_bytes());
    h.update(text.as_bytes());
    let key: [u8; 32] = h.finalize().into();
    if let Some(hit) = CACHE.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok((*hit).clone());
    }
    let t = new_template(name, text)?;
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= MAX_CACHED {
            c.clear();
        }
        c.insert(key, Arc::new(t.clone()));
    }
    Ok(t)
}

static VALID: LazyLock<Mutex<std::collections::HashSet<[u8; 32]>>> =
    LazyLock::new(|| Mutex::new(std::collections::HashSet::new()));

/// Tera's error for `text` parsed alone, remembering texts that parse (while a template
/// is broken, every tag is checked on each keystroke; almost all of them are fine).
pub fn error_alone(text: &str) -> Option<tera::Error> {
    let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    if VALID.lock().ok().is_some_and(|v| v.contains(&key)) {
        return None;
    }
    // A tag the quick parser builds parses (it answers only for what Tera accepts).
    let no_runs = |_: &str| Err(tera::Error::msg("parsed whole by Tera"));
    if super::quick_parse::parse("tag", text, no_runs).is_some() {
        return None;
    }
    let err = new_template("tag", text).err();
    if err.is_none() {
        if let Ok(mut v) = VALID.lock() {
            if v.len() >= MAX_CACHED * 4 {
                v.clear();
            }
            v.insert(key);
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_parses_stop_at_the_call_limit() {
        // Found by the fuzzer: five unclosed nested calls took over a minute.
        let hostile = format!(
            "{{{{ f(a=x | default(value={}42)) }}}}",
            "g(len=12, seed=seed | default(value=".repeat(5)
        );
        assert!(new_template("x", &hostile).is_err());
        // Real templates, big ones included, parse.
        let big = "[meta]\nname = \"{{ svc | upper }}\"\n{% for i in range(end=3) %}{% if i > 1 %}x = \"{{ i ~ \"a\" | lower }}\"{% endif %}{% endfor %}\n".repeat(2000);
        assert!(new_template("x", &big).is_ok());
        assert!(new_template("x", "{{ f(a=g(a=h(a=i(a=1)))) }}").is_ok());
    }
}
