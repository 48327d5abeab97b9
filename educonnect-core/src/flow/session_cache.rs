//! Sessions already read, per process: the parsed [`Session`] of a stored
//! record, and when this process last extended its idle timeout.
//!
//! The store stays the one authority: every lookup still reads the record
//! (so a logout on another replica, or an expiry, is seen at once), and the
//! cached session is used only when the record read is byte for byte the
//! one it was parsed from. What the cache saves is parsing the record and
//! re-validating the identity on every request, and a store write per
//! request: the idle timeout is extended at most once per
//! [`touch_interval`], so a session may end up to that much earlier than
//! its exact idle timeout.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::Session;

/// How many sessions are kept; past it the cache starts over (bounded
/// memory whatever the number of users).
const CAPACITY: usize = 10_000;

/// How often a session's idle timeout is extended at most, for an idle
/// timeout of `idle` seconds: a tenth of it, at most a minute.
pub(super) fn touch_interval(idle: i64) -> i64 {
    (idle / 10).clamp(0, 60)
}

struct Entry {
    record: Vec<u8>,
    session: Session,
    created_at: i64,
    touched_at: i64,
}

/// A hit: the session, when the record was created, and whether the idle
/// timeout is due to be extended.
pub(super) struct Hit {
    pub(super) session: Session,
    pub(super) created_at: i64,
    pub(super) touch_due: bool,
}

#[derive(Default)]
pub(super) struct SessionCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache").finish_non_exhaustive()
    }
}

impl SessionCache {
    /// The session parsed from exactly `record` under `key`, if any. A due
    /// touch is counted as done: the caller extends the timeout now.
    pub(super) fn get(&self, key: &str, record: &[u8], now: i64, interval: i64) -> Option<Hit> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get_mut(key)?;
        if entry.record != record {
            return None;
        }
        let touch_due = now.saturating_sub(entry.touched_at) >= interval;
        if touch_due {
            entry.touched_at = now;
        }
        Some(Hit {
            session: entry.session.clone(),
            created_at: entry.created_at,
            touch_due,
        })
    }

    /// Keeps `session`, parsed from `record` and touched at `now`.
    pub(super) fn insert(
        &self,
        key: &str,
        record: Vec<u8>,
        session: Session,
        created_at: i64,
        now: i64,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY && !entries.contains_key(key) {
            entries.clear();
        }
        entries.insert(
            key.to_owned(),
            Entry {
                record,
                session,
                created_at,
                touched_at: now,
            },
        );
    }

    /// Forgets `key` (the record is gone or unreadable).
    pub(super) fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}
