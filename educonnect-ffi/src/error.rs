//! The one result enum of the C ABI and its messages.

use std::ffi::c_char;

use educonnect_core::filiation::AssertionError;
use educonnect_core::jose::{ClaimError, Error as JoseError};

/// What a call of the C ABI returns: `EDUCONNECT_OK` (0) or the reason it
/// failed. Codes come in ranges by category (1xx: the caller's arguments,
/// 2xx: verifying an assertion, 3xx: the gateway's configuration, 4xx: a
/// request to the gateway); a code, once published, keeps its meaning and
/// is never reused. [`educonnect_error_message`] describes each.
///
/// In C the type is a `uint32_t`: compare it with the constants, and expect
/// codes added in later versions.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum educonnect_result {
    /// Success.
    EDUCONNECT_OK = 0,

    /// A pointer argument was NULL.
    EDUCONNECT_NULL_ARGUMENT = 100,
    /// A text argument is not valid UTF-8.
    EDUCONNECT_INVALID_UTF8 = 101,
    /// The string asked for holds a NUL byte, so it cannot be handed out as
    /// a C string (refused rather than truncated).
    EDUCONNECT_INTERIOR_NUL = 102,
    /// An index is past the end (child, header).
    EDUCONNECT_INDEX_OUT_OF_RANGE = 103,
    /// A length argument is larger than any object can be (`> PTRDIFF_MAX`).
    EDUCONNECT_ARGUMENT_TOO_LARGE = 104,
    /// The claims do not come from an assertion (they come from a session),
    /// so they have no issue or expiry time.
    EDUCONNECT_NOT_AN_ASSERTION = 105,
    /// The library panicked: a bug. The call had no effect on its outputs.
    EDUCONNECT_PANIC = 199,

    /// The JWKS given to the verifier is not a usable key set.
    EDUCONNECT_INVALID_KEYS = 200,
    /// The assertion's signature does not verify.
    EDUCONNECT_BAD_SIGNATURE = 201,
    /// No key of the JWKS can verify the assertion (unknown `kid`, or no
    /// key for its algorithm).
    EDUCONNECT_UNKNOWN_KEY = 202,
    /// The assertion has expired.
    EDUCONNECT_EXPIRED = 203,
    /// The assertion is not valid yet (issued in the future).
    EDUCONNECT_NOT_YET_VALID = 204,
    /// The assertion's issuer is not the expected one.
    EDUCONNECT_ISSUER_MISMATCH = 205,
    /// The assertion is not for the expected audience.
    EDUCONNECT_AUDIENCE_MISMATCH = 206,
    /// The token is not a well-formed compact JWS (or is too large).
    EDUCONNECT_MALFORMED_TOKEN = 207,
    /// The token's algorithm is `none`, unknown, or not one a gateway signs
    /// assertions with (ES256, EdDSA).
    EDUCONNECT_ALGORITHM_NOT_ALLOWED = 208,
    /// A claim is missing or invalid, or the family claims do not have the
    /// expected shape.
    EDUCONNECT_INVALID_CLAIMS = 209,
    /// The assertion's `sub` is not its family claims' subject.
    EDUCONNECT_SUBJECT_MISMATCH = 210,
    /// The assertion was refused for another reason (a critical header, a
    /// key that cannot be used).
    EDUCONNECT_ASSERTION_REJECTED = 211,
    /// A pupil id is not valid (a source `<kind>:<code>` and a local id of
    /// 1 to 256 bytes without control characters).
    EDUCONNECT_INVALID_PUPIL_ID = 212,

    /// The configuration file could not be read.
    EDUCONNECT_CONFIG_UNREADABLE = 300,
    /// The configuration is not valid JSON of the documented shape.
    EDUCONNECT_CONFIG_INVALID = 301,
    /// The configured store is of no kind this build knows: `"memory"`, a
    /// `redis://` or `rediss://` URL, or a `postgres://` URL.
    EDUCONNECT_STORE_NOT_SUPPORTED = 302,
    /// A directory snapshot file (`educonnect directory compile`) could not
    /// be opened: missing, truncated, damaged or of another format version.
    EDUCONNECT_SNAPSHOT_INVALID = 303,
    /// The directory's export files could not be loaded.
    EDUCONNECT_DIRECTORY_NOT_LOADED = 304,
    /// A provider's settings were refused (an issuer or base URL).
    EDUCONNECT_PROVIDER_CONFIG = 305,
    /// The gateway refused its configuration (public URL, keys...).
    EDUCONNECT_GATEWAY_CONFIG = 306,
    /// The gateway's runtime could not be started.
    EDUCONNECT_RUNTIME_FAILED = 307,
    /// A configured store could not be reached or set up at start (Redis
    /// down, a wrong password, PostgreSQL's migrations refused).
    EDUCONNECT_STORE_UNREACHABLE = 308,

    /// The request's path is not one of the gateway's routes: the service
    /// answers it itself.
    EDUCONNECT_NOT_A_GATEWAY_ROUTE = 400,
    /// The request's method is not a valid HTTP method token.
    EDUCONNECT_INVALID_METHOD = 401,
    /// The request's target is not an origin-form path and query
    /// (`/auth/login?x=y`).
    EDUCONNECT_INVALID_TARGET = 402,
    /// The header block is not `Name: value` lines of valid header names
    /// and values.
    EDUCONNECT_INVALID_HEADERS = 403,
    /// The session store could not be read.
    EDUCONNECT_STORE_UNAVAILABLE = 404,
}

impl educonnect_result {
    /// The message of [`educonnect_error_message`], NUL-terminated.
    fn message(self) -> &'static [u8] {
        use educonnect_result::*;
        match self {
            EDUCONNECT_OK => b"success\0",
            EDUCONNECT_NULL_ARGUMENT => b"a pointer argument was NULL\0",
            EDUCONNECT_INVALID_UTF8 => b"a text argument is not valid UTF-8\0",
            EDUCONNECT_INTERIOR_NUL => b"the string holds a NUL byte and cannot be a C string\0",
            EDUCONNECT_INDEX_OUT_OF_RANGE => b"index out of range\0",
            EDUCONNECT_ARGUMENT_TOO_LARGE => b"a length argument is too large\0",
            EDUCONNECT_NOT_AN_ASSERTION => {
                b"the claims come from a session, not an assertion: no issue or expiry time\0"
            }
            EDUCONNECT_PANIC => b"internal error (a panic was caught at the C boundary)\0",
            EDUCONNECT_INVALID_KEYS => b"the keys are not a usable JWKS\0",
            EDUCONNECT_BAD_SIGNATURE => b"the assertion's signature does not verify\0",
            EDUCONNECT_UNKNOWN_KEY => b"no key of the JWKS can verify the assertion\0",
            EDUCONNECT_EXPIRED => b"the assertion has expired\0",
            EDUCONNECT_NOT_YET_VALID => b"the assertion is not valid yet\0",
            EDUCONNECT_ISSUER_MISMATCH => b"the assertion's issuer is not the expected one\0",
            EDUCONNECT_AUDIENCE_MISMATCH => b"the assertion is not for the expected audience\0",
            EDUCONNECT_MALFORMED_TOKEN => b"the token is not a well-formed compact JWS\0",
            EDUCONNECT_ALGORITHM_NOT_ALLOWED => b"the token's algorithm is not allowed\0",
            EDUCONNECT_INVALID_CLAIMS => b"the assertion's claims are missing or invalid\0",
            EDUCONNECT_SUBJECT_MISMATCH => {
                b"the assertion's subject does not match its family claims\0"
            }
            EDUCONNECT_ASSERTION_REJECTED => b"the assertion was refused\0",
            EDUCONNECT_INVALID_PUPIL_ID => b"the pupil id is not valid\0",
            EDUCONNECT_CONFIG_UNREADABLE => b"the configuration file could not be read\0",
            EDUCONNECT_CONFIG_INVALID => b"the configuration is not valid\0",
            EDUCONNECT_STORE_NOT_SUPPORTED => {
                b"this store is not supported: \"memory\", redis:// or postgres://\0"
            }
            EDUCONNECT_STORE_UNREACHABLE => b"a configured store could not be reached or set up\0",
            EDUCONNECT_SNAPSHOT_INVALID => b"a directory snapshot file could not be opened\0",
            EDUCONNECT_DIRECTORY_NOT_LOADED => b"the directory export files could not be loaded\0",
            EDUCONNECT_PROVIDER_CONFIG => b"a provider's settings were refused\0",
            EDUCONNECT_GATEWAY_CONFIG => b"the gateway refused its configuration\0",
            EDUCONNECT_RUNTIME_FAILED => b"the gateway's runtime could not be started\0",
            EDUCONNECT_NOT_A_GATEWAY_ROUTE => b"not one of the gateway's routes\0",
            EDUCONNECT_INVALID_METHOD => b"the request's method is not valid\0",
            EDUCONNECT_INVALID_TARGET => b"the request's target is not a path and query\0",
            EDUCONNECT_INVALID_HEADERS => b"the request's header block is not valid\0",
            EDUCONNECT_STORE_UNAVAILABLE => b"the session store could not be read\0",
        }
    }
}

impl From<AssertionError> for educonnect_result {
    fn from(error: AssertionError) -> Self {
        use educonnect_result::*;
        match error {
            AssertionError::Keys(_) => EDUCONNECT_INVALID_KEYS,
            AssertionError::SubjectMismatch => EDUCONNECT_SUBJECT_MISMATCH,
            AssertionError::Rejected(error) => match error {
                JoseError::BadSignature => EDUCONNECT_BAD_SIGNATURE,
                JoseError::NoMatchingKey { .. } | JoseError::AmbiguousKey { .. } => {
                    EDUCONNECT_UNKNOWN_KEY
                }
                JoseError::Malformed(_) => EDUCONNECT_MALFORMED_TOKEN,
                JoseError::AlgorithmNone
                | JoseError::AlgorithmUnsupported
                | JoseError::AlgorithmNotAllowed(_)
                | JoseError::NoHmacSecret => EDUCONNECT_ALGORITHM_NOT_ALLOWED,
                JoseError::Claim(claim) => match claim {
                    ClaimError::Expired => EDUCONNECT_EXPIRED,
                    ClaimError::NotYetValid | ClaimError::IssuedInFuture => {
                        EDUCONNECT_NOT_YET_VALID
                    }
                    ClaimError::IssuerMismatch => EDUCONNECT_ISSUER_MISMATCH,
                    ClaimError::AudienceMismatch
                    | ClaimError::AzpMissing
                    | ClaimError::AzpMismatch => EDUCONNECT_AUDIENCE_MISMATCH,
                    _ => EDUCONNECT_INVALID_CLAIMS,
                },
                _ => EDUCONNECT_ASSERTION_REJECTED,
            },
            // Minting errors cannot come out of a verifier.
            _ => EDUCONNECT_ASSERTION_REJECTED,
        }
    }
}

/// A static, NUL-terminated English description of `code` (any value: an
/// unknown code gets "unknown result code"). Never NULL; never freed.
///
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn educonnect_error_message(code: u32) -> *const c_char {
    let message: &'static [u8] = crate::panic::catch(|| {
        from_u32(code).map_or(
            b"unknown result code\0".as_slice(),
            educonnect_result::message,
        )
    })
    .unwrap_or(b"internal error\0");
    message.as_ptr().cast()
}

/// The code with this number, if there is one.
fn from_u32(code: u32) -> Option<educonnect_result> {
    ALL.into_iter().find(|c| *c as u32 == code)
}

/// Every code, in order.
const ALL: [educonnect_result; 35] = {
    use educonnect_result::*;
    [
        EDUCONNECT_OK,
        EDUCONNECT_NULL_ARGUMENT,
        EDUCONNECT_INVALID_UTF8,
        EDUCONNECT_INTERIOR_NUL,
        EDUCONNECT_INDEX_OUT_OF_RANGE,
        EDUCONNECT_ARGUMENT_TOO_LARGE,
        EDUCONNECT_NOT_AN_ASSERTION,
        EDUCONNECT_PANIC,
        EDUCONNECT_INVALID_KEYS,
        EDUCONNECT_BAD_SIGNATURE,
        EDUCONNECT_UNKNOWN_KEY,
        EDUCONNECT_EXPIRED,
        EDUCONNECT_NOT_YET_VALID,
        EDUCONNECT_ISSUER_MISMATCH,
        EDUCONNECT_AUDIENCE_MISMATCH,
        EDUCONNECT_MALFORMED_TOKEN,
        EDUCONNECT_ALGORITHM_NOT_ALLOWED,
        EDUCONNECT_INVALID_CLAIMS,
        EDUCONNECT_SUBJECT_MISMATCH,
        EDUCONNECT_ASSERTION_REJECTED,
        EDUCONNECT_INVALID_PUPIL_ID,
        EDUCONNECT_CONFIG_UNREADABLE,
        EDUCONNECT_CONFIG_INVALID,
        EDUCONNECT_STORE_NOT_SUPPORTED,
        EDUCONNECT_SNAPSHOT_INVALID,
        EDUCONNECT_DIRECTORY_NOT_LOADED,
        EDUCONNECT_PROVIDER_CONFIG,
        EDUCONNECT_GATEWAY_CONFIG,
        EDUCONNECT_RUNTIME_FAILED,
        EDUCONNECT_STORE_UNREACHABLE,
        EDUCONNECT_NOT_A_GATEWAY_ROUTE,
        EDUCONNECT_INVALID_METHOD,
        EDUCONNECT_INVALID_TARGET,
        EDUCONNECT_INVALID_HEADERS,
        EDUCONNECT_STORE_UNAVAILABLE,
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_nul_terminated_message_and_unknown_codes_are_named() {
        for code in ALL {
            let message = code.message();
            assert_eq!(message.last(), Some(&0));
            assert!(!message[..message.len() - 1].contains(&0));
            assert_eq!(from_u32(code as u32), Some(code));
        }
        // SAFETY: the function returns a static NUL-terminated string.
        let unknown = unsafe { std::ffi::CStr::from_ptr(educonnect_error_message(7777)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown result code");
        // SAFETY: as above.
        let expired = unsafe {
            std::ffi::CStr::from_ptr(educonnect_error_message(
                educonnect_result::EDUCONNECT_EXPIRED as u32,
            ))
        };
        assert_eq!(expired.to_str().unwrap(), "the assertion has expired");
    }
}
