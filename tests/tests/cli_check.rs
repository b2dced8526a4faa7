//! `clnrm-lsp check` and `render` as a user runs them: the built binary, real files,
//! exit codes, and every output format.

use std::path::PathBuf;
use std::process::Output;

use clnrm_lsp_e2e::bin_path::workspace_root;
use clnrm_lsp_e2e::cli::{code, run_in, stderr, stdout};

fn fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures")
}

/// The snapshot fixture: a TOML syntax error after multi-byte characters, an unclosed
/// array in a `.tera` file, a Latin-1 byte, and one clean file.
fn check_errors(format: &str) -> Output {
    run_in(
        &fixtures().join("cli"),
        &["check", "errors", "--format", format, "--color", "never"],
    )
}

#[test]
fn valid_files_exit_zero() {
    for name in ["v1-scenario.clnrm.toml", "legacy-steps.clnrm.toml"] {
        let o = run_in(&fixtures().join("valid"), &["check", name]);
        assert_eq!(code(&o), 0, "{name}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(stdout(&o), "0 errors, 0 warnings in 1 file\n");
    }
}

#[test]
fn errors_exit_one_in_every_format() {
    for format in ["human", "json", "sarif", "github"] {
        let o = check_errors(format);
        assert_eq!(code(&o), 1, "{format}: {}", stderr(&o));
        assert!(
            stderr(&o).is_empty(),
            "{format} wrote to stderr: {}",
            stderr(&o)
        );
    }
}

#[test]
fn human_snapshot() {
    let o = check_errors("human");
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "no colour when piped");
    insta::assert_snapshot!("check_human", out);
}

#[test]
fn json_snapshot_and_positions() {
    let o = check_errors("json");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    // The error sits after "naïve ☕" and a tab: column counts characters, offset bytes.
    let broken = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "errors/broken.clnrm.toml")
        .expect("broken.clnrm.toml reported");
    assert_eq!(broken["range"]["start"]["line"], 6);
    assert_eq!(broken["range"]["start"]["column"], 18);
    let text = std::fs::read_to_string(fixtures().join("cli/errors/broken.clnrm.toml")).unwrap();
    assert_eq!(
        broken["range"]["start"]["offset"],
        text.find("run = ").unwrap()
    );
    assert_eq!(v["summary"]["files"], 4);
    insta::assert_json_snapshot!("check_json", v);
}

#[test]
fn sarif_snapshot_and_schema() {
    let o = check_errors("sarif");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("sarif-2.1.0-subset.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not match the schema: {errors:#?}"
    );
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap().clone();
    // Every result's ruleIndex points at its rule.
    for r in run["results"].as_array().unwrap() {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    // Rules come from the code table, so the tool's version string is the only moving part.
    let mut v = v;
    v["runs"][0]["tool"]["driver"]["version"] = "[version]".into();
    v["runs"][0]["tool"]["driver"]["rules"] = format!("[{} rules]", rules.len()).into();
    insta::assert_json_snapshot!("check_sarif", v);
}

#[test]
fn github_snapshot() {
    let o = check_errors("github");
    let out = stdout(&o);
    for line in out.lines() {
        assert!(line.starts_with("::error file=") || line.starts_with("::warning file="));
    }
    insta::assert_snapshot!("check_github", out);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let o = run_in(
        &fixtures().join("cli"),
        &["check", "errors", "--color", "always"],
    );
    assert!(stdout(&o).contains("\x1b["));
    let o = run_in(&fixtures().join("cli"), &["check", "errors"]);
    assert!(!stdout(&o).contains('\x1b'));
}

#[test]
fn gitignore_and_hidden_directories_are_respected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("ignored")).unwrap();
    std::fs::create_dir_all(d.join(".hidden")).unwrap();
    std::fs::create_dir_all(d.join("tests")).unwrap();
    let bad = "a = = 1\n";
    std::fs::write(d.join("ignored/bad.clnrm.toml"), bad).unwrap();
    std::fs::write(d.join(".hidden/bad.clnrm.toml"), bad).unwrap();
    std::fs::write(d.join("tests/Cargo.toml"), bad).unwrap();
    std::fs::write(d.join("tests/lib.toml.tera"), bad).unwrap();
    std::fs::copy(
        fixtures().join("valid/v1-scenario.clnrm.toml"),
        d.join("tests/ok.clnrm.toml"),
    )
    .unwrap();
    std::fs::write(d.join(".gitignore"), "ignored/\n").unwrap();

    let o = run_in(d, &["check"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(stdout(&o), "0 errors, 0 warnings in 1 file\n");

    // Without the ignore rule the file is found and fails.
    std::fs::remove_file(d.join(".gitignore")).unwrap();
    let o = run_in(d, &["check", "--format", "github"]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("::error file=ignored/bad.clnrm.toml,"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_global_git_excludes_are_respected_where_git_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ws, home, xdg) = (d.join("ws"), d.join("home"), d.join("xdg"));
    let bad = "a = = 1\n";
    for sub in ["by-default", "by-config", "kept"] {
        std::fs::create_dir_all(ws.join(sub)).unwrap();
        std::fs::write(ws.join(sub).join("bad.clnrm.toml"), bad).unwrap();
    }
    std::fs::create_dir_all(home.join(".config/git")).unwrap();
    std::fs::create_dir_all(xdg.join("git")).unwrap();
    // git's default place for the global excludes, and one a config names instead.
    std::fs::write(xdg.join("git/ignore"), "by-default/\n").unwrap();
    std::fs::write(d.join("named-ignore"), "by-config/\n").unwrap();
    let checked = |config: Option<&str>| {
        let global = d.join("gitconfig");
        match config {
            Some(text) => std::fs::write(&global, text).unwrap(),
            None => drop(std::fs::remove_file(&global)),
        }
        let o = std::process::Command::new(clnrm_lsp_e2e::bin_path::clnrm_lsp_bin())
            .args(["check", "--format", "github"])
            .current_dir(&ws)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &xdg)
            .env("GIT_CONFIG_GLOBAL", &global)
            .env("GIT_CONFIG_SYSTEM", d.join("no-system-config"))
            .output()
            .unwrap();
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        let mut files: Vec<String> = stdout(&o)
            .lines()
            .filter_map(|l| {
                l.strip_prefix("::error file=")?
                    .split('/')
                    .next()
                    .map(String::from)
            })
            .collect();
        files.dedup();
        files
    };
    assert_eq!(checked(None), ["by-config", "kept"]);
    assert_eq!(
        checked(Some("[user]\n\tname = x\n")),
        ["by-config", "kept"],
        "a config that names no excludes file leaves git's default"
    );
    let named = format!(
        "[core]\n\texcludesFile = {}\n",
        d.join("named-ignore").display()
    );
    assert_eq!(checked(Some(&named)), ["by-default", "kept"]);
}

#[test]
fn invalid_utf8_is_an_error_at_the_first_bad_byte() {
    let o = run_in(
        &fixtures().join("cli/errors"),
        &["check", "latin1.clnrm.toml", "--format", "json"],
    );
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "invalid-encoding");
    assert_eq!(d["range"]["start"]["line"], 1);
    assert_eq!(d["range"]["start"]["column"], 6);
    assert_eq!(d["range"]["start"]["offset"], 5);
}

#[test]
fn an_explicit_file_is_checked_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "[meta\n").unwrap();
    let o = run_in(dir.path(), &["check", "notes.txt", "--format", "github"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("::error file=notes.txt,line=1,"),
        "{}",
        stdout(&o)
    );
    // ...while a directory walk does not pick it up.
    let o = run_in(dir.path(), &["check", "."]);
    assert_eq!(code(&o), 0);
}

#[test]
fn a_library_mistake_is_shown_on_the_library_naming_its_importers() {
    let dir = workspace_root().join("server/tests/fixtures/libraries");
    // Named alone: its importers are found in its workspace.
    let o = run_in(&dir, &["check", "_services.toml.tera", "--color", "never"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("_services.toml.tera:5:9: error[invalid-type]:"),
        "{out}"
    );
    assert!(
        out.contains(
            "= note: orders.clnrm.toml.tera:6:1: `orders.clnrm.toml.tera` renders it here"
        ),
        "{out}"
    );
    assert!(out.ends_with("1 error, 0 warnings in 1 file\n"), "{out}");
    // A walk: once, after the tests, in json too.
    let o = run_in(&dir, &["check", ".", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let on_lib: Vec<_> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["path"] == "_services.toml.tera")
        .collect();
    assert_eq!(on_lib.len(), 1, "{doc}");
    assert_eq!(on_lib[0]["related"][0]["path"], "orders.clnrm.toml.tera");
}

#[test]
fn a_missing_path_is_an_io_error() {
    let o = run_in(
        &fixtures(),
        &[
            "check",
            "valid/v1-scenario.clnrm.toml",
            "no/such/dir",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
    // stdout still holds only the machine-readable result.
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    assert_eq!(v["summary"]["errors"], 0);
}

#[test]
fn usage_errors_exit_two() {
    let o = run_in(&fixtures(), &["check", "--format", "xml"]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).is_empty());
    let o = run_in(&fixtures(), &["check", "--no-such-flag"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn output_is_deterministic_and_sorted() {
    let a = stdout(&check_errors("github"));
    let b = stdout(&check_errors("github"));
    assert_eq!(a, b);
    let paths: Vec<&str> = a.lines().map(|l| l.split(',').next().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn bundled_plain_examples_are_clean() {
    // The `.tera` example needs the template stage; the README runs the whole directory.
    let dir = fixtures().join("examples");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".clnrm.toml") {
            let o = run_in(&dir, &["check", path.to_str().unwrap()]);
            assert_eq!(code(&o), 0, "{}: {}", path.display(), stdout(&o));
        }
    }
}

#[test]
fn render_prints_plain_toml_unchanged() {
    let file = fixtures().join("valid/v1-scenario.clnrm.toml");
    let o = run_in(&fixtures(), &["render", file.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), std::fs::read_to_string(&file).unwrap());
}

#[test]
fn render_of_a_missing_file_is_an_io_error() {
    let o = run_in(&fixtures(), &["render", "missing.clnrm.toml"]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).is_empty());
    let o = run_in(&fixtures(), &["render", "x", "--var", "no-equals-sign"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn clicolor_force_colours_a_pipe_and_no_color_wins() {
    let file = clnrm_lsp_e2e::bin_path::fixtures().join("invalid/unknown-key.clnrm.toml");
    let check = |env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(clnrm_lsp_e2e::bin_path::clnrm_lsp_bin());
        cmd.arg("check").arg(&file);
        cmd.env_remove("CLICOLOR_FORCE")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    // stdout is a pipe here: no colour unless forced.
    assert!(!check(&[]).contains("\x1b["));
    assert!(check(&[("CLICOLOR_FORCE", "1")]).contains("\x1b["));
    assert!(!check(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains("\x1b["));
}
