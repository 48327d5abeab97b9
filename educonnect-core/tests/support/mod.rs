//! Token factory for the tests: real keys for every algorithm, and full
//! control over the header, so that the tests can build the tokens an
//! attacker would send.

#![allow(dead_code, unreachable_pub)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use educonnect_core::jose::{Algorithm, HmacSecret, KeySet, VerifyingKey};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use ring::{hmac, rand};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://fcp-low.sbx.dev-franceconnect.fr/api/v2";
pub const CLIENT_ID: &str = "6925fb8143c76eded44d32b40c0cb1006065f7f003de52712b78985704f39950";
pub const NOW: u64 = 1_790_000_000;
pub const HMAC_SECRET: &[u8] = b"client-secret-of-at-least-thirty-two-bytes";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A key able to sign for one algorithm, and its public JWK.
pub struct TestKey {
    pub alg: Algorithm,
    pub kid: String,
    signer: Signer,
    pub jwk: Value,
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Hmac(hmac::Key),
}

impl TestKey {
    pub fn new(alg: Algorithm, kid: &str) -> Self {
        let rng = SystemRandom::new();
        let (signer, jwk) = match alg {
            Algorithm::ES256 => {
                let a = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
                let pair = EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref(), &rng).unwrap();
                let p = pair.public_key().as_ref().to_vec();
                let jwk = json!({"kty":"EC","crv":"P-256","x":b64(&p[1..33]),"y":b64(&p[33..])});
                (Signer::Ecdsa(pair), jwk)
            }
            Algorithm::EdDSA => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
                let jwk = json!({"kty":"OKP","crv":"Ed25519","x":b64(pair.public_key().as_ref())});
                (Signer::Ed25519(pair), jwk)
            }
            Algorithm::RS256 | Algorithm::PS256 => {
                let pair = RsaKeyPair::from_pkcs8(include_bytes!("../keys/rsa2048.pk8")).unwrap();
                let mut jwk: Value =
                    serde_json::from_str(include_str!("../keys/rsa2048.public.jwk.json")).unwrap();
                jwk.as_object_mut().unwrap().remove("kid");
                let enc: &'static dyn signature::RsaEncoding = if alg == Algorithm::RS256 {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                (Signer::Rsa(pair, enc), jwk)
            }
            Algorithm::HS256 => (
                Signer::Hmac(hmac::Key::new(hmac::HMAC_SHA256, HMAC_SECRET)),
                Value::Null,
            ),
            other => panic!("no test key for {other}"),
        };
        let mut key = Self {
            alg,
            kid: kid.to_owned(),
            signer,
            jwk,
        };
        if let Value::Object(jwk) = &mut key.jwk {
            jwk.insert("kid".into(), kid.into());
        }
        key
    }

    pub fn sign_raw(&self, message: &[u8]) -> Vec<u8> {
        let rng = rand::SystemRandom::new();
        match &self.signer {
            Signer::Ecdsa(p) => p.sign(&rng, message).unwrap().as_ref().to_vec(),
            Signer::Ed25519(p) => p.sign(message).as_ref().to_vec(),
            Signer::Rsa(p, enc) => {
                let mut sig = vec![0; p.public().modulus_len()];
                p.sign(*enc, &rng, message, &mut sig).unwrap();
                sig
            }
            Signer::Hmac(k) => hmac::sign(k, message).as_ref().to_vec(),
        }
    }

    /// The header this key would normally write.
    pub fn header(&self) -> Value {
        json!({"alg": self.alg.name(), "typ": "JWT", "kid": self.kid})
    }

    /// Signs `claims` under an arbitrary `header`.
    pub fn sign_with(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self.sign_raw(input.as_bytes());
        format!("{input}.{}", b64(&sig))
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.header(), claims)
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_jwk_json(self.jwk.to_string().as_bytes()).unwrap()
    }
}

/// A key set holding these public keys, and the HMAC secret.
pub fn key_set(keys: &[&TestKey]) -> KeySet {
    KeySet::new(
        keys.iter()
            .filter(|k| k.alg != Algorithm::HS256)
            .map(|k| k.verifying_key()),
    )
    .with_hmac_secret(HmacSecret::new(HMAC_SECRET).unwrap())
}

/// The claims of a FranceConnect ID token, valid at [`NOW`].
pub fn id_token_claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
        "aud": CLIENT_ID,
        "exp": NOW + 60,
        "iat": NOW,
        "auth_time": NOW - 5,
        "nonce": "nonce0123456789abcdefghijklmnopqrstuv",
        "acr": "eidas1",
        "amr": ["pwd"],
    })
}

/// Sets (or with `Value::Null`, removes) a member of a JSON object.
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    let map = claims.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
    claims
}
