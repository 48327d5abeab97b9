//! Registered claims, eIDAS levels, and the verified result.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::scan::{Member, walk_object};
use super::{Algorithm, Claim, ClaimError, Error, Part};

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
    /// Reads the registered claims of a payload with their JSON types
    /// checked; the values themselves are checked by the validation. The
    /// payload is checked as strictly as [`parse_object`](super::json::parse_object)
    /// would (one object, no duplicate names, bounded depth) in one pass that
    /// builds nothing but the registered claims: no `Map` of the whole payload.
    pub(crate) fn parse(payload: &str, max_depth: usize) -> Result<Self, Error> {
        let mut raw = Raw::default();
        walk_object(
            payload,
            Part::Payload,
            max_depth,
            Raw::slot,
            |slot, value| {
                raw.members[slot] = Some(value);
            },
        )?;
        Ok(raw.claims()?)
    }
}

/// The registered members of a payload as found, types not yet checked,
/// at the index [`Raw::slot`] gives their name.
#[derive(Default)]
struct Raw<'a> {
    members: [Option<Member<'a>>; 11],
}

const ISS: usize = 0;
const SUB: usize = 1;
const AUD: usize = 2;
const EXP: usize = 3;
const IAT: usize = 4;
const NBF: usize = 5;
const AZP: usize = 6;
const NONCE: usize = 7;
const ACR: usize = 8;
const AUTH_TIME: usize = 9;
const JTI: usize = 10;

impl Raw<'_> {
    /// Where a registered claim's value goes; `None` for any other member.
    fn slot(name: &str) -> Option<usize> {
        Some(match name {
            "iss" => ISS,
            "sub" => SUB,
            "aud" => AUD,
            "exp" => EXP,
            "iat" => IAT,
            "nbf" => NBF,
            "azp" => AZP,
            "nonce" => NONCE,
            "acr" => ACR,
            "auth_time" => AUTH_TIME,
            "jti" => JTI,
            _ => return None,
        })
    }

    /// The claims with their types checked, in the order (and so with the
    /// errors) of the `Map`-based reading this replaced.
    fn claims(self) -> Result<RegisteredClaims, ClaimError> {
        let [
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            azp,
            nonce,
            acr,
            auth_time,
            jti,
        ] = self.members;
        let aud = match aud {
            None => return Err(ClaimError::Missing(Claim::Aud)),
            Some(Member::Str(a)) => vec![a.into_owned()],
            Some(Member::Array(Some(list))) if !list.is_empty() => {
                list.into_iter().map(Cow::into_owned).collect()
            }
            Some(_) => return Err(ClaimError::Invalid(Claim::Aud)),
        };
        let sub = required(string(sub, Claim::Sub)?, Claim::Sub)?;
        if sub.is_empty() {
            return Err(ClaimError::Invalid(Claim::Sub));
        }
        Ok(RegisteredClaims {
            iss: required(string(iss, Claim::Iss)?, Claim::Iss)?,
            sub,
            aud,
            exp: required(date(exp, Claim::Exp)?, Claim::Exp)?,
            iat: required(date(iat, Claim::Iat)?, Claim::Iat)?,
            nbf: date(nbf, Claim::Nbf)?,
            azp: string(azp, Claim::Azp)?,
            nonce: string(nonce, Claim::Nonce)?,
            acr: string(acr, Claim::Acr)?,
            auth_time: date(auth_time, Claim::AuthTime)?,
            jti: string(jti, Claim::Jti)?,
        })
    }
}

fn required<T>(value: Option<T>, claim: Claim) -> Result<T, ClaimError> {
    value.ok_or(ClaimError::Missing(claim))
}

fn string(member: Option<Member<'_>>, claim: Claim) -> Result<Option<String>, ClaimError> {
    match member {
        None => Ok(None),
        Some(Member::Str(s)) => Ok(Some(s.into_owned())),
        Some(_) => Err(ClaimError::Invalid(claim)),
    }
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional, truncated.
fn date(member: Option<Member<'_>>, claim: Claim) -> Result<Option<i64>, ClaimError> {
    match member {
        None => Ok(None),
        Some(Member::Number(n)) => {
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
