//! Why a token, a key or a key set was refused.
//!
//! Every variant is something a caller or an operator has to tell apart: a
//! malformed token is not a bad signature, an unknown `kid` is a reason to
//! refetch the provider's keys, an expired token is not an attack. Payloads are
//! enums, not strings, so that callers can `match` on them.
//!
//! Messages never repeat the token's content (claims may carry names and birth
//! dates); the only untrusted value ever echoed is a `kid`, escaped and
//! truncated, because operators need it to diagnose key rotation.

use std::fmt;

use super::Algorithm;

/// A token, key or key set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a well-formed compact JWS (or JSON document).
    #[error("malformed token: {0}")]
    Malformed(#[from] Malformed),
    /// The header names `none`, in any spelling. Never accepted.
    #[error("algorithm \"none\" is never accepted")]
    AlgorithmNone,
    /// The header names an algorithm this library does not implement.
    #[error("unsupported algorithm")]
    AlgorithmUnsupported,
    /// The header names a supported algorithm that the caller's policy does not allow.
    #[error("algorithm {0} is not allowed by the verification policy")]
    AlgorithmNotAllowed(Algorithm),
    /// The header's `crit` lists extensions, and this library understands none.
    #[error("the header marks extensions as critical (crit), none of which is understood")]
    CriticalHeader,
    /// No key could verify this token: the `kid` is unknown, or no key fits the
    /// algorithm. When a `kid` was given, the usual remedy is to refetch the
    /// issuer's JWKS once (keys rotate).
    #[error("no key for this token ({})", KidDisplay(.kid.as_deref()))]
    NoMatchingKey {
        /// The header's `kid`, if it had one.
        kid: Option<String>,
    },
    /// Several keys fit the token and the header does not say which one.
    #[error("{count} keys could verify this token and its header does not pick one ({})", KidDisplay(.kid.as_deref()))]
    AmbiguousKey {
        /// The header's `kid`, if it had one.
        kid: Option<String>,
        /// How many keys matched.
        count: usize,
    },
    /// HS256 is allowed but no secret was configured.
    #[error("HS256 token but no shared secret is configured")]
    NoHmacSecret,
    /// The signature does not verify with the selected key.
    #[error("bad signature")]
    BadSignature,
    /// A claim is missing or fails its check.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// A key could not be read, built or used.
    #[error("key error: {0}")]
    Key(#[from] KeyError),
    /// An encrypted token (JWE) was refused.
    #[error("encrypted token refused: {0}")]
    Jwe(#[from] super::JweError),
}

/// What is malformed in a token or JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Larger than the configured limit.
    #[error("{len} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Size of the input.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A compact JWS has exactly three segments separated by dots.
    #[error("a compact JWS has three dot-separated segments, this has {0}")]
    SegmentCount(usize),
    /// A segment is not strict base64url without padding.
    #[error("{0} is not base64url without padding")]
    Base64(Part),
    /// A segment is not valid JSON (or not UTF-8).
    #[error("{0} is not valid JSON")]
    Json(Part),
    /// A segment is JSON but not an object.
    #[error("{0} is not a JSON object")]
    NotAnObject(Part),
    /// An object has the same member name twice.
    #[error("{0} has a duplicate member name")]
    DuplicateMember(Part),
    /// Nesting deeper than allowed.
    #[error("{part} is nested deeper than {limit} levels")]
    TooDeep {
        /// Which part.
        part: Part,
        /// The limit in force.
        limit: usize,
    },
    /// A header member has the wrong type, or `alg` is missing.
    #[error("header member {0} is missing or has the wrong type")]
    HeaderMember(&'static str),
}

/// Which part of the input a [`Malformed`] error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The payload (claims).
    Payload,
    /// The signature segment.
    Signature,
    /// A JWK or JWKS document.
    KeySet,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "the header",
            Self::Payload => "the payload",
            Self::Signature => "the signature",
            Self::KeySet => "the key set",
        })
    }
}

/// A registered claim, as named in the errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// `iss`
    Iss,
    /// `sub`
    Sub,
    /// `aud`
    Aud,
    /// `azp`
    Azp,
    /// `exp`
    Exp,
    /// `nbf`
    Nbf,
    /// `iat`
    Iat,
    /// `nonce`
    Nonce,
    /// `acr`
    Acr,
    /// `auth_time`
    AuthTime,
    /// `jti`
    Jti,
}

impl Claim {
    /// The claim's name in the JSON payload.
    pub fn name(self) -> &'static str {
        match self {
            Self::Iss => "iss",
            Self::Sub => "sub",
            Self::Aud => "aud",
            Self::Azp => "azp",
            Self::Exp => "exp",
            Self::Nbf => "nbf",
            Self::Iat => "iat",
            Self::Nonce => "nonce",
            Self::Acr => "acr",
            Self::AuthTime => "auth_time",
            Self::Jti => "jti",
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A claim check that failed, after the signature was verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// A required claim is absent.
    #[error("claim {0} is missing")]
    Missing(Claim),
    /// A claim has the wrong JSON type or an impossible value.
    #[error("claim {0} has an invalid value")]
    Invalid(Claim),
    /// `iss` is not exactly the expected issuer.
    #[error("issuer (iss) does not match the expected issuer")]
    IssuerMismatch,
    /// `aud` does not contain the expected audience.
    #[error("audience (aud) does not contain the expected client id")]
    AudienceMismatch,
    /// Several audiences and no `azp`.
    #[error("several audiences but no authorized party (azp)")]
    AzpMissing,
    /// `azp` is not the expected client id.
    #[error("authorized party (azp) is not the expected client id")]
    AzpMismatch,
    /// `exp` is in the past, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token not yet valid (nbf)")]
    NotYetValid,
    /// `iat` is in the future, beyond the leeway.
    #[error("token issued in the future (iat)")]
    IssuedInFuture,
    /// `nonce` differs from the one sent with the authorization request.
    #[error("nonce does not match the one sent")]
    NonceMismatch,
    /// `acr` is lower than the required level, or not a known level.
    #[error("authentication level (acr) is lower than required")]
    AcrTooLow,
    /// The caller's own claims type could not be read from the payload.
    #[error("claims do not have the expected shape")]
    Shape,
}

/// Why a key could not be read, built or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key type (`kty`) is not one this library uses.
    #[error("unsupported key type")]
    UnsupportedKeyType,
    /// The curve (`crv`) is not one this library uses.
    #[error("unsupported curve")]
    UnsupportedCurve,
    /// A member the key type requires is missing or not valid base64url.
    #[error("key member {0} is missing or invalid")]
    Member(&'static str),
    /// RSA modulus shorter than 2048 bits.
    #[error("RSA key of {0} bits, fewer than 2048")]
    RsaTooSmall(usize),
    /// The key material is not a valid key of its type.
    #[error("invalid key material")]
    Invalid,
    /// Symmetric keys never come from a JWKS: only from the caller's configuration.
    #[error("symmetric (oct) keys are not accepted from a key set")]
    Symmetric,
    /// The key's `use` is not `sig`.
    #[error("key use is not \"sig\"")]
    NotForSignature,
    /// The key's `key_ops` does not allow this operation.
    #[error("key_ops does not allow verification")]
    OperationNotAllowed,
    /// The key's `alg` is not one this library implements.
    #[error("key names an unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The key has no private part.
    #[error("not a private key")]
    NotPrivate,
    /// The key cannot be used with this algorithm.
    #[error("key does not fit algorithm {0}")]
    AlgorithmMismatch(Algorithm),
    /// Signing failed (the random source failed).
    #[error("signing failed")]
    Signing,
    /// Key generation failed (the random source failed).
    #[error("key generation failed")]
    Generation,
    /// The crypto provider compiled in cannot do this (ring has no RSA-OAEP,
    /// no static-key ECDH and no RSA key generation): build with the
    /// `aws-lc-rs` feature.
    #[error("{0} needs the aws-lc-rs crypto provider; this build uses ring")]
    Unsupported(&'static str),
}

/// Displays an untrusted `kid` escaped and truncated, or `no kid`.
struct KidDisplay<'a>(Option<&'a str>);

impl fmt::Display for KidDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 64;
        match self.0 {
            None => f.write_str("no kid"),
            Some(kid) => {
                f.write_str("kid \"")?;
                for c in kid.chars().take(MAX) {
                    write!(f, "{}", c.escape_debug())?;
                }
                if kid.chars().nth(MAX).is_some() {
                    f.write_str("…")?;
                }
                f.write_str("\"")
            }
        }
    }
}
