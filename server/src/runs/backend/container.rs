//! Containers through the real `docker`/`podman` CLI:
//! `<cli> run --rm -i --network host -e K=V … [--memory Nm] [--cpus X] <image> argv…`.
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
        ];
        for (k, v) in inv.env {
            a.push("-e".into());
            a.push(format!("{k}={v}"));
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
            image: Some("busybox:1"),
        };
        let c = Container::new(BackendKind::Docker);
        assert_eq!(
            c.argv(&inv),
            [
                "docker",
                "run",
                "--rm",
                "-i",
                "--network",
                "host",
                "-e",
                "A=1 2",
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
            image: None,
        };
        assert_eq!(
            Container::new(BackendKind::Podman).argv(&inv),
            [
                "podman",
                "run",
                "--rm",
                "-i",
                "--network",
                "host",
                DEFAULT_IMAGE,
                "true"
            ]
        );
    }
}
