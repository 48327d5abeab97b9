//! Any bytes as an encrypted token (compact JWE) for the relying party's
//! fixed RSA-OAEP-256 and ECDH-ES keys: decryption never panics, and a token
//! accepted through the nested-JWT path is one that decrypts, carrying a
//! signed token that verifies on its own.
#![no_main]

use educonnect_fuzz::{AUDIENCE, ISSUER, decryption_keys, fixture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (policy, keys) = fixture();
    let decrypted = decryption_keys().decrypt(data);
    match policy.verify_encrypted::<serde_json::Value>(data, decryption_keys(), keys) {
        Ok(token) => {
            let claims = token.registered();
            assert_eq!(claims.iss(), ISSUER);
            assert!(claims.aud().any(|aud| aud == AUDIENCE));
            let inner = decrypted.expect("accepted, so it decrypts");
            assert!(policy.verify::<serde_json::Value>(&inner, keys).is_ok());
        }
        Err(error) => drop(error.to_string()),
    }
});
