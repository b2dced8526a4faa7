//! Scenario runs: queue, workers, backends, span collection, verdicts.
