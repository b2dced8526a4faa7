//! Caches: the bounded in-memory map shared by content key, and the on-disk result cache
//! of scenario runs with its optional remote tier.

mod memory;
pub mod remote;
pub mod results;

pub use memory::{BoundedCache, CacheStats};
pub use results::{PruneReport, RemoteStats, ResultCache, ResultCacheStats, VerifyReport};
