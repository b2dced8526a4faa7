//! Content keys: SHA-256 over everything that can change an answer.

use sha2::{Digest, Sha256};

use super::{Dependency, Environment, FileKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentKey(pub [u8; 32]);

impl ContentKey {
    /// Key of an analysis: engine version, file kind, text, environment, and each resolved
    /// import/include by name and content (or its absence).
    pub fn for_analysis(
        text: &str,
        kind: FileKind,
        env: &Environment,
        deps: &[Dependency],
    ) -> Self {
        let mut h = Sha256::new();
        field(&mut h, crate::ENGINE_VERSION.as_bytes());
        field(&mut h, &[kind as u8]);
        field(&mut h, text.as_bytes());
        field(&mut h, env.fingerprint());
        for dep in deps {
            field(&mut h, dep.name.as_bytes());
            match &dep.text {
                Some(t) => {
                    field(&mut h, b"+");
                    field(&mut h, t.as_bytes());
                }
                None => {
                    field(&mut h, b"-");
                    field(&mut h, dep.problem.as_deref().unwrap_or("").as_bytes());
                }
            }
        }
        ContentKey(h.finalize().into())
    }

    /// A 64-bit hash of what [`ContentKey::for_analysis`] covers, for telling a batch
    /// run's first sight of a content from a repeat without SHA-256. Never a cache key:
    /// a collision only makes a first sight look like a repeat (the real key is then
    /// computed and looked up, as for any repeat).
    pub fn quick(text: &str, kind: FileKind, env: &Environment, deps: &[Dependency]) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = foldhash::quality::FixedState::default().build_hasher();
        (kind as u8).hash(&mut h);
        text.hash(&mut h);
        env.fingerprint().hash(&mut h);
        for dep in deps {
            dep.name.hash(&mut h);
            dep.text.as_deref().hash(&mut h);
            dep.problem.as_deref().hash(&mut h);
        }
        h.finish()
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Length-prefixed so that no two different field sequences hash the same bytes.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_with_every_input() {
        let env = Environment::empty();
        let base = ContentKey::for_analysis("a", FileKind::Test, &env, &[]);
        assert_eq!(
            base,
            ContentKey::for_analysis("a", FileKind::Test, &env, &[])
        );
        assert_ne!(
            base,
            ContentKey::for_analysis("b", FileKind::Test, &env, &[])
        );
        assert_ne!(
            base,
            ContentKey::for_analysis("a", FileKind::TemplateLibrary, &env, &[])
        );
        let env2 = Environment::from_vars([("X".to_string(), "1".to_string())]);
        assert_ne!(
            base,
            ContentKey::for_analysis("a", FileKind::Test, &env2, &[])
        );
        let dep = |t: Option<&str>| Dependency {
            name: "_m.tera".into(),
            path: None,
            problem: None,
            text: t.map(Into::into),
        };
        let with_dep = ContentKey::for_analysis("a", FileKind::Test, &env, &[dep(Some("x"))]);
        assert_ne!(base, with_dep);
        assert_ne!(
            with_dep,
            ContentKey::for_analysis("a", FileKind::Test, &env, &[dep(Some("y"))])
        );
        assert_ne!(
            with_dep,
            ContentKey::for_analysis("a", FileKind::Test, &env, &[dep(None)])
        );
    }
}
