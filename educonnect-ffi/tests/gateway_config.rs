//! The gateway's configuration through the C ABI: what is refused, with
//! which code, and a detail that names the setting or file but never a
//! secret.

mod support;

use std::ffi::CStr;
use std::ptr;

use educonnect_ffi::*;
use educonnect_result::*;
use serde_json::json;

/// Builds a gateway from `config`; the code and the detail.
fn build(config: &str) -> (educonnect_result, String) {
    let mut gateway = ptr::null_mut();
    // SAFETY: a valid buffer and output.
    let code =
        unsafe { educonnect_gateway_new(config.as_ptr().cast(), config.len(), &mut gateway) };
    let detail = detail();
    if code == EDUCONNECT_OK {
        assert!(!gateway.is_null());
        // SAFETY: made above.
        unsafe { educonnect_gateway_free(gateway) };
    } else {
        assert!(gateway.is_null());
    }
    (code, detail)
}

fn detail() -> String {
    let (mut p, mut n) = (ptr::null(), 0usize);
    // SAFETY: valid outputs; the detail is a NUL-terminated string.
    unsafe {
        assert_eq!(educonnect_last_error_detail(&mut p, &mut n), EDUCONNECT_OK);
        CStr::from_ptr(p).to_str().unwrap().to_owned()
    }
}

fn base() -> serde_json::Value {
    json!({
        "public_url": "https://ent.example.fr",
        "providers": [{
            "type": "franceconnect",
            "issuer": "https://fcp-low.sbx.dev-franceconnect.fr/api/v2",
            "client_id": "id",
            "client_secret": "very-secret-value",
        }],
    })
}

fn with(mut config: serde_json::Value, key: &str, value: serde_json::Value) -> String {
    config[key] = value;
    config.to_string()
}

#[test]
fn a_good_configuration_builds_and_loads_the_directory() {
    let (code, detail) = build(&with(base(), "directory", support::demo_directory_config()));
    assert_eq!((code, detail.as_str()), (EDUCONNECT_OK, ""));
    assert_eq!(
        build(&with(base(), "store", json!("memory"))).0,
        EDUCONNECT_OK
    );
}

#[test]
fn unknown_stores_unreachable_stores_and_snapshots_are_typed_errors() {
    for (member, url) in [
        ("store", "mysql://db/ent"),
        ("store", "memcached://cache"),
        ("links_store", "redis://cache:6379/0"),
    ] {
        let (code, detail) = build(&with(base(), member, json!(url)));
        assert_eq!(code, EDUCONNECT_STORE_NOT_SUPPORTED, "{member} {url}");
        assert!(detail.starts_with(member), "{detail}");
    }
    // Nothing listens on a port just released: the store is unreachable,
    // said without the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (member, url) in [
        (
            "store",
            format!("redis://:secret-password@127.0.0.1:{port}/0"),
        ),
        (
            "store",
            format!("postgres://u:secret-password@127.0.0.1:{port}/ent"),
        ),
        (
            "links_store",
            format!("postgres://u:secret-password@127.0.0.1:{port}/ent"),
        ),
    ] {
        let (code, detail) = build(&with(base(), member, json!(url)));
        assert_eq!(code, EDUCONNECT_STORE_UNREACHABLE, "{member}: {detail}");
        assert!(!detail.contains("secret-password"), "{detail}");
    }
    let (code, detail) = build(&with(
        base(),
        "directory",
        json!({"snapshots": ["/nonexistent/aaf-14.snap"]}),
    ));
    assert_eq!(code, EDUCONNECT_SNAPSHOT_INVALID);
    assert!(detail.contains("aaf-14.snap"), "{detail}");
}

#[test]
fn directory_snapshots_are_mapped_and_a_cut_one_is_refused() {
    let dir = std::env::temp_dir().join(format!("educonnect-ffi-snap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let demo = educonnect_sandbox::DemoDirectory::import().unwrap();
    let mut paths = Vec::new();
    for (i, snapshot) in demo.snapshots.iter().enumerate() {
        let path = dir.join(format!("source-{i}.snap"));
        educonnect_mmap::write_snapshot(snapshot, &path).unwrap();
        paths.push(path.display().to_string());
    }
    let (code, detail) = build(&with(base(), "directory", json!({ "snapshots": paths })));
    assert_eq!((code, detail.as_str()), (EDUCONNECT_OK, ""));

    // A file cut short (a copy that did not finish) is refused whole.
    let bytes = std::fs::read(&paths[0]).unwrap();
    std::fs::write(&paths[0], &bytes[..bytes.len() / 2]).unwrap();
    let (code, detail) = build(&with(base(), "directory", json!({ "snapshots": paths })));
    assert_eq!(code, EDUCONNECT_SNAPSHOT_INVALID, "{detail}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// With the machine's Redis and PostgreSQL (`.ci/run` sets both), a
/// gateway on them builds (it connected, and migrated the schema).
#[test]
fn a_gateway_on_redis_with_links_on_postgres_builds() {
    let (Ok(redis), Ok(postgres)) = (
        std::env::var("EDUCONNECT_TEST_REDIS_URL"),
        std::env::var("EDUCONNECT_TEST_DATABASE_URL"),
    ) else {
        eprintln!("skipped: EDUCONNECT_TEST_REDIS_URL or EDUCONNECT_TEST_DATABASE_URL is not set");
        return;
    };
    let mut config = base();
    config["store"] = json!(redis);
    let (code, detail) = build(&with(config, "links_store", json!(postgres)));
    assert_eq!((code, detail.as_str()), (EDUCONNECT_OK, ""));
    let config = with(base(), "store", json!(postgres));
    let (code, detail) = build(&config);
    assert_eq!((code, detail.as_str()), (EDUCONNECT_OK, ""));
}

#[test]
fn broken_configurations_are_typed_errors_whose_detail_shows_no_secret() {
    let mut wrong_type = base();
    wrong_type["providers"][0]["client_id"] = json!({"oops": "very-secret-value"});
    let mut unknown = base();
    unknown["providers"][0]["client_secrte"] = json!("very-secret-value");
    let cases = [
        ("{".to_owned(), EDUCONNECT_CONFIG_INVALID, "cut short"),
        (
            "very-secret-value".to_owned(),
            EDUCONNECT_CONFIG_INVALID,
            "not JSON",
        ),
        (wrong_type.to_string(), EDUCONNECT_CONFIG_INVALID, "line 1"),
        (unknown.to_string(), EDUCONNECT_CONFIG_INVALID, "unknown"),
        (
            with(base(), "providers", json!([])),
            EDUCONNECT_CONFIG_INVALID,
            "providers",
        ),
        (
            with(base(), "public_url", json!("not a url")),
            EDUCONNECT_GATEWAY_CONFIG,
            "gateway",
        ),
        (
            with(
                base(),
                "directory",
                json!({"files": ["/nonexistent/ENT_14_x.xml"]}),
            ),
            EDUCONNECT_DIRECTORY_NOT_LOADED,
            "ENT_14_x.xml",
        ),
        (
            with(base(), "directory", json!({"files": []})),
            EDUCONNECT_CONFIG_INVALID,
            "files",
        ),
        (
            with(
                base(),
                "directory",
                json!({"files": ["a.xml"], "uai": "0350001B"}),
            ),
            EDUCONNECT_CONFIG_INVALID,
            "uai",
        ),
        (
            with(base(), "login_state_key_file", json!("/nonexistent/key")),
            EDUCONNECT_CONFIG_UNREADABLE,
            "login_state_key_file",
        ),
    ];
    for (config, expected, said) in cases {
        let (code, detail) = build(&config);
        assert_eq!(code, expected, "{detail}");
        assert!(detail.contains(said), "{detail} should say {said}");
        assert!(!detail.contains("very-secret-value"), "{detail}");
    }
    // A short login state key.
    let dir = support::scratch("config-key");
    std::fs::write(dir.join("key"), b"too short").unwrap();
    let (code, _) = build(&with(
        base(),
        "login_state_key_file",
        json!(dir.join("key")),
    ));
    assert_eq!(code, EDUCONNECT_GATEWAY_CONFIG);
    // A file that does not exist, then one that does, relative to itself.
    let path = dir.join("missing.json").display().to_string();
    let mut gateway = ptr::null_mut();
    // SAFETY: a valid buffer and output.
    let code =
        unsafe { educonnect_gateway_new_from_file(path.as_ptr().cast(), path.len(), &mut gateway) };
    assert_eq!(code, EDUCONNECT_CONFIG_UNREADABLE);
    assert!(detail().contains("missing.json"));
    std::fs::write(dir.join("state.key"), [7u8; 32]).unwrap();
    std::fs::write(
        dir.join("gateway.json"),
        with(base(), "login_state_key_file", json!("state.key")),
    )
    .unwrap();
    let path = dir.join("gateway.json").display().to_string();
    // SAFETY: a valid buffer and output.
    let code =
        unsafe { educonnect_gateway_new_from_file(path.as_ptr().cast(), path.len(), &mut gateway) };
    assert_eq!(code, EDUCONNECT_OK, "{}", detail());
    // SAFETY: made above.
    unsafe { educonnect_gateway_free(gateway) };
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn requests_the_gateway_cannot_read_are_typed_errors() {
    let config = base().to_string();
    let mut gateway = ptr::null_mut();
    // SAFETY: a valid buffer and output.
    assert_eq!(
        unsafe { educonnect_gateway_new(config.as_ptr().cast(), config.len(), &mut gateway) },
        EDUCONNECT_OK
    );
    let call = |method: &[u8], target: &[u8], headers: &[u8], body: &[u8]| {
        let mut response = ptr::null_mut();
        // SAFETY: a live gateway, valid buffers and output.
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
        let status = if code == EDUCONNECT_OK {
            let mut status = 0u16;
            // SAFETY: a live response, freed once.
            unsafe {
                assert_eq!(
                    educonnect_response_status(response, &mut status),
                    EDUCONNECT_OK
                );
                educonnect_response_free(response);
            }
            status
        } else {
            assert!(response.is_null());
            0
        };
        (code, status)
    };
    assert_eq!(
        call(b"GET", b"/auth/logout", b"Host: ent.example.fr\r\n", b""),
        (EDUCONNECT_OK, 200)
    );
    assert_eq!(
        call(b"DELETE", b"/auth/logout", b"", b""),
        (EDUCONNECT_OK, 405)
    );
    assert_eq!(
        call(b"GET", b"/auth/nothing", b"", b""),
        (EDUCONNECT_OK, 404)
    );
    assert_eq!(
        call(b"POST", b"/auth/verify", b"", &vec![b'a'; 100_000]),
        (EDUCONNECT_OK, 413)
    );
    assert_eq!(
        call(b"GET", b"/ailleurs", b"", b"").0,
        EDUCONNECT_NOT_A_GATEWAY_ROUTE
    );
    assert_eq!(
        call(b"G T", b"/auth/logout", b"", b"").0,
        EDUCONNECT_INVALID_METHOD
    );
    assert_eq!(
        call(b"", b"/auth/logout", b"", b"").0,
        EDUCONNECT_INVALID_METHOD
    );
    assert_eq!(
        call(b"GET", b"https://evil.example/auth/logout", b"", b"").0,
        EDUCONNECT_INVALID_TARGET
    );
    assert_eq!(
        call(b"GET", b"/auth/logout", b"Bad Header\r\n", b"").0,
        EDUCONNECT_INVALID_HEADERS
    );
    assert_eq!(
        call(b"GET", b"/auth/logout", b"X: \x01\r\n", b"").0,
        EDUCONNECT_INVALID_HEADERS
    );

    // No session: no claims, whatever the cookie says.
    let mut claims = ptr::null_mut();
    let cookie = b"__Host-educonnect_session=forged";
    // SAFETY: a live gateway, valid buffers and output.
    unsafe {
        assert_eq!(
            educonnect_gateway_session_claims(
                gateway,
                cookie.as_ptr().cast(),
                cookie.len(),
                &mut claims
            ),
            EDUCONNECT_OK
        );
        assert!(claims.is_null());
        assert_eq!(
            educonnect_gateway_session_claims(gateway, b"a\x00b".as_ptr().cast(), 3, &mut claims),
            EDUCONNECT_INVALID_HEADERS
        );
        assert_eq!(
            educonnect_gateway_request_claims(
                gateway,
                b"GET".as_ptr().cast(),
                3,
                ptr::null(),
                0,
                &mut claims
            ),
            EDUCONNECT_OK
        );
        assert!(claims.is_null());
        assert_eq!(
            educonnect_gateway_session_claims(
                ptr::null(),
                cookie.as_ptr().cast(),
                cookie.len(),
                &mut claims
            ),
            EDUCONNECT_NULL_ARGUMENT
        );
        educonnect_gateway_free(gateway);
        educonnect_gateway_free(ptr::null_mut());
        educonnect_response_free(ptr::null_mut());
    }
}

/// A gateway handle passed between threads, as C does.
#[derive(Clone, Copy)]
struct Shared(*mut educonnect_gateway);
// SAFETY: the gateway is documented thread-safe; the test frees it after
// joining every thread.
unsafe impl Send for Shared {}

fn login(gateway: Shared) -> (educonnect_result, u16) {
    let (method, target) = (b"GET", b"/auth/login?provider=franceconnect");
    let mut response = ptr::null_mut();
    // SAFETY: a live gateway, valid buffers and output.
    let code = unsafe {
        educonnect_gateway_handle(
            gateway.0,
            method.as_ptr().cast(),
            method.len(),
            target.as_ptr().cast(),
            target.len(),
            ptr::null(),
            0,
            ptr::null(),
            0,
            &mut response,
        )
    };
    let mut status = 0;
    if code == EDUCONNECT_OK {
        // SAFETY: a live response, freed once.
        unsafe {
            educonnect_response_status(response, &mut status);
            educonnect_response_free(response);
        }
    }
    (code, status)
}

#[test]
fn one_gateway_serves_several_threads_at_once() {
    let config = base().to_string();
    let mut gateway = ptr::null_mut();
    // SAFETY: a valid buffer and output.
    assert_eq!(
        unsafe { educonnect_gateway_new(config.as_ptr().cast(), config.len(), &mut gateway) },
        EDUCONNECT_OK
    );
    let shared = Shared(gateway);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| login(shared))
                    .filter(|r| *r == (EDUCONNECT_OK, 303))
                    .count()
            })
        })
        .collect();
    let redirected: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(redirected, 400);

    // Called from within a Rust async runtime (which the documentation
    // forbids): a code, not a crash.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let inside = runtime.block_on(async { login(shared) });
    std::panic::set_hook(previous);
    assert_eq!(inside, (EDUCONNECT_PANIC, 0));
    // The gateway still works afterwards.
    assert_eq!(login(shared), (EDUCONNECT_OK, 303));
    // SAFETY: every thread joined; freed once.
    unsafe { educonnect_gateway_free(gateway) };
}
