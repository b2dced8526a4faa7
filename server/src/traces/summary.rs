//! Counts of a trace diff and the one-line titles shown in lenses and summaries.

use serde::Serialize;

/// How many spans are in each state (every span counts, including those inside a
/// missing or extra subtree).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    pub same: usize,
    pub changed: usize,
    pub extra: usize,
    pub missing: usize,
}

impl DiffSummary {
    pub fn has_differences(&self) -> bool {
        self.changed + self.extra + self.missing > 0
    }

    /// `trace ✓ matches baseline`, or `trace: ❌ 1 ➕ 2 ✏️ 3` (zero counts left out).
    pub fn lens_title(&self) -> String {
        if !self.has_differences() {
            return "trace ✓ matches baseline".to_string();
        }
        let parts: Vec<String> = [
            ("❌", self.missing),
            ("➕", self.extra),
            ("✏️", self.changed),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(m, n)| format!("{m} {n}"))
        .collect();
        format!("trace: {}", parts.join(" "))
    }

    /// The summary line under a text tree.
    pub fn line(&self) -> String {
        let total = self.same + self.changed + self.missing;
        if !self.has_differences() {
            return format!("trace ✓ matches baseline ({total} spans)");
        }
        format!(
            "{} — {} same, {} changed, {} extra, {} missing",
            self.lens_title(),
            self.same,
            self.changed,
            self.extra,
            self.missing
        )
    }
}

/// Lens title when a scenario has no baseline yet.
pub const NO_BASELINE_TITLE: &str = "trace: no baseline — record";
/// Lens title when a scenario has not been run yet (no trace to compare).
pub const NO_TRACE_TITLE: &str = "trace: not run yet";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        let same = DiffSummary {
            same: 4,
            ..Default::default()
        };
        assert_eq!(same.lens_title(), "trace ✓ matches baseline");
        assert_eq!(same.line(), "trace ✓ matches baseline (4 spans)");
        let d = DiffSummary {
            same: 1,
            missing: 1,
            extra: 2,
            changed: 3,
        };
        assert_eq!(d.lens_title(), "trace: ❌ 1 ➕ 2 ✏️ 3");
        let only_extra = DiffSummary {
            extra: 2,
            ..Default::default()
        };
        assert_eq!(only_extra.lens_title(), "trace: ➕ 2");
    }
}
