//! The storage behind the remote tier: one blocking client per protocol, called from the
//! run workers' threads (never from the LSP's async runtime).
//!
//! - `http(s)://host/base`: Bazel's HTTP cache protocol, `GET`/`PUT {base}/ac/{key}`
//!   (bazel-remote, nginx with WebDAV, any server that stores what it is `PUT`), with `ureq`.
//! - `redis://[user:password@]host[:port][/db]`: `GET`/`SET clnrm:ac:{key}`, with `redis`.
//! - `s3://bucket/prefix?endpoint=…&region=…`: `GetObject`/`PutObject {prefix}/ac/{key}`
//!   on any S3-compatible store, signed (SigV4) by `rusty-s3`, sent with `ureq`.

use std::io::Read as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::analysis::environment::{is_secret_name, MASK};

/// Entries larger than this are refused on read (a result is a few KiB to a few MiB).
pub const MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;

/// A remote that could not answer: down, slow, refusing or speaking something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

pub trait Store: Send + Sync {
    /// The entry named `key_hex`, `None` when the remote has none.
    fn get(&self, key_hex: &str, timeout: Duration) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&self, key_hex: &str, bytes: &[u8], timeout: Duration) -> Result<(), StoreError>;
}

/// A remote URL and how it may be shown: credentials and secret-looking query values
/// masked, by the engine's one rule for secrets (`is_secret_name`, `MASK`).
#[derive(Clone)]
pub struct RemoteUrl {
    url: url::Url,
    shown: String,
    /// Forms of the URL as given, shown as `shown`.
    raw: Vec<String>,
    /// Texts that must never be shown (the password, secret query values).
    secrets: Vec<String>,
}

impl std::fmt::Debug for RemoteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl RemoteUrl {
    pub fn parse(text: &str) -> Result<RemoteUrl, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| {
            // The text may hold credentials: name only the problem.
            format!("the remote cache URL is not a URL ({e})")
        })?;
        match url.scheme() {
            "http" | "https" | "redis" | "s3" => {}
            other => {
                return Err(format!(
                    "remote cache URLs are http://, https://, redis:// or s3://, not {other}://"
                ))
            }
        }
        let mut raw = vec![text.trim().to_string(), url.as_str().to_string()];
        raw.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut secrets = Vec::new();
        let mut shown = url.clone();
        if let Some(p) = url.password() {
            secrets.push(p.to_string());
            let _ = shown.set_password(Some(MASK));
        }
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if query.iter().any(|(k, _)| is_secret_name(k)) {
            let mut pairs = shown.query_pairs_mut();
            pairs.clear();
            for (k, v) in &query {
                if is_secret_name(k) {
                    secrets.push(v.clone());
                    pairs.append_pair(k, MASK);
                } else {
                    pairs.append_pair(k, v);
                }
            }
        }
        // Longest first, so a secret containing another is masked whole.
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let shown = percent_encoding::percent_decode_str(shown.as_str())
            .decode_utf8_lossy()
            .into_owned();
        Ok(RemoteUrl {
            url,
            shown,
            raw,
            secrets,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` (say, a client's error, which may quote the URL) with every secret masked.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for r in &self.raw {
            out = out.replace(r.as_str(), &self.shown);
        }
        for s in &self.secrets {
            out = out.replace(s.as_str(), MASK);
        }
        out
    }

    /// The client for this URL.
    pub fn open(&self, connect_timeout: Duration) -> Result<Box<dyn Store>, String> {
        match self.url.scheme() {
            "redis" => RedisStore::open(self, connect_timeout).map(|s| Box::new(s) as _),
            "s3" => S3Store::open(self, connect_timeout).map(|s| Box::new(s) as _),
            _ => Ok(Box::new(HttpStore::new(self, connect_timeout))),
        }
    }
}

/// Bazel's HTTP cache protocol.
struct HttpStore {
    agent: ureq::Agent,
    /// `{base}/ac/` without credentials.
    prefix: String,
    authorization: Option<String>,
    url: RemoteUrl,
}

impl HttpStore {
    fn new(url: &RemoteUrl, connect_timeout: Duration) -> HttpStore {
        let mut bare = url.url.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        let base = bare.as_str().trim_end_matches('/').to_string();
        let authorization =
            (!url.url.username().is_empty() || url.url.password().is_some()).then(|| {
                use base64::Engine as _;
                let user = percent_encoding::percent_decode_str(url.url.username())
                    .decode_utf8_lossy()
                    .into_owned();
                let pass = url
                    .url
                    .password()
                    .map(|p| {
                        percent_encoding::percent_decode_str(p)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .unwrap_or_default();
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
                )
            });
        HttpStore {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(connect_timeout)
                .build(),
            prefix: format!("{base}/ac/"),
            authorization,
            url: url.clone(),
        }
    }

    fn request(&self, method: &str, key_hex: &str, timeout: Duration) -> ureq::Request {
        let r = self
            .agent
            .request(method, &format!("{}{key_hex}", self.prefix))
            .timeout(timeout);
        match &self.authorization {
            Some(a) => r.set("Authorization", a),
            None => r,
        }
    }

    fn error(&self, e: ureq::Error) -> StoreError {
        StoreError(self.url.mask(&e.to_string()))
    }
}

impl Store for HttpStore {
    fn get(&self, key_hex: &str, timeout: Duration) -> Result<Option<Vec<u8>>, StoreError> {
        match self.request("GET", key_hex, timeout).call() {
            Ok(resp) => {
                let mut bytes = Vec::new();
                resp.into_reader()
                    .take(MAX_ENTRY_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| StoreError(self.url.mask(&e.to_string())))?;
                Ok(Some(bytes))
            }
            Err(ureq::Error::Status(404, _)) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn put(&self, key_hex: &str, bytes: &[u8], timeout: Duration) -> Result<(), StoreError> {
        self.request("PUT", key_hex, timeout)
            .set("Content-Type", "application/octet-stream")
            .send_bytes(bytes)
            .map(|_| ())
            .map_err(|e| self.error(e))
    }
}

/// Redis: one connection per concurrent caller, kept for the next.
struct RedisStore {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
    connect_timeout: Duration,
    url: RemoteUrl,
}

const REDIS_PREFIX: &str = "clnrm:ac:";

impl RedisStore {
    fn open(url: &RemoteUrl, connect_timeout: Duration) -> Result<RedisStore, String> {
        let client = redis::Client::open(url.url.as_str()).map_err(|e| url.mask(&e.to_string()))?;
        Ok(RedisStore {
            client,
            idle: Mutex::new(Vec::new()),
            connect_timeout,
            url: url.clone(),
        })
    }

    fn with_connection<T>(
        &self,
        timeout: Duration,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let err = |e: redis::RedisError| StoreError(self.url.mask(&e.to_string()));
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut con = match pooled {
            Some(c) => c,
            None => self
                .client
                .get_connection_with_timeout(self.connect_timeout)
                .map_err(err)?,
        };
        con.set_read_timeout(Some(timeout)).map_err(err)?;
        con.set_write_timeout(Some(timeout)).map_err(err)?;
        // A connection that failed is dropped, not pooled: its state is unknown.
        let value = f(&mut con).map_err(err)?;
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(con);
        Ok(value)
    }
}

impl Store for RedisStore {
    fn get(&self, key_hex: &str, timeout: Duration) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_connection(timeout, |con| {
            redis::cmd("GET")
                .arg(format!("{REDIS_PREFIX}{key_hex}"))
                .query::<Option<Vec<u8>>>(con)
        })
    }

    fn put(&self, key_hex: &str, bytes: &[u8], timeout: Duration) -> Result<(), StoreError> {
        self.with_connection(timeout, |con| {
            redis::cmd("SET")
                .arg(format!("{REDIS_PREFIX}{key_hex}"))
                .arg(bytes)
                .query::<()>(con)
        })
    }
}

/// An S3-compatible store. Credentials: the URL's `user:password@`, else
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`); the endpoint is
/// `?endpoint=` (path-style addressing), else AWS's for `?region=` (default `us-east-1`).
struct S3Store {
    agent: ureq::Agent,
    bucket: rusty_s3::Bucket,
    credentials: Option<rusty_s3::Credentials>,
    /// `{prefix}/ac/` inside the bucket.
    prefix: String,
}

/// How long a signed request stays valid (it is sent at once).
const S3_SIGNATURE_LIFETIME: Duration = Duration::from_secs(300);

impl S3Store {
    fn open(url: &RemoteUrl, connect_timeout: Duration) -> Result<S3Store, String> {
        let u = &url.url;
        let name = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("an s3:// URL names its bucket: s3://bucket/prefix")?
            .to_string();
        let query = |k: &str| {
            u.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        let region = query("region")
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        let (endpoint, style) = match query("endpoint") {
            Some(e) => (e, rusty_s3::UrlStyle::Path),
            None => (
                format!("https://s3.{region}.amazonaws.com"),
                rusty_s3::UrlStyle::VirtualHost,
            ),
        };
        let endpoint: url::Url = endpoint
            .parse()
            .map_err(|e| format!("the s3 endpoint is not a URL ({e})"))?;
        let bucket = rusty_s3::Bucket::new(endpoint, style, name, region)
            .map_err(|e| format!("the s3 bucket cannot be used: {e}"))?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = match (u.username(), u.password()) {
            (key, Some(secret)) if !key.is_empty() => {
                Some(rusty_s3::Credentials::new(decode(key), decode(secret)))
            }
            _ => {
                let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
                match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                    (Some(key), Some(secret)) => Some(match env("AWS_SESSION_TOKEN") {
                        Some(token) => rusty_s3::Credentials::new_with_token(key, secret, token),
                        None => rusty_s3::Credentials::new(key, secret),
                    }),
                    _ => None,
                }
            }
        };
        let path = u.path().trim_matches('/');
        let prefix = if path.is_empty() {
            "ac/".to_string()
        } else {
            format!("{path}/ac/")
        };
        Ok(S3Store {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(connect_timeout)
                .build(),
            bucket,
            credentials,
            prefix,
        })
    }

    /// A signed URL quotes the access key: errors name only what went wrong.
    fn error(e: ureq::Error) -> StoreError {
        StoreError(match e {
            ureq::Error::Status(code, _) => format!("the store answered HTTP {code}"),
            ureq::Error::Transport(t) => format!("{}", t.kind()),
        })
    }
}

impl Store for S3Store {
    fn get(&self, key_hex: &str, timeout: Duration) -> Result<Option<Vec<u8>>, StoreError> {
        use rusty_s3::S3Action as _;
        let object = format!("{}{key_hex}", self.prefix);
        let url =
            rusty_s3::actions::GetObject::new(&self.bucket, self.credentials.as_ref(), &object)
                .sign(S3_SIGNATURE_LIFETIME);
        match self.agent.get(url.as_str()).timeout(timeout).call() {
            Ok(resp) => {
                let mut bytes = Vec::new();
                resp.into_reader()
                    .take(MAX_ENTRY_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| StoreError(e.kind().to_string()))?;
                Ok(Some(bytes))
            }
            Err(ureq::Error::Status(404, _)) => Ok(None),
            Err(e) => Err(Self::error(e)),
        }
    }

    fn put(&self, key_hex: &str, bytes: &[u8], timeout: Duration) -> Result<(), StoreError> {
        use rusty_s3::S3Action as _;
        let object = format!("{}{key_hex}", self.prefix);
        let url =
            rusty_s3::actions::PutObject::new(&self.bucket, self.credentials.as_ref(), &object)
                .sign(S3_SIGNATURE_LIFETIME);
        self.agent
            .put(url.as_str())
            .timeout(timeout)
            .send_bytes(bytes)
            .map(|_| ())
            .map_err(Self::error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_secret_query_values_are_never_shown() {
        let u =
            RemoteUrl::parse("https://ci:hunter22@cache.example/base?token=abcd1234&x=1").unwrap();
        assert_eq!(
            u.shown(),
            format!("https://ci:{MASK}@cache.example/base?token={MASK}&x=1")
        );
        let err = "https://ci:hunter22@cache.example/base?token=abcd1234&x=1/ac/00: timed out";
        let masked = u.mask(err);
        assert!(
            !masked.contains("hunter22") && !masked.contains("abcd1234"),
            "{masked}"
        );
        assert!(format!("{u:?}").contains(MASK));
        let r = RemoteUrl::parse("redis://:pw-secret@127.0.0.1:6379/0").unwrap();
        assert!(!r.shown().contains("pw-secret"));
        assert!(!r.mask("auth failed for pw-secret").contains("pw-secret"));
    }

    #[test]
    fn unknown_schemes_and_non_urls_are_errors_that_quote_nothing() {
        let e = RemoteUrl::parse("ftp://u:pw-secret@host/").unwrap_err();
        assert!(e.contains("ftp://") && !e.contains("pw-secret"), "{e}");
        let e = RemoteUrl::parse("not a url pw-secret").unwrap_err();
        assert!(!e.contains("pw-secret"), "{e}");
    }
}
