//! The result cache of scenario runs: memory (LRU) in front of one JSON file per key on disk,
//! and optionally a shared remote behind both (`super::remote`; a remote hit is written to
//! disk).
//!
//! Several processes may share the directory: writes are temp file + rename, and readers treat
//! a vanished, torn or foreign file as a miss (the next `put` overwrites it).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::remote::{Fetched, RemoteCounts, RemoteSettings, RemoteTier};
use super::BoundedCache;
use crate::analysis::ContentKey;
use crate::documents::fs::{read_bytes, ReadError, MAX_READ_BYTES};

/// Version of the on-disk envelope; entries of another format are misses.
pub const RESULT_FORMAT: u32 = 1;

/// Memory bound of the in-memory layer, in serialized bytes.
const MEMORY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Serialize)]
struct EnvelopeRef<'a, V> {
    format: u32,
    engine: &'a str,
    key: &'a str,
    created_unix: u64,
    value: &'a V,
}

#[derive(Deserialize)]
struct Envelope<V> {
    format: u32,
    engine: String,
    key: String,
    #[allow(dead_code)]
    created_unix: u64,
    value: V,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResultCacheStats {
    /// Lookups answered (memory, disk or remote).
    pub hits: u64,
    pub misses: u64,
    /// Entries found unreadable, torn, of another format/engine or under the wrong name.
    pub corrupt: u64,
    /// Hits answered from memory / from disk.
    pub memory_hits: u64,
    pub disk_hits: u64,
    /// Entry files on disk and their total size.
    pub entries: u64,
    pub bytes: u64,
    /// Mean time of a disk hit (read + parse), in microseconds.
    pub mean_restore_micros: f64,
    /// Scenario runs whose results were stored, and their mean duration.
    pub runs: u64,
    pub mean_run_ms: f64,
    /// The remote tier: its counters (of every process sharing the directory) and, when
    /// one is configured here, where it is (masked) and whether it is written.
    pub remote: RemoteStats,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RemoteStats {
    /// The configured remote as it may be shown (credentials masked).
    pub url: Option<String>,
    pub read_only: bool,
    pub signed: bool,
    pub hits: u64,
    pub misses: u64,
    pub verify_failures: u64,
    pub errors: u64,
    pub uploads: u64,
    pub uploads_dropped: u64,
    pub bytes_down: u64,
    pub bytes_up: u64,
    /// Mean time of a lookup that reached the remote, in microseconds.
    pub mean_lookup_micros: f64,
}

/// Counters as persisted in `<dir>/stats.json`: every process sharing the directory adds
/// its own, so `clnrm-lsp cache stats` sees the editor's and CI's hits alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Counts {
    hits: u64,
    misses: u64,
    corrupt: u64,
    memory_hits: u64,
    disk_hits: u64,
    restore_micros: u64,
    runs: u64,
    run_ms: u64,
    remote: RemoteCounts,
}

impl Counts {
    fn add(self, o: Counts) -> Counts {
        Counts {
            hits: self.hits.saturating_add(o.hits),
            misses: self.misses.saturating_add(o.misses),
            corrupt: self.corrupt.saturating_add(o.corrupt),
            memory_hits: self.memory_hits.saturating_add(o.memory_hits),
            disk_hits: self.disk_hits.saturating_add(o.disk_hits),
            restore_micros: self.restore_micros.saturating_add(o.restore_micros),
            runs: self.runs.saturating_add(o.runs),
            run_ms: self.run_ms.saturating_add(o.run_ms),
            remote: self.remote.plus(o.remote),
        }
    }
}

/// This instance's counts not yet added to `stats.json`.
#[derive(Default)]
struct LiveCounts {
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    restore_micros: AtomicU64,
    runs: AtomicU64,
    run_ms: AtomicU64,
}

impl LiveCounts {
    fn read(&self, take: bool) -> Counts {
        let get = |a: &AtomicU64| crate::cache::counter(a, take);
        Counts {
            hits: get(&self.hits),
            misses: get(&self.misses),
            corrupt: get(&self.corrupt),
            memory_hits: get(&self.memory_hits),
            disk_hits: get(&self.disk_hits),
            restore_micros: get(&self.restore_micros),
            runs: get(&self.runs),
            run_ms: get(&self.run_ms),
            remote: RemoteCounts::default(),
        }
    }
}

const STATS_FILE: &str = "stats.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PruneReport {
    pub removed: u64,
    pub freed_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    pub ok: u64,
    pub corrupt: Vec<PathBuf>,
    /// Whether the corrupt entries were deleted.
    pub deleted: bool,
}

/// One entry file found on disk.
struct DiskEntry {
    path: PathBuf,
    bytes: u64,
    modified: SystemTime,
}

pub struct ResultCache<V> {
    dir: PathBuf,
    memory: BoundedCache<ContentKey, V>,
    counts: LiveCounts,
    /// Serializes this process's read-modify-write of `stats.json`.
    flush: std::sync::Mutex<()>,
    /// The shared tier behind the disk (`[cache.remote]`, `CLNRM_REMOTE_CACHE`).
    remote: Option<RemoteTier>,
    /// Problems setting the remote up (a bad URL), said once by `finish_remote`.
    notes: std::sync::Mutex<Vec<String>>,
    /// Keys `prefetch` just found absent from the remote: the next `get` does not ask again.
    absent: std::sync::Mutex<std::collections::HashSet<ContentKey>>,
}

/// Remote lookups `prefetch` makes at once.
const PREFETCH_THREADS: usize = 8;

/// The default directory: `<cache.dir>/results` under the workspace root.
pub fn default_dir(root: &Path, config: &crate::config::Config) -> PathBuf {
    config.cache_dir(root).join("results")
}

impl<V: Serialize + DeserializeOwned + Clone> ResultCache<V> {
    pub fn new(dir: impl Into<PathBuf>, memory_entries: usize) -> Self {
        Self {
            dir: dir.into(),
            memory: BoundedCache::new(memory_entries, MEMORY_BYTES),
            counts: LiveCounts::default(),
            flush: std::sync::Mutex::new(()),
            remote: None,
            notes: std::sync::Mutex::new(Vec::new()),
            absent: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// The cache of a workspace as configured (`[cache]` of `.clnrm/config.toml`, and the
    /// environment's remote).
    pub fn for_workspace(root: &Path, config: &crate::config::Config) -> Self {
        Self::new(default_dir(root, config), config.cache.memory_entries)
            .with_configured_remote(config)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<hex[0..2]>/<hex>.json`
    pub fn path_of(&self, key: &ContentKey) -> PathBuf {
        let hex = key.to_hex();
        self.dir.join(&hex[..2]).join(format!("{hex}.json"))
    }

    /// Memory first, then disk (a disk hit is promoted into memory), then the remote (a
    /// verified remote hit is written to disk).
    pub fn get(&self, key: &ContentKey) -> Option<V> {
        self.lookup(key, true)
    }

    /// [`get`](Self::get) without the remote: for paths that must never wait on the
    /// network (the editor's lenses, asked on every edit; `prefetch` brings remote hits
    /// to disk beforehand where it matters).
    pub fn get_local(&self, key: &ContentKey) -> Option<V> {
        self.lookup(key, false)
    }

    fn lookup(&self, key: &ContentKey, remote: bool) -> Option<V> {
        if let Some(v) = self.memory.get(key) {
            self.counts.hits.fetch_add(1, Ordering::Relaxed);
            self.counts.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Some(v);
        }
        let started = Instant::now();
        // Absent, or removed by another process between listing and reading: a miss.
        if let Ok(bytes) = read_bytes(&self.path_of(key), Some(&self.dir), MAX_READ_BYTES) {
            match decode::<V>(&bytes, &key.to_hex()) {
                Some(value) => {
                    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    self.counts
                        .restore_micros
                        .fetch_add(micros, Ordering::Relaxed);
                    self.counts.hits.fetch_add(1, Ordering::Relaxed);
                    self.counts.disk_hits.fetch_add(1, Ordering::Relaxed);
                    self.memory.insert(*key, value.clone(), bytes.len());
                    return Some(value);
                }
                None => {
                    self.counts.corrupt.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let prefetched_absent = self
            .absent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        if remote && !prefetched_absent {
            if let Some(value) = self.remote_get(key) {
                self.counts.hits.fetch_add(1, Ordering::Relaxed);
                return Some(value);
            }
        }
        self.counts.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// The entry memory or disk holds for `key`, uncounted and without asking the remote
    /// (for planning: the durations shards are balanced by must not depend on timing).
    pub fn peek(&self, key: &ContentKey) -> Option<V> {
        if let Some(v) = self.memory.get(key) {
            return Some(v);
        }
        let bytes = read_bytes(&self.path_of(key), Some(&self.dir), MAX_READ_BYTES).ok()?;
        decode::<V>(&bytes, &key.to_hex())
    }

    /// Look the keys that memory and disk lack up in the remote, several at once, so the
    /// `get`s that follow answer from disk (a remote's latency is paid once per batch, not
    /// once per scenario). Without a remote, nothing.
    pub fn prefetch(&self, keys: impl IntoIterator<Item = ContentKey>)
    where
        V: Send + Sync,
    {
        if self.remote.is_none() {
            return;
        }
        let wanted: Vec<ContentKey> = keys
            .into_iter()
            .filter(|k| self.memory.get(k).is_none() && !self.path_of(k).exists())
            .collect();
        // Only the latest batch's misses are remembered (bounded; an older batch's `get`s
        // ask the remote again, which costs time, never correctness).
        self.absent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        if wanted.is_empty() {
            return;
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let fetch = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(key) = wanted.get(i) else { break };
            if self.remote_get(key).is_none() {
                self.absent
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(*key);
            }
        };
        std::thread::scope(|s| {
            for _ in 1..PREFETCH_THREADS.min(wanted.len()) {
                s.spawn(fetch);
            }
            fetch();
        });
    }

    /// A verified remote entry, written to disk and memory.
    fn remote_get(&self, key: &ContentKey) -> Option<V> {
        let remote = self.remote.as_ref()?;
        let hex = key.to_hex();
        let Fetched::Entry(payload) = remote.get(&hex) else {
            return None;
        };
        let Some(value) = decode::<V>(&payload, &hex) else {
            remote.refused_payload();
            return None;
        };
        if let Err(e) = crate::documents::fs::write_atomic(&self.path_of(key), &payload) {
            tracing::debug!("remote hit not written to disk: {e}");
        }
        self.memory.insert(*key, value.clone(), payload.len());
        Some(value)
    }

    /// Store `value` in memory and (atomically) on disk, replacing any previous entry.
    pub fn put(&self, key: &ContentKey, value: &V) -> io::Result<()> {
        let hex = key.to_hex();
        let envelope = EnvelopeRef {
            format: RESULT_FORMAT,
            engine: crate::ENGINE_VERSION,
            key: &hex,
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            value,
        };
        let bytes = serde_json::to_vec(&envelope).map_err(io::Error::other)?;
        crate::documents::fs::write_atomic(&self.path_of(key), &bytes)?;
        self.memory.insert(*key, value.clone(), bytes.len());
        if let Some(remote) = &self.remote {
            remote.put(&hex, &bytes);
        }
        self.flush_stats();
        Ok(())
    }

    /// Remove entries older than `max_age`, then the oldest until at most `max_bytes` remain.
    pub fn prune(&self, max_bytes: u64, max_age: Duration) -> io::Result<PruneReport> {
        let mut entries = self.scan()?;
        entries.sort_by_key(|e| e.modified);
        let now = SystemTime::now();
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        let mut report = PruneReport::default();
        for e in entries {
            let age = now.duration_since(e.modified).unwrap_or(Duration::ZERO);
            if age > max_age || total > max_bytes {
                remove_tolerant(&e.path)?;
                total -= e.bytes;
                report.removed += 1;
                report.freed_bytes += e.bytes;
            } else {
                report.kept += 1;
                report.kept_bytes += e.bytes;
            }
        }
        self.remove_stale_temp_files()?;
        if report.removed > 0 {
            // Memory must not answer for entries the disk no longer has.
            self.memory.clear();
        }
        Ok(report)
    }

    /// Temp files of writers that died before their rename (an hour old: no live writer).
    fn remove_stale_temp_files(&self) -> io::Result<()> {
        let Ok(shards) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        let cutoff = SystemTime::now()
            .checked_sub(Duration::from_secs(3600))
            .unwrap_or(UNIX_EPOCH);
        for shard in shards.flatten() {
            let Ok(files) = std::fs::read_dir(shard.path()) else {
                continue;
            };
            for file in files.flatten() {
                let is_temp = file
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(".tmp"));
                let old = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t < cutoff);
                if is_temp && old {
                    remove_tolerant(&file.path())?;
                }
            }
        }
        Ok(())
    }

    /// Remove every entry (memory and disk).
    pub fn clear(&self) -> io::Result<u64> {
        self.memory.clear();
        let entries = self.scan()?;
        for e in &entries {
            remove_tolerant(&e.path)?;
        }
        remove_tolerant(&self.dir.join(STATS_FILE))?;
        self.counts.read(true);
        if let Some(r) = &self.remote {
            r.counts(true);
        }
        Ok(entries.len() as u64)
    }

    /// Check every entry file; with `delete`, remove the corrupt ones.
    pub fn verify(&self, delete: bool) -> io::Result<VerifyReport> {
        let mut report = VerifyReport {
            deleted: delete,
            ..VerifyReport::default()
        };
        for e in self.scan()? {
            let Some(stem) = e.path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            // A FIFO, a device or a link out of the cache is a bad entry, not an error.
            let bytes = match read_bytes(&e.path, Some(&self.dir), MAX_READ_BYTES) {
                Ok(b) => b,
                Err(err) if err.is_not_found() => continue,
                Err(ReadError::Io(err)) => return Err(err),
                Err(_) => Vec::new(),
            };
            if decode::<V>(&bytes, stem).is_some() {
                report.ok += 1;
            } else {
                if delete {
                    remove_tolerant(&e.path)?;
                }
                report.corrupt.push(e.path);
            }
        }
        report.corrupt.sort();
        Ok(report)
    }

    /// Counters of every process that used the directory (see `flush_stats`), plus its size.
    pub fn stats(&self) -> io::Result<ResultCacheStats> {
        let entries = self.scan()?;
        let c = self.persisted().add(self.live(false));
        let mean = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
        let r = c.remote;
        let remote = RemoteStats {
            url: self
                .remote
                .as_ref()
                .map(|t| t.settings().url.shown().to_string()),
            read_only: self.remote.as_ref().is_some_and(RemoteTier::read_only),
            signed: self
                .remote
                .as_ref()
                .is_some_and(|t| t.settings().signing_key.is_some()),
            hits: r.hits,
            misses: r.misses,
            verify_failures: r.verify_failures,
            errors: r.errors,
            uploads: r.uploads,
            uploads_dropped: r.uploads_dropped,
            bytes_down: r.bytes_down,
            bytes_up: r.bytes_up,
            mean_lookup_micros: r.mean_lookup_micros(),
        };
        Ok(ResultCacheStats {
            hits: c.hits,
            misses: c.misses,
            corrupt: c.corrupt,
            memory_hits: c.memory_hits,
            disk_hits: c.disk_hits,
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.bytes).sum(),
            mean_restore_micros: mean(c.restore_micros, c.disk_hits),
            runs: c.runs,
            mean_run_ms: mean(c.run_ms, c.runs),
            remote,
        })
    }

    /// Entry files (`*.json` in the two-hex-digit shard directories); a missing root is empty.
    fn scan(&self) -> io::Result<Vec<DiskEntry>> {
        let mut out = Vec::new();
        let shards = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for shard in shards {
            let shard = shard?.path();
            let is_shard = shard
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()));
            if !is_shard || !shard.is_dir() {
                continue;
            }
            let files = match std::fs::read_dir(&shard) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for file in files {
                let file = file?;
                let path = file.path();
                if path.extension().and_then(|e| e.to_str()) != Some("json") {
                    continue; // temp files of writers in progress
                }
                let meta = match file.metadata() {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                out.push(DiskEntry {
                    path,
                    bytes: meta.len(),
                    modified: meta.modified().unwrap_or(UNIX_EPOCH),
                });
            }
        }
        Ok(out)
    }
}

/// The value of an entry file, if it is whole, ours, of this engine and for `hex`.
/// Counters need no bound on `V`, so a drop can save them.
impl<V> ResultCache<V> {
    /// Count a scenario run that took `ms` (for the mean run time).
    pub fn record_run(&self, ms: u64) {
        self.counts.runs.fetch_add(1, Ordering::Relaxed);
        self.counts.run_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Add this instance's counts to `stats.json` (atomically replaced; a lost race between
    /// two processes loses counts, never the cache). Called on `put` and on drop.
    pub fn flush_stats(&self) {
        let _guard = self.flush.lock().unwrap_or_else(|p| p.into_inner());
        let delta = self.live(true);
        // Lookups alone never create the directory: opening a file in a folder without
        // a cache must leave no trace there.
        if delta == Counts::default() || !self.dir.is_dir() {
            return;
        }
        let total = self.persisted().add(delta);
        let written = serde_json::to_vec(&total)
            .map_err(io::Error::other)
            .and_then(|b| crate::documents::fs::write_atomic(&self.dir.join(STATS_FILE), &b));
        if let Err(e) = written {
            tracing::debug!("cache stats not saved: {e}");
        }
    }

    /// This instance's counts, the remote tier's included.
    fn live(&self, take: bool) -> Counts {
        let mut c = self.counts.read(take);
        if let Some(r) = &self.remote {
            c.remote = r.counts(take);
        }
        c
    }

    /// Attach the remote tier `[cache.remote]` and the environment configure, if any. The
    /// tier connects on first use; a bad URL is a note for `finish_remote`, not an error.
    pub fn with_configured_remote(mut self, config: &crate::config::Config) -> Self {
        let opened = RemoteSettings::resolve(&config.cache.remote, |k| std::env::var(k).ok())
            .and_then(|s| s.map(RemoteTier::open).transpose());
        match opened {
            Ok(tier) => self.remote = tier,
            Err(e) => self.note(e),
        }
        self
    }

    pub fn with_remote(mut self, tier: RemoteTier) -> Self {
        self.remote = Some(tier);
        self
    }

    pub fn remote(&self) -> Option<&RemoteTier> {
        self.remote.as_ref()
    }

    /// The editor's role: the remote is read, not written, unless the settings say so.
    pub fn remote_read_only_by_default(&mut self, read_only: bool) {
        if let Some(r) = &mut self.remote {
            r.default_read_only(read_only);
        }
    }

    fn note(&self, message: String) {
        tracing::warn!("{message}");
        self.notes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    /// Wait for the remote uploads (within one upload timeout), save the counters, and
    /// return this run's remote warnings (each once, credentials masked) for the face to
    /// show. Call before exiting.
    pub fn finish_remote(&self) -> Vec<String> {
        let mut out = std::mem::take(&mut *self.notes.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(r) = &self.remote {
            out.extend(r.finish(r.upload_deadline()));
        }
        self.flush_stats();
        out
    }

    fn persisted(&self) -> Counts {
        read_bytes(&self.dir.join(STATS_FILE), Some(&self.dir), MAX_READ_BYTES)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

impl<V> Drop for ResultCache<V> {
    fn drop(&mut self) {
        self.flush_stats();
    }
}

fn decode<V: DeserializeOwned>(bytes: &[u8], hex: &str) -> Option<V> {
    let env: Envelope<V> = serde_json::from_slice(bytes).ok()?;
    (env.format == RESULT_FORMAT && env.engine == crate::ENGINE_VERSION && env.key == hex)
        .then_some(env.value)
}

fn remove_tolerant(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Run {
        passed: bool,
        spans: Vec<String>,
    }

    fn key(n: u8) -> ContentKey {
        ContentKey([n; 32])
    }

    fn run(n: usize) -> Run {
        Run {
            passed: n % 2 == 0,
            spans: (0..n).map(|i| format!("span-{i}")).collect(),
        }
    }

    #[test]
    fn put_then_get_from_a_fresh_instance_reads_disk() {
        let dir = tempfile::tempdir().unwrap();
        let a = ResultCache::<Run>::new(dir.path(), 8);
        a.put(&key(1), &run(3)).unwrap();
        let b = ResultCache::<Run>::new(dir.path(), 8);
        assert_eq!(b.get(&key(1)), Some(run(3)));
        assert_eq!(b.get(&key(1)), Some(run(3)));
        let s = b.stats().unwrap();
        assert_eq!((s.hits, s.disk_hits, s.memory_hits), (2, 1, 1));
        assert_eq!(s.entries, 1);
        assert!(s.bytes > 0);
        assert_eq!(b.get(&key(2)), None);
        assert_eq!(b.stats().unwrap().misses, 1);
        let hex = key(1).to_hex();
        assert!(dir
            .path()
            .join(&hex[..2])
            .join(format!("{hex}.json"))
            .is_file());
    }

    #[test]
    fn counters_are_shared_through_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        {
            let editor = ResultCache::<Run>::new(dir.path(), 8);
            editor.record_run(100);
            editor.record_run(300);
            editor.put(&key(1), &run(1)).unwrap();
            assert_eq!(editor.get(&key(1)), Some(run(1)));
            assert_eq!(editor.get(&key(2)), None);
        } // dropped: its last counts are saved
        let ci = ResultCache::<Run>::new(dir.path(), 8);
        assert!(ci.get(&key(1)).is_some());
        let s = ci.stats().unwrap();
        assert_eq!((s.hits, s.misses, s.disk_hits, s.memory_hits), (2, 1, 1, 1));
        assert_eq!(s.runs, 2);
        assert!((s.mean_run_ms - 200.0).abs() < 1e-9);
        assert!(s.mean_restore_micros > 0.0);
        // Lookups in a directory that does not exist create nothing.
        let elsewhere = dir.path().join("none");
        drop({
            let c = ResultCache::<Run>::new(&elsewhere, 8);
            assert_eq!(c.get(&key(1)), None);
            c
        });
        assert!(!elsewhere.exists());
        // Clearing resets them; the stats file is not an entry.
        assert_eq!(ci.verify(false).unwrap().corrupt.len(), 0);
        ci.clear().unwrap();
        assert_eq!(ci.stats().unwrap().hits, 0);
    }

    #[test]
    fn corrupt_entry_is_a_counted_miss_and_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path(), 8);
        let path = c.path_of(&key(7));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(c.get(&key(7)), None);
        let s = c.stats().unwrap();
        assert_eq!((s.corrupt, s.misses), (1, 1));
        c.put(&key(7), &run(2)).unwrap();
        let fresh = ResultCache::<Run>::new(dir.path(), 8);
        assert_eq!(fresh.get(&key(7)), Some(run(2)));
    }

    #[test]
    fn special_file_entries_are_misses_not_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path(), 8);
        c.put(&key(3), &run(1)).unwrap();
        let good = c.path_of(&key(3));
        for k in [1, 2] {
            std::fs::create_dir_all(c.path_of(&key(k)).parent().unwrap()).unwrap();
        }
        std::os::unix::fs::symlink("/dev/zero", c.path_of(&key(1))).unwrap();
        crate::documents::fs::testing::mkfifo(&c.path_of(&key(2)));
        // A valid entry, but outside the cache: not read.
        let moved = outside.path().join("entry.json");
        std::fs::rename(&good, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &good).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(STATS_FILE)).unwrap();
        let fresh = ResultCache::<Run>::new(dir.path(), 8);
        for k in [1, 2, 3] {
            assert_eq!(fresh.get(&key(k)), None, "key {k}");
        }
        let report = fresh.verify(false).unwrap();
        assert_eq!(report.ok, 0);
    }

    #[test]
    fn truncated_wrong_key_and_wrong_format_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path(), 8);
        c.put(&key(1), &run(5)).unwrap();
        let good = std::fs::read(c.path_of(&key(1))).unwrap();
        // Truncated.
        std::fs::write(c.path_of(&key(1)), &good[..good.len() / 2]).unwrap();
        // Whole but filed under another key.
        std::fs::create_dir_all(c.path_of(&key(2)).parent().unwrap()).unwrap();
        std::fs::write(c.path_of(&key(2)), &good).unwrap();
        // Another format version.
        let text = String::from_utf8(good)
            .unwrap()
            .replace("\"format\":1", "\"format\":99");
        std::fs::create_dir_all(c.path_of(&key(3)).parent().unwrap()).unwrap();
        std::fs::write(
            c.path_of(&key(3)),
            text.replace(&key(1).to_hex(), &key(3).to_hex()),
        )
        .unwrap();
        let fresh = ResultCache::<Run>::new(dir.path(), 8);
        for k in [1, 2, 3] {
            assert_eq!(fresh.get(&key(k)), None, "key {k}");
        }
        assert_eq!(fresh.stats().unwrap().corrupt, 3);
        let report = fresh.verify(false).unwrap();
        assert_eq!(report.ok, 0);
        assert_eq!(report.corrupt.len(), 3);
    }

    #[test]
    fn concurrent_writers_of_one_key_never_expose_a_torn_entry() {
        let dir = tempfile::tempdir().unwrap();
        let big = |n: usize| Run {
            passed: true,
            spans: vec![format!("{n}").repeat(2000); 50],
        };
        std::thread::scope(|s| {
            for w in 0..3 {
                let path = dir.path().to_path_buf();
                s.spawn(move || {
                    let c = ResultCache::<Run>::new(path, 1);
                    for _ in 0..20 {
                        c.put(&key(9), &big(w)).unwrap();
                    }
                });
            }
            let path = dir.path().to_path_buf();
            s.spawn(move || {
                for _ in 0..200 {
                    // A fresh instance each time, so every read goes to disk.
                    let c = ResultCache::<Run>::new(&path, 1);
                    if let Some(v) = c.get(&key(9)) {
                        assert!(v.spans.iter().all(|sp| sp == &v.spans[0]));
                    }
                    assert_eq!(c.stats().unwrap().corrupt, 0);
                }
            });
        });
        let c = ResultCache::<Run>::new(dir.path(), 1);
        assert!(c.get(&key(9)).is_some());
        assert_eq!(c.verify(false).unwrap().ok, 1);
    }

    #[test]
    fn prune_removes_oldest_first_by_size_and_all_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path(), 8);
        for k in 1..=4u8 {
            c.put(&key(k), &run(10)).unwrap();
            // Distinct modification times, oldest = key 1.
            let f = std::fs::File::options()
                .write(true)
                .open(c.path_of(&key(k)))
                .unwrap();
            f.set_modified(UNIX_EPOCH + Duration::from_secs(2_000_000_000 + u64::from(k)))
                .unwrap();
        }
        let each = c.stats().unwrap().bytes / 4;
        let report = c
            .prune(each * 2, Duration::from_secs(u64::MAX / 4))
            .unwrap();
        assert_eq!((report.removed, report.kept), (2, 2));
        let fresh = ResultCache::<Run>::new(dir.path(), 8);
        assert_eq!(fresh.get(&key(1)), None);
        assert_eq!(fresh.get(&key(2)), None);
        assert_eq!(fresh.get(&key(3)), Some(run(10)));
        assert_eq!(fresh.get(&key(4)), Some(run(10)));

        // By age: an entry dated long ago goes, a fresh one stays.
        let old = std::fs::File::options()
            .write(true)
            .open(c.path_of(&key(3)))
            .unwrap();
        old.set_modified(UNIX_EPOCH + Duration::from_secs(1))
            .unwrap();
        c.put(&key(5), &run(1)).unwrap();
        let report = c.prune(u64::MAX, Duration::from_secs(3600)).unwrap();
        assert_eq!(report.removed, 1);
        assert_eq!(c.get(&key(3)), None);
        assert_eq!(c.get(&key(5)), Some(run(1)));
    }

    #[test]
    fn prune_removes_temp_files_of_dead_writers_only() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path(), 8);
        c.put(&key(1), &run(1)).unwrap();
        let shard = c.path_of(&key(1)).parent().unwrap().to_path_buf();
        let stale = shard.join(".tmpDEAD");
        let live = shard.join(".tmpLIVE");
        std::fs::write(&stale, b"{").unwrap();
        std::fs::write(&live, b"{").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(UNIX_EPOCH + Duration::from_secs(1))
            .unwrap();
        c.prune(u64::MAX, Duration::from_secs(3600)).unwrap();
        assert!(!stale.exists());
        assert!(live.exists());
        assert_eq!(c.get(&key(1)), Some(run(1)));
    }

    #[test]
    fn clear_empties_memory_and_disk() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path(), 8);
        c.put(&key(1), &run(1)).unwrap();
        c.put(&key(2), &run(2)).unwrap();
        assert_eq!(c.clear().unwrap(), 2);
        assert_eq!(c.get(&key(1)), None);
        assert_eq!(c.stats().unwrap().entries, 0);
    }

    #[test]
    fn verify_reports_and_optionally_deletes_corrupt_entries() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path(), 8);
        c.put(&key(1), &run(1)).unwrap();
        let bad = c.path_of(&key(2));
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(&bad, b"").unwrap();
        let report = c.verify(false).unwrap();
        assert_eq!(report.ok, 1);
        assert_eq!(report.corrupt, vec![bad.clone()]);
        assert!(bad.exists());
        let report = c.verify(true).unwrap();
        assert_eq!(report.corrupt.len(), 1);
        assert!(!bad.exists());
        assert!(c.verify(false).unwrap().corrupt.is_empty());
    }

    #[test]
    fn a_remote_hit_is_verified_written_to_disk_and_prefetched_at_once() {
        use crate::cache::remote::testing::{settings, MemStore};
        let url = (crate::cache::remote::URL_ENV, "http://127.0.0.1:1/c");
        let store = MemStore::default();
        let tier = || RemoteTier::with_store(settings(&[url]), Box::new(store.clone()));
        let ci_dir = tempfile::tempdir().unwrap();
        let ci = ResultCache::<Run>::new(ci_dir.path(), 8).with_remote(tier());
        for k in 1..=4 {
            ci.put(&key(k), &run(k as usize)).unwrap();
        }
        assert!(ci.finish_remote().is_empty());

        let laptop_dir = tempfile::tempdir().unwrap();
        let laptop = ResultCache::<Run>::new(laptop_dir.path(), 8).with_remote(tier());
        let before = store.calls.load(std::sync::atomic::Ordering::SeqCst);
        laptop.prefetch([key(1), key(2), key(3), key(9)]);
        let calls = store.calls.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert_eq!(calls, 4);
        for k in 1..=3 {
            assert_eq!(laptop.get(&key(k)), Some(run(k as usize)));
            assert!(
                laptop.path_of(&key(k)).is_file(),
                "remote hit {k} not on disk"
            );
        }
        // The prefetched miss is not asked for again; a lone key is.
        assert_eq!(laptop.get(&key(9)), None);
        assert_eq!(laptop.get(&key(4)), Some(run(4)));
        let total = store.calls.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert_eq!(total, 5);
        let s = laptop.stats().unwrap();
        assert_eq!((s.hits, s.misses), (4, 1));
        assert_eq!(
            (s.remote.hits, s.remote.misses, s.remote.verify_failures),
            (4, 1, 0)
        );

        // A payload that passes the wire checks but is not an entry of this key is refused.
        let bad_payload = br#"{"format":1,"engine":"x","key":"y","created_unix":0,"value":{}}"#;
        let wire = super::super::remote::testing::wire(&key(5).to_hex(), bad_payload);
        store.map.lock().unwrap().insert(key(5).to_hex(), wire);
        assert_eq!(laptop.get(&key(5)), None);
        assert_eq!(laptop.stats().unwrap().remote.verify_failures, 1);
    }

    #[test]
    fn missing_directory_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::<Run>::new(dir.path().join("nope"), 8);
        assert_eq!(c.stats().unwrap().entries, 0);
        assert_eq!(c.verify(false).unwrap().ok, 0);
        assert_eq!(c.clear().unwrap(), 0);
    }
}
