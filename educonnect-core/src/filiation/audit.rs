//! Audit events: what an operator may need to reconstruct who was granted
//! which pupils, and who was refused. Ids only: the FranceConnect or
//! EduConnect `sub` is hashed, directory records are named by their ids,
//! never by names or birth dates.

use std::fmt;

use crate::directory::{PersonId, PupilId};

/// One auditable event of the login and filiation flow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditEvent {
    /// A session was created.
    Login {
        /// The provider id.
        provider: String,
        /// SHA-256 of the provider's `sub` (base64url).
        sub_hash: String,
        /// How many children the session may act for.
        children: usize,
    },
    /// The birth-date challenge was passed: these records are now linked.
    VerificationSucceeded {
        /// SHA-256 of the FranceConnect `sub`.
        sub_hash: String,
        /// The confirmed records.
        persons: Vec<PersonId>,
    },
    /// A wrong set of answers to the challenge.
    VerificationFailed {
        /// SHA-256 of the FranceConnect `sub`.
        sub_hash: String,
        /// The candidate records the answers were about.
        persons: Vec<PersonId>,
        /// Failures within the current window, for this `sub`.
        failures: u64,
    },
    /// The challenge is locked for this `sub` (too many failures).
    LockedOut {
        /// SHA-256 of the FranceConnect `sub`.
        sub_hash: String,
    },
    /// The parent said a pupil shown to them is not their child.
    NotMyChild {
        /// SHA-256 of the FranceConnect `sub`.
        sub_hash: String,
        /// The record the pupil is linked to.
        person: PersonId,
        /// The pupil.
        pupil: PupilId,
    },
}

/// Where audit events go. Called synchronously, on the request's path:
/// an implementation that writes to a network queues and returns.
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event.
    fn record(&self, event: &AuditEvent);
}

/// The default sink: one `tracing` event per audit event, at `info` (target
/// `educonnect::audit`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAuditSink;

impl AuditSink for TracingAuditSink {
    fn record(&self, event: &AuditEvent) {
        match event {
            AuditEvent::Login {
                provider,
                sub_hash,
                children,
            } => {
                tracing::info!(target: "educonnect::audit", %provider, %sub_hash, children, "login")
            }
            AuditEvent::VerificationSucceeded { sub_hash, persons } => {
                tracing::info!(target: "educonnect::audit", %sub_hash, ?persons, "filiation verified")
            }
            AuditEvent::VerificationFailed {
                sub_hash,
                persons,
                failures,
            } => {
                tracing::warn!(target: "educonnect::audit", %sub_hash, ?persons, failures, "filiation challenge failed")
            }
            AuditEvent::LockedOut { sub_hash } => {
                tracing::warn!(target: "educonnect::audit", %sub_hash, "filiation challenge locked")
            }
            AuditEvent::NotMyChild {
                sub_hash,
                person,
                pupil,
            } => {
                tracing::info!(target: "educonnect::audit", %sub_hash, %person, %pupil, "not my child")
            }
        }
    }
}
