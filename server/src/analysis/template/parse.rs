//! Tera's parser costs several microseconds per tag, too slow to re-run over a whole
//! dense template on every keystroke. The marked text is cut between top-level nodes,
//! each piece is parsed on its own and cached by content hash, and the pieces' syntax
//! trees are joined. An edit then re-parses only the piece it touched.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sha2::{Digest, Sha256};
use tera::Template;

use super::marks::Marked;
use super::syntax;
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

fn whole(name: &str, text: &str) -> Result<Template, Diagnostic> {
    Template::new(name, None, text).map_err(|e| syntax::tera_error(text, &e))
}

fn piece(name: &str, text: &str) -> Result<Arc<Template>, Diagnostic> {
    let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    if let Some(hit) = CACHE.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let t = Arc::new(Template::new(name, None, text).map_err(|e| syntax::tera_error(text, &e))?);
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
    let t = Template::new(name, None, text)?;
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
    let err = Template::new("tag", None, text).err();
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
