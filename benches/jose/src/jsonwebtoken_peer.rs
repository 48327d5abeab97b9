//! ID token verification the way a `jsonwebtoken` 11 user writes it: read the
//! header, pick the key by `kid` in the JWKS, `decode` with a `Validation` for
//! the issuer and audience, then check `nonce` and `acr` on the claims (which
//! `jsonwebtoken` does not know about).
//!
//! `jsonwebtoken` chooses its crypto through a process-wide `CryptoProvider`:
//! with exactly one of its features `aws_lc_rs` / `rust_crypto` the provider
//! follows the feature; with both, none is chosen and the process must call
//! `CryptoProvider::install_default` once, before the first use. Each bench
//! binary installs one, so both backends build in one `cargo bench`.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use crate::{CLIENT_ID, HMAC_SECRET, ISSUER, NONCE};

/// The claims read from the token.
#[derive(Debug, Deserialize)]
pub struct IdTokenClaims {
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `aud`.
    pub aud: String,
    /// `exp`.
    pub exp: u64,
    /// `iat`.
    pub iat: u64,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `acr`.
    pub acr: Option<String>,
}

/// Why a token was refused.
#[derive(Debug)]
pub enum Refused {
    /// By `jsonwebtoken`.
    Jwt(jsonwebtoken::errors::Error),
    /// No key with the header's `kid`.
    NoKey,
    /// `nonce` missing or different.
    Nonce,
    /// `acr` missing or not an eIDAS level.
    Acr,
}

impl From<jsonwebtoken::errors::Error> for Refused {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        Self::Jwt(e)
    }
}

/// The keys and validations of one relying party.
pub struct JwtVerifier {
    keys: HashMap<String, DecodingKey>,
    hmac: DecodingKey,
    validations: HashMap<Algorithm, Validation>,
}

impl JwtVerifier {
    /// From the provider's JWKS. A `CryptoProvider` must be installed (or
    /// follow from the features) before: building RSA keys uses it.
    pub fn new(jwks: &str) -> Self {
        let set: JwkSet = serde_json::from_str(jwks).expect("JWKS");
        let keys = set
            .keys
            .iter()
            .map(|jwk| {
                let kid = jwk.common.key_id.clone().expect("kid");
                (kid, DecodingKey::from_jwk(jwk).expect("JWK"))
            })
            .collect();
        // One Validation per algorithm: jsonwebtoken refuses a list of
        // algorithms from different families.
        let validations = [
            Algorithm::ES256,
            Algorithm::RS256,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ]
        .into_iter()
        .map(|alg| {
            let mut v = Validation::new(alg);
            v.set_issuer(&[ISSUER]);
            v.set_audience(&[CLIENT_ID]);
            v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            v.leeway = 60;
            v.validate_nbf = true;
            (alg, v)
        })
        .collect();
        Self {
            keys,
            hmac: DecodingKey::from_secret(HMAC_SECRET),
            validations,
        }
    }

    /// Verifies an ID token: signature with the key of its `kid` (the client
    /// secret for HS256), `iss`, `aud`, `exp`, `nbf`, then `nonce` and `acr`.
    pub fn verify(&self, token: &str) -> Result<IdTokenClaims, Refused> {
        let header = decode_header(token)?;
        let key = if header.alg == Algorithm::HS256 {
            &self.hmac
        } else {
            let kid = header.kid.as_deref().ok_or(Refused::NoKey)?;
            self.keys.get(kid).ok_or(Refused::NoKey)?
        };
        let validation = self.validations.get(&header.alg).ok_or(Refused::NoKey)?;
        let claims = decode::<IdTokenClaims>(token, key, validation)?.claims;
        if claims.nonce.as_deref() != Some(NONCE) {
            return Err(Refused::Nonce);
        }
        if !matches!(claims.acr.as_deref(), Some("eidas1" | "eidas2" | "eidas3")) {
            return Err(Refused::Acr);
        }
        Ok(claims)
    }
}

/// Benches `verify` on every token, as `<alg>/<function>`.
pub fn bench(c: &mut criterion::Criterion, function: &str) {
    let fixture = crate::fixture();
    let verifier = JwtVerifier::new(&fixture.jwks);
    for token in &fixture.tokens {
        let verified = verifier.verify(&token.compact);
        assert!(verified.is_ok(), "{:?}: {verified:?}", token.alg);
        let mut group = c.benchmark_group(token.alg.name());
        group.bench_function(function, |b| {
            b.iter(|| {
                verifier
                    .verify(std::hint::black_box(&token.compact))
                    .expect("valid token")
            });
        });
        group.finish();
    }
}
