//! How many answers to the birth-date challenge anyone gets.
//!
//! Birth dates are not secrets: a grandparent knows them, and a presumed
//! date (`00/00/2012`) falls in one or two guesses. The challenge therefore
//! bounds guessing on three keys, each counted by one atomic store
//! operation that increments *before* the answers are looked at, and decides
//! on the value it returns (so concurrent submissions cannot slip past a
//! read-then-write check):
//!
//! - **per person** (the FranceConnect `sub`): `max_attempts` answer sets
//!   within `window`, then a lock;
//! - **per person and pupil**: the same, for each pupil shown, so that the
//!   count follows a pupil across challenges. It is keyed by the person's
//!   `sub` and never by the candidate record, so that a homonym's failures
//!   never lock the real parent out;
//! - **per pupil, across all accounts**: at most `daily_cap` answer sets a
//!   day name the pupil, whoever gives them.
//!
//! Locks escalate: the first lies `escalation[0]` (30 minutes by default),
//! the next `escalation[1]` (2 hours), then `escalation[2]` (24 hours) for
//! every further one while the person's lock history lasts (`memory`, 7
//! days). With the defaults a guesser gets 15 answer sets in the first
//! day and 5 a day after that, against 240 a day with a fixed 30-minute
//! window. "Ce n'est pas mon enfant" counts like any other answer.

use std::time::Duration;

use crate::directory::PupilId;
use crate::store::{Store, StoreError};

/// The limits on answering the birth-date challenge (see the
/// [`filiation`](crate::filiation) module and `SECURITY.md` for what each
/// bounds). Start from [`LockoutPolicy::default`] and change the fields
/// that differ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockoutPolicy {
    /// Answer sets allowed per person (and per person and pupil) before a
    /// lock.
    pub max_attempts: u64,
    /// The window over which attempts are counted.
    pub window: Duration,
    /// How long the first, second and any further lock lasts.
    pub escalation: [Duration; 3],
    /// How long a person's lock history is remembered.
    pub memory: Duration,
    /// Answer sets per pupil per day, across all accounts.
    pub daily_cap: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            window: Duration::from_secs(30 * 60),
            escalation: [
                Duration::from_secs(30 * 60),
                Duration::from_secs(2 * 3600),
                Duration::from_secs(24 * 3600),
            ],
            memory: Duration::from_secs(7 * 24 * 3600),
            daily_cap: 20,
        }
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// One key the policy counts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject<'a> {
    /// The person, by the SHA-256 of their `sub`.
    Person(&'a str),
    /// The person and one pupil.
    PersonPupil(&'a str, &'a PupilId),
}

impl Subject<'_> {
    fn key(&self) -> String {
        match self {
            Self::Person(sub_hash) => format!("sub:{sub_hash}"),
            Self::PersonPupil(sub_hash, pupil) => format!("sub-pupil:{sub_hash}:{pupil}"),
        }
    }
}

fn attempts_key(subject: &Subject<'_>) -> String {
    format!("filiation-attempts:{}", subject.key())
}

fn lock_key(subject: &Subject<'_>) -> String {
    format!("filiation-lock:{}", subject.key())
}

fn level_key(subject: &Subject<'_>) -> String {
    format!("filiation-locks:{}", subject.key())
}

fn daily_key(pupil: &PupilId) -> String {
    format!("filiation-pupil-day:{pupil}")
}

/// What the counters said about one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The answers may be checked; the attempts counted, for
    /// [`LockoutPolicy::failed`].
    Admitted(Attempts),
    /// A lock is in force, a pupil's daily cap is reached, or the attempts
    /// are used up: the answers are not looked at.
    Locked,
}

/// The attempt counts one admitted submission reached, as the increments
/// returned them: the person's, then one per pupil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempts {
    person: u64,
    pupils: Vec<u64>,
}

impl Attempts {
    /// The person's attempts in the current window, this one included.
    pub(crate) fn person(&self) -> u64 {
        self.person
    }
}

impl LockoutPolicy {
    /// Whether a lock is in force for the person or any pupil, or a pupil's
    /// daily cap is reached, without counting anything.
    pub(crate) async fn is_locked(
        &self,
        store: &dyn Store,
        sub_hash: &str,
        pupils: &[&PupilId],
    ) -> Result<bool, StoreError> {
        if store
            .read_counter(&lock_key(&Subject::Person(sub_hash)))
            .await?
            > 0
        {
            return Ok(true);
        }
        for pupil in pupils {
            let subject = Subject::PersonPupil(sub_hash, pupil);
            if store.read_counter(&lock_key(&subject)).await? > 0 {
                return Ok(true);
            }
            if store.read_counter(&daily_key(pupil)).await? >= self.daily_cap {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Counts one answer set naming `pupils`, before it is checked: each
    /// counter is incremented and the decision taken on the values the
    /// increments returned, so that of any number of concurrent
    /// submissions at most the allowed number are admitted.
    pub(crate) async fn admit(
        &self,
        store: &dyn Store,
        sub_hash: &str,
        pupils: &[&PupilId],
    ) -> Result<Admission, StoreError> {
        if self.is_locked(store, sub_hash, pupils).await? {
            return Ok(Admission::Locked);
        }
        let mut admitted = true;
        let person = Subject::Person(sub_hash);
        let person_count = store
            .increment_counter(&attempts_key(&person), self.window)
            .await?;
        admitted &= person_count <= self.max_attempts;
        let mut counts = Vec::with_capacity(pupils.len());
        for pupil in pupils {
            let subject = Subject::PersonPupil(sub_hash, pupil);
            let n = store
                .increment_counter(&attempts_key(&subject), self.window)
                .await?;
            admitted &= n <= self.max_attempts;
            counts.push(n);
            // The cap across accounts refuses, and locks nobody: another
            // account's answers must not lock this person.
            admitted &= store.increment_counter(&daily_key(pupil), DAY).await? <= self.daily_cap;
        }
        Ok(if admitted {
            Admission::Admitted(Attempts {
                person: person_count,
                pupils: counts,
            })
        } else {
            Admission::Locked
        })
    }

    /// After a wrong answer set: locks each subject whose attempts this
    /// submission used up. Returns whether a lock is now in force.
    pub(crate) async fn failed(
        &self,
        store: &dyn Store,
        sub_hash: &str,
        pupils: &[&PupilId],
        attempts: &Attempts,
    ) -> Result<bool, StoreError> {
        let mut locked = false;
        if attempts.person >= self.max_attempts {
            self.lock(store, &Subject::Person(sub_hash)).await?;
            locked = true;
        }
        for (pupil, &n) in pupils.iter().zip(&attempts.pupils) {
            if n >= self.max_attempts {
                self.lock(store, &Subject::PersonPupil(sub_hash, pupil))
                    .await?;
                locked = true;
            }
        }
        Ok(locked)
    }

    /// After a wrong one-time code: one more attempt for the person, and a
    /// lock when they are used up. Returns the person's attempts.
    pub(crate) async fn code_failed(
        &self,
        store: &dyn Store,
        sub_hash: &str,
    ) -> Result<u64, StoreError> {
        let person = Subject::Person(sub_hash);
        let n = store
            .increment_counter(&attempts_key(&person), self.window)
            .await?;
        if n >= self.max_attempts {
            self.lock(store, &person).await?;
        }
        Ok(n)
    }

    /// After a right answer set: the person's attempts start again.
    pub(crate) async fn succeeded(
        &self,
        store: &dyn Store,
        sub_hash: &str,
        pupils: &[&PupilId],
    ) -> Result<(), StoreError> {
        store
            .reset_counter(&attempts_key(&Subject::Person(sub_hash)))
            .await?;
        for pupil in pupils {
            store
                .reset_counter(&attempts_key(&Subject::PersonPupil(sub_hash, pupil)))
                .await?;
        }
        Ok(())
    }

    /// Puts a lock on `subject`, as long as its history says.
    async fn lock(&self, store: &dyn Store, subject: &Subject<'_>) -> Result<(), StoreError> {
        let level = store
            .increment_counter(&level_key(subject), self.memory)
            .await?;
        let index = usize::try_from(level.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(self.escalation.len() - 1);
        let duration = self.escalation[index].max(Duration::from_millis(1));
        // A lock already in force keeps its end: increments never extend.
        store
            .increment_counter(&lock_key(subject), duration)
            .await?;
        // Attempts start again once the lock is over.
        store.reset_counter(&attempts_key(subject)).await?;
        Ok(())
    }

    /// How long the lock now in force on the person lasts at most, for the
    /// page: the duration of the lock level reached.
    pub(crate) async fn lock_duration(
        &self,
        store: &dyn Store,
        sub_hash: &str,
    ) -> Result<Duration, StoreError> {
        let level = store
            .read_counter(&level_key(&Subject::Person(sub_hash)))
            .await?;
        let index = usize::try_from(level.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(self.escalation.len() - 1);
        Ok(self.escalation[index])
    }
}
