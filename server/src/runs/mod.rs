//! Scenario runs: queue, workers, backends, span collection, verdicts.

pub mod argv;
pub mod backend;
pub mod engine;
pub mod expect;
pub mod inputs;
pub mod key;
pub mod outline;
pub mod owners;
pub mod plan;
pub mod process;
pub mod project;
pub mod queue;
pub mod reaper;
pub mod report;
pub mod result;
pub mod runner;
pub mod scenario;
pub mod selection;
pub mod services;
pub mod settings;
pub mod shard;
pub mod spans;
