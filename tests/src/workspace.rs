//! Test workspaces that are not about containers pin the local backend, so the same test
//! gives the same result whether or not a docker or podman answers on the machine (the
//! server's `auto` would pick it, and its image pull would decide the verdict), and do not
//! start services (a `[service.db]` would start `db`'s image where an engine answers).

use std::path::Path;

use serde_json::{json, Value};

/// `.clnrm/config.toml` lines pinning the local backend: an `[executor]` table, so further
/// executor keys go right after them.
pub const LOCAL_EXECUTOR: &str = "[executor]\nbackend = \"local\"\nservices = \"off\"\n";

/// Write `<root>/.clnrm/config.toml`: [`LOCAL_EXECUTOR`] followed by `more`.
pub fn pin_local(root: &Path, more: &str) {
    let dir = root.join(".clnrm");
    std::fs::create_dir_all(&dir).expect("create .clnrm");
    std::fs::write(dir.join("config.toml"), format!("{LOCAL_EXECUTOR}{more}"))
        .expect("write .clnrm/config.toml");
}

/// Client settings (`initializationOptions`) with the local backend pinned on top of `options`.
pub fn local_settings(mut options: Value) -> Value {
    if !options.is_object() {
        options = json!({});
    }
    options["executor"]["backend"] = json!("local");
    options["executor"]["services"] = json!("off");
    options
}

#[cfg(test)]
mod tests {
    use super::*;

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
