//! `clnrm-lsp diff FILE --format html` loaded in a real headless browser (Debian's
//! `chromium`): no console errors, the script ran, one row per span with its marker, and a
//! screenshot kept under `<target>/browser-artifacts/` for a human to look at. Skipped
//! (with the reason printed) only when `chromium` is not installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clnrm_lsp_e2e::bin_path::{clnrm_lsp_bin, fixtures};
use clnrm_lsp_e2e::cli::{run_in_bounded, stderr, stdout};
use clnrm_lsp_e2e::workspace::pin_local;

fn chromium_present() -> bool {
    Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Headless chromium, isolated and offline, bounded by coreutils' `timeout`.
fn chromium(profile: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("180")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("start chromium")
}

/// `<target>/browser-artifacts/`: the target dir holds the profile dir holding the binary.
fn artifacts() -> PathBuf {
    let profile_dir = clnrm_lsp_bin().parent().expect("profile dir");
    let dir = profile_dir
        .parent()
        .unwrap_or(profile_dir)
        .join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A workspace whose `smoke` scenario differs from its baseline (every marker kind) and
/// whose `load test` scenario has a run but no baseline.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let traces = fixtures().join("traces");
    pin_local(root, "");
    std::fs::create_dir(root.join("tests")).unwrap();
    std::fs::copy(
        traces.join("smoke.clnrm.toml"),
        root.join("tests/smoke.clnrm.toml"),
    )
    .unwrap();
    let trace_dir = root.join(".clnrm/traces/tests/smoke.clnrm.toml");
    let base_dir = root.join(".clnrm/baselines/tests/smoke.clnrm.toml");
    std::fs::create_dir_all(&trace_dir).unwrap();
    std::fs::create_dir_all(&base_dir).unwrap();
    std::fs::copy(
        traces.join("current_changed.json"),
        trace_dir.join("smoke.json"),
    )
    .unwrap();
    std::fs::copy(traces.join("baseline.json"), base_dir.join("smoke.json")).unwrap();
    std::fs::copy(
        traces.join("baseline.json"),
        trace_dir.join("load%20test.json"),
    )
    .unwrap();
    dir
}

#[test]
fn diff_page_writes_one_self_contained_file() {
    let dir = workspace();
    let root = dir.path();
    let o = run_in_bounded(
        root,
        &[
            "diff",
            "tests/smoke.clnrm.toml",
            "--format",
            "html",
            "--output",
            "page.html",
        ],
        std::time::Duration::from_secs(60),
    );
    // A difference exists: exit 1, as in the other formats; nothing on stdout.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let page = std::fs::read_to_string(root.join("page.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for external in ["http://", "https://", "src=", "href="] {
        assert!(!page.contains(external), "{external} in the page");
    }
    assert!(page.contains("<section class=\"scenario differs\" data-scenario=\"smoke\">"));
    assert!(page.contains("<section class=\"scenario no-baseline\" data-scenario=\"load test\">"));
    assert!(page.contains("No baseline recorded yet (7 spans in the last run)"));

    // Without --output: the same page on stdout.
    let o = run_in_bounded(
        root,
        &["diff", "tests/smoke.clnrm.toml", "--format", "html"],
        std::time::Duration::from_secs(60),
    );
    assert_eq!(stdout(&o), page);
}

#[test]
fn diff_page_in_headless_chromium() {
    if !chromium_present() {
        eprintln!("SKIPPED diff_page_in_headless_chromium: `chromium` is not installed (apt-get install chromium)");
        return;
    }
    let dir = workspace();
    let root = dir.path();
    let page = root.join("page.html");
    let o = run_in_bounded(
        root,
        &[
            "diff",
            "tests/smoke.clnrm.toml",
            "--format",
            "html",
            "--output",
            "page.html",
        ],
        std::time::Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let url = format!("file://{}", page.display());
    let o = chromium(&root.join("profile"), &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed: {log}");
    // Any console message (errors, uncaught exceptions) is logged as `:CONSOLE`.
    assert!(
        !log.contains(":CONSOLE"),
        "console output while loading the page:\n{log}"
    );
    // The inline script ran to its end: it reveals the controls.
    assert!(dom.contains("<p class=\"controls\">"), "{dom}");
    // Nine spans in the `smoke` diff: 4 ✓, 2 ✏️, 2 ➕, 1 ❌; `load test` has none.
    assert_eq!(dom.matches("<details class=\"span").count(), 9, "{dom}");
    for (mark, n) in [("same", 4), ("changed", 2), ("extra", 2), ("missing", 1)] {
        assert_eq!(
            dom.matches(&format!("<details class=\"span {mark}"))
                .count(),
            n,
            "{mark}"
        );
        assert!(
            dom.matches(&format!("<span class=\"m {mark}\">")).count() > n,
            "{mark} markers (legend + rows)"
        );
    }
    // A bar on each side the span is on: ✓ and ✏️ both, ➕ current only, ❌ baseline only.
    assert_eq!(
        dom.matches("<span class=\"bar\"").count(),
        4 * 2 + 2 * 2 + 2 + 1
    );

    let shot = artifacts().join("trace-diff.png");
    let _ = std::fs::remove_file(&shot);
    let o = chromium(
        &root.join("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            &url,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG at {}", shot.display());
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn run_report_page_links_each_scenarios_diff_page() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    pin_local(root, "");
    std::fs::write(
        root.join("pass.clnrm.toml"),
        "[meta]\nname = \"p\"\nversion = \"1\"\n\n[[scenario]]\nname = \"ok\"\nrun = \"true\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("fail.clnrm.toml"),
        "[meta]\nname = \"f\"\nversion = \"1\"\n\n[[scenario]]\nname = \"counts\"\nrun = \"true\"\n\n[expect.counts]\nspans_total = { gte = 50 }\n",
    )
    .unwrap();
    let o = run_in_bounded(
        root,
        &["run", ".", "--format", "html", "--output", "report"],
        std::time::Duration::from_secs(120),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let index = std::fs::read_to_string(root.join("report/index.html")).unwrap();
    assert!(index.contains("2 scenarios: 1 passed, 1 failed"), "{index}");
    assert_eq!(index.matches("<tr class=\"scenario passed\">").count(), 1);
    assert_eq!(index.matches("<tr class=\"scenario failed\">").count(), 1);
    assert!(
        index.contains("expected at least 50") || index.contains("50"),
        "{index}"
    );
    assert!(
        !index.contains("http://") && !index.contains("https://"),
        "self-contained"
    );
    let links: Vec<&str> = index
        .split("<a href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(links.len(), 2, "{index}");
    for l in &links {
        let page = std::fs::read_to_string(root.join("report").join(l)).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"), "{l}");
        assert!(page.contains("data-scenario=\""), "{l}");
    }

    // Without --output: the page on stdout, without links.
    let o = run_in_bounded(
        root,
        &["run", ".", "--format", "html"],
        std::time::Duration::from_secs(120),
    );
    assert!(stdout(&o).contains("<tr class=\"scenario failed\">"));
    assert!(!stdout(&o).contains("<a href"));

    if !chromium_present() {
        eprintln!("SKIPPED the browser half of run_report_page_links_each_scenarios_diff_page: `chromium` is not installed");
        return;
    }
    let url = format!("file://{}", root.join("report/index.html").display());
    let o = chromium(&root.join("profile"), &["--dump-dom", &url]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(!log.contains(":CONSOLE"), "{log}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("<tr class=\"scenario ")
            .count(),
        2
    );
    let shot = artifacts().join("run-report.png");
    let o = chromium(
        &root.join("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,700",
            &url,
        ],
    );
    assert!(o.status.success());
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
}
