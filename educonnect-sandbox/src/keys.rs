//! The sandbox's signing keys: an ES256 key made at start, and the demo
//! RSA-2048 key committed in `keys/demo-rsa2048.pk8` (ring cannot generate
//! RSA keys). Both are published in the JWKS, as FranceConnect publishes
//! one key per algorithm.
//!
//! The RSA key is public (it is in the source tree): tokens it signs prove
//! nothing outside a test.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use educonnect_core::jose::{Algorithm, SigningKey};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Map, Value, json};

/// The demo RSA key, PKCS#8 DER. PUBLIC: never trust what it signs.
const DEMO_RSA_PKCS8: &[u8] = include_bytes!("../keys/demo-rsa2048.pk8");

/// `kid`s in the style of FranceConnect's (`pkcs11:ES256:hsm`).
pub(crate) const ES256_KID: &str = "sandbox:ES256";
pub(crate) const RS256_KID: &str = "sandbox:RS256";

pub(crate) struct Keys {
    es256: SigningKey,
    rsa: RsaKeyPair,
    rng: SystemRandom,
    jwks: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Keys {
    pub(crate) fn new() -> std::io::Result<Self> {
        let invalid = |what: &str| std::io::Error::other(format!("sandbox key: {what}"));
        let es256 = SigningKey::generate(Algorithm::ES256, ES256_KID)
            .map_err(|_| invalid("ES256 generation failed"))?;
        let rsa = RsaKeyPair::from_pkcs8(DEMO_RSA_PKCS8)
            .map_err(|_| invalid("the demo RSA key is unreadable"))?;
        let es_jwks: Value =
            serde_json::from_str(&es256.public_jwks_json()).map_err(|_| invalid("ES256 JWKS"))?;
        let mut keys = es_jwks
            .get("keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let public: RsaPublicKeyComponents<Vec<u8>> = rsa.public().into();
        keys.push(json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": RS256_KID,
            "n": b64(&public.n),
            "e": b64(&public.e),
        }));
        let jwks = json!({ "keys": keys }).to_string();
        Ok(Self {
            es256,
            rsa,
            rng: SystemRandom::new(),
            jwks,
        })
    }

    /// The public JWKS document.
    pub(crate) fn jwks(&self) -> &str {
        &self.jwks
    }

    /// Signs `claims` as a compact JWS with `alg` (ES256 or RS256).
    pub(crate) fn sign(&self, alg: Algorithm, claims: &Map<String, Value>) -> Option<String> {
        if alg == Algorithm::RS256 {
            let header = json!({"alg": "RS256", "typ": "JWT", "kid": RS256_KID});
            let input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(Value::Object(claims.clone()).to_string().as_bytes())
            );
            let mut signature = vec![0; self.rsa.public().modulus_len()];
            self.rsa
                .sign(
                    &RSA_PKCS1_SHA256,
                    &self.rng,
                    input.as_bytes(),
                    &mut signature,
                )
                .ok()?;
            Some(format!("{input}.{}", b64(&signature)))
        } else {
            self.es256.sign(claims).ok()
        }
    }
}
