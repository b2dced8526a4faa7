//! Which scenarios a run takes: every one, or those named. One value for both faces, so
//! `run --scenario` and `clnrm.runScenario` select alike. A further way to select (a shard
//! of the batch) is one more field here, applied where the batch is planned
//! (`workspace::runs`).

/// Which scenarios of a batch of files run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The scenario names to keep; empty keeps every scenario.
    pub scenarios: Vec<String>,
    /// Of the (file, scenario) pairs kept, only this shard's (`run --shard I/N`; see
    /// `runs::shard`).
    pub shard: Option<super::shard::Shard>,
}

impl Selection {
    /// Every scenario.
    pub fn all() -> Self {
        Self::default()
    }

    /// The scenarios named `names` (none named: every scenario).
    pub fn named<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Self {
            scenarios: names.into_iter().map(Into::into).collect(),
            shard: None,
        }
    }

    /// Whether the selection keeps the scenario `name`.
    pub fn admits(&self, name: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|n| n == name)
    }

    /// The names selected that no scenario in `known` has, in the order given, once each.
    pub fn unknown<'a>(&self, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let known: std::collections::HashSet<&str> = known.into_iter().collect();
        let mut unknown: Vec<String> = Vec::new();
        for name in &self.scenarios {
            if !known.contains(name.as_str()) && !unknown.contains(name) {
                unknown.push(name.clone());
            }
        }
        unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_admits_every_scenario_and_knows_no_unknown() {
        let all = Selection::all();
        assert!(all.admits("smoke") && all.admits(""));
        assert!(all.unknown(["a"]).is_empty());
        assert_eq!(Selection::named(Vec::<String>::new()), all);
    }

    #[test]
    fn named_admits_only_its_names_and_reports_the_unknown_ones() {
        let s = Selection::named(["smoke", "typo", "typo", "load"]);
        assert!(s.admits("smoke") && s.admits("load"));
        assert!(!s.admits("other"));
        assert_eq!(s.unknown(["smoke", "load", "other"]), vec!["typo"]);
        assert_eq!(s.unknown([]), vec!["smoke", "typo", "load"]);
    }
}
