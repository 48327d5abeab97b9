//! Redis stopped under a running store: operations fail fast with
//! `StoreError::Unavailable`, never hang or panic, and the store works again
//! once Redis is back. Uses a Redis of its own, never the machine's.

use std::time::Duration;

use educonnect_core::store::{Store, StoreError};
use educonnect_redis::RedisStore;
use educonnect_tests::OwnRedis;

const MINUTE: Duration = Duration::from_secs(60);

/// Long enough that only a hang reaches it.
const HANG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_stopped_redis_is_an_unavailable_store_then_recovers() {
    let mut redis = OwnRedis::start().await;
    let store = RedisStore::builder(redis.url())
        .response_timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    store
        .create_session("before", b"claims".to_vec(), MINUTE)
        .await
        .unwrap();

    redis.kill().await;
    for _ in 0..3 {
        let result = tokio::time::timeout(HANG, store.read_session("before"))
            .await
            .expect("an operation on a stopped Redis hung");
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        let result = tokio::time::timeout(HANG, store.increment_counter("attempts", MINUTE))
            .await
            .expect("an increment on a stopped Redis hung");
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }

    // Back (empty: this server keeps nothing on disk). The manager
    // reconnects on its own; the first operations may still fail.
    redis.restart().await;
    let mut recovered = false;
    for _ in 0..100 {
        if store
            .create_session("after", b"claims".to_vec(), MINUTE)
            .await
            .is_ok()
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the store did not recover once Redis was back");
    assert_eq!(
        store.read_session("after").await.unwrap(),
        Some(b"claims".to_vec())
    );
}

#[tokio::test]
async fn connecting_to_nothing_is_a_typed_error_without_the_url() {
    let redis = OwnRedis::start().await;
    let port = redis.port;
    drop(redis);
    // Wait for the port to close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let url = format!("redis://user:secret-password@127.0.0.1:{port}/0");
    let error = tokio::time::timeout(
        HANG,
        RedisStore::builder(url)
            .connect_timeout(Duration::from_millis(300))
            .connect(),
    )
    .await
    .expect("connecting to nothing hung")
    .unwrap_err();
    assert!(
        matches!(error, educonnect_redis::ConnectError::Unreachable(_)),
        "{error:?}"
    );
    assert!(!error.to_string().contains("secret-password"), "{error}");
    let error = RedisStore::connect("http://127.0.0.1/").await.unwrap_err();
    assert!(
        matches!(error, educonnect_redis::ConnectError::Url(_)),
        "{error:?}"
    );
}
