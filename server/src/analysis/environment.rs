//! The process environment as the template renderer sees it, captured once so every
//! analysis is a pure function of its inputs, with a fingerprint for cache keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::Diagnostic;

/// Parts of a variable name that say its value is secret (`CLNRM_RT_API_TOKEN`,
/// `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`...). The one rule: hover, completion and every
/// diagnostic mask such values.
const SECRET_MARKERS: [&str; 5] = ["TOKEN", "KEY", "SECRET", "PASSWORD", "CREDENTIAL"];

/// What a secret value is shown as.
pub const MASK: &str = "••••••";

/// Values shorter than this are not masked inside messages: masking `1` or `on` would
/// garble every message while hiding nothing worth hiding.
const MIN_MASKED_LEN: usize = 4;

/// Whether a variable's name says its value is secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

#[derive(Debug, Clone)]
pub struct Environment {
    // Shared: each analysed file gets a copy with its own workspace root.
    vars: Arc<BTreeMap<String, String>>,
    user_vars: Arc<BTreeMap<String, String>>,
    /// The workspace root of the file being analysed: the `workspace` template variable.
    workspace: Option<String>,
    fingerprint: [u8; 32],
    /// Values of secret-looking variables, longest first (so a value containing another
    /// is masked whole).
    secrets: Arc<Vec<String>>,
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
        let mut env = Self {
            vars: Arc::new(vars),
            user_vars: Arc::default(),
            workspace: None,
            fingerprint: h.finalize().into(),
            secrets: Arc::default(),
        };
        env.collect_secrets();
        env
    }

    fn collect_secrets(&mut self) {
        let mut secrets: Vec<String> = self
            .vars
            .iter()
            .chain(self.user_vars.iter())
            .filter(|(k, v)| is_secret_name(k) && v.len() >= MIN_MASKED_LEN)
            .map(|(_, v)| v.clone())
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        self.secrets = Arc::new(secrets);
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    fn reveals(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// Mask secret values in everything a diagnostic shows: message, related messages, the
    /// fix's title. A fix whose edits would write a secret into the file is dropped.
    pub fn mask_diagnostic(&self, d: &mut Diagnostic) {
        if self.secrets.is_empty() {
            return;
        }
        d.message = self.mask(&d.message);
        for r in &mut d.related {
            r.message = self.mask(&r.message);
        }
        if let Some(fix) = &mut d.fix {
            if fix.edits.iter().any(|e| self.reveals(&e.new_text)) {
                d.fix = None;
            } else {
                fix.title = self.mask(&fix.title);
            }
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
        Arc::make_mut(&mut self.user_vars).extend(vars);
        let mut h = Sha256::new();
        h.update(self.fingerprint);
        for (k, v) in self.user_vars.iter() {
            h.update((k.len() as u64).to_le_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        self.fingerprint = h.finalize().into();
        self.collect_secrets();
        self
    }

    pub fn user_vars(&self) -> &BTreeMap<String, String> {
        &self.user_vars
    }

    /// The same environment for a file of the workspace at `root`: `{{ workspace }}`
    /// renders to it (so the fingerprint covers it).
    pub fn in_workspace(&self, root: &std::path::Path) -> Self {
        let root = root.display().to_string();
        if self.workspace.as_deref() == Some(root.as_str()) {
            return self.clone();
        }
        let mut h = Sha256::new();
        h.update(self.fingerprint);
        h.update(b"workspace");
        h.update((root.len() as u64).to_le_bytes());
        h.update(root.as_bytes());
        Self {
            fingerprint: h.finalize().into(),
            workspace: Some(root),
            ..self.clone()
        }
    }

    /// The workspace root `{{ workspace }}` renders to, when known.
    pub fn workspace(&self) -> Option<&str> {
        self.workspace.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_in_every_part_of_a_diagnostic() {
        let env = Environment::from_vars([
            ("CLNRM_RT_API_TOKEN".to_string(), "tok-12345".to_string()),
            ("db_password".to_string(), "hunter2".to_string()),
            ("MY_KEY".to_string(), "ab".to_string()),
            ("HOME".to_string(), "/home/me".to_string()),
        ])
        .with_user_vars([("secret_word".to_string(), "xyzzy".to_string())]);
        let mut d = Diagnostic::new(
            super::super::Code::UnknownPlugin,
            0..1,
            "plugin `tok-12345` is unknown (hunter2, xyzzy, /home/me, ab)",
        )
        .with_related(2..3, "see tok-12345");
        d.fix = Some(super::super::Fix {
            title: "replace hunter2".into(),
            edits: vec![],
        });
        env.mask_diagnostic(&mut d);
        assert_eq!(
            d.message,
            "plugin `••••••` is unknown (••••••, ••••••, /home/me, ab)"
        );
        assert_eq!(d.related[0].message, "see ••••••");
        assert_eq!(d.fix.as_ref().unwrap().title, "replace ••••••");
        d.fix = Some(super::super::Fix {
            title: "t".into(),
            edits: vec![super::super::Edit {
                range: 0..1,
                new_text: "tok-12345".into(),
            }],
        });
        env.mask_diagnostic(&mut d);
        assert!(d.fix.is_none(), "a fix that writes a secret is dropped");
    }

    #[test]
    fn the_workspace_root_changes_the_fingerprint() {
        let base = Environment::empty();
        let a = base.in_workspace(std::path::Path::new("/src/a"));
        let b = base.in_workspace(std::path::Path::new("/src/b"));
        assert_ne!(base.fingerprint(), a.fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.workspace(), Some("/src/a"));
        assert_eq!(
            a.in_workspace(std::path::Path::new("/src/a")).fingerprint(),
            a.fingerprint()
        );
    }

    #[test]
    fn user_vars_change_the_fingerprint() {
        let base = Environment::empty();
        let with = Environment::empty().with_user_vars([("svc".into(), "x".into())]);
        assert_ne!(base.fingerprint(), with.fingerprint());
        assert_eq!(with.user_vars().get("svc").map(String::as_str), Some("x"));
    }
}
