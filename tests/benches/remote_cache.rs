//! The shared result cache in CI: 1,000 scenarios (`sleep 0.05` each, 10 files of 100)
//! split into 4 shards, against each real server started here (redis-server, nginx with
//! WebDAV as a Bazel HTTP cache, moto's S3 server). Cold: four fresh checkouts run their shard against an
//! empty remote. Warm: four more checkouts, at other paths, run the same shards again.
//! Prints, per server: each shard's wall time cold and warm, the warm hit rate, the
//! warm/cold ratio, and the mean remote lookup latency per entry (as `cache stats` shows
//! it). Every shard is a fresh checkout, as on CI machines (see README "Shared cache").
//!
//!   cargo bench -p clnrm-lsp-e2e --bench remote_cache
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use clnrm_lsp_e2e::bin_path::clnrm_lsp_bin;
use clnrm_lsp_e2e::servers::{self, Server};
use clnrm_lsp_e2e::workspace::pin_local;
use serde_json::Value;

const FILES: usize = 10;
const PER_FILE: usize = 100;
const SHARDS: usize = 4;

fn clnrm(cwd: &Path, args: &[&str], url: &str) -> Output {
    Command::new(clnrm_lsp_bin())
        .args(args)
        .current_dir(cwd)
        .env("CLNRM_REMOTE_CACHE", url)
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env_remove("CLNRM_CACHE_SIGNING_KEY")
        .env_remove("CLNRM_REMOTE_CACHE_READ_ONLY")
        .output()
        .unwrap()
}

fn checkout(at: &Path) -> PathBuf {
    std::fs::create_dir_all(at).unwrap();
    pin_local(at, "");
    for f in 0..FILES {
        let mut text = format!("[meta]\nname = \"suite {f}\"\nversion = \"1.0\"\n");
        for s in 0..PER_FILE {
            text.push_str(&format!(
                "\n[[scenario]]\nname = \"f{f}s{s}\"\nrun = \"sleep 0.05\"\n"
            ));
        }
        std::fs::write(at.join(format!("suite{f}.clnrm.toml")), text).unwrap();
    }
    at.to_path_buf()
}

struct ShardRun {
    wall_s: f64,
    scenarios: u64,
    cached: u64,
    json: PathBuf,
    mean_lookup_us: f64,
}

fn run_shard(root: &Path, index: usize, url: &str) -> ShardRun {
    let shard = format!("{index}/{SHARDS}");
    let started = Instant::now();
    let o = clnrm(root, &["run", "--shard", &shard, "--format", "json"], url);
    let wall_s = started.elapsed().as_secs_f64();
    assert!(
        o.status.code() == Some(0),
        "shard {shard}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json = root.join(format!("shard-{index}.json"));
    std::fs::write(&json, &o.stdout).unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let stats = clnrm(root, &["cache", "stats", "--format", "json"], url);
    let s: Value = serde_json::from_slice(&stats.stdout).unwrap();
    ShardRun {
        wall_s,
        scenarios: v["summary"]["scenarios"].as_u64().unwrap(),
        cached: v["summary"]["cached"].as_u64().unwrap(),
        json,
        mean_lookup_us: s["remote"]["mean_lookup_micros"].as_f64().unwrap_or(0.0),
    }
}

fn merged_total(root: &Path, runs: &[ShardRun], url: &str) -> u64 {
    let mut args = vec!["report", "merge"];
    let paths: Vec<String> = runs.iter().map(|r| r.json.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let o = clnrm(root, &args, url);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["summary"]["scenarios"].as_u64().unwrap()
}

fn bench(name: &str, server: &Server) {
    let tmp = tempfile::tempdir().unwrap();
    let cold: Vec<ShardRun> = (1..=SHARDS)
        .map(|i| {
            let root = checkout(&tmp.path().join(format!("ci-cold-{i}/proj")));
            run_shard(&root, i, &server.url)
        })
        .collect();
    let warm: Vec<ShardRun> = (1..=SHARDS)
        .map(|i| {
            let root = checkout(&tmp.path().join(format!("elsewhere/warm-{i}/checkout")));
            run_shard(&root, i, &server.url)
        })
        .collect();
    let total = |rs: &[ShardRun]| rs.iter().map(|r| r.scenarios).sum::<u64>();
    assert_eq!(total(&cold), (FILES * PER_FILE) as u64);
    assert_eq!(merged_total(tmp.path(), &cold, &server.url), total(&cold));
    assert_eq!(merged_total(tmp.path(), &warm, &server.url), total(&warm));
    let hits: u64 = warm.iter().map(|r| r.cached).sum();
    let cold_cached: u64 = cold.iter().map(|r| r.cached).sum();
    println!("\n{name}: {} scenarios in {SHARDS} shards", total(&cold));
    println!("| shard | cold wall | warm wall | warm hits | warm/cold |");
    println!("|---|---|---|---|---|");
    for (i, (c, w)) in cold.iter().zip(&warm).enumerate() {
        println!(
            "| {}/{SHARDS} | {:.2} s | {:.3} s | {}/{} | {:.1}× faster |",
            i + 1,
            c.wall_s,
            w.wall_s,
            w.cached,
            w.scenarios,
            c.wall_s / w.wall_s
        );
    }
    let max = |rs: &[ShardRun]| rs.iter().map(|r| r.wall_s).fold(0.0, f64::max);
    let lookup = warm.iter().map(|r| r.mean_lookup_us).sum::<f64>() / warm.len() as f64;
    println!(
        "cold hits {cold_cached}; warm hit rate {:.1} %; slowest shard cold {:.2} s, warm {:.3} s \
         ({:.1}× faster); mean remote lookup {:.0} µs per entry",
        100.0 * hits as f64 / total(&warm) as f64,
        max(&cold),
        max(&warm),
        max(&cold) / max(&warm),
        lookup
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list; there is nothing to test
    }
    if servers::available("redis-server") {
        bench("redis", &servers::redis(None));
    }
    if servers::available("nginx") {
        bench("nginx (WebDAV, Bazel HTTP protocol)", &servers::nginx_dav());
    }
    if let Some(s3) = servers::s3() {
        bench("S3 (moto_server)", &s3);
    }
}
