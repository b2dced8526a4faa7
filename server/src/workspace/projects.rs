//! The open projects: one [`Project`] (configuration, backend, result cache) per workspace
//! root, opened on first use and again after the configuration changed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use dashmap::DashMap;

use crate::config::ConfigError;
use crate::runs::project::Project;

/// How projects are opened: the same for every root of a process.
#[derive(Debug, Clone)]
pub struct ProjectOptions {
    /// Client settings over the configuration file (same sections, as JSON).
    pub overlay: Option<serde_json::Value>,
    /// Runs at low CPU priority (the editor's: typing comes first).
    pub background: bool,
    /// Read and write the result cache (off: `run --no-cache`).
    pub record: bool,
}

impl Default for ProjectOptions {
    fn default() -> Self {
        Self {
            overlay: None,
            background: false,
            record: true,
        }
    }
}

/// A project, and whether this call opened it (its configuration problems are then new,
/// to show once).
pub struct Opened {
    pub project: Arc<Project>,
    pub now: bool,
}

impl Opened {
    /// The configuration problems to show: the project's, when it was opened just now.
    pub fn new_errors(&self) -> &[ConfigError] {
        if self.now {
            &self.project.config_errors
        } else {
            &[]
        }
    }
}

/// The per-root project cache.
#[derive(Default)]
pub struct Projects {
    options: RwLock<ProjectOptions>,
    open: DashMap<PathBuf, Arc<Project>>,
    /// Held while a project opens: two callers never open (and probe) one root twice.
    opening: Mutex<()>,
}

impl Projects {
    pub fn new(options: ProjectOptions) -> Self {
        Self {
            options: RwLock::new(options),
            open: DashMap::new(),
            opening: Mutex::new(()),
        }
    }

    /// The project of `root`, opened now if it is not open. Blocking (selecting the `auto`
    /// backend may probe `docker info`): call off latency paths.
    pub fn get(&self, root: &Path) -> Opened {
        if let Some(project) = self.get_open(root) {
            return Opened {
                project,
                now: false,
            };
        }
        let _opening = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(project) = self.get_open(root) {
            return Opened {
                project,
                now: false,
            };
        }
        let options = self.options();
        let mut project = Project::open(root, options.overlay.as_ref());
        if options.background {
            project = project.in_background();
        }
        if !options.record {
            project = project.without_cache();
        }
        let project = Arc::new(project);
        self.open.insert(root.to_path_buf(), project.clone());
        Opened { project, now: true }
    }

    /// Hold every open back until the guard drops (a project whose open never ends).
    #[cfg(test)]
    pub(crate) fn hold_opening(&self) -> std::sync::MutexGuard<'_, ()> {
        self.opening.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The project of `root` if it is open (never blocks).
    pub fn get_open(&self, root: &Path) -> Option<Arc<Project>> {
        self.open.get(root).map(|p| p.clone())
    }

    /// New options: projects open again with them on next use.
    pub fn set_options(&self, options: ProjectOptions) {
        *self.options.write().unwrap_or_else(|p| p.into_inner()) = options;
        self.clear();
    }

    pub fn options(&self) -> ProjectOptions {
        self.options
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A configuration file changed: every project opens again on next use.
    pub fn clear(&self) {
        self.open.clear();
    }

    /// The projects open now.
    pub fn open_now(&self) -> Vec<Arc<Project>> {
        self.open.iter().map(|p| p.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_project_per_root_until_the_configuration_changes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir(a.path().join(".clnrm")).unwrap();
        std::fs::write(
            a.path().join(".clnrm/config.toml"),
            "[executor]\njobs = \"x\"\n",
        )
        .unwrap();
        let projects = Projects::new(ProjectOptions::default());
        let first = projects.get(a.path());
        assert!(!first.new_errors().is_empty(), "a bad config is reported");
        let again = projects.get(a.path());
        assert!(Arc::ptr_eq(&first.project, &again.project));
        assert!(again.new_errors().is_empty(), "reported once");
        assert!(!Arc::ptr_eq(
            &first.project,
            &projects.get(b.path()).project
        ));
        projects.clear();
        assert!(projects.get_open(a.path()).is_none());
        let reopened = projects.get(a.path());
        assert!(!Arc::ptr_eq(&first.project, &reopened.project));
        assert!(
            !reopened.new_errors().is_empty(),
            "reported again after a change"
        );
    }

    #[test]
    fn options_apply_to_every_project() {
        let dir = tempfile::tempdir().unwrap();
        let projects = Projects::new(ProjectOptions {
            record: false,
            background: true,
            ..ProjectOptions::default()
        });
        let p = projects.get(dir.path()).project;
        assert!(p.cache.is_none() && !p.record && p.settings.background);
        projects.set_options(ProjectOptions::default());
        let p = projects.get(dir.path()).project;
        assert!(p.record && !p.settings.background);
    }
}
