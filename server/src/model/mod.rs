//! Typed view of a rendered test file (serde), for runs and expectations. Validation
//! lives in `analysis`; this model is lenient and only read after analysis passed.

pub mod expect;
