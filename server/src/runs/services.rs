//! `[service.<id>]` containers, started as clnrm starts them before a file's scenarios
//! run: from `image` with `env`, `args` (the container's command) and `volumes` (host paths
//! inside the workspace only), on the host network, so the service's `ports` are
//! `127.0.0.1:<port>` for commands in containers and on the host alike (clnrm maps each
//! port to the same host port; a mapping to another port is an `error` saying why). Each
//! carries the owner label and a run-unique name; it is ready when its `health_check`
//! command succeeds inside it (`interval`, `timeout`, `retries`), else once it runs.
//!
//! [`FileServices`] holds one file's services: each is started once, by the first scenario
//! that uses it, shared by the file's later scenarios, and removed when the pool is dropped
//! after the file's last scenario (whatever ended it: verdict, timeout, cancellation), and
//! by `process::kill_all` at exit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::backend::Container;
use super::engine::informative_line;
use super::process::{
    self, owner, run_engine, user_env, CancelToken, ProcessOutcome, ProcessSpec, Rlimits,
    CONTAINER_PREFIX,
};
use crate::model::Service;

/// Readiness probing when `health_check` leaves it open.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_RETRIES: u32 = 30;
/// Log lines quoted when a service does not start.
const LOG_LINES: usize = 10;

/// What a service declares, read from its table.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub id: String,
    pub image: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Ports the service listens on, each published on the host's 127.0.0.1 under the
    /// same number (host networking).
    pub ports: Vec<u16>,
    pub volumes: Vec<Volume>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub host_path: String,
    pub container_path: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub cmd: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
}

/// A service that did not start, and why (the engine's message, the last log lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub service: String,
    pub reason: String,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service `{}` did not start: {}",
            self.service, self.reason
        )
    }
}

impl ServiceSpec {
    pub fn from_service(id: &str, svc: &Service) -> Result<ServiceSpec, ServiceError> {
        let bad = |reason: String| ServiceError {
            service: id.to_string(),
            reason,
        };
        let image = svc
            .image
            .clone()
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| bad("it names no `image`".into()))?;
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let raw = &svc.raw;
        let mut ports = Vec::new();
        for p in raw
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            ports.push(port(p).map_err(bad)?);
        }
        let mut volumes = Vec::new();
        for v in raw
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            match (field("host_path"), field("container_path")) {
                (Some(host_path), Some(container_path)) => volumes.push(Volume {
                    host_path,
                    container_path,
                    read_only: v.get("read_only").and_then(Value::as_bool).unwrap_or(false),
                }),
                _ => return Err(bad("a volume needs `host_path` and `container_path`".into())),
            }
        }
        let health = match raw.get("health_check") {
            None => None,
            Some(h) => {
                let cmd = strings(h.get("cmd"));
                if cmd.is_empty() {
                    return Err(bad("`health_check.cmd` is empty".into()));
                }
                let secs = |k: &str, d: Duration| {
                    h.get(k)
                        .and_then(Value::as_u64)
                        .map_or(d, Duration::from_secs)
                };
                Some(HealthCheck {
                    cmd,
                    interval: secs("interval", DEFAULT_INTERVAL),
                    timeout: secs("timeout", DEFAULT_CHECK_TIMEOUT),
                    retries: h
                        .get("retries")
                        .and_then(Value::as_u64)
                        .map_or(DEFAULT_RETRIES, |r| u32::try_from(r).unwrap_or(u32::MAX))
                        .max(1),
                })
            }
        };
        Ok(ServiceSpec {
            id: id.to_string(),
            image,
            args: strings(raw.get("args")),
            env: svc.env.clone(),
            ports,
            volumes,
            health,
        })
    }
}

/// A `ports` entry: a port number (clnrm's form: the same port on the host), or a
/// `"host:container"` mapping, which is honoured only when both sides are equal. Services
/// run on the host network (the run's OTLP receiver and the commands are on the host's
/// 127.0.0.1, and the engines here may have no bridge network), where the service binds
/// its container port on the host itself: nothing can forward another host port to it.
fn port(p: &Value) -> Result<u16, String> {
    let number = |n: Option<u64>| n.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0);
    if let Some(n) = p.as_u64() {
        return number(Some(n)).ok_or_else(|| format!("port {p} is not a port number"));
    }
    let text = p
        .as_str()
        .ok_or_else(|| format!("port {p} is not a port number"))?;
    let parse = |t: &str| number(t.trim().parse().ok());
    let (host, container) = match text.rsplit_once(':') {
        // `127.0.0.1:8080:80` names the host address too: only 127.0.0.1 is published.
        Some((left, c)) => match left.rsplit_once(':') {
            Some(("127.0.0.1" | "localhost", h)) => (parse(h), parse(c)),
            Some((addr, _)) => {
                return Err(format!(
                    "port `{text}` publishes on `{addr}`: services are published on 127.0.0.1 only"
                ))
            }
            None => (parse(left), parse(c)),
        },
        None => (parse(text), parse(text)),
    };
    match (host, container) {
        (Some(h), Some(c)) if h == c => Ok(h),
        (Some(h), Some(c)) => Err(format!(
            "port `{text}` maps host port {h} to container port {c}, which cannot be honoured: \
             services run on the host network (the engine here has no bridge network to \
             publish through, and commands reach services on 127.0.0.1), so the service binds \
             its own port {c} on the host; use `ports = [{c}]` and reach it at 127.0.0.1:{c}"
        )),
        _ => Err(format!(
            "port `{text}` is not a port number or `host:container` pair"
        )),
    }
}

/// Started services; removed when dropped.
#[derive(Debug)]
pub struct Running {
    cli: &'static str,
    /// Service id → (container name, container id).
    started: BTreeMap<String, (String, String)>,
    ports: Vec<u16>,
}

impl Running {
    fn empty(cli: &'static str) -> Self {
        Running {
            cli,
            started: BTreeMap::new(),
            ports: Vec::new(),
        }
    }

    /// The container id of service `id` (a command's `CONTAINER_ID`).
    pub fn container_id(&self, id: &str) -> Option<&str> {
        self.started.get(id).map(|(_, cid)| cid.as_str())
    }

    fn stop(&mut self) {
        let names: Vec<String> = std::mem::take(&mut self.started)
            .into_values()
            .map(|(name, _)| name)
            .collect();
        process::remove_containers(self.cli, names.clone(), Duration::from_secs(20));
        for n in &names {
            process::forget_container(self.cli, n);
        }
        release_ports(&std::mem::take(&mut self.ports));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Host ports held by running services of this process: under host networking two
/// scenarios running the same service at once would collide, so the second waits.
static PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
static PORTS_FREED: Condvar = Condvar::new();

fn ports() -> std::sync::MutexGuard<'static, BTreeSet<u16>> {
    PORTS.lock().unwrap_or_else(|p| p.into_inner())
}

fn claim_ports(wanted: &[u16], cancel: &CancelToken, deadline: Instant) -> bool {
    let mut held = ports();
    loop {
        if wanted.iter().all(|p| !held.contains(p)) {
            held.extend(wanted.iter().copied());
            return true;
        }
        if cancel.is_cancelled() || Instant::now() >= deadline {
            return false;
        }
        held = PORTS_FREED
            .wait_timeout(held, Duration::from_millis(50))
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
    }
}

fn release_ports(freed: &[u16]) {
    if freed.is_empty() {
        return;
    }
    let mut held = ports();
    for p in freed {
        held.remove(p);
    }
    PORTS_FREED.notify_all();
}

/// One file's services, started on first use and removed when dropped (after the file's
/// last scenario). A service that did not start is remembered: the file's later scenarios
/// get the same `error` without another attempt, unless the attempt was cancelled.
pub struct FileServices {
    engine: Container,
    workspace: Option<PathBuf>,
    state: Mutex<Pool>,
}

struct Pool {
    running: Running,
    failed: BTreeMap<String, ServiceError>,
}

impl std::fmt::Debug for FileServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileServices")
            .field("engine", &self.engine.cli())
            .finish_non_exhaustive()
    }
}

impl FileServices {
    pub fn new(engine: Container, workspace: Option<PathBuf>) -> Self {
        FileServices {
            state: Mutex::new(Pool {
                running: Running::empty(engine.cli()),
                failed: BTreeMap::new(),
            }),
            engine,
            workspace,
        }
    }

    /// Make sure each of `specs` runs and is ready (starting the missing ones now, in
    /// order); the container id of each by service id. Scenarios of the file running at
    /// the same time wait for one start rather than making their own.
    pub fn ensure(
        &self,
        specs: &[ServiceSpec],
        cancel: &CancelToken,
        deadline: Instant,
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        let mut pool = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut ids = BTreeMap::new();
        for spec in specs {
            if let Some(e) = pool.failed.get(&spec.id) {
                return Err(e.clone());
            }
            if let Some(id) = pool.running.container_id(&spec.id) {
                ids.insert(spec.id.clone(), id.to_string());
                continue;
            }
            let fail = |reason: String| ServiceError {
                service: spec.id.clone(),
                reason,
            };
            if !claim_ports(&spec.ports, cancel, deadline) {
                if cancel.is_cancelled() {
                    return Err(fail("cancelled".into()));
                }
                let e = fail(
                    "its ports stayed in use by another run until the scenario's deadline".into(),
                );
                pool.failed.insert(spec.id.clone(), e.clone());
                return Err(e);
            }
            match start_one(
                self.engine.cli(),
                spec,
                self.workspace.as_deref(),
                cancel,
                deadline,
            ) {
                Ok((name, id)) => {
                    pool.running.ports.extend(spec.ports.iter().copied());
                    ids.insert(spec.id.clone(), id.clone());
                    pool.running.started.insert(spec.id.clone(), (name, id));
                }
                Err(reason) => {
                    release_ports(&spec.ports);
                    let e = fail(reason);
                    if !cancel.is_cancelled() {
                        pool.failed.insert(spec.id.clone(), e.clone());
                    }
                    return Err(e);
                }
            }
        }
        Ok(ids)
    }
}

static NEXT: AtomicU64 = AtomicU64::new(1);

fn start_one(
    cli: &'static str,
    spec: &ServiceSpec,
    workspace: Option<&Path>,
    cancel: &CancelToken,
    deadline: Instant,
) -> Result<(String, String), String> {
    for p in &spec.ports {
        // Host networking: the service binds the host's port itself.
        if std::net::TcpListener::bind(("127.0.0.1", *p)).is_err() {
            return Err(format!("port {p} on 127.0.0.1 is already in use"));
        }
    }
    let name = format!(
        "{CONTAINER_PREFIX}{}-svc-{}-{}",
        owner().tag(),
        sanitize(&spec.id),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut argv: Vec<String> = vec![
        cli.into(),
        "run".into(),
        "-d".into(),
        "--network".into(),
        "host".into(),
        "--name".into(),
        name.clone(),
    ];
    argv.extend(Container::owner_args());
    for (k, v) in &spec.env {
        argv.push("-e".into());
        argv.push(format!("{k}={v}"));
    }
    for v in &spec.volumes {
        let host = volume_host_path(&v.host_path, workspace)?;
        argv.push("-v".into());
        argv.push(format!(
            "{}:{}{}",
            host.display(),
            v.container_path,
            if v.read_only { ":ro" } else { "" }
        ));
    }
    argv.push(spec.image.clone());
    argv.extend(spec.args.iter().cloned());

    process::track_container(cli, &name);
    let out = engine(argv, deadline, cancel);
    if out.exit_code != Some(0) {
        return Err(why(cli, &name, &out, deadline));
    }
    let id = out.stdout.trim().lines().last().unwrap_or("").to_string();
    let ready = match &spec.health {
        Some(h) => health_check(cli, &name, h, cancel, deadline),
        None => is_running(cli, &name, deadline, cancel),
    };
    match ready {
        Ok(()) => Ok((name, id)),
        Err(reason) => {
            let logs = engine(
                vec![
                    cli.into(),
                    "logs".into(),
                    "--tail".into(),
                    LOG_LINES.to_string(),
                    name.clone(),
                ],
                Instant::now() + Duration::from_secs(10),
                &CancelToken::new(),
            );
            process::remove_containers(cli, vec![name.clone()], Duration::from_secs(20));
            process::forget_container(cli, &name);
            let log = format!("{}{}", logs.stdout, logs.stderr);
            let log = log.trim();
            Err(if log.is_empty() {
                reason
            } else {
                format!("{reason}; its last log lines:\n{log}")
            })
        }
    }
}

/// A volume's host path: relative ones against the workspace; either way inside it.
fn volume_host_path(host: &str, workspace: Option<&Path>) -> Result<PathBuf, String> {
    let root = workspace
        .and_then(|w| w.canonicalize().ok())
        .ok_or_else(|| format!("volume `{host}`: no workspace to mount from"))?;
    let full = root
        .join(host)
        .canonicalize()
        .map_err(|e| format!("volume `{host}`: {e}"))?;
    if !full.starts_with(&root) {
        return Err(format!(
            "volume `{host}` is outside the workspace (only workspace paths are mounted)"
        ));
    }
    Ok(full)
}

fn health_check(
    cli: &str,
    name: &str,
    h: &HealthCheck,
    cancel: &CancelToken,
    deadline: Instant,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..h.retries {
        if attempt > 0 {
            let wake = Instant::now() + h.interval;
            while Instant::now() < wake.min(deadline) && !cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if cancel.is_cancelled() {
            return Err("cancelled".into());
        }
        if Instant::now() >= deadline {
            return Err(format!("not healthy before the scenario's deadline{last}"));
        }
        let mut argv = vec![cli.to_string(), "exec".into(), name.to_string()];
        argv.extend(h.cmd.iter().cloned());
        let out = engine(argv, deadline.min(Instant::now() + h.timeout), cancel);
        if out.exit_code == Some(0) {
            return Ok(());
        }
        last = format!(
            " (last check: {})",
            if out.timed_out {
                "timed out".to_string()
            } else {
                engine_message(&out)
            }
        );
    }
    Err(format!(
        "health check `{}` failed {} times{last}",
        h.cmd.join(" "),
        h.retries
    ))
}

fn is_running(
    cli: &str,
    name: &str,
    deadline: Instant,
    cancel: &CancelToken,
) -> Result<(), String> {
    let out = engine(
        vec![
            cli.into(),
            "inspect".into(),
            "-f".into(),
            "{{.State.Running}}".into(),
            name.into(),
        ],
        deadline,
        cancel,
    );
    if out.stdout.trim() == "true" {
        Ok(())
    } else {
        Err("the container exited".into())
    }
}

/// The engine's own message (not docker's "See 'docker run --help'." hint).
fn engine_message(out: &ProcessOutcome) -> String {
    if let Some(e) = &out.spawn_error {
        return e.clone();
    }
    informative_line(&out.stderr)
        .or_else(|| informative_line(&out.stdout))
        .unwrap_or_else(|| format!("exit code {:?}", out.exit_code))
}

fn why(cli: &str, name: &str, out: &ProcessOutcome, deadline: Instant) -> String {
    if out.cancelled {
        return "cancelled".into();
    }
    if out.timed_out || Instant::now() >= deadline {
        return format!("`{cli} run` did not finish before the scenario's deadline");
    }
    process::remove_containers(cli, vec![name.into()], Duration::from_secs(20));
    process::forget_container(cli, name);
    format!("`{cli} run` failed: {}", engine_message(out))
}

fn engine(argv: Vec<String>, deadline: Instant, cancel: &CancelToken) -> ProcessOutcome {
    let spec = ProcessSpec {
        argv,
        cwd: std::env::temp_dir(),
        env: user_env(),
        timeout: deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1)),
        kill_grace: Duration::from_millis(500),
        limits: Rlimits::default(),
        output_cap: 64 * 1024,
        background: false,
    };
    run_engine(&spec, cancel)
}

/// Container names allow `[a-zA-Z0-9_.-]`.
fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(toml: &str) -> Service {
        let file = crate::model::TestFile::from_rendered(
            &format!("[meta]\nname = \"t\"\n[service.s]\n{toml}\n"),
            None,
        )
        .unwrap();
        file.services["s"].clone()
    }

    #[test]
    fn a_service_table_reads_as_clnrm_writes_it() {
        let s = ServiceSpec::from_service(
            "s",
            &service(
                "image = \"busybox\"\nargs = [\"httpd\", \"-f\"]\nenv = { A = \"1\" }\nports = [18080]\nvolumes = [{ host_path = \"data\", container_path = \"/data\", read_only = true }]\nhealth_check = { cmd = [\"wget\", \"-q\", \"-O-\", \"http://127.0.0.1:18080/\"], interval = 2, retries = 5 }",
            ),
        )
        .unwrap();
        assert_eq!(s.image, "busybox");
        assert_eq!(s.args, ["httpd", "-f"]);
        assert_eq!(s.env["A"], "1");
        assert_eq!(s.ports, [18080]);
        assert_eq!(
            s.volumes,
            [Volume {
                host_path: "data".into(),
                container_path: "/data".into(),
                read_only: true
            }]
        );
        let h = s.health.unwrap();
        assert_eq!(h.interval, Duration::from_secs(2));
        assert_eq!(h.timeout, DEFAULT_CHECK_TIMEOUT);
        assert_eq!(h.retries, 5);
    }

    #[test]
    fn a_service_without_image_or_with_a_bad_port_is_an_error_naming_it() {
        let e = ServiceSpec::from_service("s", &service("env = {}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "service `s` did not start: it names no `image`"
        );
        let e =
            ServiceSpec::from_service("s", &service("image = \"x\"\nports = [70000]")).unwrap_err();
        assert!(e.reason.contains("70000"), "{e}");
    }

    #[test]
    fn a_port_maps_to_the_same_host_port_and_another_one_is_an_error_saying_why() {
        for (written, port) in [
            ("8080", 8080),
            ("\"8080\"", 8080),
            ("\"8080:8080\"", 8080),
            ("\"127.0.0.1:8080:8080\"", 8080),
        ] {
            let s = ServiceSpec::from_service(
                "s",
                &service(&format!("image = \"x\"\nports = [{written}]")),
            )
            .unwrap();
            assert_eq!(s.ports, [port], "{written}");
        }
        let e = ServiceSpec::from_service("s", &service("image = \"x\"\nports = [\"8080:80\"]"))
            .unwrap_err();
        assert!(e.to_string().starts_with("service `s` did not start: port `8080:80` maps host port 8080 to container port 80"), "{e}");
        assert!(e.reason.contains("host network"), "{e}");
        assert!(e.reason.contains("ports = [80]"), "{e}");
        let e =
            ServiceSpec::from_service("s", &service("image = \"x\"\nports = [\"0.0.0.0:80:80\"]"))
                .unwrap_err();
        assert!(e.reason.contains("127.0.0.1 only"), "{e}");
        let e = ServiceSpec::from_service("s", &service("image = \"x\"\nports = [\"web\"]"))
            .unwrap_err();
        assert!(e.reason.contains("not a port number"), "{e}");
    }

    #[test]
    fn volumes_stay_inside_the_workspace() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join("data")).unwrap();
        let root = ws.path().canonicalize().unwrap();
        assert_eq!(
            volume_host_path("data", Some(ws.path())).unwrap(),
            root.join("data")
        );
        assert!(volume_host_path("../", Some(ws.path()))
            .unwrap_err()
            .contains("outside the workspace"));
        assert!(volume_host_path("/etc", Some(ws.path()))
            .unwrap_err()
            .contains("outside the workspace"));
        assert!(volume_host_path("data", None).is_err());
    }

    #[test]
    fn a_second_claim_of_a_port_waits_for_its_release() {
        let cancel = CancelToken::new();
        let far = Instant::now() + Duration::from_secs(30);
        assert!(claim_ports(&[40001], &cancel, far));
        // Already held: a claim with its deadline passed gives up.
        assert!(!claim_ports(&[40001], &cancel, Instant::now()));
        let waiter = std::thread::spawn(move || claim_ports(&[40001], &CancelToken::new(), far));
        release_ports(&[40001]);
        assert!(waiter.join().unwrap());
        release_ports(&[40001]);
    }

    #[test]
    fn the_engine_message_is_the_line_before_the_help_hint() {
        let out = ProcessOutcome {
            exit_code: Some(125),
            stderr: "Unable to find image 'nope:latest' locally\ndocker: Error response from daemon: pull access denied for nope.\nSee 'docker run --help'.\n".into(),
            ..ProcessOutcome::default()
        };
        assert_eq!(
            engine_message(&out),
            "docker: Error response from daemon: pull access denied for nope."
        );
    }
}
