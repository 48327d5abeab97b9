//! The ID-token section of `token-checks.md`, line by line, against tokens
//! signed here with real keys.

mod support;

use std::sync::Arc;
use std::time::Duration;

use educonnect_core::FixedClock;
use educonnect_core::jose::{
    Acr, Algorithm, Claim, ClaimError, Error, HmacSecret, KeyError, KeySet, Malformed, Part,
    SigningKey, Validation, VerifyingKey,
};
use serde_json::{Map, Value, json};
use support::*;

const ALL: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::EdDSA,
    Algorithm::HS256,
];

fn policy() -> Validation {
    Validation::new(ISSUER, CLIENT_ID)
        .algorithms(ALL)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .nonce("nonce0123456789abcdefghijklmnopqrstuv")
        .min_acr(Acr::Eidas1)
}

fn verify(token: &str, keys: &KeySet) -> Result<Map<String, Value>, Error> {
    policy()
        .verify::<Map<String, Value>>(token, keys)
        .map(|v| v.into_claims())
}

/// A key of each algorithm, all in one set, with distinct kids.
fn keys() -> (Vec<TestKey>, KeySet) {
    let keys: Vec<TestKey> = ALL
        .iter()
        .map(|&a| TestKey::new(a, &format!("k-{a}")))
        .collect();
    let set = key_set(&keys.iter().collect::<Vec<_>>());
    (keys, set)
}

fn claim_error(token: &str, keys: &KeySet) -> ClaimError {
    match verify(token, keys) {
        Err(Error::Claim(e)) => e,
        other => panic!("expected a claim error, got {other:?}"),
    }
}

// --- signatures -------------------------------------------------------------

#[test]
fn valid_signature_is_accepted_for_each_algorithm() {
    let (keys, set) = keys();
    for key in &keys {
        let claims = verify(&key.sign(&id_token_claims()), &set)
            .unwrap_or_else(|e| panic!("{}: {e}", key.alg));
        assert_eq!(claims["acr"], "eidas1");
        let verified = policy()
            .verify::<Value>(key.sign(&id_token_claims()), &set)
            .unwrap();
        assert_eq!(verified.algorithm(), key.alg);
        assert_eq!(verified.registered().aud().collect::<Vec<_>>(), [CLIENT_ID]);
    }
}

#[test]
fn bad_signature_is_rejected_for_each_algorithm() {
    let (keys, set) = keys();
    for key in &keys {
        // A signature over other claims, pasted onto these claims.
        let good = key.sign(&id_token_claims());
        let other = key.sign(&with(id_token_claims(), "sub", json!("someone-else")));
        let (input, _) = good.rsplit_once('.').unwrap();
        let (_, sig) = other.rsplit_once('.').unwrap();
        assert_eq!(
            verify(&format!("{input}.{sig}"), &set),
            Err(Error::BadSignature),
            "{}",
            key.alg
        );
        // The right signature made by another key of the same type and kid.
        if key.alg != Algorithm::HS256 && key.alg != Algorithm::RS256 && key.alg != Algorithm::PS256
        {
            let impostor = TestKey::new(key.alg, &key.kid);
            assert_eq!(
                verify(&impostor.sign(&id_token_claims()), &set),
                Err(Error::BadSignature),
                "{}",
                key.alg
            );
        }
        // An empty signature.
        assert_eq!(
            verify(&format!("{input}."), &set),
            Err(Error::BadSignature),
            "{}",
            key.alg
        );
    }
}

#[test]
fn sign_then_verify_round_trips_with_signing_keys() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg, format!("gw-{alg}")).unwrap();
        let token = key.sign(&id_token_claims()).unwrap();
        let set = KeySet::from_jwks_json(key.public_jwks_json().as_bytes()).unwrap();
        assert!(set.skipped().is_empty());
        let verified = policy()
            .verify::<Value>(&token, &set)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.kid(), Some(key.kid()));
        assert_eq!(verified.algorithm(), alg);
        // Stored and read back, the key signs tokens the old public key accepts.
        let again = SigningKey::from_jwk_json(key.to_private_jwk_json().as_bytes()).unwrap();
        policy()
            .verify::<Value>(again.sign(&id_token_claims()).unwrap(), &set)
            .unwrap();
    }
}

/// Changing any byte of a valid token makes verification fail. Exhaustive over
/// positions rather than sampled: every byte, several replacement values.
#[test]
fn changing_any_byte_of_a_valid_token_fails() {
    let (keys, set) = keys();
    for key in &keys {
        let token = key.sign(&id_token_claims());
        verify(&token, &set).unwrap();
        let bytes = token.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [
                bytes[i] ^ 0x01,
                bytes[i] ^ 0x20,
                b'.',
                b'A',
                b'-',
                b'=',
                0xff,
            ] {
                if replacement == bytes[i] {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = replacement;
                assert!(
                    policy().verify::<Value>(&changed, &set).is_err(),
                    "{}: byte {i} set to {replacement:#x} still verifies",
                    key.alg
                );
            }
        }
        // Removing or adding a byte anywhere fails too.
        for i in 0..bytes.len() {
            let mut shorter = bytes.to_vec();
            shorter.remove(i);
            assert!(
                policy().verify::<Value>(&shorter, &set).is_err(),
                "{}: without byte {i}",
                key.alg
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(b'A');
        assert!(policy().verify::<Value>(&longer, &set).is_err());
    }
}

// --- algorithms ------------------------------------------------------------

#[test]
fn alg_none_is_refused_in_any_spelling() {
    let (keys, set) = keys();
    let claims = id_token_claims();
    for none in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": none, "kid": keys[0].kid});
        let unsigned = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        assert_eq!(verify(&unsigned, &set), Err(Error::AlgorithmNone), "{none}");
        // Even carrying a real signature.
        assert_eq!(
            verify(&keys[0].sign_with(&header, &claims), &set),
            Err(Error::AlgorithmNone)
        );
    }
}

#[test]
fn algorithm_outside_the_allow_list_is_refused() {
    let (keys, set) = keys();
    let es256_only = policy().algorithms([Algorithm::ES256]);
    for key in &keys[1..] {
        assert_eq!(
            es256_only
                .verify::<Value>(key.sign(&id_token_claims()), &set)
                .unwrap_err(),
            Error::AlgorithmNotAllowed(key.alg)
        );
    }
    // HS256 is not in the default allow-list.
    let hs = keys.iter().find(|k| k.alg == Algorithm::HS256).unwrap();
    let default = Validation::new(ISSUER, CLIENT_ID).clock(Arc::new(FixedClock::at_unix(NOW)));
    assert_eq!(
        default
            .verify::<Value>(hs.sign(&id_token_claims()), &set)
            .unwrap_err(),
        Error::AlgorithmNotAllowed(Algorithm::HS256)
    );
    // Unknown algorithms.
    for alg in ["RS512", "ES384", "HS512", "", "es256"] {
        let token = keys[0].sign_with(&json!({"alg": alg, "kid": keys[0].kid}), &id_token_claims());
        assert_eq!(
            verify(&token, &set),
            Err(Error::AlgorithmUnsupported),
            "{alg:?}"
        );
    }
    let token = keys[0].sign_with(&json!({"alg": 256}), &id_token_claims());
    assert_eq!(
        verify(&token, &set),
        Err(Error::Malformed(Malformed::HeaderMember("alg")))
    );
    let token = keys[0].sign_with(&json!({"kid": "x"}), &id_token_claims());
    assert_eq!(
        verify(&token, &set),
        Err(Error::Malformed(Malformed::HeaderMember("alg")))
    );
}

// --- key selection ---------------------------------------------------------

#[test]
fn missing_kid_with_exactly_one_matching_key_is_accepted() {
    let (keys, _) = keys();
    let rsa = |a: Algorithm| matches!(a, Algorithm::RS256 | Algorithm::PS256);
    for key in keys.iter().filter(|k| k.alg != Algorithm::HS256) {
        // The RS256 and PS256 test keys are the same RSA key under two kids:
        // keep one of them so that each algorithm has exactly one candidate,
        // among keys of the other types.
        let others: Vec<&TestKey> = keys
            .iter()
            .filter(|o| o.alg == key.alg || !(rsa(o.alg) && rsa(key.alg)))
            .collect();
        let set = key_set(&others);
        let token = key.sign_with(&json!({"alg": key.alg.name()}), &id_token_claims());
        verify(&token, &set).unwrap_or_else(|e| panic!("{}: {e}", key.alg));
    }
}

#[test]
fn missing_kid_with_several_matching_keys_is_refused() {
    let a = TestKey::new(Algorithm::ES256, "a");
    let b = TestKey::new(Algorithm::ES256, "b");
    let set = key_set(&[&a, &b]);
    let token = a.sign_with(&json!({"alg": "ES256"}), &id_token_claims());
    assert_eq!(
        verify(&token, &set),
        Err(Error::AmbiguousKey {
            kid: None,
            count: 2
        })
    );
    // With its kid, the same token's key is found.
    verify(&a.sign(&id_token_claims()), &set).unwrap();
    // Two keys under one kid are just as ambiguous.
    let c = TestKey::new(Algorithm::ES256, "a");
    let set = key_set(&[&a, &c]);
    assert_eq!(
        verify(&a.sign(&id_token_claims()), &set),
        Err(Error::AmbiguousKey {
            kid: Some("a".into()),
            count: 2
        })
    );
}

#[test]
fn unknown_kid_is_reported_as_such_for_a_refetch() {
    let (keys, set) = keys();
    let rotated = TestKey::new(Algorithm::ES256, "pkcs11:ES256:hsm-2027");
    assert_eq!(
        verify(&rotated.sign(&id_token_claims()), &set),
        Err(Error::NoMatchingKey {
            kid: Some("pkcs11:ES256:hsm-2027".into())
        })
    );
    assert!(!set.contains_kid("pkcs11:ES256:hsm-2027"));
    // After the refetch, the new key set verifies it.
    let refreshed = key_set(&[&keys[0], &rotated]);
    verify(&rotated.sign(&id_token_claims()), &refreshed).unwrap();
    // A kid that exists but for another algorithm does not select that key.
    let rsa = &keys[1];
    let token = keys[0].sign_with(&json!({"alg": "ES256", "kid": rsa.kid}), &id_token_claims());
    assert_eq!(
        verify(&token, &set),
        Err(Error::NoMatchingKey {
            kid: Some(rsa.kid.clone())
        })
    );
}

#[test]
fn embedded_key_headers_never_pick_a_key() {
    let (_, set) = keys();
    let attacker = TestKey::new(Algorithm::ES256, "k-ES256");
    for member in ["jwk", "jku", "x5u", "x5c"] {
        let value = match member {
            "jwk" => attacker.jwk.clone(),
            "x5c" => json!(["MIIB"]),
            _ => json!("https://attacker.example/jwks"),
        };
        let header = json!({"alg": "ES256", "kid": "k-ES256", member: value});
        assert_eq!(
            verify(&attacker.sign_with(&header, &id_token_claims()), &set),
            Err(Error::BadSignature),
            "{member}"
        );
        let header = json!({"alg": "ES256", member: value});
        assert!(
            verify(
                &attacker.sign_with(&header, &id_token_claims()),
                &KeySet::default()
            )
            .is_err()
        );
    }
}

#[test]
fn crit_header_is_refused() {
    let (keys, set) = keys();
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("x")] {
        let mut header = keys[0].header();
        header["crit"] = crit;
        assert_eq!(
            verify(&keys[0].sign_with(&header, &id_token_claims()), &set),
            Err(Error::CriticalHeader)
        );
    }
}

#[test]
fn hmac_key_confusion_is_impossible() {
    let rsa = TestKey::new(Algorithm::RS256, "rsa");
    let ec = TestKey::new(Algorithm::ES256, "ec");
    let set = KeySet::new([rsa.verifying_key(), ec.verifying_key()]);
    let policy = policy();
    // An attacker signs HS256 with the public key's bytes as the secret:
    // with no configured secret there is nothing to check it against.
    for secret in [
        rsa.jwk.to_string(),
        ec.jwk.to_string(),
        rsa.jwk["n"].to_string(),
    ] {
        let input = format!(
            "{}.{}",
            b64(json!({"alg":"HS256","kid":"rsa"}).to_string().as_bytes()),
            b64(id_token_claims().to_string().as_bytes())
        );
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let token = format!(
            "{input}.{}",
            b64(ring::hmac::sign(&key, input.as_bytes()).as_ref())
        );
        assert_eq!(
            policy.verify::<Value>(&token, &set).unwrap_err(),
            Error::NoHmacSecret
        );
    }
    // And a JWKS cannot bring a symmetric key.
    let jwks = json!({"keys":[{"kty":"oct","kid":"s","k": b64(HMAC_SECRET)}]}).to_string();
    let from_jwks = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
    assert!(from_jwks.keys().is_empty());
    assert_eq!(from_jwks.skipped()[0].reason, KeyError::Symmetric);
    assert_eq!(from_jwks.skipped()[0].kid.as_deref(), Some("s"));
    // Short secrets are refused (RFC 7518 §3.2).
    assert_eq!(
        HmacSecret::new(b"short").unwrap_err(),
        Error::Key(KeyError::Invalid)
    );
    assert!(!format!("{:?}", HmacSecret::new(HMAC_SECRET).unwrap()).contains("client-secret"));
}

// --- claims ----------------------------------------------------------------

#[test]
fn issuer_must_match_exactly() {
    let (keys, set) = keys();
    for iss in [
        format!("{ISSUER}/"),
        ISSUER.to_uppercase(),
        "https://fcp-low.sbx.dev-franceconnect.fr/api/v1".to_owned(),
        String::new(),
    ] {
        let token = keys[0].sign(&with(id_token_claims(), "iss", json!(iss)));
        assert_eq!(
            claim_error(&token, &set),
            ClaimError::IssuerMismatch,
            "{iss}"
        );
    }
    let token = keys[0].sign(&with(id_token_claims(), "iss", Value::Null));
    assert_eq!(claim_error(&token, &set), ClaimError::Missing(Claim::Iss));
    let token = keys[0].sign(&with(id_token_claims(), "iss", json!(["x"])));
    assert_eq!(claim_error(&token, &set), ClaimError::Invalid(Claim::Iss));
}

#[test]
fn audience_and_authorized_party() {
    let (keys, set) = keys();
    let k = &keys[0];
    let sign = |claims| k.sign(&claims);
    let base = id_token_claims;
    assert_eq!(
        claim_error(&sign(with(base(), "aud", Value::Null)), &set),
        ClaimError::Missing(Claim::Aud)
    );
    assert_eq!(
        claim_error(&sign(with(base(), "aud", json!("another-client"))), &set),
        ClaimError::AudienceMismatch
    );
    assert_eq!(
        claim_error(&sign(with(base(), "aud", json!([]))), &set),
        ClaimError::Invalid(Claim::Aud)
    );
    assert_eq!(
        claim_error(&sign(with(base(), "aud", json!([CLIENT_ID, 7]))), &set),
        ClaimError::Invalid(Claim::Aud)
    );
    // A one-element list is the same as the string.
    verify(&sign(with(base(), "aud", json!([CLIENT_ID]))), &set).unwrap();
    // Several audiences: azp required, and equal to the client id.
    let several = with(base(), "aud", json!([CLIENT_ID, "other"]));
    assert_eq!(
        claim_error(&sign(several.clone()), &set),
        ClaimError::AzpMissing
    );
    assert_eq!(
        claim_error(&sign(with(several.clone(), "azp", json!("other"))), &set),
        ClaimError::AzpMismatch
    );
    verify(&sign(with(several, "azp", json!(CLIENT_ID))), &set).unwrap();
    // azp present with one audience must still be the client id.
    assert_eq!(
        claim_error(&sign(with(base(), "azp", json!("other"))), &set),
        ClaimError::AzpMismatch
    );
}

#[test]
fn times_with_leeway() {
    let (keys, set) = keys();
    let k = &keys[0];
    let at = |name: &str, value: Value| k.sign(&with(id_token_claims(), name, value));
    assert_eq!(
        claim_error(&at("iat", Value::Null), &set),
        ClaimError::Missing(Claim::Iat)
    );
    assert_eq!(
        claim_error(&at("exp", Value::Null), &set),
        ClaimError::Missing(Claim::Exp)
    );
    assert_eq!(
        claim_error(&at("exp", json!("soon")), &set),
        ClaimError::Invalid(Claim::Exp)
    );
    // exp: accepted up to the leeway (60 s), refused beyond.
    verify(&at("exp", json!(NOW - 59)), &set).unwrap();
    assert_eq!(
        claim_error(&at("exp", json!(NOW - 60)), &set),
        ClaimError::Expired
    );
    assert_eq!(
        claim_error(&at("exp", json!(NOW - 3600)), &set),
        ClaimError::Expired
    );
    let strict = policy().leeway(Duration::ZERO);
    assert_eq!(
        strict
            .verify::<Value>(at("exp", json!(NOW)), &set)
            .unwrap_err(),
        Error::Claim(ClaimError::Expired)
    );
    strict
        .verify::<Value>(at("exp", json!(NOW + 1)), &set)
        .unwrap();
    // Fractional dates are NumericDates too.
    verify(&at("exp", json!(NOW as f64 + 30.5)), &set).unwrap();
    // nbf in the future.
    verify(&at("nbf", json!(NOW + 60)), &set).unwrap();
    assert_eq!(
        claim_error(&at("nbf", json!(NOW + 61)), &set),
        ClaimError::NotYetValid
    );
    // iat far in the future.
    verify(&at("iat", json!(NOW + 60)), &set).unwrap();
    assert_eq!(
        claim_error(&at("iat", json!(NOW + 3600)), &set),
        ClaimError::IssuedInFuture
    );
    assert_eq!(
        claim_error(&at("iat", json!(1e300)), &set),
        ClaimError::Invalid(Claim::Iat)
    );
}

#[test]
fn subject_is_required() {
    let (keys, set) = keys();
    let token = keys[0].sign(&with(id_token_claims(), "sub", Value::Null));
    assert_eq!(claim_error(&token, &set), ClaimError::Missing(Claim::Sub));
    let token = keys[0].sign(&with(id_token_claims(), "sub", json!("")));
    assert_eq!(claim_error(&token, &set), ClaimError::Invalid(Claim::Sub));
    let token = keys[0].sign(&with(id_token_claims(), "sub", json!(42)));
    assert_eq!(claim_error(&token, &set), ClaimError::Invalid(Claim::Sub));
}

#[test]
fn nonce_must_be_the_one_sent() {
    let (keys, set) = keys();
    let token = keys[0].sign(&with(
        id_token_claims(),
        "nonce",
        json!("another-nonce-0123456789abcdef"),
    ));
    assert_eq!(claim_error(&token, &set), ClaimError::NonceMismatch);
    let token = keys[0].sign(&with(
        id_token_claims(),
        "nonce",
        json!("nonce0123456789abcdefghijklmnopqrstu"),
    ));
    assert_eq!(
        claim_error(&token, &set),
        ClaimError::NonceMismatch,
        "a prefix"
    );
    let token = keys[0].sign(&with(id_token_claims(), "nonce", Value::Null));
    assert_eq!(claim_error(&token, &set), ClaimError::Missing(Claim::Nonce));
    // A policy without a nonce (family assertions) does not look at it.
    let no_nonce = Validation::new(ISSUER, CLIENT_ID).clock(Arc::new(FixedClock::at_unix(NOW)));
    no_nonce.verify::<Value>(&token, &set).unwrap();
}

#[test]
fn acr_must_reach_the_requested_level() {
    let (keys, set) = keys();
    let sign = |acr: Value| keys[0].sign(&with(id_token_claims(), "acr", acr));
    let eidas2 = policy().min_acr(Acr::Eidas2);
    assert_eq!(
        eidas2
            .verify::<Value>(sign(json!("eidas1")), &set)
            .unwrap_err(),
        Error::Claim(ClaimError::AcrTooLow)
    );
    eidas2.verify::<Value>(sign(json!("eidas2")), &set).unwrap();
    eidas2.verify::<Value>(sign(json!("eidas3")), &set).unwrap();
    assert_eq!(
        claim_error(&sign(Value::Null), &set),
        ClaimError::Missing(Claim::Acr)
    );
    assert_eq!(
        claim_error(&sign(json!("EIDAS1")), &set),
        ClaimError::AcrTooLow
    );
    assert_eq!(
        claim_error(&sign(json!("loa3")), &set),
        ClaimError::AcrTooLow
    );
    assert!(Acr::Eidas1 < Acr::Eidas2 && Acr::Eidas2 < Acr::Eidas3);
}

#[test]
fn callers_own_claims_type_is_read_from_the_same_payload() {
    #[derive(serde::Deserialize, Debug)]
    struct Amr {
        amr: Vec<String>,
        auth_time: u64,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Impossible {
        given_name: String,
    }
    let (keys, set) = keys();
    let token = keys[0].sign(&id_token_claims());
    let verified = policy().verify::<Amr>(&token, &set).unwrap();
    assert_eq!(verified.claims().amr, ["pwd"]);
    assert_eq!(verified.claims().auth_time, NOW - 5);
    assert_eq!(verified.registered().auth_time(), Some(NOW as i64 - 5));
    assert_eq!(
        policy().verify::<Impossible>(&token, &set).unwrap_err(),
        Error::Claim(ClaimError::Shape)
    );
}

// --- malformed input -------------------------------------------------------

#[test]
fn malformed_tokens_get_typed_errors() {
    let (keys, set) = keys();
    let good = keys[0].sign(&id_token_claims());
    let [h, p, s]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();
    let m = |t: &str| match verify(t, &set) {
        Err(Error::Malformed(m)) => m,
        other => panic!("{t:.40}: {other:?}"),
    };
    assert_eq!(m(&format!("{h}.{p}")), Malformed::SegmentCount(2));
    assert_eq!(m(&format!("{h}.{p}.{s}.{s}")), Malformed::SegmentCount(4));
    assert_eq!(m(""), Malformed::SegmentCount(1));
    assert_eq!(m(&format!("{h}=.{p}.{s}")), Malformed::Base64(Part::Header));
    assert_eq!(
        m(&format!("{h}.{p}.{s}==")),
        Malformed::Base64(Part::Signature)
    );
    let std_alphabet = s.replace('-', "+").replace('_', "/");
    if std_alphabet != s {
        assert_eq!(
            m(&format!("{h}.{p}.{std_alphabet}")),
            Malformed::Base64(Part::Signature)
        );
    }
    assert_eq!(
        m(&format!("{}.{p}.{s}", b64(b"not json"))),
        Malformed::Json(Part::Header)
    );
    assert_eq!(
        m(&format!("{}.{p}.{s}", b64(b"[\"ES256\"]"))),
        Malformed::NotAnObject(Part::Header)
    );
    let dup = br#"{"alg":"ES256","alg":"none"}"#;
    assert_eq!(
        m(&format!("{}.{p}.{s}", b64(dup))),
        Malformed::DuplicateMember(Part::Header)
    );
    let deep = format!(
        r#"{{"alg":"ES256","x":{}1{}}}"#,
        "[".repeat(64),
        "]".repeat(64)
    );
    assert!(matches!(
        m(&format!("{}.{p}.{s}", b64(deep.as_bytes()))),
        Malformed::TooDeep { .. }
    ));
    let huge = "a".repeat(10 * 1024 * 1024);
    assert_eq!(
        m(&huge),
        Malformed::TooLarge {
            len: huge.len(),
            limit: 16 * 1024
        }
    );
    assert_eq!(
        verify(&format!("{h}.{p}.{s}"), &set).map(|c| c.len()),
        Ok(id_token_claims().as_object().unwrap().len())
    );
}

#[test]
fn malformed_payloads_are_caught_after_the_signature() {
    let (keys, set) = keys();
    let k = &keys[0];
    let sign_payload = |payload: &[u8]| {
        let input = format!(
            "{}.{}",
            b64(k.header().to_string().as_bytes()),
            b64(payload)
        );
        format!("{input}.{}", b64(&k.sign_raw(input.as_bytes())))
    };
    let dup = br#"{"sub":"a","sub":"b"}"#;
    assert_eq!(
        verify(&sign_payload(dup), &set),
        Err(Error::Malformed(Malformed::DuplicateMember(Part::Payload)))
    );
    assert_eq!(
        verify(&sign_payload(b"\xff\xfe"), &set),
        Err(Error::Malformed(Malformed::Json(Part::Payload)))
    );
    assert_eq!(
        verify(&sign_payload(b"\"a string\""), &set),
        Err(Error::Malformed(Malformed::NotAnObject(Part::Payload)))
    );
    let deep = format!(r#"{{"x":{}{}}}"#, "{\"a\":".repeat(40), "}".repeat(40));
    assert!(matches!(
        verify(&sign_payload(deep.as_bytes()), &set),
        Err(Error::Malformed(Malformed::TooDeep {
            part: Part::Payload,
            ..
        }))
    ));
    // Binary garbage never panics.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for len in [0, 1, 2, 3, 17, 100, 1000, 20_000] {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert!(policy().verify::<Value>(&garbage, &set).is_err());
    }
}

// --- keys and key sets -----------------------------------------------------

#[test]
fn jwks_skips_unusable_keys_with_their_reason() {
    let ec = TestKey::new(Algorithm::ES256, "ec");
    let rsa = TestKey::new(Algorithm::RS256, "rsa");
    let rsa1024: Value =
        serde_json::from_str(include_str!("keys/rsa1024.public.jwk.json")).unwrap();
    let mut rsa512 = rsa.jwk.clone();
    rsa512["n"] = json!(b64(&[0xc5; 64]));
    rsa512["kid"] = json!("rsa-512");
    let with_member = |jwk: &Value, name: &str, value: Value| with(jwk.clone(), name, value);
    let jwks = json!({"keys": [
        ec.jwk,
        rsa.jwk,
        rsa1024,
        rsa512,
        with_member(&ec.jwk, "use", json!("enc")),
        with_member(&ec.jwk, "key_ops", json!(["sign"])),
        with_member(&ec.jwk, "alg", json!("RS256")),
        with_member(&ec.jwk, "alg", json!("none")),
        with_member(&ec.jwk, "crv", json!("P-384")),
        with_member(&ec.jwk, "x", json!("AAAA")),
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "RSA", "n": "not base64!", "e": "AQAB"},
        with_member(&rsa.jwk, "e", json!("AQA")),
        {"kty": "XYZ"},
        "not an object",
        with_member(&ec.jwk, "key_ops", json!(["verify"])),
        with_member(&ec.jwk, "use", json!("sig")),
    ]})
    .to_string();
    let set = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
    let reasons: Vec<KeyError> = set.skipped().iter().map(|s| s.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            KeyError::RsaTooSmall(1024),
            KeyError::RsaTooSmall(512),
            KeyError::NotForSignature,
            KeyError::OperationNotAllowed,
            KeyError::AlgorithmMismatch(Algorithm::RS256),
            KeyError::UnsupportedAlgorithm,
            KeyError::UnsupportedCurve,
            KeyError::Member("x"),
            KeyError::Symmetric,
            KeyError::Member("n"),
            KeyError::Invalid,
            KeyError::UnsupportedKeyType,
            KeyError::UnsupportedKeyType,
        ]
    );
    assert_eq!(set.skipped()[0].index, 2);
    assert_eq!(set.skipped()[0].kid.as_deref(), Some("rsa-1024"));
    assert_eq!(set.keys().len(), 4);
    // The whole document must be well-formed.
    for bad in [
        &b"{}"[..],
        b"[]",
        b"{\"keys\":{}}",
        b"",
        b"{\"keys\":[],\"keys\":[]}",
    ] {
        assert!(KeySet::from_jwks_json(bad).is_err());
    }
    let huge = format!("{{\"keys\":[\"{}\"]}}", "a".repeat(1024 * 1024));
    assert!(matches!(
        KeySet::from_jwks_json(huge.as_bytes()),
        Err(Error::Malformed(Malformed::TooLarge { .. }))
    ));
}

#[test]
fn jwks_round_trip() {
    let keys: Vec<TestKey> = [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA]
        .iter()
        .map(|&a| TestKey::new(a, &format!("k-{a}")))
        .collect();
    let set = KeySet::new(keys.iter().map(TestKey::verifying_key));
    let again = KeySet::from_jwks_json(set.to_jwks_json().as_bytes()).unwrap();
    assert_eq!(again.keys(), set.keys());
    let key = VerifyingKey::from_jwk_json(keys[0].jwk.to_string().as_bytes()).unwrap();
    assert_eq!(key.kid(), Some("k-ES256"));
    assert!(key.fits(Algorithm::ES256) && !key.fits(Algorithm::EdDSA));
}

/// Finding 12 (issue 10): the registered claims of a verified token can be
/// logged with `{:?}`: the `sub` shows hashed, the nonce not at all.
#[test]
fn finding_12_debug_of_registered_claims_redacts_the_sub_and_nonce() {
    let (keys, set) = keys();
    let claims = id_token_claims();
    let verified = policy()
        .verify::<Value>(keys[0].sign(&claims), &set)
        .unwrap();
    let shown = format!("{:?}", verified.registered());
    let sub = claims["sub"].as_str().unwrap();
    assert!(!shown.contains(sub), "{shown}");
    assert!(shown.contains("sha256:"), "{shown}");
    if let Some(nonce) = claims.get("nonce").and_then(Value::as_str) {
        assert!(!shown.contains(nonce), "{shown}");
    }
}
