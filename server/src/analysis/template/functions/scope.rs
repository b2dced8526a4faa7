//! Per-render state (environment snapshot, frozen clock, counters) in a thread-local
//! [`Scope`], and the clock helpers.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::analysis::Environment;

/// Per-render state read by the functions.
pub struct Scope {
    pub env: Environment,
    /// Environment names that stand in for unset ones while looking for more errors.
    pub env_placeholders: Vec<String>,
    /// The frozen clock, seconds since the Unix epoch.
    pub now: i64,
    pub(super) counter: u64,
    pub(super) seq: HashMap<String, i64>,
    /// `range()` elements left for this render: nested loops over big ranges would
    /// otherwise run for minutes on a keystroke.
    pub(super) range_budget: i64,
}

impl Scope {
    pub fn new(env: Environment, now: i64) -> Self {
        Self {
            env,
            env_placeholders: Vec::new(),
            now,
            counter: 0,
            seq: HashMap::new(),
            range_budget: RANGE_BUDGET,
        }
    }
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Installs `scope` for renders on this thread until dropped.
pub struct ScopeGuard(());

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPE.with(|s| *s.borrow_mut() = None);
    }
}

pub fn enter(scope: Scope) -> ScopeGuard {
    SCOPE.with(|s| *s.borrow_mut() = Some(scope));
    ScopeGuard(())
}

/// Runs `f` on the current scope (a default one outside a render).
pub(super) fn with_scope<T>(f: impl FnOnce(&mut Scope) -> T) -> T {
    SCOPE.with(|s| match s.try_borrow_mut() {
        Ok(mut slot) => {
            let scope = slot.get_or_insert_with(|| Scope::new(Environment::empty(), DEFAULT_NOW));
            f(scope)
        }
        Err(_) => f(&mut Scope::new(Environment::empty(), DEFAULT_NOW)),
    })
}

/// Total `range()` elements one render may create.
pub(super) const RANGE_BUDGET: i64 = 1_000_000;

/// 2025-01-01T00:00:00Z, clnrm's default `freeze_clock`.
pub const DEFAULT_NOW: i64 = 1_735_689_600;

/// Parses an RFC 3339 `freeze_clock` value.
pub fn parse_clock(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.timestamp())
}

pub(super) fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || "1970-01-01T00:00:00Z".to_string(),
        |d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}
