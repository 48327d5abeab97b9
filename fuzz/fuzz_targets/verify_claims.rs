//! Any bytes as the payload of a correctly signed HS256 token: a mutated
//! token never gets past its signature, this reaches the claim checks.
#![no_main]

use educonnect_fuzz::{AUDIENCE, ISSUER, NONCE, fixture, hs256_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (policy, keys) = fixture();
    match policy.verify::<serde_json::Value>(hs256_token(data), keys) {
        Ok(token) => {
            let claims = token.registered();
            assert_eq!(claims.iss, ISSUER);
            assert!(claims.aud.iter().any(|aud| aud == AUDIENCE));
            assert_eq!(claims.nonce.as_deref(), Some(NONCE));
        }
        Err(error) => drop(error.to_string()),
    }
});
