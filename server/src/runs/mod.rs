//! Scenario runs: queue, workers, backends, span collection, verdicts.

pub mod argv;
pub mod process;
