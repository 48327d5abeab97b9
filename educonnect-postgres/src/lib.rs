//! EduConnect-rs on PostgreSQL: a [`Store`] whose verified links survive
//! restarts, and an append-only audit log of filiation events.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use educonnect_postgres::{PostgresAuditSink, PostgresStore};
//!
//! let store = PostgresStore::connect("postgres://educonnect@db.internal/ent").await?;
//! let audit = PostgresAuditSink::new(&store);
//! // GatewayBuilder::store(Arc::new(store)).audit_sink(Arc::new(audit)), or
//! // sessions on Redis and verified links here with store::SplitStore.
//! # let _ = (Arc::new(store), audit);
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! Applied at [`PostgresStore::connect`], inside one transaction, with the
//! version kept in `educonnect_schema` (see [`SCHEMA_VERSION`]); a database
//! migrated by a newer release is refused. Tables:
//!
//! - `educonnect_entries`: every entry of the five key spaces (space, id,
//!   value, a counter, the expiry; records never expire);
//! - `educonnect_audit`: one row per audit event, ids only (the hashed
//!   `sub`, directory record ids), never a name or a birth date; a trigger
//!   refuses `UPDATE`, `DELETE` and `TRUNCATE`;
//! - views `educonnect_verified_links` (who, which record, which pupils,
//!   how, when) and `educonnect_revoked_links` (which record, when), read
//!   from the links the core writes.
//!
//! # One statement per operation
//!
//! Each [`Store`] method is one SQL statement (an `INSERT … ON CONFLICT`, a
//! `DELETE … RETURNING`, an `UPDATE`), atomic under PostgreSQL's default
//! isolation as the trait requires; expiry is compared with the server's
//! clock. Expired rows are never returned; [`PostgresStore::purge_expired`]
//! deletes them, and a task started at connect does it every minute.
//!
//! Nothing is logged but counts: ids are session secrets, values personal
//! data.

#![forbid(unsafe_code)]

mod audit;
mod migrations;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use educonnect_core::store::{KeySpace, Store, StoreError};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

pub use audit::PostgresAuditSink;
pub use migrations::{MigrationError, SCHEMA_VERSION};

/// How often expired entries are deleted, unless set otherwise.
pub const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// The longest time to live accepted, in milliseconds (about 70,000 years:
/// the expiry must stay within PostgreSQL's timestamps).
const MAX_TTL_MS: u128 = (i64::MAX / 4096) as u128;

/// A [`Store`] on PostgreSQL, through a pool of connections.
///
/// Cheap to clone: clones share the pool. `Debug` shows nothing of the
/// connection string (it may hold a password).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

/// Why [`PostgresStore::connect`] failed. The connection string is never
/// shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Not a connection string `tokio-postgres` reads.
    #[error("invalid PostgreSQL connection string")]
    Config,
    /// The server could not be reached or refused the connection.
    #[error("cannot reach PostgreSQL: {0}")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The schema could not be migrated.
    #[error(transparent)]
    Migration(#[from] MigrationError),
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`,
    /// or the `key=value` form), applies the migrations, and starts the task
    /// that purges expired entries every [`DEFAULT_PURGE_INTERVAL`].
    /// Plain TCP or a Unix socket: TLS to the database is not supported
    /// yet.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let config: tokio_postgres::Config = url.parse().map_err(|_| ConnectError::Config)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| ConnectError::Unreachable(Box::new(e)))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| ConnectError::Unreachable(Box::new(e)))?;
        migrations::apply(&mut client).await?;
        drop(client);
        let store = Self { pool };
        store.spawn_purge(DEFAULT_PURGE_INTERVAL);
        Ok(store)
    }

    /// Deletes the expired entries; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM educonnect_entries WHERE expires_at <= now()",
                &[],
            )
            .await
            .map_err(unavailable)
    }

    fn spawn_purge(&self, every: Duration) {
        // The task holds the pool weakly: it ends with the last clone.
        let weak = self.pool.weak();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.tick().await;
            loop {
                interval.tick().await;
                let Some(pool) = weak.upgrade() else { return };
                let store = PostgresStore { pool };
                match store.purge_expired().await {
                    Ok(n) if n > 0 => tracing::debug!(n, "expired store entries purged"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purging expired store entries failed"),
                }
            }
        });
    }

    /// The pool: for the audit sink, and for services that keep their own
    /// tables beside ours.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// Runs one statement; the rows it returns.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        client.query(&statement, params).await.map_err(unavailable)
    }

    /// Runs one statement; how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        client
            .execute(&statement, params)
            .await
            .map_err(unavailable)
    }

    /// Inserts a live entry unless a live one has this id: whether it was
    /// inserted.
    async fn insert_new(
        &self,
        space: KeySpace,
        id: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let ttl = ttl_ms(ttl)?;
        let rows = self
            .query(
                "INSERT INTO educonnect_entries (space, id, value, expires_at)
                 VALUES ($1, $2, $3, now() + $4::bigint * interval '1 millisecond')
                 ON CONFLICT (space, id) DO UPDATE
                     SET value = EXCLUDED.value, n = 0, expires_at = EXCLUDED.expires_at
                     WHERE educonnect_entries.expires_at <= now()
                 RETURNING 1",
                &[&space_code(space), &id.as_bytes(), &value, &ttl],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// The live value of `id`.
    async fn read(&self, space: KeySpace, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self
            .query(
                "SELECT value FROM educonnect_entries
                 WHERE space = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > now())",
                &[&space_code(space), &id.as_bytes()],
            )
            .await?;
        Ok(rows.first().map(|row| row.get(0)))
    }

    /// Deletes `id`; its value if it was live.
    async fn remove(&self, space: KeySpace, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self
            .query(
                "DELETE FROM educonnect_entries WHERE space = $1 AND id = $2
                 RETURNING value, (expires_at IS NULL OR expires_at > now())",
                &[&space_code(space), &id.as_bytes()],
            )
            .await?;
        Ok(rows
            .first()
            .filter(|row| row.get::<_, bool>(1))
            .map(|row| row.get(0)))
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("connections", &status.size)
            .finish_non_exhaustive()
    }
}

/// Each key space's number in the `space` column.
fn space_code(space: KeySpace) -> i16 {
    match space {
        KeySpace::Pending => 1,
        KeySpace::Used => 2,
        KeySpace::Session => 3,
        KeySpace::Counter => 4,
        KeySpace::Record => 5,
        // A space a later core adds, before this crate knows it.
        _ => 99,
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(error: E) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// The time to live in milliseconds, or the contract's error.
fn ttl_ms(ttl: Duration) -> Result<i64, StoreError> {
    let ms = ttl.as_millis();
    if ms == 0 || ms > MAX_TTL_MS {
        return Err(StoreError::InvalidTtl);
    }
    i64::try_from(ms).map_err(|_| StoreError::InvalidTtl)
}

#[async_trait]
impl Store for PostgresStore {
    async fn put_pending(&self, id: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        if self.insert_new(KeySpace::Pending, id, &value, ttl).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(KeySpace::Pending))
        }
    }

    async fn take_pending(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.remove(KeySpace::Pending, id).await
    }

    async fn mark_used(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.insert_new(KeySpace::Used, id, b"", ttl).await
    }

    async fn create_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        if self.insert_new(KeySpace::Session, id, &value, ttl).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(KeySpace::Session))
        }
    }

    async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(KeySpace::Session, id).await
    }

    async fn replace_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let space = space_code(KeySpace::Session);
        let changed = match ttl {
            Some(ttl) => {
                let ttl = ttl_ms(ttl)?;
                self.execute(
                    "UPDATE educonnect_entries
                     SET value = $3, expires_at = now() + $4::bigint * interval '1 millisecond'
                     WHERE space = $1 AND id = $2 AND expires_at > now()",
                    &[&space, &id.as_bytes(), &value, &ttl],
                )
                .await?
            }
            None => {
                self.execute(
                    "UPDATE educonnect_entries SET value = $3
                     WHERE space = $1 AND id = $2 AND expires_at > now()",
                    &[&space, &id.as_bytes(), &value],
                )
                .await?
            }
        };
        Ok(changed == 1)
    }

    async fn touch_session(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = ttl_ms(ttl)?;
        let changed = self
            .execute(
                "UPDATE educonnect_entries
                 SET expires_at = now() + $3::bigint * interval '1 millisecond'
                 WHERE space = $1 AND id = $2 AND expires_at > now()",
                &[&space_code(KeySpace::Session), &id.as_bytes(), &ttl],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.remove(KeySpace::Session, id).await?.is_some())
    }

    async fn increment_counter(&self, id: &str, ttl: Duration) -> Result<u64, StoreError> {
        let ttl = ttl_ms(ttl)?;
        // An expired counter starts again at 1 with a new window; a live
        // one keeps its window.
        let rows = self
            .query(
                "INSERT INTO educonnect_entries (space, id, value, n, expires_at)
                 VALUES ($1, $2, '', 1, now() + $3::bigint * interval '1 millisecond')
                 ON CONFLICT (space, id) DO UPDATE SET
                     n = CASE WHEN educonnect_entries.expires_at <= now() THEN 1
                              ELSE educonnect_entries.n + 1 END,
                     expires_at = CASE WHEN educonnect_entries.expires_at <= now()
                              THEN EXCLUDED.expires_at
                              ELSE educonnect_entries.expires_at END
                 RETURNING n",
                &[&space_code(KeySpace::Counter), &id.as_bytes(), &ttl],
            )
            .await?;
        let n: i64 = rows.first().map_or(0, |row| row.get(0));
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn read_counter(&self, id: &str) -> Result<u64, StoreError> {
        let rows = self
            .query(
                "SELECT n FROM educonnect_entries
                 WHERE space = $1 AND id = $2 AND expires_at > now()",
                &[&space_code(KeySpace::Counter), &id.as_bytes()],
            )
            .await?;
        let n: i64 = rows.first().map_or(0, |row| row.get(0));
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn reset_counter(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.remove(KeySpace::Counter, id).await?.is_some())
    }

    async fn put_record(&self, id: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO educonnect_entries (space, id, value, expires_at)
             VALUES ($1, $2, $3, NULL)
             ON CONFLICT (space, id) DO UPDATE SET value = EXCLUDED.value, expires_at = NULL",
            &[&space_code(KeySpace::Record), &id.as_bytes(), &value],
        )
        .await?;
        Ok(())
    }

    async fn get_record(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(KeySpace::Record, id).await
    }

    async fn delete_record(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.remove(KeySpace::Record, id).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_milliseconds_within_postgres_timestamps() {
        assert!(matches!(
            ttl_ms(Duration::ZERO),
            Err(StoreError::InvalidTtl)
        ));
        assert!(matches!(
            ttl_ms(Duration::from_micros(999)),
            Err(StoreError::InvalidTtl)
        ));
        assert_eq!(ttl_ms(Duration::from_millis(1)).unwrap(), 1);
        assert!(matches!(ttl_ms(Duration::MAX), Err(StoreError::InvalidTtl)));
    }
}
