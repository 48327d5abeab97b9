//! The `Store` contract, checked on `MemoryStore` through its public API,
//! with time moved by a `ManualClock`.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use educonnect_core::ManualClock;
use educonnect_core::store::{KeySpace, MemoryStore, MemoryStoreBuilder, Store, StoreError};

const MINUTE: Duration = Duration::from_secs(60);
const MS: Duration = Duration::from_millis(1);

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at_unix(1_700_000_000))
}

fn builder(clock: &Arc<ManualClock>) -> MemoryStoreBuilder {
    MemoryStore::builder().clock(clock.clone())
}

/// Runs a `MemoryStore` future, which is documented to be ready at once: no
/// runtime, so plain threads can race on the store.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a MemoryStore future was not ready on first poll"),
    }
}

fn bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

// ---- pending logins ----

#[tokio::test]
async fn a_pending_login_is_taken_exactly_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .put_pending("state-1", bytes("verifier"), 10 * MINUTE)
        .await
        .unwrap();
    assert_eq!(
        store.take_pending("state-1").await.unwrap(),
        Some(bytes("verifier"))
    );
    assert_eq!(store.take_pending("state-1").await.unwrap(), None);
    assert_eq!(store.take_pending("never-stored").await.unwrap(), None);
}

#[test]
fn threads_racing_to_take_the_same_pending_logins_win_each_exactly_once() {
    const IDS: usize = 2_000;
    const THREADS: usize = 8;
    let store = MemoryStore::new();
    for i in 0..IDS {
        ready(store.put_pending(&format!("state-{i}"), bytes("v"), 10 * MINUTE)).unwrap();
    }
    let start = Barrier::new(THREADS);
    let wins: Vec<Vec<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    (0..IDS)
                        .filter(|i| {
                            ready(store.take_pending(&format!("state-{i}")))
                                .unwrap()
                                .is_some()
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut won = vec![0_usize; IDS];
    for i in wins.into_iter().flatten() {
        won[i] += 1;
    }
    assert!(won.iter().all(|&n| n == 1), "wins per id: {won:?}");
    assert!(store.is_empty(KeySpace::Pending));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_racing_to_take_a_pending_login_have_one_winner() {
    const TASKS: usize = 32;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for round in 0..50 {
        let id = format!("state-{round}");
        store
            .put_pending(&id, bytes("v"), 10 * MINUTE)
            .await
            .unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (store, start, id) = (store.clone(), start.clone(), id.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    store.take_pending(&id).await.unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if task.await.unwrap().is_some() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

#[tokio::test]
async fn a_live_pending_id_is_not_overwritten() {
    let clock = clock();
    let store = builder(&clock).build();
    store
        .put_pending("state", bytes("first"), MINUTE)
        .await
        .unwrap();
    let err = store
        .put_pending("state", bytes("second"), MINUTE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(KeySpace::Pending)));

    // Once expired, the id is free again.
    clock.advance(MINUTE);
    store
        .put_pending("state", bytes("third"), MINUTE)
        .await
        .unwrap();
    assert_eq!(
        store.take_pending("state").await.unwrap(),
        Some(bytes("third"))
    );
}

#[tokio::test]
async fn a_pending_login_expires_after_its_ttl() {
    let clock = clock();
    let store = builder(&clock).build();
    store
        .put_pending("a", bytes("v"), 10 * MINUTE)
        .await
        .unwrap();
    store
        .put_pending("b", bytes("v"), 10 * MINUTE)
        .await
        .unwrap();

    clock.advance(10 * MINUTE - MS);
    assert_eq!(store.take_pending("a").await.unwrap(), Some(bytes("v")));
    clock.advance(MS);
    assert_eq!(store.take_pending("b").await.unwrap(), None);
}

#[tokio::test]
async fn a_flood_of_pending_logins_evicts_the_oldest_and_stays_bounded() {
    const CAP: usize = 1_000;
    const EXTRA: usize = 300;
    let clock = clock();
    let store = builder(&clock).max_pending_logins(CAP).build();
    for i in 0..CAP + EXTRA {
        store
            .put_pending(&format!("state-{i}"), bytes("v"), 10 * MINUTE)
            .await
            .unwrap();
        assert!(store.len(KeySpace::Pending) <= CAP, "after {i} inserts");
    }
    assert_eq!(store.len(KeySpace::Pending), CAP);
    for i in 0..EXTRA {
        assert_eq!(
            store.take_pending(&format!("state-{i}")).await.unwrap(),
            None,
            "state-{i} should have been evicted"
        );
    }
    for i in EXTRA..CAP + EXTRA {
        assert_eq!(
            store.take_pending(&format!("state-{i}")).await.unwrap(),
            Some(bytes("v")),
            "state-{i} should still be there"
        );
    }
}

// ---- used login states ----

#[tokio::test]
async fn a_login_state_is_marked_used_exactly_once_until_the_mark_expires() {
    let clock = clock();
    let store: Arc<dyn Store> = Arc::new(builder(&clock).build());
    assert!(store.mark_used("state-1", 10 * MINUTE).await.unwrap());
    assert!(!store.mark_used("state-1", 10 * MINUTE).await.unwrap());
    assert!(store.mark_used("state-2", 10 * MINUTE).await.unwrap());
    clock.advance(10 * MINUTE);
    assert!(store.mark_used("state-1", MINUTE).await.unwrap());
    assert!(matches!(
        store.mark_used("state-3", Duration::ZERO).await,
        Err(StoreError::InvalidTtl)
    ));
}

#[tokio::test]
async fn finding_5_marks_of_used_states_never_push_out_pending_entries() {
    let clock = clock();
    let store = builder(&clock)
        .max_pending_logins(10)
        .max_used_states(100)
        .build();
    store
        .put_pending("verify-challenge", bytes("v"), 10 * MINUTE)
        .await
        .unwrap();
    for i in 0..10_000 {
        assert!(
            store
                .mark_used(&format!("state-{i}"), 10 * MINUTE)
                .await
                .unwrap()
        );
    }
    // The marks are bounded, the oldest evicted...
    assert_eq!(store.len(KeySpace::Used), 100);
    assert!(store.mark_used("state-0", 10 * MINUTE).await.unwrap());
    assert!(!store.mark_used("state-9999", 10 * MINUTE).await.unwrap());
    // ...and the pending challenge is still there, in its own key space.
    assert_eq!(store.len(KeySpace::Pending), 1);
    assert_eq!(
        store.take_pending("verify-challenge").await.unwrap(),
        Some(bytes("v"))
    );
}

#[tokio::test]
async fn a_full_pending_store_drops_expired_logins_before_live_ones() {
    let clock = clock();
    let store = builder(&clock).max_pending_logins(10).build();
    for i in 0..5 {
        store
            .put_pending(&format!("long-{i}"), bytes("v"), 10 * MINUTE)
            .await
            .unwrap();
    }
    for i in 0..5 {
        store
            .put_pending(&format!("short-{i}"), bytes("v"), MINUTE)
            .await
            .unwrap();
    }
    clock.advance(2 * MINUTE);
    // Full: ten entries, the five newest expired. Making room for five more
    // must drop those, not the five oldest, which are live.
    for i in 0..5 {
        store
            .put_pending(&format!("new-{i}"), bytes("v"), 10 * MINUTE)
            .await
            .unwrap();
    }
    for id in (0..5).flat_map(|i| [format!("long-{i}"), format!("new-{i}")]) {
        assert!(store.take_pending(&id).await.unwrap().is_some(), "{id}");
    }
}

// ---- sessions ----

#[tokio::test]
async fn a_session_expires_when_idle_and_touch_extends_it() {
    let clock = clock();
    let store: Arc<dyn Store> = Arc::new(builder(&clock).build());
    store
        .create_session("sid", bytes("claims"), 30 * MINUTE)
        .await
        .unwrap();

    clock.advance(20 * MINUTE);
    assert!(store.touch_session("sid", 30 * MINUTE).await.unwrap());
    // 40 minutes after creation, 20 after the touch: alive.
    clock.advance(20 * MINUTE);
    assert_eq!(
        store.read_session("sid").await.unwrap(),
        Some(bytes("claims"))
    );
    // Reading is not touching: 30 minutes after the touch, gone.
    clock.advance(10 * MINUTE - MS);
    assert!(store.read_session("sid").await.unwrap().is_some());
    clock.advance(MS);
    assert_eq!(store.read_session("sid").await.unwrap(), None);
    // An expired session cannot be touched back to life.
    assert!(!store.touch_session("sid", 30 * MINUTE).await.unwrap());
    assert_eq!(store.read_session("sid").await.unwrap(), None);
    assert!(!store.touch_session("never", 30 * MINUTE).await.unwrap());
}

#[tokio::test]
async fn a_session_is_created_once_and_deleted_once() {
    let clock = clock();
    let store = builder(&clock).build();
    store
        .create_session("sid", bytes("a"), MINUTE)
        .await
        .unwrap();
    let err = store
        .create_session("sid", bytes("b"), MINUTE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(KeySpace::Session)));
    assert_eq!(store.read_session("sid").await.unwrap(), Some(bytes("a")));

    assert!(store.delete_session("sid").await.unwrap());
    assert!(!store.delete_session("sid").await.unwrap());
    assert_eq!(store.read_session("sid").await.unwrap(), None);

    store
        .create_session("old", bytes("a"), MINUTE)
        .await
        .unwrap();
    clock.advance(MINUTE);
    assert!(!store.delete_session("old").await.unwrap(), "expired");
}

#[tokio::test]
async fn replacing_a_session_keeps_or_sets_its_expiry() {
    let clock = clock();
    let store = builder(&clock).build();
    store
        .create_session("sid", bytes("v1"), 30 * MINUTE)
        .await
        .unwrap();

    clock.advance(20 * MINUTE);
    assert!(
        store
            .replace_session("sid", bytes("v2"), None)
            .await
            .unwrap()
    );
    assert_eq!(store.read_session("sid").await.unwrap(), Some(bytes("v2")));
    // Kept: still 30 minutes from creation.
    clock.advance(10 * MINUTE);
    assert_eq!(store.read_session("sid").await.unwrap(), None);
    // Expired: not brought back.
    assert!(
        !store
            .replace_session("sid", bytes("v3"), Some(MINUTE))
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_session("never", bytes("v3"), None)
            .await
            .unwrap()
    );
    assert_eq!(store.read_session("sid").await.unwrap(), None);
    assert_eq!(store.read_session("never").await.unwrap(), None);

    store
        .create_session("sid2", bytes("v1"), MINUTE)
        .await
        .unwrap();
    assert!(
        store
            .replace_session("sid2", bytes("v2"), Some(30 * MINUTE))
            .await
            .unwrap()
    );
    // Set: 30 minutes from the replacement.
    clock.advance(30 * MINUTE - MS);
    assert_eq!(store.read_session("sid2").await.unwrap(), Some(bytes("v2")));
    clock.advance(MS);
    assert_eq!(store.read_session("sid2").await.unwrap(), None);
}

#[tokio::test]
async fn a_full_session_store_refuses_and_keeps_live_sessions() {
    let clock = clock();
    let store = builder(&clock).max_sessions(3).build();
    store.create_session("a", bytes("a"), MINUTE).await.unwrap();
    store
        .create_session("b", bytes("b"), 10 * MINUTE)
        .await
        .unwrap();
    store
        .create_session("c", bytes("c"), 10 * MINUTE)
        .await
        .unwrap();
    let err = store
        .create_session("d", bytes("d"), MINUTE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Full(KeySpace::Session)));
    for id in ["a", "b", "c"] {
        assert_eq!(store.read_session(id).await.unwrap(), Some(bytes(id)));
    }
    assert_eq!(store.read_session("d").await.unwrap(), None);

    // Once "a" expired there is room again.
    clock.advance(MINUTE);
    store.create_session("d", bytes("d"), MINUTE).await.unwrap();
    assert_eq!(store.len(KeySpace::Session), 3);
    for id in ["b", "c", "d"] {
        assert_eq!(store.read_session(id).await.unwrap(), Some(bytes(id)));
    }
}

#[tokio::test]
async fn expired_entries_do_not_pile_up_while_writes_go_on() {
    let clock = clock();
    let store = builder(&clock).build();
    for i in 0..1_000 {
        store
            .create_session(&format!("old-{i}"), bytes("v"), MINUTE)
            .await
            .unwrap();
        store
            .increment_counter(&format!("old-{i}"), MINUTE)
            .await
            .unwrap();
        store
            .put_pending(&format!("old-{i}"), bytes("v"), MINUTE)
            .await
            .unwrap();
    }
    clock.advance(MINUTE);
    // Far below any limit: only the sweep on each write reclaims them.
    for i in 0..300 {
        store
            .create_session(&format!("new-{i}"), bytes("v"), MINUTE)
            .await
            .unwrap();
        store
            .increment_counter(&format!("new-{i}"), MINUTE)
            .await
            .unwrap();
        store
            .put_pending(&format!("new-{i}"), bytes("v"), MINUTE)
            .await
            .unwrap();
    }
    assert_eq!(store.len(KeySpace::Session), 300);
    assert_eq!(store.len(KeySpace::Counter), 300);
    assert_eq!(store.len(KeySpace::Pending), 300);
}

// ---- counters ----

#[tokio::test]
async fn a_counter_window_starts_at_the_first_increment() {
    let clock = clock();
    let store: Arc<dyn Store> = Arc::new(builder(&clock).build());
    let window = 15 * MINUTE;
    assert_eq!(store.read_counter("guardian-1").await.unwrap(), 0);
    assert_eq!(
        store.increment_counter("guardian-1", window).await.unwrap(),
        1
    );
    clock.advance(10 * MINUTE);
    assert_eq!(
        store.increment_counter("guardian-1", window).await.unwrap(),
        2
    );
    clock.advance(5 * MINUTE - MS);
    assert_eq!(
        store.increment_counter("guardian-1", window).await.unwrap(),
        3
    );
    assert_eq!(store.read_counter("guardian-1").await.unwrap(), 3);
    // 15 minutes after the first failure, despite the later ones: reset.
    clock.advance(MS);
    assert_eq!(store.read_counter("guardian-1").await.unwrap(), 0);
    assert_eq!(
        store.increment_counter("guardian-1", window).await.unwrap(),
        1
    );
    // The new window runs from this new first increment.
    clock.advance(window - MS);
    assert_eq!(store.read_counter("guardian-1").await.unwrap(), 1);
    clock.advance(MS);
    assert_eq!(store.read_counter("guardian-1").await.unwrap(), 0);
}

#[tokio::test]
async fn a_counter_is_reset_on_demand() {
    let store = MemoryStore::new();
    store.increment_counter("c", MINUTE).await.unwrap();
    store.increment_counter("c", MINUTE).await.unwrap();
    assert!(store.reset_counter("c").await.unwrap());
    assert!(!store.reset_counter("c").await.unwrap());
    assert_eq!(store.read_counter("c").await.unwrap(), 0);
    assert_eq!(store.increment_counter("c", MINUTE).await.unwrap(), 1);
}

#[tokio::test]
async fn a_full_counter_store_fails_closed() {
    let clock = clock();
    let store = builder(&clock).max_counters(2).build();
    store.increment_counter("a", MINUTE).await.unwrap();
    store.increment_counter("b", 10 * MINUTE).await.unwrap();
    let err = store.increment_counter("c", MINUTE).await.unwrap_err();
    assert!(matches!(err, StoreError::Full(KeySpace::Counter)));
    // Existing lock-outs keep counting; none was dropped.
    assert_eq!(store.increment_counter("a", MINUTE).await.unwrap(), 2);
    assert_eq!(store.read_counter("b").await.unwrap(), 1);

    clock.advance(MINUTE);
    assert_eq!(store.increment_counter("c", MINUTE).await.unwrap(), 1);
    assert_eq!(store.read_counter("b").await.unwrap(), 1);
}

// ---- records ----

#[tokio::test]
async fn records_do_not_expire() {
    let clock = clock();
    let store: Arc<dyn Store> = Arc::new(builder(&clock).build());
    store.put_record("sub-1", bytes("link")).await.unwrap();
    clock.advance(Duration::from_secs(100 * 365 * 24 * 3600));
    // Writes elsewhere sweep expired entries; records are not among them.
    store
        .create_session("sid", bytes("v"), MINUTE)
        .await
        .unwrap();
    assert_eq!(
        store.get_record("sub-1").await.unwrap(),
        Some(bytes("link"))
    );

    store.put_record("sub-1", bytes("link 2")).await.unwrap();
    assert_eq!(
        store.get_record("sub-1").await.unwrap(),
        Some(bytes("link 2"))
    );
    assert!(store.delete_record("sub-1").await.unwrap());
    assert!(!store.delete_record("sub-1").await.unwrap());
    assert_eq!(store.get_record("sub-1").await.unwrap(), None);
}

#[tokio::test]
async fn a_full_record_store_refuses_new_ids_but_replaces_existing_ones() {
    let store = MemoryStore::builder().max_records(1).build();
    store.put_record("a", bytes("1")).await.unwrap();
    let err = store.put_record("b", bytes("1")).await.unwrap_err();
    assert!(matches!(err, StoreError::Full(KeySpace::Record)));
    store.put_record("a", bytes("2")).await.unwrap();
    assert_eq!(store.get_record("a").await.unwrap(), Some(bytes("2")));
    assert_eq!(store.get_record("b").await.unwrap(), None);
}

// ---- across key spaces ----

#[tokio::test]
async fn key_spaces_are_separate() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .put_pending("x", bytes("pending"), MINUTE)
        .await
        .unwrap();
    store
        .create_session("x", bytes("session"), MINUTE)
        .await
        .unwrap();
    assert_eq!(store.increment_counter("x", MINUTE).await.unwrap(), 1);
    store.put_record("x", bytes("record")).await.unwrap();

    assert_eq!(
        store.read_session("x").await.unwrap(),
        Some(bytes("session"))
    );
    assert_eq!(store.get_record("x").await.unwrap(), Some(bytes("record")));
    assert_eq!(store.read_counter("x").await.unwrap(), 1);
    assert_eq!(
        store.take_pending("x").await.unwrap(),
        Some(bytes("pending"))
    );

    // Removing from one space leaves the others alone.
    assert!(store.delete_session("x").await.unwrap());
    assert_eq!(store.get_record("x").await.unwrap(), Some(bytes("record")));
    assert_eq!(store.read_counter("x").await.unwrap(), 1);
    assert!(store.delete_record("x").await.unwrap());
    assert_eq!(store.read_counter("x").await.unwrap(), 1);
    assert!(store.reset_counter("x").await.unwrap());

    // A session id is not a pending login, nor the reverse.
    store
        .create_session("y", bytes("session"), MINUTE)
        .await
        .unwrap();
    assert_eq!(store.take_pending("y").await.unwrap(), None);
    store
        .put_pending("z", bytes("pending"), MINUTE)
        .await
        .unwrap();
    assert_eq!(store.read_session("z").await.unwrap(), None);
    assert!(!store.touch_session("z", MINUTE).await.unwrap());
}

#[tokio::test]
async fn a_ttl_below_a_millisecond_or_unrepresentable_is_refused() {
    let store = MemoryStore::new();
    for ttl in [Duration::ZERO, Duration::from_micros(999), Duration::MAX] {
        assert!(matches!(
            store.put_pending("p", bytes("v"), ttl).await,
            Err(StoreError::InvalidTtl)
        ));
        assert!(matches!(
            store.create_session("s", bytes("v"), ttl).await,
            Err(StoreError::InvalidTtl)
        ));
        assert!(matches!(
            store.increment_counter("c", ttl).await,
            Err(StoreError::InvalidTtl)
        ));
    }
    store.create_session("s", bytes("v"), MS).await.unwrap();
    assert!(matches!(
        store.touch_session("s", Duration::ZERO).await,
        Err(StoreError::InvalidTtl)
    ));
    assert!(matches!(
        store
            .replace_session("s", bytes("w"), Some(Duration::ZERO))
            .await,
        Err(StoreError::InvalidTtl)
    ));
    assert_eq!(store.len(KeySpace::Pending), 0);
    assert_eq!(store.len(KeySpace::Counter), 0);
}

#[tokio::test]
async fn debug_output_shows_no_ids_or_values() {
    let store = MemoryStore::new();
    store
        .put_pending("state-secret", bytes("verifier-secret"), MINUTE)
        .await
        .unwrap();
    store
        .create_session("sid-secret", bytes("claims-secret"), MINUTE)
        .await
        .unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("pending: 1"), "{debug}");
}

// ---- the conformance suite every store passes ----

/// The memory store with time moved by hand: the same checks as Redis and
/// PostgreSQL run (`store::conformance`).
struct ManualTime {
    store: MemoryStore,
    clock: Arc<ManualClock>,
}

#[async_trait::async_trait]
impl educonnect_core::store::conformance::Subject for ManualTime {
    fn store(&self) -> &dyn Store {
        &self.store
    }

    async fn wait(&self, duration: Duration) {
        self.clock.advance(duration);
    }
}

#[tokio::test]
async fn the_memory_store_passes_the_conformance_suite() {
    let clock = clock();
    let subject = ManualTime {
        store: builder(&clock).build(),
        clock,
    };
    let failures = educonnect_core::store::conformance::run(&subject).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A store that breaks two promises: a pending entry survives its take,
/// and a touch does not extend a session.
#[derive(Debug)]
struct Broken(MemoryStore);

#[async_trait::async_trait]
impl Store for Broken {
    async fn put_pending(&self, id: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        self.0.put_pending(id, value, ttl).await
    }
    async fn take_pending(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.0.take_pending(id).await?;
        if let Some(value) = &value {
            self.0.put_pending(id, value.clone(), MINUTE).await?;
        }
        Ok(value)
    }
    async fn mark_used(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.0.mark_used(id, ttl).await
    }
    async fn create_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.0.create_session(id, value, ttl).await
    }
    async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.read_session(id).await
    }
    async fn replace_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        self.0.replace_session(id, value, ttl).await
    }
    async fn touch_session(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        if ttl < MS {
            return Err(StoreError::InvalidTtl);
        }
        Ok(self.0.read_session(id).await?.is_some())
    }
    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.0.delete_session(id).await
    }
    async fn increment_counter(&self, id: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.0.increment_counter(id, ttl).await
    }
    async fn read_counter(&self, id: &str) -> Result<u64, StoreError> {
        self.0.read_counter(id).await
    }
    async fn reset_counter(&self, id: &str) -> Result<bool, StoreError> {
        self.0.reset_counter(id).await
    }
    async fn put_record(&self, id: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.0.put_record(id, value).await
    }
    async fn get_record(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get_record(id).await
    }
    async fn delete_record(&self, id: &str) -> Result<bool, StoreError> {
        self.0.delete_record(id).await
    }
}

struct BrokenSubject {
    store: Broken,
    clock: Arc<ManualClock>,
}

#[async_trait::async_trait]
impl educonnect_core::store::conformance::Subject for BrokenSubject {
    fn store(&self) -> &dyn Store {
        &self.store
    }

    async fn wait(&self, duration: Duration) {
        self.clock.advance(duration);
    }
}

#[tokio::test]
async fn the_conformance_suite_names_the_promises_a_store_breaks() {
    let clock = clock();
    let subject = BrokenSubject {
        store: Broken(builder(&clock).build()),
        clock,
    };
    let failures = educonnect_core::store::conformance::run(&subject).await;
    let mut failed: Vec<&str> = failures.iter().map(|f| f.check).collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        [
            // The entry is still there to collide with.
            "a_live_pending_id_is_never_overwritten",
            "a_pending_entry_is_taken_exactly_once",
            "a_session_expires_when_idle_and_a_touch_extends_it",
            // Its touch checks only the lower bound.
            "a_ttl_below_a_millisecond_or_unrepresentable_is_refused",
            "concurrent_takes_of_a_pending_entry_have_one_winner",
        ],
        "{failures:#?}"
    );
}

/// Records on one store, everything else on the other: the split keeps the
/// contract, and each kind of entry lands where it should.
#[tokio::test]
async fn a_split_store_passes_the_conformance_suite_and_routes_records_apart() {
    use educonnect_core::store::SplitStore;
    let clock = clock();
    let ephemeral = Arc::new(builder(&clock).build());
    let durable = Arc::new(builder(&clock).build());
    let split = SplitStore::new(ephemeral.clone(), durable.clone());
    struct Split {
        store: SplitStore,
        clock: Arc<ManualClock>,
    }
    #[async_trait::async_trait]
    impl educonnect_core::store::conformance::Subject for Split {
        fn store(&self) -> &dyn Store {
            &self.store
        }
        async fn wait(&self, duration: Duration) {
            self.clock.advance(duration);
        }
    }
    let subject = Split {
        store: split.clone(),
        clock,
    };
    let failures = educonnect_core::store::conformance::run(&subject).await;
    assert!(failures.is_empty(), "{failures:#?}");

    split.put_record("link", bytes("l")).await.unwrap();
    split.create_session("s", bytes("s"), MINUTE).await.unwrap();
    assert_eq!(durable.get_record("link").await.unwrap(), Some(bytes("l")));
    assert_eq!(ephemeral.get_record("link").await.unwrap(), None);
    assert_eq!(ephemeral.read_session("s").await.unwrap(), Some(bytes("s")));
    assert_eq!(durable.read_session("s").await.unwrap(), None);
}
