//! `clnrm-lsp cache stats|clear|prune|verify`: inspect and maintain the run-result cache.
//!
//! Exit codes: 0 ok, 1 verify found corrupt entries, 2 I/O or configuration error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cache::results::{default_dir, ResultCache};
use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CacheFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
    /// Workspace root (default: found from the current directory).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, global = true, default_value_t = CacheFormat::Human)]
    pub format: CacheFormat,
}

#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum CacheAction {
    /// Entries and size on disk.
    Stats,
    /// Remove every cached result.
    Clear,
    /// Remove results older than `[cache] max_age_days`, then the oldest beyond `max_bytes`.
    Prune,
    /// Check every entry; exit 1 if any is corrupt.
    Verify {
        /// Delete the corrupt entries found.
        #[arg(long)]
        delete: bool,
    },
}

/// The remote tier's line of `cache stats` (none when no remote was configured or used).
fn remote_line(r: &crate::cache::RemoteStats) -> String {
    let used = r.hits + r.misses + r.uploads + r.errors > 0;
    let Some(url) = r.url.as_deref().or(used.then_some("(not configured here)")) else {
        return String::new();
    };
    let mode = match (r.read_only, r.signed) {
        (true, true) => "read-only, signed",
        (true, false) => "read-only",
        (false, true) => "read-write, signed",
        (false, false) => "read-write",
    };
    format!(
        "remote {url} ({mode}): {} hits, {} misses, {} refused by verification, {} errors; \
         {} bytes down, {} bytes up ({} uploads, {} dropped); mean lookup {:.0} µs\n",
        r.hits,
        r.misses,
        r.verify_failures,
        r.errors,
        r.bytes_down,
        r.bytes_up,
        r.uploads,
        r.uploads_dropped,
        r.mean_lookup_micros
    )
}

pub fn run(args: CacheArgs) -> ExitCode {
    let root = match args.root {
        Some(r) => r,
        None => match std::env::current_dir() {
            Ok(cwd) => crate::workspace::find_root(&cwd),
            Err(e) => {
                eprintln!("clnrm-lsp: cannot read the current directory: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let loaded = Config::load(&root);
    for e in &loaded.errors {
        eprintln!("clnrm-lsp: {}: {}", e.path.display(), e.message);
    }
    let config = loaded.config;
    let dir = default_dir(&root, &config);
    // The CLI does not know the run-result type: JSON values verify the envelope and key.
    let cache = ResultCache::<serde_json::Value>::new(&dir, 1).with_configured_remote(&config);
    let json = args.format == CacheFormat::Json;
    let dir_s = dir.display().to_string();

    let (text, code) = match args.action {
        CacheAction::Stats => match cache.stats() {
            Ok(s) => {
                let text = if json {
                    let mut v = serde_json::to_value(s).unwrap_or_default();
                    v["dir"] = serde_json::Value::String(dir_s);
                    format!("{v}\n")
                } else {
                    format!(
                        "{dir_s}: {} entries, {} bytes\n\
                         lookups: {} hits ({} from memory, {} from disk), {} misses, {} corrupt\n\
                         mean restore {:.0} µs; {} runs, mean run {:.0} ms\n",
                        s.entries,
                        s.bytes,
                        s.hits,
                        s.memory_hits,
                        s.disk_hits,
                        s.misses,
                        s.corrupt,
                        s.mean_restore_micros,
                        s.runs,
                        s.mean_run_ms
                    ) + &remote_line(&s.remote)
                };
                (text, ExitCode::SUCCESS)
            }
            Err(e) => return io_error(&dir_s, &e),
        },
        CacheAction::Clear => match cache.clear() {
            Ok(n) => {
                let text = if json {
                    format!("{}\n", serde_json::json!({"dir": dir_s, "removed": n}))
                } else {
                    format!("{dir_s}: removed {n} entries\n")
                };
                (text, ExitCode::SUCCESS)
            }
            Err(e) => return io_error(&dir_s, &e),
        },
        CacheAction::Prune => {
            let age = Duration::from_secs(config.cache.max_age_days.saturating_mul(86_400));
            match cache.prune(config.cache.max_bytes, age) {
                Ok(r) => {
                    let text = if json {
                        format!("{}\n", serde_json::json!({"dir": dir_s, "report": r}))
                    } else {
                        format!(
                            "{dir_s}: removed {} entries ({} bytes), kept {} ({} bytes)\n",
                            r.removed, r.freed_bytes, r.kept, r.kept_bytes
                        )
                    };
                    (text, ExitCode::SUCCESS)
                }
                Err(e) => return io_error(&dir_s, &e),
            }
        }
        CacheAction::Verify { delete } => match cache.verify(delete) {
            Ok(r) => {
                let text = if json {
                    format!("{}\n", serde_json::json!({"dir": dir_s, "report": r}))
                } else {
                    let mut t = String::new();
                    for p in &r.corrupt {
                        let what = if delete { "deleted" } else { "corrupt" };
                        t.push_str(&format!("{}: {what}\n", p.display()));
                    }
                    t.push_str(&format!(
                        "{dir_s}: {} ok, {} corrupt\n",
                        r.ok,
                        r.corrupt.len()
                    ));
                    t
                };
                let code = if r.corrupt.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                };
                (text, code)
            }
            Err(e) => return io_error(&dir_s, &e),
        },
    };
    let written = super::write_stdout(&text);
    if written != ExitCode::SUCCESS {
        written
    } else {
        code
    }
}

fn io_error(dir: &str, e: &std::io::Error) -> ExitCode {
    eprintln!("clnrm-lsp: {dir}: {e}");
    ExitCode::from(2)
}
