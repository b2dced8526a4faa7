//! The one rewritten progress line on stderr (`[3/16] api.clnrm.toml › smoke`), shown only
//! when stderr is a terminal and cleared before results are printed.

use std::io::Write as _;
use std::path::Path;

pub struct Progress {
    enabled: bool,
    total: usize,
    started: usize,
    shown: bool,
}

impl Progress {
    pub fn new(enabled: bool, total: usize) -> Self {
        Self {
            enabled: enabled && total > 0,
            total,
            started: 0,
            shown: false,
        }
    }

    pub fn started(&mut self, path: &Path, scenario: &str) {
        self.started += 1;
        if !self.enabled {
            return;
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let line = super::format::plain(&line(
            self.started.min(self.total),
            self.total,
            &name,
            scenario,
        ));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.shown = true;
    }

    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

/// The text of the line, cut to a terminal's usual width.
fn line(n: usize, total: usize, file: &str, scenario: &str) -> String {
    let text = format!("[{n}/{total}] {file} › {scenario}");
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_line() {
        assert_eq!(
            super::line(3, 16, "api.clnrm.toml", "smoke"),
            "[3/16] api.clnrm.toml › smoke"
        );
    }
}
