//! Filiation: which pupils the person who logged in may act for.
//!
//! - After a FranceConnect login, the identité pivot is matched against the
//!   [`Directory`](crate::directory::Directory)'s guardian records; the
//!   parent then confirms each candidate child's birth date (the
//!   challenge). Failures are counted per FranceConnect `sub` and per
//!   candidate record; after too many the challenge locks for a while.
//!   Success stores the link durably, so that later logins skip it.
//! - After an EduConnect login, EduConnect vouches for the person's `{AAF}`
//!   ids, and the directory gives the children of those records.
//!
//! The result is [`FamilyClaims`], kept in the session
//! ([`Session::family`](crate::flow::Session::family)) and signed into
//! family assertions ([`Gateway::family_assertion`](crate::flow::Gateway::family_assertion)).
//! Every decision is reported to an [`AuditSink`], with ids only. A policy
//! may also require a one-time code sent through a [`Notifier`] to the
//! mobile number the school recorded, after the birth dates.

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
