//! The [`Store`] contract as one suite of checks, run against every
//! implementation (the memory store in this crate's tests, Redis and
//! PostgreSQL in theirs), so that the backends cannot drift apart.
//!
//! A backend's test gives a [`Subject`]: the store, and how time passes for
//! it (a [`ManualClock`](crate::ManualClock) moved forward for the memory
//! store, a real sleep for a server). [`run`] plays every check and returns
//! the names of those that failed, with why; a test asserts the list is
//! empty.
//!
//! ```no_run
//! # async fn example() {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use educonnect_core::store::conformance::{self, Subject};
//! use educonnect_core::store::{MemoryStore, Store};
//!
//! struct Sleeping(MemoryStore);
//!
//! #[async_trait::async_trait]
//! impl Subject for Sleeping {
//!     fn store(&self) -> &dyn Store {
//!         &self.0
//!     }
//!     async fn wait(&self, duration: Duration) {
//!         // A real sleep of the caller's runtime, e.g. tokio::time::sleep.
//! #       let _ = duration;
//!     }
//! }
//!
//! let failures = conformance::run(&Sleeping(MemoryStore::new())).await;
//! assert!(failures.is_empty(), "{failures:#?}");
//! # }
//! ```
//!
//! The checks never depend on what other entries the store holds: every id
//! is fresh (a random prefix per run), so one server can serve several
//! runs at once. They do not cover what a backend may choose (bounds,
//! eviction): each backend tests those itself.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::{KeySpace, Store, StoreError};

/// A store under test, and its notion of time.
#[async_trait]
pub trait Subject: Send + Sync {
    /// The store.
    fn store(&self) -> &dyn Store;

    /// Lets `duration` pass for the store: moves a manual clock forward, or
    /// sleeps (then a little longer than asked is fine).
    async fn wait(&self, duration: Duration);

    /// The shortest time to live the checks use. Expiry checks store an
    /// entry with this time to live, wait 3 times as long, and expect it
    /// gone; they also expect an entry with 40 times as long to survive
    /// waits of a few times this. Default 1 ms (a manual clock); a server
    /// reached over a network wants enough that a round trip is small
    /// against it (100 ms on loopback).
    fn short_ttl(&self) -> Duration {
        Duration::from_millis(1)
    }
}

/// One failed check: its name and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The check's name (as in [`CHECKS`]).
    pub check: &'static str,
    /// What was expected and what came.
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.reason)
    }
}

/// A store operation in flight.
type Op<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// A check: its name and the function that plays it.
pub type Check = (
    &'static str,
    for<'a> fn(&'a dyn Subject, &'a Ids) -> CheckFuture<'a>,
);

/// Every check, in the order [`run`] plays them.
pub const CHECKS: &[Check] = &[
    ("a_pending_entry_is_taken_exactly_once", |s, i| {
        Box::pin(pending_taken_once(s, i))
    }),
    (
        "concurrent_takes_of_a_pending_entry_have_one_winner",
        |s, i| Box::pin(pending_race(s, i)),
    ),
    ("a_live_pending_id_is_never_overwritten", |s, i| {
        Box::pin(pending_not_overwritten(s, i))
    }),
    ("a_pending_entry_expires_after_its_ttl", |s, i| {
        Box::pin(pending_expires(s, i))
    }),
    (
        "a_login_state_is_marked_used_once_until_the_mark_expires",
        |s, i| Box::pin(used_once(s, i)),
    ),
    ("concurrent_marks_of_one_state_have_one_winner", |s, i| {
        Box::pin(used_race(s, i))
    }),
    ("a_session_is_created_once_read_and_deleted_once", |s, i| {
        Box::pin(session_lifecycle(s, i))
    }),
    (
        "a_session_expires_when_idle_and_a_touch_extends_it",
        |s, i| Box::pin(session_idle(s, i)),
    ),
    (
        "replacing_a_session_keeps_or_sets_its_expiry_and_never_revives_it",
        |s, i| Box::pin(session_replace(s, i)),
    ),
    (
        "a_counter_counts_from_one_in_a_window_that_starts_at_the_first_increment",
        |s, i| Box::pin(counter_window(s, i)),
    ),
    ("concurrent_increments_are_all_counted", |s, i| {
        Box::pin(counter_race(s, i))
    }),
    ("a_counter_is_reset_on_demand", |s, i| {
        Box::pin(counter_reset(s, i))
    }),
    ("records_are_replaced_deleted_and_never_expire", |s, i| {
        Box::pin(records(s, i))
    }),
    ("key_spaces_are_separate", |s, i| Box::pin(key_spaces(s, i))),
    ("values_and_ids_come_back_exactly", |s, i| {
        Box::pin(exact_bytes(s, i))
    }),
    (
        "a_ttl_below_a_millisecond_or_unrepresentable_is_refused",
        |s, i| Box::pin(invalid_ttl(s, i)),
    ),
];

/// Plays every check of [`CHECKS`] against `subject`, one after the other,
/// and returns the failures (empty: the store keeps the contract).
pub async fn run(subject: &dyn Subject) -> Vec<Failure> {
    let ids = Ids::new();
    let mut failures = Vec::new();
    for (check, play) in CHECKS {
        if let Err(reason) = play(subject, &ids).await {
            failures.push(Failure { check, reason });
        }
    }
    failures
}

/// Fresh ids for one run: a random prefix, then a counter.
#[derive(Debug)]
pub struct Ids {
    prefix: String,
    next: AtomicU64,
}

impl Ids {
    fn new() -> Self {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        Self {
            prefix: format!("conformance-{}-{nanos:x}-{run}", std::process::id()),
            next: AtomicU64::new(0),
        }
    }

    /// A new id, never handed out before in this process.
    fn fresh(&self, what: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{what}-{n}", self.prefix)
    }
}

/// Fails the check with `reason` unless `condition`.
macro_rules! ensure {
    ($condition:expr, $($reason:tt)+) => {
        if !$condition {
            return Err(format!($($reason)+));
        }
    };
}

/// Compares `got` with `want`, naming `what` on failure.
fn same<T: PartialEq + fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// The store's answer, or the check's failure naming the operation.
fn ok<T>(what: &str, result: Result<T, StoreError>) -> Result<T, String> {
    result.map_err(|e| {
        let mut reason = format!("{what} failed: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            reason.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        reason
    })
}

fn bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// Long enough never to run out during a check.
const LONG: Duration = Duration::from_secs(600);

/// Polls every future until all are done, as one future: the store sees
/// the operations in flight together (a network store sends them before
/// any answer comes), without needing a runtime to spawn on.
async fn join_all<'a, T: Unpin>(
    futures: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>,
) -> Vec<T> {
    struct JoinAll<'a, T> {
        futures: Vec<Option<Pin<Box<dyn Future<Output = T> + Send + 'a>>>>,
        outputs: Vec<Option<T>>,
    }
    impl<T: Unpin> Future for JoinAll<'_, T> {
        type Output = Vec<T>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
            // Every field is Unpin (boxed futures, options).
            let this = self.get_mut();
            let mut pending = false;
            for (slot, output) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
                if let Some(future) = slot {
                    match future.as_mut().poll(cx) {
                        Poll::Ready(value) => {
                            *output = Some(value);
                            *slot = None;
                        }
                        Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
            }
        }
    }
    let outputs = futures.iter().map(|_| None).collect();
    JoinAll {
        futures: futures.into_iter().map(Some).collect(),
        outputs,
    }
    .await
}

// ---- pending entries ----

async fn pending_taken_once(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("pending");
    ok(
        "put_pending",
        store.put_pending(&id, bytes("verifier"), LONG).await,
    )?;
    same(
        "first take",
        ok("take_pending", store.take_pending(&id).await)?,
        Some(bytes("verifier")),
    )?;
    same(
        "second take",
        ok("take_pending", store.take_pending(&id).await)?,
        None,
    )?;
    same(
        "take of an id never stored",
        ok(
            "take_pending",
            store.take_pending(&ids.fresh("never")).await,
        )?,
        None,
    )
}

async fn pending_race(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("race");
    ok(
        "put_pending",
        store.put_pending(&id, bytes("once"), LONG).await,
    )?;
    let takes: Vec<Op<'_, Option<Vec<u8>>>> = (0..16).map(|_| store.take_pending(&id)).collect();
    let mut winners = 0;
    for result in join_all(takes).await {
        if ok("take_pending", result)?.is_some() {
            winners += 1;
        }
    }
    same("takers that got the entry", winners, 1)
}

async fn pending_not_overwritten(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("pending");
    ok(
        "put_pending",
        store.put_pending(&id, bytes("first"), LONG).await,
    )?;
    match store.put_pending(&id, bytes("second"), LONG).await {
        Err(StoreError::AlreadyExists(KeySpace::Pending)) => {}
        other => {
            return Err(format!(
                "second put: got {other:?}, want AlreadyExists(Pending)"
            ));
        }
    }
    same(
        "take",
        ok("take_pending", store.take_pending(&id).await)?,
        Some(bytes("first")),
    )?;
    // Once taken, the id is free again.
    ok(
        "put after take",
        store.put_pending(&id, bytes("third"), LONG).await,
    )
}

async fn pending_expires(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let short = s.short_ttl();
    let (gone, kept) = (ids.fresh("short"), ids.fresh("long"));
    ok(
        "put_pending",
        store.put_pending(&gone, bytes("a"), short).await,
    )?;
    ok(
        "put_pending",
        store.put_pending(&kept, bytes("b"), 40 * short).await,
    )?;
    s.wait(3 * short).await;
    same(
        "expired entry",
        ok("take_pending", store.take_pending(&gone).await)?,
        None,
    )?;
    same(
        "live entry",
        ok("take_pending", store.take_pending(&kept).await)?,
        Some(bytes("b")),
    )?;
    // An expired id may be stored again.
    ok(
        "put after expiry",
        store.put_pending(&gone, bytes("c"), LONG).await,
    )
}

// ---- used login states ----

async fn used_once(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let short = s.short_ttl();
    let id = ids.fresh("state");
    same(
        "first mark",
        ok("mark_used", store.mark_used(&id, short).await)?,
        true,
    )?;
    same(
        "replayed mark",
        ok("mark_used", store.mark_used(&id, short).await)?,
        false,
    )?;
    s.wait(3 * short).await;
    same(
        "mark after expiry",
        ok("mark_used", store.mark_used(&id, LONG).await)?,
        true,
    )?;
    // Marks are not pending entries.
    same(
        "pending of a marked id",
        ok("take_pending", store.take_pending(&id).await)?,
        None,
    )
}

async fn used_race(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("state");
    let marks: Vec<Op<'_, bool>> = (0..16).map(|_| store.mark_used(&id, LONG)).collect();
    let mut winners = 0;
    for result in join_all(marks).await {
        if ok("mark_used", result)? {
            winners += 1;
        }
    }
    same("callers that marked the state", winners, 1)
}

// ---- sessions ----

async fn session_lifecycle(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("session");
    same(
        "read before create",
        ok("read_session", store.read_session(&id).await)?,
        None,
    )?;
    ok(
        "create_session",
        store.create_session(&id, bytes("claims"), LONG).await,
    )?;
    match store.create_session(&id, bytes("other"), LONG).await {
        Err(StoreError::AlreadyExists(KeySpace::Session)) => {}
        other => {
            return Err(format!(
                "second create: got {other:?}, want AlreadyExists(Session)"
            ));
        }
    }
    same(
        "read",
        ok("read_session", store.read_session(&id).await)?,
        Some(bytes("claims")),
    )?;
    same(
        "read again",
        ok("read_session", store.read_session(&id).await)?,
        Some(bytes("claims")),
    )?;
    same(
        "delete",
        ok("delete_session", store.delete_session(&id).await)?,
        true,
    )?;
    same(
        "delete again",
        ok("delete_session", store.delete_session(&id).await)?,
        false,
    )?;
    same(
        "read after delete",
        ok("read_session", store.read_session(&id).await)?,
        None,
    )?;
    same(
        "touch after delete",
        ok("touch_session", store.touch_session(&id, LONG).await)?,
        false,
    )?;
    // A new login may take the id again.
    ok(
        "create after delete",
        store.create_session(&id, bytes("new"), LONG).await,
    )
}

async fn session_idle(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let idle = 10 * s.short_ttl();
    let (touched, left) = (ids.fresh("touched"), ids.fresh("left"));
    ok(
        "create_session",
        store.create_session(&touched, bytes("t"), idle).await,
    )?;
    ok(
        "create_session",
        store.create_session(&left, bytes("l"), idle).await,
    )?;
    // Touched at 6/10 of its idle time, twice: alive at 12/10 and 18/10.
    for _ in 0..2 {
        s.wait(idle * 6 / 10).await;
        same(
            "touch",
            ok("touch_session", store.touch_session(&touched, idle).await)?,
            true,
        )?;
    }
    same(
        "touched session",
        ok("read_session", store.read_session(&touched).await)?,
        Some(bytes("t")),
    )?;
    same(
        "idle session",
        ok("read_session", store.read_session(&left).await)?,
        None,
    )?;
    same(
        "touch of an expired session",
        ok("touch_session", store.touch_session(&left, idle).await)?,
        false,
    )?;
    same(
        "delete of an expired session",
        ok("delete_session", store.delete_session(&left).await)?,
        false,
    )?;
    s.wait(3 * idle / 2).await;
    same(
        "session left idle after its touches",
        ok("read_session", store.read_session(&touched).await)?,
        None,
    )
}

async fn session_replace(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let short = s.short_ttl();
    let id = ids.fresh("session");
    ok(
        "create_session",
        store.create_session(&id, bytes("v1"), 10 * short).await,
    )?;
    // Keeping the expiry: still gone 10 short TTLs after creation.
    same(
        "replace keeping expiry",
        ok(
            "replace_session",
            store.replace_session(&id, bytes("v2"), None).await,
        )?,
        true,
    )?;
    same(
        "read",
        ok("read_session", store.read_session(&id).await)?,
        Some(bytes("v2")),
    )?;
    s.wait(13 * short).await;
    same(
        "replaced session past its first expiry",
        ok("read_session", store.read_session(&id).await)?,
        None,
    )?;
    // An expired session is not brought back.
    same(
        "replace of an expired session",
        ok(
            "replace_session",
            store.replace_session(&id, bytes("v3"), Some(LONG)).await,
        )?,
        false,
    )?;
    same(
        "read after refused replace",
        ok("read_session", store.read_session(&id).await)?,
        None,
    )?;
    // Setting a new expiry.
    let other = ids.fresh("session");
    ok(
        "create_session",
        store.create_session(&other, bytes("w1"), 10 * short).await,
    )?;
    same(
        "replace with a new ttl",
        ok(
            "replace_session",
            store
                .replace_session(&other, bytes("w2"), Some(40 * short))
                .await,
        )?,
        true,
    )?;
    s.wait(13 * short).await;
    same(
        "session with a new ttl",
        ok("read_session", store.read_session(&other).await)?,
        Some(bytes("w2")),
    )?;
    same(
        "replace of a session never created",
        ok(
            "replace_session",
            store
                .replace_session(&ids.fresh("never"), bytes("x"), None)
                .await,
        )?,
        false,
    )
}

// ---- counters ----

async fn counter_window(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let window = 10 * s.short_ttl();
    let id = ids.fresh("counter");
    same(
        "read of a new counter",
        ok("read_counter", store.read_counter(&id).await)?,
        0,
    )?;
    same(
        "first increment",
        ok(
            "increment_counter",
            store.increment_counter(&id, window).await,
        )?,
        1,
    )?;
    s.wait(window * 6 / 10).await;
    // A later increment does not extend the window, whatever ttl it gives.
    same(
        "second increment",
        ok(
            "increment_counter",
            store.increment_counter(&id, 40 * window).await,
        )?,
        2,
    )?;
    same(
        "read",
        ok("read_counter", store.read_counter(&id).await)?,
        2,
    )?;
    s.wait(window * 6 / 10).await;
    same(
        "read after the window",
        ok("read_counter", store.read_counter(&id).await)?,
        0,
    )?;
    same(
        "increment after the window",
        ok(
            "increment_counter",
            store.increment_counter(&id, LONG).await,
        )?,
        1,
    )
}

async fn counter_race(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("counter");
    let increments: Vec<Op<'_, u64>> = (0..20)
        .map(|_| store.increment_counter(&id, LONG))
        .collect();
    let mut values = Vec::new();
    for result in join_all(increments).await {
        values.push(ok("increment_counter", result)?);
    }
    values.sort_unstable();
    same("values returned", values, (1..=20).collect::<Vec<u64>>())?;
    same(
        "read",
        ok("read_counter", store.read_counter(&id).await)?,
        20,
    )
}

async fn counter_reset(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("counter");
    for _ in 0..3 {
        ok(
            "increment_counter",
            store.increment_counter(&id, LONG).await,
        )?;
    }
    same(
        "reset",
        ok("reset_counter", store.reset_counter(&id).await)?,
        true,
    )?;
    same(
        "reset again",
        ok("reset_counter", store.reset_counter(&id).await)?,
        false,
    )?;
    same(
        "read after reset",
        ok("read_counter", store.read_counter(&id).await)?,
        0,
    )?;
    same(
        "increment after reset",
        ok(
            "increment_counter",
            store.increment_counter(&id, LONG).await,
        )?,
        1,
    )
}

// ---- records ----

async fn records(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("record");
    same(
        "get before put",
        ok("get_record", store.get_record(&id).await)?,
        None,
    )?;
    ok("put_record", store.put_record(&id, bytes("link-1")).await)?;
    ok("put_record", store.put_record(&id, bytes("link-2")).await)?;
    s.wait(40 * s.short_ttl()).await;
    same(
        "get",
        ok("get_record", store.get_record(&id).await)?,
        Some(bytes("link-2")),
    )?;
    same(
        "delete",
        ok("delete_record", store.delete_record(&id).await)?,
        true,
    )?;
    same(
        "delete again",
        ok("delete_record", store.delete_record(&id).await)?,
        false,
    )?;
    same(
        "get after delete",
        ok("get_record", store.get_record(&id).await)?,
        None,
    )
}

// ---- across key spaces ----

async fn key_spaces(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("shared");
    ok(
        "put_pending",
        store.put_pending(&id, bytes("pending"), LONG).await,
    )?;
    same(
        "mark_used",
        ok("mark_used", store.mark_used(&id, LONG).await)?,
        true,
    )?;
    ok(
        "create_session",
        store.create_session(&id, bytes("session"), LONG).await,
    )?;
    same(
        "increment_counter",
        ok(
            "increment_counter",
            store.increment_counter(&id, LONG).await,
        )?,
        1,
    )?;
    ok("put_record", store.put_record(&id, bytes("record")).await)?;
    same(
        "session",
        ok("read_session", store.read_session(&id).await)?,
        Some(bytes("session")),
    )?;
    same(
        "record",
        ok("get_record", store.get_record(&id).await)?,
        Some(bytes("record")),
    )?;
    same(
        "counter",
        ok("read_counter", store.read_counter(&id).await)?,
        1,
    )?;
    same(
        "pending",
        ok("take_pending", store.take_pending(&id).await)?,
        Some(bytes("pending")),
    )?;
    // Deleting in one space leaves the others.
    same(
        "delete_session",
        ok("delete_session", store.delete_session(&id).await)?,
        true,
    )?;
    same(
        "record after session delete",
        ok("get_record", store.get_record(&id).await)?,
        Some(bytes("record")),
    )?;
    same(
        "reset_counter",
        ok("reset_counter", store.reset_counter(&id).await)?,
        true,
    )?;
    same(
        "delete_record",
        ok("delete_record", store.delete_record(&id).await)?,
        true,
    )?;
    same(
        "mark after the others were removed",
        ok("mark_used", store.mark_used(&id, LONG).await)?,
        false,
    )
}

async fn exact_bytes(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let binary: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    let large: Vec<u8> = (0..(1 << 20))
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for (what, value) in [("empty", Vec::new()), ("binary", binary), ("1 MiB", large)] {
        let id = ids.fresh("bytes");
        ok(
            "create_session",
            store.create_session(&id, value.clone(), LONG).await,
        )?;
        ensure!(
            ok("read_session", store.read_session(&id).await)?.as_deref() == Some(&value[..]),
            "{what} session value did not come back exactly"
        );
        ok("put_record", store.put_record(&id, value.clone()).await)?;
        ensure!(
            ok("get_record", store.get_record(&id).await)?.as_deref() == Some(&value[..]),
            "{what} record value did not come back exactly"
        );
        ok(
            "put_pending",
            store.put_pending(&id, value.clone(), LONG).await,
        )?;
        ensure!(
            ok("take_pending", store.take_pending(&id).await)?.as_deref() == Some(&value[..]),
            "{what} pending value did not come back exactly"
        );
    }
    // Ids are whatever a cookie carries: separators, braces (a Redis
    // cluster's hash tags), spaces, non-ASCII, a long one; each names its
    // own entry, distinct from its neighbours.
    let base = ids.fresh("odd");
    let odd = [
        format!("{base}:a"),
        format!("{base}:a:"),
        format!("{base}{{tag}}"),
        format!("{base}{{tag}}x"),
        format!("{base} é\u{0}\n*?"),
        format!("{base}{}", "x".repeat(1000)),
    ];
    for (i, id) in odd.iter().enumerate() {
        ok("put_record", store.put_record(id, vec![i as u8]).await)?;
    }
    for (i, id) in odd.iter().enumerate() {
        same(
            "odd id's record",
            ok("get_record", store.get_record(id).await)?,
            Some(vec![i as u8]),
        )?;
    }
    same(
        "an odd id's prefix",
        ok("get_record", store.get_record(&base).await)?,
        None,
    )
}

async fn invalid_ttl(s: &dyn Subject, ids: &Ids) -> Result<(), String> {
    let store = s.store();
    let id = ids.fresh("ttl");
    for ttl in [Duration::ZERO, Duration::from_micros(999), Duration::MAX] {
        let results = [
            store.put_pending(&id, bytes("x"), ttl).await.map(|_| ()),
            store.mark_used(&id, ttl).await.map(|_| ()),
            store.create_session(&id, bytes("x"), ttl).await.map(|_| ()),
            store
                .replace_session(&id, bytes("x"), Some(ttl))
                .await
                .map(|_| ()),
            store.touch_session(&id, ttl).await.map(|_| ()),
            store.increment_counter(&id, ttl).await.map(|_| ()),
        ];
        for (op, result) in [
            "put_pending",
            "mark_used",
            "create_session",
            "replace_session",
            "touch_session",
            "increment_counter",
        ]
        .iter()
        .zip(results)
        {
            ensure!(
                matches!(result, Err(StoreError::InvalidTtl)),
                "{op} with a ttl of {ttl:?}: got {result:?}, want InvalidTtl"
            );
        }
    }
    // Nothing was stored by the refused calls.
    same(
        "session after refused creates",
        ok("read_session", store.read_session(&id).await)?,
        None,
    )?;
    same(
        "counter after refused increments",
        ok("read_counter", store.read_counter(&id).await)?,
        0,
    )?;
    same(
        "pending after refused puts",
        ok("take_pending", store.take_pending(&id).await)?,
        None,
    )
}
