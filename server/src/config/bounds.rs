//! Bounds on workspace configuration values. A workspace is input like any other: an
//! untrusted `.clnrm/config.toml` saying `jobs = 2000` must not start 2,000 threads.
//! Values out of range are clamped to the bound (and reported on the file, see
//! [`check_text`]).

use std::ops::Range;

use super::{Config, CONFIG_FILE};
use crate::analysis::{Code, Diagnostic};

/// Run workers per CPU: runs wait on child processes, so a few per core make sense.
const JOBS_PER_CPU: u64 = 4;

fn cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// The largest `[executor] jobs` honoured.
pub fn max_jobs() -> usize {
    usize::try_from(JOBS_PER_CPU * cpus()).unwrap_or(usize::MAX)
}

/// One bounded key: `[section] key` in `min..=max`.
struct Bound {
    section: &'static str,
    key: &'static str,
    min: u64,
    max: fn() -> u64,
    unit: &'static str,
}

const BOUNDS: &[Bound] = &[
    Bound {
        section: "executor",
        key: "jobs",
        // 0: the CPU count.
        min: 0,
        max: || JOBS_PER_CPU * cpus(),
        unit: " workers (4 per CPU)",
    },
    Bound {
        section: "executor",
        key: "default_timeout_ms",
        min: 1,
        max: || 24 * 3600 * 1000,
        unit: " ms (24 h)",
    },
    Bound {
        section: "executor",
        key: "kill_grace_ms",
        min: 0,
        max: || 60_000,
        unit: " ms",
    },
    Bound {
        section: "executor",
        key: "output_cap_bytes",
        min: 1024,
        max: || 64 * 1024 * 1024,
        unit: " bytes (64 MiB)",
    },
    Bound {
        section: "watch",
        key: "debounce_ms",
        min: 0,
        max: || 60_000,
        unit: " ms",
    },
    Bound {
        section: "cache",
        key: "memory_entries",
        min: 0,
        max: || 100_000,
        unit: " entries",
    },
];

fn clamp_to(b: &Bound, v: u64) -> u64 {
    v.clamp(b.min, (b.max)())
}

fn clamp_usize(b: &Bound, v: usize) -> usize {
    usize::try_from(clamp_to(b, v as u64)).unwrap_or(v)
}

/// A worker count within [`max_jobs`] (at least 1).
pub fn clamp_jobs(n: usize) -> usize {
    n.clamp(1, max_jobs())
}

impl Config {
    /// Every bounded value brought within its bound.
    pub fn clamped(mut self) -> Config {
        let e = &mut self.executor;
        e.jobs = e.jobs.map(|j| j.min(max_jobs()));
        for b in BOUNDS {
            match (b.section, b.key) {
                ("executor", "default_timeout_ms") => {
                    e.default_timeout_ms = clamp_to(b, e.default_timeout_ms)
                }
                ("executor", "kill_grace_ms") => e.kill_grace_ms = clamp_to(b, e.kill_grace_ms),
                ("executor", "output_cap_bytes") => {
                    e.output_cap_bytes = clamp_usize(b, e.output_cap_bytes)
                }
                ("watch", "debounce_ms") => {
                    self.watch.debounce_ms = clamp_to(b, self.watch.debounce_ms)
                }
                ("cache", "memory_entries") => {
                    self.cache.memory_entries = clamp_usize(b, self.cache.memory_entries)
                }
                _ => {}
            }
        }
        self
    }
}

/// Whether `path` is a workspace's `.clnrm/config.toml`.
pub fn is_config_file(path: &std::path::Path) -> bool {
    path.ends_with(CONFIG_FILE)
}

/// The problems of a `.clnrm/config.toml` text, for the editor and `check`: a file that
/// cannot be used (syntax, unknown key, wrong type; the defaults stand in) and values
/// outside their bound (clamped).
pub fn check_text(text: &str) -> Vec<Diagnostic> {
    if let Err(e) = Config::parse(text) {
        let range = parse_error_span(text).unwrap_or(0..0);
        return vec![Diagnostic::new(
            Code::ConfigInvalid,
            range,
            format!("configuration ignored, the defaults apply: {e}"),
        )];
    }
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in BOUNDS {
        let Some(item) = doc.get(b.section).and_then(|s| s.get(b.key)) else {
            continue;
        };
        let Some(v) = item.as_integer() else { continue };
        let max = (b.max)();
        let clamped = if v < 0 { b.min } else { clamp_to(b, v as u64) };
        if v >= 0 && clamped == v as u64 {
            continue;
        }
        let range = item.span().unwrap_or(0..0);
        out.push(Diagnostic::new(
            Code::ConfigOutOfRange,
            range,
            format!(
                "[{}] {} = {v} is outside {}..={max}{}: {clamped} is used",
                b.section, b.key, b.min, b.unit
            ),
        ));
    }
    out
}

fn parse_error_span(text: &str) -> Option<Range<usize>> {
    match toml_edit::de::from_str::<Config>(text) {
        Err(e) => e.span(),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_are_clamped_and_reported_where_they_are() {
        let text = "[executor]\njobs = 2000\noutput_cap_bytes = 1\ndefault_timeout_ms = 5000\n[watch]\ndebounce_ms = 99999999\n";
        let c = Config::parse(text).unwrap().clamped();
        assert_eq!(c.executor.jobs, Some(max_jobs()));
        assert_eq!(c.executor.workers(), max_jobs());
        assert_eq!(c.executor.output_cap_bytes, 1024);
        assert_eq!(c.executor.default_timeout_ms, 5000);
        assert_eq!(c.watch.debounce_ms, 60_000);
        let d = check_text(text);
        let at: Vec<&str> = d.iter().map(|d| &text[d.range.clone()]).collect();
        assert_eq!(at, ["2000", "1", "99999999"]);
        assert!(d.iter().all(|d| d.code == Code::ConfigOutOfRange));
        assert!(
            d[0].message.contains(&format!("{} is used", max_jobs())),
            "{}",
            d[0].message
        );
        assert!(check_text("[executor]\njobs = 1\n").is_empty());
    }

    #[test]
    fn an_unusable_file_is_one_diagnostic_at_the_fault() {
        let text = "[executor]\njobs = \"many\"\n";
        let d = check_text(text);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::ConfigInvalid);
        assert!(
            text[d[0].range.clone()].contains("many"),
            "{:?}",
            d[0].range
        );
        assert!(is_config_file(std::path::Path::new(
            "/w/.clnrm/config.toml"
        )));
        assert!(!is_config_file(std::path::Path::new("/w/config.toml")));
    }
}
