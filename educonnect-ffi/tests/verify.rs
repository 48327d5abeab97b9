//! The verifying half of the C ABI, called as C would call it: through the
//! exported functions, with raw pointers.

mod support;

use std::ffi::{CStr, c_char};
use std::ptr;

use educonnect_ffi::*;
use support::{AUDIENCE, ISSUER, Minter, SUB, family};

use educonnect_result::*;

fn text(ptr: *const c_char, len: usize) -> String {
    assert!(!ptr.is_null());
    // SAFETY: the library hands out NUL-terminated strings of `len` bytes.
    let c = unsafe { CStr::from_ptr(ptr) };
    assert_eq!(c.to_bytes().len(), len);
    c.to_str().unwrap().to_owned()
}

fn verifier(
    jwks: &str,
    issuer: &str,
    audience: &str,
) -> Result<*mut educonnect_verifier, educonnect_result> {
    let mut v = ptr::null_mut();
    // SAFETY: valid buffers and output.
    let code = unsafe {
        educonnect_verifier_new(
            jwks.as_ptr().cast(),
            jwks.len(),
            issuer.as_ptr().cast(),
            issuer.len(),
            audience.as_ptr().cast(),
            audience.len(),
            &mut v,
        )
    };
    if code == EDUCONNECT_OK {
        Ok(v)
    } else {
        assert!(v.is_null());
        Err(code)
    }
}

fn verify(
    v: *const educonnect_verifier,
    token: &str,
) -> Result<*mut educonnect_claims, educonnect_result> {
    let mut c = ptr::null_mut();
    // SAFETY: a live verifier, a valid buffer and output.
    let code = unsafe { educonnect_verifier_verify(v, token.as_ptr().cast(), token.len(), &mut c) };
    if code == EDUCONNECT_OK {
        Ok(c)
    } else {
        assert!(c.is_null());
        Err(code)
    }
}

fn decide(
    c: *const educonnect_claims,
    source: &str,
    local: &str,
    legal: bool,
) -> (educonnect_result, u8) {
    let mut allowed = 7u8;
    // SAFETY: live claims, valid buffers and output.
    let code = unsafe {
        let f = if legal {
            educonnect_claims_has_legal_authority_over
        } else {
            educonnect_claims_may_act_for
        };
        f(
            c,
            source.as_ptr().cast(),
            source.len(),
            local.as_ptr().cast(),
            local.len(),
            &mut allowed,
        )
    };
    (code, allowed)
}

#[test]
fn an_assertion_verifies_into_claims_that_decide_as_the_rust_rule() {
    let minter = Minter::new();
    let v = verifier(&minter.jwks(), ISSUER, AUDIENCE).unwrap();
    let c = verify(v, &minter.assertion(0, 120)).unwrap();
    let (mut p, mut n) = (ptr::null(), 0usize);
    // SAFETY (whole block): live handles, valid outputs.
    unsafe {
        assert_eq!(educonnect_claims_subject(c, &mut p, &mut n), EDUCONNECT_OK);
        assert_eq!(text(p, n), SUB);
        assert_eq!(educonnect_claims_provider(c, &mut p, &mut n), EDUCONNECT_OK);
        assert_eq!(text(p, n), "franceconnect");
        let mut profile = educonnect_profile::EDUCONNECT_PROFILE_PUPIL;
        assert_eq!(educonnect_claims_profile(c, &mut profile), EDUCONNECT_OK);
        assert_eq!(profile, educonnect_profile::EDUCONNECT_PROFILE_GUARDIAN);
        let mut policy = educonnect_act_for_policy::EDUCONNECT_POLICY_UNKNOWN;
        assert_eq!(educonnect_claims_policy(c, &mut policy), EDUCONNECT_OK);
        assert_eq!(
            policy,
            educonnect_act_for_policy::EDUCONNECT_POLICY_LEGAL_GUARDIANS
        );
        let (mut iat, mut exp) = (0i64, 0i64);
        assert_eq!(
            educonnect_claims_validity(c, &mut iat, &mut exp),
            EDUCONNECT_OK
        );
        assert_eq!(exp - iat, 120);

        let mut count = 0usize;
        assert_eq!(educonnect_claims_child_count(c, &mut count), EDUCONNECT_OK);
        assert_eq!(count, 2);
        let (mut s, mut sn, mut l, mut ln) = (ptr::null(), 0, ptr::null(), 0);
        assert_eq!(
            educonnect_claims_child_pupil(c, 0, &mut s, &mut sn, &mut l, &mut ln),
            EDUCONNECT_OK
        );
        assert_eq!(
            (text(s, sn).as_str(), text(l, ln).as_str()),
            ("aaf:14", "E1")
        );
        assert_eq!(
            educonnect_claims_child_ine(c, 0, &mut p, &mut n),
            EDUCONNECT_OK
        );
        assert_eq!(text(p, n), "123456789AB");
        assert_eq!(
            educonnect_claims_child_uai(c, 0, &mut p, &mut n),
            EDUCONNECT_OK
        );
        assert_eq!(text(p, n), "0750654D");
        assert_eq!(
            educonnect_claims_child_ine(c, 1, &mut p, &mut n),
            EDUCONNECT_OK
        );
        assert!(p.is_null() && n == 0);
        let mut rel = educonnect_relationship::EDUCONNECT_RELATIONSHIP_UNKNOWN;
        let (mut code, mut legal) = (0u8, 9u8);
        let mut how = educonnect_verification::EDUCONNECT_VERIFICATION_UNKNOWN;
        assert_eq!(
            educonnect_claims_child_link(c, 1, &mut rel, &mut code, &mut legal, &mut how),
            EDUCONNECT_OK
        );
        assert_eq!(
            rel,
            educonnect_relationship::EDUCONNECT_RELATIONSHIP_GRANDPARENT
        );
        assert_eq!((code, legal), (38, 0));
        assert_eq!(
            how,
            educonnect_verification::EDUCONNECT_VERIFICATION_EDUCONNECT
        );
        assert_eq!(
            educonnect_claims_child_link(c, 2, &mut rel, &mut code, &mut legal, &mut how),
            EDUCONNECT_INDEX_OUT_OF_RANGE
        );
        assert_eq!(
            educonnect_claims_child_pupil(c, 2, &mut s, &mut sn, &mut l, &mut ln),
            EDUCONNECT_INDEX_OUT_OF_RANGE
        );
        assert!(s.is_null() && l.is_null());
        assert_eq!(
            educonnect_claims_own_pupil(c, &mut s, &mut sn, &mut l, &mut ln),
            EDUCONNECT_OK
        );
        assert!(s.is_null() && l.is_null());

        assert_eq!(educonnect_claims_json(c, &mut p, &mut n), EDUCONNECT_OK);
        let json: serde_json::Value = serde_json::from_str(&text(p, n)).unwrap();
        assert_eq!(json, serde_json::to_value(family()).unwrap());
    }

    // The rule: the mother acts for and has legal authority over Éloïse;
    // the grandparent link to Noé gives neither under the default policy;
    // nobody else, and not the same local id in another source.
    let rust = family();
    for (source, local, act, legal) in [
        ("aaf:14", "E1", 1, 1),
        ("siecle:0590089B", "S7", 0, 0),
        ("aaf:25", "E1", 0, 0),
        ("aaf:14", "E2", 0, 0),
    ] {
        assert_eq!(
            decide(c, source, local, false),
            (EDUCONNECT_OK, act),
            "{source}/{local}"
        );
        assert_eq!(
            decide(c, source, local, true),
            (EDUCONNECT_OK, legal),
            "{source}/{local}"
        );
        let pupil =
            educonnect_core::directory::PupilId::new(source.parse().unwrap(), local).unwrap();
        assert_eq!(rust.may_act_for(&pupil), act == 1);
        assert_eq!(rust.has_legal_authority_over(&pupil), legal == 1);
    }
    // Invalid ids are a typed error, and refused.
    assert_eq!(
        decide(c, "not a source", "E1", false),
        (EDUCONNECT_INVALID_PUPIL_ID, 0)
    );
    assert_eq!(
        decide(c, "aaf:14", "", false),
        (EDUCONNECT_INVALID_PUPIL_ID, 0)
    );
    assert_eq!(
        decide(c, "aaf:14", "E\n1", true),
        (EDUCONNECT_INVALID_PUPIL_ID, 0)
    );
    let mut allowed = 5u8;
    let bad = [0xffu8, 0xfe];
    // SAFETY: live claims, valid buffers.
    let code = unsafe {
        educonnect_claims_may_act_for(
            c,
            bad.as_ptr().cast(),
            2,
            b"E1".as_ptr().cast(),
            2,
            &mut allowed,
        )
    };
    assert_eq!((code, allowed), (EDUCONNECT_INVALID_UTF8, 0));

    // SAFETY: handles made above, freed once; NULL accepted.
    unsafe {
        educonnect_claims_free(c);
        educonnect_verifier_free(v);
        educonnect_claims_free(ptr::null_mut());
        educonnect_verifier_free(ptr::null_mut());
    }
}

#[test]
fn refused_assertions_give_their_reason() {
    let minter = Minter::new();
    let v = verifier(&minter.jwks(), ISSUER, AUDIENCE).unwrap();
    let stranger = Minter::new();
    let good = minter.assertion(0, 120);
    let mut altered = good.clone().into_bytes();
    let last = altered.len() - 5;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for (token, expected) in [
        (minter.assertion(1000, 120), EDUCONNECT_EXPIRED),
        (minter.assertion(-1000, 120), EDUCONNECT_NOT_YET_VALID),
        (
            minter.assertion_of(&family(), "https://evil.example", AUDIENCE, 0, 120),
            EDUCONNECT_ISSUER_MISMATCH,
        ),
        (
            minter.assertion_of(&family(), ISSUER, "https://autre.example.fr", 0, 120),
            EDUCONNECT_AUDIENCE_MISMATCH,
        ),
        (stranger.assertion(0, 120), EDUCONNECT_BAD_SIGNATURE),
        (altered, EDUCONNECT_BAD_SIGNATURE),
        ("not.a.token".to_owned(), EDUCONNECT_MALFORMED_TOKEN),
        (String::new(), EDUCONNECT_MALFORMED_TOKEN),
        ("a".repeat(100_000), EDUCONNECT_MALFORMED_TOKEN),
    ] {
        assert_eq!(verify(v, &token).err(), Some(expected), "{expected:?}");
    }
    // A token whose `sub` is not the family's.
    let forged = minter
        .key
        .sign(&serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "someone-else",
            "iat": support::now(), "exp": support::now() + 60, "family": family(),
        }))
        .unwrap();
    assert_eq!(verify(v, &forged).err(), Some(EDUCONNECT_SUBJECT_MISMATCH));
    // Bytes that are not UTF-8 are just a malformed token.
    let mut c = ptr::null_mut();
    // SAFETY: valid buffer and output.
    let code = unsafe { educonnect_verifier_verify(v, [0xffu8; 4].as_ptr().cast(), 4, &mut c) };
    assert_eq!(code, EDUCONNECT_MALFORMED_TOKEN);
    // SAFETY: made above.
    unsafe { educonnect_verifier_free(v) };

    assert_eq!(
        verifier("not json", ISSUER, AUDIENCE).err(),
        Some(EDUCONNECT_INVALID_KEYS)
    );
}

#[test]
fn null_arguments_are_a_code_never_a_crash() {
    let minter = Minter::new();
    let jwks = minter.jwks();
    let mut v = ptr::null_mut();
    let mut c = ptr::null_mut();
    let (mut p, mut n) = (ptr::null(), 0usize);
    // SAFETY: NULL pointers are what is tested; every other one is valid.
    unsafe {
        assert_eq!(
            educonnect_verifier_new(
                ptr::null(),
                0,
                ISSUER.as_ptr().cast(),
                ISSUER.len(),
                AUDIENCE.as_ptr().cast(),
                AUDIENCE.len(),
                &mut v
            ),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(
            educonnect_verifier_new(
                jwks.as_ptr().cast(),
                jwks.len(),
                ISSUER.as_ptr().cast(),
                ISSUER.len(),
                AUDIENCE.as_ptr().cast(),
                AUDIENCE.len(),
                ptr::null_mut()
            ),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(
            educonnect_verifier_new(
                jwks.as_ptr().cast(),
                jwks.len(),
                ISSUER.as_ptr().cast(),
                usize::MAX,
                AUDIENCE.as_ptr().cast(),
                AUDIENCE.len(),
                &mut v
            ),
            EDUCONNECT_ARGUMENT_TOO_LARGE
        );
        assert_eq!(
            educonnect_verifier_verify(ptr::null(), b"x".as_ptr().cast(), 1, &mut c),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(
            educonnect_claims_subject(ptr::null(), &mut p, &mut n),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(
            educonnect_claims_json(ptr::null(), &mut p, &mut n),
            EDUCONNECT_NULL_ARGUMENT
        );
        let mut count = 0;
        assert_eq!(
            educonnect_claims_child_count(ptr::null(), &mut count),
            EDUCONNECT_NULL_ARGUMENT
        );
        let mut allowed = 1u8;
        assert_eq!(
            educonnect_claims_may_act_for(
                ptr::null(),
                b"aaf:14".as_ptr().cast(),
                6,
                b"E1".as_ptr().cast(),
                2,
                &mut allowed
            ),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(allowed, 0);
        let mut profile = educonnect_profile::EDUCONNECT_PROFILE_GUARDIAN;
        assert_eq!(
            educonnect_claims_profile(ptr::null(), &mut profile),
            EDUCONNECT_NULL_ARGUMENT
        );
    }
    let v = verifier(&jwks, ISSUER, AUDIENCE).unwrap();
    let c = verify(v, &minter.assertion(0, 60)).unwrap();
    // SAFETY: live handles; NULL outputs are what is tested.
    unsafe {
        assert_eq!(
            educonnect_claims_subject(c, ptr::null_mut(), &mut n),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(
            educonnect_claims_profile(c, ptr::null_mut()),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(
            educonnect_claims_child_link(c, 0, ptr::null_mut(), &mut 0, &mut 0, ptr::null_mut()),
            EDUCONNECT_NULL_ARGUMENT
        );
        assert_eq!(
            educonnect_claims_may_act_for(c, b"aaf:14".as_ptr().cast(), 6, ptr::null(), 0, &mut 0),
            EDUCONNECT_NULL_ARGUMENT
        );
        educonnect_claims_free(c);
        educonnect_verifier_free(v);
    }
}

#[test]
fn a_subject_holding_a_nul_byte_is_refused_as_a_c_string() {
    let minter = Minter::new();
    let v = verifier(&minter.jwks(), ISSUER, AUDIENCE).unwrap();
    let family = educonnect_core::filiation::FamilyClaims::guardian(
        "franceconnect",
        "abc\0xyz",
        Vec::new(),
        [],
    );
    let c = verify(v, &minter.assertion_of(&family, ISSUER, AUDIENCE, 0, 60)).unwrap();
    let (mut p, mut n) = (ptr::null(), 0usize);
    // SAFETY: live handles, valid outputs.
    unsafe {
        assert_eq!(
            educonnect_claims_subject(c, &mut p, &mut n),
            EDUCONNECT_INTERIOR_NUL
        );
        assert!(p.is_null());
        // The JSON escapes it.
        assert_eq!(educonnect_claims_json(c, &mut p, &mut n), EDUCONNECT_OK);
        assert!(text(p, n).contains("abc\\u0000xyz"));
        educonnect_claims_free(c);
        educonnect_verifier_free(v);
    }
}
