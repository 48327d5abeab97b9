//! Where the login flow keeps its state between requests: the [`Store`] trait,
//! and [`MemoryStore`], its implementation in the process's memory.
//!
//! # Five kinds of state, five separate key spaces
//!
//! | kind | written when | lifetime | read by |
//! |---|---|---|---|
//! | pending entry | a provider login needs the birth-date challenge (`verify-…`); a logout goes to the provider (`logout-…`) | a few minutes, taken exactly once | the challenge; the logout return |
//! | used login state | a callback carrying a valid login cookie | the rest of the login's lifetime | the callback (a replay) |
//! | session | a login succeeded | idle timeout, extended on use | every request |
//! | counter | a challenge answer was wrong | a lock-out window, from the first failure | the challenge |
//! | record | a guardian link was verified | durable, no expiry | later logins |
//!
//! Starting a login (`/auth/login`, which anyone can request anonymously and
//! in numbers) writes nothing: the pending login travels sealed in the
//! browser's login cookie (see [`crate::flow`]). So only a user who logged
//! in at the provider, or holds a session, creates pending entries, and a
//! flood cannot evict them. A callback needs only a login cookie, which
//! anyone can get: the marks it leaves are kept apart, as used login
//! states, where a flood can only evict other marks.
//!
//! The store holds opaque bytes under string ids: the flow serializes its own
//! types. An id in one key space never names an entry of another (a session id
//! equal to a pending login's id is a different entry), so an id handed out for
//! one purpose can never be replayed to reach another kind of state.
//!
//! # One backend command per operation
//!
//! Every method maps onto exactly one Redis command (named in its
//! documentation), so that the Redis store is a thin translation and each
//! operation is atomic there as it is here. Time to live is given in
//! milliseconds to Redis (`PX`), and must be at least one millisecond
//! ([`StoreError::InvalidTtl`] otherwise, in every backend).
//!
//! # What a [`MemoryStore`] loses at restart
//!
//! A [`MemoryStore`] is per process: nothing is shared between replicas, and
//! everything is lost when the process stops:
//!
//! - **pending entries**: parents at the birth-date challenge, and logouts at
//!   the provider, start again;
//! - **used login states**: a callback replayed across the restart is no
//!   longer recognized as such (its login cookie still expires, and the
//!   provider refuses a code used once);
//! - **sessions**: everybody is logged out and logs in again;
//! - **counters**: challenge lock-outs are lifted early;
//! - **records**: verified guardian links are forgotten; parents answer the
//!   confirmation challenge again at their next login.
//!
//! It suits development, tests and a single-instance service that accepts the
//! above. A service with several replicas (a login may start on one and come
//! back on another), or that must keep verified links, needs a shared durable
//! store: `educonnect-redis` (shared by replicas), with verified links on
//! `educonnect-postgres` through [`SplitStore`] where they must survive
//! Redis.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

pub mod conformance;
mod memory;
mod split;

pub use memory::{
    DEFAULT_MAX_COUNTERS, DEFAULT_MAX_PENDING_LOGINS, DEFAULT_MAX_RECORDS, DEFAULT_MAX_SESSIONS,
    DEFAULT_MAX_USED_STATES, MemoryStore, MemoryStoreBuilder,
};
pub use split::SplitStore;

/// The state the login flow keeps between requests, behind an async interface
/// so that a network store (Redis) fits as well as the [`MemoryStore`].
///
/// Used as `Arc<dyn Store>`. Ids are strings and values opaque bytes, in five
/// disjoint key spaces (see the [module documentation](self)). Ids may come
/// from the request (a cookie): implementations must not assume they are well
/// formed, and must not echo them in errors.
///
/// Expiry is exact as seen by callers: an entry whose time to live has run out
/// is never returned, even when a backend has not reclaimed its memory yet.
///
/// Methods are grouped by key space: pending entries, used login states,
/// sessions, counters, records.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Stores a pending login under a new `id`, to expire after `ttl`.
    ///
    /// Fails with [`StoreError::AlreadyExists`] if a live pending login has
    /// this id (ids are random: a collision means a bug or an attack, never
    /// something to overwrite). A store that bounds the number of pending
    /// logins may evict older ones to make room (see [`MemoryStore`]).
    ///
    /// Redis: `SET pending:{id} value PX ttl NX`.
    async fn put_pending(&self, id: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError>;

    /// Removes and returns the pending login `id`, atomically: of any number
    /// of concurrent calls, at most one gets `Some`. `None` if there is none,
    /// it expired, or it was taken already.
    ///
    /// Redis: `GETDEL pending:{id}` (Redis 6.2).
    async fn take_pending(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Marks the login state `id` used, for `ttl` (the rest of the login's
    /// lifetime). Returns `true` if this call marked it, `false` if a live
    /// mark was there already (a replayed callback): of any number of
    /// concurrent calls with one id, exactly one gets `true`.
    ///
    /// Marks are a key space of their own. Anyone can obtain a login cookie
    /// and send its callback, so marks are cheap to create in numbers: a
    /// store that bounds them may evict older marks (see [`MemoryStore`]),
    /// but they must never push out another kind of entry (a parent's
    /// pending birth-date challenge).
    ///
    /// The default implementation, for stores written before this method,
    /// keeps the mark as the pending login `used-{id}`: such a store shares
    /// its pending logins' bound with marks. Override it.
    ///
    /// Redis: `SET used:{id} "" PX ttl NX`.
    async fn mark_used(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self
            .put_pending(&format!("used-{id}"), Vec::new(), ttl)
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates the session `id`, to expire after `ttl` unless touched.
    ///
    /// Fails with [`StoreError::AlreadyExists`] if a live session has this id:
    /// a new login always gets a new id, never an existing session.
    ///
    /// Redis: `SET session:{id} value PX ttl NX`.
    async fn create_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// The live session `id`, if any. Does not extend it: see
    /// [`touch_session`](Self::touch_session).
    ///
    /// Redis: `GET session:{id}`.
    async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces the value of the live session `id`. With `Some(ttl)` the
    /// session expires `ttl` from now; with `None` it keeps its current expiry.
    ///
    /// Returns `false`, and stores nothing, if there is no live session `id`:
    /// an expired or deleted session is not brought back.
    ///
    /// Redis: `SET session:{id} value XX PX ttl`, or with `None`
    /// `SET session:{id} value XX KEEPTTL` (Redis 6.0).
    async fn replace_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError>;

    /// Resets the idle timeout of the live session `id`: it now expires `ttl`
    /// from now. Returns whether there was such a session.
    ///
    /// An absolute session lifetime, if the service wants one, is the flow's
    /// to enforce from a creation time kept in the value.
    ///
    /// Redis: `PEXPIRE session:{id} ttl`.
    async fn touch_session(&self, id: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Deletes the session `id`. Returns whether there was a live one.
    ///
    /// Redis: `DEL session:{id}`.
    async fn delete_session(&self, id: &str) -> Result<bool, StoreError>;

    /// Adds one to the counter `id` and returns the new value (1 for a counter
    /// that did not exist or had expired). Saturates at `u64::MAX`.
    ///
    /// The `ttl` applies only when this call creates the counter; later
    /// increments do not extend it. For a lock-out, the window therefore
    /// starts at the first failure and ends `ttl` later however many failures
    /// follow: a patient attacker gets at most the allowed number of attempts
    /// per window, and a locked-out parent knows when they may try again.
    ///
    /// Redis: one atomic script,
    /// `EVAL "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n" 1 counter:{id} ttl`.
    /// Not `SET NX PX` followed by `INCR`: if the key expired between the two,
    /// `INCR` would recreate it without a time to live, a lock-out for ever.
    async fn increment_counter(&self, id: &str, ttl: Duration) -> Result<u64, StoreError>;

    /// The current value of the counter `id`: 0 if it does not exist or has
    /// expired.
    ///
    /// Redis: `GET counter:{id}`.
    async fn read_counter(&self, id: &str) -> Result<u64, StoreError>;

    /// Deletes the counter `id` (after a successful challenge, say). Returns
    /// whether there was a live one.
    ///
    /// Redis: `DEL counter:{id}`.
    async fn reset_counter(&self, id: &str) -> Result<bool, StoreError>;

    /// Stores the durable record `id`, replacing any previous value. Records
    /// never expire.
    ///
    /// Redis: `SET record:{id} value`.
    async fn put_record(&self, id: &str, value: Vec<u8>) -> Result<(), StoreError>;

    /// The record `id`, if any.
    ///
    /// Redis: `GET record:{id}`.
    async fn get_record(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Deletes the record `id`. Returns whether there was one.
    ///
    /// Redis: `DEL record:{id}`.
    async fn delete_record(&self, id: &str) -> Result<bool, StoreError>;
}

/// One of the five key spaces of a [`Store`]: names which kind of entry an
/// error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySpace {
    /// Pending logins.
    Pending,
    /// Marks of used login states ([`Store::mark_used`]).
    Used,
    /// Sessions.
    Session,
    /// Counters.
    Counter,
    /// Durable records.
    Record,
}

impl fmt::Display for KeySpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending login",
            Self::Used => "used login state",
            Self::Session => "session",
            Self::Counter => "counter",
            Self::Record => "record",
        })
    }
}

/// A [`Store`] operation failed.
///
/// Messages never include ids or values: ids can be session secrets, values
/// personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A live entry already has this id, and the operation only creates.
    #[error("a {0} with this id already exists")]
    AlreadyExists(KeySpace),
    /// The store holds as many entries of this kind as it is allowed to, and
    /// would not make room by dropping a live one. The service is overloaded
    /// (or flooded): an operator should hear about it.
    #[error("the store holds its maximum number of {0} entries")]
    Full(KeySpace),
    /// A time to live below one millisecond, or too long to represent. A bug
    /// or a configuration error in the calling service, never caused by
    /// request data.
    #[error("invalid time to live (at least one millisecond, and representable)")]
    InvalidTtl,
    /// The backend could not be reached or answered with an error (a network
    /// store: Redis down, timeout, refused command). The source says why.
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync + 'static>),
}
