//! The process environment as the template renderer sees it, captured once so every
//! analysis is a pure function of its inputs, with a fingerprint for cache keys.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    user_vars: BTreeMap<String, String>,
    fingerprint: [u8; 32],
}

impl Environment {
    /// Snapshot of this process's environment (variables that are not UTF-8 are skipped).
    pub fn capture() -> Self {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let mut h = Sha256::new();
        for (k, v) in &vars {
            h.update((k.len() as u64).to_le_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        Self {
            vars,
            user_vars: BTreeMap::new(),
            fingerprint: h.finalize().into(),
        }
    }

    pub fn empty() -> Self {
        Self::from_vars(std::iter::empty())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }
}

/// Template variables given on the command line (`render --var k=v`): they win over
/// `[vars]`, the environment and clnrm's defaults, as `clnrm render --map` does.
impl Environment {
    pub fn with_user_vars(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.user_vars.extend(vars);
        let mut h = Sha256::new();
        h.update(self.fingerprint);
        for (k, v) in &self.user_vars {
            h.update((k.len() as u64).to_le_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        self.fingerprint = h.finalize().into();
        self
    }

    pub fn user_vars(&self) -> &BTreeMap<String, String> {
        &self.user_vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_vars_change_the_fingerprint() {
        let base = Environment::empty();
        let with = Environment::empty().with_user_vars([("svc".into(), "x".into())]);
        assert_ne!(base.fingerprint(), with.fingerprint());
        assert_eq!(with.user_vars().get("svc").map(String::as_str), Some("x"));
    }
}
