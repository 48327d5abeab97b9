//! The family assertion the upstream receives, verified as a PHP, Java or
//! C upstream does it: through the C ABI (`educonnect_verifier_*`), with
//! the JWKS the proxy publishes.
#![allow(missing_docs)]

mod support;

use educonnect_core::directory::PupilId;
use educonnect_ffi::educonnect_result::EDUCONNECT_OK;
use educonnect_ffi::{
    educonnect_claims, educonnect_claims_free, educonnect_claims_has_legal_authority_over,
    educonnect_claims_may_act_for, educonnect_verifier, educonnect_verifier_free,
    educonnect_verifier_new, educonnect_verifier_verify,
};
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::demo;
use support::{TestProxy, Upstream, config_text, parse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_verifies_the_assertion_through_the_c_abi() {
    let upstream = Upstream::start().await;
    let proxy = TestProxy::start(&parse(&config_text(&upstream, ""))).await;
    let parent = Agent::log_in(
        &proxy.base,
        demo::identity(demo::EC_PARENT_TWO_ACADEMIES).unwrap(),
    )
    .await
    .unwrap();
    let response = parent
        .client()
        .get(format!("{}/compte", proxy.base))
        .header("cookie", parent.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = upstream.last("/compte").unwrap();
    let token = seen["x-educonnect-family-assertion"]
        .to_str()
        .unwrap()
        .to_owned();
    let children: Vec<PupilId> = seen["x-educonnect-children"]
        .to_str()
        .unwrap()
        .split(", ")
        .map(|s| PupilId::from_url_segment(s).unwrap())
        .collect();
    let jwks = parent
        .client()
        .get(format!("{}/auth/jwks", proxy.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let audience = upstream.url();
    let mut verifier: *mut educonnect_verifier = std::ptr::null_mut();
    // SAFETY: each text with its length; a valid out pointer.
    let made = unsafe {
        educonnect_verifier_new(
            jwks.as_ptr().cast(),
            jwks.len(),
            proxy.base.as_ptr().cast(),
            proxy.base.len(),
            audience.as_ptr().cast(),
            audience.len(),
            &mut verifier,
        )
    };
    assert_eq!(made, EDUCONNECT_OK);
    let mut claims: *mut educonnect_claims = std::ptr::null_mut();
    // SAFETY: a live verifier; the token with its length; a valid out pointer.
    let verified = unsafe {
        educonnect_verifier_verify(verifier, token.as_ptr().cast(), token.len(), &mut claims)
    };
    assert_eq!(verified, EDUCONNECT_OK);
    for pupil in &children {
        let (source, local) = (pupil.source().as_str(), pupil.local());
        let (mut act_for, mut legal) = (0u8, 0u8);
        // SAFETY: live claims; texts with their lengths; valid out pointers.
        unsafe {
            assert_eq!(
                educonnect_claims_may_act_for(
                    claims,
                    source.as_ptr().cast(),
                    source.len(),
                    local.as_ptr().cast(),
                    local.len(),
                    &mut act_for,
                ),
                EDUCONNECT_OK
            );
            assert_eq!(
                educonnect_claims_has_legal_authority_over(
                    claims,
                    source.as_ptr().cast(),
                    source.len(),
                    local.as_ptr().cast(),
                    local.len(),
                    &mut legal,
                ),
                EDUCONNECT_OK
            );
        }
        assert_eq!(act_for, 1, "{pupil:?}");
        assert_eq!(legal, 1, "{pupil:?}");
    }
    // An altered token is refused.
    let mut altered = token.clone();
    altered.pop();
    let mut refused: *mut educonnect_claims = std::ptr::null_mut();
    // SAFETY: as above.
    let result = unsafe {
        educonnect_verifier_verify(
            verifier,
            altered.as_ptr().cast(),
            altered.len(),
            &mut refused,
        )
    };
    assert_ne!(result, EDUCONNECT_OK);
    assert!(refused.is_null());
    // SAFETY: freed once each.
    unsafe {
        educonnect_claims_free(claims);
        educonnect_verifier_free(verifier);
    }
}
