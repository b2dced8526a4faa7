//! Scenario runs: queue, workers, backends, span collection, verdicts.

pub mod argv;
pub mod backend;
pub mod expect;
pub mod process;
pub mod queue;
pub mod result;
pub mod scenario;
pub mod spans;
