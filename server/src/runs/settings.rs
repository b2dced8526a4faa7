//! How runs are carried out, from `[executor]`: everything here can change a run's result,
//! so all of it is part of the result-cache key (see `runs::key`).

use std::time::Duration;

use crate::config::ExecutorConfig;

#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Timeout of a scenario whose file sets none.
    pub default_timeout: Duration,
    /// Time between SIGTERM and SIGKILL of a run's process group.
    pub kill_grace: Duration,
    /// Bytes of stdout and of stderr kept per command.
    pub output_cap: usize,
    /// Image for containers when the scenario's service names none.
    pub default_image: String,
    /// Run at low CPU priority (the editor: typing first). Not part of the result key:
    /// priority changes when a run finishes, not what it finds.
    pub background: bool,
    /// Start the services scenarios use (`[executor] services`). Part of the key of a
    /// scenario that uses a service: its verdict without them says nothing about a run
    /// with them.
    pub services: bool,
    /// The workspace root: mounted at `/workspace` in containers; volumes stay inside it.
    pub workspace: Option<std::path::PathBuf>,
}

impl RunSettings {
    pub fn from_config(c: &ExecutorConfig) -> Self {
        Self {
            default_timeout: Duration::from_millis(c.default_timeout_ms.max(1)),
            kill_grace: Duration::from_millis(c.kill_grace_ms),
            output_cap: c.output_cap_bytes.max(1024),
            default_image: c.image().to_string(),
            background: false,
            services: c.services == crate::config::ServicesChoice::Auto,
            workspace: None,
        }
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        Self::from_config(&ExecutorConfig::default())
    }
}
