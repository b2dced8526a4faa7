//! `check DIR` checks the workspace's own `.clnrm/config.toml` when DIR is its root:
//! values outside their bounds are warnings at the value, an unusable file an error.

use clnrm_lsp_e2e::cli::{code, run_in, stderr, stdout};

fn workspace(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".clnrm")).unwrap();
    std::fs::write(dir.path().join(".clnrm/config.toml"), config).unwrap();
    std::fs::write(
        dir.path().join("ok.clnrm.toml"),
        "[meta]\nname = \"ok\"\nversion = \"1\"\n\n[[scenario]]\nname = \"s\"\nrun = \"true\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn check_reports_configuration_values_out_of_bounds_where_they_are() {
    let ws = workspace("[executor]\njobs = 2000\n");
    let o = run_in(ws.path(), &["check", ".", "--color", "never"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "warnings only: {out}{}", stderr(&o));
    assert!(out.contains(".clnrm/config.toml:2:8"), "{out}");
    assert!(out.contains("config-out-of-range"), "{out}");
    assert!(out.contains("in 2 files"), "{out}");

    let ws = workspace("[executor]\njobs = \"many\"\n");
    let o = run_in(ws.path(), &["check", ".", "--color", "never"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("config-invalid"), "{}", stdout(&o));
}
