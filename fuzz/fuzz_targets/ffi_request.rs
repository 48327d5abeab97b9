//! The C ABI's request call, as a C server hands it what a client sent:
//! any method, target, header block and body through
//! `educonnect_gateway_handle`, and the same headers through the session
//! calls. Never a panic (`EDUCONNECT_PANIC`), never a server error but the
//! gateway's 503; a typed code for what cannot be read, and a response
//! that reads back otherwise.
//!
//! Input: four parts separated by a 0xFF byte: method, target, header
//! block, body.
#![no_main]

use std::ptr;
use std::sync::LazyLock;

use educonnect_ffi::*;
use libfuzzer_sys::fuzz_target;

/// The gateway, shared by every run (as a server shares it).
struct Shared(*mut educonnect_gateway);
// SAFETY: the gateway is thread-safe (documented for C callers) and never
// freed.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

static GATEWAY: LazyLock<Shared> = LazyLock::new(|| {
    // A provider on a closed port: a login may be started, no request
    // leaves the machine (the fuzzer cannot forge a sealed login cookie
    // to reach the code exchange).
    let config = br#"{
        "public_url": "https://ent.example.fr",
        "providers": [{
            "type": "franceconnect",
            "issuer": "https://127.0.0.1:9/api/v2",
            "client_id": "fuzz",
            "client_secret": "fuzz-secret"
        }]
    }"#;
    let mut gateway = ptr::null_mut();
    // SAFETY: a valid buffer and output.
    let code =
        unsafe { educonnect_gateway_new(config.as_ptr().cast(), config.len(), &mut gateway) };
    assert_eq!(code, educonnect_result::EDUCONNECT_OK);
    Shared(gateway)
});

fuzz_target!(|data: &[u8]| {
    use educonnect_result::*;
    let mut parts = data.split(|&b| b == 0xff);
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let headers = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let gateway = GATEWAY.0;

    let mut response = ptr::null_mut();
    // SAFETY: a live gateway, buffers valid for their lengths, an output.
    let code = unsafe {
        educonnect_gateway_handle(
            gateway,
            method.as_ptr().cast(),
            method.len(),
            target.as_ptr().cast(),
            target.len(),
            headers.as_ptr().cast(),
            headers.len(),
            body.as_ptr().cast(),
            body.len(),
            &mut response,
        )
    };
    match code {
        EDUCONNECT_OK => {
            assert!(!response.is_null());
            let (mut status, mut count) = (0u16, 0usize);
            let (mut p, mut n) = (ptr::null(), 0usize);
            // SAFETY: a live response, valid outputs; freed once.
            unsafe {
                assert_eq!(
                    educonnect_response_status(response, &mut status),
                    EDUCONNECT_OK
                );
                assert!(status < 500 || status == 503, "{status}");
                assert_eq!(
                    educonnect_response_header_count(response, &mut count),
                    EDUCONNECT_OK
                );
                for i in 0..count {
                    let (mut v, mut vn) = (ptr::null(), 0usize);
                    assert_eq!(
                        educonnect_response_header(response, i, &mut p, &mut n, &mut v, &mut vn),
                        EDUCONNECT_OK
                    );
                }
                assert_eq!(
                    educonnect_response_header(response, count, &mut p, &mut n, &mut p, &mut n),
                    EDUCONNECT_INDEX_OUT_OF_RANGE
                );
                assert_eq!(
                    educonnect_response_headers(response, &mut p, &mut n),
                    EDUCONNECT_OK
                );
                assert_eq!(
                    educonnect_response_body(response, &mut p, &mut n),
                    EDUCONNECT_OK
                );
                educonnect_response_free(response);
            }
        }
        EDUCONNECT_NOT_A_GATEWAY_ROUTE
        | EDUCONNECT_INVALID_METHOD
        | EDUCONNECT_INVALID_TARGET
        | EDUCONNECT_INVALID_HEADERS => assert!(response.is_null()),
        other => panic!("unexpected code {other:?}"),
    }

    // The session calls: nobody is logged in (a session id cannot be
    // guessed), whatever the headers say.
    let mut claims = ptr::null_mut();
    // SAFETY: as above.
    let code = unsafe {
        educonnect_gateway_request_claims(
            gateway,
            method.as_ptr().cast(),
            method.len(),
            headers.as_ptr().cast(),
            headers.len(),
            &mut claims,
        )
    };
    assert!(
        matches!(
            code,
            EDUCONNECT_OK | EDUCONNECT_INVALID_METHOD | EDUCONNECT_INVALID_HEADERS
        ),
        "{code:?}"
    );
    assert!(claims.is_null());
    // SAFETY: as above.
    let code = unsafe {
        educonnect_gateway_session_claims(
            gateway,
            headers.as_ptr().cast(),
            headers.len(),
            &mut claims,
        )
    };
    assert!(
        matches!(code, EDUCONNECT_OK | EDUCONNECT_INVALID_HEADERS),
        "{code:?}"
    );
    assert!(claims.is_null());
});
