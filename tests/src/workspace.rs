//! Test workspaces that are not about containers pin the local backend, so the same test
//! gives the same result whether or not a docker or podman answers on the machine (the
//! server's `auto` would pick it, and its image pull would decide the verdict), and do not
//! start services (a `[service.db]` would start `db`'s image where an engine answers).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// `.clnrm/config.toml` lines pinning the local backend (and no services: a
/// `[service.db]` would start `db`'s image where an engine answers).
pub const LOCAL_EXECUTOR: &str = "[executor]\nbackend = \"local\"\nservices = \"off\"\n";

/// `config` (the text of a `.clnrm/config.toml`) with the local backend pinned: the key
/// goes into its `[executor]` table, or a new one in front.
pub fn local_config(config: &str) -> String {
    match config.find("[executor]\n") {
        Some(at) => format!(
            "{}{LOCAL_EXECUTOR}{}",
            &config[..at],
            &config[at + "[executor]\n".len()..]
        ),
        None => format!("{LOCAL_EXECUTOR}{config}"),
    }
}

/// Write `<root>/.clnrm/config.toml`: `config` with the local backend pinned.
pub fn pin_local(root: &Path, config: &str) {
    let dir = root.join(".clnrm");
    std::fs::create_dir_all(&dir).expect("create .clnrm");
    std::fs::write(dir.join("config.toml"), local_config(config))
        .expect("write .clnrm/config.toml");
}

/// Client settings (`initializationOptions`) with the local backend pinned on top of
/// `options`. Sending settings at all tells the server the client's word on trust, so
/// only for tests that send settings anyway.
pub fn local_settings(mut options: Value) -> Value {
    if !options.is_object() {
        options = json!({});
    }
    options["executor"]["backend"] = json!("local");
    options["executor"]["services"] = json!("off");
    options
}

/// A temporary workspace root with the local backend pinned, removed when dropped.
pub struct LocalWorkspace {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl LocalWorkspace {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        pin_local(&root, "");
        Self { _dir: dir, root }
    }

    /// Write `name` (relative to the root) and give its `file://` URI.
    pub fn file(&self, name: &str, text: &str) -> String {
        std::fs::write(self.root.join(name), text).expect("write test file");
        format!("file://{}/{name}", self.root.display())
    }
}

impl Default for LocalWorkspace {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_gets_the_key_in_its_executor_table() {
        assert_eq!(local_config(""), LOCAL_EXECUTOR);
        assert_eq!(
            local_config("[watch]\ndebounce_ms = 1\n"),
            "[executor]\nbackend = \"local\"\nservices = \"off\"\n[watch]\ndebounce_ms = 1\n"
        );
        assert_eq!(
            local_config("[cache]\n[executor]\njobs = 2\n"),
            "[cache]\n[executor]\nbackend = \"local\"\nservices = \"off\"\njobs = 2\n"
        );
    }

    #[test]
    fn settings_keep_what_they_had() {
        let s = local_settings(json!({ "runOnSave": false, "executor": { "workers": 1 } }));
        assert_eq!(
            s,
            json!({ "runOnSave": false, "executor": { "workers": 1, "backend": "local", "services": "off" } })
        );
        assert_eq!(
            local_settings(Value::Null),
            json!({ "executor": { "backend": "local", "services": "off" } })
        );
    }
}
