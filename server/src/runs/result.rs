//! The outcome of one scenario run, cacheable and short enough for a code-lens title.

use serde::{Deserialize, Serialize};

use super::backend::BackendKind;
use super::expect::ExpectationFailure;
use crate::traces::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Passed,
    Failed,
    /// The run could not be carried out (spawn failure, bad command, no collector).
    Error,
    TimedOut,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub scenario: String,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub backend: BackendKind,
    pub spans: Vec<Span>,
    pub failures: Vec<ExpectationFailure>,
    /// Why the run is `Error` (or extra context), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Information about the run beside its verdict (services not started: no engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Timeout applied, for the message.
    #[serde(default)]
    pub timeout_ms: u64,
    #[serde(default)]
    pub cached: bool,
}

impl RunResult {
    /// A result with nothing run yet (the start of a run, or a run that never started).
    pub fn without_run(scenario: &str, status: RunStatus, error: Option<String>) -> Self {
        RunResult {
            scenario: scenario.to_string(),
            status,
            exit_code: None,
            duration_ms: 0,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            backend: BackendKind::Local,
            spans: Vec::new(),
            failures: Vec::new(),
            error,
            note: None,
            timeout_ms: 0,
            cached: false,
        }
    }

    pub fn passed(&self) -> bool {
        self.status == RunStatus::Passed
    }

    /// One line for a lens title: `exit 1: <last stderr line>`, `expected /ok/ in stdout`,
    /// `timed out after 30 s`.
    pub fn short_reason(&self) -> String {
        match self.status {
            RunStatus::Passed => "passed".into(),
            RunStatus::Cancelled => "cancelled".into(),
            RunStatus::TimedOut => format!("timed out after {}", secs(self.timeout_ms)),
            RunStatus::Error => self.error.clone().unwrap_or_else(|| "run error".into()),
            RunStatus::Failed => {
                let Some(f) = self.failures.first() else {
                    return "failed".into();
                };
                match f.key.as_deref() {
                    Some("expected_exit_code") => {
                        let code = self
                            .exit_code
                            .map_or_else(|| "killed".to_string(), |c| format!("exit {c}"));
                        match last_line(&self.stderr_tail) {
                            Some(l) => format!("{code}: {l}"),
                            None => code,
                        }
                    }
                    Some("expected_output_regex") => {
                        let want = f
                            .expected
                            .strip_prefix("stdout matching ")
                            .unwrap_or(&f.expected);
                        format!("expected {want} in stdout")
                    }
                    _ => f.message(),
                }
            }
        }
    }
}

fn secs(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn last_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).rev().find(|l| !l.is_empty())
}
