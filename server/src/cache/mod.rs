//! Caches: the bounded in-memory map shared by content key, and the on-disk result cache
//! of scenario runs.

mod memory;
pub mod results;

pub use memory::{BoundedCache, CacheStats};
pub use results::{PruneReport, ResultCache, ResultCacheStats, VerifyReport};
