//! Hostile workspaces, driven through the built binary: links out of the workspace,
//! `/dev/zero`, FIFOs, secrets in the environment, terminal escapes in source lines.
//! Every run is bounded: a hang is a failure, never a stuck test run.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use clnrm_lsp_e2e::cli::{run_in_bounded, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(60);

fn run(cwd: &Path, args: &[&str]) -> Output {
    run_in_bounded(cwd, args, LIMIT)
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

/// `<tmp>/ws` (a workspace: it has `.git`) and `<tmp>/outside/secret.tera`.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ws/.git")).unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::write(
        dir.path().join("outside/secret.tera"),
        "description = \"TOP-SECRET-OUTSIDE\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn includes_through_links_out_of_the_workspace_or_to_special_files_are_not_read() {
    let dir = workspace();
    let ws = dir.path().join("ws");
    std::os::unix::fs::symlink("../outside/secret.tera", ws.join("escape.tera")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", ws.join("zero.tera")).unwrap();
    mkfifo(&ws.join("fifo.tera"));
    std::fs::write(ws.join("inside.tera"), "description = \"fine\"\n").unwrap();
    std::os::unix::fs::symlink("inside.tera", ws.join("link.tera")).unwrap();
    for (name, why) in [
        ("escape.tera", "resolves outside the workspace ("),
        ("zero.tera", "resolves outside the workspace (/dev/zero)"),
        ("fifo.tera", "is a FIFO, not a regular file"),
    ] {
        std::fs::write(
            ws.join("t.clnrm.toml.tera"),
            format!("[meta]\nname = \"t\"\n{{% include \"{name}\" %}}\n"),
        )
        .unwrap();
        let o = run(&ws, &["render", "t.clnrm.toml.tera"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        assert!(!stdout(&o).contains("TOP-SECRET"), "{name}: {}", stdout(&o));
        assert!(
            stderr(&o).contains(&format!(
                "error[template-not-found]: template `{name}` {why}"
            )),
            "{name}: {}",
            stderr(&o)
        );
        let o = run(&ws, &["check", "."]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        assert!(stdout(&o).contains("template-not-found"), "{}", stdout(&o));
    }
    // A link that stays inside the workspace is followed.
    std::fs::write(
        ws.join("t.clnrm.toml.tera"),
        "[meta]\nname = \"t\"\n{% include \"link.tera\" %}\n",
    )
    .unwrap();
    let o = run(&ws, &["render", "t.clnrm.toml.tera"]);
    assert!(
        stdout(&o).contains("description = \"fine\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn special_test_files_are_errors_and_a_walk_skips_them() {
    let dir = workspace();
    let ws = dir.path().join("ws");
    std::os::unix::fs::symlink("/dev/zero", ws.join("zero.clnrm.toml")).unwrap();
    mkfifo(&ws.join("fifo.clnrm.toml"));
    std::os::unix::fs::symlink("../outside/secret.tera", ws.join("escape.clnrm.toml")).unwrap();
    std::fs::write(ws.join("ok.clnrm.toml"), "[meta]\nname = \"ok\"\n").unwrap();
    for (file, why) in [
        (
            "zero.clnrm.toml",
            "is a character device, not a regular file",
        ),
        ("fifo.clnrm.toml", "is a FIFO, not a regular file"),
    ] {
        for cmd in ["check", "render"] {
            let o = run(&ws, &[cmd, file]);
            assert_eq!(o.status.code(), Some(2), "{cmd} {file}");
            assert!(
                stderr(&o).contains(&format!("{file}: {why}")),
                "{cmd} {file}: {}",
                stderr(&o)
            );
        }
    }
    // The walk follows no link and opens no FIFO: only the real file is checked.
    let o = run(&ws, &["check", "."]);
    assert!(
        stdout(&o).ends_with("in 1 file\n"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(!stdout(&o).contains("TOP-SECRET"));
}

#[test]
fn special_workspace_config_is_an_error_not_a_hang() {
    let dir = workspace();
    let ws = dir.path().join("ws");
    std::fs::create_dir(ws.join(".clnrm")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", ws.join(".clnrm/config.toml")).unwrap();
    mkfifo(&ws.join("cleanroom.toml"));
    std::fs::write(ws.join("ok.clnrm.toml"), "[meta]\nname = \"ok\"\n").unwrap();
    let o = run(&ws, &["check", "ok.clnrm.toml"]);
    assert!(o.status.code().is_some(), "{}", stderr(&o));
}

const TOKEN: &str = "sekret-tok-9876";

/// A test whose unknown plugin, undefined service and wrongly typed value all come from
/// `CLNRM_RT_API_TOKEN`.
const LEAKY: &str = r#"[meta]
name = "t"
version = "1"
[services.db]
plugin = "{{ env(name="CLNRM_RT_API_TOKEN") }}"
image = "alpine"
[[scenario]]
name = "s"
service = "{{ env(name="CLNRM_RT_API_TOKEN") }}"
run = "echo"
timeout_ms = "{{ env(name="CLNRM_RT_API_TOKEN") }}"
"#;

fn run_with_token(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(clnrm_lsp_e2e::bin_path::clnrm_lsp_bin())
        .args(args)
        .current_dir(cwd)
        .env("CLNRM_RT_API_TOKEN", TOKEN)
        .output()
        .unwrap();
    out
}

#[test]
fn secret_values_never_appear_in_any_output_format() {
    let dir = workspace();
    let ws = dir.path().join("ws");
    std::fs::write(ws.join("t.clnrm.toml.tera"), LEAKY).unwrap();
    for format in ["human", "json", "sarif", "github"] {
        let o = run_with_token(&ws, &["check", "t.clnrm.toml.tera", "--format", format]);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(o.status.code(), Some(1), "{format}: {all}");
        for code in ["unknown-plugin", "undefined-service", "invalid-type"] {
            assert!(all.contains(code), "{format} lacks {code}: {all}");
        }
        assert!(!all.contains(TOKEN), "{format} prints the secret: {all}");
        assert!(all.contains("••••••"), "{format}: {all}");
    }
    // `render` of a file that does not render: its diagnostics go to stderr, masked.
    std::fs::write(
        ws.join("bad.clnrm.toml.tera"),
        "[meta]\nname = \"{{ env(name=\"CLNRM_RT_API_TOKEN\") }}\"\n{{ nope }}\n",
    )
    .unwrap();
    let o = run_with_token(&ws, &["render", "bad.clnrm.toml.tera"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains(TOKEN), "{}", stderr(&o));
    // `render` of a file that renders: masked unless asked for.
    std::fs::write(
        ws.join("ok.clnrm.toml.tera"),
        "[meta]\nname = \"{{ env(name=\"CLNRM_RT_API_TOKEN\") }}\"\n",
    )
    .unwrap();
    let o = run_with_token(&ws, &["render", "ok.clnrm.toml.tera"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("name = \"••••••\""), "{}", stdout(&o));
    let o = run_with_token(&ws, &["render", "ok.clnrm.toml.tera", "--show-secrets"]);
    assert!(stdout(&o).contains(TOKEN), "{}", stdout(&o));

    // The language server's published diagnostics.
    let mut c = clnrm_lsp_e2e::lsp::LspClient::spawn_env(
        clnrm_lsp_e2e::bin_path::clnrm_lsp_bin(),
        "info",
        &[("CLNRM_RT_API_TOKEN", TOKEN)],
    );
    let root_uri = format!("file://{}", ws.display());
    c.request(
        "initialize",
        serde_json::json!({ "processId": null, "rootUri": root_uri, "capabilities": {} }),
    );
    c.notify("initialized", serde_json::json!({}));
    let uri = format!("{root_uri}/t.clnrm.toml.tera");
    c.open(&uri, LEAKY, 1);
    let published = c.diagnostics_where(&uri, |p| {
        p["diagnostics"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["code"] == "undefined-service"))
    });
    let text = published.to_string();
    assert!(
        text.contains("unknown-plugin") && text.contains("invalid-type"),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
    c.shutdown();
}

#[test]
fn terminal_escapes_in_source_lines_are_shown_not_sent() {
    let dir = workspace();
    let ws = dir.path().join("ws");
    std::fs::write(
        ws.join("t.clnrm.toml"),
        "[meta]\nname = \"t\"\nversion = \"1\"\nbogus\x1b]0;pwned\x07 = \"\x1b[2J\x1b[31mred\"\n",
    )
    .unwrap();
    let o = run(&ws, &["check", "t.clnrm.toml", "--color", "never"]);
    let text = stdout(&o);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(
        text.contains(r#"bogus\u{1b}]0;pwned\u{7} = "\u{1b}[2J\u{1b}[31mred""#),
        "{text}"
    );
}

#[test]
fn run_output_shows_escapes_in_scenario_names_and_strips_them_from_command_output() {
    let dir = workspace();
    let ws = dir.path().join("ws");
    std::fs::create_dir(ws.join(".clnrm")).unwrap();
    std::fs::write(
        ws.join(".clnrm/config.toml"),
        "[executor]\nbackend = \"local\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("t.clnrm.toml"),
        "[meta]\nname = \"t\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"s\\u001b]0;pwned\\u0007\"\nrun = \"sh -c 'printf \\\"\\\\033[2Jboom\\\" >&2; exit 3'\"\n",
    )
    .unwrap();
    let o = run(&ws, &["run", "t.clnrm.toml", "--color", "never"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}{}", stderr(&o));
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(text.contains(r"› s\u{1b}]0;pwned\u{7}  failed"), "{text}");
}
