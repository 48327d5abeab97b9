//! Any bytes as a compact JWS, decoded without verification.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(error) = educonnect_core::jose::danger::decode_unverified(data) {
        let _ = error.to_string();
    }
});
