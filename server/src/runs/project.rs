//! One workspace root as the runner sees it: its configuration, its backend and its
//! result cache. Built once per root (and again when the configuration changes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::backend::{self, Backend, BackendKind};
use super::inputs::ImageIds;
use super::result::RunResult;
use super::settings::RunSettings;
use crate::cache::ResultCache;
use crate::config::{BackendChoice, Config, ConfigError, Loaded};

pub struct Project {
    pub root: PathBuf,
    pub config: Config,
    /// Problems reading the configuration (the defaults stood in).
    pub config_errors: Vec<ConfigError>,
    pub settings: RunSettings,
    pub backend: Arc<dyn Backend>,
    /// `None` when caching is off (`[cache] enabled = false`, or `run --no-cache`).
    pub cache: Option<ResultCache<RunResult>>,
    /// Whether runs record their results and traces (off: `run --no-cache`, which reads
    /// and writes nothing).
    pub record: bool,
    /// Content identities of the images runs use, looked up once per run batch.
    pub images: ImageIds,
}

impl Project {
    /// Load `root`'s configuration, overlaid with client settings (same sections as the
    /// file, as JSON). Selecting `auto` may probe `docker info`: call off latency paths.
    pub fn open(root: &Path, overlay: Option<&serde_json::Value>) -> Project {
        let Loaded { config, mut errors } = Config::load(root);
        let config = match overlay.map(|o| config.with_client_settings(o)) {
            Some(Ok(merged)) => merged,
            Some(Err(message)) => {
                errors.push(ConfigError {
                    path: PathBuf::from("client settings"),
                    message,
                });
                config
            }
            None => config,
        };
        Self::with_config(root, config, errors)
    }

    pub fn with_config(root: &Path, config: Config, config_errors: Vec<ConfigError>) -> Project {
        let backend: Arc<dyn Backend> = Arc::from(backend::select(match config.executor.backend {
            BackendChoice::Local => "local",
            BackendChoice::Docker => "docker",
            BackendChoice::Podman => "podman",
            BackendChoice::Auto => "auto",
        }));
        let cache = config
            .cache
            .enabled
            .then(|| ResultCache::for_workspace(root, &config));
        Project {
            root: root.to_path_buf(),
            settings: RunSettings {
                workspace: Some(root.to_path_buf()),
                ..RunSettings::from_config(&config.executor)
            },
            config,
            config_errors,
            backend,
            cache,
            record: true,
            images: ImageIds::default(),
        }
    }

    /// The same project running at low CPU priority (the editor's: typing comes first).
    pub fn in_background(mut self) -> Project {
        self.settings.background = true;
        // The editor reads the shared cache but leaves writing it to CI, unless told.
        if let Some(cache) = &mut self.cache {
            cache.remote_read_only_by_default(true);
        }
        self
    }

    /// The same project without its result cache, recording nothing (`--no-cache`: no
    /// result and no trace is read or written).
    pub fn without_cache(mut self) -> Project {
        self.cache = None;
        self.record = false;
        self
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// The engine that starts this project's services, when they are on and one answers
    /// (probed once per process for `local`).
    pub fn services_engine(&self) -> Option<backend::Container> {
        self.settings
            .services
            .then(|| self.backend.engine())
            .flatten()
    }
}
