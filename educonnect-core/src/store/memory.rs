//! [`MemoryStore`]: the [`Store`] in this process's memory, bounded.
//!
//! Each key space is a map from id to entry plus, for entries that expire, an
//! index ordered by expiry time, so that expired entries are found at its front
//! without scanning. Pending entries and marks of used login states
//! also have an index by insertion order, to evict the oldest. Every index operation is O(log n).
//!
//! Memory is reclaimed two ways: an expired entry met by a write is removed
//! (reads only ignore it, under a shared lock); and every write to a key space
//! first removes up to [`SWEEP_BATCH`] expired entries from the front of its
//! expiry index, so dead entries do not pile up between accesses. Since that
//! sweep removes at least one expired entry whenever there is one, a key space
//! still at its limit after it holds no expired entry: limits are only ever
//! enforced against live entries, without a full purge. The cost per write is
//! O(log n), amortized over entries that are each removed once.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{KeySpace, Store, StoreError};
use crate::clock::{Clock, SystemClock};

/// Default limit on pending entries (birth-date challenges, logouts at the
/// provider) in a [`MemoryStore`]: at 100 a second and a fifteen-minute time
/// to live, 90 000 are live at once. Starting a login stores nothing.
pub const DEFAULT_MAX_PENDING_LOGINS: usize = 100_000;
/// Default limit on marks of used login states in a [`MemoryStore`] (the
/// oldest are evicted beyond): a mark lives as long as its login could, ten
/// minutes by default.
pub const DEFAULT_MAX_USED_STATES: usize = 100_000;
/// Default limit on sessions in a [`MemoryStore`].
pub const DEFAULT_MAX_SESSIONS: usize = 1_000_000;
/// Default limit on counters in a [`MemoryStore`].
pub const DEFAULT_MAX_COUNTERS: usize = 1_000_000;
/// Default limit on durable records in a [`MemoryStore`].
pub const DEFAULT_MAX_RECORDS: usize = 1_000_000;

/// How many expired entries a write removes, at most, before its own work.
/// More than one, so that removal outpaces creation and dead entries cannot
/// accumulate while writes go on; at least one, so that a key space at its
/// limit after the sweep is full of live entries.
const SWEEP_BATCH: usize = 4;

/// The [`Store`] in this process's memory: concurrent, with exact expiry on
/// the injected [`Clock`], and bounded.
///
/// **Lost at restart, and not shared between processes**: pending entries
/// (parents at the birth-date challenge start again), marks of used login
/// states (a replay across the restart is not recognized), sessions (users log in again), counters
/// (lock-outs are lifted), durable records (verified guardian links are
/// forgotten; parents answer the challenge again). See the [module
/// documentation](super) for when that is acceptable.
///
/// # Limits, and what happens when one is reached
///
/// Each key space holds at most a configured number of entries (defaults:
/// [`DEFAULT_MAX_PENDING_LOGINS`], [`DEFAULT_MAX_USED_STATES`], [`DEFAULT_MAX_SESSIONS`],
/// [`DEFAULT_MAX_COUNTERS`], [`DEFAULT_MAX_RECORDS`]). Limits count entries,
/// not bytes: the flow bounds the size of what it stores. When a key space is
/// full of live entries (expired ones are always dropped first):
///
/// - **pending entries**: the oldest (by insertion) are evicted to make room.
///   The flow writes one only for a user who logged in at the provider (a
///   birth-date challenge) or holds a session (a logout): starting a login
///   stores nothing (the pending login is sealed in the browser's cookie),
///   so an anonymous flood of `/auth/login` cannot reach this limit. Size it
///   above the rate of challenges times their time to live.
/// - **used login states**: the oldest marks are evicted to make room. Anyone
///   can get a login cookie and send its callback, so refusing new marks
///   would let such a flood stop every login; an evicted mark only lets a
///   replay of that callback through to the provider, which refuses a code
///   used once, and only from a browser that holds the login cookie.
/// - **sessions**: creating one fails with [`StoreError::Full`]. A session
///   exists only after a successful upstream login, so filling the store is
///   costly for an attacker, and evicting a live session would log a real user
///   out silently; a refusal is visible to the operator instead.
/// - **counters**: incrementing a new one fails with [`StoreError::Full`].
///   Counters enforce lock-outs; evicting one would lift a lock-out, so the
///   store fails closed and the flow treats the error as "locked".
/// - **records**: storing a new one fails with [`StoreError::Full`] (replacing
///   an existing record always succeeds). The link is simply verified again at
///   the next login.
///
/// # Concurrency
///
/// One lock per key space (`std::sync`), held only for a map operation, never
/// across an `.await` (there is none inside). Session and record reads share
/// their lock. Every method completes without waiting on anything else, so its
/// future is ready on first poll.
///
/// # Time
///
/// Expiry times are absolute, read from the [`Clock`] when an entry is written.
/// If the clock goes back, entries live longer; if it jumps forward, they
/// expire early.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use educonnect_core::ManualClock;
/// use educonnect_core::store::{MemoryStore, Store};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), educonnect_core::StoreError> {
/// let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
/// let store: Arc<dyn Store> = Arc::new(
///     MemoryStore::builder().clock(clock.clone()).max_pending_logins(10_000).build(),
/// );
///
/// store.put_pending("state-1", b"login".to_vec(), Duration::from_secs(600)).await?;
/// assert_eq!(store.take_pending("state-1").await?, Some(b"login".to_vec()));
/// assert_eq!(store.take_pending("state-1").await?, None); // exactly once
///
/// store.create_session("sid", b"claims".to_vec(), Duration::from_secs(1800)).await?;
/// clock.advance(Duration::from_secs(1800));
/// assert_eq!(store.read_session("sid").await?, None); // idle for too long
/// # Ok(())
/// # }
/// ```
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    pending: Mutex<Timed<Vec<u8>>>,
    used: Mutex<Timed<()>>,
    sessions: RwLock<Timed<Vec<u8>>>,
    counters: Mutex<Timed<u64>>,
    records: RwLock<HashMap<String, Vec<u8>>>,
    max_pending: usize,
    max_used: usize,
    max_sessions: usize,
    max_counters: usize,
    max_records: usize,
}

/// Configures a [`MemoryStore`]: the clock and the limit of each key space.
/// Every setting has a default.
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryStoreBuilder {
    clock: Arc<dyn Clock>,
    max_pending: usize,
    max_used: usize,
    max_sessions: usize,
    max_counters: usize,
    max_records: usize,
}

impl MemoryStoreBuilder {
    /// The clock that decides expiry (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// At most this many pending logins, the oldest evicted beyond (default
    /// [`DEFAULT_MAX_PENDING_LOGINS`]; at least 1).
    pub fn max_pending_logins(mut self, max: usize) -> Self {
        self.max_pending = max.max(1);
        self
    }

    /// At most this many marks of used login states, the oldest evicted
    /// beyond (default [`DEFAULT_MAX_USED_STATES`]; at least 1).
    pub fn max_used_states(mut self, max: usize) -> Self {
        self.max_used = max.max(1);
        self
    }

    /// At most this many sessions, [`StoreError::Full`] beyond (default
    /// [`DEFAULT_MAX_SESSIONS`]; at least 1).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// At most this many counters, [`StoreError::Full`] beyond (default
    /// [`DEFAULT_MAX_COUNTERS`]; at least 1).
    pub fn max_counters(mut self, max: usize) -> Self {
        self.max_counters = max.max(1);
        self
    }

    /// At most this many durable records, [`StoreError::Full`] beyond (default
    /// [`DEFAULT_MAX_RECORDS`]; at least 1).
    pub fn max_records(mut self, max: usize) -> Self {
        self.max_records = max.max(1);
        self
    }

    /// The store, empty.
    pub fn build(self) -> MemoryStore {
        MemoryStore {
            clock: self.clock,
            pending: Mutex::new(Timed::new(true)),
            used: Mutex::new(Timed::new(true)),
            sessions: RwLock::new(Timed::new(false)),
            counters: Mutex::new(Timed::new(false)),
            records: RwLock::new(HashMap::new()),
            max_pending: self.max_pending,
            max_used: self.max_used,
            max_sessions: self.max_sessions,
            max_counters: self.max_counters,
            max_records: self.max_records,
        }
    }
}

impl Default for MemoryStoreBuilder {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            max_pending: DEFAULT_MAX_PENDING_LOGINS,
            max_used: DEFAULT_MAX_USED_STATES,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_counters: DEFAULT_MAX_COUNTERS,
            max_records: DEFAULT_MAX_RECORDS,
        }
    }
}

impl MemoryStore {
    /// An empty store on the system clock, with the default limits.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a store: clock and limits.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder::default()
    }

    /// How many entries `space` holds now, counting expired entries not yet
    /// removed: the memory in use, for metrics (never above the limit).
    pub fn len(&self, space: KeySpace) -> usize {
        match space {
            KeySpace::Pending => lock(&self.pending).entries.len(),
            KeySpace::Used => lock(&self.used).entries.len(),
            KeySpace::Session => read(&self.sessions).entries.len(),
            KeySpace::Counter => lock(&self.counters).entries.len(),
            KeySpace::Record => read(&self.records).len(),
        }
    }

    /// Whether `space` holds no entry at all, expired or not.
    pub fn is_empty(&self, space: KeySpace) -> bool {
        self.len(space) == 0
    }

    fn expiry(&self, ttl: Duration) -> Result<(SystemTime, SystemTime), StoreError> {
        let now = self.clock.now();
        if ttl < Duration::from_millis(1) {
            return Err(StoreError::InvalidTtl);
        }
        let expires_at = now.checked_add(ttl).ok_or(StoreError::InvalidTtl)?;
        Ok((now, expires_at))
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts only: the values are login secrets and personal data.
impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("clock", &self.clock)
            .field("pending", &self.len(KeySpace::Pending))
            .field("used", &self.len(KeySpace::Used))
            .field("sessions", &self.len(KeySpace::Session))
            .field("counters", &self.len(KeySpace::Counter))
            .field("records", &self.len(KeySpace::Record))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_pending(&self, id: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let (now, expires_at) = self.expiry(ttl)?;
        let mut pending = lock(&self.pending);
        pending.sweep(now, SWEEP_BATCH);
        if pending.get_live_mut(id, now).is_some() {
            return Err(StoreError::AlreadyExists(KeySpace::Pending));
        }
        while pending.entries.len() >= self.max_pending && pending.evict_oldest() {}
        pending.insert(id, value, expires_at);
        Ok(())
    }

    async fn take_pending(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let mut pending = lock(&self.pending);
        pending.sweep(now, SWEEP_BATCH);
        Ok(pending
            .remove(id)
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value))
    }

    async fn mark_used(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (now, expires_at) = self.expiry(ttl)?;
        let mut used = lock(&self.used);
        used.sweep(now, SWEEP_BATCH);
        if used.get_live_mut(id, now).is_some() {
            return Ok(false);
        }
        while used.entries.len() >= self.max_used && used.evict_oldest() {}
        used.insert(id, (), expires_at);
        Ok(true)
    }

    async fn create_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (now, expires_at) = self.expiry(ttl)?;
        let mut sessions = write(&self.sessions);
        sessions.sweep(now, SWEEP_BATCH);
        if sessions.get_live_mut(id, now).is_some() {
            return Err(StoreError::AlreadyExists(KeySpace::Session));
        }
        if sessions.entries.len() >= self.max_sessions {
            return Err(StoreError::Full(KeySpace::Session));
        }
        sessions.insert(id, value, expires_at);
        Ok(())
    }

    async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        Ok(read(&self.sessions)
            .entries
            .get(id)
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value.clone()))
    }

    async fn replace_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let (now, expires_at) = match ttl {
            Some(ttl) => {
                let (now, expires_at) = self.expiry(ttl)?;
                (now, Some(expires_at))
            }
            None => (self.clock.now(), None),
        };
        let mut sessions = write(&self.sessions);
        sessions.sweep(now, SWEEP_BATCH);
        let Some(entry) = sessions.get_live_mut(id, now) else {
            return Ok(false);
        };
        entry.value = value;
        if let Some(expires_at) = expires_at {
            sessions.set_expiry(id, expires_at);
        }
        Ok(true)
    }

    async fn touch_session(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (now, expires_at) = self.expiry(ttl)?;
        let mut sessions = write(&self.sessions);
        sessions.sweep(now, SWEEP_BATCH);
        if sessions.get_live_mut(id, now).is_none() {
            return Ok(false);
        }
        sessions.set_expiry(id, expires_at);
        Ok(true)
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut sessions = write(&self.sessions);
        sessions.sweep(now, SWEEP_BATCH);
        Ok(sessions.remove(id).is_some_and(|entry| entry.is_live(now)))
    }

    async fn increment_counter(&self, id: &str, ttl: Duration) -> Result<u64, StoreError> {
        let (now, expires_at) = self.expiry(ttl)?;
        let mut counters = lock(&self.counters);
        counters.sweep(now, SWEEP_BATCH);
        if let Some(entry) = counters.get_live_mut(id, now) {
            entry.value = entry.value.saturating_add(1);
            return Ok(entry.value);
        }
        if counters.entries.len() >= self.max_counters {
            return Err(StoreError::Full(KeySpace::Counter));
        }
        counters.insert(id, 1, expires_at);
        Ok(1)
    }

    async fn read_counter(&self, id: &str) -> Result<u64, StoreError> {
        let now = self.clock.now();
        Ok(lock(&self.counters)
            .entries
            .get(id)
            .filter(|entry| entry.is_live(now))
            .map_or(0, |entry| entry.value))
    }

    async fn reset_counter(&self, id: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut counters = lock(&self.counters);
        counters.sweep(now, SWEEP_BATCH);
        Ok(counters.remove(id).is_some_and(|entry| entry.is_live(now)))
    }

    async fn put_record(&self, id: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let mut records = write(&self.records);
        if let Some(existing) = records.get_mut(id) {
            *existing = value;
            return Ok(());
        }
        if records.len() >= self.max_records {
            return Err(StoreError::Full(KeySpace::Record));
        }
        records.insert(id.to_owned(), value);
        Ok(())
    }

    async fn get_record(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(read(&self.records).get(id).cloned())
    }

    async fn delete_record(&self, id: &str) -> Result<bool, StoreError> {
        Ok(write(&self.records).remove(id).is_some())
    }
}

// Poisoning: no code below panics while holding a lock (no arithmetic that can
// overflow, no indexing, no user callbacks), and every method leaves the maps
// consistent at each step where a panic could occur in principle (allocation
// failure aborts). A poisoned lock is therefore used as it is rather than
// turning every later call into an error.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// One expiring entry.
struct Entry<V> {
    value: V,
    expires_at: SystemTime,
    /// Unique within its map, increasing with insertion: breaks ties between
    /// equal expiry times, and orders entries by age.
    seq: u64,
}

impl<V> Entry<V> {
    /// Live until its expiry time, expired from that instant on (as Redis).
    fn is_live(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }
}

/// A map of expiring entries with its indexes. Invariant: `by_expiry` (and
/// `by_insertion` when kept) hold exactly one item per entry, keyed by that
/// entry's current expiry (and seq).
struct Timed<V> {
    entries: HashMap<Arc<str>, Entry<V>>,
    by_expiry: BTreeMap<(SystemTime, u64), Arc<str>>,
    by_insertion: Option<BTreeMap<u64, Arc<str>>>,
    next_seq: u64,
}

impl<V> Timed<V> {
    fn new(track_insertion: bool) -> Self {
        Self {
            entries: HashMap::new(),
            by_expiry: BTreeMap::new(),
            by_insertion: track_insertion.then(BTreeMap::new),
            next_seq: 0,
        }
    }

    /// Inserts an entry whose id is not in the map (callers checked).
    fn insert(&mut self, id: &str, value: V, expires_at: SystemTime) {
        let id: Arc<str> = Arc::from(id);
        let seq = self.next_seq;
        // u64: at a billion inserts a second, wraps in 584 years.
        self.next_seq = self.next_seq.wrapping_add(1);
        self.by_expiry.insert((expires_at, seq), Arc::clone(&id));
        if let Some(by_insertion) = &mut self.by_insertion {
            by_insertion.insert(seq, Arc::clone(&id));
        }
        let previous = self.entries.insert(
            id,
            Entry {
                value,
                expires_at,
                seq,
            },
        );
        debug_assert!(previous.is_none(), "Timed::insert over an existing id");
    }

    /// Removes `id` (live or expired) with its index items.
    fn remove(&mut self, id: &str) -> Option<Entry<V>> {
        let entry = self.entries.remove(id)?;
        self.by_expiry.remove(&(entry.expires_at, entry.seq));
        if let Some(by_insertion) = &mut self.by_insertion {
            by_insertion.remove(&entry.seq);
        }
        Some(entry)
    }

    /// The live entry `id`; an expired one is removed on the way.
    fn get_live_mut(&mut self, id: &str, now: SystemTime) -> Option<&mut Entry<V>> {
        if self
            .entries
            .get(id)
            .is_some_and(|entry| !entry.is_live(now))
        {
            self.remove(id);
        }
        self.entries.get_mut(id)
    }

    /// Moves the expiry of the existing entry `id`.
    fn set_expiry(&mut self, id: &str, expires_at: SystemTime) {
        let Some(entry) = self.entries.get_mut(id) else {
            return;
        };
        if let Some(key) = self.by_expiry.remove(&(entry.expires_at, entry.seq)) {
            self.by_expiry.insert((expires_at, entry.seq), key);
        }
        entry.expires_at = expires_at;
    }

    /// Removes up to `max` expired entries, soonest expired first.
    fn sweep(&mut self, now: SystemTime, max: usize) {
        for _ in 0..max {
            let Some(first) = self.by_expiry.first_entry() else {
                break;
            };
            if first.key().0 > now {
                break;
            }
            let ((_, seq), id) = first.remove_entry();
            self.remove_indexed(&id, seq);
        }
    }

    /// Removes the entry inserted first. Returns false if there was none (or
    /// no insertion order is kept).
    fn evict_oldest(&mut self) -> bool {
        let Some((seq, id)) = self
            .by_insertion
            .as_mut()
            .and_then(|by_insertion| by_insertion.pop_first())
        else {
            return false;
        };
        self.remove_indexed(&id, seq);
        true
    }

    /// Removes the entry `id` if it is the one numbered `seq`, with whatever
    /// index items it still has. Each index item is popped by its caller before,
    /// so that even an inconsistent map makes progress.
    fn remove_indexed(&mut self, id: &str, seq: u64) {
        if self.entries.get(id).is_some_and(|entry| entry.seq == seq) {
            self.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<V> Timed<V> {
        /// Panics unless the indexes hold exactly one item per entry.
        fn assert_consistent(&self) {
            assert_eq!(self.by_expiry.len(), self.entries.len());
            for ((expires_at, seq), id) in &self.by_expiry {
                let entry = &self.entries[id];
                assert_eq!((entry.expires_at, entry.seq), (*expires_at, *seq));
            }
            if let Some(by_insertion) = &self.by_insertion {
                assert_eq!(by_insertion.len(), self.entries.len());
                for (seq, id) in by_insertion {
                    assert_eq!(self.entries[id].seq, *seq);
                }
            }
        }
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn indexes_follow_every_change() {
        let mut timed = Timed::new(true);
        for i in 0..50_u64 {
            timed.insert(&format!("id{i}"), i, at(100 + i % 7));
        }
        timed.assert_consistent();
        timed.set_expiry("id3", at(1_000));
        timed.set_expiry("id4", at(1));
        assert!(timed.remove("id5").is_some());
        assert!(timed.remove("id5").is_none());
        timed.assert_consistent();

        // "id4" expired at 1; "id6" is live until 106; at 103 the sweep takes
        // what expired by then, soonest first, and nothing else.
        timed.sweep(at(103), usize::MAX);
        timed.assert_consistent();
        assert!(!timed.entries.contains_key("id4"));
        assert!(timed.entries.contains_key("id3"));
        assert!(timed.entries.contains_key("id6"));
        assert!(timed.entries.values().all(|entry| entry.is_live(at(103))));

        assert!(timed.get_live_mut("id6", at(106)).is_none());
        timed.assert_consistent();

        let before = timed.entries.len();
        let oldest = timed
            .by_insertion
            .as_ref()
            .unwrap()
            .values()
            .next()
            .cloned();
        assert!(timed.evict_oldest());
        assert_eq!(timed.entries.len(), before - 1);
        assert!(!timed.entries.contains_key(&*oldest.unwrap()));
        timed.assert_consistent();
    }

    #[test]
    fn sweep_removes_at_most_its_batch() {
        let mut timed = Timed::new(false);
        for i in 0..10_u64 {
            timed.insert(&format!("id{i}"), i, at(10));
        }
        timed.sweep(at(10), SWEEP_BATCH);
        assert_eq!(timed.entries.len(), 10 - SWEEP_BATCH);
        timed.assert_consistent();
        assert!(!timed.evict_oldest(), "no insertion order kept here");
    }

    #[test]
    fn an_entry_expires_at_its_expiry_instant() {
        let entry = Entry {
            value: (),
            expires_at: at(10),
            seq: 0,
        };
        assert!(entry.is_live(at(10) - Duration::from_nanos(1)));
        assert!(!entry.is_live(at(10)));
    }
}
