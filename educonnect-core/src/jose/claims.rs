//! Registered claims, eIDAS levels, and the verified result.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::{Algorithm, Claim, ClaimError};

/// An eIDAS level of assurance, as FranceConnect sends it in `acr`.
/// Ordered: `Eidas1 < Eidas2 < Eidas3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Acr {
    /// `eidas1`: low. FranceConnect v2's only level.
    Eidas1,
    /// `eidas2`: substantial (FranceConnect+).
    Eidas2,
    /// `eidas3`: high (FranceConnect+).
    Eidas3,
}

impl Acr {
    /// The value as written in `acr` and `acr_values`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eidas1 => "eidas1",
            Self::Eidas2 => "eidas2",
            Self::Eidas3 => "eidas3",
        }
    }
}

impl fmt::Display for Acr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `acr` value that is not an eIDAS level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an eIDAS level (eidas1, eidas2, eidas3)")]
pub struct UnknownAcr;

impl FromStr for Acr {
    type Err = UnknownAcr;

    fn from_str(s: &str) -> Result<Self, UnknownAcr> {
        match s {
            "eidas1" => Ok(Self::Eidas1),
            "eidas2" => Ok(Self::Eidas2),
            "eidas3" => Ok(Self::Eidas3),
            _ => Err(UnknownAcr),
        }
    }
}

/// The registered claims of a verified token. `iss`, `sub`, `aud`, `exp` and
/// `iat` are always present: a token without them is refused.
///
/// `Debug` shows the `sub` hashed and no `nonce`, so that the claims can
/// be logged.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisteredClaims {
    /// `iss`, equal to the expected issuer.
    pub iss: String,
    /// `sub`, non-empty.
    pub sub: String,
    /// `aud`, always as a list, containing the expected audience.
    pub aud: Vec<String>,
    /// `exp`, seconds since the Unix epoch.
    pub exp: i64,
    /// `iat`, seconds since the Unix epoch.
    pub iat: i64,
    /// `nbf`, seconds since the Unix epoch.
    pub nbf: Option<i64>,
    /// `azp`.
    pub azp: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `acr`, as sent.
    pub acr: Option<String>,
    /// `auth_time`, seconds since the Unix epoch.
    pub auth_time: Option<i64>,
    /// `jti`.
    pub jti: Option<String>,
}

impl std::fmt::Debug for RegisteredClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClaims")
            .field("iss", &self.iss)
            .field("sub", &crate::provider::RedactedSub(&self.sub))
            .field("aud", &self.aud)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("azp", &self.azp)
            .field("acr", &self.acr)
            .field("auth_time", &self.auth_time)
            .finish_non_exhaustive()
    }
}

impl RegisteredClaims {
    /// Reads the registered claims with their JSON types checked; the values
    /// themselves are checked by the validation.
    pub(crate) fn read(claims: &Map<String, Value>) -> Result<Self, ClaimError> {
        let aud = match claims.get("aud") {
            None => return Err(ClaimError::Missing(Claim::Aud)),
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(ClaimError::Invalid(Claim::Aud))?,
            Some(_) => return Err(ClaimError::Invalid(Claim::Aud)),
        };
        let sub = required(string(claims, Claim::Sub)?, Claim::Sub)?;
        if sub.is_empty() {
            return Err(ClaimError::Invalid(Claim::Sub));
        }
        Ok(Self {
            iss: required(string(claims, Claim::Iss)?, Claim::Iss)?,
            sub,
            aud,
            exp: required(date(claims, Claim::Exp)?, Claim::Exp)?,
            iat: required(date(claims, Claim::Iat)?, Claim::Iat)?,
            nbf: date(claims, Claim::Nbf)?,
            azp: string(claims, Claim::Azp)?,
            nonce: string(claims, Claim::Nonce)?,
            acr: string(claims, Claim::Acr)?,
            auth_time: date(claims, Claim::AuthTime)?,
            jti: string(claims, Claim::Jti)?,
        })
    }
}

fn required<T>(value: Option<T>, claim: Claim) -> Result<T, ClaimError> {
    value.ok_or(ClaimError::Missing(claim))
}

fn string(claims: &Map<String, Value>, claim: Claim) -> Result<Option<String>, ClaimError> {
    match claims.get(claim.name()) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ClaimError::Invalid(claim)),
    }
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional, truncated.
fn date(claims: &Map<String, Value>, claim: Claim) -> Result<Option<i64>, ClaimError> {
    match claims.get(claim.name()) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
                _ => Err(ClaimError::Invalid(claim)),
            }
        }
        Some(_) => Err(ClaimError::Invalid(claim)),
    }
}

/// A token whose signature and claims were checked. Only this module builds
/// one: holding a `Verified` is the proof that verification happened.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) registered: RegisteredClaims,
    pub(crate) claims: T,
}

impl<T> Verified<T> {
    /// The algorithm that verified the signature.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The `kid` of the header, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The registered claims (`iss`, `sub`, `aud`, times, `nonce`, `acr`...).
    pub fn registered(&self) -> &RegisteredClaims {
        &self.registered
    }

    /// The caller's own claims type, read from the same payload.
    pub fn claims(&self) -> &T {
        &self.claims
    }

    /// The caller's claims, by value.
    pub fn into_claims(self) -> T {
        self.claims
    }

    /// Both claim views, by value.
    pub fn into_parts(self) -> (RegisteredClaims, T) {
        (self.registered, self.claims)
    }
}
