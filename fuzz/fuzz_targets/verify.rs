//! Any bytes as a token, through the full verification against fixed keys
//! (ES256, EdDSA, RSA 2048, an HMAC secret) and a fixed policy.
#![no_main]

use educonnect_fuzz::{AUDIENCE, ISSUER, NONCE, fixture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (policy, keys) = fixture();
    match policy.verify::<serde_json::Value>(data, keys) {
        Ok(token) => {
            let claims = token.registered();
            assert_eq!(claims.iss(), ISSUER);
            assert!(claims.aud().any(|aud| aud == AUDIENCE));
            assert_eq!(claims.nonce(), Some(NONCE));
        }
        Err(error) => drop(error.to_string()),
    }
});
