//! The core's store conformance suite, and what replicas rely on, against a
//! real Redis: the machine's (`EDUCONNECT_TEST_REDIS_URL`).

mod support;

use std::time::Duration;

use educonnect_core::store::Store;
use educonnect_core::store::conformance::{self, Subject};
use educonnect_redis::RedisStore;

struct RealTime(RedisStore);

#[async_trait::async_trait]
impl Subject for RealTime {
    fn store(&self) -> &dyn Store {
        &self.0
    }

    async fn wait(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    // Loopback round trips are well under a millisecond; 100 ms leaves room
    // for a loaded CI machine.
    fn short_ttl(&self) -> Duration {
        Duration::from_millis(100)
    }
}

async fn store(prefix: &str) -> Option<RedisStore> {
    let url = support::shared_redis_url()?;
    Some(
        RedisStore::builder(url)
            .key_prefix(prefix)
            .connect()
            .await
            .expect("EDUCONNECT_TEST_REDIS_URL is set but Redis cannot be reached"),
    )
}

#[tokio::test]
async fn redis_passes_the_conformance_suite() {
    let Some(store) = store("educonnect-test:").await else {
        return;
    };
    let failures = conformance::run(&RealTime(store)).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn two_connections_with_one_prefix_share_everything_and_other_prefixes_nothing() {
    let Some(first) = store("educonnect-test-replicas:").await else {
        return;
    };
    let second = store("educonnect-test-replicas:").await.unwrap();
    let other_service = store("educonnect-test-other:").await.unwrap();
    let id = format!("replica-{}", std::process::id());
    first
        .create_session(&id, b"claims".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    first
        .put_pending(&id, b"login".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    // What one replica wrote, the other reads and takes.
    assert_eq!(
        second.read_session(&id).await.unwrap(),
        Some(b"claims".to_vec())
    );
    assert_eq!(other_service.read_session(&id).await.unwrap(), None);
    assert_eq!(other_service.take_pending(&id).await.unwrap(), None);
    assert_eq!(
        second.take_pending(&id).await.unwrap(),
        Some(b"login".to_vec())
    );
    assert_eq!(first.take_pending(&id).await.unwrap(), None);
    // A logout on one ends the session on both.
    assert!(second.delete_session(&id).await.unwrap());
    assert_eq!(first.read_session(&id).await.unwrap(), None);
}

#[tokio::test]
async fn a_counter_lives_in_redis_with_its_expiry() {
    let Some(store) = store("educonnect-test:").await else {
        return;
    };
    let id = format!("ttl-{}", std::process::id());
    store
        .increment_counter(&id, Duration::from_secs(90))
        .await
        .unwrap();
    // Read with a plain client: the key carries the prefix and an expiry.
    let client = redis::Client::open(support::shared_redis_url().unwrap()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("educonnect-test:counter:{id}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!((1..=90_000).contains(&ttl), "{ttl}");
    store.reset_counter(&id).await.unwrap();
}
