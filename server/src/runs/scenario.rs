//! Runs one scenario end to end: its `run` command (clnrm argv splitting, no shell), then
//! each step (`sh -c`), under one deadline, with the collector's OTLP env; then the
//! process checks and the `[expect]` verdict on stdout/OTLP spans + the runner's own spans.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::argv::{split, step_argv};
use super::backend::{Backend, BackendKind, Invocation, RunLimits};
use super::engine::engine_failure;
use super::expect::{check_process, evaluate, ProcessExpectation, ProcessOutcome as Observed};
use super::inputs::Place;
use super::process::{run, CancelToken, ProcessOutcome, RunDir};
use super::result::{RunResult, RunStatus};
use super::services::{FileServices, ServiceSpec};
use super::settings::RunSettings;
use super::spans::Collector;
use crate::model::expect::Expectations;
use crate::model::{Scenario, Service, TestFile};
use crate::traces::{Span, SpanKind, SpanSource, SpanStatus};

/// One command of a scenario: its `run`, or one of its steps.
struct Command<'a> {
    /// TOML path of its table, for locating failures.
    path: String,
    name: String,
    argv: Vec<String>,
    /// The service it runs against (its env, image and `SERVICE_NAME`).
    service: Option<(&'a str, &'a Service)>,
    env: &'a BTreeMap<String, String>,
    workdir: Option<&'a str>,
    expect: ProcessExpectation<'a>,
}

static NO_ENV: BTreeMap<String, String> = BTreeMap::new();

/// Bytes of stdout/stderr kept in the result.
const TAIL: usize = 4096;

/// The scenario's own timeout (`timeout_ms`, then `policy.max_execution_time_s`), else `default`.
pub fn scenario_timeout(scenario: &Scenario, default: Duration) -> Duration {
    scenario
        .timeout_ms
        .map(Duration::from_millis)
        .or(scenario
            .policy
            .max_execution_time_s
            .map(Duration::from_secs))
        .unwrap_or(default)
}

/// Where the workspace is inside a container (mounted read-only).
pub const CONTAINER_WORKSPACE: &str = super::backend::WORKSPACE_MOUNT;

/// Run `scenario` of `file` (in the workspace `place`) to its verdict. Never fails:
/// problems are `RunStatus::Error`.
///
/// Commands run in the test file's directory, so `run = "sh app.sh"` beside `app.sh`
/// works as it does in a terminal: on local, that directory itself; in containers, the
/// same directory under the workspace mounted read-only at `/workspace`. `HOME` and
/// `TMPDIR` are a fresh per-run directory (scratch space, removed after the run), and
/// `CLNRM_WORKSPACE` names the workspace root on every backend.
///
/// The services the scenario uses come from `services`, the file's pool (started once
/// for all its scenarios); without one, they are started for this scenario alone.
pub fn execute(
    file: &TestFile,
    scenario: &Scenario,
    place: Place<'_>,
    backend: &dyn Backend,
    settings: &RunSettings,
    services: Option<&FileServices>,
    cancel: &CancelToken,
) -> RunResult {
    let timeout = scenario_timeout(scenario, settings.default_timeout);
    let started = Instant::now();
    let mut result = RunResult {
        backend: backend.kind(),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        ..RunResult::without_run(&scenario.name, RunStatus::Passed, None)
    };
    let workdir = match RunDir::new() {
        Ok(d) => d,
        Err(e) => {
            return error(
                result,
                format!("cannot create a run directory: {e}"),
                started,
            )
        }
    };
    let collector = match Collector::start() {
        Ok(c) => c,
        Err(e) => {
            return error(
                result,
                format!("cannot start the OTLP receiver: {e}"),
                started,
            )
        }
    };
    let commands = match commands(file, scenario) {
        Ok(c) => c,
        Err(msg) => return error(result, msg, started),
    };
    // A pool of this scenario's own is removed when it drops, whatever ends the run.
    let running = match start_services(
        file,
        &commands,
        (backend, settings),
        services,
        cancel,
        started + timeout,
    ) {
        Ok(running) => {
            // Information, kept beside whatever reason the run ends with.
            result.note = running.note.clone();
            running
        }
        Err(Stop::Cancelled) => {
            result.status = RunStatus::Cancelled;
            return result;
        }
        Err(Stop::Error(msg)) => return error(result, msg, started),
    };
    let ctx = Ctx {
        place,
        backend,
        settings,
        cancel,
        collector: &collector,
        workdir: &workdir,
        limits: run_limits(file, scenario, timeout),
        services: &running.ids,
        ids: Ids::new(),
    };
    let trace_id = ctx.ids.trace();
    let (run_id, scenario_id) = (ctx.ids.span(), ctx.ids.span());
    let t0 = now_ns();
    let mut runner_spans = Vec::new();
    let mut all_stdout = String::new();
    let mut stderr_all = String::new();
    for command in commands {
        let remaining = timeout.saturating_sub(started.elapsed());
        let ran = match run_command(&ctx, command, remaining, (&trace_id, &scenario_id)) {
            Ok(ran) => ran,
            Err(msg) => {
                result.status = RunStatus::Error;
                result.error = Some(msg);
                break;
            }
        };
        runner_spans.push(ran.span);
        all_stdout.push_str(&ran.out.stdout);
        all_stdout.push('\n');
        stderr_all.push_str(&ran.out.stderr);
        result.exit_code = ran.exit_code;
        if stop_after(&mut result, ran.stop, ran.failures) {
            break;
        }
    }
    let spans = scenario_spans(
        collector.finish(&all_stdout),
        runner_spans,
        (&trace_id, &run_id, &scenario_id),
        &scenario.name,
        (t0, now_ns()),
        result.status == RunStatus::Passed && result.failures.is_empty(),
    );
    judge(&mut result, file, &spans);
    result.stdout_tail = tail(&all_stdout);
    result.stderr_tail = tail(&stderr_all);
    result.spans = spans;
    result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    result
}

/// Resource limits: the scenario's `policy`, else the file's `[limits]`.
fn run_limits(file: &TestFile, scenario: &Scenario, timeout: Duration) -> RunLimits {
    let cpus = scenario
        .policy
        .max_cpu_usage
        .or(file.limits.cpu_millicores.map(|m| m as f64 / 1000.0))
        .filter(|c| c.is_finite() && *c > 0.0);
    RunLimits {
        memory_mb: scenario.policy.max_memory_mb.or(file.limits.memory_mb),
        cpus,
        // A share of CPUs over the whole timeout bounds the CPU time a host process may use.
        cpu_seconds: cpus.map(|c| (c * timeout.as_secs_f64()).ceil().max(1.0) as u64),
    }
}

/// TOML path of the scenario's table, for locating failures: top-level `[[steps]]` form
/// the implicit scenario (no table); `[[scenario]]` indices skip it.
fn scenario_table(file: &TestFile, scenario: &Scenario) -> String {
    if scenario.implicit {
        return String::new();
    }
    let explicit = || file.scenarios.iter().filter(|s| !s.implicit);
    let k = explicit()
        .position(|s| std::ptr::eq(s, scenario))
        .or_else(|| explicit().position(|s| s.name == scenario.name))
        .unwrap_or(0);
    format!("scenario[{k}]")
}

/// The scenario's commands in order: its `run` (split as clnrm splits it), then its steps.
fn commands<'a>(file: &'a TestFile, scenario: &'a Scenario) -> Result<Vec<Command<'a>>, String> {
    let table = scenario_table(file, scenario);
    let mut commands: Vec<Command<'_>> = Vec::new();
    if let Some(cmd) = &scenario.run {
        match split(cmd) {
            Ok(argv) if !argv.is_empty() => commands.push(Command {
                path: table.clone(),
                name: "run".into(),
                argv,
                service: service_of(file, scenario, None),
                env: &NO_ENV,
                workdir: None,
                expect: ProcessExpectation::default(),
            }),
            Ok(_) => return Err("empty `run` command".into()),
            Err(e) => return Err(format!("cannot split `run`: {e:?}")),
        }
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        commands.push(Command {
            path: if table.is_empty() {
                format!("steps[{i}]")
            } else {
                format!("{table}.steps[{i}]")
            },
            name: step.name.clone(),
            argv: step_argv(&step.command),
            service: service_of(file, scenario, step.service.as_ref()),
            env: &step.env,
            workdir: step.workdir.as_deref(),
            expect: ProcessExpectation {
                exit_code: Some(step.expected_exit_code),
                output_regex: step.expected_output_regex.as_deref(),
            },
        });
    }
    Ok(commands)
}

/// Why a scenario ends before its commands run.
enum Stop {
    Cancelled,
    Error(String),
}

/// The services a scenario's commands use, running.
#[derive(Default)]
struct Services {
    /// A pool of the scenario's own (no file's pool was given).
    _own: Option<FileServices>,
    /// Container id by service id (a command's `CONTAINER_ID`).
    ids: BTreeMap<String, String>,
    /// Why none started (no engine).
    note: Option<String>,
}

/// What a run with services says when no engine could start them.
pub fn no_engine_note(services: &[&str]) -> String {
    format!(
        "services are not started ({}): no container engine answers (docker, podman)",
        services.join(", ")
    )
}

/// Make the services the commands use run before the first command: from the file's
/// `pool`, else from one of this scenario's own. Without a container engine nothing
/// starts and the note says so (the commands still run).
fn start_services(
    file: &TestFile,
    commands: &[Command<'_>],
    (backend, settings): (&dyn Backend, &RunSettings),
    pool: Option<&FileServices>,
    cancel: &CancelToken,
    deadline: Instant,
) -> Result<Services, Stop> {
    let mut wanted: Vec<&str> = commands
        .iter()
        .filter_map(|c| c.service.map(|(id, _)| id))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if !settings.services || wanted.is_empty() {
        return Ok(Services::default());
    }
    let own = match (pool, backend.engine()) {
        (Some(_), _) => None,
        (None, Some(engine)) => Some(FileServices::new(engine, settings.workspace.clone())),
        (None, None) => {
            return Ok(Services {
                note: Some(no_engine_note(&wanted)),
                ..Services::default()
            })
        }
    };
    let mut specs = Vec::new();
    for id in &wanted {
        if let Some(svc) = file.services.get(*id) {
            specs.push(ServiceSpec::from_service(id, svc).map_err(|e| Stop::Error(e.to_string()))?);
        }
    }
    let ids = match pool.or(own.as_ref()) {
        Some(pool) => pool.ensure(&specs, cancel, deadline),
        None => Ok(BTreeMap::new()),
    };
    match ids {
        Ok(ids) => Ok(Services {
            _own: own,
            ids,
            note: None,
        }),
        Err(_) if cancel.is_cancelled() => Err(Stop::Cancelled),
        Err(e) => Err(Stop::Error(e.to_string())),
    }
}

/// What the commands of one scenario run share.
struct Ctx<'a> {
    place: Place<'a>,
    backend: &'a dyn Backend,
    settings: &'a RunSettings,
    cancel: &'a CancelToken,
    collector: &'a Collector,
    workdir: &'a RunDir,
    limits: RunLimits,
    services: &'a BTreeMap<String, String>,
    ids: Ids,
}

/// One command run: its process, its unmet checks, its span and what ends the scenario.
struct Ran {
    out: ProcessOutcome,
    /// Its exit code; 128+n when a signal killed it.
    exit_code: Option<i32>,
    failures: Vec<crate::runs::expect::ExpectationFailure>,
    span: Span,
    stop: Option<(RunStatus, Option<String>)>,
}

/// Where a command runs: the host directory, and the directory inside a container.
fn command_dirs(
    ctx: &Ctx<'_>,
    name: &str,
    step_dir: Option<&str>,
) -> Result<(std::path::PathBuf, Option<String>), String> {
    // A step's `workdir` is a host directory for local runs, the container's otherwise.
    let local = ctx.backend.kind() == BackendKind::Local;
    if let Some(dir) = step_dir.filter(|_| !local) {
        if leaves(dir) {
            return Err(format!(
                "step `{name}`: workdir `{dir}`: `..` would leave the working directory"
            ));
        }
    }
    let cwd = match step_dir.filter(|_| local) {
        Some(dir) => step_workdir(ctx.workdir.path(), dir)
            .map_err(|e| format!("step `{name}`: workdir `{dir}`: {e}"))?,
        None if local => ctx.place.dir.to_path_buf(),
        None => ctx.workdir.path().to_path_buf(),
    };
    let in_container = match step_dir.filter(|_| !local) {
        Some(dir) => Some(dir.to_string()),
        None if local => None,
        None => Some(match ctx.place.rel_dir() {
            rel if rel.is_empty() => CONTAINER_WORKSPACE.to_string(),
            rel => format!("{CONTAINER_WORKSPACE}/{rel}"),
        }),
    };
    Ok((cwd, in_container))
}

/// A command's environment; later entries win: the service's env over the receiver's,
/// the step's over both.
fn command_env(ctx: &Ctx<'_>, command: &Command<'_>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ctx.collector.otlp_env();
    if ctx.backend.kind() == BackendKind::Local {
        let scratch = ctx.workdir.path().display().to_string();
        env.push(("HOME".into(), scratch.clone()));
        env.push(("TMPDIR".into(), scratch));
        env.push((
            "CLNRM_WORKSPACE".into(),
            ctx.place.root.display().to_string(),
        ));
    } else {
        env.push(("CLNRM_WORKSPACE".into(), CONTAINER_WORKSPACE.into()));
    }
    if let Some((id, svc)) = command.service {
        env.push(("SERVICE_NAME".into(), id.to_string()));
        if let Some(cid) = ctx.services.get(id) {
            env.push(("CONTAINER_ID".into(), cid.clone()));
        }
        env.extend(svc.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    env.extend(command.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Run one command within `remaining`; `Err`: it could not start where it should.
fn run_command(
    ctx: &Ctx<'_>,
    command: Command<'_>,
    remaining: Duration,
    (trace_id, scenario_id): (&str, &str),
) -> Result<Ran, String> {
    let (cwd, container_dir) = command_dirs(ctx, &command.name, command.workdir)?;
    let env = command_env(ctx, &command);
    let image = command
        .service
        .and_then(|(_, s)| s.image.as_deref())
        .unwrap_or(&ctx.settings.default_image);
    let local = ctx.backend.kind() == BackendKind::Local;
    let inv = Invocation {
        argv: &command.argv,
        env: &env,
        limits: ctx.limits,
        workdir: &cwd,
        container_dir: container_dir.as_deref(),
        image: Some(image),
        workspace: (!local).then_some(ctx.place.root),
    };
    let mut spec = ctx.backend.command(&inv);
    spec.timeout = remaining.max(Duration::from_millis(1));
    spec.kill_grace = ctx.settings.kill_grace;
    spec.output_cap = ctx.settings.output_cap;
    spec.background = ctx.settings.background;
    let s0 = now_ns();
    let out: ProcessOutcome = run(&spec, ctx.cancel);
    ctx.backend.finished(&inv, out.timed_out || out.cancelled);
    let engine_error = engine_failure(ctx.backend.kind(), &out);
    // A command killed by a signal exits 128+n, as a shell (and a container engine, for
    // its command) reports it: `expected_exit_code = 137` means one thing on every backend.
    let exit_code = out.exit_code.or_else(|| {
        out.signal
            .filter(|_| !out.timed_out && !out.cancelled)
            .map(|s| 128 + s)
    });
    let ran =
        out.spawn_error.is_none() && engine_error.is_none() && !out.timed_out && !out.cancelled;
    let failures = if ran {
        check_process(
            &command.path,
            command.expect,
            Observed {
                exit_code,
                stdout: &out.stdout,
                stderr: &out.stderr,
            },
        )
    } else {
        Vec::new()
    };
    // A step that met its checks is OK, even when it was expected to exit non-zero.
    let span = runner_span(
        trace_id,
        ctx.ids.span(),
        Some(scenario_id),
        &format!("step:{}", command.name),
        s0,
        (exit_code, out.duration),
        ran && failures.is_empty(),
    );
    let stop = if let Some(e) = out.spawn_error.as_ref().or(engine_error.as_ref()) {
        // "cannot start `prog`: why", or the engine's own message.
        let message = if command.name == "run" {
            e.clone()
        } else {
            format!("step `{}`: {e}", command.name)
        };
        Some((RunStatus::Error, Some(message)))
    } else if out.timed_out {
        Some((RunStatus::TimedOut, None))
    } else if out.cancelled {
        Some((RunStatus::Cancelled, None))
    } else {
        None
    };
    Ok(Ran {
        out,
        exit_code,
        failures,
        span,
        stop,
    })
}

/// Apply how a command ended to the result; whether the scenario stops here.
fn stop_after(
    result: &mut RunResult,
    stop: Option<(RunStatus, Option<String>)>,
    failures: Vec<crate::runs::expect::ExpectationFailure>,
) -> bool {
    if let Some((status, error)) = stop {
        result.status = status;
        if error.is_some() {
            result.error = error;
        }
        return true;
    }
    if failures.is_empty() {
        return false;
    }
    result.failures.extend(failures);
    true
}

/// The spans of a run: those the program sent, then the runner's root (`clnrm.run`), the
/// scenario's and one per command. The root says what the scenario says: an UNSET root
/// would make `status.all = "OK"` unreachable for every run.
fn scenario_spans(
    mut spans: Vec<Span>,
    runner_spans: Vec<Span>,
    (trace_id, run_id, scenario_id): (&str, &str, &str),
    scenario: &str,
    (t0, t1): (u64, u64),
    ok: bool,
) -> Vec<Span> {
    let mut scen = bare_span(
        trace_id,
        scenario_id.to_string(),
        Some(run_id),
        &format!("scenario:{scenario}"),
        t0,
        t1,
    );
    scen.status = if ok {
        SpanStatus::Ok
    } else {
        SpanStatus::Error
    };
    let mut root = bare_span(trace_id, run_id.to_string(), None, "clnrm.run", t0, t1);
    root.status = scen.status;
    spans.push(root);
    spans.push(scen);
    spans.extend(runner_spans);
    spans
}

/// The verdict: a run whose commands passed is judged by `[expect]` on its spans.
fn judge(result: &mut RunResult, file: &TestFile, spans: &[Span]) {
    if result.status == RunStatus::Passed && result.failures.is_empty() {
        match expectations(file) {
            Ok(exp) => result.failures.extend(evaluate(&exp, spans)),
            Err(e) => {
                result.status = RunStatus::Error;
                result.error = Some(format!("cannot read [expect]: {e}"));
            }
        }
    }
    if result.status == RunStatus::Passed && !result.failures.is_empty() {
        result.status = RunStatus::Failed;
    }
}

/// The service a command runs against: its own `service`, else the scenario's; none runs
/// in the default image (as clnrm runs a step without `service`).
fn service_of<'a>(
    file: &'a TestFile,
    scenario: &'a Scenario,
    own: Option<&'a String>,
) -> Option<(&'a str, &'a Service)> {
    own.or(scenario.service.as_ref())
        .and_then(|id| file.services.get_key_value(id))
        .map(|(id, svc)| (id.as_str(), svc))
}

/// A step's `workdir`: relative ones inside the run directory (created), absolute ones as
/// written (they must exist).
fn step_workdir(run_dir: &std::path::Path, dir: &str) -> std::io::Result<std::path::PathBuf> {
    let path = std::path::Path::new(dir);
    if path.is_absolute() {
        if path.is_dir() {
            return Ok(path.to_path_buf());
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such directory",
        ));
    }
    if leaves(dir) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "`..` would leave the working directory",
        ));
    }
    let full = run_dir.join(path);
    std::fs::create_dir_all(&full)?;
    Ok(full)
}

/// A relative workdir with `..` (the same rule on every backend).
fn leaves(dir: &str) -> bool {
    !dir.starts_with('/')
        && std::path::Path::new(dir)
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
}

fn expectations(file: &TestFile) -> Result<Expectations, String> {
    match &file.expect {
        Value::Null => Ok(Expectations::default()),
        v => serde_json::from_value(v.clone()).map_err(|e| e.to_string()),
    }
}

fn error(mut r: RunResult, msg: String, started: Instant) -> RunResult {
    r.status = RunStatus::Error;
    r.error = Some(msg);
    r.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    r
}

fn tail(s: &str) -> String {
    let s = s.trim_end();
    let mut start = s.len().saturating_sub(TAIL);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn bare_span(
    trace: &str,
    id: String,
    parent: Option<&str>,
    name: &str,
    start: u64,
    end: u64,
) -> Span {
    Span {
        trace_id: trace.to_string(),
        span_id: id,
        parent_span_id: parent.map(str::to_string),
        name: name.to_string(),
        kind: Some(SpanKind::Internal),
        start_time_unix_nano: Some(start),
        end_time_unix_nano: Some(end.max(start)),
        source: SpanSource::Runner,
        ..Span::default()
    }
}

fn runner_span(
    trace: &str,
    id: String,
    parent: Option<&str>,
    name: &str,
    start: u64,
    (exit_code, duration): (Option<i32>, Duration),
    ok: bool,
) -> Span {
    let mut s = bare_span(trace, id, parent, name, start, now_ns());
    if let Some(c) = exit_code {
        s.attributes
            .insert("process.exit_code".into(), Value::from(c));
    }
    s.attributes.insert(
        "duration_ms".into(),
        Value::from(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
    );
    s.status = if ok {
        SpanStatus::Ok
    } else {
        SpanStatus::Error
    };
    s
}

/// Unique-enough hex ids for runner spans: time-seeded, mixed (splitmix64).
struct Ids(AtomicU64);

impl Ids {
    fn new() -> Self {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        Ids(AtomicU64::new(
            now_ns() ^ SEQ.fetch_add(1 << 32, Ordering::Relaxed),
        ))
    }
    fn next(&self) -> u64 {
        let mut z = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn span(&self) -> String {
        format!("{:016x}", self.next())
    }
    fn trace(&self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::backend::{Local, NoEngine};

    fn go(toml: &str) -> RunResult {
        let file = TestFile::from_rendered(toml, None).unwrap();
        let dir = std::env::temp_dir();
        execute(
            &file,
            &file.scenarios[0],
            Place {
                root: &dir,
                dir: &dir,
            },
            &Local,
            &RunSettings {
                default_timeout: Duration::from_secs(20),
                // No test here is about the grace: a short one keeps kills quick.
                kill_grace: Duration::from_millis(100),
                // Not about containers: the same result whether or not an engine answers.
                services: false,
                ..RunSettings::default()
            },
            None,
            &CancelToken::new(),
        )
    }

    #[test]
    fn without_an_engine_the_note_stays_beside_the_failure_reason() {
        let file = TestFile::from_rendered(
            "[service.db]\nimage = \"postgres\"\n[[scenario]]\nname = \"a\"\nservice = \"db\"\nrun = \"sh -c 'echo refused >&2; exit 2'\"\n",
            None,
        )
        .unwrap();
        let dir = std::env::temp_dir();
        let r = execute(
            &file,
            &file.scenarios[0],
            Place {
                root: &dir,
                dir: &dir,
            },
            &NoEngine,
            &RunSettings {
                kill_grace: Duration::from_millis(100),
                ..RunSettings::default()
            },
            None,
            &CancelToken::new(),
        );
        assert_eq!(r.status, RunStatus::Failed, "{r:?}");
        assert_eq!(r.short_reason(), "exit 2: refused");
        assert_eq!(
            r.note.as_deref(),
            Some("services are not started (db): no container engine answers (docker, podman)")
        );
    }

    #[test]
    fn passing_run_with_runner_spans() {
        let r = go("[[scenario]]\nname = \"a\"\nrun = \"echo ok\"\n");
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        assert_eq!(r.exit_code, Some(0));
        assert!(r.stdout_tail.contains("ok"));
        assert_eq!(r.short_reason(), "passed");
        let names: Vec<_> = r.spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["clnrm.run", "scenario:a", "step:run"]);
        assert_eq!(
            r.spans[2].parent_span_id.as_deref(),
            Some(r.spans[1].span_id.as_str())
        );
        assert_eq!(
            r.spans[2].attributes.get("process.exit_code"),
            Some(&Value::from(0))
        );
    }

    #[test]
    fn runner_spans_of_a_passing_run_are_all_ok() {
        let r =
            go("[[scenario]]\nname = \"a\"\nrun = \"echo ok\"\n[expect.status]\nall = \"OK\"\n");
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        assert!(r.spans.iter().all(|s| s.status == SpanStatus::Ok), "{r:?}");
    }

    #[test]
    fn a_step_meeting_its_expected_non_zero_exit_is_ok() {
        let r = go(concat!(
            "[[scenario]]\nname = \"a\"\n",
            "steps = [{ name = \"s\", command = [\"exit 3\"], expected_exit_code = 3 }]\n",
            "[expect.counts]\nerrors_total = { eq = 0 }\n"
        ));
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        let step = &r.spans[2];
        assert_eq!(step.status, SpanStatus::Ok);
        assert_eq!(
            step.attributes.get("process.exit_code"),
            Some(&Value::from(3))
        );

        let r = go("[[scenario]]\nname = \"a\"\nrun = \"false\"\n");
        assert_eq!(r.status, RunStatus::Failed, "{r:?}");
        assert_eq!(r.spans[2].status, SpanStatus::Error);
    }

    #[test]
    fn each_step_runs_with_its_ownrunning_services_env() {
        let r = go(concat!(
            "[service.a]\nimage = \"alpine\"\nenv = { WHO = \"a\" }\n",
            "[service.b]\nimage = \"alpine\"\nenv = { WHO = \"b\" }\n",
            "[[scenario]]\nname = \"s\"\nservice = \"a\"\nsteps = [\n",
            "  { name = \"default\", command = [\"echo \\\"$SERVICE_NAME=$WHO\\\"\"], expected_output_regex = \"^a=a$\" },\n",
            "  { name = \"own\", service = \"b\", command = [\"echo \\\"$SERVICE_NAME=$WHO\\\"\"], expected_output_regex = \"^b=b$\" },\n",
            "  { name = \"step env wins\", service = \"b\", env = { WHO = \"me\" }, command = [\"echo $WHO\"], expected_output_regex = \"^me$\" },\n",
            "]\n"
        ));
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
    }

    #[test]
    fn a_command_killed_by_a_signal_exits_128_plus_its_number_as_in_containers() {
        let r = go("[[scenario]]\nname = \"a\"\nrun = '''sh -c 'kill -9 $$' '''\n");
        assert_eq!(r.status, RunStatus::Failed, "{r:?}");
        assert_eq!(r.exit_code, Some(137));
        assert_eq!(r.short_reason(), "exit 137");
        let r = go("[[scenario]]\nname = \"a\"\nrun = '''sh -c 'kill -TERM $$' '''\n");
        assert_eq!(r.exit_code, Some(143), "{r:?}");
    }

    #[test]
    fn failing_run_reports_exit_and_stderr() {
        let r = go("[[scenario]]\nname = \"a\"\nrun = '''sh -c 'echo boom >&2; exit 1' '''\n");
        assert_eq!(r.status, RunStatus::Failed, "{r:?}");
        assert_eq!(r.exit_code, Some(1));
        assert_eq!(r.short_reason(), "exit 1: boom");
    }

    #[test]
    fn step_regex_mismatch_fails_with_reason() {
        let r = go(concat!(
            "[[scenario]]\nname = \"a\"\n",
            "steps = [{ name = \"s\", command = [\"echo\", \"nope\"], expected_output_regex = \"^ok$\" }]\n"
        ));
        assert_eq!(r.status, RunStatus::Failed, "{r:?}");
        assert_eq!(r.failures[0].path, "scenario[0].steps[0]");
        assert_eq!(r.short_reason(), "expected /^ok$/ in stdout");
    }

    #[test]
    fn timeout_kills_a_child_ignoring_sigterm() {
        let t = Instant::now();
        let r = go(concat!(
            "[[scenario]]\nname = \"a\"\ntimeout_ms = 300\n",
            "run = '''sh -c 'trap \"\" TERM; sleep 30' '''\n"
        ));
        assert_eq!(r.status, RunStatus::TimedOut, "{r:?}");
        // Killed (300 ms timeout + 100 ms grace), not left to its 30 s sleep.
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
        assert_eq!(r.short_reason(), "timed out after 0.3 s");
    }

    const SPAN_LINE: &str = r#"{"name":"db.query","trace_id":"t1","span_id":"s1"}"#;

    #[test]
    fn stdout_span_lines_reach_the_verdict() {
        let cmd = toml_edit::Value::from(format!("echo '{SPAN_LINE}'"));
        let body = format!(
            "[[scenario]]\nname = \"a\"\nsteps = [{{ name = \"s\", command = [{cmd}] }}]\n\
             [[expect.span]]\nname = \"db.query\"\n[expect.counts]\nspans_total = {{ gte = 4 }}\n"
        );
        let r = go(&body);
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        assert!(r
            .spans
            .iter()
            .any(|s| s.name == "db.query" && s.source == SpanSource::Stdout));

        let missing = go(&body.replace("db.query\"\n[expect", "db.missing\"\n[expect"));
        assert_eq!(missing.status, RunStatus::Failed, "{missing:?}");
        assert_eq!(missing.failures[0].path, "expect.span[0]");
    }

    #[test]
    fn otlp_json_post_reaches_the_verdict() {
        let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"http.get","kind":2}]}]}]}"#;
        let script = if std::path::Path::new("/usr/bin/curl").exists() {
            format!("curl -sf -H 'Content-Type: application/json' --data '{json}' \"$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\"")
        } else {
            format!(
                "python3 -c 'import os,urllib.request as u; u.urlopen(u.Request(os.environ[\"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\"], data=open(0,\"rb\").read(), headers={{\"Content-Type\":\"application/json\"}}))' <<'E'\n{json}\nE"
            )
        };
        let body = format!(
            "[[scenario]]\nname = \"a\"\nsteps = [{{ name = \"post\", command = [{}] }}]\n[[expect.span]]\nname = \"http.get\"\n",
            toml_edit::Value::from(script.as_str())
        );
        let r = go(&body);
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        assert!(r
            .spans
            .iter()
            .any(|s| s.name == "http.get" && s.source == SpanSource::Otlp));
    }
}
