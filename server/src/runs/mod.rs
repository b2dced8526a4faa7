//! Scenario runs: queue, workers, backends, span collection, verdicts.

pub mod argv;
pub mod expect;
pub mod process;
pub mod spans;
