//! Family assertions: a session's [`FamilyClaims`], signed by the gateway
//! for one audience and a short time, and the typed verifier through which
//! another component (another service, the C ABI) reads them back.
//!
//! The verifier goes through the one verification path of the crate
//! ([`Validation::verify`]): signature (ES256 or EdDSA, the algorithms a
//! gateway signs with), issuer, audience, expiry, then the claims' shape.
//! Only then are the family claims handed out, as [`VerifiedFamily`].

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::FamilyClaims;
use crate::clock::Clock;
use crate::jose::{self, Algorithm, KeySet, SigningKey, Validation};

/// A family assertion could not be minted or was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// The gateway was built without an assertion key.
    #[error("no assertion key configured")]
    NoKey,
    /// The session has no family claims (no directory, or a generic provider).
    #[error("the session has no family claims")]
    NoFamily,
    /// Signing failed.
    #[error("signing the assertion failed")]
    Signing(#[source] jose::Error),
    /// The keys given to the verifier do not read as a JWKS.
    #[error("the assertion keys are not a usable JWKS")]
    Keys(#[source] jose::Error),
    /// The token was refused: signature, issuer, audience, expiry or shape
    /// (the source says which).
    #[error("the family assertion was refused: {0}")]
    Rejected(#[source] jose::Error),
    /// The token's `sub` is not its family claims' subject.
    #[error("the family assertion's subject does not match its claims")]
    SubjectMismatch,
}

/// Signs `family` for `audience`: `iss` (the gateway's origin), `aud`,
/// `sub`, `iat`, `exp` (`iat` + `ttl`) and `family`.
pub(crate) fn mint(
    key: &SigningKey,
    issuer: &str,
    audience: &str,
    family: &FamilyClaims,
    now: i64,
    ttl: Duration,
) -> Result<String, AssertionError> {
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = json!({
        "iss": issuer,
        "aud": audience,
        "sub": family.sub(),
        "iat": now,
        "exp": now.saturating_add(ttl),
        "family": family,
    });
    key.sign(&claims).map_err(AssertionError::Signing)
}

/// Checks family assertions from one gateway, for one audience, offline.
///
/// ```
/// use educonnect_core::filiation::AssertionVerifier;
///
/// # fn check(jwks: &[u8], token: &str, pupil: &educonnect_core::directory::PupilId)
/// #     -> Result<bool, Box<dyn std::error::Error>> {
/// // The JWKS published at the gateway's `GET /auth/jwks`.
/// let verifier = AssertionVerifier::from_jwks_json(
///     "https://ent.example.fr",
///     "https://bourses.example.fr",
///     jwks,
/// )?;
/// let verified = verifier.verify(token)?;
/// Ok(verified.family().has_legal_authority_over(pupil))
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AssertionVerifier {
    validation: Validation,
    keys: KeySet,
}

impl AssertionVerifier {
    /// A verifier of assertions issued by `issuer` (the gateway's public
    /// origin, e.g. `https://ent.example.fr`) for `audience`, signed by one
    /// of `keys`.
    pub fn new(issuer: &str, audience: &str, keys: KeySet) -> Self {
        Self {
            validation: Validation::new(issuer, audience)
                .algorithms([Algorithm::ES256, Algorithm::EdDSA]),
            keys,
        }
    }

    /// As [`new`](Self::new), from the JWKS document the gateway publishes.
    pub fn from_jwks_json(
        issuer: &str,
        audience: &str,
        jwks: &[u8],
    ) -> Result<Self, AssertionError> {
        let keys = KeySet::from_jwks_json(jwks).map_err(AssertionError::Keys)?;
        Ok(Self::new(issuer, audience, keys))
    }

    /// Judges expiry by `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.validation = self.validation.clock(clock);
        self
    }

    /// The clock leeway on `exp` and `iat` (default 60 seconds).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation = self.validation.leeway(leeway);
        self
    }

    /// Verifies `token` and hands out its family claims.
    pub fn verify(&self, token: impl AsRef<[u8]>) -> Result<VerifiedFamily, AssertionError> {
        #[derive(Deserialize)]
        struct Payload {
            family: FamilyClaims,
        }
        let verified = self
            .validation
            .verify::<Payload>(token, &self.keys)
            .map_err(AssertionError::Rejected)?;
        let (registered, payload) = verified.into_parts();
        if registered.sub() != payload.family.sub() {
            return Err(AssertionError::SubjectMismatch);
        }
        Ok(VerifiedFamily {
            family: payload.family,
            issued_at: registered.iat(),
            expires_at: registered.exp(),
        })
    }
}

/// The family claims of an assertion that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFamily {
    family: FamilyClaims,
    issued_at: i64,
    expires_at: i64,
}

impl VerifiedFamily {
    /// The claims: ask them [`may_act_for`](FamilyClaims::may_act_for) or
    /// [`has_legal_authority_over`](FamilyClaims::has_legal_authority_over).
    pub fn family(&self) -> &FamilyClaims {
        &self.family
    }

    /// The claims, owned.
    pub fn into_family(self) -> FamilyClaims {
        self.family
    }

    /// When the assertion was issued (Unix seconds).
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// When the assertion expires (Unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::directory::{PupilId, Relationship, SourceId};
    use crate::filiation::{Child, Verification};

    const NOW: i64 = 1_790_000_000;
    const ISSUER: &str = "https://ent.example.fr";
    const AUDIENCE: &str = "https://bourses.example.fr";

    fn family() -> FamilyClaims {
        let pupil = PupilId::new(SourceId::aaf("14").unwrap(), "E1").unwrap();
        FamilyClaims::guardian(
            "franceconnect",
            "sub-1",
            Vec::new(),
            [Child::new(
                pupil,
                Relationship::Mother.into(),
                true,
                Verification::BirthDates,
            )],
        )
    }

    fn verifier(key: &SigningKey) -> AssertionVerifier {
        AssertionVerifier::from_jwks_json(ISSUER, AUDIENCE, key.public_jwks_json().as_bytes())
            .unwrap()
            .clock(Arc::new(FixedClock::at_unix(NOW as u64)))
    }

    #[test]
    fn assertions_verify_into_their_family_claims_and_nothing_else() {
        let key = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
        let token = mint(
            &key,
            ISSUER,
            AUDIENCE,
            &family(),
            NOW,
            Duration::from_secs(120),
        )
        .unwrap();
        let verified = verifier(&key).verify(&token).unwrap();
        assert_eq!(verified.family(), &family());
        assert_eq!(verified.expires_at(), NOW + 120);

        // Another audience, another issuer, another key, expired: refused.
        let other = mint(
            &key,
            ISSUER,
            "https://autre.example.fr",
            &family(),
            NOW,
            Duration::from_secs(120),
        )
        .unwrap();
        assert!(matches!(
            verifier(&key).verify(&other),
            Err(AssertionError::Rejected(_))
        ));
        let other = mint(
            &key,
            "https://evil.example",
            AUDIENCE,
            &family(),
            NOW,
            Duration::from_secs(120),
        )
        .unwrap();
        assert!(matches!(
            verifier(&key).verify(&other),
            Err(AssertionError::Rejected(_))
        ));
        let stranger = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
        assert!(matches!(
            verifier(&stranger).verify(&token),
            Err(AssertionError::Rejected(_))
        ));
        let old = mint(
            &key,
            ISSUER,
            AUDIENCE,
            &family(),
            NOW - 600,
            Duration::from_secs(120),
        )
        .unwrap();
        assert!(matches!(
            verifier(&key).verify(&old),
            Err(AssertionError::Rejected(_))
        ));

        // A token whose `sub` is not its claims' subject.
        let forged = key
            .sign(&json!({
                "iss": ISSUER, "aud": AUDIENCE, "sub": "someone-else",
                "iat": NOW, "exp": NOW + 60, "family": family(),
            }))
            .unwrap();
        assert!(matches!(
            verifier(&key).verify(&forged),
            Err(AssertionError::SubjectMismatch)
        ));
        // Not a family assertion at all.
        let bare = key
            .sign(&json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "sub-1", "iat": NOW, "exp": NOW + 60}))
            .unwrap();
        assert!(matches!(
            verifier(&key).verify(&bare),
            Err(AssertionError::Rejected(_))
        ));
        assert!(matches!(
            AssertionVerifier::from_jwks_json(ISSUER, AUDIENCE, b"not json"),
            Err(AssertionError::Keys(_))
        ));
    }
}
