use std::fs;
use std::path::{Path, PathBuf};

use educonnect_core::jose::KeySet;
use educonnect_core::jose::danger::decode_unverified;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair};
use serde_json::{Value, json};

use super::*;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<_> = fs::read_dir(corpus(target))
        .expect("corpus directory")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("seed-")
        })
        .map(|path| (path.display().to_string(), fs::read(&path).unwrap()))
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seed for {target}");
    seeds
}

/// The claims of a FranceConnect ID token, valid at [`NOW`].
fn id_token_claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
        "aud": AUDIENCE,
        "exp": NOW + 60,
        "iat": NOW - 30,
        "nonce": NONCE,
        "acr": "eidas1",
        "auth_time": NOW - 40,
    })
}

fn rsa_token(alg: &str, claims: &Value) -> String {
    let pair = RsaKeyPair::from_pkcs8(include_bytes!(
        "../../educonnect-core/tests/keys/rsa2048.pk8"
    ))
    .unwrap();
    let header = json!({"alg": alg, "typ": "JWT", "kid": "rsa-2048"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let padding: &dyn signature::RsaEncoding = match alg {
        "RS256" => &signature::RSA_PKCS1_SHA256,
        _ => &signature::RSA_PSS_SHA256,
    };
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig)
        .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[test]
fn seeds_are_accepted() {
    let (policy, keys) = fixture();
    for (name, token) in seeds("verify") {
        let verified = policy.verify::<Value>(&token, keys);
        assert!(verified.is_ok(), "{name}: {verified:?}");
    }
    for (name, token) in seeds("jws_parse") {
        assert!(decode_unverified(&token).is_ok(), "{name}");
    }
    for (name, json) in seeds("jwks_parse") {
        if name.contains("seed-jwks") {
            let set = KeySet::from_jwks_json(&json);
            assert!(set.is_ok_and(|s| !s.keys().is_empty()), "{name}");
        } else {
            assert!(VerifyingKey::from_jwk_json(&json).is_ok(), "{name}");
        }
    }
    for (name, claims) in seeds("verify_claims") {
        let verified = policy.verify::<Value>(hs256_token(&claims), keys);
        assert!(verified.is_ok(), "{name}: {verified:?}");
    }
}

#[test]
fn hs256_header_is_what_it_says() {
    let token = hs256_token(b"{}");
    let header = token.split(|&b| b == b'.').next().unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(header).unwrap(),
        br#"{"alg":"HS256","typ":"JWT"}"#
    );
}

#[test]
fn jwe_seeds_decrypt_and_verify() {
    let (policy, keys) = fixture();
    let seeds = seeds("jwe_decrypt");
    assert!(seeds.len() >= 4, "JWE seeds are missing");
    for (name, seed) in seeds {
        let verified = policy.verify_encrypted::<Value>(&seed, decryption_keys(), keys);
        assert!(verified.is_ok(), "{name}: {verified:?}");
    }
}

/// Writes the JWE seeds anew: `cargo test -- --ignored write_jwe_seeds`
/// (apart from the other seeds: ECDSA signatures differ at each run).
#[test]
#[ignore = "writes into corpus/"]
fn write_jwe_seeds() {
    use educonnect_core::jose::ContentEncryption;
    let signed = es256().sign(&id_token_claims()).unwrap();
    fs::create_dir_all(corpus("jwe_decrypt")).unwrap();
    for key in decryption_keys().keys() {
        for enc in ContentEncryption::ALL {
            let token = key
                .encryption_key()
                .encrypt(signed.as_bytes(), enc, Some("JWT"))
                .unwrap();
            let name = format!("seed-{}-{}", key.algorithm(), enc);
            fs::write(corpus("jwe_decrypt").join(name), token).unwrap();
        }
    }
}

/// Writes the seed corpus anew: `cargo test -- --ignored write_seeds`.
#[test]
#[ignore = "writes into corpus/"]
fn write_seeds() {
    let claims = id_token_claims();
    let tokens = [
        ("es256", es256().sign(&claims).unwrap()),
        ("eddsa", eddsa().sign(&claims).unwrap()),
        ("rs256", rsa_token("RS256", &claims)),
        ("ps256", rsa_token("PS256", &claims)),
        (
            "hs256",
            String::from_utf8(hs256_token(claims.to_string().as_bytes())).unwrap(),
        ),
    ];
    for (target, (name, token)) in ["verify", "jws_parse"]
        .iter()
        .flat_map(|t| tokens.iter().map(move |tok| (t, tok)))
    {
        fs::create_dir_all(corpus(target)).unwrap();
        fs::write(corpus(target).join(format!("seed-{name}")), token).unwrap();
    }

    let public = |key: &SigningKey| Value::Object(key.verifying_key().to_jwk());
    let rsa: Value = serde_json::from_str(RSA_PUBLIC_JWK).unwrap();
    let jwks = json!({ "keys": [public(&es256()), public(&eddsa()), rsa] });
    // A provider's set also holds keys that must be skipped: encryption,
    // symmetric, another curve, a 1024-bit RSA key.
    let rsa1024: Value = serde_json::from_str(include_str!(
        "../../educonnect-core/tests/keys/rsa1024.public.jwk.json"
    ))
    .unwrap();
    let mixed = json!({ "keys": [
        public(&es256()),
        {"kty": "EC", "use": "enc", "crv": "P-256", "kid": "enc-1",
         "x": public(&es256())["x"], "y": public(&es256())["y"]},
        {"kty": "oct", "kid": "hs", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
        rsa1024,
        {"kty": "RSA", "kid": "rsa-ops", "key_ops": ["verify"], "alg": "PS256",
         "n": rsa["n"], "e": rsa["e"]},
    ]});
    fs::create_dir_all(corpus("jwks_parse")).unwrap();
    for (name, doc) in [("jwks", &jwks), ("jwks-mixed", &mixed), ("jwk-rsa", &rsa)] {
        let text = serde_json::to_string_pretty(doc).unwrap();
        fs::write(corpus("jwks_parse").join(format!("seed-{name}")), text).unwrap();
    }

    let mut several = id_token_claims();
    several["aud"] = json!([AUDIENCE, "another-service"]);
    several["azp"] = json!(AUDIENCE);
    several["given_name"] = json!("Angela Claire Louise");
    several["birthdate"] = json!("1962-08-24");
    fs::create_dir_all(corpus("verify_claims")).unwrap();
    for (name, doc) in [("id-token", &claims), ("several-audiences", &several)] {
        fs::write(
            corpus("verify_claims").join(format!("seed-{name}")),
            doc.to_string(),
        )
        .unwrap();
    }
    fs::write(corpus("verify_claims").join("seed-escapes"), ESCAPES_SEED).unwrap();
}

/// A payload written by hand, as serde_json's writer never would: escapes
/// in kept claims (`iss`) and in names, whitespace, nesting, a fractional
/// `iat`, and every kind of value, for the scanner's differential check
/// in `verify_claims`.
const ESCAPES_SEED: &str = r#"{ "iss" : "https:\/\/oidc.franceconnect.gouv.fr\/api\/v2",
 "sub":"b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
 "aud":["educonnect-fuzz-client"], "exp":1780000060, "iat":1779999970.5,
 "nonce":"n-0S6_WzA2Mj-fuzz", "acr":"eidas1",
 "given_name":"Ang\u00e9la \"\\ \uD83D\uDE00\t",
 "address":{"formatted":"1 rue","country":"FR","geo":[48.85,-2.35e0]},
 "amr":["pwd",1,null,true,false], "\u0065mail":"a@b.fr" }"#;

#[test]
fn the_escapes_seed_is_the_committed_one() {
    assert_eq!(
        fs::read_to_string(corpus("verify_claims").join("seed-escapes")).unwrap(),
        ESCAPES_SEED
    );
}
