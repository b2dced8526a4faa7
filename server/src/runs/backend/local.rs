//! Host processes: the per-run directory as cwd and HOME, `base_env` + declared env.

use super::{spec, Backend, BackendKind, Invocation};
use crate::runs::process::{base_env, ProcessSpec, Rlimits};

#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Backend for Local {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }

    fn command(&self, inv: &Invocation<'_>) -> ProcessSpec {
        let mut env = base_env(inv.workdir);
        for (k, v) in inv.env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        let limits = Rlimits {
            memory_bytes: inv
                .limits
                .memory_mb
                .map(|mb| mb.saturating_mul(1024 * 1024)),
            cpu_seconds: inv.limits.cpu_seconds,
        };
        spec(inv.argv.to_vec(), env, inv.workdir, limits)
    }
}

/// The local backend on a machine where no engine answers (tests: the same result
/// whatever the host has).
#[cfg(test)]
pub struct NoEngine;

#[cfg(test)]
impl Backend for NoEngine {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }
    fn command(&self, inv: &Invocation<'_>) -> ProcessSpec {
        Local.command(inv)
    }
    fn engine(&self) -> Option<super::Container> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::backend::RunLimits;

    #[test]
    fn declared_env_overrides_base_and_cwd_is_workdir() {
        let dir = std::env::temp_dir();
        let argv = vec!["true".to_string()];
        let env = vec![
            ("LANG".to_string(), "C".to_string()),
            ("X".into(), "1".into()),
        ];
        let s = Local.command(&Invocation {
            argv: &argv,
            env: &env,
            limits: RunLimits {
                memory_mb: Some(64),
                cpus: None,
                cpu_seconds: Some(5),
            },
            workdir: &dir,
            container_dir: None,
            image: None,
            workspace: None,
        });
        assert_eq!(s.cwd, dir);
        assert_eq!(s.env.iter().filter(|(k, _)| k == "LANG").count(), 1);
        assert!(s.env.contains(&("LANG".into(), "C".into())));
        assert!(s.env.contains(&("X".into(), "1".into())));
        assert_eq!(s.limits.memory_bytes, Some(64 * 1024 * 1024));
        assert_eq!(s.limits.cpu_seconds, Some(5));
    }
}
