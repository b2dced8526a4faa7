//! The shared result cache against real servers started here on 127.0.0.1 (redis-server,
//! nginx with WebDAV as a Bazel-protocol HTTP cache): clones share results, entries are
//! verified and signed, and a remote that dies or hangs never fails or stalls a run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clnrm_lsp_e2e::bin_path::clnrm_lsp_bin;
use clnrm_lsp_e2e::cli::{code, stderr, stdout};
use clnrm_lsp_e2e::servers::{self, Server};
use clnrm_lsp_e2e::workspace::pin_local;
use serde_json::Value;

const PASSWORD: &str = "redis-pw-4711";

/// `clnrm-lsp ARGS` in `cwd` with `env` set (and no remote inherited from the caller).
fn clnrm(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(clnrm_lsp_bin());
    cmd.args(args)
        .current_dir(cwd)
        // The S3 test's credentials (moto takes any).
        .env("AWS_ACCESS_KEY_ID", "clnrm-test")
        .env("AWS_SECRET_ACCESS_KEY", PASSWORD)
        .env_remove("CLNRM_REMOTE_CACHE")
        .env_remove("CLNRM_REMOTE_CACHE_READ_ONLY")
        .env_remove("CLNRM_CACHE_SIGNING_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run clnrm-lsp")
}

/// A workspace at `<parent>/<name>` with one file of `n` scenarios, each appending a line
/// to `count` (the same absolute path in every clone, so the clones' files are identical).
fn clone_at(parent: &Path, name: &str, n: usize, count: &Path, config: &str) -> PathBuf {
    let root = parent.join(name);
    std::fs::create_dir_all(&root).unwrap();
    pin_local(&root, config);
    let mut text = String::from("[meta]\nname = \"t\"\nversion = \"1.0\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"s{i}\"\nrun = \"sh -c 'echo {i} >> {}'\"\n",
            count.display()
        ));
    }
    std::fs::write(root.join("t.clnrm.toml"), text).unwrap();
    root
}

fn runs_in(count: &Path) -> usize {
    std::fs::read_to_string(count).map_or(0, |s| s.lines().count())
}

fn summary(o: &Output) -> Value {
    let v: Value = serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)));
    v["summary"].clone()
}

fn remote_stats(root: &Path, env: &[(&str, &str)]) -> Value {
    let o = clnrm(root, &["cache", "stats", "--format", "json"], env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    v["remote"].clone()
}

fn warnings(o: &Output) -> usize {
    stderr(o).matches("warning: remote cache").count()
}

fn no_secret_in(o: &Output) {
    let all = format!("{}{}", stdout(o), stderr(o));
    assert!(!all.contains(PASSWORD), "the password was shown: {all}");
}

/// Clone one fills the remote; clone two, elsewhere, is answered entirely from it.
fn two_clones_share(server: &Server) {
    let tmp = tempfile::tempdir().unwrap();
    let count = tmp.path().join("count");
    let n = 6;
    let one = clone_at(&tmp.path().join("laptop"), "proj", n, &count, "");
    let two = clone_at(&tmp.path().join("ci/checkout"), "proj", n, &count, "");
    let env = [("CLNRM_REMOTE_CACHE", server.url.as_str())];

    let o = clnrm(&one, &["run", "--format", "json"], &env);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(summary(&o)["cached"], 0);
    assert_eq!(warnings(&o), 0, "{}", stderr(&o));
    no_secret_in(&o);
    assert_eq!(runs_in(&count), n);
    let r = remote_stats(&one, &env);
    assert_eq!(r["uploads"], n, "{r}");
    assert!(r["bytes_up"].as_u64().unwrap() > 0, "{r}");

    let o = clnrm(&two, &["run", "--format", "json"], &env);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(summary(&o)["cached"], n, "{}", stdout(&o));
    assert_eq!(runs_in(&count), n, "clone two ran a scenario again");
    no_secret_in(&o);
    let stats = clnrm(&two, &["cache", "stats"], &env);
    no_secret_in(&stats);
    let line = stdout(&stats);
    assert!(
        line.contains(&format!(
            "(read-write): {n} hits, 0 misses, 0 refused by verification"
        )),
        "{line}"
    );
    let r = remote_stats(&two, &env);
    assert_eq!(
        (r["hits"].as_u64(), r["misses"].as_u64()),
        (Some(n as u64), Some(0)),
        "{r}"
    );
    assert!(r["bytes_down"].as_u64().unwrap() > 0, "{r}");
    assert!(r["mean_lookup_micros"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["uploads"], 0, "hits are not uploaded again: {r}");

    // The hits were written to clone two's disk: offline now, it still answers.
    let o = clnrm(&two, &["run", "--format", "json"], &[]);
    assert_eq!(summary(&o)["cached"], n);
    assert_eq!(runs_in(&count), n);
}

#[test]
fn two_clones_share_one_redis() {
    if !servers::available("redis-server") {
        return;
    }
    two_clones_share(&servers::redis(Some(PASSWORD)));
}

#[test]
fn two_clones_share_one_nginx_dav_http_cache() {
    if !servers::available("nginx") {
        return;
    }
    let server = servers::nginx_dav();
    two_clones_share(&server);
    // Stored where Bazel's protocol puts action results: {base}/ac/{sha256}.
    let ac = server.dir().join("store/cache/ac");
    let names: Vec<String> = std::fs::read_dir(&ac)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names.iter().all(|n| n.len() == 64), "{names:?}");
}

#[test]
fn two_clones_share_one_s3_bucket() {
    if let Some(server) = servers::s3() {
        two_clones_share(&server);
    }
}

#[test]
fn a_signing_reader_refuses_unsigned_and_tampered_entries() {
    if !servers::available("nginx") {
        return;
    }
    let server = servers::nginx_dav();
    let tmp = tempfile::tempdir().unwrap();
    let count = tmp.path().join("count");
    let n = 3;
    let url = ("CLNRM_REMOTE_CACHE", server.url.as_str());
    let key = ("CLNRM_CACHE_SIGNING_KEY", "ci-signing-key-1");

    // A fork without the key fills the remote: a signing reader takes none of it.
    let fork = clone_at(tmp.path(), "fork", n, &count, "");
    assert_eq!(code(&clnrm(&fork, &["run"], &[url])), 0);
    let reader = clone_at(tmp.path(), "reader", n, &count, "");
    let o = clnrm(&reader, &["run", "--format", "json"], &[url, key]);
    assert_eq!(summary(&o)["cached"], 0, "{}", stdout(&o));
    assert_eq!(runs_in(&count), 2 * n);
    let r = remote_stats(&reader, &[url, key]);
    assert_eq!(r["verify_failures"], n, "{r}");
    assert_eq!(r["signed"], true, "{r}");
    // Its own uploads replaced them, signed: a second signing clone takes them all.
    let ci = clone_at(tmp.path(), "ci", n, &count, "");
    let o = clnrm(&ci, &["run", "--format", "json"], &[url, key]);
    assert_eq!(summary(&o)["cached"], n, "{}", stdout(&o));

    // Tampered on the server: refused, run again.
    for e in std::fs::read_dir(server.dir().join("store/cache/ac")).unwrap() {
        let path = e.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        bytes = text.replacen("\"passed\"", "\"failed\"", 1).into_bytes();
        if bytes.len() as u64 == std::fs::metadata(&path).unwrap().len() && text.contains("passed")
        {
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let last = bytes.len() - 2;
            bytes[last] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
        }
    }
    let late = clone_at(tmp.path(), "late", n, &count, "");
    let before = runs_in(&count);
    let o = clnrm(&late, &["run", "--format", "json"], &[url, key]);
    assert_eq!(summary(&o)["cached"], 0, "{}", stdout(&o));
    assert_eq!(summary(&o)["passed"], n);
    assert_eq!(runs_in(&count), before + n);
    assert_eq!(remote_stats(&late, &[url, key])["verify_failures"], n);
}

#[test]
fn the_remote_killed_mid_run_costs_one_warning_and_no_failure() {
    if !servers::available("redis-server") {
        return;
    }
    let mut server = servers::redis(Some(PASSWORD));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    std::fs::create_dir_all(&root).unwrap();
    pin_local(&root, "");
    let mut text = String::from("[meta]\nname = \"t\"\nversion = \"1.0\"\n");
    for i in 0..8 {
        let run = if i == 2 {
            // Passes again once the server is gone (the later runs).
            format!("sh -c 'kill -9 {} || true'", server.pid())
        } else {
            "true".to_string()
        };
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"s{i}\"\nrun = \"{run}\"\n"
        ));
    }
    std::fs::write(root.join("t.clnrm.toml"), text).unwrap();
    let url = server.url.clone();
    let env = [("CLNRM_REMOTE_CACHE", url.as_str())];
    let o = clnrm(&root, &["run", "--jobs", "1", "--format", "json"], &env);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(summary(&o)["passed"], 8);
    assert_eq!(warnings(&o), 1, "{}", stderr(&o));
    no_secret_in(&o);
    // Down from the start now: every lookup is a miss, still one warning.
    server.kill();
    let o = clnrm(
        &root,
        &["run", "--refresh", "--jobs", "1", "--format", "json"],
        &env,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(warnings(&o), 1, "{}", stderr(&o));
    let clone = tmp.path().join("clone");
    std::fs::create_dir_all(&clone).unwrap();
    pin_local(&clone, "");
    std::fs::copy(root.join("t.clnrm.toml"), clone.join("t.clnrm.toml")).unwrap();
    let o = clnrm(&clone, &["run", "--jobs", "1", "--format", "json"], &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(summary(&o)["passed"], 8);
    assert_eq!(warnings(&o), 1, "{}", stderr(&o));
    no_secret_in(&o);
}

#[test]
fn a_remote_that_never_answers_costs_one_timeout() {
    let (_listener, url) = servers::silent_listener();
    let tmp = tempfile::tempdir().unwrap();
    let count = tmp.path().join("count");
    let n = 20;
    let root = clone_at(
        tmp.path(),
        "proj",
        n,
        &count,
        "[cache.remote]\nlookup_timeout_ms = 300\nupload_timeout_ms = 300\n",
    );
    let env = [("CLNRM_REMOTE_CACHE", url.as_str())];
    let o = clnrm(&root, &["run", "--jobs", "1", "--format", "json"], &env);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(summary(&o)["passed"], n);
    assert_eq!(warnings(&o), 1, "{}", stderr(&o));
    // The first lookups (made at once, 8 at a time) waited for the timeout together;
    // every later lookup and every upload skipped the remote.
    let r = remote_stats(&root, &env);
    let errors = r["errors"].as_u64().unwrap();
    assert!((1..=8).contains(&errors), "{r}");
    assert_eq!(r["misses"], n, "{r}");
    assert_eq!(r["uploads_dropped"], n, "{r}");
}

#[test]
fn a_read_only_reader_uploads_nothing() {
    if !servers::available("redis-server") {
        return;
    }
    let server = servers::redis(None);
    let tmp = tempfile::tempdir().unwrap();
    let count = tmp.path().join("count");
    let pr = clone_at(tmp.path(), "pr", 2, &count, "");
    let env = [
        ("CLNRM_REMOTE_CACHE", server.url.as_str()),
        ("CLNRM_REMOTE_CACHE_READ_ONLY", "1"),
    ];
    assert_eq!(code(&clnrm(&pr, &["run"], &env)), 0);
    let r = remote_stats(&pr, &env);
    assert_eq!(
        (r["uploads"].as_u64(), r["read_only"].as_bool()),
        (Some(0), Some(true)),
        "{r}"
    );
    // Nothing reached the remote: another clone runs everything.
    let other = clone_at(tmp.path(), "other", 2, &count, "");
    let o = clnrm(&other, &["run", "--format", "json"], &env[..1]);
    assert_eq!(summary(&o)["cached"], 0);
}

/// The editor reads the shared cache (a scenario CI proved is not run on save) and, unless
/// told otherwise, writes nothing to it; `clnrm/cacheStats` shows the remote, masked.
#[test]
fn the_editor_reads_the_remote_and_does_not_write_it() {
    use clnrm_lsp_e2e::lsp::LspClient;
    use clnrm_lsp_e2e::workspace::local_settings;
    use serde_json::json;

    if !servers::available("redis-server") {
        return;
    }
    let server = servers::redis(Some(PASSWORD));
    let tmp = tempfile::tempdir().unwrap();
    let count = tmp.path().join("count");
    let env = [("CLNRM_REMOTE_CACHE", server.url.as_str())];
    let ci = clone_at(tmp.path(), "ci", 1, &count, "");
    assert_eq!(code(&clnrm(&ci, &["run"], &env)), 0);
    assert_eq!(runs_in(&count), 1);

    let laptop = clone_at(tmp.path(), "laptop", 1, &count, "")
        .canonicalize()
        .unwrap();
    let mut c = LspClient::spawn_env(clnrm_lsp_bin(), "warn", &env);
    c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": format!("file://{}", laptop.display()),
            "capabilities": { "window": { "workDoneProgress": true } },
            "initializationOptions": local_settings(json!({})),
        }),
    );
    c.notify("initialized", json!({}));
    let uri = format!("file://{}/t.clnrm.toml", laptop.display());
    let text = std::fs::read_to_string(laptop.join("t.clnrm.toml")).unwrap();
    c.open(&uri, &text, 1);
    c.diagnostics_where(&uri, |_| true);
    let save = |c: &mut LspClient| {
        c.notify(
            "textDocument/didSave",
            json!({ "textDocument": { "uri": uri } }),
        );
        c.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
            .expect("the run ends")
    };
    save(&mut c);
    assert_eq!(runs_in(&count), 1, "the editor ran what CI had proved");

    // A new scenario runs, and its result stays on this machine.
    let changed = text.replace("echo 0", "echo changed");
    std::fs::write(laptop.join("t.clnrm.toml"), &changed).unwrap();
    c.change_full(&uri, &changed, 2);
    save(&mut c);
    assert_eq!(runs_in(&count), 2);
    let stats = c.request("clnrm/cacheStats", Value::Null);
    let remote = &stats["runs"]["results"][laptop.display().to_string()]["remote"];
    assert_eq!(remote["read_only"], true, "{stats}");
    assert!(remote["hits"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(remote["uploads"], 0, "{stats}");
    assert!(
        remote["url"].as_str().unwrap().contains("••••••"),
        "{stats}"
    );
    assert!(!stats.to_string().contains(PASSWORD), "{stats}");
    let stderr = c.stderr();
    assert!(c.shutdown());
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}
