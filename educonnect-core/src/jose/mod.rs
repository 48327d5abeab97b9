//! Compact JWS, JWK and JWKS over a crypto provider seam ([`crypto`]:
//! aws-lc-rs by default, ring as a feature): the single path through which every
//! token the library accepts is checked (upstream ID tokens, signed userinfo,
//! family assertions), and the signing of family assertions.
//!
//! ```
//! use educonnect_core::jose::{Algorithm, KeySet, SigningKey, Validation};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), educonnect_core::jose::Error> {
//! let key = SigningKey::generate(Algorithm::ES256, "2026-11")?;
//! let now = std::time::SystemTime::now()
//!     .duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
//! let token = key.sign(&json!({
//!     "iss": "https://ent.example", "aud": "bourse", "sub": "p-123",
//!     "iat": now, "exp": now + 300,
//! }))?;
//!
//! let keys = KeySet::from_jwks_json(key.public_jwks_json().as_bytes())?;
//! let verified = Validation::new("https://ent.example", "bourse")
//!     .verify::<serde_json::Value>(&token, &keys)?;
//! assert_eq!(verified.registered().sub(), "p-123");
//! # Ok(())
//! # }
//! ```

mod alg;
mod b64;
mod claims;
mod compact;
pub mod crypto;
pub use crypto::CryptoProvider;
mod der;
mod error;
mod json;
mod jwe;
mod jwk;
mod scan;
mod sign;
mod validation;

pub use alg::{Algorithm, AlgorithmSet};
pub use claims::{Acr, Audiences, RegisteredClaims, UnknownAcr, Verified};
pub use compact::DEFAULT_MAX_TOKEN_LEN;

/// What must never decide anything: reading a token without checking it,
/// to look at it (`educonnect token inspect`). A token is trusted only
/// through [`Validation::verify`].
pub mod danger {
    pub use super::compact::{Unverified, decode_unverified};
}
pub use error::{Claim, ClaimError, Error, KeyError, Malformed, Part};
pub use jwe::{
    ContentEncryption, DEFAULT_MAX_JWE_LEN, DecryptionKey, DecryptionKeys, EncryptionKey, JweError,
    KeyManagement, is_compact_jwe, nested_error,
};
pub use jwk::{DEFAULT_MAX_JWKS_LEN, HmacSecret, KeySet, SkippedKey, VerifyingKey};
pub use sign::SigningKey;
pub use validation::{DEFAULT_LEEWAY, Validation};

/// Parses a JSON object as strictly as token payloads are parsed: no
/// duplicate member names, bounded nesting. For JSON documents from a
/// provider that are not tokens (a plain JSON userinfo).
pub fn parse_json_object(json: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    Ok(json::parse_object(
        json,
        Part::Payload,
        json::DEFAULT_MAX_DEPTH,
    )?)
}
