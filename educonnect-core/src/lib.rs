//! # EduConnect-rs core
//!
//! Everything that matters for logging parents and pupils in through
//! FranceConnect or EduConnect, proving guardianship, and checking family
//! claims, with no web framework and no async runtime. Adapters (axum,
//! actix-web, the C ABI) only convert types around this crate.
//!
//! ## Seven modules
//!
//! - [`flow`]: the login [`flow::Gateway`], sans-IO: it takes an
//!   `http::Request` for its routes (login, callback, logout, the birth-date
//!   challenge) and returns the `http::Response`; [`flow::Gateway::session`]
//!   tells who is logged in, and [`flow::access`] what they may see.
//!   `openidconnect` builds the authorization request and performs the code
//!   exchange; tokens are verified by [`jose`] only. Failures are typed
//!   ([`flow::LoginFailure`]).
//! - [`filiation`]: every decision about the family link: which guardian
//!   records fit a FranceConnect identity, what the birth-date challenge
//!   proves (each record on its own), lock-out ([`filiation::LockoutPolicy`]),
//!   verified links and their revocation, and [`filiation::FamilyClaims`]
//!   with the one authorization rule ([`filiation::FamilyClaims::authorize`]);
//!   family assertions and their verifier ([`filiation::AssertionVerifier`]);
//!   audit events with ids only. The threat model is `SECURITY.md` at the
//!   repository's root.
//! - [`directory`]: the schools' records (pupils, related persons, the links
//!   between them with SIECLE relationship codes and legal authority), the
//!   async [`directory::Directory`] trait through which the flow looks up
//!   guardians, [`directory::MemoryDirectory`] (an indexed snapshot of one
//!   export, replaced atomically), [`directory::CompositeDirectory`] (several
//!   academies as one), the AAF and SIECLE importers and the name
//!   normalization.
//! - [`provider`]: the FranceConnect and EduConnect presets (endpoints,
//!   scopes, eIDAS level) and the typed [`provider::Identity`] read from a
//!   provider's verified claims: FranceConnect's identité pivot, EduConnect's
//!   guardian or pupil, or a generic OpenID Connect subject.
//! - [`jose`]: compact JWS parsing, JWK and JWKS, signature verification and
//!   signing over a crypto provider seam (aws-lc-rs by default, ring as a feature), claim validation. Every token the library accepts goes
//!   through [`jose::Validation::verify`]; reading one unverified is under
//!   [`jose::danger`].
//! - [`store`]: the [`Store`] trait for the state kept between requests
//!   (birth-date challenges, used login states, sessions, counters,
//!   durable records), and [`MemoryStore`], bounded, per process, lost at
//!   restart.
//! - [`ids`]: UAI, INE, INSEE codes and EduConnect's `{AAF}` ids, checked on
//!   the way in.
//!
//! And at the root: [`BirthDate`] (with the registry's presumed
//! precision); the injected [`Clock`] and [`RandomSource`] (the core never
//! reads the time or draws randomness on its own, so every state transition
//! replays exactly in tests); the [`HttpClient`] trait through which the
//! core reaches providers, and [`ReqwestClient`] (default feature
//! `reqwest`: timeouts, no redirects, bounded bodies); [`ProviderKeys`], a
//! provider's keys cached by `cache-control` and refetched (rate-limited)
//! when a token names an unknown `kid`.
//!
//! ## What it protects against
//!
//! A relying party is attacked through the tokens it is handed. This crate
//! refuses, with a typed [`jose::Error`] and never a panic:
//!
//! - forged or altered tokens: every byte of a compact JWS is covered (strict
//!   base64url, canonical trailing bits, signature checked before the payload
//!   is parsed);
//! - algorithm tricks: `alg: none` in any spelling, algorithms outside the
//!   caller's allow-list, HS256 with a public key as secret (HMAC secrets only
//!   come from configuration, never from a JWKS), keys picked from the token's
//!   own `jku`/`x5u`/`jwk`/`x5c` headers (ignored), unknown `crit` extensions;
//! - weak keys: RSA below 2048 bits, keys whose `use`, `key_ops` or `alg` say
//!   they are not for this;
//! - replay and mix-up: wrong `iss` (exact match), `aud` not containing the
//!   client id (and `azp` when several), expired or not-yet-valid tokens with
//!   a bounded leeway, `iat` in the future, `nonce` mismatch (constant-time),
//!   `acr` below the required eIDAS level;
//! - parser abuse: oversized tokens (16 KiB by default), duplicate JSON
//!   member names, deep nesting.
//!
//! Claims that pass the signature checks are still untrusted in shape: the
//! [`provider`] parsers refuse, with a typed [`provider::IdentityError`],
//! wrong JSON types, impossible dates, malformed INSEE codes, UAIs with a
//! wrong key letter, unknown EduConnect affiliations.
//!
//! In the login flow it refuses, with a French error page and no session:
//! a callback with an unknown, expired or already used `state`, or without
//! the browser cookie bound to it (login CSRF), which also leaves the real
//! login intact; a callback whose `iss` is not the provider's (RFC 9207
//! mix-up); a replayed code; a userinfo whose `sub` is not the ID token's,
//! or (FranceConnect) that is not signed; a `return_to` that is not a
//! relative path (open redirect). Starting a login stores nothing on the
//! server (the pending login is sealed in its cookie), so a flood of
//! anonymous logins evicts no one's login or challenge. Session ids are
//! fresh at every login (no fixation), stored hashed, in `__Host-` cookies
//! that are `HttpOnly`, `Secure` and `SameSite=Lax`, as are the login and
//! challenge cookies.
//!
//! It does not protect a private signing key on disk, nor decide who may be
//! trusted as an issuer: that is the service's configuration.
//!
//! ## Logging
//!
//! Errors never carry token contents, so they can be logged as they are.
//! Identities hold names and birth dates: their `Debug` output shows the
//! provider's `sub` and nothing else that identifies a person.
#![forbid(unsafe_code)]

mod birthdate;
mod clock;
pub mod directory;
pub mod filiation;
pub mod flow;
mod html;
mod http_client;
pub mod ids;
#[doc(hidden)]
pub mod internal;
pub mod jose;
mod jwks_cache;
mod naming;
pub mod provider;
mod random;
pub mod store;

pub use birthdate::{BirthDate, BirthDateError, DatePrecision};
pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
#[cfg(feature = "reqwest")]
pub use http_client::ReqwestClient;
pub use http_client::{
    HttpClient, HttpError, HttpRequest, HttpResponse, MAX_RESPONSE_LEN, Timeouts,
};
pub use jwks_cache::{KeyFetchError, ProviderKeys, ProviderTokenError};
pub use random::{RandomSource, SystemRandomSource};
pub use store::{MemoryStore, Store, StoreError};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
