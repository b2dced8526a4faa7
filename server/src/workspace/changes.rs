//! What a change to a file on disk means for the workspace, the same for the editor's
//! `didChangeWatchedFiles` and `run --watch`.

use std::path::Path;

use crate::config::{CLEANROOM_FILE, CONFIG_FILE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `.clnrm/config.toml` or `cleanroom.toml`: projects must be reopened.
    Config,
    /// Other project state under `.clnrm/` (results, traces, baselines): views go stale,
    /// no analysis does.
    ProjectState,
    /// A template or test file: its dependents must be re-analysed.
    Source,
}

pub fn classify(path: &Path) -> ChangeKind {
    let name = path.file_name().and_then(|n| n.to_str());
    if name == Some(CLEANROOM_FILE) || path.ends_with(CONFIG_FILE) {
        ChangeKind::Config
    } else if path.components().any(|c| c.as_os_str() == ".clnrm") {
        ChangeKind::ProjectState
    } else {
        ChangeKind::Source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_classified_by_path() {
        let kind = |p: &str| classify(Path::new(p));
        assert_eq!(kind("/ws/.clnrm/config.toml"), ChangeKind::Config);
        assert_eq!(kind("/ws/cleanroom.toml"), ChangeKind::Config);
        assert_eq!(
            kind("/ws/.clnrm/baselines/a/s.json"),
            ChangeKind::ProjectState
        );
        assert_eq!(kind("/ws/tests/_macros.toml.tera"), ChangeKind::Source);
        assert_eq!(kind("/ws/tests/a.clnrm.toml"), ChangeKind::Source);
    }
}
