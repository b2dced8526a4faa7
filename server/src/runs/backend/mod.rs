//! Where a scenario's commands run: on the host (`local`) or in a container through the
//! real `docker`/`podman` CLI. A backend only builds the [`ProcessSpec`]; running it
//! (process group, timeout, output cap) is `runs::process`'s job.

mod container;
mod local;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use container::{Container, DEFAULT_IMAGE, WORKDIR_EXIT, WORKSPACE_MOUNT};
pub use local::Local;
#[cfg(test)]
pub use local::NoEngine;

use super::process::{self, CancelToken, ProcessSpec, Rlimits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Local,
    Docker,
    Podman,
}

/// Resource limits declared by the scenario (`policy`) or the file (`[limits]`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunLimits {
    pub memory_mb: Option<u64>,
    /// Share of CPUs (containers: `--cpus`).
    pub cpus: Option<f64>,
    /// CPU time the whole run may use (host processes: RLIMIT_CPU).
    pub cpu_seconds: Option<u64>,
}

/// One command to run.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub argv: &'a [String],
    /// Declared environment (service, step, OTLP), applied on top of the backend's base.
    pub env: &'a [(String, String)],
    pub limits: RunLimits,
    /// Fresh per-run directory (host side).
    pub workdir: &'a Path,
    /// Working directory inside the container (a step's `workdir`), for container backends.
    pub container_dir: Option<&'a str>,
    /// Service image, for container backends.
    pub image: Option<&'a str>,
    /// The workspace root, mounted read-only at [`WORKSPACE_MOUNT`] in containers.
    pub workspace: Option<&'a Path>,
}

pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// The process to start; timeout, grace and output cap are the caller's to set.
    fn command(&self, inv: &Invocation<'_>) -> ProcessSpec;
    /// After `command`'s process ended; `killed` (timeout, cancellation): clean up what
    /// the process group did not take with it.
    fn finished(&self, _inv: &Invocation<'_>, _killed: bool) {}
    /// The engine that starts this backend's services: its own, or for `local` the first
    /// engine that answers (none: services are not started).
    fn engine(&self) -> Option<Container> {
        available_engine()
    }
}

/// docker, then podman, when `<cli> info` answers; probed once per process.
pub fn available_engine() -> Option<Container> {
    static PROBED: [OnceLock<bool>; 2] = [OnceLock::new(), OnceLock::new()];
    [BackendKind::Docker, BackendKind::Podman]
        .into_iter()
        .zip(&PROBED)
        .map(|(kind, probed)| (Container::new(kind), probed))
        .find(|(c, probed)| *probed.get_or_init(|| engine_available(c.cli())))
        .map(|(c, _)| c)
}

/// Default output cap per stream.
pub const OUTPUT_CAP: usize = 1 << 20;

fn spec(argv: Vec<String>, env: Vec<(String, String)>, cwd: &Path, limits: Rlimits) -> ProcessSpec {
    ProcessSpec {
        argv,
        cwd: cwd.to_path_buf(),
        env,
        timeout: Duration::from_secs(30),
        kill_grace: Duration::from_secs(2),
        limits,
        output_cap: OUTPUT_CAP,
        background: false,
    }
}

/// Backend for the `runs.backend` setting: `local`, `docker`, `podman`, or `auto`
/// (docker, then podman, when `<cli> info` succeeds quickly; else local). Unknown → local.
pub fn select(config: &str) -> Box<dyn Backend> {
    match config {
        "docker" => Box::new(Container::new(BackendKind::Docker)),
        "podman" => Box::new(Container::new(BackendKind::Podman)),
        "auto" => match available_engine() {
            Some(c) => Box::new(c),
            None => Box::new(Local),
        },
        _ => Box::new(Local),
    }
}

/// `<cli> info` exits 0 within a few seconds: a CLI without a running engine fails.
/// It runs with the user's environment (`DOCKER_HOST`, `CONTAINER_HOST`, …).
pub fn engine_available(cli: &str) -> bool {
    let dir = std::env::temp_dir();
    let mut s = spec(
        vec![cli.to_string(), "info".to_string()],
        process::user_env(),
        &dir,
        Rlimits::default(),
    );
    s.timeout = Duration::from_secs(3);
    s.kill_grace = Duration::from_millis(200);
    s.output_cap = 64 * 1024;
    let out = process::run(&s, &CancelToken::new());
    out.spawn_error.is_none() && out.exit_code == Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_falls_back_to_local_without_an_engine() {
        // No engine is reachable in the test environment unless `docker info` succeeds.
        let expected = if engine_available("docker") {
            BackendKind::Docker
        } else if engine_available("podman") {
            BackendKind::Podman
        } else {
            BackendKind::Local
        };
        assert_eq!(select("auto").kind(), expected);
        assert_eq!(select("local").kind(), BackendKind::Local);
        assert_eq!(select("podman").kind(), BackendKind::Podman);
    }

    #[test]
    fn missing_cli_is_not_available() {
        assert!(!engine_available("clnrm-no-such-cli-xyz"));
    }
}
