//! The EduConnect-rs [`Store`] on Redis: pending logins, used login states,
//! sessions, counters and records shared by every replica of a service, and
//! kept across restarts for as long as Redis keeps them.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use educonnect_redis::RedisStore;
//!
//! let store = RedisStore::builder("redis://127.0.0.1:6379/0")
//!     .key_prefix("ent-portal:")
//!     .connect()
//!     .await?;
//! // GatewayBuilder::store(Arc::new(store)), in every replica.
//! # let _ = Arc::new(store);
//! # Ok(()) }
//! ```
//!
//! # One command per operation
//!
//! Each [`Store`] method is one Redis command, or one script for the
//! counter (`INCR` then `PEXPIRE` on the first increment, so a counter never
//! lives without its expiry): each is atomic in Redis, as the trait
//! requires. Expiries are Redis's own (`PX`, `PEXPIRE`); a pending login is
//! taken with `GETDEL` (Redis 6.2 or later). Each operation names one key,
//! so the store works on a Redis Cluster too.
//!
//! # Keys
//!
//! `<prefix><space>:<id>`, the space being `pending`, `used`, `session`,
//! `counter` or `record`, and the prefix `educonnect:` unless set. Ids come
//! from cookies: `{`, `}` and `%` are percent-encoded in keys, so that no id
//! can choose a cluster hash slot (`{tag}`) or pass for another id.
//!
//! # When Redis is unreachable
//!
//! The connection is a [`ConnectionManager`]: it reconnects in the
//! background after a failure. An operation that cannot complete within
//! the response timeout (default 500 ms) fails with
//! [`StoreError::Unavailable`], which the gateway answers with its 503
//! page; nothing half-written stays behind, since every operation is one
//! atomic command. Connecting ([`RedisStoreBuilder::connect`]) checks the
//! server with a `PING`, so a wrong URL or password stops the service at
//! start rather than at its first login.
//!
//! # TLS
//!
//! `rediss://` URLs work with the `tls` feature (on by default), over
//! rustls with the system's root certificates, or with the authority given
//! to [`RedisStoreBuilder::root_certificate_pem`]. The server's certificate
//! is always checked.
//!
//! Nothing is logged: ids are session secrets, values personal data.

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use educonnect_core::store::{KeySpace, Store, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, RedisError, Script, Value};

/// The key prefix when none is set.
pub const DEFAULT_KEY_PREFIX: &str = "educonnect:";

/// How long an operation may wait for Redis when nothing else is set.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long connecting may take when nothing else is set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest time to live accepted, in milliseconds: Redis refuses an
/// expiry past `i64::MAX` milliseconds from now, and this leaves room for
/// "now" (about 300 million years).
const MAX_TTL_MS: u128 = (i64::MAX / 1024) as u128;

/// `INCR`, and on the counter's first increment its expiry, in one step: a
/// counter created by `INCR` alone would never expire (a lock-out for
/// ever).
const INCREMENT: &str = "local n = redis.call('INCR', KEYS[1]) \
     if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
     return n";

/// A [`Store`] on one Redis server (or cluster endpoint), shared by every
/// replica that connects with the same URL and key prefix.
///
/// Cheap to clone: clones share the connection. `Debug` shows the key
/// prefix, never the URL (it may hold a password).
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    increment: Arc<Script>,
}

impl RedisStore {
    /// A builder for the server at `url` (`redis://[user:password@]host[:port][/db]`,
    /// `rediss://` for TLS, `redis+unix:///path`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            #[cfg(feature = "tls")]
            root_certificate: None,
        }
    }

    /// Connects to `url` with the defaults. See [`RedisStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder(url).connect().await
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, space: KeySpace, id: &str) -> String {
        key(&self.prefix, space, id)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        cmd.query_async(&mut connection).await.map_err(unavailable)
    }

    /// `SET key value PX ttl NX`: whether it was set.
    async fn set_new(&self, key: String, value: &[u8], ttl: u64) -> Result<bool, StoreError> {
        let reply: Value = self
            .query(
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(ttl)
                    .arg("NX"),
            )
            .await?;
        Ok(!matches!(reply, Value::Nil))
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`RedisStore`]: the URL, the key prefix, the timeouts.
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    response_timeout: Duration,
    connect_timeout: Duration,
    #[cfg(feature = "tls")]
    root_certificate: Option<Vec<u8>>,
}

impl RedisStoreBuilder {
    /// The prefix of every key (default [`DEFAULT_KEY_PREFIX`]): services
    /// sharing one Redis each take their own; replicas of one service share
    /// theirs.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long an operation waits for Redis before failing with
    /// [`StoreError::Unavailable`] (default [`DEFAULT_RESPONSE_TIMEOUT`]).
    /// A login waits this long at most per store operation when Redis is
    /// down, then gets the 503 page.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long one connection attempt may take (default
    /// [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// For `rediss://`: the certificate (PEM) of the authority that signed
    /// the server's, instead of the system's roots: a private CA, as
    /// managed Redis services and internal platforms use.
    #[cfg(feature = "tls")]
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    fn client(&self) -> Result<Client, ConnectError> {
        #[cfg(feature = "tls")]
        if let Some(root) = &self.root_certificate {
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root.clone()),
            };
            return Client::build_with_tls(self.url.as_str(), certificates)
                .map_err(|e| ConnectError::Url(e.kind()));
        }
        Client::open(self.url.as_str()).map_err(|e| ConnectError::Url(e.kind()))
    }

    /// Connects, and checks the server answers (`PING`), so that a wrong
    /// URL, password or database stops the service at start.
    pub async fn connect(self) -> Result<RedisStore, ConnectError> {
        let client = self.client()?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.response_timeout))
            .set_connection_timeout(Some(self.connect_timeout))
            // Reconnection is in the background; an operation fails fast
            // rather than waiting for a server that is down.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let mut connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(ConnectError::Unreachable)?;
        redis::cmd("PING")
            .query_async::<()>(&mut connection)
            .await
            .map_err(ConnectError::Unreachable)?;
        Ok(RedisStore {
            connection,
            prefix: self.prefix.into(),
            increment: Arc::new(Script::new(INCREMENT)),
        })
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("response_timeout", &self.response_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Why [`RedisStoreBuilder::connect`] failed. The URL is never shown (it
/// may hold a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL this build can use (`rediss://` needs the
    /// `tls` feature).
    #[error("invalid Redis URL ({0:?})")]
    Url(redis::ErrorKind),
    /// The server could not be reached, or refused the connection (wrong
    /// password, database).
    #[error("cannot reach Redis: {0}")]
    Unreachable(#[source] RedisError),
}

/// `<prefix><space>:<id>`, with `%`, `{` and `}` of the id percent-encoded.
fn key(prefix: &str, space: KeySpace, id: &str) -> String {
    let space = match space {
        KeySpace::Pending => "pending",
        KeySpace::Used => "used",
        KeySpace::Session => "session",
        KeySpace::Counter => "counter",
        KeySpace::Record => "record",
        // A space a later core adds, before this crate knows its name.
        _ => "other",
    };
    let mut key = String::with_capacity(prefix.len() + space.len() + 1 + id.len());
    key.push_str(prefix);
    key.push_str(space);
    key.push(':');
    for c in id.chars() {
        match c {
            '%' => key.push_str("%25"),
            '{' => key.push_str("%7B"),
            '}' => key.push_str("%7D"),
            c => key.push(c),
        }
    }
    key
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// The time to live in milliseconds, or the contract's error.
fn ttl_ms(ttl: Duration) -> Result<u64, StoreError> {
    let ms = ttl.as_millis();
    if ms == 0 || ms > MAX_TTL_MS {
        return Err(StoreError::InvalidTtl);
    }
    u64::try_from(ms).map_err(|_| StoreError::InvalidTtl)
}

/// A reply that is a byte string, or nothing.
fn bytes(reply: Value) -> Result<Option<Vec<u8>>, StoreError> {
    match reply {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => Ok(Some(bytes)),
        Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        other => Err(unexpected(other)),
    }
}

fn unexpected(reply: Value) -> StoreError {
    // The reply's kind only: a value could be personal data.
    let kind = match reply {
        Value::Int(_) => "an integer",
        Value::Array(_) => "an array",
        Value::Okay => "OK",
        _ => "another kind of reply",
    };
    StoreError::Unavailable(format!("unexpected reply from Redis: {kind}").into())
}

#[async_trait]
impl Store for RedisStore {
    async fn put_pending(&self, id: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let ttl = ttl_ms(ttl)?;
        if self
            .set_new(self.key(KeySpace::Pending, id), &value, ttl)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(KeySpace::Pending))
        }
    }

    async fn take_pending(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        bytes(
            self.query(redis::cmd("GETDEL").arg(self.key(KeySpace::Pending, id)))
                .await?,
        )
    }

    async fn mark_used(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = ttl_ms(ttl)?;
        self.set_new(self.key(KeySpace::Used, id), b"", ttl).await
    }

    async fn create_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let ttl = ttl_ms(ttl)?;
        if self
            .set_new(self.key(KeySpace::Session, id), &value, ttl)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(KeySpace::Session))
        }
    }

    async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        bytes(
            self.query(redis::cmd("GET").arg(self.key(KeySpace::Session, id)))
                .await?,
        )
    }

    async fn replace_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(KeySpace::Session, id))
            .arg(value)
            .arg("XX");
        match ttl {
            Some(ttl) => cmd.arg("PX").arg(ttl_ms(ttl)?),
            None => cmd.arg("KEEPTTL"),
        };
        let reply: Value = self.query(&cmd).await?;
        Ok(!matches!(reply, Value::Nil))
    }

    async fn touch_session(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = ttl_ms(ttl)?;
        let touched: i64 = self
            .query(
                redis::cmd("PEXPIRE")
                    .arg(self.key(KeySpace::Session, id))
                    .arg(ttl),
            )
            .await?;
        Ok(touched == 1)
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.delete(self.key(KeySpace::Session, id)).await
    }

    async fn increment_counter(&self, id: &str, ttl: Duration) -> Result<u64, StoreError> {
        let ttl = ttl_ms(ttl)?;
        let mut connection = self.connection.clone();
        let n: i64 = self
            .increment
            .key(self.key(KeySpace::Counter, id))
            .arg(ttl)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn read_counter(&self, id: &str) -> Result<u64, StoreError> {
        let value: Option<i64> = self
            .query(redis::cmd("GET").arg(self.key(KeySpace::Counter, id)))
            .await?;
        Ok(value.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    async fn reset_counter(&self, id: &str) -> Result<bool, StoreError> {
        self.delete(self.key(KeySpace::Counter, id)).await
    }

    async fn put_record(&self, id: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.query::<()>(
            redis::cmd("SET")
                .arg(self.key(KeySpace::Record, id))
                .arg(value),
        )
        .await
    }

    async fn get_record(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        bytes(
            self.query(redis::cmd("GET").arg(self.key(KeySpace::Record, id)))
                .await?,
        )
    }

    async fn delete_record(&self, id: &str) -> Result<bool, StoreError> {
        self.delete(self.key(KeySpace::Record, id)).await
    }
}

impl RedisStore {
    /// `DEL key`: whether there was a live entry.
    async fn delete(&self, key: String) -> Result<bool, StoreError> {
        let deleted: i64 = self.query(redis::cmd("DEL").arg(key)).await?;
        Ok(deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_choose_a_hash_slot_nor_pass_for_another_id() {
        let k = |id| key("p:", KeySpace::Session, id);
        assert_eq!(k("abc"), "p:session:abc");
        assert_eq!(k("{tag}x"), "p:session:%7Btag%7Dx");
        // An id spelling another id's encoding stays distinct from it.
        assert_ne!(k("%7Btag%7Dx"), k("{tag}x"));
        assert_eq!(k("%7B"), "p:session:%257B");
        assert_eq!(key("p:", KeySpace::Pending, "a"), "p:pending:a");
        assert_eq!(key("p:", KeySpace::Used, "a"), "p:used:a");
        assert_eq!(key("p:", KeySpace::Counter, "a"), "p:counter:a");
        assert_eq!(key("p:", KeySpace::Record, "a"), "p:record:a");
    }

    #[test]
    fn ttls_are_whole_milliseconds_from_one_to_the_redis_limit() {
        assert!(matches!(
            ttl_ms(Duration::ZERO),
            Err(StoreError::InvalidTtl)
        ));
        assert!(matches!(
            ttl_ms(Duration::from_micros(999)),
            Err(StoreError::InvalidTtl)
        ));
        assert_eq!(ttl_ms(Duration::from_millis(1)).unwrap(), 1);
        assert_eq!(ttl_ms(Duration::from_micros(1_500)).unwrap(), 1);
        assert!(matches!(ttl_ms(Duration::MAX), Err(StoreError::InvalidTtl)));
    }
}
