//! Caches: the bounded in-memory map shared by content key, and the on-disk result cache
//! of scenario runs with its optional remote tier.

mod memory;
pub mod remote;
pub mod results;

pub use memory::{BoundedCache, CacheStats};
pub use results::{PruneReport, RemoteStats, ResultCache, ResultCacheStats, VerifyReport};

/// A statistics counter's value; `take` resets it (stats flushed to disk once).
fn counter(a: &std::sync::atomic::AtomicU64, take: bool) -> u64 {
    use std::sync::atomic::Ordering;
    if take {
        a.swap(0, Ordering::Relaxed)
    } else {
        a.load(Ordering::Relaxed)
    }
}
