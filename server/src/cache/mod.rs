//! Caches: the bounded in-memory map shared by content key.
//! (The on-disk run-result store arrives with scenario runs.)

mod memory;

pub use memory::{BoundedCache, CacheStats};
