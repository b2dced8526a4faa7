//! Scenario runs: queue, workers, backends, span collection, verdicts.

pub mod expect;
pub mod spans;
