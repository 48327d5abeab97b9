//! Time, injected: the core never reads the system clock on its own, so that
//! every check replays exactly in tests.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;

    /// Now, in whole seconds since the Unix epoch (negative before 1970).
    fn unix_seconds(&self) -> i64 {
        match self.now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that always says the same time: for tests, and for checking a token
/// "as of" a given moment (`educonnect token verify --now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(SystemTime);

impl FixedClock {
    /// A clock stopped at `seconds` after the Unix epoch.
    pub fn at_unix(seconds: u64) -> Self {
        Self(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// A clock stopped at `time`.
    pub fn at(time: SystemTime) -> Self {
        Self(time)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// A clock that a test moves by hand: shared (behind an `Arc`) between the
/// code under test and the test, which calls [`advance`](Self::advance) or
/// [`set`](Self::set) to make time pass, for example to expire a pending login
/// or a session in a [`MemoryStore`](crate::MemoryStore) without sleeping.
///
/// Thread-safe: every reader sees each change as soon as the call returns.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use educonnect_core::{Clock, ManualClock};
///
/// let clock = Arc::new(ManualClock::at_unix(1_000));
/// let shared: Arc<dyn Clock> = clock.clone();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(shared.unix_seconds(), 1_060);
/// ```
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock showing `seconds` after the Unix epoch until it is moved.
    pub fn at_unix(seconds: u64) -> Self {
        Self::at(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// A clock showing `time` until it is moved.
    pub fn at(time: SystemTime) -> Self {
        Self(Mutex::new(time))
    }

    /// Moves the clock forward by `by`.
    ///
    /// # Panics
    ///
    /// If the result is beyond what `SystemTime` can represent: a bug in the
    /// test, not a condition to handle.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now
            .checked_add(by)
            .expect("ManualClock::advance beyond the range of SystemTime");
    }

    /// Sets the clock to `time`, forward or backward (as an operating-system
    /// clock may jump).
    pub fn set(&self, time: SystemTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = time;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        // A `SystemTime` is copied in and out whole, so a panic elsewhere while
        // the lock was held cannot have left a torn value: poisoning is moot.
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Arc::new(ManualClock::at_unix(1_000));
        let seen_by_other_thread: Arc<dyn Clock> = clock.clone();
        assert_eq!(seen_by_other_thread.unix_seconds(), 1_000);
        assert_eq!(seen_by_other_thread.unix_seconds(), 1_000);

        clock.advance(Duration::from_millis(1_500));
        let other = std::thread::spawn(move || seen_by_other_thread.now());
        assert_eq!(
            other.join().unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_001_500)
        );

        clock.set(UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(clock.unix_seconds(), 10);
    }
}
