//! What verification costs on top of `ring`.
//!
//! For each algorithm, one group with two functions over the same token:
//!
//! - `ring_bare`: ring's signature check alone, over the exact signing input
//!   and signature bytes, decoded beforehand;
//! - `educonnect_verify`: the whole [`Validation::verify`] of the compact
//!   token (split, strict base64url, strict JSON header, key selection by
//!   `kid` among three keys, signature, claims, nonce, `acr`).
//!
//! The difference is the library's own overhead. `jwks/from_jwks_json` reads a
//! three-key JWKS, for information.
//!
//! `cargo bench -p educonnect-core --bench verify` (add `-- --quick` for a
//! rough figure).

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use educonnect_core::FixedClock;
use educonnect_core::jose::{
    Acr, Algorithm, HmacSecret, KeySet, SigningKey, Validation, VerifyingKey,
};
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Value, json};

const ISSUER: &str = "https://oidc.franceconnect.gouv.fr/api/v2";
const CLIENT_ID: &str = "6925fb8143c76eded44d32b40c0cb1006065f7f003de52712b78985704f39950";
const NONCE: &str = "nonce0123456789abcdefghijklmnopqrstuv";
const NOW: u64 = 1_790_000_000;
const HMAC_SECRET: &[u8] = b"client-secret-of-at-least-thirty-two-bytes";
const RSA_PKCS8: &[u8] = include_bytes!("../tests/keys/rsa2048.pk8");
const RSA_JWK: &str = include_str!("../tests/keys/rsa2048.public.jwk.json");
const RSA_KID: &str = "rsa-2048";

/// The claims of a FranceConnect ID token, valid at [`NOW`].
fn id_token_claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
        "aud": CLIENT_ID,
        "exp": NOW + 60,
        "iat": NOW,
        "auth_time": NOW - 5,
        "nonce": NONCE,
        "acr": "eidas1",
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// `header.payload` for a header `{"alg","typ","kid"}` and the ID-token claims.
fn signing_input(alg: Algorithm, kid: &str) -> String {
    let header = json!({"alg": alg.name(), "typ": "JWT", "kid": kid});
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(id_token_claims().to_string().as_bytes())
    )
}

fn rsa_token(alg: Algorithm) -> String {
    let pair = RsaKeyPair::from_pkcs8(RSA_PKCS8).expect("RSA test key");
    let padding: &dyn signature::RsaEncoding = match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        _ => &signature::RSA_PSS_SHA256,
    };
    let input = signing_input(alg, RSA_KID);
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig)
        .expect("RSA signature");
    format!("{input}.{}", b64(&sig))
}

fn hs256_token(key: &hmac::Key) -> String {
    let input = signing_input(Algorithm::HS256, "client-secret");
    let tag = hmac::sign(key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// The signing input and the decoded signature of a compact token.
fn cut(token: &str) -> (Vec<u8>, Vec<u8>) {
    let (input, sig) = token.rsplit_once('.').expect("compact JWS");
    (input.as_bytes().to_vec(), unb64(sig))
}

/// A member of a JWK, decoded.
fn jwk_bytes(key: &VerifyingKey, name: &str) -> Vec<u8> {
    unb64(key.to_jwk()[name].as_str().expect("JWK member"))
}

fn main() {
    let mut c = Criterion::default().configure_from_args();

    let es256 = SigningKey::generate(Algorithm::ES256, "fc-es256-2026-05").expect("ES256 key");
    let eddsa = SigningKey::generate(Algorithm::EdDSA, "fc-eddsa-2026-05").expect("EdDSA key");
    let rsa = VerifyingKey::from_jwk_json(RSA_JWK.as_bytes()).expect("RSA JWK");
    let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, HMAC_SECRET);

    // What a relying party holds: the provider's JWKS (three keys, so the
    // `kid` has to pick one) and its own client secret.
    let keys = KeySet::new([
        es256.verifying_key().clone(),
        rsa.clone(),
        eddsa.verifying_key().clone(),
    ])
    .with_hmac_secret(HmacSecret::new(HMAC_SECRET).expect("HMAC secret"));
    let policy = Validation::new(ISSUER, CLIENT_ID)
        .algorithms(Algorithm::ALL)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .nonce(NONCE)
        .min_acr(Acr::Eidas1);

    let claims = id_token_claims();
    let point = [
        &[4u8][..],
        &jwk_bytes(es256.verifying_key(), "x"),
        &jwk_bytes(es256.verifying_key(), "y"),
    ]
    .concat();
    let ed25519 = jwk_bytes(eddsa.verifying_key(), "x");
    let (n, e) = (jwk_bytes(&rsa, "n"), jwk_bytes(&rsa, "e"));

    type Bare<'a> = Box<dyn Fn(&[u8], &[u8]) -> bool + 'a>;
    let cases: [(Algorithm, String, Bare<'_>); 5] = [
        (
            Algorithm::ES256,
            es256.sign(&claims).expect("ES256 token"),
            Box::new(|m, s| {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
                    .verify(m, s)
                    .is_ok()
            }),
        ),
        (
            Algorithm::RS256,
            rsa_token(Algorithm::RS256),
            Box::new(|m, s| {
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, m, s)
                    .is_ok()
            }),
        ),
        (
            Algorithm::PS256,
            rsa_token(Algorithm::PS256),
            Box::new(|m, s| {
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(&signature::RSA_PSS_2048_8192_SHA256, m, s)
                    .is_ok()
            }),
        ),
        (
            Algorithm::EdDSA,
            eddsa.sign(&claims).expect("EdDSA token"),
            Box::new(|m, s| {
                UnparsedPublicKey::new(&signature::ED25519, &ed25519)
                    .verify(m, s)
                    .is_ok()
            }),
        ),
        (
            Algorithm::HS256,
            hs256_token(&hmac_key),
            Box::new(|m, s| hmac::verify(&hmac_key, m, s).is_ok()),
        ),
    ];

    for (alg, token, bare) in &cases {
        let (input, sig) = cut(token);
        assert!(bare(&input, &sig), "{alg}: ring refuses the token");
        let verified = policy.verify::<Value>(token, &keys);
        assert!(verified.is_ok(), "{alg}: {verified:?}");

        let mut group = c.benchmark_group(alg.name());
        group.bench_function("ring_bare", |b| {
            b.iter(|| assert!(bare(black_box(&input), black_box(&sig))));
        });
        group.bench_function("educonnect_verify", |b| {
            b.iter(|| {
                policy
                    .verify::<Value>(black_box(token.as_bytes()), &keys)
                    .expect("valid token")
            });
        });
        group.finish();
    }

    let jwks = keys.to_jwks_json();
    c.benchmark_group("jwks")
        .bench_function("from_jwks_json", |b| {
            b.iter(|| KeySet::from_jwks_json(black_box(jwks.as_bytes())).expect("JWKS"));
        });

    c.final_summary();
}
