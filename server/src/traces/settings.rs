//! `[diff]` settings of `.clnrm/config.toml`: what the trace diff compares and shows.

use serde::{Deserialize, Serialize};

use crate::documents::fs::CONFIG_READ_BYTES;

/// The `[diff]` section. Every key is optional; the defaults compare structure, names,
/// kinds, statuses, attributes and events, and ignore what differs on every run
/// (span/trace ids and timestamps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiffSettings {
    /// Where baselines live, relative to the workspace root.
    pub baseline_dir: String,
    /// Attribute keys left out of the comparison; glob patterns (`http.*`, `*.id`).
    pub ignore_attributes: Vec<String>,
    /// Ignore start and end times (default). When `false` they are compared exactly,
    /// which only makes sense with a frozen clock.
    pub ignore_timestamps: bool,
    /// Ignore trace, span and parent ids (default); the tree shape is still compared.
    pub ignore_ids: bool,
    /// Compare resource attributes too (off by default: host names and pids vary).
    pub compare_resource_attributes: bool,
    /// Display depth of the text tree; deeper spans are folded into a count.
    pub depth: Option<usize>,
    /// Show only spans that differ, with their ancestors for context.
    pub only_differences: bool,
}

pub const DEFAULT_BASELINE_DIR: &str = ".clnrm/baselines";

impl Default for DiffSettings {
    fn default() -> Self {
        Self {
            baseline_dir: DEFAULT_BASELINE_DIR.to_string(),
            ignore_attributes: Vec::new(),
            ignore_timestamps: true,
            ignore_ids: true,
            compare_resource_attributes: false,
            depth: None,
            only_differences: false,
        }
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    diff: DiffSettings,
}

impl DiffSettings {
    /// Read the `[diff]` table from the text of a `.clnrm/config.toml`; other sections
    /// are ignored. Errors carry toml_edit's message (with line and column).
    /// The `[diff]` settings of the workspace at `root` (`.clnrm/config.toml`); defaults
    /// when the file does not exist, an error naming the file when it is unreadable or bad.
    pub fn load(root: &std::path::Path) -> Result<Self, String> {
        let path = root.join(".clnrm").join("config.toml");
        match crate::documents::fs::read_text(&path, Some(root), CONFIG_READ_BYTES) {
            Ok(text) => Self::from_config_toml(&text)
                .map_err(|e| format!("{}: {}", path.display(), e.trim_end())),
            Err(e) if e.is_not_found() => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn from_config_toml(text: &str) -> Result<Self, String> {
        toml_edit::de::from_str::<ConfigFile>(text)
            .map(|c| c.diff)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_ignore_ids_and_timestamps() {
        let s = DiffSettings::from_config_toml("[cache]\nmax = 3\n").unwrap();
        assert_eq!(s, DiffSettings::default());
        assert!(s.ignore_ids && s.ignore_timestamps);
    }

    #[test]
    fn reads_the_diff_table() {
        let s = DiffSettings::from_config_toml(
            "[diff]\nbaseline_dir = \"bl\"\nignore_attributes = [\"http.*\"]\nignore_timestamps = false\ndepth = 3\nonly_differences = true\n",
        )
        .unwrap();
        assert_eq!(s.baseline_dir, "bl");
        assert_eq!(s.ignore_attributes, vec!["http.*"]);
        assert!(!s.ignore_timestamps);
        assert!(s.ignore_ids);
        assert_eq!(s.depth, Some(3));
        assert!(s.only_differences);
    }

    #[test]
    fn wrong_type_is_an_error_with_position() {
        let e = DiffSettings::from_config_toml("[diff]\ndepth = \"x\"\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
