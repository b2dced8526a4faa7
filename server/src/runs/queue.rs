//! STUB (replaced by the helper's version)
use super::process::CancelToken;
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    OnSave,
    Explicit,
}
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobTag {
    pub file: std::path::PathBuf,
    pub scenario: String,
}
pub type Work = Box<dyn FnOnce(&CancelToken) + Send + 'static>;
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExecutorStats {
    pub workers: usize,
    pub queued: usize,
    pub running: usize,
}
#[derive(Clone)]
pub struct Executor;
impl Executor {
    pub fn new(_workers: usize) -> Self {
        Executor
    }
    pub fn set_workers(&self, _n: usize) {}
    pub fn submit(&self, _priority: Priority, jobs: Vec<(JobTag, Work)>) {
        for (_, w) in jobs {
            std::thread::spawn(move || w(&CancelToken::new()));
        }
    }
    pub fn cancel(&self, _pred: impl Fn(&JobTag) -> bool) -> usize {
        0
    }
    pub fn stats(&self) -> ExecutorStats {
        ExecutorStats::default()
    }
    pub fn shutdown(&self) {}
}
