//! `clnrm-lsp run` as a user runs it: the built binary on a temporary workspace, real
//! commands, exit codes, the result cache on disk, every format, and `--watch`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clnrm_lsp_e2e::bin_path::clnrm_lsp_bin;
use clnrm_lsp_e2e::cli::{code, run_in as clnrm, stderr, stdout};
use clnrm_lsp_e2e::workspace::pin_local;

/// A workspace root (it holds `.clnrm/`, the local backend pinned) in a fresh temporary
/// directory.
fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    pin_local(ws.path(), "");
    ws
}

/// A test file with the given `(name, run)` scenarios (and extra lines per scenario).
fn test_file(scenarios: &[(&str, &str)]) -> String {
    let mut text = String::from("[meta]\nname = \"t\"\nversion = \"1.0\"\n");
    for (name, run) in scenarios {
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"{name}\"\nrun = {run:?}\n"
        ));
    }
    text
}

fn write(ws: &Path, name: &str, text: &str) -> PathBuf {
    let path = ws.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `sh -c '…'` appending a line to `count`: how many times it ran.
fn appender(count: &Path) -> String {
    format!("sh -c 'echo x >> {}'", count.display())
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

#[test]
fn passing_scenarios_exit_0_and_a_failure_exits_1_with_its_reason() {
    let ws = workspace();
    write(
        ws.path(),
        "ok.clnrm.toml",
        &test_file(&[("one", "true"), ("two", "sh -c 'echo hi'")]),
    );
    let o = clnrm(ws.path(), &["run", "ok.clnrm.toml"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("✓ ok.clnrm.toml › one"), "{out}");
    assert!(out.contains("✓ ok.clnrm.toml › two"), "{out}");
    assert!(out.contains("2 scenarios: 2 passed, 0 failed"), "{out}");
    assert!(
        !stderr(&o).contains("\x1b["),
        "no progress line off a terminal"
    );

    write(
        ws.path(),
        "bad.clnrm.toml",
        &test_file(&[("fine", "true"), ("boom", "sh -c 'echo boom >&2; exit 3'")]),
    );
    // The whole directory: both files.
    let o = clnrm(ws.path(), &["run"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("✗ bad.clnrm.toml › boom  failed: exit 3: boom"),
        "{out}"
    );
    // The failure is explained at its place in the template.
    assert!(
        out.contains("bad.clnrm.toml:9:1: error[run-failed]"),
        "{out}"
    );
    assert!(out.contains("4 scenarios: 3 passed, 1 failed"), "{out}");

    // A file with errors is not run, shown like `check` shows it, and fails the run.
    write(ws.path(), "broken.clnrm.toml", "[meta]\nname = \"b\"\n");
    let o = clnrm(ws.path(), &["run", "broken.clnrm.toml"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("broken.clnrm.toml:1:1: error[missing-key]"),
        "{}",
        stdout(&o)
    );

    // A missing path is an I/O error.
    assert_eq!(code(&clnrm(ws.path(), &["run", "nope.clnrm.toml"])), 2);
}

#[test]
fn results_come_from_the_cache_unless_no_cache_and_a_changed_command_runs_again() {
    let ws = workspace();
    let count = ws.path().join("count");
    let file = write(
        ws.path(),
        "c.clnrm.toml",
        &test_file(&[("append", &appender(&count))]),
    );
    let o = clnrm(ws.path(), &["run", "c.clnrm.toml"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("(cached)"));
    assert_eq!(lines_in(&count), 1);

    let o = clnrm(ws.path(), &["run", "c.clnrm.toml"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("› append  "), "{}", stdout(&o));
    assert!(stdout(&o).contains("(cached)"), "{}", stdout(&o));
    assert!(stdout(&o).contains("(1 cached)"), "{}", stdout(&o));
    assert_eq!(lines_in(&count), 1, "a cache hit does not run the command");

    let o = clnrm(ws.path(), &["run", "--no-cache", "c.clnrm.toml"]);
    assert_eq!(code(&o), 0);
    assert!(!stdout(&o).contains("(cached)"), "{}", stdout(&o));
    assert_eq!(lines_in(&count), 2, "--no-cache runs it");

    // A changed command is another scenario to the cache.
    let changed = format!("sh -c 'echo y >> {}'", count.display());
    std::fs::write(&file, test_file(&[("append", &changed)])).unwrap();
    let o = clnrm(ws.path(), &["run", "c.clnrm.toml"]);
    assert_eq!(code(&o), 0);
    assert!(!stdout(&o).contains("(cached)"), "{}", stdout(&o));
    assert_eq!(lines_in(&count), 3);

    // The runner kept the trace: `diff` finds the last run.
    let o = clnrm(ws.path(), &["diff", "c.clnrm.toml"]);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_ne!(code(&o), 2, "{all}");
    assert!(!all.contains("not run yet"), "{all}");
    assert!(all.contains("last run"), "{all}");
}

#[test]
fn a_scenario_that_ignores_sigterm_times_out_quickly() {
    let ws = workspace();
    // Not a test of the grace between SIGTERM and SIGKILL: keep it short.
    pin_local(ws.path(), "[executor]\nkill_grace_ms = 100\n");
    let text = "[meta]\nname = \"t\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"stuck\"\nrun = \"sh -c 'trap \\\"\\\" TERM; sleep 30'\"\ntimeout_ms = 500\n";
    write(ws.path(), "t.clnrm.toml", text);
    clnrm_lsp_bin(); // built before the clock starts
    let start = Instant::now();
    let o = clnrm(ws.path(), &["run", "t.clnrm.toml"]);
    let took = start.elapsed();
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("✗ t.clnrm.toml › stuck  failed: timed out after 0.5 s"),
        "{}",
        stdout(&o)
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

/// The one result entry in the workspace's cache.
fn cache_entries(ws: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let results = ws.join(".clnrm/cache/results");
    for shard in std::fs::read_dir(results).into_iter().flatten().flatten() {
        for e in std::fs::read_dir(shard.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "json") {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn a_corrupt_cache_entry_is_a_miss_and_is_rewritten() {
    let ws = workspace();
    let count = ws.path().join("count");
    write(
        ws.path(),
        "c.clnrm.toml",
        &test_file(&[("append", &appender(&count))]),
    );
    assert_eq!(code(&clnrm(ws.path(), &["run"])), 0);
    let entries = cache_entries(ws.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let bytes = std::fs::read(&entries[0]).unwrap();
    std::fs::write(&entries[0], &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(code(&clnrm(ws.path(), &["cache", "verify"])), 1);

    let o = clnrm(ws.path(), &["run"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("(cached)"), "{}", stdout(&o));
    assert_eq!(lines_in(&count), 2, "the corrupt entry was a miss");
    let o = clnrm(ws.path(), &["cache", "verify"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let o = clnrm(ws.path(), &["run"]);
    assert!(stdout(&o).contains("(cached)"), "{}", stdout(&o));
    assert_eq!(lines_in(&count), 2);
}

#[test]
fn two_concurrent_runs_share_the_cache_safely() {
    let ws = workspace();
    let scenarios: Vec<(String, String)> = (0..6)
        .map(|i| (format!("s{i}"), format!("sh -c 'sleep 0.1; echo {i}'")))
        .collect();
    let refs: Vec<(&str, &str)> = scenarios
        .iter()
        .map(|(n, r)| (n.as_str(), r.as_str()))
        .collect();
    write(ws.path(), "a.clnrm.toml", &test_file(&refs));
    write(ws.path(), "b.clnrm.toml", &test_file(&refs[..3]));
    let spawn = || {
        Command::new(clnrm_lsp_bin())
            .args(["run", "--jobs", "3"])
            .current_dir(ws.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        assert!(
            stdout(&o).contains("9 scenarios: 9 passed"),
            "{}",
            stdout(&o)
        );
    }
    let o = clnrm(ws.path(), &["cache", "verify"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let o = clnrm(ws.path(), &["run"]);
    assert!(stdout(&o).contains("(9 cached)"), "{}", stdout(&o));
}

#[test]
fn json_and_junit_formats() {
    let ws = workspace();
    write(
        ws.path(),
        "f.clnrm.toml",
        &test_file(&[
            ("good", "sh -c 'echo \"<ok> & done\"'"),
            ("bad", "sh -c 'echo boom >&2; exit 3'"),
        ]),
    );
    let o = clnrm(ws.path(), &["run", "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let good = &results[0];
    assert_eq!(good["file"], "f.clnrm.toml");
    assert_eq!(good["scenario"], "good");
    assert_eq!(good["status"], "passed");
    assert_eq!(good["passed"], true);
    assert_eq!(good["backend"], "local");
    assert_eq!(good["exit_code"], 0);
    assert!(good["duration_ms"].is_u64());
    assert!(good["cached"].is_boolean());
    let bad = &results[1];
    assert_eq!(bad["status"], "failed");
    assert_eq!(bad["exit_code"], 3);
    assert_eq!(bad["error"], "exit 3: boom");
    assert_eq!(bad["failures"][0]["key"], "expected_exit_code");
    assert_eq!(bad["failures"][0]["line"], 9);
    assert_eq!(v["summary"]["scenarios"], 2);
    assert_eq!(v["summary"]["passed"], 1);
    assert_eq!(v["summary"]["failed"], 1);

    let o = clnrm(ws.path(), &["run", "--format", "junit"]);
    assert_eq!(code(&o), 1);
    let xml = stdout(&o);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut suites, mut cases, mut failures) = (0, 0, 0);
    let mut out_text = String::new();
    let mut in_out = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    "testsuite" => suites += 1,
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    "system-out" => in_out = true,
                    _ => {}
                }
            }
            quick_xml::events::Event::Text(t) if in_out => {
                out_text.push_str(&t.xml10_content());
            }
            quick_xml::events::Event::GeneralRef(r) if in_out => {
                out_text.push_str(match r.as_ref() {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    _ => "?",
                });
            }
            quick_xml::events::Event::End(e) if e.name().as_ref() == "system-out" => {
                in_out = false;
            }
            _ => {}
        }
    }
    assert_eq!((suites, cases, failures), (1, 2, 1), "{xml}");
    assert!(
        xml.contains("<testsuites name=\"clnrm\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(out_text.contains("<ok> & done"), "{out_text:?} in {xml}");
}

#[test]
fn scenario_selects_one_and_an_unknown_name_is_a_usage_error() {
    let ws = workspace();
    let count = ws.path().join("count");
    write(
        ws.path(),
        "s.clnrm.toml",
        &test_file(&[("mine", &appender(&count)), ("other", "false")]),
    );
    // Another file without that scenario is skipped, not an error.
    write(
        ws.path(),
        "t.clnrm.toml",
        &test_file(&[("theirs", "false")]),
    );
    let o = clnrm(ws.path(), &["run", "--scenario", "mine"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("› mine"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("› other"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("1 scenario: 1 passed"),
        "{}",
        stdout(&o)
    );

    let o = clnrm(ws.path(), &["run", "--scenario", "nope"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("`nope`"), "{}", stderr(&o));
    assert_eq!(lines_in(&count), 1, "nothing ran");
}

/// Lines of a child's stdout or stderr, as they come.
fn line_reader(stdout: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Lines up to and including the next summary line, or what came before the deadline.
fn next_cycle(rx: &mpsc::Receiver<String>, within: Duration) -> Option<Vec<String>> {
    let deadline = Instant::now() + within;
    let mut lines = Vec::new();
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let line = rx.recv_timeout(left).ok()?;
        let done = line.contains(" scenario") && line.contains(" passed, ");
        lines.push(line);
        if done {
            return Some(lines);
        }
    }
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `clnrm-lsp ARGS` (with `--watch`) in `cwd`, killed when the handle drops; its stdout
/// lines. Returns once the first run's results are printed and the watcher is set up (its
/// "watching" line on stderr), so a change made afterwards is seen.
fn watch(cwd: &Path, args: &[&str]) -> (KillOnDrop, mpsc::Receiver<String>, Vec<String>) {
    let mut child = Command::new(clnrm_lsp_bin())
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = line_reader(child.stdout.take().unwrap());
    let errors = line_reader(child.stderr.take().unwrap());
    let child = KillOnDrop(child);
    let first = next_cycle(&rx, Duration::from_secs(30)).expect("first results");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = errors.recv_timeout(left).expect("the watcher starts");
        if line.contains("watching") {
            break;
        }
    }
    (child, rx, first)
}

/// Every watch test proves "this change triggered nothing" the same way: a later change
/// that does trigger a run is the barrier, and its cycle must be the first one and hold
/// only what the later change affects.
#[test]
fn watch_reruns_a_changed_file_and_ignores_ignored_paths() {
    let ws = workspace();
    let count = ws.path().join("count");
    let other = write(
        ws.path(),
        "other.clnrm.toml",
        &test_file(&[("calm", "true")]),
    );
    let file = write(
        ws.path(),
        "w.clnrm.toml",
        &test_file(&[("a", "sh -c 'echo one'"), ("b", &appender(&count))]),
    );
    let (_child, rx, first) = watch(ws.path(), &["run", "--watch", "."]);
    assert!(
        first.iter().any(|l| l.contains("3 scenarios: 3 passed")),
        "{first:?}"
    );
    assert_eq!(lines_in(&count), 1);

    // A change under an ignored path (`.clnrm/**` by default) triggers nothing; then
    // changing one command re-runs that file only; its other scenario is a cache hit.
    std::fs::write(ws.path().join(".clnrm/x"), "x").unwrap();
    std::fs::write(
        &file,
        test_file(&[("a", "sh -c 'echo two'"), ("b", &appender(&count))]),
    )
    .unwrap();
    let second = next_cycle(&rx, Duration::from_secs(30)).expect("re-run after the change");
    let text = second.join("\n");
    assert!(text.contains("✓ w.clnrm.toml › a  "), "{text}");
    let a = second.iter().find(|l| l.contains("› a  ")).unwrap();
    assert!(!a.contains("(cached)"), "the changed scenario ran: {a}");
    assert!(
        text.contains("› b  ") && text.contains("(cached)"),
        "{text}"
    );
    assert!(
        !text.contains("other.clnrm.toml"),
        "unaffected file re-ran: {text}"
    );
    assert!(text.contains("2 scenarios: 2 passed"), "{text}");
    assert_eq!(
        lines_in(&count),
        1,
        "the unchanged scenario came from the cache"
    );

    // The re-run read the file and wrote the cache: that must not trigger another. The
    // barrier: a change to the other file; the next cycle is its run, and only its.
    std::fs::write(&other, test_file(&[("calm", "true"), ("more", "true")])).unwrap();
    let third = next_cycle(&rx, Duration::from_secs(30)).expect("re-run of the other file");
    let text = third.join("\n");
    assert!(
        !text.contains("w.clnrm.toml"),
        "a run triggered itself: {text}"
    );
    assert!(text.contains("✓ other.clnrm.toml › more"), "{text}");
    assert!(text.contains("2 scenarios: 2 passed"), "{text}");
}

#[test]
fn watch_reruns_the_files_that_include_a_changed_template() {
    let ws = workspace();
    pin_local(
        ws.path(),
        "[watch]\ndebounce_ms = 100\nignore = [\".clnrm/**\", \"drafts/**\"]\n",
    );
    std::fs::create_dir(ws.path().join("drafts")).unwrap();
    let part = write(
        ws.path(),
        "part.tera",
        "[[scenario]]\nname = \"inc\"\nrun = \"sh -c 'echo 1'\"\n",
    );
    write(
        ws.path(),
        "inc.clnrm.toml.tera",
        "[meta]\nname = \"i\"\nversion = \"1.0\"\n\n{% include \"part.tera\" %}\n",
    );
    write(
        ws.path(),
        "plain.clnrm.toml",
        &test_file(&[("calm", "true")]),
    );
    let (_child, rx, first) = watch(ws.path(), &["run", "--watch"]);
    assert!(
        first.iter().any(|l| l.contains("2 scenarios: 2 passed")),
        "{first:?}"
    );

    // A test file under a path the configuration ignores triggers nothing (it would run
    // if its change counted: it is new and `run` was given the whole workspace). The
    // include's change that follows is the barrier: its cycle comes first and has no draft.
    write(
        ws.path(),
        "drafts/d.clnrm.toml",
        &test_file(&[("draft", "true")]),
    );
    std::fs::write(
        &part,
        "[[scenario]]\nname = \"inc\"\nrun = \"sh -c 'echo 2; exit 4'\"\n",
    )
    .unwrap();
    let second = next_cycle(&rx, Duration::from_secs(30)).expect("re-run after the change");
    let text = second.join("\n");
    assert!(
        text.contains("✗ inc.clnrm.toml.tera › inc  failed: exit 4"),
        "{text}"
    );
    assert!(!text.contains("draft"), "an ignored file ran: {text}");
    assert!(!text.contains("plain.clnrm.toml"), "{text}");
}

#[test]
fn ctrl_c_takes_the_runs_along() {
    let ws = workspace();
    let pid_file = ws.path().join("pid");
    let run = format!("sh -c 'echo $$ > {}; exec sleep 60'", pid_file.display());
    write(ws.path(), "long.clnrm.toml", &test_file(&[("long", &run)]));
    let mut child = Command::new(clnrm_lsp_bin())
        .args(["run", "long.clnrm.toml"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = clnrm_lsp_e2e::procs::pid_from(&pid_file, Duration::from_secs(20))
        .expect("the scenario started");
    // The scenario runs in its own session: a terminal's SIGINT reaches only clnrm-lsp.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = child.wait().unwrap();
    assert_eq!(exited.code(), Some(130));
    assert!(
        clnrm_lsp_e2e::procs::gone(pid, Duration::from_secs(5)),
        "the scenario's process outlived clnrm-lsp"
    );
}

#[test]
fn a_script_beside_the_test_file_is_run_and_editing_it_runs_the_scenario_again() {
    let ws = workspace();
    let dir = ws.path().join("tests");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "app.sh", "echo one\n");
    write(
        &dir,
        "app.clnrm.toml",
        "[meta]\nname = \"t\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"app\"\nrun = \"sh app.sh\"\n\n[[scenario]]\nname = \"steps\"\nsteps = [\n  { name = \"where\", command = [\"test -f app.sh && test -d \\\"$CLNRM_WORKSPACE/tests\\\"\"] },\n  { name = \"says\", command = [\"sh app.sh\"], expected_output_regex = \"^one$\" },\n]\n",
    );
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--format", "json"];
        all.extend_from_slice(args);
        all.push("tests/app.clnrm.toml");
        let o = clnrm(ws.path(), &all);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("{}{}", stdout(&o), stderr(&o)));
        (code(&o), v)
    };
    let (c, v) = run(&[]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["results"][0]["cached"], false, "{v}");
    let (c, v) = run(&[]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["results"][0]["cached"], true, "nothing changed: {v}");

    // The program changed, not the test file: both scenarios run again, and the step
    // failure is placed on its step (line 13 of the file).
    write(&dir, "app.sh", "echo two\n");
    let (c, v) = run(&[]);
    assert_eq!(c, 1, "{v}");
    assert_eq!(v["results"][0]["cached"], false, "{v}");
    let steps = &v["results"][1];
    assert_eq!(steps["status"], "failed", "{v}");
    assert_eq!(steps["failures"][0]["line"], 13, "{v}");

    // `--refresh` runs and records; `--no-cache` runs and records nothing.
    write(&dir, "app.sh", "echo one\n");
    let (c, v) = run(&["--refresh"]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["results"][0]["cached"], false, "{v}");
    let (_, v) = run(&[]);
    assert_eq!(v["results"][0]["cached"], true, "{v}");
    write(&dir, "app.sh", "echo three\n");
    let (_, v) = run(&["--no-cache"]);
    assert_eq!(v["results"][0]["cached"], false, "{v}");
    let (_, v) = run(&[]);
    assert_eq!(
        v["results"][0]["cached"], false,
        "--no-cache recorded nothing: {v}"
    );
}

#[test]
fn the_workspace_variable_names_workspace_files_and_keys_stay_the_same_across_clones() {
    let file = "[meta]\nname = \"t\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"app\"\nrun = \"sh {{ workspace }}/lib/app.sh\"\n";
    let mut keys = Vec::new();
    for _ in 0..2 {
        let ws = workspace();
        std::fs::create_dir_all(ws.path().join("lib")).unwrap();
        std::fs::create_dir_all(ws.path().join("tests")).unwrap();
        write(ws.path(), "lib/app.sh", "echo from lib\n");
        write(ws.path(), "tests/w.clnrm.toml", file);
        let o = clnrm(
            ws.path(),
            &["run", "--format", "json", "tests/w.clnrm.toml"],
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("{}{}", stdout(&o), stderr(&o)));
        assert_eq!(v["results"][0]["status"], "passed", "{v}");
        // The named script is an input: editing it runs the scenario again.
        write(ws.path(), "lib/app.sh", "exit 5\n");
        let o = clnrm(
            ws.path(),
            &["run", "--format", "json", "tests/w.clnrm.toml"],
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["results"][0]["exit_code"], 5, "{v}");
        write(ws.path(), "lib/app.sh", "echo from lib\n");
        keys.push(
            cache_entries(ws.path())
                .iter()
                .map(|p| p.file_name().unwrap().to_os_string())
                .collect::<std::collections::BTreeSet<_>>(),
        );
    }
    // Two clones at different places: the same cache keys, though the rendered command
    // holds each clone's absolute root.
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[0].len(), 2, "{:?}", keys[0]);
}

#[test]
fn a_step_failure_is_placed_on_its_step_in_human_and_junit_output() {
    let ws = workspace();
    // The failing step's `expected_output_regex` is line 15.
    write(
        ws.path(),
        "steps.clnrm.toml",
        "[meta]\nname = \"s\"\nversion = \"1\"\n\n[[scenario]]\nname = \"build\"\n\n[[scenario.steps]]\nname = \"compile\"\ncommand = [\"true\"]\n\n[[scenario.steps]]\nname = \"link\"\ncommand = [\"echo nope\"]\nexpected_output_regex = \"^linked$\"\n",
    );
    let o = clnrm(ws.path(), &["run", "--color", "never", "steps.clnrm.toml"]);
    assert_eq!(code(&o), 1);
    let human = stdout(&o);
    assert!(
        human.contains("steps.clnrm.toml:15:1: error[expectation-unmet]"),
        "the failure is placed on its step:\n{human}"
    );
    assert!(human.contains("nope"), "what stdout was is shown:\n{human}");

    let o = clnrm(ws.path(), &["run", "--format", "junit", "steps.clnrm.toml"]);
    let xml = stdout(&o);
    assert!(
        xml.contains("steps.clnrm.toml:15:1: scenario[0].steps[1].expected_output_regex"),
        "{xml}"
    );
}
