//! `clnrm-lsp cache` driven as a user would: the built binary on a real workspace directory.

use std::path::Path;
use std::process::Output;

use clnrm_lsp_e2e::cli::{run_in, stdout};

fn cache(args: &[&str], cwd: &Path) -> Output {
    let mut all = vec!["cache"];
    all.extend_from_slice(args);
    run_in(cwd, &all)
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

#[test]
fn stats_verify_and_clear_on_a_workspace() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join(".clnrm")).unwrap();

    // Empty workspace: found from the cwd, nothing cached.
    let o = cache(&["stats", "--format", "json"], ws.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["entries"], 0);
    assert_eq!(v["bytes"], 0);

    // A truncated entry planted where the cache keeps results.
    let hex = "ab".repeat(32);
    let shard = ws.path().join(".clnrm/cache/results/ab");
    std::fs::create_dir_all(&shard).unwrap();
    let planted = shard.join(format!("{hex}.json"));
    std::fs::write(&planted, br#"{"format":1,"engine":"#).unwrap();

    let o = cache(&["verify"], ws.path());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(text.contains(&format!("{hex}.json: corrupt")), "{text}");
    assert!(text.ends_with(": 0 ok, 1 corrupt\n"), "{text}");

    let o = cache(&["stats", "--root"], ws.path());
    assert_eq!(o.status.code(), Some(2), "--root needs a value");

    let root = ws.path().to_str().unwrap();
    let o = cache(
        &["--root", root, "stats", "--format", "json"],
        Path::new("/"),
    );
    assert_eq!(json(&o)["entries"], 1);

    let o = cache(&["clear"], ws.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("removed 1 entries"), "{}", stdout(&o));
    assert!(!planted.exists());

    let o = cache(&["verify", "--format", "json"], ws.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(json(&o)["report"]["ok"], 0);
    let o = cache(&["stats", "--format", "json"], ws.path());
    assert_eq!(json(&o)["entries"], 0);
}
