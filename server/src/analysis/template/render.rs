//! Stage b: render with clnrm's context and report every failure at its tag.
//!
//! Tera 1.x stops at the first render error and gives no position. We render the marked
//! template (see `marks`), so the partial output before a failure ends with the marker of
//! the tag that was running; the failing name is then looked up in the tags from there.
//! Undefined variables, unknown functions/filters and unset `env()` names get a stand-in
//! and the render is retried, so one pass reports all of them; the result is only
//! returned when the real render succeeded.

use std::io::Write;
use std::ops::Range;

use serde_json::{Map, Value};
use tera::{Context, ErrorKind, Tera};

use super::context::{self, Binding};
use super::deps::{self, TemplateRef};
use super::functions::{self, Scope};
use super::limits;
use super::marks::{self, Marked, Origin};
use super::scan::{self, Scan, Tag, TagKind};
use super::wording;
use super::{Dependency, Rendered, MAIN};
use crate::analysis::{Code, Diagnostic, Environment, SourceFile};
use std::sync::Arc;

/// Uses reported per undefined variable.
const MAX_USES: usize = 100;
/// Retries with stand-ins, to find further errors.
const MAX_ATTEMPTS: usize = 24;

/// What went wrong in one render attempt.
#[derive(Debug, Clone, PartialEq)]
enum Failure {
    Undefined(String),
    UnknownFunction(String),
    UnknownFilter(String),
    UnknownTest(String),
    UnknownMacro(String),
    NotFound(String),
    EnvUnset(String),
    Call { name: String, detail: String },
    TooLarge,
    Limit(limits::Exceeded),
    Other(String),
}

/// Renders `parsed` (the marked template, see `marks`) and reports every failure (the
/// caller puts them in source order).
pub fn render(
    text: &str,
    scan: &Scan,
    marked: &Marked,
    parsed: tera::Template,
    deps: &[Dependency],
    env: &Environment,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rendered> {
    let (tera, mut degraded, broken_ns) = build_tera(text, scan, parsed, deps, diags)?;
    let bindings = context::bindings(text, env);
    let mut retry = Retry {
        ctx: context::context_value(&bindings),
        now: clock(&bindings),
        macro_ranges: macro_ranges(text, scan),
        bindings,
        text,
        scan,
        deps,
        env,
        tera,
        broken_ns,
        env_placeholders: Vec::new(),
        stand_in_tags: Vec::new(),
        seen: Vec::new(),
    };
    // Big inputs get fewer retries: each one is a full render.
    let attempts = if text.len() > 256 * 1024 {
        4
    } else {
        MAX_ATTEMPTS
    };
    let deadline = std::time::Instant::now() + limits::MAX_RENDER_TIME;
    for _ in 0..attempts {
        let (out, result) = retry.attempt(deadline);
        let failure = match result {
            // Stand-ins rendered it: not the real output.
            Ok(()) if degraded || !retry.seen.is_empty() => return None,
            Ok(()) => {
                diags.extend(ours_not_clnrms(text, scan, &retry.bindings));
                return Some(source_mapped(text, marked, &out));
            }
            Err(failure) => failure,
        };
        if retry.seen.contains(&failure) {
            break;
        }
        retry.seen.push(failure.clone());
        let partial = String::from_utf8_lossy(&out);
        let here = locate(text, scan, &failure, marked.last_origin(&partial));
        let again = retry.report(&failure, &here, diags);
        retry.stand_in_tags.push(here);
        degraded = true;
        if !again {
            break;
        }
    }
    None
}

/// The Tera instance with the template and its dependencies registered; whether some
/// dependency could not be (the render is then only for finding errors), and the import
/// namespaces of broken libraries. `None` when nothing can render (a cycle, a broken chain).
fn build_tera(
    text: &str,
    scan: &Scan,
    parsed: tera::Template,
    deps: &[Dependency],
    diags: &mut Vec<Diagnostic>,
) -> Option<(Tera, bool, Vec<String>)> {
    let mut tera = limits::guarded().clone();
    let main_links = (
        parsed.parent.as_deref(),
        parsed
            .imported_macro_files
            .iter()
            .map(|(f, _)| f.as_str())
            .collect(),
    );
    let (registered, broken) = register_dependencies(&mut tera, text, main_links, deps, diags);
    let degraded = match registered {
        Registered::All => false,
        Registered::Some => true,
        // Tera itself would recurse without end on these.
        Registered::Cycle => return None,
    };
    // `{% import "broken" as m %}`: its macros are already explained at the import.
    let broken_ns = broken_namespaces(text, &broken);

    let mut parsed = parsed;
    limits::instrument(&mut parsed);
    tera.templates.insert(MAIN.to_string(), parsed);
    if let Err(e) = tera
        .build_inheritance_chains()
        .and_then(|()| tera.check_macro_files())
    {
        diags.push(Diagnostic::new(
            Code::RenderError,
            first_tag(scan),
            chain_text(&e),
        ));
        return None;
    }
    Some((tera, degraded, broken_ns))
}

/// The successful render's text, with positions mapped back into the template.
fn source_mapped(text: &str, marked: &Marked, out: &[u8]) -> Rendered {
    let rendered = String::from_utf8_lossy(out).into_owned();
    let (text_out, map) = if !marked.origins.is_empty() || marks::can_mark(text) {
        marked.strip(text, &rendered)
    } else {
        let mut map = crate::analysis::SourceMap::new();
        map.push_generated(0, 0..text.len());
        map.finish(rendered.len());
        (rendered, map)
    };
    Rendered {
        text: text_out,
        map,
    }
}

/// What one render attempt hands the next: the stand-ins put in so far (context values,
/// stub functions and filters, unset `env()` names) and the failures already reported.
struct Retry<'a> {
    text: &'a str,
    scan: &'a Scan,
    deps: &'a [Dependency],
    env: &'a Environment,
    tera: Tera,
    broken_ns: Vec<String>,
    bindings: Vec<Binding>,
    macro_ranges: Vec<Range<usize>>,
    now: i64,
    ctx: Map<String, Value>,
    env_placeholders: Vec<String>,
    stand_in_tags: Vec<Range<usize>>,
    seen: Vec<Failure>,
}

impl Retry<'_> {
    /// One render on the budget: its output (partial on failure) and what failed.
    fn attempt(&self, deadline: std::time::Instant) -> (Vec<u8>, Result<(), Failure>) {
        let budget = limits::enter(deadline);
        let mut scope = Scope::new(self.env.clone(), self.now);
        scope.env_placeholders = self.env_placeholders.clone();
        let guard = functions::enter(scope);
        let mut out = Limited(Vec::with_capacity(self.text.len() + 256));
        // Tera panics on some input (`i64::MIN % -1`, a macro call in arithmetic): the
        // panic is this attempt's failure, reported at the tag that was running.
        let result = crate::analysis::caught(|| {
            Context::from_value(Value::Object(self.ctx.clone()))
                .and_then(|c| self.tera.render_to(MAIN, &c, &mut out))
        })
        .unwrap_or_else(|panic| Err(tera::Error::msg(format!("Tera failed internally: {panic}"))));
        drop(guard);
        let exceeded = budget.exceeded();
        drop(budget);
        let result = result.map_err(|err| match exceeded {
            Some(e) => Failure::Limit(e),
            None => classify(&err),
        });
        (out.0, result)
    }

    /// Report `failure` (at `here`) and put in a stand-in for it; whether another
    /// attempt can get further.
    fn report(
        &mut self,
        failure: &Failure,
        here: &Range<usize>,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        match failure {
            Failure::Undefined(name) => self.stand_in_value(name, here, diags),
            Failure::UnknownFunction(name) => {
                diags.push(unknown("function", name, here.clone()));
                self.tera
                    .register_function(name, |_: &std::collections::HashMap<String, Value>| {
                        Ok(Value::String(String::new()))
                    });
                true
            }
            Failure::UnknownFilter(name) => {
                diags.push(unknown("filter", name, here.clone()));
                self.tera.register_filter(
                    name,
                    |v: &Value, _: &std::collections::HashMap<String, Value>| Ok(v.clone()),
                );
                true
            }
            Failure::EnvUnset(name) => {
                diags.push(env_unset(self.text, name, here));
                self.env_placeholders.push(name.clone());
                true
            }
            Failure::UnknownMacro(name)
                if self
                    .broken_ns
                    .iter()
                    .any(|ns| name.split("::").next() == Some(ns.as_str())) =>
            {
                false
            }
            _ => {
                let caused_by_stand_in = self.stand_in_tags.iter().any(|r| overlaps(r, here));
                diags.extend(final_diagnostic(failure, here, caused_by_stand_in));
                false
            }
        }
    }

    /// An undefined variable: reported with its uses, then defined as a stand-in.
    fn stand_in_value(
        &mut self,
        name: &str,
        here: &Range<usize>,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        let (text, scan) = (self.text, self.scan);
        report_undefined(
            text,
            scan,
            name,
            here,
            &self.macro_ranges,
            &self.bindings,
            diags,
        );
        if let Some(d) = diags.last_mut() {
            relate_library_use(text, self.deps, name, here, d);
        }
        // A loop over the missing value iterates nothing, so its body does not report the
        // loop variable as undefined too.
        let iterated = scan
            .tags()
            .any(|t| t.keyword(text) == "for" && !scan::find_ident(text, t, name).is_empty());
        let stand_in = if iterated {
            Value::Array(Vec::new())
        } else {
            Value::String(name.rsplit('.').next().unwrap_or(name).to_string())
        };
        insert_path(&mut self.ctx, name, stand_in)
    }
}

/// `env("X")` with X unset: clnrm's render fails there.
fn env_unset(text: &str, name: &str, here: &Range<usize>) -> Diagnostic {
    let ignored = if text[here.clone()].contains("default") {
        " and has no `default` argument"
    } else {
        ""
    };
    Diagnostic::new(
        Code::FunctionError,
        here.clone(),
        format!("environment variable `{name}` is not set: clnrm's `env()` fails when a variable is unset{ignored} (use `get_env(name=\"{name}\", default=…)` for an optional one)"),
    )
}

/// The diagnostic of a failure no stand-in gets past (none when a stand-in caused it).
fn final_diagnostic(
    failure: &Failure,
    here: &Range<usize>,
    caused_by_stand_in: bool,
) -> Option<Diagnostic> {
    let at = |code, message: String| Some(Diagnostic::new(code, here.clone(), message));
    match failure {
        Failure::UnknownTest(name) => Some(unknown("test", name, here.clone())),
        Failure::UnknownMacro(name) => {
            let hint = if name.contains("::") {
                " (clnrm's embedded `_macros.toml.tera` defines no macros)"
            } else {
                ""
            };
            at(
                Code::UnknownFunction,
                format!("macro `{name}` is not defined{hint}"),
            )
        }
        Failure::NotFound(name) => at(
            Code::TemplateNotFound,
            format!("template `{name}` not found"),
        ),
        Failure::Call { .. } | Failure::Other(_) if caused_by_stand_in => None,
        Failure::Call { name, detail } => at(Code::FunctionError, wording::call(name, detail)),
        Failure::Other(msg) => at(Code::RenderError, wording::runtime(msg)),
        Failure::TooLarge => at(
            Code::OutputTooLarge,
            format!(
                "the rendered output exceeds {} MiB; rendering stopped",
                limits::MAX_OUTPUT_BYTES >> 20
            ),
        ),
        Failure::Limit(e) => at(e.code, e.message.clone()),
        // Handled with a stand-in by `Retry::report`.
        Failure::Undefined(_)
        | Failure::UnknownFunction(_)
        | Failure::UnknownFilter(_)
        | Failure::EnvUnset(_) => None,
    }
}

/// What [`register_dependencies`] managed.
enum Registered {
    All,
    /// Some dependency is missing or broken (reported).
    Some,
    /// Extends or imports form a cycle (reported): Tera must not see these templates.
    Cycle,
}

/// Registers each dependency's text under its name; reports missing or broken ones at
/// the tag that names them, a broken one with its own error as a related place. Also
/// returns the names of the libraries that do not parse.
fn register_dependencies(
    tera: &mut Tera,
    text: &str,
    main_links: (Option<&str>, Vec<&str>),
    deps: &[Dependency],
    diags: &mut Vec<Diagnostic>,
) -> (Registered, Vec<String>) {
    let mut broken = Vec::new();
    let refs = deps::references(text);
    let tag_of = |name: &str| -> Range<usize> {
        refs.iter()
            .find(|r| r.name == name)
            .or(refs.first())
            .map_or(0..0, |r| r.tag.clone())
    };
    let mut ok = true;
    let mut templates: Vec<(String, String)> = Vec::new();
    for d in deps {
        match &d.text {
            Some(t) => {
                if let Some(problem) = super::syntax::too_deep(t) {
                    diags.push(Diagnostic::new(
                        Code::RenderError,
                        tag_of(&d.name),
                        format!("`{}` is not checked: {problem}", d.name),
                    ));
                    ok = false;
                    templates.push((d.name.clone(), String::new()));
                    continue;
                }
                let parsed = super::parse::dependency(&d.name, t);
                if let Err(e) = &parsed {
                    let mut inner = super::syntax::tera_error(t, e);
                    super::explain::explain(t, std::slice::from_mut(&mut inner));
                    let line = t[..inner.range.start.min(t.len())].matches('\n').count() + 1;
                    let library = Arc::new(SourceFile {
                        path: d.path.clone().unwrap_or_else(|| d.name.clone().into()),
                        text: t.clone(),
                    });
                    diags.push(
                        Diagnostic::new(
                            Code::RenderError,
                            tag_of(&d.name),
                            format!(
                                "`{}` is not valid Tera, so nothing it defines can be used; fix it at its line {line}: {}",
                                d.name, inner.message
                            ),
                        )
                        .with_related_in(library, inner.range.clone(), inner.message.clone()),
                    );
                    broken.push(d.name.clone());
                    ok = false;
                    templates.push((d.name.clone(), String::new()));
                } else if let Ok(mut p) = parsed {
                    limits::instrument(&mut p);
                    tera.templates.insert(d.name.clone(), p);
                }
            }
            None => {
                // Only names this text uses itself are reported here; a missing name
                // inside a dependency fails the render at the tag that pulls it in.
                let direct = refs
                    .iter()
                    .any(|r: &TemplateRef| r.name == d.name && !r.ignore_missing);
                if direct {
                    let hint = if d.path.is_none() && d.name.contains("..") {
                        " (templates outside the workspace are never read)"
                    } else {
                        ""
                    };
                    let message = match &d.problem {
                        Some(problem) => format!("template `{}` {problem}", d.name),
                        None => format!(
                            "template `{}` not found next to this file or at the workspace root{hint}",
                            d.name
                        ),
                    };
                    diags.push(Diagnostic::new(
                        Code::TemplateNotFound,
                        tag_of(&d.name),
                        message,
                    ));
                    ok = false;
                    templates.push((d.name.clone(), String::new()));
                }
            }
        }
    }
    // Names the tags use that the caller did not resolve at all.
    for r in &refs {
        if !r.ignore_missing
            && !tera.templates.contains_key(&r.name)
            && !templates.iter().any(|(n, _)| *n == r.name)
        {
            diags.push(Diagnostic::new(
                Code::TemplateNotFound,
                r.tag.clone(),
                format!("template `{}` not found", r.name),
            ));
            ok = false;
            templates.push((r.name.clone(), String::new()));
        }
    }
    // Tera's own chain walk follows hash-map order and, from a template outside the
    // cycle, never ends: cycles are found here first, the same way on every run.
    // Tera's macro loader follows imports the same way.
    let cycles = [
        (
            "`{% extends %}`",
            link_cycle(
                &tera.templates,
                main_links.0.into_iter().collect(),
                parent_of,
            ),
        ),
        (
            "`{% import %}`",
            link_cycle(&tera.templates, main_links.1.clone(), imports_of),
        ),
    ];
    for (what, cycle) in cycles {
        if let Some(chain) = cycle {
            let first = chain.get(1).map_or("", String::as_str);
            diags.push(Diagnostic::new(
                Code::RecursionLimit,
                tag_of(first),
                format!("{what} forms a cycle: {}", chain.join(" → ")),
            ));
            return (Registered::Cycle, broken);
        }
    }
    if let Err(e) = tera.add_raw_templates(templates) {
        diags.push(Diagnostic::new(
            Code::RenderError,
            refs.first().map_or(0..0, |r| r.tag.clone()),
            chain_text(&e),
        ));
        return (Registered::Some, broken);
    }
    let registered = if ok {
        Registered::All
    } else {
        Registered::Some
    };
    (registered, broken)
}

/// The first cycle through the links `next` gives (a template's parent, or the files
/// it imports), from this template (whose links are `main`), then from each dependency in
/// name order: the chain, `this file → a → b → a`. Depth-first with an explicit stack.
fn link_cycle<'t>(
    templates: &'t std::collections::HashMap<String, tera::Template>,
    main: Vec<&'t str>,
    next: impl Fn(&'t tera::Template) -> Vec<&'t str>,
) -> Option<Vec<String>> {
    let mut names: Vec<&String> = templates.keys().collect();
    names.sort_unstable();
    let mut starts: Vec<(String, Vec<&str>)> = vec![("this file".to_string(), main)];
    starts.extend(names.into_iter().map(|n| (n.clone(), next(&templates[n]))));
    let mut done: Vec<&str> = Vec::new();
    for (start, links) in starts {
        // (name, its links not yet followed)
        let mut path: Vec<(String, std::vec::IntoIter<&str>)> = vec![(start, links.into_iter())];
        while let Some((_, links)) = path.last_mut() {
            let Some(n) = links.next() else {
                path.pop();
                continue;
            };
            if path.iter().any(|(p, _)| p == n) {
                let mut chain: Vec<String> = path.iter().map(|(p, _)| p.clone()).collect();
                chain.push(n.to_string());
                return Some(chain);
            }
            if done.contains(&n) {
                continue;
            }
            done.push(n);
            let links = templates.get(n).map(&next).unwrap_or_default();
            path.push((n.to_string(), links.into_iter()));
        }
    }
    None
}

fn parent_of(t: &tera::Template) -> Vec<&str> {
    t.parent.as_deref().into_iter().collect()
}

fn imports_of(t: &tera::Template) -> Vec<&str> {
    t.imported_macro_files
        .iter()
        .map(|(f, _)| f.as_str())
        .collect()
}

/// The candidate within 2 edits of `name` (the closest, then the first by name). A name
/// whose length differs by more than 2 cannot be: it is not scored.
pub(super) fn nearest<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let len = name.chars().count();
    candidates
        .into_iter()
        .filter(|c| c.chars().count().abs_diff(len) <= 2)
        .map(|c| (strsim::levenshtein(c, name), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn unknown(what: &str, name: &str, range: Range<usize>) -> Diagnostic {
    let suggestion = match what {
        "function" => nearest(name, functions::function_names())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    Diagnostic::new(
        Code::UnknownFunction,
        range,
        format!("unknown {what} `{name}`: neither Tera nor clnrm provides it{suggestion}"),
    )
}

/// The frozen clock: the `freeze_clock` variable, or clnrm's default.
fn clock(bindings: &[Binding]) -> i64 {
    bindings
        .iter()
        .find(|b| b.name == "freeze_clock")
        .and_then(|b| b.value.as_str())
        .and_then(functions::parse_clock)
        .unwrap_or(functions::DEFAULT_NOW)
}

/// The `as` names of this text's imports of the `broken` libraries.
fn broken_namespaces(text: &str, broken: &[String]) -> Vec<String> {
    if broken.is_empty() {
        return Vec::new();
    }
    deps::references(text)
        .into_iter()
        .filter(|r| broken.contains(&r.name))
        .filter_map(|r| {
            let tag = text.get(r.tag.clone())?;
            // `as` after any whitespace (`{% import "l.tera"\tas m %}` is valid Tera).
            let mut words = tag.split_whitespace();
            words.find(|w| *w == "as")?;
            let ns: String = words
                .next()?
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!ns.is_empty()).then_some(ns)
        })
        .collect()
}

/// When the failing tag is a macro call or include, the use of `name` inside that library
/// as a related place: the template line that reads the variable.
fn relate_library_use(
    text: &str,
    deps: &[Dependency],
    name: &str,
    here: &Range<usize>,
    d: &mut Diagnostic,
) {
    let Some(lib_name) = super::library_of_tag(text, here.start) else {
        return;
    };
    let Some(dep) = deps.iter().find(|dep| dep.name == lib_name) else {
        return;
    };
    let Some(lib) = dep.text.clone() else { return };
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let Some(at) = lib.match_indices(name).map(|(i, _)| i).find(|&i| {
        let before = i.checked_sub(1).map(|j| lib.as_bytes()[j]);
        let after = lib.as_bytes().get(i + name.len()).copied();
        !before.is_some_and(|b| is_ident(b) || b == b'.') && !after.is_some_and(is_ident)
    }) else {
        return;
    };
    let line = lib[..at].matches('\n').count() + 1;
    let file = Arc::new(SourceFile {
        path: dep.path.clone().unwrap_or_else(|| dep.name.clone().into()),
        text: lib,
    });
    *d = d.clone().with_related_in(
        file,
        at..at + name.len(),
        format!("`{name}` is read here, in `{lib_name}` line {line}"),
    );
}

/// `{{ workspace }}` rendered from our binding (not the file's `[vars]`): a note at its
/// first use that clnrm does not define it, so a file meant for clnrm too is not
/// surprised there.
fn ours_not_clnrms(text: &str, scan: &Scan, bindings: &[Binding]) -> Option<Diagnostic> {
    let name = super::context::WORKSPACE_VAR;
    let ours = bindings
        .iter()
        .any(|b| b.name == name && b.origin == super::context::BindingOrigin::Workspace);
    if !ours {
        return None;
    }
    let first = scan
        .tags()
        .filter(|t| t.kind == TagKind::Expr)
        .find_map(|t| scan::find_ident(text, t, name).into_iter().next())?;
    Some(Diagnostic::new(
        Code::RunCompat,
        first,
        "`workspace` is clnrm-lsp's variable (the workspace root, for the local backend); clnrm does not define it, so `clnrm render` and `clnrm run` report it undefined: for a file clnrm runs too, name workspace files relative to the test file",
    ))
}

/// Undefined `name`: at the failing use, and at every other use in an output tag.
fn report_undefined(
    text: &str,
    scan: &Scan,
    name: &str,
    failing: &Range<usize>,
    macro_ranges: &[Range<usize>],
    bindings: &[Binding],
    diags: &mut Vec<Diagnostic>,
) {
    let root = name.split(['.', '[']).next().unwrap_or(name);
    let hint = if root == "matrix" || root == "otel" {
        format!(" (`{root}` is empty when rendering like `clnrm render`)")
    } else if root == "vars" {
        " (`vars` holds only [vars] entries and clnrm's defaults)".to_string()
    } else {
        match nearest(name, bindings.iter().map(|b| b.name.as_str())) {
            Some(n) => format!("; did you mean `{n}`?"),
            None => String::new(),
        }
    };
    let mut ranges = vec![failing.clone()];
    for tag in scan.tags().filter(|t| t.kind == TagKind::Expr) {
        if macro_ranges.iter().any(|m| m.contains(&tag.range.start)) {
            continue;
        }
        for r in scan::find_ident(text, tag, name) {
            let after = text[r.end..tag.inner.end].trim_start();
            let guarded = after.starts_with("is ")
                || after
                    .strip_prefix('|')
                    .is_some_and(|f| f.trim_start().starts_with("default"));
            if !guarded && !ranges.iter().any(|x| overlaps(x, &r)) && ranges.len() < MAX_USES {
                ranges.push(r);
            }
        }
    }
    ranges.sort_by_key(|r| r.start);
    // One finding per name, at its first use; the other uses are related locations.
    let uses = match ranges.len() {
        1 => String::new(),
        n => format!(" (used {n} times)"),
    };
    let todo = if root == "matrix" || root == "otel" || name.contains(['.', '[']) {
        "define it or guard it with `| default(value=…)`".to_string()
    } else {
        format!("add `{name} = \"…\"` under [vars], or guard it with `| default(value=…)`")
    };
    let message = format!(
        "undefined variable `{name}`{uses}: it is not in [vars], the environment or clnrm's defaults{hint}; {todo}"
    );
    let mut rest = ranges.into_iter();
    let Some(first) = rest.next() else { return };
    let mut d = Diagnostic::new(Code::UndefinedVariable, first, message);
    for r in rest {
        d = d.with_related(r, format!("`{name}` is also used here"));
    }
    diags.push(d);
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
}

/// Ranges of `{% macro %}…{% endmacro %}` definitions.
fn macro_ranges(text: &str, scan: &Scan) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut open = None;
    for tag in scan.tags() {
        match tag.keyword(text) {
            "macro" => open = Some(tag.range.start),
            "endmacro" => {
                if let Some(s) = open.take() {
                    out.push(s..tag.range.end);
                }
            }
            _ => {}
        }
    }
    out
}

/// Sets a stand-in value at a dotted path of the context. False when impossible.
fn insert_path(ctx: &mut Map<String, Value>, path: &str, value: Value) -> bool {
    if path.contains(['[', ']']) || path.is_empty() {
        return false;
    }
    let mut parts = path.split('.').peekable();
    let mut cur = ctx;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), value);
            return true;
        }
        let next = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        match next {
            Value::Object(m) => cur = m,
            _ => return false,
        }
    }
    false
}

/// The failure at the root of a Tera error chain.
fn classify(err: &tera::Error) -> Failure {
    let mut chain: Vec<&tera::Error> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut last_msg = err.to_string();
    while let Some(e) = cur {
        last_msg = e.to_string();
        if let Some(te) = e.downcast_ref::<tera::Error>() {
            chain.push(te);
        }
        cur = e.source();
    }
    for (i, e) in chain.iter().enumerate() {
        match &e.kind {
            ErrorKind::FunctionNotFound(n) => return Failure::UnknownFunction(n.clone()),
            ErrorKind::FilterNotFound(n) => return Failure::UnknownFilter(n.clone()),
            ErrorKind::TestNotFound(n) => return Failure::UnknownTest(n.clone()),
            ErrorKind::TemplateNotFound(n) => return Failure::NotFound(n.clone()),
            ErrorKind::Io(_) => return Failure::TooLarge,
            ErrorKind::CallFunction(n) | ErrorKind::CallFilter(n) => {
                let detail: Vec<String> = chain[i + 1..].iter().map(|e| e.to_string()).collect();
                let detail = if detail.is_empty() {
                    last_msg.clone()
                } else {
                    detail.join(": ")
                };
                if matches!(n.as_str(), "env" | "get_env") {
                    if let Some(var) = backticked(&detail, "environment variable `") {
                        return Failure::EnvUnset(var);
                    }
                }
                return Failure::Call {
                    name: n.clone(),
                    detail,
                };
            }
            ErrorKind::Msg(m) => {
                // Only "… not found": `Variable `x` was used in a math operation` and
                // `Macro `m` is missing the argument` name defined things.
                if m.contains("not found in context") {
                    if let Some(v) = backticked(m, "Variable `") {
                        return Failure::Undefined(v);
                    }
                }
                if m.contains("not found in template") {
                    if let Some(v) = backticked(m, "Macro `") {
                        return Failure::UnknownMacro(v);
                    }
                }
                if let Some(v) = backticked(m, "Macro namespace `") {
                    return Failure::UnknownMacro(v);
                }
            }
            _ => {}
        }
    }
    Failure::Other(last_msg)
}

/// The text between `prefix` and the next backtick.
fn backticked(msg: &str, prefix: &str) -> Option<String> {
    let i = msg.find(prefix)? + prefix.len();
    let end = msg[i..].find('`')?;
    Some(msg[i..i + end].to_string())
}

fn chain_text(err: &tera::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = std::error::Error::source(err);
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    parts.join(": ")
}

/// The byte range in the template where `failure` happened: the first tag at or after
/// the last marker that mentions the failing name, else the marker's own origin.
fn locate(text: &str, scan: &Scan, failure: &Failure, origin: Option<&Origin>) -> Range<usize> {
    let from = origin.map_or(0, |o| o.range.start);
    let find = |from: usize| -> Option<Range<usize>> {
        scan.tags()
            .filter(|t| t.kind != TagKind::Comment && t.range.end > from)
            .find_map(|t| mention(text, t, failure))
    };
    if let Some(r) = find(from).or_else(|| find(0)) {
        return r;
    }
    match origin {
        Some(o) if !o.verbatim => o.range.clone(),
        Some(o) => {
            // The failure happened after this text: the next tag is the best guess.
            scan.tags()
                .find(|t| t.kind != TagKind::Comment && t.range.start >= o.range.end)
                .map_or(o.range.clone(), |t| t.range.clone())
        }
        None => first_tag(scan),
    }
}

/// Where `tag` mentions the failing name, if it does.
fn mention(text: &str, tag: &Tag, failure: &Failure) -> Option<Range<usize>> {
    let code_after = |r: &Range<usize>| text[r.end..tag.inner.end].trim_start().to_string();
    let code_before = |r: &Range<usize>| text[tag.inner.start..r.start].trim_end().to_string();
    match failure {
        Failure::Undefined(name) => scan::find_ident(text, tag, name).into_iter().next(),
        Failure::UnknownFunction(name) | Failure::Call { name, .. } => {
            scan::find_ident(text, tag, name)
                .into_iter()
                .find(|r| code_after(r).starts_with('(') || code_before(r).ends_with('|'))
                .or_else(|| {
                    // `{% filter name %}`
                    (tag.keyword(text) == "filter")
                        .then(|| scan::find_ident(text, tag, name).into_iter().next())
                        .flatten()
                })
        }
        Failure::EnvUnset(var) => {
            let calls: Vec<Range<usize>> = ["env", "get_env"]
                .iter()
                .flat_map(|f| scan::find_ident(text, tag, f))
                .filter(|r| code_after(r).starts_with('('))
                .collect();
            if calls.is_empty() {
                return None;
            }
            let code = &text[tag.inner.clone()];
            if code.contains(&format!("\"{var}\"")) || code.contains(&format!("'{var}'")) {
                calls
                    .into_iter()
                    .next()
                    .map(|r| r.start..call_end(text, r.end, tag.inner.end))
            } else {
                None
            }
        }
        Failure::UnknownFilter(name) => scan::find_ident(text, tag, name)
            .into_iter()
            .find(|r| code_before(r).ends_with('|') || tag.keyword(text) == "filter"),
        Failure::UnknownTest(name) => scan::find_ident(text, tag, name)
            .into_iter()
            .find(|r| code_before(r).ends_with("is") || code_before(r).ends_with("not")),
        Failure::UnknownMacro(name) => scan::find_ident(text, tag, name).into_iter().next(),
        Failure::NotFound(name) => {
            let code = &text[tag.inner.clone()];
            (matches!(tag.keyword(text), "include" | "import" | "extends")
                && (code.contains(&format!("\"{name}\"")) || code.contains(&format!("'{name}'"))))
            .then(|| tag.range.clone())
        }
        Failure::TooLarge | Failure::Limit(_) | Failure::Other(_) => None,
    }
}

/// End of the call whose name ends at `from`: after its closing parenthesis (strings
/// skipped), or `limit`.
fn call_end(text: &str, from: usize, limit: usize) -> usize {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < limit {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => match text[i + 1..limit].find(q as char) {
                Some(rel) => i += rel + 1,
                None => return limit,
            },
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    limit
}

fn first_tag(scan: &Scan) -> Range<usize> {
    scan.tags().next().map_or(0..0, |t| t.range.clone())
}

/// A writer that refuses to grow past [`limits::MAX_OUTPUT_BYTES`].
struct Limited(Vec<u8>);

impl Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > limits::MAX_OUTPUT_BYTES {
            return Err(std::io::Error::other("rendered output too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
