//! Containers through the real `docker`/`podman` CLI:
//! `<cli> run --rm -i --network host --name clnrm-<owner>-<hash> --label clnrm-lsp.owner=<pid>
//! -v <workspace>:/workspace:ro -e K=V … [--memory Nm] [--cpus X] <image> argv…`.
//! The CLI runs with the user's environment (their `DOCKER_HOST`, rootless podman's
//! `XDG_RUNTIME_DIR`, …); only the container gets the clean env plus the declared env.
//! A timed-out or cancelled run's container is removed by name at once (`rm -f`, podman
//! `-t 0`). Limits are the engine's (no host rlimits on the CLI process).

use super::{spec, Backend, BackendKind, Invocation};
use crate::runs::process::{
    self, owner, user_env, ProcessSpec, Rlimits, CONTAINER_PREFIX, OWNER_LABEL,
};

/// Image used when the scenario's service declares none.
pub const DEFAULT_IMAGE: &str = "alpine:latest";

/// Where the workspace is mounted (read-only) in every container.
pub const WORKSPACE_MOUNT: &str = "/workspace";

/// Exit code of the workdir prelude when the directory cannot be made or entered.
pub const WORKDIR_EXIT: i32 = 126;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// `<cli> run` options every container of this owner carries: its label.
    pub fn owner_args() -> [String; 2] {
        ["--label".into(), format!("{OWNER_LABEL}={}", owner().pid)]
    }

    /// The full CLI argv for `inv`.
    pub fn argv(&self, inv: &Invocation<'_>) -> Vec<String> {
        // Host networking: the run's OTLP receiver and the services listen on the host's
        // 127.0.0.1, which a container on a bridge network cannot reach.
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
        a.extend(Self::owner_args());
        if let Some(root) = inv.workspace {
            a.push("-v".into());
            a.push(format!("{}:{WORKSPACE_MOUNT}:ro", root.display()));
        }
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
        // The test file's directory under the workspace mount exists: `-w` is enough.
        let prelude = match inv.container_dir {
            Some(dir) if inv.workspace.is_some() && in_mount(dir) => {
                a.push("-w".into());
                a.push(dir.into());
                None
            }
            other => other,
        };
        a.push(inv.image.unwrap_or(DEFAULT_IMAGE).to_string());
        if let Some(dir) = prelude {
            // The same rule as on the host, on both engines: a relative workdir is resolved
            // against the image's working directory, and a missing one is created (`-w`
            // creates it on docker but is fatal on podman).
            a.extend([
                "sh".into(),
                "-c".into(),
                format!(
                    "mkdir -p -- \"$1\" && cd -- \"$1\" || {{ echo \"clnrm-lsp: cannot use workdir $1\" >&2; exit {WORKDIR_EXIT}; }}; shift; exec \"$@\""
                ),
                "clnrm-workdir".into(),
                dir.into(),
            ]);
        }
        a.extend(inv.argv.iter().cloned());
        a
    }

    /// A name only this invocation uses (its run directory is unique), with the owner in
    /// it, so a stopped run's container can be removed by name and a dead owner's found.
    pub fn name(&self, inv: &Invocation<'_>) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(inv.workdir.as_os_str().as_encoded_bytes());
        for a in inv.argv {
            h.update((a.len() as u64).to_le_bytes());
            h.update(a.as_bytes());
        }
        format!(
            "{CONTAINER_PREFIX}{}-{}",
            owner().tag(),
            &hex::encode(h.finalize())[..16]
        )
    }
}

/// `dir` is the workspace mount or below it.
fn in_mount(dir: &str) -> bool {
    dir.strip_prefix(WORKSPACE_MOUNT)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl Backend for Container {
    fn kind(&self) -> BackendKind {
        self.kind
    }

    fn command(&self, inv: &Invocation<'_>) -> ProcessSpec {
        process::track_container(self.cli(), &self.name(inv));
        // The CLI itself runs on the host with the user's env; the declared env goes in `-e`.
        spec(self.argv(inv), user_env(), inv.workdir, Rlimits::default())
    }

    /// Killing the CLI does not stop its container: remove it when the run was stopped.
    fn finished(&self, inv: &Invocation<'_>, killed: bool) {
        let name = self.name(inv);
        if killed {
            process::remove_containers(
                self.cli(),
                vec![name.clone()],
                std::time::Duration::from_secs(10),
            );
        }
        process::forget_container(self.cli(), &name);
    }

    fn engine(&self) -> Option<Container> {
        Some(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::backend::RunLimits;

    fn owner_label() -> String {
        format!("{OWNER_LABEL}={}", owner().pid)
    }

    /// What every container run starts with: the engine CLI, then `run` with our name and
    /// owner label.
    fn run_prefix(cli: &str, name: &str) -> Vec<String> {
        let label = owner_label();
        [
            cli,
            "run",
            "--rm",
            "-i",
            "--network",
            "host",
            "--name",
            name,
            "--label",
            &label,
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// An invocation of `argv` with nothing declared: no env, limits, image or workspace.
    fn bare<'a>(argv: &'a [String], dir: &'a std::path::Path) -> Invocation<'a> {
        Invocation {
            argv,
            env: &[],
            limits: RunLimits::default(),
            workdir: dir,
            container_dir: None,
            image: None,
            workspace: None,
        }
    }

    #[test]
    fn docker_argv_carries_label_workspace_env_limits_image_and_command() {
        let dir = std::env::temp_dir();
        let root = std::path::PathBuf::from("/src/repo");
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
            container_dir: Some("/workspace/sub"),
            image: Some("busybox:1"),
            workspace: Some(&root),
        };
        let c = Container::new(BackendKind::Docker);
        let name = c.name(&inv);
        assert!(
            name.starts_with(&format!("clnrm-{}-", owner().tag())),
            "{name}"
        );
        assert_eq!(
            process::Owner::parse(&name, CONTAINER_PREFIX),
            Some(owner())
        );
        let rest = [
            "-v",
            "/src/repo:/workspace:ro",
            "-e",
            "A=1 2",
            "--memory",
            "512m",
            "--cpus",
            "1.5",
            "-w",
            "/workspace/sub",
            "busybox:1",
            "sh",
            "-c",
            "echo ok",
        ]
        .map(str::to_string);
        assert_eq!(
            c.argv(&inv),
            [run_prefix("docker", &name), rest.to_vec()].concat()
        );
        // The engine CLI keeps the user's environment; the declared env goes in `-e` only.
        std::env::set_var("CLNRM_LSP_TEST_DOCKER_HOST", "unix:///x.sock");
        let s = c.command(&inv);
        assert_eq!(s.argv[0], "docker");
        assert!(!s.env.iter().any(|(k, _)| k == "A"));
        assert!(s
            .env
            .iter()
            .any(|(k, v)| k == "CLNRM_LSP_TEST_DOCKER_HOST" && v == "unix:///x.sock"));
        c.finished(&inv, false);
    }

    #[test]
    fn a_workdir_is_made_and_entered_by_a_prelude_on_both_engines() {
        let dir = std::env::temp_dir();
        let argv = vec!["pwd".to_string()];
        let inv = Invocation {
            container_dir: Some("sub/dir"),
            ..bare(&argv, &dir)
        };
        for kind in [BackendKind::Docker, BackendKind::Podman] {
            let a = Container::new(kind).argv(&inv);
            assert!(!a.contains(&"-w".to_string()), "{a:?}");
            let at = a.iter().position(|x| x == DEFAULT_IMAGE).unwrap();
            assert_eq!(a[at + 1..at + 3], ["sh", "-c"]);
            assert!(a[at + 3].starts_with("mkdir -p -- \"$1\" && cd -- \"$1\""));
            assert_eq!(a[at + 4..], ["clnrm-workdir", "sub/dir", "pwd"]);
        }
    }

    #[test]
    fn podman_without_limits_uses_default_image() {
        let dir = std::env::temp_dir();
        let argv = vec!["true".to_string()];
        let inv = bare(&argv, &dir);
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
        let rest = [DEFAULT_IMAGE, "true"].map(str::to_string);
        assert_eq!(
            c.argv(&inv),
            [run_prefix("podman", &name), rest.to_vec()].concat()
        );
    }
}
