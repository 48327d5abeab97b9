//! Any bytes as the payload of a correctly signed HS256 token: a mutated
//! token never gets past its signature, this reaches the claim checks.
//!
//! It is also the differential test of the verification path's own JSON
//! scanner: whatever the payload, `verify` refuses it as malformed exactly
//! when serde_json's strict parse (`jose::parse_json_object`) does, with the
//! same reason, and an accepted token's claims are what that parse reads.
//! `IgnoredAny`, which skips the second read of the payload, gets the same
//! answer as a full `Value`.
#![no_main]

use educonnect_core::jose::{Error, Malformed, parse_json_object};
use educonnect_fuzz::{AUDIENCE, ISSUER, NONCE, fixture, hs256_token};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (policy, keys) = fixture();
    let token = hs256_token(data);
    let verified = policy.verify::<Value>(&token, keys);
    let ignored = policy.verify::<IgnoredAny>(&token, keys);
    assert_eq!(
        verified.as_ref().err(),
        ignored.as_ref().err(),
        "IgnoredAny and Value disagree"
    );
    if let Err(Error::Malformed(Malformed::TooLarge { .. })) = verified {
        return;
    }
    match (parse_json_object(data), &verified) {
        (Err(reference), Err(error)) if reference == *error => {}
        (Err(reference), outcome) => {
            panic!("serde_json refuses the payload ({reference:?}), verify gives {outcome:?}")
        }
        (Ok(_), Err(Error::Malformed(malformed))) => {
            panic!("serde_json accepts the payload, verify refuses it as {malformed:?}")
        }
        (Ok(_), Err(_)) => {}
        (Ok(map), Ok(token)) => {
            let claims = token.registered();
            assert_eq!(claims.iss(), ISSUER);
            assert!(claims.aud().any(|aud| aud == AUDIENCE));
            assert_eq!(claims.nonce(), Some(NONCE));
            // Every string claim kept (unescaped into one buffer) is the
            // string serde_json reads.
            let string = |name: &str| map.get(name).and_then(Value::as_str);
            assert_eq!(string("iss"), Some(claims.iss()));
            assert_eq!(string("sub"), Some(claims.sub()));
            assert_eq!(string("nonce"), claims.nonce());
            assert_eq!(string("azp"), claims.azp());
            assert_eq!(string("acr"), claims.acr());
            assert_eq!(string("jti"), claims.jti());
            let audiences: Vec<&str> = match &map["aud"] {
                Value::String(aud) => vec![aud],
                list => list
                    .as_array()
                    .expect("aud kept: a string or a list of strings")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect(),
            };
            assert_eq!(claims.aud().collect::<Vec<_>>(), audiences);
            assert_eq!(
                map.get("exp").and_then(Value::as_i64),
                Some(claims.exp()).filter(|_| map["exp"].is_i64())
            );
            assert_eq!(token.claims(), &Value::Object(map));
        }
    }
});
