//! Time, injected: the core never reads the system clock on its own, so that
//! every check replays exactly in tests.

use std::fmt;
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
