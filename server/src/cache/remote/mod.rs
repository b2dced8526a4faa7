//! The remote tier of the result cache: a store shared by clones, machines and CI, behind
//! memory and disk (`ResultCache` asks it last and writes its hits to disk).
//!
//! Never wrong: every entry is verified on restore (`entry`). Never blocking: lookups have
//! a short timeout; the first failure is one warning and the remote is skipped for a while
//! (a down or hung remote costs one timeout per run, not one per scenario); uploads run on
//! one background thread and [`RemoteTier::finish`] waits for them, within a deadline.

mod entry;
mod store;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use entry::Refusal;
pub use store::{RemoteUrl, Store, StoreError, MAX_ENTRY_BYTES};

use crate::config::RemoteConfig;

/// Environment variables: the URL (wins over `[cache.remote] url`), read-only, signing key.
pub const URL_ENV: &str = "CLNRM_REMOTE_CACHE";
pub const READ_ONLY_ENV: &str = "CLNRM_REMOTE_CACHE_READ_ONLY";
pub const SIGNING_KEY_ENV: &str = "CLNRM_CACHE_SIGNING_KEY";

/// After a failure the remote is left alone this long (the rest of a typical run).
const COOL_DOWN: Duration = Duration::from_secs(60);
/// Uploads waiting at most; beyond that they are dropped (and counted).
const UPLOAD_QUEUE: usize = 4096;
/// Bounds of the configured timeouts.
const MAX_TIMEOUT: Duration = Duration::from_secs(120);

/// The remote as configured: where, how long to wait, whether to write, what key signs.
#[derive(Clone)]
pub struct RemoteSettings {
    pub url: RemoteUrl,
    /// Explicitly set (config or environment); `None` leaves it to the caller's role.
    pub read_only: Option<bool>,
    pub connect_timeout: Duration,
    pub lookup_timeout: Duration,
    pub upload_timeout: Duration,
    pub signing_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for RemoteSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSettings")
            .field("url", &self.url)
            .field("read_only", &self.read_only)
            .field("signed", &self.signing_key.is_some())
            .finish()
    }
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms.max(1)).min(MAX_TIMEOUT)
}

impl RemoteSettings {
    /// The remote of `[cache.remote]` overlaid with the environment (`env` reads a
    /// variable); `Ok(None)` when none is configured.
    pub fn resolve(
        config: &RemoteConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<RemoteSettings>, String> {
        let url = env(URL_ENV)
            .filter(|u| !u.trim().is_empty())
            .or_else(|| config.url.clone().filter(|u| !u.trim().is_empty()));
        let Some(url) = url else {
            return Ok(None);
        };
        let url = RemoteUrl::parse(&url)?;
        let read_only = match env(READ_ONLY_ENV).as_deref().map(str::trim) {
            Some("1" | "true" | "yes" | "on") => Some(true),
            Some("0" | "false" | "no" | "off") => Some(false),
            _ => config.read_only,
        };
        Ok(Some(RemoteSettings {
            url,
            read_only,
            connect_timeout: millis(config.connect_timeout_ms),
            lookup_timeout: millis(config.lookup_timeout_ms),
            upload_timeout: millis(config.upload_timeout_ms),
            signing_key: env(SIGNING_KEY_ENV)
                .filter(|k| !k.is_empty())
                .map(String::into_bytes),
        }))
    }
}

/// Remote counters, persisted with the cache's others in `stats.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteCounts {
    pub hits: u64,
    pub misses: u64,
    /// Entries refused on restore: damaged, foreign or (for a signing reader) unsigned.
    pub verify_failures: u64,
    /// Lookups and uploads the remote did not answer (down, slow, refusing).
    pub errors: u64,
    pub uploads: u64,
    /// Uploads dropped: queue full, remote failing, or abandoned at exit.
    pub uploads_dropped: u64,
    pub bytes_down: u64,
    pub bytes_up: u64,
    /// Lookups that reached the remote and their total time.
    pub lookups: u64,
    pub lookup_micros: u64,
}

impl RemoteCounts {
    pub fn plus(self, o: RemoteCounts) -> RemoteCounts {
        RemoteCounts {
            hits: self.hits.saturating_add(o.hits),
            misses: self.misses.saturating_add(o.misses),
            verify_failures: self.verify_failures.saturating_add(o.verify_failures),
            errors: self.errors.saturating_add(o.errors),
            uploads: self.uploads.saturating_add(o.uploads),
            uploads_dropped: self.uploads_dropped.saturating_add(o.uploads_dropped),
            bytes_down: self.bytes_down.saturating_add(o.bytes_down),
            bytes_up: self.bytes_up.saturating_add(o.bytes_up),
            lookups: self.lookups.saturating_add(o.lookups),
            lookup_micros: self.lookup_micros.saturating_add(o.lookup_micros),
        }
    }

    pub fn mean_lookup_micros(&self) -> f64 {
        if self.lookups == 0 {
            0.0
        } else {
            self.lookup_micros as f64 / self.lookups as f64
        }
    }
}

#[derive(Default)]
struct LiveRemoteCounts {
    hits: AtomicU64,
    misses: AtomicU64,
    verify_failures: AtomicU64,
    errors: AtomicU64,
    uploads: AtomicU64,
    uploads_dropped: AtomicU64,
    bytes_down: AtomicU64,
    bytes_up: AtomicU64,
    lookups: AtomicU64,
    lookup_micros: AtomicU64,
}

impl LiveRemoteCounts {
    fn read(&self, take: bool) -> RemoteCounts {
        let get = |a: &AtomicU64| crate::cache::counter(a, take);
        RemoteCounts {
            hits: get(&self.hits),
            misses: get(&self.misses),
            verify_failures: get(&self.verify_failures),
            errors: get(&self.errors),
            uploads: get(&self.uploads),
            uploads_dropped: get(&self.uploads_dropped),
            bytes_down: get(&self.bytes_down),
            bytes_up: get(&self.bytes_up),
            lookups: get(&self.lookups),
            lookup_micros: get(&self.lookup_micros),
        }
    }
}

fn bump(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// What a remote lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// A verified payload (the bytes the disk cache stores).
    Entry(Vec<u8>),
    Miss,
}

/// State shared with the upload thread.
struct Shared {
    store: Box<dyn Store>,
    settings: RemoteSettings,
    counts: LiveRemoteCounts,
    /// Until when the remote is skipped after a failure.
    off_until: Mutex<Option<Instant>>,
    /// Uploads failed once: no more this run.
    uploads_off: AtomicBool,
    /// The warnings of this run, each said once.
    warned: AtomicBool,
    warnings: Mutex<Vec<String>>,
}

impl Shared {
    fn is_off(&self) -> bool {
        let off = self.off_until.lock().unwrap_or_else(|p| p.into_inner());
        off.is_some_and(|until| Instant::now() < until)
    }

    fn failed(&self, what: &str, e: &StoreError) {
        bump(&self.counts.errors, 1);
        *self.off_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + COOL_DOWN);
        if !self.warned.swap(true, Ordering::SeqCst) {
            self.warn(format!(
                "remote cache {}: {what} failed ({}); running without it",
                self.settings.url.shown(),
                self.settings.url.mask(&e.0)
            ));
        }
    }

    fn warn(&self, message: String) {
        tracing::warn!("{message}");
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    fn upload(&self, key_hex: &str, wire: &[u8]) {
        if self.uploads_off.load(Ordering::Relaxed) || self.is_off() {
            bump(&self.counts.uploads_dropped, 1);
            return;
        }
        match self.store.put(key_hex, wire, self.settings.upload_timeout) {
            Ok(()) => {
                bump(&self.counts.uploads, 1);
                bump(&self.counts.bytes_up, wire.len() as u64);
            }
            Err(e) => {
                self.uploads_off.store(true, Ordering::Relaxed);
                bump(&self.counts.uploads_dropped, 1);
                self.failed("upload", &e);
            }
        }
    }
}

struct Uploader {
    queue: SyncSender<(String, Vec<u8>)>,
    done: Receiver<()>,
}

/// The remote tier of one result cache.
pub struct RemoteTier {
    shared: Arc<Shared>,
    /// Whether this cache writes (settings, else its role's default).
    read_only: bool,
    uploader: Mutex<Option<Uploader>>,
}

impl RemoteTier {
    /// A tier over `settings` (read-write unless they say otherwise; see `set_role`).
    pub fn open(settings: RemoteSettings) -> Result<RemoteTier, String> {
        let store = settings.url.open(settings.connect_timeout)?;
        Ok(Self::with_store(settings, store))
    }

    pub fn with_store(settings: RemoteSettings, store: Box<dyn Store>) -> RemoteTier {
        RemoteTier {
            read_only: settings.read_only.unwrap_or(false),
            shared: Arc::new(Shared {
                store,
                settings,
                counts: LiveRemoteCounts::default(),
                off_until: Mutex::new(None),
                uploads_off: AtomicBool::new(false),
                warned: AtomicBool::new(false),
                warnings: Mutex::new(Vec::new()),
            }),
            uploader: Mutex::new(None),
        }
    }

    /// The editor reads only unless the settings say otherwise.
    pub fn default_read_only(&mut self, read_only: bool) {
        self.read_only = self.shared.settings.read_only.unwrap_or(read_only);
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn settings(&self) -> &RemoteSettings {
        &self.shared.settings
    }

    /// Look `key_hex` up. Every failure is a miss; verification failures are counted.
    pub fn get(&self, key_hex: &str) -> Fetched {
        let s = &self.shared;
        if s.is_off() {
            bump(&s.counts.misses, 1);
            return Fetched::Miss;
        }
        let started = Instant::now();
        let got = s.store.get(key_hex, s.settings.lookup_timeout);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let bytes = match got {
            Ok(Some(b)) => b,
            Ok(None) => {
                bump(&s.counts.lookups, 1);
                bump(&s.counts.lookup_micros, micros);
                bump(&s.counts.misses, 1);
                return Fetched::Miss;
            }
            Err(e) => {
                s.failed("lookup", &e);
                bump(&s.counts.misses, 1);
                return Fetched::Miss;
            }
        };
        bump(&s.counts.lookups, 1);
        bump(&s.counts.lookup_micros, micros);
        bump(&s.counts.bytes_down, bytes.len() as u64);
        let verified = (bytes.len() as u64 <= MAX_ENTRY_BYTES)
            .then_some(())
            .ok_or(Refusal::Damaged)
            .and_then(|()| entry::decode(&bytes, key_hex, s.settings.signing_key.as_deref()));
        match verified {
            Ok(payload) => {
                bump(&s.counts.hits, 1);
                Fetched::Entry(payload.to_vec())
            }
            Err(_) => {
                self.refused();
                Fetched::Miss
            }
        }
    }

    /// An entry whose wire format checked out but whose payload did not (counted as a
    /// verification failure, the hit taken back).
    pub fn refused_payload(&self) {
        let c = &self.shared.counts;
        c.hits.fetch_sub(1, Ordering::Relaxed);
        self.refused();
    }

    fn refused(&self) {
        bump(&self.shared.counts.verify_failures, 1);
        bump(&self.shared.counts.misses, 1);
    }

    /// Queue `payload` for upload (nothing when read-only). Never waits for the remote.
    pub fn put(&self, key_hex: &str, payload: &[u8]) {
        if self.read_only {
            return;
        }
        let wire = entry::encode(
            key_hex,
            payload,
            self.shared.settings.signing_key.as_deref(),
        );
        let mut uploader = self.uploader.lock().unwrap_or_else(|p| p.into_inner());
        let up = match &mut *uploader {
            Some(up) => up,
            None => match self.start_uploader() {
                Some(up) => uploader.insert(up),
                None => {
                    bump(&self.shared.counts.uploads_dropped, 1);
                    return;
                }
            },
        };
        match up.queue.try_send((key_hex.to_string(), wire)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                bump(&self.shared.counts.uploads_dropped, 1);
            }
        }
    }

    fn start_uploader(&self) -> Option<Uploader> {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<(String, Vec<u8>)>(UPLOAD_QUEUE);
        let (finished, done) = std::sync::mpsc::channel();
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("clnrm-cache-upload".into())
            .spawn(move || {
                for (key, wire) in jobs {
                    shared.upload(&key, &wire);
                }
                let _ = finished.send(());
            });
        match spawned {
            Ok(_) => Some(Uploader { queue, done }),
            Err(e) => {
                self.shared
                    .warn(format!("remote cache: no upload thread ({e})"));
                None
            }
        }
    }

    /// Wait for queued uploads, at most `deadline` (then they are abandoned with a
    /// warning). Returns the warnings of this run (each once), for the caller to show.
    pub fn finish(&self, deadline: Duration) -> Vec<String> {
        let uploader = self
            .uploader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(Uploader { queue, done }) = uploader {
            drop(queue);
            if done.recv_timeout(deadline).is_err() {
                self.shared.warn(format!(
                    "remote cache {}: uploads still pending after {} ms were abandoned",
                    self.shared.settings.url.shown(),
                    deadline.as_millis()
                ));
            }
        }
        std::mem::take(
            &mut *self
                .shared
                .warnings
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// The deadline `finish` is given by default: one upload's timeout.
    pub fn upload_deadline(&self) -> Duration {
        self.shared.settings.upload_timeout
    }

    /// This tier's counters (taken: reset to zero).
    pub fn counts(&self, take: bool) -> RemoteCounts {
        self.shared.counts.read(take)
    }
}

/// An in-memory store for tests, switchable to failing.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use std::collections::HashMap;

    /// An in-memory store that can be switched to failing.
    #[derive(Default, Clone)]
    pub struct MemStore {
        pub map: Arc<Mutex<HashMap<String, Vec<u8>>>>,
        pub down: Arc<AtomicBool>,
        pub calls: Arc<AtomicU64>,
    }

    impl Store for MemStore {
        fn get(&self, key: &str, _: Duration) -> Result<Option<Vec<u8>>, StoreError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError("connection refused".into()));
            }
            Ok(self.map.lock().unwrap().get(key).cloned())
        }
        fn put(&self, key: &str, bytes: &[u8], _: Duration) -> Result<(), StoreError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError("connection refused".into()));
            }
            self.map.lock().unwrap().insert(key.into(), bytes.to_vec());
            Ok(())
        }
    }

    /// The wire bytes of `payload` (unsigned).
    pub fn wire(key_hex: &str, payload: &[u8]) -> Vec<u8> {
        super::entry::encode(key_hex, payload, None)
    }

    /// Settings over `env` (a URL is needed; the store ignores it).
    pub fn settings(env: &[(&str, &str)]) -> RemoteSettings {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RemoteSettings::resolve(&RemoteConfig::default(), |k| env.get(k).cloned())
            .unwrap()
            .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{settings, MemStore};
    use super::*;

    const URL: (&str, &str) = (URL_ENV, "http://u:pw-secret@127.0.0.1:1/c");

    #[test]
    fn the_environment_wins_and_nothing_configured_is_no_remote() {
        let none = RemoteSettings::resolve(&RemoteConfig::default(), |_| None).unwrap();
        assert!(none.is_none());
        let config = RemoteConfig {
            url: Some("redis://127.0.0.1:1".into()),
            read_only: Some(false),
            ..RemoteConfig::default()
        };
        let s = RemoteSettings::resolve(&config, |k| match k {
            URL_ENV => Some("http://127.0.0.1:2/base".into()),
            READ_ONLY_ENV => Some("1".into()),
            _ => None,
        })
        .unwrap()
        .unwrap();
        assert_eq!(s.url.shown(), "http://127.0.0.1:2/base");
        assert_eq!(s.read_only, Some(true));
        assert!(s.lookup_timeout < Duration::from_secs(1));
        let bad = RemoteSettings::resolve(&config, |k| {
            (k == URL_ENV).then(|| "gopher://x:pw-secret@h".to_string())
        })
        .unwrap_err();
        assert!(!bad.contains("pw-secret"));
    }

    #[test]
    fn uploads_are_finished_and_a_second_tier_reads_them() {
        let store = MemStore::default();
        let writer = RemoteTier::with_store(settings(&[URL]), Box::new(store.clone()));
        writer.put("aa", b"payload-a");
        writer.put("bb", b"payload-b");
        assert!(writer.finish(Duration::from_secs(30)).is_empty());
        assert_eq!(writer.counts(false).uploads, 2);
        let reader = RemoteTier::with_store(settings(&[URL]), Box::new(store.clone()));
        assert_eq!(reader.get("aa"), Fetched::Entry(b"payload-a".to_vec()));
        assert_eq!(reader.get("cc"), Fetched::Miss);
        let c = reader.counts(false);
        assert_eq!((c.hits, c.misses, c.verify_failures), (1, 1, 0));
        assert!(c.bytes_down > 0);
    }

    #[test]
    fn a_read_only_tier_uploads_nothing_and_the_editor_defaults_to_it() {
        let store = MemStore::default();
        let mut editor = RemoteTier::with_store(settings(&[URL]), Box::new(store.clone()));
        editor.default_read_only(true);
        editor.put("aa", b"x");
        editor.finish(Duration::from_secs(30));
        assert!(store.map.lock().unwrap().is_empty());
        // Said explicitly, the user's choice wins over the role's default.
        let mut told = RemoteTier::with_store(
            settings(&[URL, (READ_ONLY_ENV, "false")]),
            Box::new(store.clone()),
        );
        told.default_read_only(true);
        assert!(!told.read_only());
    }

    #[test]
    fn signed_tiers_refuse_unsigned_and_tampered_entries() {
        let store = MemStore::default();
        let laptop = RemoteTier::with_store(settings(&[URL]), Box::new(store.clone()));
        laptop.put("aa", b"unsigned");
        laptop.finish(Duration::from_secs(30));
        let signed = [URL, (SIGNING_KEY_ENV, "ci-secret")];
        let ci = RemoteTier::with_store(settings(&signed), Box::new(store.clone()));
        ci.put("bb", b"signed");
        ci.finish(Duration::from_secs(30));
        let reader = RemoteTier::with_store(settings(&signed), Box::new(store.clone()));
        assert_eq!(reader.get("aa"), Fetched::Miss);
        assert_eq!(reader.get("bb"), Fetched::Entry(b"signed".to_vec()));
        *store
            .map
            .lock()
            .unwrap()
            .get_mut("bb")
            .unwrap()
            .last_mut()
            .unwrap() ^= 1;
        assert_eq!(reader.get("bb"), Fetched::Miss);
        assert_eq!(reader.counts(false).verify_failures, 2);
    }

    #[test]
    fn a_failing_remote_is_one_warning_and_then_left_alone() {
        let store = MemStore::default();
        store.down.store(true, Ordering::SeqCst);
        let tier = RemoteTier::with_store(settings(&[URL]), Box::new(store.clone()));
        for k in ["a1", "a2", "a3"] {
            assert_eq!(tier.get(k), Fetched::Miss);
            tier.put(k, b"x");
        }
        let warnings = tier.finish(Duration::from_secs(30));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(!warnings[0].contains("pw-secret"), "{warnings:?}");
        assert!(warnings[0].contains("127.0.0.1:1"));
        // One call reached the store; the rest were skipped.
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
        let c = tier.counts(false);
        assert_eq!((c.errors, c.misses, c.uploads_dropped), (1, 3, 3));
    }
}
