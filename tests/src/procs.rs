//! Watching processes a scenario started: their pid (the scenario writes it to a file) and
//! whether they are gone.

use std::path::Path;
use std::time::{Duration, Instant};

/// The pid a scenario wrote to `file` (`echo $$ > file; exec …`), waiting up to `within`.
pub fn pid_from(file: &Path, within: Duration) -> Option<u32> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Whether process `pid` has ended (reaped, or a zombie) within `within`.
pub fn gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
        let alive = status.is_ok_and(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && (l.contains("zombie") || l.contains(" Z ")))
        });
        if !alive {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
