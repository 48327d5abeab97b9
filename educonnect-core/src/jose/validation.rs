//! The verification policy and the one verification path.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserializer;
use serde::de::{DeserializeOwned, Visitor};

use super::claims::{Acr, RegisteredClaims, Verified};
use super::compact::{Compact, DEFAULT_MAX_TOKEN_LEN, Header};
use super::json::DEFAULT_MAX_DEPTH;
use super::scan::Text;
use super::{Algorithm, AlgorithmSet, ClaimError, Error, KeySet, Malformed, Part, b64};
use crate::clock::{Clock, SystemClock};

/// Default clock leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// What a token must satisfy to be accepted, and the clock to judge it by.
///
/// Built for one issuer and one audience (the client id, or the service for
/// family assertions); [`nonce`](Self::nonce) and [`min_acr`](Self::min_acr)
/// are set per login. Checks, in order:
///
/// 1. size, three segments, strict base64url, header a JSON object without
///    duplicates; `alg` allowed (never `none`), no `crit`;
/// 2. one key selected by `alg` and `kid` alone (`jku`, `x5u`, `jwk`, `x5c`
///    are ignored), HS256 only with the configured secret;
/// 3. the signature, before the payload is even parsed;
/// 4. `iss` exact, `aud` contains the audience (several: `azp` required and
///    equal), `exp`, `nbf`, `iat` with leeway, `sub` present, `nonce` and
///    `acr` if asked for.
#[derive(Debug, Clone)]
pub struct Validation {
    issuer: String,
    audience: String,
    algorithms: AlgorithmSet,
    leeway: Duration,
    nonce: Option<String>,
    min_acr: Option<Acr>,
    max_token_len: usize,
    max_depth: usize,
    clock: Arc<dyn Clock>,
}

impl Validation {
    /// A policy for tokens from `issuer` (compared as an exact string) meant
    /// for `audience`, with the asymmetric algorithms allowed, 60 s of leeway,
    /// a 16 KiB size limit and the system clock.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: AlgorithmSet::ASYMMETRIC,
            leeway: DEFAULT_LEEWAY,
            nonce: None,
            min_acr: None,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the allowed algorithms. HS256 also needs a secret in the key set.
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Replaces the leeway on `exp`, `nbf` and `iat`.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires `nonce` to equal this value (compared in constant time).
    #[must_use]
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Requires `acr` to be at least this eIDAS level.
    #[must_use]
    pub fn min_acr(mut self, acr: Acr) -> Self {
        self.min_acr = Some(acr);
        self
    }

    /// Replaces the size limit on the whole compact token (default 16 KiB).
    #[must_use]
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The expected issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The expected audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Verifies a compact JWS and reads its claims: the registered ones, and
    /// the caller's type `T` from the same payload (use
    /// `serde_json::Map<String, Value>` to keep everything).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: impl AsRef<[u8]>,
        keys: &KeySet,
    ) -> Result<Verified<T>, Error> {
        let jws = Compact::split(token.as_ref(), self.max_token_len)?;
        // Each part is decoded on the stack when it fits, as an ID token's
        // do; the header's bytes live until the end, so that its `kid` is
        // borrowed until it is kept with the claims.
        b64::with_decoded(jws.header, Part::Header, |header| {
            let header = Header::parse(header, self.max_depth)?;
            self.verify_parts(&jws, header, keys)
        })
    }

    fn verify_parts<T: DeserializeOwned>(
        &self,
        jws: &Compact<'_>,
        header: Header<'_>,
        keys: &KeySet,
    ) -> Result<Verified<T>, Error> {
        let alg = header.alg;
        if !self.algorithms.contains(alg) {
            return Err(Error::AlgorithmNotAllowed(alg));
        }
        b64::with_decoded(jws.signature, Part::Signature, |signature| {
            if alg == Algorithm::HS256 {
                keys.hmac()
                    .ok_or(Error::NoHmacSecret)?
                    .verify(jws.signing_input, signature)
            } else {
                let kid = header.kid.map(Text::value);
                keys.select(alg, kid.as_deref())?
                    .verify(alg, jws.signing_input, signature)
            }
        })?;

        // The payload is read in one strict pass for the registered claims
        // without building the payload, then the caller's type is read from
        // the same bytes, which that pass has found to be one object without
        // duplicate names.
        b64::with_decoded(jws.payload, Part::Payload, |payload| {
            let payload =
                std::str::from_utf8(payload).map_err(|_| Malformed::Json(Part::Payload))?;
            let registered = RegisteredClaims::parse(payload, header.kid, self.max_depth)?;
            self.check(&registered)?;
            let claims = T::deserialize(Walked(payload)).map_err(|_| ClaimError::Shape)?;
            Ok(Verified {
                alg,
                registered,
                claims,
            })
        })
    }

    /// Decrypts a compact JWE with the relying party's `decryption` keys, then
    /// verifies the signed JWT it must carry, exactly as [`verify`](Self::verify)
    /// does. A token that is only signed is refused
    /// ([`JweError::NotEncrypted`](super::JweError::NotEncrypted)): a provider
    /// that must encrypt (FranceConnect+) never gets to skip it.
    pub fn verify_encrypted<T: DeserializeOwned>(
        &self,
        token: impl AsRef<[u8]>,
        decryption: &super::DecryptionKeys,
        keys: &KeySet,
    ) -> Result<Verified<T>, Error> {
        let signed = decryption.decrypt_signed(token.as_ref())?;
        self.verify(signed, keys).map_err(super::nested_error)
    }

    fn check(&self, c: &RegisteredClaims) -> Result<(), ClaimError> {
        if c.iss() != self.issuer {
            return Err(ClaimError::IssuerMismatch);
        }
        if !c.aud().any(|aud| aud == self.audience) {
            return Err(ClaimError::AudienceMismatch);
        }
        match c.azp() {
            Some(azp) if azp != self.audience => return Err(ClaimError::AzpMismatch),
            None if c.aud().len() > 1 => return Err(ClaimError::AzpMissing),
            _ => {}
        }

        let now = self.clock.unix_seconds();
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(leeway) >= c.exp() {
            return Err(ClaimError::Expired);
        }
        if c.nbf().is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(ClaimError::NotYetValid);
        }
        if c.iat() > now.saturating_add(leeway) {
            return Err(ClaimError::IssuedInFuture);
        }

        if let Some(expected) = &self.nonce {
            let sent = c.nonce().ok_or(ClaimError::Missing(super::Claim::Nonce))?;
            if !super::crypto::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
                return Err(ClaimError::NonceMismatch);
            }
        }
        if let Some(min) = self.min_acr {
            let acr = c.acr().ok_or(ClaimError::Missing(super::Claim::Acr))?;
            match acr.parse::<Acr>() {
                Ok(level) if level >= min => {}
                _ => return Err(ClaimError::AcrTooLow),
            }
        }
        Ok(())
    }
}

/// A payload [`RegisteredClaims::parse`] has already walked, for the caller's
/// type: read by serde_json, except by a type that ignores it whole
/// (`IgnoredAny`, which the login flow uses for upstream ID tokens), which
/// gets it without a second scan: the walk has found it to be one valid
/// object, and ignoring it cannot fail.
struct Walked<'de>(&'de str);

/// Forwards each `deserialize_*` method to serde_json over the whole text,
/// then requires its end, as `serde_json::from_str` does.
macro_rules! forward_to_serde_json {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
                let mut json = serde_json::Deserializer::from_str(self.0);
                let value = Deserializer::$method(&mut json, $($arg,)* visitor)?;
                json.end()?;
                Ok(value)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Walked<'de> {
    type Error = serde_json::Error;

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    forward_to_serde_json! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }
}
