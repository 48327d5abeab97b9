//! Sessions: what the store keeps, and what a service reads.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::filiation::FamilyClaims;
use crate::provider::{Identity, IdentityError, ProviderKind};

/// A session as stored: the provider's verified claims, from which the
/// identity is read again on every lookup (through the same validating
/// parser as at login, so a stored record cannot smuggle in an identity the
/// parser would refuse).
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub(crate) provider: String,
    pub(crate) kind: String,
    pub(crate) claims: Map<String, Value>,
    pub(crate) acr: Option<String>,
    pub(crate) auth_time: Option<i64>,
    pub(crate) created_at: i64,
    /// For `id_token_hint` at logout; never shown.
    pub(crate) id_token: String,
    /// What filiation established; absent in records written before it
    /// existed, and for sessions without a directory.
    #[serde(default)]
    pub(crate) family: Option<FamilyClaims>,
}

impl SessionRecord {
    pub(crate) fn into_session(self) -> Result<Session, IdentityError> {
        let kind = match self.kind.as_str() {
            "franceconnect" => ProviderKind::FranceConnect,
            "educonnect" => ProviderKind::EduConnect,
            _ => ProviderKind::Oidc,
        };
        Ok(Session(Arc::new(SessionData {
            identity: Identity::from_claims(kind, &self.claims)?,
            provider: self.provider,
            acr: self.acr,
            auth_time: self.auth_time,
            created_at: super::system_time(self.created_at),
            family: self.family,
        })))
    }
}

/// The logged-in user of a request.
///
/// With a directory configured, the session also holds the
/// [`FamilyClaims`] established at login: [`family`](Self::family).
///
/// Cheap to clone (shared).
#[derive(Clone)]
pub struct Session(Arc<SessionData>);

struct SessionData {
    provider: String,
    identity: Identity,
    acr: Option<String>,
    auth_time: Option<i64>,
    created_at: SystemTime,
    family: Option<FamilyClaims>,
}

impl Session {
    /// The id of the provider the user logged in with.
    pub fn provider(&self) -> &str {
        &self.0.provider
    }

    /// Who logged in, as the provider's verified claims say.
    pub fn identity(&self) -> &Identity {
        &self.0.identity
    }

    /// The ID token's `acr` (for FranceConnect, the eIDAS level).
    pub fn acr(&self) -> Option<&str> {
        self.0.acr.as_deref()
    }

    /// When the user authenticated at the provider (seconds since the epoch).
    pub fn auth_time(&self) -> Option<i64> {
        self.0.auth_time
    }

    /// When the session was created.
    pub fn created_at(&self) -> SystemTime {
        self.0.created_at
    }

    /// Which pupils the person may act for, as filiation established at
    /// login. `None` when the gateway has no directory (or for a generic
    /// OIDC provider); for a FranceConnect parent whom no school record
    /// fits, claims with no child.
    pub fn family(&self) -> Option<&FamilyClaims> {
        self.0.family.as_ref()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The identity's and the claims' own Debug show neither the sub
        // (only the start of its hash) nor anything personal.
        f.debug_struct("Session")
            .field("provider", &self.0.provider)
            .field("identity", &self.0.identity)
            .field("acr", &self.0.acr)
            .field("family", &self.0.family)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_without_family_claims_still_read() {
        let old = serde_json::json!({
            "provider": "educonnect", "kind": "educonnect",
            "claims": {"sub": "s", "FrEduCtPersonAffiliation": ["resp2d"],
                       "given_name": "Anne", "family_name": "MARTIN"},
            "acr": null, "auth_time": null, "created_at": 0, "id_token": "t",
        });
        let record: SessionRecord = serde_json::from_value(old).unwrap();
        assert!(record.family.is_none());
        let session = record.into_session().unwrap();
        assert!(session.family().is_none());
    }
}
