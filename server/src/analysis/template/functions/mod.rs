//! clnrm's template functions and filters (clnrm-template 1.3.0 `functions/`), made
//! deterministic: the clock is the `freeze_clock` variable, an unseeded call draws from a
//! fixed seed advanced per call, and the environment is the analysis's snapshot. So a
//! render is a pure function of its inputs, which the analysis cache relies on.
//!
//! The Tera instance with everything registered is built once; per-render state (clock,
//! environment, counters) lives in a thread-local [`Scope`] installed for the render.
//!
//! Modules: [`scope`] (per-render state and clock), [`table`] (the function table),
//! [`fake`] (fake data), [`filters`], [`rng`] (deterministic randomness), [`args`]
//! (argument helpers).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;
use tera::Tera;

mod args;
mod fake;
mod filters;
mod rng;
mod scope;
mod table;

pub use scope::{enter, parse_clock, Scope, DEFAULT_NOW};

use fake::FAKE_LISTS;
use filters::FILTERS;
use rng::rng;
use table::FUNCTIONS;

type Args = HashMap<String, Value>;
type R = tera::Result<Value>;

/// The shared Tera instance: Tera's built-ins, clnrm's functions and filters, and
/// deterministic replacements for Tera's clock, randomness and environment access.
pub fn base() -> &'static Tera {
    static BASE: LazyLock<Tera> = LazyLock::new(build);
    &BASE
}

fn build() -> Tera {
    let mut t = Tera::default();
    for &(name, f) in FUNCTIONS {
        t.register_function(name, f);
    }
    for &(name, list) in FAKE_LISTS {
        t.register_function(name, move |a: &Args| {
            let mut r = rng(a)?;
            Ok(Value::String(r.pick(list).to_string()))
        });
    }
    for &(name, f) in FILTERS {
        t.register_filter(name, f);
    }
    t
}

/// Names of every function a template can call (Tera's built-ins and clnrm's), sorted.
pub fn function_names() -> Vec<&'static str> {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut v: Vec<&str> = FUNCTIONS
            .iter()
            .map(|(n, _)| *n)
            .chain(FAKE_LISTS.iter().map(|(n, _)| *n))
            .chain(["throw"])
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    });
    NAMES.clone()
}

/// Names of every filter (Tera's built-ins and clnrm's), sorted.
pub fn filter_names() -> Vec<String> {
    let mut v: Vec<String> = base().filters.keys().cloned().collect();
    // Tera evaluates `default` itself, outside its filter table.
    v.push("default".to_string());
    v.sort_unstable();
    v.dedup();
    v
}

/// Renders `src` with every function and filter, `HOME=/home/u` and the default clock.
#[cfg(test)]
fn render(src: &str) -> tera::Result<String> {
    let _g = enter(Scope::new(
        crate::analysis::Environment::from_vars([("HOME".to_string(), "/home/u".to_string())]),
        DEFAULT_NOW,
    ));
    let mut t = base().clone();
    t.render_str(src, &tera::Context::new())
}
