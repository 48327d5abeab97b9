//! Any bytes as a JWKS and as a single JWK. What is read is written back and
//! must read back the same.
#![no_main]

use educonnect_core::jose::{DEFAULT_MAX_JWKS_LEN, KeySet, VerifyingKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = KeySet::from_jwks_json(data) {
        let written = set.to_jwks_json();
        if written.len() <= DEFAULT_MAX_JWKS_LEN {
            let again = KeySet::from_jwks_json(written.as_bytes()).expect("our own JWKS");
            assert_eq!(again.keys(), set.keys());
        }
        let _ = format!("{set:?}");
    }
    match VerifyingKey::from_jwk_json(data) {
        Ok(key) => {
            let written = serde_json::Value::Object(key.to_jwk()).to_string();
            assert_eq!(VerifyingKey::from_jwk_json(written.as_bytes()), Ok(key));
        }
        Err(error) => drop(error.to_string()),
    }
});
