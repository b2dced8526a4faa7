//! Scenario runs in real containers, on docker and on podman: verdicts, workdir and env
//! parity with the local backend, a real service (busybox `httpd`, gated by a health
//! check, reached by `wget`), and nothing left behind after a timeout, Ctrl-C or the
//! server's exit. The image is built locally from busybox-static (no registry needed).
//! An engine that cannot run here is skipped with the reason printed, unless
//! `CLNRM_REQUIRE_ENGINES=1` (CI: `tests/run.sh` installs and starts both).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clnrm_lsp_e2e::bin_path::clnrm_lsp_bin;
use clnrm_lsp_e2e::cli::{code, stderr, stdout};
use clnrm_lsp_e2e::lsp::LspClient as Client;
use serde_json::{json, Value};

const IMAGE: &str = "localhost/clnrm-test-busybox:latest";
const ENGINES: [&str; 2] = ["docker", "podman"];

/// Build the test image on `cli` (idempotent): busybox-static with its applets linked.
fn build_image(cli: &str) -> Result<(), String> {
    let info = Command::new(cli)
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("`{cli}` cannot start: {e}"))?;
    if !info.status.success() {
        return Err(format!(
            "`{cli} info` failed: {}",
            String::from_utf8_lossy(&info.stderr).trim()
        ));
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("busybox is not installed (apt-get install busybox-static)")?;
    let ctx = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(busybox, ctx.path().join("busybox")).map_err(|e| e.to_string())?;
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
    )
    .map_err(|e| e.to_string())?;
    let out = Command::new(cli)
        .args(["build", "-q", "-t", IMAGE])
        .arg(ctx.path())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "`{cli} build` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The engines that run here (each with the image built once per test binary).
fn engines() -> Vec<&'static str> {
    static READY: OnceLock<Vec<&'static str>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let required = std::env::var("CLNRM_REQUIRE_ENGINES").is_ok_and(|v| v == "1");
            ENGINES
                .into_iter()
                .filter(|cli| match build_image(cli) {
                    Ok(()) => true,
                    Err(why) => {
                        assert!(!required, "{cli} is required here: {why}");
                        eprintln!("skipping {cli}: {why}");
                        false
                    }
                })
                .collect()
        })
        .clone()
}

/// A workspace whose runs use `backend` with the test image.
fn workspace(backend: &str, more: &str) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join(".clnrm")).unwrap();
    std::fs::write(
        ws.path().join(".clnrm/config.toml"),
        format!(
            "[executor]\nbackend = \"{backend}\"\ndefault_image = \"{IMAGE}\"\nkill_grace_ms = 500\n{more}"
        ),
    )
    .unwrap();
    ws
}

fn write(ws: &Path, name: &str, text: &str) -> PathBuf {
    let p = ws.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `clnrm-lsp run --format json ARGS` in `ws` with extra env; its output and pid.
fn run(ws: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, u32) {
    let child = Command::new(clnrm_lsp_bin())
        .args(["run", "--format", "json"])
        .args(args)
        .current_dir(ws)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

/// Results by scenario name.
fn results(o: &Output) -> serde_json::Map<String, Value> {
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}{}", stdout(o), stderr(o)));
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["scenario"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// Containers (running or not) labelled as owned by `pid`.
fn containers_of(cli: &str, pid: u32) -> Vec<String> {
    let out = Command::new(cli)
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=clnrm-lsp.owner={pid}"),
            "--format",
            "{{.Names}}",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Wait (bounded) until `pid` owns a container: the run is inside the engine.
fn wait_for_container(cli: &str, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while containers_of(cli, pid).is_empty() {
        assert!(Instant::now() < deadline, "no container of {pid} appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_dirs_of(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&format!("clnrm-run-{pid}-")))
        })
        .map(|e| e.path())
        .collect()
}

/// A free port on 127.0.0.1 (services share the host's network).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn verdicts_workdir_and_workspace_match_the_local_backend() {
    let file = "[meta]\nname = \"v\"\nversion = \"1\"\n\
        [[scenario]]\nname = \"ok\"\nrun = \"echo ok\"\n\
        [[scenario]]\nname = \"bad\"\nrun = \"sh -c 'exit 3'\"\n\
        [[scenario]]\nname = \"dirs\"\n\
        [[scenario.steps]]\nname = \"made\"\ncommand = [\"pwd\"]\nworkdir = \"sub/dir\"\nexpected_output_regex = \"/sub/dir$\"\n\
        [[scenario.steps]]\nname = \"env\"\ncommand = [\"echo $GREETING\"]\nenv = { GREETING = \"hi there\" }\nexpected_output_regex = \"^hi there$\"\n\
        [[scenario]]\nname = \"up\"\n\
        [[scenario.steps]]\nname = \"parent\"\ncommand = [\"true\"]\nworkdir = \"../x\"\n";
    for backend in ["local"].into_iter().chain(engines()) {
        let ws = workspace(backend, "");
        write(ws.path(), "v.clnrm.toml", file);
        let (o, pid) = run(ws.path(), &[], &[]);
        let r = results(&o);
        assert_eq!(r["ok"]["status"], "passed", "{backend}: {}", r["ok"]);
        assert_eq!(r["ok"]["backend"], backend);
        assert_eq!(r["bad"]["status"], "failed", "{backend}: {}", r["bad"]);
        assert_eq!(r["bad"]["exit_code"], 3, "{backend}");
        assert_eq!(r["dirs"]["status"], "passed", "{backend}: {}", r["dirs"]);
        assert_eq!(r["up"]["status"], "error", "{backend}: {}", r["up"]);
        assert!(
            r["up"]["error"].as_str().unwrap().contains("`..`"),
            "{backend}: {}",
            r["up"]
        );
        assert_eq!(code(&o), 1);
        if backend != "local" {
            assert_eq!(containers_of(backend, pid), Vec::<String>::new());
        }
        assert_eq!(run_dirs_of(pid), Vec::<PathBuf>::new());
    }
}

#[test]
fn the_workspace_is_mounted_read_only_at_slash_workspace() {
    for cli in engines() {
        let ws = workspace(cli, "");
        write(ws.path(), "data.txt", "from the workspace\n");
        write(
            ws.path(),
            "w.clnrm.toml",
            "[meta]\nname = \"w\"\nversion = \"1\"\n[[scenario]]\nname = \"reads\"\n\
             [[scenario.steps]]\nname = \"cat\"\ncommand = [\"cat $CLNRM_WORKSPACE/data.txt\"]\nexpected_output_regex = \"from the workspace\"\n\
             [[scenario.steps]]\nname = \"ro\"\ncommand = [\"touch /workspace/new 2>/dev/null\"]\nexpected_exit_code = 1\n",
        );
        let (o, _) = run(ws.path(), &[], &[]);
        let r = results(&o);
        assert_eq!(r["reads"]["status"], "passed", "{cli}: {}", r["reads"]);
        assert!(!ws.path().join("new").exists());
    }
}

fn service_file(port: u16, health: &str) -> String {
    format!(
        "[meta]\nname = \"svc\"\nversion = \"1\"\n\
         [service.web]\nimage = \"{IMAGE}\"\n\
         args = [\"sh\", \"-c\", \"mkdir -p /www && echo hello from httpd > /www/index.html && exec httpd -f -p 127.0.0.1:{port} -h /www\"]\n\
         ports = [{port}]\n{health}\n\
         [[scenario]]\nname = \"client\"\nservice = \"web\"\n\
         [[scenario.steps]]\nname = \"get\"\ncommand = [\"wget -q -O- http://127.0.0.1:{port}/\"]\nexpected_output_regex = \"hello from httpd\"\n\
         [[scenario.steps]]\nname = \"ids\"\ncommand = [\"echo $SERVICE_NAME ${{CONTAINER_ID:+has-id}}\"]\nexpected_output_regex = \"^web has-id$\"\n"
    )
}

const HEALTHY: &str =
    "health_check = { cmd = [\"wget\", \"-q\", \"-O-\", \"http://127.0.0.1:PORT/\"], interval = 1, retries = 20 }";

#[test]
fn a_service_gated_by_its_health_check_serves_commands_in_containers_and_on_the_host() {
    // Commands in containers of each engine; commands on the host with `local`.
    for (backend, cli) in engines()
        .into_iter()
        .map(|c| (c, c))
        .chain(engines().first().map(|c| ("local", *c)))
    {
        let port = free_port();
        let ws = workspace(backend, "");
        let health = HEALTHY.replace("PORT", &port.to_string());
        let mut text = service_file(port, &health);
        if backend == "local" {
            // The host has no busybox applets on PATH by those names: call busybox.
            text = text.replace("[\"wget -q", "[\"busybox wget -q");
        }
        write(ws.path(), "s.clnrm.toml", &text);
        let (o, pid) = run(ws.path(), &[], &[]);
        let r = results(&o);
        assert_eq!(
            r["client"]["status"],
            "passed",
            "{backend}: {}\n{}",
            r["client"],
            stderr(&o)
        );
        assert_eq!(code(&o), 0);
        assert_eq!(containers_of(cli, pid), Vec::<String>::new(), "{backend}");
    }
}

#[test]
fn a_service_that_never_gets_healthy_is_an_error_naming_it() {
    for cli in engines() {
        let port = free_port();
        let ws = workspace(cli, "");
        let health = "health_check = { cmd = [\"sh\", \"-c\", \"echo not yet >&2; exit 1\"], interval = 1, retries = 2 }";
        write(ws.path(), "s.clnrm.toml", &service_file(port, health));
        let (o, pid) = run(ws.path(), &[], &[]);
        let r = results(&o);
        assert_eq!(r["client"]["status"], "error", "{cli}: {}", r["client"]);
        let why = r["client"]["error"].as_str().unwrap();
        assert!(why.contains("service `web`"), "{cli}: {why}");
        assert!(why.contains("health check"), "{cli}: {why}");
        assert!(why.contains("not yet"), "{cli}: {why}");
        assert_eq!(containers_of(cli, pid), Vec::<String>::new(), "{cli}");
        // Not cached: the next run tries again.
        let (again, _) = run(ws.path(), &[], &[]);
        assert_eq!(results(&again)["client"]["cached"], false, "{cli}");
    }
}

#[test]
fn a_timeout_leaves_no_container_behind() {
    for cli in engines() {
        let ws = workspace(cli, "");
        // PID 1 of the container ignores SIGTERM: podman's plain `rm -f` would wait 10 s.
        write(
            ws.path(),
            "t.clnrm.toml",
            "[meta]\nname = \"t\"\nversion = \"1\"\n[[scenario]]\nname = \"slow\"\ntimeout_ms = 4000\nrun = \"sh -c 'trap \\\"\\\" TERM; sleep 3600'\"\n",
        );
        let (o, pid) = run(ws.path(), &[], &[]);
        let r = results(&o);
        assert_eq!(r["slow"]["status"], "timed_out", "{cli}: {}", r["slow"]);
        assert_eq!(containers_of(cli, pid), Vec::<String>::new(), "{cli}");
        assert_eq!(run_dirs_of(pid), Vec::<PathBuf>::new(), "{cli}");
    }
}

#[test]
fn ctrl_c_to_run_removes_its_containers_services_and_run_directories() {
    for cli in engines() {
        let port = free_port();
        let ws = workspace(cli, "");
        let health = HEALTHY.replace("PORT", &port.to_string());
        let text = service_file(port, &health).replace(
            "[[scenario.steps]]\nname = \"get\"",
            "[[scenario.steps]]\nname = \"hang\"\ncommand = [\"sleep 3600\"]\n[[scenario.steps]]\nname = \"get\"",
        );
        write(ws.path(), "s.clnrm.toml", &text);
        let mut child = Command::new(clnrm_lsp_bin())
            .args(["run", "s.clnrm.toml"])
            .current_dir(ws.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        // The service and the step's container both run.
        let deadline = Instant::now() + Duration::from_secs(60);
        while containers_of(cli, pid).len() < 2 {
            assert!(Instant::now() < deadline, "{cli}: the step never started");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!run_dirs_of(pid).is_empty());
        let status = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(child.wait().unwrap().code(), Some(130));
        assert_eq!(containers_of(cli, pid), Vec::<String>::new(), "{cli}");
        assert_eq!(run_dirs_of(pid), Vec::<PathBuf>::new(), "{cli}");
    }
}

#[test]
fn server_exit_during_a_run_removes_its_container() {
    for cli in engines() {
        let ws = workspace(cli, "");
        let path = write(
            ws.path(),
            "long.clnrm.toml",
            "[meta]\nname = \"l\"\nversion = \"1\"\n[[scenario]]\nname = \"long\"\nrun = \"sleep 3600\"\n",
        );
        let uri = format!("file://{}", path.display());
        let mut c = Client::spawn();
        c.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": format!("file://{}", ws.path().display()),
                "capabilities": {},
                "initializationOptions": { "runOnSave": false },
            }),
        );
        c.notify("initialized", json!({}));
        c.open(&uri, &std::fs::read_to_string(&path).unwrap(), 1);
        c.request(
            "workspace/executeCommand",
            json!({ "command": "clnrm.runScenario", "arguments": [uri, "long"] }),
        );
        let pid = c.pid();
        wait_for_container(cli, pid);
        assert!(c.shutdown(), "{cli}: the server did not exit cleanly");
        assert_eq!(containers_of(cli, pid), Vec::<String>::new(), "{cli}");
        assert_eq!(run_dirs_of(pid), Vec::<PathBuf>::new(), "{cli}");
    }
}

#[test]
fn the_engine_cli_keeps_the_users_environment() {
    for cli in engines() {
        let ws = workspace(cli, "");
        write(
            ws.path(),
            "e.clnrm.toml",
            "[meta]\nname = \"e\"\nversion = \"1\"\n[[scenario]]\nname = \"ok\"\nrun = \"true\"\n",
        );
        // The engine's address, explicitly, is honoured; a wrong one is used too (and fails).
        let bad_conf = ws.path().join("bad.conf");
        std::fs::write(&bad_conf, "[engine]\nruntime = \"clnrm-no-such-runtime\"\n").unwrap();
        let bad_conf = bad_conf.display().to_string();
        let (good, bad) = match cli {
            "docker" => (
                ("DOCKER_HOST", "unix:///var/run/docker.sock"),
                ("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
            ),
            _ => (
                ("CONTAINERS_CONF", "/etc/containers/containers.conf"),
                ("CONTAINERS_CONF", bad_conf.as_str()),
            ),
        };
        let (o, _) = run(ws.path(), &["--no-cache"], &[good]);
        assert_eq!(
            results(&o)["ok"]["status"],
            "passed",
            "{cli}: {}",
            stderr(&o)
        );
        let env = vec![bad];
        let (o, _) = run(ws.path(), &["--no-cache"], &env);
        assert_ne!(
            results(&o)["ok"]["status"],
            "passed",
            "{cli} ignored {}: {}",
            bad.0,
            stdout(&o)
        );
    }
}

/// Tag `IMAGE`'s content under `tag` with one extra file `/stamp` holding `stamp`.
fn build_stamped(cli: &str, tag: &str, stamp: &str) {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("stamp"), stamp).unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {IMAGE}\nCOPY stamp /stamp\n"),
    )
    .unwrap();
    let out = Command::new(cli)
        .args(["build", "-q", "-t", tag])
        .arg(ctx.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_image_is_an_uncached_error_and_a_rebuilt_image_runs_again() {
    for cli in engines() {
        let tag = format!("localhost/clnrm-test-stamped-{}:latest", std::process::id());
        let _ = Command::new(cli).args(["rmi", "-f", &tag]).output();
        let ws = workspace(cli, "");
        write(
            ws.path(),
            "i.clnrm.toml",
            &format!(
                "[meta]\nname = \"i\"\nversion = \"1\"\n[service.app]\nimage = \"{tag}\"\n\
                 [[scenario]]\nname = \"stamp\"\n\
                 [[scenario.steps]]\nname = \"cat\"\nservice = \"app\"\ncommand = [\"cat /stamp\"]\nexpected_output_regex = \"^good$\"\n"
            ),
        );
        // Services off: the step runs in the service's image, which does not exist yet.
        std::fs::write(
            ws.path().join(".clnrm/config.toml"),
            format!(
                "[executor]\nbackend = \"{cli}\"\ndefault_image = \"{IMAGE}\"\nservices = \"off\"\n"
            ),
        )
        .unwrap();
        let (o, _) = run(ws.path(), &[], &[]);
        let r = &results(&o)["stamp"];
        assert_eq!(r["status"], "error", "{cli}: {r}");
        assert_eq!(r["cached"], false, "{cli}");
        build_stamped(cli, &tag, "good");
        let (o, _) = run(ws.path(), &[], &[]);
        let r = &results(&o)["stamp"];
        assert_eq!(r["status"], "passed", "{cli}: {r}");
        let (o, _) = run(ws.path(), &[], &[]);
        assert_eq!(results(&o)["stamp"]["cached"], true, "{cli}");
        // The same tag, other content: the cached pass is not served.
        build_stamped(cli, &tag, "bad");
        let (o, _) = run(ws.path(), &[], &[]);
        let r = &results(&o)["stamp"];
        assert_eq!(r["status"], "failed", "{cli}: {r}");
        assert_eq!(r["cached"], false, "{cli}");
        let _ = Command::new(cli).args(["rmi", "-f", &tag]).output();
    }
}

#[test]
fn a_newer_run_cancels_the_running_one_and_removes_its_container() {
    for cli in engines() {
        let ws = workspace(cli, "");
        let path = write(
            ws.path(),
            "long.clnrm.toml",
            "[meta]\nname = \"l\"\nversion = \"1\"\n[[scenario]]\nname = \"long\"\nrun = \"sleep 3600\"\n",
        );
        let uri = format!("file://{}", path.display());
        let mut c = Client::spawn();
        c.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": format!("file://{}", ws.path().display()),
                "capabilities": {},
                "initializationOptions": { "runOnSave": false },
            }),
        );
        c.notify("initialized", json!({}));
        c.open(&uri, &std::fs::read_to_string(&path).unwrap(), 1);
        let run_it = |c: &mut Client| {
            c.request(
                "workspace/executeCommand",
                json!({ "command": "clnrm.runScenario", "arguments": [uri, "long"] }),
            );
        };
        run_it(&mut c);
        let pid = c.pid();
        wait_for_container(cli, pid);
        let first = containers_of(cli, pid);
        // The newer request supersedes the running one: its container goes, at once.
        run_it(&mut c);
        let deadline = Instant::now() + Duration::from_secs(30);
        while containers_of(cli, pid).iter().any(|n| first.contains(n)) {
            assert!(
                Instant::now() < deadline,
                "{cli}: {first:?} outlived its cancellation"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(c.shutdown(), "{cli}");
        assert_eq!(containers_of(cli, pid), Vec::<String>::new(), "{cli}");
    }
}

/// A service that answers `hit <n>` to its n-th connection: a restart starts over at 1.
fn counter_file(port: u16) -> String {
    let get = format!(
        "for i in $(seq 100); do wget -q -O- http://127.0.0.1:{port}/ 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
    );
    format!(
        "[meta]\nname = \"c\"\nversion = \"1\"\n\
         [service.counter]\nimage = \"{IMAGE}\"\n\
         args = [\"sh\", \"-c\", \"n=0; while true; do n=$((n+1)); printf 'HTTP/1.0 200 OK\\\\r\\\\n\\\\r\\\\nhit %s\\\\n' $n | nc -l -p {port} >/dev/null; done\"]\n\
         ports = [{port}]\n\
         health_check = {{ cmd = [\"sh\", \"-c\", \"netstat -ltn | grep -q :{port}\"], interval = 1, retries = 30 }}\n\
         [[scenario]]\nname = \"first\"\nservice = \"counter\"\n\
         [[scenario.steps]]\nname = \"get\"\ncommand = [{get:?}]\nexpected_output_regex = \"^hit 1$\"\n\
         [[scenario]]\nname = \"fails\"\nservice = \"counter\"\nrun = \"sh -c 'exit 4'\"\n\
         [[scenario]]\nname = \"alone\"\nrun = \"true\"\n\
         [[scenario]]\nname = \"second\"\nservice = \"counter\"\n\
         [[scenario.steps]]\nname = \"get\"\ncommand = [{get:?}]\nexpected_output_regex = \"^hit 2$\"\n"
    )
}

#[test]
fn a_files_scenarios_share_one_start_of_each_service_stopped_after_the_last() {
    for cli in engines() {
        let port = free_port();
        let ws = workspace(cli, "");
        write(ws.path(), "c.clnrm.toml", &counter_file(port));
        let (o, pid) = run(ws.path(), &["--no-cache"], &[]);
        let r = results(&o);
        // The second scenario sees the first one's hit: one service, not one per scenario,
        // and a scenario failing in between leaves it as it was.
        assert_eq!(r["first"]["status"], "passed", "{cli}: {}", r["first"]);
        assert_eq!(r["fails"]["status"], "failed", "{cli}: {}", r["fails"]);
        assert_eq!(r["fails"]["exit_code"], 4, "{cli}");
        assert_eq!(r["alone"]["status"], "passed", "{cli}: {}", r["alone"]);
        assert_eq!(r["second"]["status"], "passed", "{cli}: {}", r["second"]);
        assert_eq!(containers_of(cli, pid), Vec::<String>::new(), "{cli}");
        // Each run of the file starts the service afresh.
        let (o, _) = run(ws.path(), &["--no-cache", "--scenario", "first"], &[]);
        assert_eq!(
            results(&o)["first"]["status"],
            "passed",
            "{cli}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn exit_codes_and_env_give_the_same_verdict_on_every_backend() {
    let file = "[meta]\nname = \"p\"\nversion = \"1\"\n\
        [service.app]\nimage = \"IMAGE\"\nenv = { WHO = \"service\", KEEP = \"kept\" }\n\
        [[scenario]]\nname = \"met\"\n\
        [[scenario.steps]]\nname = \"three\"\ncommand = [\"exit 3\"]\nexpected_exit_code = 3\n\
        [[scenario.steps]]\nname = \"killed\"\ncommand = [\"sh -c 'kill -9 $$'; exit $?\"]\nexpected_exit_code = 137\n\
        [[scenario]]\nname = \"unmet\"\n\
        [[scenario.steps]]\nname = \"zero\"\ncommand = [\"true\"]\nexpected_exit_code = 3\n\
        [[scenario]]\nname = \"seven\"\nrun = \"sh -c 'exit 7'\"\n\
        [[scenario]]\nname = \"env\"\nservice = \"app\"\n\
        [[scenario.steps]]\nname = \"service env\"\ncommand = [\"echo $SERVICE_NAME $WHO $KEEP\"]\nexpected_output_regex = \"^app service kept$\"\n\
        [[scenario.steps]]\nname = \"step env wins\"\ncommand = [\"echo $WHO $KEEP\"]\nenv = { WHO = \"step\" }\nexpected_output_regex = \"^step kept$\"\n\
        [[scenario.steps]]\nname = \"otlp and workspace\"\ncommand = [\"test -n \\\"$OTEL_EXPORTER_OTLP_ENDPOINT\\\" && test -d \\\"$CLNRM_WORKSPACE\\\" && echo ok\"]\nexpected_output_regex = \"^ok$\"\n"
        .replace("IMAGE", IMAGE);
    // Services off: the comparison is about the commands, on the host and in containers.
    for backend in ["local"].into_iter().chain(engines()) {
        let ws = workspace(backend, "services = \"off\"\n");
        write(ws.path(), "p.clnrm.toml", &file);
        let (o, _) = run(ws.path(), &["--no-cache"], &[]);
        let r = results(&o);
        for (name, status) in [
            ("met", "passed"),
            ("unmet", "failed"),
            ("seven", "failed"),
            ("env", "passed"),
        ] {
            assert_eq!(r[name]["status"], status, "{backend} {name}: {}", r[name]);
        }
        assert_eq!(r["unmet"]["exit_code"], 0, "{backend}");
        assert_eq!(
            r["unmet"]["failures"][0]["path"], "scenario[1].steps[0]",
            "{backend}"
        );
        assert_eq!(r["seven"]["exit_code"], 7, "{backend}");
    }
}

/// Zombie children of `pid` (processes that exited and were never waited for).
fn zombie_children(pid: u32) -> Vec<String> {
    let out = Command::new("ps")
        .args(["-o", "pid=,stat=,comm=", "--ppid", &pid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|s| s.starts_with('Z'))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn a_long_lived_server_leaves_no_zombie_container_monitors() {
    // podman's `conmon` daemonizes: the server, a subreaper, adopts one per container.
    let Some(cli) = engines().into_iter().find(|c| *c == "podman") else {
        return;
    };
    let ws = workspace(cli, "");
    let text = "[meta]\nname = \"z\"\nversion = \"1\"\n[[scenario]]\nname = \"a\"\nrun = \"echo 0\"\n[[scenario]]\nname = \"b\"\nrun = \"sh -c 'exit 2'\"\n";
    let path = write(ws.path(), "z.clnrm.toml", text);
    let uri = format!("file://{}", path.display());
    let mut c = Client::spawn();
    c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": format!("file://{}", ws.path().display()),
            "capabilities": {},
            "initializationOptions": { "runOnSave": false },
        }),
    );
    c.notify("initialized", json!({}));
    c.open(&uri, text, 1);
    for round in 0..4 {
        // Another command each round: the cache does not answer.
        let text = text.replace("echo 0", &format!("echo {round}"));
        c.change_full(&uri, &text, i64::from(round) + 2);
        c.request(
            "workspace/executeCommand",
            json!({ "command": "clnrm.runFile", "arguments": [uri] }),
        );
        let mut verdicts = 0;
        while verdicts < 2 {
            c.wait_for(|m| {
                m["method"] == "clnrm/runResult"
                    && !["queued", "running"].contains(&m["params"]["state"].as_str().unwrap_or(""))
            })
            .expect("a verdict");
            verdicts += 1;
        }
    }
    let pid = c.pid();
    assert_eq!(containers_of(cli, pid), Vec::<String>::new());
    // Eight containers ran, each with its monitor: every one that exited is waited for.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let zombies = zombie_children(pid);
        if zombies.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "zombies of the server: {zombies:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(c.shutdown());
}
