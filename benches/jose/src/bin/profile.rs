//! Runs one verifier many times, for a profiler: instruction counts under
//! `valgrind --tool=callgrind` are repeatable where timings on a shared
//! machine are not.
//!
//! `jose-bench-profile VERIFIER ALG ITERATIONS`, VERIFIER one of `bare`
//! (aws-lc-rs, key as bytes), `ours`, `ours-header-read` (the key set keeps
//! other headers, so the token's is read every time), `jsonwebtoken`
//! (aws-lc-rs backend), `openidconnect`, `setup` (the fixture alone, to
//! subtract), or `jwe-bare`
//! / `jwe-ours` (decrypting the RSA-OAEP-256 + A256GCM token: aws-lc-rs's
//! primitives, educonnect's `DecryptionKeys::decrypt`); ALG one of `ES256`,
//! `RS256`, `EdDSA`, `HS256` (ignored by the JWE ones).
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=ours.out \
//!     target/release/jose-bench-profile ours HS256 10000
//! callgrind_annotate --inclusive=yes ours.out | head -40
//! ```

use std::hint::black_box;
use std::sync::Arc;

use educonnect_core::FixedClock;
use educonnect_core::jose::{Acr, Algorithm, HmacSecret, KeySet, Validation};
use educonnect_jose_bench::{Alg, CLIENT_ID, HMAC_SECRET, ISSUER, NONCE, NOW, fixture};
use serde::de::IgnoredAny;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [verifier, alg, iterations] = args.as_slice() else {
        eprintln!(
            "usage: jose-bench-profile bare|ours|ours-header-read|jsonwebtoken|openidconnect|setup|jwe-bare|jwe-ours ALG N"
        );
        std::process::exit(2);
    };
    let alg = *Alg::ALL
        .iter()
        .find(|a| a.name() == alg)
        .expect("ES256, RS256, EdDSA or HS256");
    let n: usize = iterations.parse().expect("iterations");
    let fixture = fixture();
    let token = fixture.token(alg);

    match verifier.as_str() {
        "setup" => {}
        "bare" => {
            use aws_lc_rs::signature as aws;
            let keys = &fixture.public;
            let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, HMAC_SECRET);
            for _ in 0..n {
                let (m, s) = (
                    black_box(&token.signing_input[..]),
                    black_box(&token.signature[..]),
                );
                let ok = match alg {
                    Alg::ES256 => {
                        aws::UnparsedPublicKey::new(&aws::ECDSA_P256_SHA256_FIXED, &keys.p256_point)
                            .verify(m, s)
                            .is_ok()
                    }
                    Alg::RS256 => aws::RsaPublicKeyComponents {
                        n: &keys.rsa_n,
                        e: &keys.rsa_e,
                    }
                    .verify(&aws::RSA_PKCS1_2048_8192_SHA256, m, s)
                    .is_ok(),
                    Alg::EdDSA => aws::UnparsedPublicKey::new(&aws::ED25519, &keys.ed25519)
                        .verify(m, s)
                        .is_ok(),
                    Alg::HS256 => aws_lc_rs::hmac::verify(&hmac, m, s).is_ok(),
                };
                assert!(ok);
            }
        }
        "ours" | "ours-header-read" => {
            let keys = KeySet::from_jwks_json(fixture.jwks.as_bytes())
                .expect("JWKS")
                .with_hmac_secret(HmacSecret::new(HMAC_SECRET).expect("secret"));
            let policy = Validation::new(ISSUER, CLIENT_ID)
                .algorithms(Algorithm::ALL)
                .clock(Arc::new(FixedClock::at_unix(NOW)))
                .nonce(NONCE)
                .min_acr(Acr::Eidas1);
            if verifier == "ours-header-read" {
                // The set keeps other headers: the token's is read each time.
                for other in educonnect_jose_bench::hs256_tokens_with_other_headers() {
                    policy
                        .verify::<IgnoredAny>(other, &keys)
                        .expect("another header's token");
                }
            }
            for _ in 0..n {
                policy
                    .verify::<IgnoredAny>(black_box(&token.compact), &keys)
                    .expect("valid token");
            }
        }
        "jsonwebtoken" => {
            #[cfg(feature = "jsonwebtoken-aws-lc-rs")]
            jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
                .install_default()
                .expect("first provider");
            let verifier =
                educonnect_jose_bench::jsonwebtoken_peer::JwtVerifier::new(&fixture.jwks);
            for _ in 0..n {
                verifier
                    .verify(black_box(&token.compact))
                    .expect("valid token");
            }
        }
        "openidconnect" => {
            let verifier =
                educonnect_jose_bench::openidconnect_peer::OidcVerifier::new(&fixture.jwks);
            for _ in 0..n {
                verifier
                    .verify(black_box(&token.compact))
                    .expect("valid token");
            }
        }
        // JWE: the ALG argument is ignored; the RSA-OAEP-256 + A256GCM token.
        "jwe-bare" => {
            use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
            use aws_lc_rs::rsa::{
                OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey,
            };
            let jwe = educonnect_jose_bench::encrypted_id_token(&fixture);
            let rsa = OaepPrivateDecryptingKey::new(
                PrivateDecryptingKey::from_pkcs8(educonnect_jose_bench::RSA_PKCS8).expect("key"),
            )
            .expect("OAEP key");
            for _ in 0..n {
                let mut cek = [0u8; 256];
                let cek = rsa
                    .decrypt(&OAEP_SHA256_MGF1SHA256, &jwe.encrypted_key, &mut cek, None)
                    .expect("RSA-OAEP");
                let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, cek).expect("AES key"));
                let mut in_out = jwe.ciphertext_and_tag.clone();
                key.open_in_place(
                    Nonce::assume_unique_for_key(jwe.iv),
                    Aad::from(jwe.protected_b64.as_bytes()),
                    &mut in_out,
                )
                .expect("AES-GCM");
                black_box(in_out);
            }
        }
        #[cfg(feature = "aws-lc-rs")]
        "jwe-ours" => {
            use educonnect_core::jose::{DecryptionKey, DecryptionKeys};
            let jwe = educonnect_jose_bench::encrypted_id_token(&fixture);
            let keys = DecryptionKeys::new([DecryptionKey::from_jwk_json(
                educonnect_jose_bench::RSA_ENC_JWK.as_bytes(),
            )
            .expect("RSA decryption key")]);
            for _ in 0..n {
                black_box(
                    keys.decrypt(black_box(jwe.compact.as_bytes()))
                        .expect("JWE"),
                );
            }
        }
        other => panic!("unknown verifier {other}"),
    }
}
