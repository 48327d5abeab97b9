//! # EduConnect-rs for actix-web
//!
//! A thin adapter: everything that decides (who is logged in, who may see
//! which pupil, what a refusal looks like) lives in [`educonnect_core`]'s
//! [`Gateway`](educonnect_core::flow::Gateway) and
//! [`RequestAccess`](educonnect_core::flow::access::RequestAccess); this
//! crate only converts actix-web's types to and from the core's `http`
//! types (actix-web 4 is on `http` 0.2, the core on `http` 1).
//!
//! - [`SessionMiddleware`]: resolves the session once per request and
//!   leaves it in the request's extensions;
//! - [`scope()`]: the gateway's own routes (login, callback, logout,
//!   verify, jwks) under its base path, `/auth` by default;
//! - extractors: [`CurrentUser`], [`OptionalUser`], [`ForPupil`] and
//!   [`WithLegalAuthority`] (pupils named by a `{pupil}` path segment
//!   written by [`PupilId::to_url_segment`]). A refused request gets the
//!   core's refusal unchanged through [`Rejection`]: a login redirect or
//!   `401`, `403`, `404`, `503` when the store is down, `500` when the
//!   middleware is missing.
//!
//! ```text
//!  request ──► SessionMiddleware ──► /auth/… ──► scope ──► Gateway::handle
//!                 │ RequestAccess::resolve (one store read)
//!                 ▼
//!              extensions ──► CurrentUser / ForPupil / … ──► handler
//! ```
//!
//! Untrusted input never panics here: a header or URI that would not
//! convert (none does, both `http` versions parse alike) is dropped or
//! answered with an error, never unwrapped.
//!
//! [`PupilId::to_url_segment`]: educonnect_core::directory::PupilId::to_url_segment
#![forbid(unsafe_code)]

mod convert;
mod extract;
mod middleware;
mod scope;

pub use extract::{
    CurrentUser, ForPupil, OptionalUser, PUPIL_PARAM, Rejection, WithLegalAuthority,
};
pub use middleware::{SessionMiddleware, SessionService};
pub use scope::scope;

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
