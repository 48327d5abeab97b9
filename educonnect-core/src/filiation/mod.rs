//! Filiation: which pupils the person who logged in may act for. This
//! module owns every decision about it; the login flow
//! ([`crate::flow`]) only drives it and renders its pages, and nothing here
//! depends on the flow.
//!
//! - **After a FranceConnect login**, the identité pivot is matched against
//!   the [`Directory`](crate::directory::Directory)'s guardian records,
//!   strictly (`matching`): the record's first given name must be one of
//!   the person's, whole, and so must any further given name it holds; the
//!   birth name is compared when the record holds one beside a usage name;
//!   a civility contradicting the gender, or a recorded birth date that is
//!   not the person's, rules the record out. The parent then gives each
//!   candidate child's birth date (the challenge). Each record is judged on
//!   its own (`decision`) and grants exactly its own links: it is confirmed
//!   when every one of its children has the right date and none is marked
//!   "not mine". A record proven only by presumed dates, or two records of
//!   one pupil that fit the person equally (a father and his namesake
//!   father), need a one-time code sent to each record's own phone
//!   (through a [`Notifier`]); without one, the school decides. Success
//!   stores the link durably (`link`), so that later logins skip the
//!   challenge; the link is read against the directory as it is now at each
//!   login and session refresh, and can be revoked for a record.
//! - **Lock-out** ([`LockoutPolicy`]): each answer set is counted before it
//!   is checked, by one atomic store increment per key whose result
//!   decides, per person (the FranceConnect `sub`) and per person and pupil,
//!   never per candidate record, so that a homonym's failures never lock the
//!   real parent out. Locks escalate (30 minutes, 2 hours, 24 hours by
//!   default); a pupil gets a capped number of answer sets a day across all
//!   accounts; "not mine" counts like any other answer.
//! - **After an EduConnect login**, EduConnect vouches for the person's
//!   `{AAF}` ids, and the directory gives the children of those records.
//!
//! The result is [`FamilyClaims`], kept in the session
//! ([`Session::family`](crate::flow::Session::family)) and signed into
//! family assertions ([`Gateway::family_assertion`](crate::flow::Gateway::family_assertion))
//! that other components check with an [`AssertionVerifier`]. Whether the
//! person may act for a pupil, or decide for them, is one rule:
//! [`FamilyClaims::authorize`], under the [`ActForPolicy`] the gateway
//! wrote into the claims. Every decision is reported to an [`AuditSink`],
//! with ids only.

mod assertion;
mod audit;
pub(crate) mod challenge;
mod claims;
pub(crate) mod decision;
pub(crate) mod family;
pub(crate) mod link;
mod lockout;
pub(crate) mod matching;
mod notify;

pub(crate) use assertion::mint as mint_assertion;
pub use assertion::{AssertionError, AssertionVerifier, VerifiedFamily};
pub use audit::{AuditEvent, AuditSink, TracingAuditSink};
pub use claims::{
    ActForPolicy, Child, FamilyClaims, PupilDenied, PupilGrant, PupilRight, PupilSelf, Relation,
    Verification,
};
pub(crate) use lockout::Admission;
pub use lockout::LockoutPolicy;
pub use notify::{ConsoleNotifier, Notifier, NotifierError};
