//! [`SplitStore`]: ephemeral state on one store, durable records on another.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Store, StoreError};

/// A [`Store`] that keeps pending entries, used login states, sessions and
/// counters on one store (Redis: fast, expiring) and durable records
/// (verified guardian links) on another (PostgreSQL: kept across restarts
/// and backed up with the service's data).
///
/// Each operation goes to exactly one of the two, so it stays as atomic as
/// that store makes it.
///
/// ```
/// use std::sync::Arc;
/// use educonnect_core::store::{MemoryStore, SplitStore, Store};
///
/// let store: Arc<dyn Store> = Arc::new(SplitStore::new(
///     Arc::new(MemoryStore::new()), // e.g. educonnect_redis::RedisStore
///     Arc::new(MemoryStore::new()), // e.g. educonnect_postgres::PostgresStore
/// ));
/// ```
#[derive(Debug, Clone)]
pub struct SplitStore {
    ephemeral: Arc<dyn Store>,
    durable: Arc<dyn Store>,
}

impl SplitStore {
    /// Pending entries, used login states, sessions and counters on
    /// `ephemeral`; records on `durable`.
    pub fn new(ephemeral: Arc<dyn Store>, durable: Arc<dyn Store>) -> Self {
        Self { ephemeral, durable }
    }
}

#[async_trait]
impl Store for SplitStore {
    async fn put_pending(&self, id: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        self.ephemeral.put_pending(id, value, ttl).await
    }

    async fn take_pending(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.ephemeral.take_pending(id).await
    }

    async fn mark_used(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.ephemeral.mark_used(id, ttl).await
    }

    async fn create_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.ephemeral.create_session(id, value, ttl).await
    }

    async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.ephemeral.read_session(id).await
    }

    async fn replace_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        self.ephemeral.replace_session(id, value, ttl).await
    }

    async fn touch_session(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.ephemeral.touch_session(id, ttl).await
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.ephemeral.delete_session(id).await
    }

    async fn increment_counter(&self, id: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.ephemeral.increment_counter(id, ttl).await
    }

    async fn read_counter(&self, id: &str) -> Result<u64, StoreError> {
        self.ephemeral.read_counter(id).await
    }

    async fn reset_counter(&self, id: &str) -> Result<bool, StoreError> {
        self.ephemeral.reset_counter(id).await
    }

    async fn put_record(&self, id: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.durable.put_record(id, value).await
    }

    async fn get_record(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.durable.get_record(id).await
    }

    async fn delete_record(&self, id: &str) -> Result<bool, StoreError> {
        self.durable.delete_record(id).await
    }
}
