//! Bounds on one template evaluation: recursion depth, loop iterations, value size,
//! rendered bytes and wall time.
//!
//! Tera 1.x has no hooks for any of these, so before a render the parsed templates —
//! Tera's own syntax trees, so no spelling or whitespace gets past — are instrumented
//! with calls to hidden functions and filters that count against a per-render
//! [`Budget`]:
//! - every macro body and every `{% include %}` is bracketed by `enter`/`leave`, so the
//!   evaluation itself sees how deep it is (includes, imports, macros, across files);
//! - every loop body starts with a `tick`, which counts iterations and the body's text;
//! - every `{{ … }}` ends with an `out` filter (bytes produced, also inside macros whose
//!   output Tera buffers), every `{% set %}` with a `sized` filter (string/array growth);
//! - every filter and function is wrapped: its result must stay under the value limit,
//!   and filters that multiply their input (`replace`, `join`, `indent`) are refused when
//!   the product of their inputs could exceed it, before they allocate.
//!
//! Each check also looks at the clock. The first limit exceeded is recorded with the
//! chain of frames that led there; the render then fails and the caller reports it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tera::ast::{Expr, ExprVal, FunctionCall, Node, WS};
use tera::{Template, Tera};

use crate::analysis::Code;

/// Nested macro calls and includes one render may be inside at once.
pub const MAX_DEPTH: usize = 64;
/// Loop iterations one render may run, over all loops.
pub const MAX_ITERATIONS: u64 = 200_000;
/// Bytes one value (a `set` variable, a filter's or function's result) may hold.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Bytes one render may produce, counting the output of macros and loops as it is made.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;
/// Wall time of one file's render, all attempts together.
pub const MAX_RENDER_TIME: Duration = Duration::from_secs(3);

const ENTER: &str = "__clnrm_enter";
const LEAVE: &str = "__clnrm_leave";
const TICK: &str = "__clnrm_tick";
const OUT: &str = "__clnrm_out";
const SIZED: &str = "__clnrm_sized";

/// Filters whose output can be a product of their inputs' sizes.
const MULTIPLYING: &[&str] = &["replace", "join", "indent"];

/// A limit the render exceeded: the diagnostic code and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub code: Code,
    pub message: String,
}

struct Budget {
    deadline: Instant,
    frames: Vec<String>,
    iterations: u64,
    output: usize,
    exceeded: Option<Exceeded>,
}

thread_local! {
    static BUDGET: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// Installs a fresh budget (counters at zero, the given deadline) until dropped; what it
/// recorded is read with [`BudgetGuard::exceeded`].
pub struct BudgetGuard(());

impl BudgetGuard {
    pub fn exceeded(&self) -> Option<Exceeded> {
        BUDGET.with(|b| b.borrow().as_ref().and_then(|b| b.exceeded.clone()))
    }
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        BUDGET.with(|b| *b.borrow_mut() = None);
    }
}

pub fn enter(deadline: Instant) -> BudgetGuard {
    BUDGET.with(|b| {
        *b.borrow_mut() = Some(Budget {
            deadline,
            frames: Vec::new(),
            iterations: 0,
            output: 0,
            exceeded: None,
        })
    });
    BudgetGuard(())
}

/// Runs `f` on the budget; without one (a render outside [`enter`]) nothing is counted.
fn with_budget(f: impl FnOnce(&mut Budget) -> Result<(), Exceeded>) -> tera::Result<()> {
    BUDGET.with(|b| {
        let Ok(mut slot) = b.try_borrow_mut() else {
            return Ok(());
        };
        let Some(budget) = slot.as_mut() else {
            return Ok(());
        };
        if let Some(e) = &budget.exceeded {
            return Err(tera::Error::msg(e.message.clone()));
        }
        let result = if Instant::now() > budget.deadline {
            Err(Exceeded {
                code: Code::RenderTimeout,
                message: format!(
                    "rendering took longer than {} s; it was stopped{}",
                    MAX_RENDER_TIME.as_secs(),
                    inside(&budget.frames)
                ),
            })
        } else {
            f(budget)
        };
        result.map_err(|e| {
            let msg = e.message.clone();
            budget.exceeded = Some(e);
            tera::Error::msg(msg)
        })
    })
}

/// ` (in a → b)` when the render is inside macros or includes.
fn inside(frames: &[String]) -> String {
    if frames.is_empty() {
        String::new()
    } else {
        format!(" (in {})", chain(frames))
    }
}

/// The frames as `a → b → a`: the cycle ending at the innermost frame when there is one,
/// else the innermost few.
pub fn chain(frames: &[String]) -> String {
    let Some(last) = frames.last() else {
        return String::new();
    };
    let cycle = frames[..frames.len() - 1].iter().rposition(|f| f == last);
    let start = cycle.unwrap_or(frames.len().saturating_sub(6));
    let mut parts: Vec<&str> = frames[start..].iter().map(String::as_str).collect();
    if cycle.is_none() && start > 0 {
        parts.insert(0, "…");
    }
    parts.join(" → ")
}

/// Rough heap bytes of a value, stopping early once past `cap`.
pub fn size_of(v: &Value, cap: usize) -> usize {
    let mut total = 0usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::String(s) => s.len() + 8,
            Value::Array(a) => {
                stack.extend(a.iter());
                8
            }
            Value::Object(m) => {
                for (k, v) in m {
                    total += k.len() + 8;
                    stack.push(v);
                }
                8
            }
            _ => 8,
        };
        if total > cap {
            break;
        }
    }
    total
}

fn too_large(what: &str, frames: &[String]) -> Exceeded {
    Exceeded {
        code: Code::ValueTooLarge,
        message: format!(
            "{what} would exceed {} KiB; rendering stopped (a value that keeps doubling?){}",
            MAX_VALUE_BYTES >> 10,
            inside(frames)
        ),
    }
}

fn check_value(what: &str, v: &Value) -> tera::Result<()> {
    with_budget(|b| {
        if size_of(v, MAX_VALUE_BYTES) > MAX_VALUE_BYTES {
            Err(too_large(what, &b.frames))
        } else {
            Ok(())
        }
    })
}

fn add_output(b: &mut Budget, n: usize) -> Result<(), Exceeded> {
    b.output = b.output.saturating_add(n);
    if b.output > MAX_OUTPUT_BYTES {
        return Err(Exceeded {
            code: Code::OutputTooLarge,
            message: format!(
                "the template renders more than {} MiB; rendering stopped{}",
                MAX_OUTPUT_BYTES >> 20,
                inside(&b.frames)
            ),
        });
    }
    Ok(())
}

fn arg_str(args: &HashMap<String, Value>, key: &str) -> String {
    args.get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// clnrm's Tera instance ([`super::functions::base`]) with the budget installed, built once.
pub fn guarded() -> &'static Tera {
    static GUARDED: std::sync::LazyLock<Tera> = std::sync::LazyLock::new(|| {
        let mut t = super::functions::base().clone();
        install(&mut t);
        t
    });
    &GUARDED
}

/// Registers the counting functions and filters, and wraps every other filter and
/// function of `tera` with the value limit.
fn install(tera: &mut Tera) {
    let filters: Vec<(String, Arc<dyn tera::Filter>)> = tera
        .filters
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, inner) in filters {
        let multiplies = MULTIPLYING.contains(&name.as_str());
        tera.register_filter(
            &name.clone(),
            GuardedFilter {
                name,
                inner,
                multiplies,
            },
        );
    }
    let functions: Vec<(String, Arc<dyn tera::Function>)> = tera
        .functions
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, inner) in functions {
        tera.register_function(&name.clone(), GuardedFunction { name, inner });
    }
    tera.register_function(ENTER, |a: &HashMap<String, Value>| {
        let frame = arg_str(a, "f");
        with_budget(|b| {
            b.frames.push(frame);
            if b.frames.len() > MAX_DEPTH {
                return Err(Exceeded {
                    code: Code::RecursionLimit,
                    message: format!(
                        "recursion deeper than {MAX_DEPTH} levels of macros and includes: {}",
                        chain(&b.frames)
                    ),
                });
            }
            Ok(())
        })?;
        Ok(Value::String(String::new()))
    });
    tera.register_function(LEAVE, |_: &HashMap<String, Value>| {
        with_budget(|b| {
            b.frames.pop();
            Ok(())
        })?;
        Ok(Value::String(String::new()))
    });
    tera.register_function(TICK, |a: &HashMap<String, Value>| {
        let text = a.get("t").and_then(Value::as_u64).unwrap_or(0) as usize;
        with_budget(|b| {
            b.iterations += 1;
            if b.iterations > MAX_ITERATIONS {
                return Err(Exceeded {
                    code: Code::IterationLimit,
                    message: format!(
                        "loops ran more than {MAX_ITERATIONS} iterations; rendering stopped{}",
                        inside(&b.frames)
                    ),
                });
            }
            add_output(b, text)
        })?;
        Ok(Value::String(String::new()))
    });
    tera.register_filter(OUT, |v: &Value, _: &HashMap<String, Value>| {
        let n = match v {
            Value::String(s) => s.len(),
            other => size_of(other, MAX_OUTPUT_BYTES),
        };
        with_budget(|b| add_output(b, n))?;
        Ok(v.clone())
    });
    tera.register_filter(SIZED, |v: &Value, a: &HashMap<String, Value>| {
        check_value(&format!("variable `{}`", arg_str(a, "k")), v)?;
        Ok(v.clone())
    });
}

struct GuardedFilter {
    name: String,
    inner: Arc<dyn tera::Filter>,
    multiplies: bool,
}

impl tera::Filter for GuardedFilter {
    fn filter(&self, value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
        if self.multiplies {
            let input = size_of(value, MAX_VALUE_BYTES);
            let extra: usize = args.values().map(|v| size_of(v, MAX_VALUE_BYTES)).sum();
            // Every element or match of the input may receive a copy of the arguments.
            if input.saturating_mul(extra.saturating_add(1)) > MAX_VALUE_BYTES {
                with_budget(|b| {
                    Err(too_large(
                        &format!("the result of `{}`", self.name),
                        &b.frames,
                    ))
                })?;
            }
        }
        let out = self.inner.filter(value, args)?;
        check_value(&format!("the result of `{}`", self.name), &out)?;
        Ok(out)
    }

    fn is_safe(&self) -> bool {
        self.inner.is_safe()
    }
}

struct GuardedFunction {
    name: String,
    inner: Arc<dyn tera::Function>,
}

impl tera::Function for GuardedFunction {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let out = self.inner.call(args)?;
        check_value(&format!("the result of `{}`", self.name), &out)?;
        Ok(out)
    }

    fn is_safe(&self) -> bool {
        self.inner.is_safe()
    }
}

/// Adds the budget calls to `template` (its top level, blocks and macros).
pub fn instrument(template: &mut Template) {
    let label = if template.name == super::MAIN {
        "self".to_string()
    } else {
        template.name.clone()
    };
    instrument_body(&mut template.ast);
    for block in template.blocks.values_mut() {
        instrument_body(&mut block.body);
    }
    for (name, m) in template.macros.iter_mut() {
        instrument_body(&mut m.body);
        m.body
            .insert(0, call_node(ENTER, &[("f", format!("{label}::{name}"))]));
        m.body.push(call_node(LEAVE, &[]));
    }
}

fn instrument_body(body: &mut Vec<Node>) {
    let old = std::mem::take(body);
    for mut node in old {
        match &mut node {
            Node::VariableBlock(_, expr) => add_filter(expr, OUT, None),
            Node::Set(_, set) => {
                let key = set.key.clone();
                add_filter(&mut set.value, SIZED, Some(("k", key)));
            }
            Node::FilterSection(_, section, _) => instrument_body(&mut section.body),
            Node::Block(_, block, _) => instrument_body(&mut block.body),
            Node::If(cond, _) => {
                for (_, _, b) in cond.conditions.iter_mut() {
                    instrument_body(b);
                }
                if let Some((_, b)) = &mut cond.otherwise {
                    instrument_body(b);
                }
            }
            Node::Forloop(_, forloop, _) => {
                instrument_body(&mut forloop.body);
                let text: usize = forloop.body.iter().map(text_len).sum();
                forloop
                    .body
                    .insert(0, call_node(TICK, &[("t", text.to_string())]));
                if let Some(b) = &mut forloop.empty_body {
                    instrument_body(b);
                }
            }
            Node::MacroDefinition(_, m, _) => instrument_body(&mut m.body),
            Node::Include(_, names, _) => {
                let frame = names.first().cloned().unwrap_or_default();
                body.push(call_node(ENTER, &[("f", frame)]));
                body.push(node);
                body.push(call_node(LEAVE, &[]));
                continue;
            }
            _ => {}
        }
        body.push(node);
    }
}

fn text_len(node: &Node) -> usize {
    match node {
        Node::Text(s) | Node::Raw(_, s, _) => s.len(),
        _ => 0,
    }
}

/// Appends filter `name` to `expr`, before a final `safe` (which must stay last).
fn add_filter(expr: &mut Expr, name: &str, arg: Option<(&str, String)>) {
    let mut args = HashMap::new();
    if let Some((k, v)) = arg {
        args.insert(k.to_string(), Expr::new(ExprVal::String(v)));
    }
    let call = FunctionCall {
        name: name.to_string(),
        args,
    };
    let at = if expr.is_marked_safe() {
        expr.filters.len() - 1
    } else {
        expr.filters.len()
    };
    expr.filters.insert(at, call);
}

/// `{{ name(k="v", …) }}`: renders nothing (the functions return "").
fn call_node(name: &str, args: &[(&str, String)]) -> Node {
    let args = args
        .iter()
        .map(|(k, v)| {
            let val = match v.parse::<i64>() {
                Ok(n) if *k == "t" => ExprVal::Int(n),
                _ => ExprVal::String(v.clone()),
            };
            (k.to_string(), Expr::new(val))
        })
        .collect();
    Node::VariableBlock(
        WS::default(),
        Expr::new(ExprVal::FunctionCall(FunctionCall {
            name: name.to_string(),
            args,
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_the_cycle() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(chain(&f(&["a", "b", "a"])), "a → b → a");
        assert_eq!(chain(&f(&["x", "a", "b", "a"])), "a → b → a");
        assert_eq!(chain(&f(&["s", "s", "s"])), "s → s");
    }

    #[test]
    fn size_stops_early() {
        let v = Value::Array(vec![Value::String("x".repeat(100)); 1000]);
        assert!(size_of(&v, 1000) <= 1200);
        assert!(size_of(&v, usize::MAX) > 100_000);
    }

    #[test]
    fn a_passed_deadline_stops_the_render() {
        let mut tera = Tera::default();
        install(&mut tera);
        let mut t = Template::new("x", None, "{% for i in [1, 2] %}{{ i }}{% endfor %}").unwrap();
        instrument(&mut t);
        tera.templates.insert("x".into(), t);
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        let guard = enter(past);
        assert!(tera.render("x", &tera::Context::new()).is_err());
        assert_eq!(guard.exceeded().map(|e| e.code), Some(Code::RenderTimeout));
        drop(guard);
        // Without a budget (outside a render) nothing is counted.
        assert_eq!(tera.render("x", &tera::Context::new()).unwrap(), "12");
    }
}
