//! The sandbox's signing keys: an ES256 key made at start, and the demo
//! RSA-2048 key committed in `keys/demo-rsa2048.pk8` (ring cannot generate
//! RSA keys). Both are published in the JWKS, as FranceConnect publishes
//! one key per algorithm.
//!
//! The RSA key is public (it is in the source tree): tokens it signs prove
//! nothing outside a test.

use educonnect_core::jose::{Algorithm, SigningKey};
use serde_json::{Map, Value, json};

/// The demo RSA key, PKCS#8 DER. PUBLIC: never trust what it signs.
const DEMO_RSA_PKCS8: &[u8] = include_bytes!("../keys/demo-rsa2048.pk8");

/// `kid`s in the style of FranceConnect's (`pkcs11:ES256:hsm`).
pub(crate) const ES256_KID: &str = "sandbox:ES256";
pub(crate) const RS256_KID: &str = "sandbox:RS256";

pub(crate) struct Keys {
    es256: SigningKey,
    rs256: SigningKey,
    jwks: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

impl Keys {
    pub(crate) fn new() -> std::io::Result<Self> {
        let invalid = |what: &str| std::io::Error::other(format!("sandbox key: {what}"));
        let es256 = SigningKey::generate(Algorithm::ES256, ES256_KID)
            .map_err(|_| invalid("ES256 generation failed"))?;
        let rs256 = SigningKey::from_rsa_pkcs8_der(RS256_KID, DEMO_RSA_PKCS8)
            .map_err(|_| invalid("the demo RSA key is unreadable"))?;
        let keys: Vec<Value> = [&es256, &rs256]
            .into_iter()
            .map(|key| Value::Object(key.verifying_key().to_jwk()))
            .collect();
        let jwks = json!({ "keys": keys }).to_string();
        Ok(Self { es256, rs256, jwks })
    }

    /// The public JWKS document.
    pub(crate) fn jwks(&self) -> &str {
        &self.jwks
    }

    /// Signs `claims` as a compact JWS with `alg` (ES256 or RS256).
    pub(crate) fn sign(&self, alg: Algorithm, claims: &Map<String, Value>) -> Option<String> {
        let key = if alg == Algorithm::RS256 {
            &self.rs256
        } else {
            &self.es256
        };
        key.sign(claims).ok()
    }
}
