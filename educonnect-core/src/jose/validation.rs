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
        let cache = keys.header_cache();
        if let Some(header) = cache.get(jws.header, self.max_depth) {
            return self.verify_parts(&jws, header, keys);
        }
        // Each part is decoded on the stack when it fits, as an ID token's
        // do; the header's bytes live until the end, so that its `kid` is
        // borrowed until it is kept with the claims.
        b64::with_decoded(jws.header, Part::Header, |decoded| {
            let header = Header::parse(decoded, self.max_depth)?;
            let verified = self.verify_parts(&jws, header, keys)?;
            cache.remember(jws.header, self.max_depth, header);
            Ok(verified)
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

#[cfg(test)]
mod tests {
    use serde::de::IgnoredAny;

    use super::super::compact::HeaderCache;
    use super::*;
    use crate::clock::FixedClock;
    use crate::jose::HmacSecret;

    const SECRET: &[u8] = b"a-client-secret-of-thirty-two-bytes-or-more";
    const NOW: i64 = 1_790_000_000;

    fn hs256(header: &str, claims: &str, secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(header.as_bytes()),
            b64::encode(claims.as_bytes())
        );
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
        let tag = ring::hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", b64::encode(tag.as_ref()))
    }

    fn claims(sub: &str) -> String {
        format!(
            r#"{{"iss":"i","sub":"{sub}","aud":"a","exp":{},"iat":{NOW}}}"#,
            NOW + 60
        )
    }

    fn policy() -> Validation {
        Validation::new("i", "a")
            .algorithms([Algorithm::HS256])
            .clock(Arc::new(FixedClock::at_unix(NOW as u64)))
    }

    fn keys() -> KeySet {
        KeySet::default().with_hmac_secret(HmacSecret::new(SECRET).unwrap())
    }

    fn segment(token: &str) -> &[u8] {
        token.split('.').next().unwrap().as_bytes()
    }

    fn sub(result: Result<Verified<IgnoredAny>, Error>) -> Result<String, Error> {
        result.map(|v| v.registered().sub().to_owned())
    }

    /// Only a token that verified fills the header cache: a forged one,
    /// however well-formed, does not.
    #[test]
    fn header_cache_is_filled_by_a_verified_token_only() {
        let (policy, keys) = (policy(), keys());
        let header = r#"{"alg":"HS256","kid":"k\u0031"}"#;
        let forged = hs256(
            header,
            &claims("s"),
            b"another-secret-of-thirty-two-bytes-or-more",
        );
        assert_eq!(sub(policy.verify(&forged, &keys)), Err(Error::BadSignature));
        assert!(
            keys.header_cache()
                .get(segment(&forged), DEFAULT_MAX_DEPTH)
                .is_none()
        );

        let token = hs256(header, &claims("s"), SECRET);
        let verified = policy.verify::<IgnoredAny>(&token, &keys).unwrap();
        assert_eq!(verified.kid(), Some("k1"));
        let cached = keys
            .header_cache()
            .get(segment(&token), DEFAULT_MAX_DEPTH)
            .unwrap();
        assert_eq!(cached.alg, Algorithm::HS256);
        assert_eq!(
            cached.kid.map(|kid| kid.value().into_owned()).as_deref(),
            Some("k1")
        );
    }

    /// Once a header is kept, tokens with that header read as they would
    /// without it, and tokens with any other header are read in full.
    #[test]
    fn cached_header_reads_as_the_header_would() {
        let (policy, keys) = (policy(), keys());
        let header = r#"{"alg":"HS256","kid":"k1"}"#;
        let first = hs256(header, &claims("first"), SECRET);
        assert_eq!(sub(policy.verify(&first, &keys)).unwrap(), "first");

        // The same header: another payload, then a bad signature.
        let second = hs256(header, &claims("second"), SECRET);
        let verified = policy.verify::<IgnoredAny>(&second, &keys).unwrap();
        assert_eq!(
            (verified.registered().sub(), verified.kid()),
            ("second", Some("k1"))
        );
        let forged = hs256(
            header,
            &claims("x"),
            b"another-secret-of-thirty-two-bytes-or-more",
        );
        assert_eq!(sub(policy.verify(&forged, &keys)), Err(Error::BadSignature));

        // Other headers: each read with its own kid and kept, up to the
        // number of slots; the first stays kept.
        for n in 2..=HeaderCache::SLOTS + 2 {
            let header = format!(r#"{{"alg":"HS256","kid":"k{n}"}}"#);
            let other = hs256(&header, &claims("other"), SECRET);
            for _ in 0..2 {
                let verified = policy.verify::<IgnoredAny>(&other, &keys).unwrap();
                assert_eq!(verified.kid(), Some(&*format!("k{n}")));
            }
            assert_eq!(
                keys.header_cache()
                    .get(segment(&other), DEFAULT_MAX_DEPTH)
                    .map(|h| h.kid.unwrap().value().into_owned()),
                (n <= HeaderCache::SLOTS).then(|| format!("k{n}")),
                "k{n}"
            );
        }
        assert!(
            keys.header_cache()
                .get(segment(&first), DEFAULT_MAX_DEPTH)
                .is_some()
        );
        let critical = hs256(r#"{"alg":"HS256","crit":["x"]}"#, &claims("c"), SECRET);
        assert_eq!(
            sub(policy.verify(&critical, &keys)),
            Err(Error::CriticalHeader)
        );

        // A policy that does not allow the kept header's algorithm.
        let es256_only = Validation::new("i", "a").clock(Arc::new(FixedClock::at_unix(NOW as u64)));
        assert_eq!(
            sub(es256_only.verify(&second, &keys)),
            Err(Error::AlgorithmNotAllowed(Algorithm::HS256))
        );
    }

    /// A header kept under one depth limit is read again under another.
    #[test]
    fn cached_header_keeps_its_depth_limit() {
        let keys = keys();
        let header = r#"{"alg":"HS256","x":{"y":[1]}}"#;
        let token = hs256(header, &claims("s"), SECRET);
        assert!(policy().verify::<IgnoredAny>(&token, &keys).is_ok());
        let mut shallow = policy();
        shallow.max_depth = 1;
        assert_eq!(
            sub(shallow.verify(&token, &keys)),
            Err(Error::Malformed(Malformed::TooDeep {
                part: Part::Header,
                limit: 1
            }))
        );
    }
}
