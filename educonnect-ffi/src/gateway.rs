//! The login gateway, embedded: requests for its routes in, responses out,
//! and the session's claims for the service's own pages.

use std::cell::RefCell;
use std::ffi::c_char;
use std::path::Path;

use bytes::Bytes;
use educonnect_core::flow::Gateway;
use educonnect_core::flow::access::{
    MAX_GATEWAY_BODY, RequestAccess, WhenAnonymous, payload_too_large,
};
use http::header::{COOKIE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, Uri};

use crate::claims::educonnect_claims;
use crate::config::{Config, ConfigError};
use crate::error::educonnect_result;
use crate::ffi::{CText, bytes_arg, free_handle, handle, into_handle, out, str_arg};
use crate::panic::{boundary, catch};

/// The largest header block accepted (a browser sends a few KiB).
const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// The longest request target accepted.
const MAX_TARGET: usize = 8 * 1024;

/// The login gateway (FranceConnect, EduConnect, the birth-date challenge,
/// sessions) with its own runtime: every call blocks until it is done.
///
/// Made by [`educonnect_gateway_new`] or [`educonnect_gateway_new_from_file`],
/// freed by [`educonnect_gateway_free`]. Thread-safe: one gateway serves
/// calls from several threads at once (free it only once no call is in
/// progress). Never call it from within a Rust async runtime.
#[allow(non_camel_case_types, reason = "C naming")]
pub struct educonnect_gateway {
    // Dropped before the runtime it runs on.
    gateway: Gateway,
    runtime: tokio::runtime::Runtime,
}

/// A response of the gateway: status, headers, body.
///
/// Made by [`educonnect_gateway_handle`], freed by
/// [`educonnect_response_free`]. Immutable: may be read by several threads.
/// Every string and the body are borrowed from the response: valid until
/// it is freed, NUL-terminated, their length beside them.
#[allow(non_camel_case_types, reason = "C naming")]
pub struct educonnect_response {
    status: u16,
    headers: Vec<(CText, CText)>,
    block: CText,
    body: CText,
}

impl educonnect_response {
    fn new(response: Response<Bytes>) -> Self {
        let (parts, body) = response.into_parts();
        let mut block = Vec::new();
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                block.extend_from_slice(name.as_str().as_bytes());
                block.extend_from_slice(b": ");
                block.extend_from_slice(value.as_bytes());
                block.extend_from_slice(b"\r\n");
                (
                    CText::new(name.as_str().as_bytes()),
                    CText::new(value.as_bytes()),
                )
            })
            .collect();
        Self {
            status: parts.status.as_u16(),
            headers,
            block: CText::new(&block),
            body: CText::new(&body),
        }
    }
}

thread_local! {
    /// The detail of the last constructor that failed on this thread.
    static DETAIL: RefCell<CText> = RefCell::new(CText::new(b""));
}

fn set_detail(detail: &str) {
    DETAIL.with(|d| *d.borrow_mut() = CText::new(detail.as_bytes()));
}

/// Why the last [`educonnect_gateway_new`] or
/// [`educonnect_gateway_new_from_file`] of this thread failed, in English,
/// for the operator: it names a setting or a file, never a secret or a
/// person. Empty after a success. Borrowed: valid until the next
/// constructor call on this thread.
///
/// # Safety
///
/// Both outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_last_error_detail(
    detail_out: *mut *const c_char,
    detail_len_out: *mut usize,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (ptr, len) = unsafe { (out(detail_out)?, out(detail_len_out)?) };
        // The pointer stays valid after the borrow ends: the text is only
        // replaced by the next constructor call on this thread.
        DETAIL.with(|d| d.borrow().hand_out(true, ptr, len))
    })
}

fn build(config: &[u8], base: &Path) -> Result<educonnect_gateway, ConfigError> {
    let config = Config::parse(config)?;
    let stores = config.stores()?;
    let builder = config.builder(base)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("educonnect-gateway")
        .enable_all()
        .build()
        .map_err(|e| ConfigError {
            code: educonnect_result::EDUCONNECT_RUNTIME_FAILED,
            detail: format!("runtime: {e}"),
        })?;
    // The stores' connections and tasks live on the gateway's runtime.
    let builder = runtime.block_on(stores.connect(builder))?;
    // The HTTP client may register with the runtime it is made in.
    let gateway = {
        let _entered = runtime.enter();
        builder.build().map_err(|e| ConfigError {
            code: educonnect_result::EDUCONNECT_GATEWAY_CONFIG,
            detail: format!("gateway: {e}"),
        })?
    };
    Ok(educonnect_gateway { gateway, runtime })
}

fn finish(
    built: Result<educonnect_gateway, ConfigError>,
    out: &mut *mut educonnect_gateway,
) -> Result<(), educonnect_result> {
    match built {
        Ok(gateway) => {
            set_detail("");
            *out = into_handle(gateway);
            Ok(())
        }
        Err(e) => {
            set_detail(&e.detail);
            Err(e.code)
        }
    }
}

/// Makes a gateway from a JSON configuration (see the crate's README:
/// providers, directory export files, store, keys). Loads the directory
/// before returning. Relative paths are read from the working directory.
///
/// On success `*gateway_out` is a new gateway that the caller frees with
/// [`educonnect_gateway_free`]; on failure it is NULL, and
/// [`educonnect_last_error_detail`] says which setting or file.
/// A `"store"` or `"links_store"` of an unknown kind is
/// `EDUCONNECT_STORE_NOT_SUPPORTED`, one that cannot be reached at start
/// `EDUCONNECT_STORE_UNREACHABLE`; a directory snapshot file that cannot
/// be opened is `EDUCONNECT_SNAPSHOT_INVALID`.
///
/// # Safety
///
/// `config` is valid for reads of `config_len` bytes; `gateway_out` is
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_gateway_new(
    config: *const c_char,
    config_len: usize,
    gateway_out: *mut *mut educonnect_gateway,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let out = unsafe { out(gateway_out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let config = unsafe { bytes_arg(config, config_len) }?;
        finish(build(config, Path::new("")), out)
    })
}

/// As [`educonnect_gateway_new`], from a configuration file (UTF-8 path);
/// relative paths in it are read from the file's directory.
///
/// # Safety
///
/// `path` is valid for reads of `path_len` bytes; `gateway_out` is valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_gateway_new_from_file(
    path: *const c_char,
    path_len: usize,
    gateway_out: *mut *mut educonnect_gateway,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let out = unsafe { out(gateway_out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let path = Path::new(unsafe { str_arg(path, path_len) }?);
        let built = std::fs::read(path)
            .map_err(|e| ConfigError {
                code: educonnect_result::EDUCONNECT_CONFIG_UNREADABLE,
                detail: format!("configuration: {}: {e}", path.display()),
            })
            .and_then(|config| build(&config, path.parent().unwrap_or(Path::new(""))));
        finish(built, out)
    })
}

/// Frees a gateway and stops its runtime. NULL is accepted and ignored.
///
/// # Safety
///
/// `gateway` is NULL or a gateway not freed yet, on which no call is in
/// progress or will be made.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_gateway_free(gateway: *mut educonnect_gateway) {
    // SAFETY: the caller's promise, relayed.
    catch(|| unsafe { free_handle(gateway) });
}

/// Reads a header block: `Name: value` lines separated by `\n` or
/// `\r\n` (as received, without the request line), empty lines ignored.
fn parse_headers(block: &[u8]) -> Result<HeaderMap, educonnect_result> {
    let invalid = educonnect_result::EDUCONNECT_INVALID_HEADERS;
    if block.len() > MAX_HEADER_BLOCK {
        return Err(invalid);
    }
    let mut headers = HeaderMap::new();
    for line in block.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line.iter().position(|b| *b == b':').ok_or(invalid)?;
        let name = HeaderName::from_bytes(&line[..colon]).map_err(|_| invalid)?;
        let value = line[colon + 1..].trim_ascii();
        let value = HeaderValue::from_bytes(value).map_err(|_| invalid)?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Reads a request target: a path and query (`/auth/login?x=y`).
fn parse_target(target: &[u8]) -> Result<Uri, educonnect_result> {
    let invalid = educonnect_result::EDUCONNECT_INVALID_TARGET;
    if target.len() > MAX_TARGET || target.first() != Some(&b'/') {
        return Err(invalid);
    }
    let uri = Uri::try_from(target).map_err(|_| invalid)?;
    if uri.scheme().is_some() || uri.authority().is_some() {
        return Err(invalid);
    }
    Ok(uri)
}

/// Reads an optional byte argument: NULL is allowed with a length of 0.
///
/// # Safety
///
/// As [`bytes_arg`].
unsafe fn optional_bytes<'a>(
    ptr: *const c_char,
    len: usize,
) -> Result<&'a [u8], educonnect_result> {
    if ptr.is_null() && len == 0 {
        return Ok(&[]);
    }
    // SAFETY: the caller's promise, relayed.
    unsafe { bytes_arg(ptr, len) }
}

/// Answers a request for one of the gateway's routes (under `/auth` by
/// default: login, callback, logout, the birth-date challenge, the JWKS).
///
/// `method` is the HTTP method (`GET`), `target` the path and query as
/// received (`/auth/callback?code=...&state=...`), `headers` the request's
/// header block (`Name: value` lines separated by `\r\n` or `\n`; NULL with
/// length 0 for none), `body` its body (NULL with length 0 for none; larger
/// than 64 KiB: a 413 response, the gateway is not called).
///
/// A path that is not the gateway's is `EDUCONNECT_NOT_A_GATEWAY_ROUTE`:
/// the service answers it. On success `*response_out` is a new response
/// that the caller frees with [`educonnect_response_free`]; on failure it
/// is NULL. Blocks until the gateway has answered (it may call the
/// provider: 10 seconds at most by default).
///
/// # Safety
///
/// `gateway` is a live gateway; each buffer is valid for reads of its
/// length; `response_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_gateway_handle(
    gateway: *const educonnect_gateway,
    method: *const c_char,
    method_len: usize,
    target: *const c_char,
    target_len: usize,
    headers: *const c_char,
    headers_len: usize,
    body: *const c_char,
    body_len: usize,
    response_out: *mut *mut educonnect_response,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let out = unsafe { out(response_out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (gateway, method, target, headers, body) = unsafe {
            (
                handle(gateway)?,
                bytes_arg(method, method_len)?,
                bytes_arg(target, target_len)?,
                optional_bytes(headers, headers_len)?,
                optional_bytes(body, body_len)?,
            )
        };
        let method =
            Method::from_bytes(method).map_err(|_| educonnect_result::EDUCONNECT_INVALID_METHOD)?;
        let uri = parse_target(target)?;
        if !gateway.gateway.handles(uri.path()) {
            return Err(educonnect_result::EDUCONNECT_NOT_A_GATEWAY_ROUTE);
        }
        let headers = parse_headers(headers)?;
        let response = if body.len() > MAX_GATEWAY_BODY {
            payload_too_large()
        } else {
            let mut request = Request::new(Bytes::copy_from_slice(body));
            *request.method_mut() = method;
            *request.uri_mut() = uri;
            *request.headers_mut() = headers;
            gateway.runtime.block_on(gateway.gateway.handle(request))
        };
        *out = into_handle(educonnect_response::new(response));
        Ok(())
    })
}

/// The claims of the session a request's `Cookie` header names.
///
/// `cookie` is the header's value (`name=value; name2=value2`). On success
/// `*claims_out` is new claims that the caller frees with
/// `educonnect_claims_free`, or NULL when there is no valid session or the
/// session holds no family claims (a generic provider, no directory).
/// Blocks while the store is read.
///
/// This does not check where the request comes from: for a request other
/// than `GET`, `HEAD`, `OPTIONS` or `TRACE`, or a connection upgrade, use
/// [`educonnect_gateway_request_claims`], which refuses the session to
/// another origin of the same site.
///
/// # Safety
///
/// `gateway` is a live gateway; `cookie` is valid for reads of
/// `cookie_len` bytes; `claims_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_gateway_session_claims(
    gateway: *const educonnect_gateway,
    cookie: *const c_char,
    cookie_len: usize,
    claims_out: *mut *mut educonnect_claims,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let out = unsafe { out(claims_out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (gateway, cookie) = unsafe { (handle(gateway)?, bytes_arg(cookie, cookie_len)?) };
        if cookie.len() > MAX_HEADER_BLOCK {
            return Err(educonnect_result::EDUCONNECT_INVALID_HEADERS);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_bytes(cookie.trim_ascii())
                .map_err(|_| educonnect_result::EDUCONNECT_INVALID_HEADERS)?,
        );
        let session = gateway
            .runtime
            .block_on(gateway.gateway.session(&headers))
            .map_err(|_| educonnect_result::EDUCONNECT_STORE_UNAVAILABLE)?;
        if let Some(family) = session.as_ref().and_then(|s| s.family()) {
            *out = into_handle(educonnect_claims::new(family.clone(), None));
        }
        Ok(())
    })
}

/// The claims of a request's session, as the Rust adapters read them: the
/// session named by its `Cookie` header, except that a state-changing
/// request (not `GET`, `HEAD`, `OPTIONS`, `TRACE`) or a connection upgrade
/// from another origin (`Sec-Fetch-Site`, else `Origin`) gets none.
///
/// `headers` is the request's header block, as for
/// [`educonnect_gateway_handle`]. `*claims_out` is new claims, or NULL as
/// for [`educonnect_gateway_session_claims`].
///
/// # Safety
///
/// `gateway` is a live gateway; each buffer is valid for reads of its
/// length; `claims_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_gateway_request_claims(
    gateway: *const educonnect_gateway,
    method: *const c_char,
    method_len: usize,
    headers: *const c_char,
    headers_len: usize,
    claims_out: *mut *mut educonnect_claims,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let out = unsafe { out(claims_out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (gateway, method, headers) = unsafe {
            (
                handle(gateway)?,
                bytes_arg(method, method_len)?,
                optional_bytes(headers, headers_len)?,
            )
        };
        let method =
            Method::from_bytes(method).map_err(|_| educonnect_result::EDUCONNECT_INVALID_METHOD)?;
        let headers = parse_headers(headers)?;
        let access = gateway.runtime.block_on(RequestAccess::resolve(
            &gateway.gateway,
            &method,
            &headers,
            WhenAnonymous::Unauthorized,
        ));
        let session = access
            .optional_user("/")
            .map_err(|_| educonnect_result::EDUCONNECT_STORE_UNAVAILABLE)?;
        if let Some(family) = session.and_then(|s| s.family()) {
            *out = into_handle(educonnect_claims::new(family.clone(), None));
        }
        Ok(())
    })
}

/// Frees a response. NULL is accepted and ignored.
///
/// # Safety
///
/// `response` is NULL or a response not freed yet, that no other thread
/// is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_response_free(response: *mut educonnect_response) {
    // SAFETY: the caller's promise, relayed.
    catch(|| unsafe { free_handle(response) });
}

/// The response's status code (200, 302, 403...).
///
/// # Safety
///
/// `response` is a live response; `status_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_response_status(
    response: *const educonnect_response,
    status_out: *mut u16,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (response, status) = unsafe { (handle(response)?, out(status_out)?) };
        *status = response.status;
        Ok(())
    })
}

/// How many headers the response has (a name may come several times:
/// `set-cookie`).
///
/// # Safety
///
/// `response` is a live response; `count_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_response_header_count(
    response: *const educonnect_response,
    count_out: *mut usize,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (response, count) = unsafe { (handle(response)?, out(count_out)?) };
        *count = response.headers.len();
        Ok(())
    })
}

/// Header `index`: its name (lower case) and value, borrowed from the
/// response.
///
/// # Safety
///
/// `response` is a live response; the four outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_response_header(
    response: *const educonnect_response,
    index: usize,
    name_out: *mut *const c_char,
    name_len_out: *mut usize,
    value_out: *mut *const c_char,
    value_len_out: *mut usize,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (response, name, name_len, value, value_len) = unsafe {
            (
                handle(response)?,
                out(name_out)?,
                out(name_len_out)?,
                out(value_out)?,
                out(value_len_out)?,
            )
        };
        (*name, *name_len, *value, *value_len) = (std::ptr::null(), 0, std::ptr::null(), 0);
        let (n, v) = response
            .headers
            .get(index)
            .ok_or(educonnect_result::EDUCONNECT_INDEX_OUT_OF_RANGE)?;
        let (mut np, mut nl) = (std::ptr::null(), 0);
        n.hand_out(true, &mut np, &mut nl)?;
        v.hand_out(true, value, value_len)?;
        (*name, *name_len) = (np, nl);
        Ok(())
    })
}

/// All the response's headers as one block, `name: value\r\n` per header
/// (ready to write after the status line), borrowed from the response.
///
/// # Safety
///
/// `response` is a live response; both outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_response_headers(
    response: *const educonnect_response,
    headers_out: *mut *const c_char,
    headers_len_out: *mut usize,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (response, ptr, len) =
            unsafe { (handle(response)?, out(headers_out)?, out(headers_len_out)?) };
        response.block.hand_out(true, ptr, len)
    })
}

/// The response's body, borrowed from the response (followed by a NUL
/// that is not counted; the body itself may hold any byte).
///
/// # Safety
///
/// `response` is a live response; both outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_response_body(
    response: *const educonnect_response,
    body_out: *mut *const c_char,
    body_len_out: *mut usize,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (response, ptr, len) =
            unsafe { (handle(response)?, out(body_out)?, out(body_len_out)?) };
        response.body.hand_out(false, ptr, len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_blocks_and_targets_are_checked() {
        let h = parse_headers(b"Host: a\r\nCookie:  x=1 \r\n\r\nX-Two: 1\nX-Two: 2\n").unwrap();
        assert_eq!(h["cookie"], "x=1");
        assert_eq!(h.get_all("x-two").iter().count(), 2);
        for bad in [
            &b"no colon"[..],
            b"Bad Name: x",
            b": empty name",
            b"X: a\x00b",
            b"X: a\rb",
        ] {
            assert_eq!(
                parse_headers(bad).err(),
                Some(educonnect_result::EDUCONNECT_INVALID_HEADERS),
                "{bad:?}"
            );
        }
        assert!(parse_headers(&vec![b'a'; MAX_HEADER_BLOCK + 1]).is_err());
        assert_eq!(
            parse_target(b"/auth/login?x=y").unwrap().path(),
            "/auth/login"
        );
        for bad in [
            &b""[..],
            b"auth/login",
            b"http://evil.example/auth/login",
            b"/a b",
            b"/\xff",
        ] {
            assert_eq!(
                parse_target(bad).err(),
                Some(educonnect_result::EDUCONNECT_INVALID_TARGET),
                "{bad:?}"
            );
        }
    }
}
