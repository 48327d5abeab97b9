//! ID token verification side by side, one criterion group per algorithm
//! (`ES256`, `RS256`, `EdDSA`, `HS256`), over the same token:
//!
//! - `aws_lc_rs_bare` / `ring_bare`: the crypto crate's check alone, over the
//!   signing input and the decoded signature, the key given as bytes (what
//!   `UnparsedPublicKey` / `RsaPublicKeyComponents` take); HS256: `hmac::verify`
//!   with a key made beforehand;
//! - `aws_lc_rs_parsed`: aws-lc-rs with the public key parsed once
//!   beforehand (`ParsedPublicKey`), the lowest floor there is;
//! - `educonnect_aws_lc_rs` or `educonnect_ring` (the bench crate's provider
//!   feature): `Validation::verify` of the compact token (issuer, audience,
//!   `exp`, nonce, `acr`, `kid` among the four keys of the JWKS), the key
//!   set keeping the token's header after the first verification, as it
//!   does; for HS256 also `educonnect_*_header_read`, with a key set that
//!   keeps other headers, so that the header is read every time;
//! - `openidconnect`: `CoreIdTokenVerifier` with the same checks.
//!
//! Then `jwks/*` (reading a JWKS of 2, 10 and 50 keys, verifying with the
//! token's key last among 50) and `JWE/*` (decrypting an RSA-OAEP-256 +
//! A256GCM token against its primitives; educonnect's decryption needs the
//! aws-lc-rs provider).
//!
//! `jsonwebtoken` runs in its own binaries (`jsonwebtoken_aws_lc_rs`,
//! `jsonwebtoken_rust_crypto`): its crypto provider is process-wide.

use std::hint::black_box;
use std::sync::Arc;

use educonnect_core::FixedClock;
use educonnect_core::jose::{Acr, Algorithm, HmacSecret, KeySet, Validation};
use educonnect_jose_bench::openidconnect_peer::OidcVerifier;
use educonnect_jose_bench::{
    Alg, CLIENT_ID, HMAC_SECRET, ISSUER, NONCE, NOW, PublicKeys, encrypted_id_token, fixture,
    hs256_tokens_with_other_headers, jwks_of,
};
use serde::de::IgnoredAny;

/// The function name of our verification, by provider.
#[cfg(not(all(feature = "ring", not(feature = "aws-lc-rs"))))]
const OURS: &str = "educonnect_aws_lc_rs";
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
const OURS: &str = "educonnect_ring";

/// Our verification of an HS256 token whose header the key set has not
/// kept (it keeps the first few headers it verified), by provider.
#[cfg(not(all(feature = "ring", not(feature = "aws-lc-rs"))))]
const HEADER_READ: &str = "educonnect_aws_lc_rs_header_read";
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
const HEADER_READ: &str = "educonnect_ring_header_read";

type Check<'a> = Box<dyn Fn(&[u8], &[u8]) -> bool + 'a>;

/// The floors of `alg`: (function name, check).
fn floors(alg: Alg, keys: &PublicKeys) -> Vec<(&'static str, Check<'_>)> {
    use aws_lc_rs::signature as aws;
    use ring::signature as rg;
    match alg {
        Alg::ES256 => {
            let parsed =
                aws::UnparsedPublicKey::new(&aws::ECDSA_P256_SHA256_FIXED, &keys.p256_point)
                    .parse()
                    .expect("P-256 point");
            vec![
                (
                    "aws_lc_rs_bare",
                    Box::new(|m: &[u8], s: &[u8]| {
                        aws::UnparsedPublicKey::new(&aws::ECDSA_P256_SHA256_FIXED, &keys.p256_point)
                            .verify(m, s)
                            .is_ok()
                    }),
                ),
                (
                    "aws_lc_rs_parsed",
                    Box::new(move |m: &[u8], s: &[u8]| parsed.verify_sig(m, s).is_ok()),
                ),
                (
                    "ring_bare",
                    Box::new(|m: &[u8], s: &[u8]| {
                        rg::UnparsedPublicKey::new(&rg::ECDSA_P256_SHA256_FIXED, &keys.p256_point)
                            .verify(m, s)
                            .is_ok()
                    }),
                ),
            ]
        }
        Alg::RS256 => {
            let der = educonnect_jose_bench::rsa_public_der();
            let parsed = aws::UnparsedPublicKey::new(&aws::RSA_PKCS1_2048_8192_SHA256, &der)
                .parse()
                .expect("RSA key");
            vec![
                (
                    "aws_lc_rs_bare",
                    Box::new(|m: &[u8], s: &[u8]| {
                        aws::RsaPublicKeyComponents {
                            n: &keys.rsa_n,
                            e: &keys.rsa_e,
                        }
                        .verify(&aws::RSA_PKCS1_2048_8192_SHA256, m, s)
                        .is_ok()
                    }),
                ),
                (
                    "aws_lc_rs_parsed",
                    Box::new(move |m: &[u8], s: &[u8]| parsed.verify_sig(m, s).is_ok()),
                ),
                (
                    "ring_bare",
                    Box::new(|m: &[u8], s: &[u8]| {
                        rg::RsaPublicKeyComponents {
                            n: &keys.rsa_n,
                            e: &keys.rsa_e,
                        }
                        .verify(&rg::RSA_PKCS1_2048_8192_SHA256, m, s)
                        .is_ok()
                    }),
                ),
            ]
        }
        Alg::EdDSA => {
            let parsed = aws::UnparsedPublicKey::new(&aws::ED25519, &keys.ed25519)
                .parse()
                .expect("Ed25519 key");
            vec![
                (
                    "aws_lc_rs_bare",
                    Box::new(|m: &[u8], s: &[u8]| {
                        aws::UnparsedPublicKey::new(&aws::ED25519, &keys.ed25519)
                            .verify(m, s)
                            .is_ok()
                    }),
                ),
                (
                    "aws_lc_rs_parsed",
                    Box::new(move |m: &[u8], s: &[u8]| parsed.verify_sig(m, s).is_ok()),
                ),
                (
                    "ring_bare",
                    Box::new(|m: &[u8], s: &[u8]| {
                        rg::UnparsedPublicKey::new(&rg::ED25519, &keys.ed25519)
                            .verify(m, s)
                            .is_ok()
                    }),
                ),
            ]
        }
        Alg::HS256 => {
            let aws_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, HMAC_SECRET);
            let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET);
            vec![
                (
                    "aws_lc_rs_bare",
                    Box::new(move |m: &[u8], s: &[u8]| {
                        aws_lc_rs::hmac::verify(&aws_key, m, s).is_ok()
                    }),
                ),
                (
                    "ring_bare",
                    Box::new(move |m: &[u8], s: &[u8]| ring::hmac::verify(&ring_key, m, s).is_ok()),
                ),
            ]
        }
    }
}

fn policy() -> Validation {
    Validation::new(ISSUER, CLIENT_ID)
        .algorithms([
            Algorithm::ES256,
            Algorithm::RS256,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ])
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .nonce(NONCE)
        .min_acr(Acr::Eidas1)
}

fn main() {
    let mut c = educonnect_jose_bench::criterion();
    let fixture = fixture();
    let keys = KeySet::from_jwks_json(fixture.jwks.as_bytes())
        .expect("JWKS")
        .with_hmac_secret(HmacSecret::new(HMAC_SECRET).expect("HMAC secret"));
    assert_eq!(keys.keys().len(), 4);
    let policy = policy();
    let oidc = OidcVerifier::new(&fixture.jwks);

    for token in &fixture.tokens {
        let mut group = c.benchmark_group(token.alg.name());
        for (name, check) in floors(token.alg, &fixture.public) {
            assert!(
                check(&token.signing_input, &token.signature),
                "{name} refuses {:?}",
                token.alg
            );
            group.bench_function(name, |b| {
                b.iter(|| {
                    assert!(check(
                        black_box(&token.signing_input),
                        black_box(&token.signature)
                    ))
                });
            });
        }

        let verified = policy.verify::<IgnoredAny>(&token.compact, &keys);
        assert!(verified.is_ok(), "{:?}: {verified:?}", token.alg);
        group.bench_function(OURS, |b| {
            b.iter(|| {
                policy
                    .verify::<IgnoredAny>(black_box(token.compact.as_bytes()), &keys)
                    .expect("valid token")
            });
        });

        // HS256 once more, with a key set that keeps other headers: the
        // cost of a token whose header is read in full.
        if token.alg == Alg::HS256 {
            let uncached = KeySet::default()
                .with_hmac_secret(HmacSecret::new(HMAC_SECRET).expect("HMAC secret"));
            for other in hs256_tokens_with_other_headers() {
                policy
                    .verify::<IgnoredAny>(other, &uncached)
                    .expect("another header's token");
            }
            group.bench_function(HEADER_READ, |b| {
                b.iter(|| {
                    policy
                        .verify::<IgnoredAny>(black_box(token.compact.as_bytes()), &uncached)
                        .expect("valid token")
                });
            });
        }

        let verified = oidc.verify(&token.compact);
        assert!(
            verified.is_ok(),
            "openidconnect {:?}: {verified:?}",
            token.alg
        );
        group.bench_function("openidconnect", |b| {
            b.iter(|| oidc.verify(black_box(&token.compact)).expect("valid token"));
        });
        group.finish();
    }

    bench_jwks(&mut c, &policy, fixture.token(Alg::ES256).compact.as_str());
    bench_jwe(&mut c, &fixture);
    c.final_summary();
}

/// Reading JWKS of 2, 10 and 50 keys; verifying ES256 with the token's key
/// last among 50 (the selection walks all of them, to refuse ambiguity).
fn bench_jwks(c: &mut criterion::Criterion, policy: &Validation, es256: &str) {
    let mut group = c.benchmark_group("jwks");
    for n in [2, 10, 50] {
        let jwks = jwks_of(n);
        let set = KeySet::from_jwks_json(jwks.as_bytes()).expect("JWKS");
        assert_eq!(set.keys().len(), n);
        group.bench_function(format!("parse_{n}"), |b| {
            b.iter(|| KeySet::from_jwks_json(black_box(jwks.as_bytes())).expect("JWKS"));
        });
        if n == 50 {
            assert!(policy.verify::<IgnoredAny>(es256, &set).is_ok());
            group.bench_function("verify_es256_among_50", |b| {
                b.iter(|| {
                    policy
                        .verify::<IgnoredAny>(black_box(es256), &set)
                        .expect("valid token")
                });
            });
        }
    }
    group.finish();
}

/// JWE: the bare primitives (RSA-OAEP-256 unwrapping of the content key, then
/// AES-256-GCM opening of the ciphertext with the protected header as AAD).
fn bench_jwe(c: &mut criterion::Criterion, fixture: &educonnect_jose_bench::Fixture) {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};

    let jwe = encrypted_id_token(fixture);
    let rsa = OaepPrivateDecryptingKey::new(
        PrivateDecryptingKey::from_pkcs8(educonnect_jose_bench::RSA_PKCS8).expect("RSA key"),
    )
    .expect("OAEP key");
    let decrypt = || -> Vec<u8> {
        let mut cek = [0u8; 256];
        let cek = rsa
            .decrypt(&OAEP_SHA256_MGF1SHA256, &jwe.encrypted_key, &mut cek, None)
            .expect("RSA-OAEP");
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, cek).expect("AES key"));
        let mut in_out = jwe.ciphertext_and_tag.clone();
        let len = key
            .open_in_place(
                Nonce::assume_unique_for_key(jwe.iv),
                Aad::from(jwe.protected_b64.as_bytes()),
                &mut in_out,
            )
            .expect("AES-GCM")
            .len();
        in_out.truncate(len);
        in_out
    };
    assert_eq!(decrypt(), jwe.plaintext);

    let mut group = c.benchmark_group("JWE");
    group.bench_function("aws_lc_rs_primitives", |b| b.iter(|| black_box(decrypt())));
    group.bench_function("aws_lc_rs_rsa_oaep_only", |b| {
        b.iter(|| {
            let mut cek = [0u8; 256];
            rsa.decrypt(
                &OAEP_SHA256_MGF1SHA256,
                black_box(&jwe.encrypted_key),
                &mut cek,
                None,
            )
            .expect("RSA-OAEP")
            .len()
        });
    });
    bench_jwe_ours(&mut group, &jwe);
    group.finish();
}

/// educonnect's decryption (`DecryptionKeys::decrypt`), and the whole nested
/// token (`Validation::verify_encrypted`: decryption, then the RS256 ID
/// token's verification). aws-lc-rs only: ring has no RSA-OAEP.
#[cfg(feature = "aws-lc-rs")]
fn bench_jwe_ours(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    jwe: &educonnect_jose_bench::EncryptedToken,
) {
    use educonnect_core::jose::{DecryptionKey, DecryptionKeys};

    let decryption = DecryptionKeys::new([DecryptionKey::from_jwk_json(
        educonnect_jose_bench::RSA_ENC_JWK.as_bytes(),
    )
    .expect("RSA decryption key")]);
    assert_eq!(
        decryption.decrypt(jwe.compact.as_bytes()).expect("JWE"),
        jwe.plaintext
    );
    group.bench_function(OURS, |b| {
        b.iter(|| {
            decryption
                .decrypt(black_box(jwe.compact.as_bytes()))
                .expect("JWE")
        });
    });

    let fixture = fixture();
    let keys = KeySet::from_jwks_json(fixture.jwks.as_bytes()).expect("JWKS");
    let policy = policy();
    assert!(
        policy
            .verify_encrypted::<IgnoredAny>(&jwe.compact, &decryption, &keys)
            .is_ok()
    );
    group.bench_function(format!("{OURS}_verify_encrypted"), |b| {
        b.iter(|| {
            policy
                .verify_encrypted::<IgnoredAny>(black_box(&jwe.compact), &decryption, &keys)
                .expect("valid token")
        });
    });
}

#[cfg(not(feature = "aws-lc-rs"))]
fn bench_jwe_ours(
    _: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    _: &educonnect_jose_bench::EncryptedToken,
) {
}
