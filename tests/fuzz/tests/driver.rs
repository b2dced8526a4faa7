//! The driver catches every way a child can die, and keeps going after each.

use std::process::Command;

#[test]
fn panics_aborts_overflows_hangs_and_oom_are_crashes() {
    let root = tempfile_dir();
    let dir = root.join("regressions/selftest");
    std::fs::create_dir_all(&dir).unwrap();
    for case in ["panic", "abort", "overflow", "hang", "oom", "fine"] {
        std::fs::write(dir.join(case), case).unwrap();
    }
    let o = Command::new(env!("CARGO_BIN_EXE_clnrm-fuzz"))
        .args([
            "replay",
            "selftest",
            "--timeout-ms",
            "1500",
            "--memory-mb",
            "512",
            "--root",
        ])
        .arg(&root)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("replayed 6 regression cases, 5 crashed"),
        "{out}{err}"
    );
    for case in ["panic", "abort", "overflow", "hang", "oom"] {
        assert!(
            err.contains(&format!("selftest/{case} crashes again")),
            "{case}: {err}"
        );
    }
    assert!(err.contains("hang"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("clnrm-fuzz-driver-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
