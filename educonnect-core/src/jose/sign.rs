//! Signing keys for the tokens this library issues (family assertions).
//!
//! Only ES256 and EdDSA: both have small keys and signatures, and ring
//! generates them. A key is stored as a private JWK (RFC 7517 with `d`), which
//! keeps the `kid` and `alg` with the key material.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde::Serialize;
use serde_json::{Map, Value};

use super::json::{DEFAULT_MAX_DEPTH, parse_object};
use super::jwk::{b64_member, string_member};
use super::{Algorithm, Error, KeyError, Malformed, Part, VerifyingKey, b64};

/// Where ring's generated PKCS#8 documents hold the private key: P-256 (v1
/// template) and Ed25519 (v2 template). Reading them back through
/// `from_private_key_and_public_key` / `from_seed_and_public_key` re-checks
/// that the bytes taken are the key.
const P256_PKCS8_PRIVATE_KEY: std::ops::Range<usize> = 0x24..0x44;
const ED25519_PKCS8_SEED: std::ops::Range<usize> = 0x10..0x30;

/// A private key that signs compact JWS, with its `kid`.
pub struct SigningKey {
    kid: String,
    /// The private scalar (ES256) or seed (EdDSA), kept to write the key back.
    secret: Vec<u8>,
    pair: Pair,
    public: VerifyingKey,
    /// base64url of the JOSE header, the same for every token.
    header_b64: String,
}

enum Pair {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl SigningKey {
    /// Generates a new key for `alg` (ES256 or EdDSA) from the system's
    /// secure random source.
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Result<Self, Error> {
        let rng = SystemRandom::new();
        match alg {
            Algorithm::ES256 => {
                let pkcs8 =
                    EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                        .map_err(|_| KeyError::Generation)?;
                let pair = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8.as_ref(),
                    &rng,
                )
                .map_err(|_| KeyError::Generation)?;
                let d = pkcs8.as_ref()[P256_PKCS8_PRIVATE_KEY].to_vec();
                Self::es256(kid.into(), &d, pair.public_key().as_ref())
            }
            Algorithm::EdDSA => {
                let pkcs8 =
                    Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Generation)?;
                let pair =
                    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::Generation)?;
                let seed = pkcs8.as_ref()[ED25519_PKCS8_SEED].to_vec();
                Self::ed25519(kid.into(), &seed, pair.public_key().as_ref())
            }
            other => Err(KeyError::AlgorithmMismatch(other).into()),
        }
    }

    /// Reads a private JWK: `{"kty":"EC","crv":"P-256","x","y","d","kid"}` or
    /// `{"kty":"OKP","crv":"Ed25519","x","d","kid"}`. The `kid` is required.
    pub fn from_jwk_json(json: &[u8]) -> Result<Self, Error> {
        let jwk = parse_object(json, Part::KeySet, DEFAULT_MAX_DEPTH)?;
        Ok(Self::from_jwk(&jwk)?)
    }

    fn from_jwk(jwk: &Map<String, Value>) -> Result<Self, KeyError> {
        let kid = string_member(jwk, "kid")?
            .ok_or(KeyError::Member("kid"))?
            .to_owned();
        if !jwk.contains_key("d") {
            return Err(KeyError::NotPrivate);
        }
        let alg = match string_member(jwk, "alg")? {
            None => None,
            Some(name) => Some(
                name.parse::<Algorithm>()
                    .map_err(|_| KeyError::UnsupportedAlgorithm)?,
            ),
        };
        let d = b64_member(jwk, "d")?;
        let key = match (string_member(jwk, "kty")?, string_member(jwk, "crv")?) {
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (b64_member(jwk, "x")?, b64_member(jwk, "y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::Invalid);
                }
                let public = [&[4u8][..], &x, &y].concat();
                Self::es256(kid, &d, &public)
            }
            (Some("OKP"), Some("Ed25519")) => Self::ed25519(kid, &d, &b64_member(jwk, "x")?),
            (Some("EC" | "OKP"), _) => return Err(KeyError::UnsupportedCurve),
            (Some(_), _) => return Err(KeyError::UnsupportedKeyType),
            (None, _) => return Err(KeyError::Member("kty")),
        }
        .map_err(|e| match e {
            Error::Key(k) => k,
            _ => KeyError::Invalid,
        })?;
        match alg {
            Some(a) if a != key.algorithm() => Err(KeyError::AlgorithmMismatch(a)),
            _ => Ok(key),
        }
    }

    fn es256(kid: String, d: &[u8], public: &[u8]) -> Result<Self, Error> {
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            d,
            public,
            &SystemRandom::new(),
        )
        .map_err(|_| KeyError::Invalid)?;
        let public = VerifyingKey::from_parts_p256(
            Some(kid.clone()),
            Some(Algorithm::ES256),
            public.to_vec(),
        );
        Ok(Self::assemble(kid, d.to_vec(), Pair::Es256(pair), public))
    }

    fn ed25519(kid: String, seed: &[u8], public: &[u8]) -> Result<Self, Error> {
        let pair = Ed25519KeyPair::from_seed_and_public_key(seed, public)
            .map_err(|_| KeyError::Invalid)?;
        let public = VerifyingKey::from_parts_ed25519(
            Some(kid.clone()),
            Some(Algorithm::EdDSA),
            public.to_vec(),
        );
        Ok(Self::assemble(
            kid,
            seed.to_vec(),
            Pair::Ed25519(pair),
            public,
        ))
    }

    fn assemble(kid: String, secret: Vec<u8>, pair: Pair, public: VerifyingKey) -> Self {
        let alg = match pair {
            Pair::Es256(_) => Algorithm::ES256,
            Pair::Ed25519(_) => Algorithm::EdDSA,
        };
        let header = serde_json::json!({ "alg": alg.name(), "typ": "JWT", "kid": kid });
        Self {
            header_b64: b64::encode(header.to_string().as_bytes()),
            kid,
            secret,
            pair,
            public,
        }
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self.pair {
            Pair::Es256(_) => Algorithm::ES256,
            Pair::Ed25519(_) => Algorithm::EdDSA,
        }
    }

    /// The key's `kid`, written in every token it signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, to verify what this key signs.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The public JWKS (`{"keys":[…]}`) to publish for this key.
    pub fn public_jwks_json(&self) -> String {
        serde_json::json!({ "keys": [Value::Object(self.public.to_jwk())] }).to_string()
    }

    /// The private JWK, to store the key. It holds the secret: write it with
    /// restricted permissions and never log it.
    pub fn to_private_jwk_json(&self) -> String {
        let mut jwk = self.public.to_jwk();
        jwk.insert("d".into(), b64::encode(&self.secret).into());
        Value::Object(jwk).to_string()
    }

    /// Signs `claims`, which must serialize to a JSON object, as a compact JWS
    /// with header `{"alg", "typ":"JWT", "kid"}`.
    pub fn sign<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims).map_err(|_| Malformed::Json(Part::Payload))?;
        if payload.first() != Some(&b'{') {
            return Err(Malformed::NotAnObject(Part::Payload).into());
        }
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&self.header_b64);
        token.push('.');
        token.push_str(&b64::encode(&payload));
        let sig = match &self.pair {
            Pair::Es256(pair) => pair
                .sign(&SystemRandom::new(), token.as_bytes())
                .map_err(|_| KeyError::Signing)?,
            Pair::Ed25519(pair) => pair.sign(token.as_bytes()),
        };
        token.push('.');
        token.push_str(&b64::encode(sig.as_ref()));
        Ok(token)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm())
            .field("secret", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_jwk_round_trip_keeps_the_key() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA] {
            let key = SigningKey::generate(alg, "k1").unwrap();
            let again = SigningKey::from_jwk_json(key.to_private_jwk_json().as_bytes()).unwrap();
            assert_eq!(again.kid(), "k1");
            assert_eq!(again.algorithm(), alg);
            assert_eq!(again.verifying_key(), key.verifying_key());
        }
    }

    #[test]
    fn refuses_public_or_mismatched_jwks() {
        let key = SigningKey::generate(Algorithm::EdDSA, "k1").unwrap();
        let public = Value::Object(key.verifying_key().to_jwk()).to_string();
        assert_eq!(
            SigningKey::from_jwk_json(public.as_bytes()).unwrap_err(),
            Error::Key(KeyError::NotPrivate)
        );
        let mut jwk: Map<String, Value> = serde_json::from_str(&key.to_private_jwk_json()).unwrap();
        jwk.insert("alg".into(), "ES256".into());
        assert_eq!(
            SigningKey::from_jwk(&jwk).unwrap_err(),
            KeyError::AlgorithmMismatch(Algorithm::ES256)
        );
        // Another key's public half: ring refuses the pair.
        let other = SigningKey::generate(Algorithm::EdDSA, "k2").unwrap();
        jwk.insert("alg".into(), "EdDSA".into());
        jwk.insert("x".into(), other.verifying_key().to_jwk()["x"].clone());
        assert_eq!(SigningKey::from_jwk(&jwk).unwrap_err(), KeyError::Invalid);
        assert!(format!("{key:?}").contains("[redacted]"));
        assert!(!format!("{key:?}").contains(&b64::encode(&key.secret)));
    }

    #[test]
    fn only_objects_are_signed() {
        let key = SigningKey::generate(Algorithm::ES256, "k").unwrap();
        assert_eq!(
            key.sign(&[1, 2]).unwrap_err(),
            Error::Malformed(Malformed::NotAnObject(Part::Payload))
        );
        assert!(matches!(
            SigningKey::generate(Algorithm::RS256, "k"),
            Err(Error::Key(KeyError::AlgorithmMismatch(Algorithm::RS256)))
        ));
    }
}
