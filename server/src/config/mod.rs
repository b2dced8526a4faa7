//! Project configuration: `.clnrm/config.toml`, clnrm's own `cleanroom.toml` where ours is
//! silent, and client settings.
//!
//! Loading never fails: a missing file gives the defaults, a corrupt one gives the defaults
//! plus a [`ConfigError`] for the caller to surface.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::documents::fs::{read_text, CONFIG_READ_BYTES};

mod bounds;
pub use bounds::{check_text, clamp_jobs, is_config_file, max_jobs};

/// Where our project state lives, relative to the workspace root.
pub const STATE_DIR: &str = ".clnrm";
pub const CONFIG_FILE: &str = ".clnrm/config.toml";
pub const CLEANROOM_FILE: &str = "cleanroom.toml";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub watch: WatchConfig,
    pub cache: CacheConfig,
    pub executor: ExecutorConfig,
    /// `[diff]`: the trace diff's settings (one definition, in `traces`).
    pub diff: crate::traces::DiffSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Quiet period after the last change before re-running.
    pub debounce_ms: u64,
    /// Glob patterns (relative to the workspace root) whose changes are ignored.
    pub ignore: Vec<String>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            debounce_ms: 300,
            ignore: vec![
                ".clnrm/**".into(),
                ".git/**".into(),
                "target/**".into(),
                "**/*.swp".into(),
                "**/*~".into(),
            ],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    pub enabled: bool,
    /// Directory of the on-disk result cache, relative to the workspace root.
    pub dir: PathBuf,
    /// Total size bound of the on-disk cache, in bytes.
    pub max_bytes: u64,
    /// Entries older than this are pruned.
    pub max_age_days: u64,
    /// Entries kept in memory.
    pub memory_entries: usize,
    /// Globs (relative to the workspace root) of files every scenario's result depends on:
    /// part of each result's key.
    pub inputs: Vec<String>,
    /// `[cache.remote]`: a shared tier behind the disk (see `cache::remote`).
    pub remote: RemoteConfig,
}

/// `[cache.remote]`. The URL may also come from `CLNRM_REMOTE_CACHE`, which wins (and is
/// where a URL with credentials belongs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteConfig {
    /// `http(s)://host/base` (Bazel's HTTP cache protocol), `redis://…`, `s3://bucket/prefix`.
    pub url: Option<String>,
    /// Only read, never upload. Unset: the CLI writes, the editor only reads.
    pub read_only: Option<bool>,
    /// Time to connect to the remote.
    pub connect_timeout_ms: u64,
    /// Whole time of one lookup (a slower remote is a miss).
    pub lookup_timeout_ms: u64,
    /// Whole time of one upload.
    pub upload_timeout_ms: u64,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            url: None,
            read_only: None,
            connect_timeout_ms: 250,
            lookup_timeout_ms: 500,
            upload_timeout_ms: 10_000,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: PathBuf::from(".clnrm/cache"),
            max_bytes: 64 * 1024 * 1024,
            max_age_days: 30,
            memory_entries: 1024,
            inputs: Vec::new(),
            remote: RemoteConfig::default(),
        }
    }
}

/// Which backend runs scenarios.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Local,
    Docker,
    Podman,
    /// docker, else podman, else local: the first whose CLI answers.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Worker count; `None` means the CPU count.
    pub jobs: Option<usize>,
    pub backend: BackendChoice,
    /// Timeout of a scenario whose file sets none.
    pub default_timeout_ms: u64,
    /// Time between SIGTERM and SIGKILL when a run is stopped.
    pub kill_grace_ms: u64,
    /// Bytes of stdout and of stderr kept per command (the tail).
    pub output_cap_bytes: usize,
    /// Image for containers when the scenario's service names none.
    pub default_image: Option<String>,
    /// Start `[service.<id>]` containers: `auto` (with the backend's engine; for `local`,
    /// the first of docker and podman that answers) or `off`.
    pub services: ServicesChoice,
}

/// Whether services are started (`[executor] services`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServicesChoice {
    #[default]
    Auto,
    Off,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            jobs: None,
            backend: BackendChoice::Local,
            default_timeout_ms: 60_000,
            kill_grace_ms: 2_000,
            output_cap_bytes: 256 * 1024,
            default_image: None,
            services: ServicesChoice::Auto,
        }
    }
}

impl ExecutorConfig {
    pub fn workers(&self) -> usize {
        self.jobs
            .filter(|j| *j > 0)
            .map(clamp_jobs)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn image(&self) -> &str {
        self.default_image
            .as_deref()
            .unwrap_or(crate::runs::backend::DEFAULT_IMAGE)
    }
}

/// A configuration file that could not be used; the defaults stand in for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// The configuration of one workspace and what went wrong reading it.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    pub errors: Vec<ConfigError>,
}

impl Config {
    /// Read `.clnrm/config.toml` under `root`, with `cleanroom.toml` fallbacks.
    pub fn load(root: &Path) -> Loaded {
        let mut errors = Vec::new();
        let path = root.join(CONFIG_FILE);
        let ours = match read_text(&path, Some(root), CONFIG_READ_BYTES) {
            Ok(text) => match Self::parse(&text) {
                Ok(c) => Some(c),
                Err(message) => {
                    errors.push(ConfigError {
                        path: path.clone(),
                        message,
                    });
                    None
                }
            },
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                errors.push(ConfigError {
                    path: path.clone(),
                    message: e.to_string(),
                });
                None
            }
        };
        let mut config = ours.unwrap_or_default();
        let cleanroom = read_text(&root.join(CLEANROOM_FILE), Some(root), CONFIG_READ_BYTES)
            .ok()
            .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok());
        if let Some(doc) = cleanroom {
            config.apply_cleanroom(&doc);
        }
        Loaded {
            config: config.clamped(),
            errors,
        }
    }

    /// Parse our own file's text (unknown keys are errors: a typo must not pass silently).
    pub fn parse(text: &str) -> Result<Config, String> {
        toml_edit::de::from_str::<Config>(text).map_err(|e| e.to_string().trim().to_string())
    }

    /// clnrm's keys that mean the same thing, used only where ours are silent.
    fn apply_cleanroom(&mut self, doc: &toml_edit::DocumentMut) {
        if self.executor.default_image.is_none() {
            if let Some(image) = doc
                .get("containers")
                .and_then(|c| c.get("default_image"))
                .and_then(|i| i.as_str())
                .filter(|s| !s.trim().is_empty())
            {
                self.executor.default_image = Some(image.to_string());
            }
        }
        if self.executor.jobs.is_none() {
            if let Some(jobs) = doc
                .get("cli")
                .and_then(|c| c.get("jobs"))
                .and_then(|j| j.as_integer())
                .filter(|j| *j > 0)
            {
                self.executor.jobs = usize::try_from(jobs).ok();
            }
        }
    }

    /// Overlay client settings (the same sections as the file, as JSON). Invalid settings
    /// are reported and leave the configuration unchanged.
    pub fn with_client_settings(&self, settings: &serde_json::Value) -> Result<Config, String> {
        let mut base = serde_json::to_value(self).map_err(|e| e.to_string())?;
        merge_json(&mut base, settings);
        serde_json::from_value(base)
            .map(Config::clamped)
            .map_err(|e| e.to_string())
    }

    /// The cache directory, resolved against the workspace root.
    pub fn cache_dir(&self, root: &Path) -> PathBuf {
        root.join(&self.cache.dir)
    }
}

fn merge_json(base: &mut serde_json::Value, over: &serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_json(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = Config::load(dir.path());
        assert!(loaded.errors.is_empty());
        assert_eq!(loaded.config, Config::default());
        assert_eq!(loaded.config.watch.debounce_ms, 300);
    }

    #[test]
    fn sections_override_defaults() {
        let c = Config::parse(
            "[executor]\njobs = 3\nbackend = \"auto\"\n[cache]\nmax_age_days = 2\n[watch]\nignore = [\"*.log\"]\n",
        )
        .unwrap();
        assert_eq!(c.executor.workers(), 3);
        assert_eq!(c.executor.backend, BackendChoice::Auto);
        assert_eq!(c.cache.max_age_days, 2);
        assert!(c.cache.enabled);
        assert_eq!(c.watch.ignore, vec!["*.log".to_string()]);
    }

    #[test]
    fn corrupt_file_gives_defaults_and_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".clnrm")).unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "[executor\njobs = ").unwrap();
        let loaded = Config::load(dir.path());
        assert_eq!(loaded.config, Config::default());
        assert_eq!(loaded.errors.len(), 1);
        std::fs::write(dir.path().join(CONFIG_FILE), "[executor]\njbos = 2\n").unwrap();
        let loaded = Config::load(dir.path());
        assert!(
            loaded.errors[0].message.contains("jbos"),
            "{:?}",
            loaded.errors
        );
    }

    #[test]
    fn cleanroom_fills_what_ours_leaves_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CLEANROOM_FILE),
            "[cli]\njobs = 7\n[containers]\ndefault_image = \"debian:12\"\n",
        )
        .unwrap();
        let c = Config::load(dir.path()).config;
        assert_eq!(c.executor.jobs, Some(7));
        assert_eq!(c.executor.image(), "debian:12");
        std::fs::create_dir(dir.path().join(".clnrm")).unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "[executor]\njobs = 2\n").unwrap();
        let c = Config::load(dir.path()).config;
        assert_eq!(c.executor.jobs, Some(2));
        assert_eq!(c.executor.image(), "debian:12");
    }

    #[test]
    fn client_settings_overlay() {
        let c = Config::default()
            .with_client_settings(&serde_json::json!({"executor": {"jobs": 5}}))
            .unwrap();
        assert_eq!(c.executor.jobs, Some(5));
        assert_eq!(c.cache, CacheConfig::default());
        assert!(Config::default()
            .with_client_settings(&serde_json::json!({"executor": {"jobs": "x"}}))
            .is_err());
    }
}

#[cfg(test)]
mod diff_section_tests {
    use super::*;

    #[test]
    fn the_diff_section_is_the_trace_diffs_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(STATE_DIR)).unwrap();
        std::fs::write(
            dir.path().join(STATE_DIR).join("config.toml"),
            "[diff]\nbaseline_dir = \"b\"\nignore_attributes = [\"http.*\"]\nignore_timestamps = false\n",
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join(STATE_DIR).join("config.toml")).unwrap();
        let from_traces = crate::traces::DiffSettings::from_config_toml(&text).unwrap();
        let parsed: Config = toml_edit::de::from_str(&text).unwrap();
        assert_eq!(parsed.diff, from_traces);
        assert_eq!(parsed.diff.baseline_dir, "b");
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    /// `schemas/clnrm-config.schema.json` names exactly the keys the loader reads.
    #[test]
    fn the_config_schema_matches_the_loader() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/clnrm-config.schema.json"))
                .unwrap();
        let config = serde_json::to_value(Config::default()).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&schema["properties"]), keys(&config));
        for (section, value) in config.as_object().unwrap() {
            assert_eq!(
                keys(&schema["properties"][section]["properties"]),
                keys(value),
                "[{section}]"
            );
        }
    }
}
