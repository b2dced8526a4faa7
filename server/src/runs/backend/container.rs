//! Containers through the real `docker`/`podman` CLI:
//! `<cli> run --rm -i --network host --name clnrm-<hash> -e K=V … [-w DIR] [--memory Nm]
//! [--cpus X] <image> argv…`; a timed-out or cancelled run's container is removed by name.
//! Limits are the engine's (no host rlimits on the CLI process).

use super::{spec, Backend, BackendKind, Invocation};
use crate::runs::process::{base_env, ProcessSpec, Rlimits};

/// Image used when the scenario's service declares none.
pub const DEFAULT_IMAGE: &str = "alpine:latest";

#[derive(Debug, Clone, Copy)]
pub struct Container {
    kind: BackendKind,
}

impl Container {
    pub fn new(kind: BackendKind) -> Self {
        Container { kind }
    }

    pub fn cli(&self) -> &'static str {
        match self.kind {
            BackendKind::Podman => "podman",
            _ => "docker",
        }
    }

    /// The full CLI argv for `inv`.
    pub fn argv(&self, inv: &Invocation<'_>) -> Vec<String> {
        // Host networking: the run's OTLP receiver listens on the host's 127.0.0.1, which
        // a container on the default bridge network cannot reach.
        let mut a: Vec<String> = vec![
            self.cli().into(),
            "run".into(),
            "--rm".into(),
            "-i".into(),
            "--network".into(),
            "host".into(),
            "--name".into(),
            self.name(inv),
        ];
        if let Some(root) = inv.workspace {
            a.push("-v".into());
            a.push(format!("{}:/workspace:ro", root.display()));
        }
        for (k, v) in inv.env {
            a.push("-e".into());
            a.push(format!("{k}={v}"));
        }
        if let Some(dir) = inv.container_dir {
            a.push("-w".into());
            a.push(dir.into());
        }
        if let Some(mb) = inv.limits.memory_mb {
            a.push("--memory".into());
            a.push(format!("{mb}m"));
        }
        if let Some(cpus) = inv.limits.cpus.filter(|c| c.is_finite() && *c > 0.0) {
            a.push("--cpus".into());
            a.push(format!("{cpus}"));
        }
        a.push(inv.image.unwrap_or(DEFAULT_IMAGE).to_string());
        a.extend(inv.argv.iter().cloned());
        a
    }
}

impl Container {
    /// A name only this invocation uses (its run directory is unique), so a stopped run's
    /// container can be removed by name.
    pub fn name(&self, inv: &Invocation<'_>) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(inv.workdir.as_os_str().as_encoded_bytes());
        for a in inv.argv {
            h.update((a.len() as u64).to_le_bytes());
            h.update(a.as_bytes());
        }
        format!("clnrm-{}", &hex::encode(h.finalize())[..16])
    }
}

impl Backend for Container {
    fn kind(&self) -> BackendKind {
        self.kind
    }

    fn command(&self, inv: &Invocation<'_>) -> ProcessSpec {
        // The CLI itself runs on the host with the base env; the declared env goes in `-e`.
        spec(
            self.argv(inv),
            base_env(inv.workdir),
            inv.workdir,
            Rlimits::default(),
        )
    }

    /// Killing the CLI does not stop its container: remove it when the run was stopped.
    fn stopped(&self, inv: &Invocation<'_>) {
        let mut s = spec(
            vec![self.cli().into(), "rm".into(), "-f".into(), self.name(inv)],
            base_env(inv.workdir),
            inv.workdir,
            Rlimits::default(),
        );
        s.timeout = std::time::Duration::from_secs(10);
        let out = crate::runs::process::run(&s, &crate::runs::process::CancelToken::new());
        if out.exit_code != Some(0) {
            tracing::warn!(
                "`{} rm -f {}` failed: {}",
                self.cli(),
                self.name(inv),
                out.stderr.trim()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::backend::RunLimits;

    #[test]
    fn docker_argv_carries_env_limits_image_and_command() {
        let dir = std::env::temp_dir();
        let argv = vec!["sh".to_string(), "-c".into(), "echo ok".into()];
        let env = vec![("A".to_string(), "1 2".to_string())];
        let inv = Invocation {
            argv: &argv,
            env: &env,
            limits: RunLimits {
                memory_mb: Some(512),
                cpus: Some(1.5),
                cpu_seconds: None,
            },
            workdir: &dir,
            container_dir: Some("/app"),
            image: Some("busybox:1"),
            workspace: None,
        };
        let c = Container::new(BackendKind::Docker);
        let name = c.name(&inv);
        assert!(name.starts_with("clnrm-") && name.len() == 22, "{name}");
        assert_eq!(
            c.argv(&inv),
            [
                "docker",
                "run",
                "--rm",
                "-i",
                "--network",
                "host",
                "--name",
                &name,
                "-e",
                "A=1 2",
                "-w",
                "/app",
                "--memory",
                "512m",
                "--cpus",
                "1.5",
                "busybox:1",
                "sh",
                "-c",
                "echo ok"
            ]
        );
        let s = c.command(&inv);
        assert_eq!(s.argv[0], "docker");
        assert!(!s.env.iter().any(|(k, _)| k == "A"));
    }

    #[test]
    fn podman_without_limits_uses_default_image() {
        let dir = std::env::temp_dir();
        let argv = vec!["true".to_string()];
        let inv = Invocation {
            argv: &argv,
            env: &[],
            limits: RunLimits::default(),
            workdir: &dir,
            container_dir: None,
            image: None,
            workspace: None,
        };
        let c = Container::new(BackendKind::Podman);
        let name = c.name(&inv);
        // Another command in the same run directory gets another name.
        let other = vec!["false".to_string()];
        assert_ne!(
            name,
            c.name(&Invocation {
                argv: &other,
                ..inv
            })
        );
        assert_eq!(
            c.argv(&inv),
            [
                "podman",
                "run",
                "--rm",
                "-i",
                "--network",
                "host",
                "--name",
                &name,
                DEFAULT_IMAGE,
                "true"
            ]
        );
    }
}
