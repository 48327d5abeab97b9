//! Verifying a family assertion through the C ABI next to the Rust call,
//! in one run (goal: within 1.1x).
//!
//! `cargo bench -p educonnect-ffi --bench verify`
//!
//! Criterion measures each call on its own, seconds apart: on a shared
//! machine the load changes in between. So the run ends with a paired
//! measurement too, the two calls alternating 20,000 times, and prints
//! both medians and their ratio (C ABI / Rust).
#![allow(missing_docs, reason = "a benchmark")]

use std::hint::black_box;
use std::ptr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use educonnect_core::directory::{PupilId, Relationship, SourceId};
use educonnect_core::filiation::{AssertionVerifier, Child, FamilyClaims, Verification};
use educonnect_core::jose::{Algorithm, SigningKey};
use educonnect_ffi::*;
use serde_json::json;

const ISSUER: &str = "https://ent.example.fr";
const AUDIENCE: &str = "https://bourses.example.fr";

fn family() -> FamilyClaims {
    let children = ["E1", "E2"].map(|local| {
        Child::new(
            PupilId::new(SourceId::aaf("14").unwrap(), local).unwrap(),
            Relationship::Mother.into(),
            true,
            Verification::BirthDates,
        )
    });
    FamilyClaims::guardian("franceconnect", "sub-bench", Vec::new(), children)
}

/// A JWKS and an assertion signed with `alg`.
fn fixture(alg: Algorithm) -> (String, String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let key = SigningKey::generate(alg, "bench").unwrap();
    let token = key
        .sign(&json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "sub-bench",
            "iat": now, "exp": now + 3600, "family": family(),
        }))
        .unwrap();
    (key.public_jwks_json(), token)
}

/// A verifier through the C ABI.
fn c_verifier(jwks: &str) -> *mut educonnect_verifier {
    let mut verifier = ptr::null_mut();
    // SAFETY: valid buffers and output.
    let code = unsafe {
        educonnect_verifier_new(
            jwks.as_ptr().cast(),
            jwks.len(),
            ISSUER.as_ptr().cast(),
            ISSUER.len(),
            AUDIENCE.as_ptr().cast(),
            AUDIENCE.len(),
            &mut verifier,
        )
    };
    assert_eq!(code, educonnect_result::EDUCONNECT_OK);
    verifier
}

/// One verification through the C ABI, as a C caller does it: verify, then
/// free the claims.
fn c_verify(verifier: *const educonnect_verifier, token: &str) {
    let mut claims = ptr::null_mut();
    // SAFETY: a live verifier, a valid buffer and output; the claims are
    // freed once.
    unsafe {
        let code = educonnect_verifier_verify(
            verifier,
            black_box(token.as_ptr().cast()),
            token.len(),
            &mut claims,
        );
        assert_eq!(code, educonnect_result::EDUCONNECT_OK);
        educonnect_claims_free(black_box(claims));
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify family assertion");
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let (jwks, token) = fixture(alg);
        let rust = AssertionVerifier::from_jwks_json(ISSUER, AUDIENCE, jwks.as_bytes()).unwrap();
        group.bench_function(format!("{alg:?}/rust AssertionVerifier::verify"), |b| {
            b.iter(|| black_box(rust.verify(black_box(&token)).unwrap()))
        });
        let verifier = c_verifier(&jwks);
        group.bench_function(
            format!("{alg:?}/c abi educonnect_verifier_verify + free"),
            |b| b.iter(|| c_verify(verifier, &token)),
        );
        // SAFETY: made above, freed once.
        unsafe { educonnect_verifier_free(verifier) };
    }
    group.finish();
}

/// The two calls alternating, each timed: medians and their ratio.
fn paired(_: &mut Criterion) {
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let (jwks, token) = fixture(alg);
        let rust = AssertionVerifier::from_jwks_json(ISSUER, AUDIENCE, jwks.as_bytes()).unwrap();
        let verifier = c_verifier(&jwks);
        let (mut r, mut c) = (Vec::new(), Vec::new());
        for round in 0..21_000 {
            let start = Instant::now();
            black_box(rust.verify(black_box(&token)).unwrap());
            let rust_time = start.elapsed();
            let start = Instant::now();
            c_verify(verifier, &token);
            let c_time = start.elapsed();
            // The first thousand rounds warm up.
            if round >= 1000 {
                r.push(rust_time);
                c.push(c_time);
            }
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (r, c) = (median(&mut r), median(&mut c));
        println!(
            "paired {alg:?}: rust {:.1} µs, c abi {:.1} µs, ratio {:.3}",
            r.as_secs_f64() * 1e6,
            c.as_secs_f64() * 1e6,
            c.as_secs_f64() / r.as_secs_f64()
        );
        // SAFETY: made above, freed once.
        unsafe { educonnect_verifier_free(verifier) };
    }
}

criterion_group!(benches, bench, paired);
criterion_main!(benches);
