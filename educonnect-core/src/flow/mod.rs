//! The login state machine, sans-IO: [`Gateway::handle`] takes an
//! `http::Request` for one of its routes and returns the `http::Response`
//! (a redirect, a page, cookies). Adapters only convert types.
//!
//! Routes, under a base path (default `/auth`):
//!
//! | route | what |
//! |---|---|
//! | `GET login?provider=…&return_to=…` | starts a login, or shows the provider choice |
//! | `GET callback?code&state[&iss]` | completes it: new session, redirect to `return_to` |
//! | `GET logout` | a confirmation page (logout is a POST) |
//! | `POST logout` | ends the session, then logs out at the provider |
//! | `GET logout/callback?state` | where the provider sends the browser back |
//! | `GET verify`, `POST verify` | the FranceConnect parent's birth-date challenge (see [`crate::filiation`]) |
//! | `GET jwks` | the public key of family assertions |
//!
//! Between `login` and `callback`, the pending login (provider, nonce, PKCE
//! verifier, return path, expiry) is not stored on the server: it is sealed
//! (AES-256-GCM, the `state` as associated data) into the short-lived login
//! cookie under the gateway's [`LoginStateKey`]. Anyone can start logins,
//! anonymously and as often as they like, so `login` writes nothing to the
//! [`Store`]: a flood of it pushes no other user's login or birth-date
//! challenge out. The callback, in this order:
//!
//! 1. opens the login cookie for the `state` it carries: no cookie, a cookie
//!    sealed for another `state` (login CSRF, or a forged callback carrying a
//!    victim's `state`), an altered or an expired one is refused, and nothing
//!    is written, so the real login can still complete;
//! 2. refuses an `iss` parameter (RFC 9207) other than the issuer of the
//!    provider the login was sent to, compared exactly (a mix-up attack);
//!    without `iss` (FranceConnect v2 sends none) the login goes on;
//! 3. marks the `state` used, exactly once, with one store operation
//!    ([`Store::mark_used`], its own key space, for the rest of the login's
//!    lifetime): a replayed callback is refused;
//! 4. shows the provider's `error`, if any; otherwise exchanges the code
//!    and verifies what the provider sends.
//!
//! A successful login then gets a session in the [`Store`], keyed by the
//! SHA-256 of its cookie value, so that a leaked store does not hand out
//! live session cookies.
//!
//! Cookies: `__Host-educonnect_session`, `__Host-educonnect_login` and
//! `__Host-educonnect_verify` (the birth-date challenge), all `Path=/`,
//! without `Domain`, `Secure`, `HttpOnly`, `SameSite=Lax`: the `__Host-`
//! prefix keeps a sibling subdomain from setting or shadowing them (login
//! CSRF). Local development without `Secure` drops the prefix.
//!
//! Every failure shows a short French page with a reference the user can
//! quote; the technical reason goes to `tracing` with the same reference,
//! never with a token, a name or a birth date.
//!
//! ```no_run
//! use std::sync::Arc;
//! use educonnect_core::flow::{ClientSecret, Gateway, Provider};
//! use educonnect_core::provider::FranceConnect;
//! use educonnect_core::MemoryStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gateway = Gateway::builder("https://ent.example.fr")?
//!     .provider(Provider::franceconnect(
//!         FranceConnect::sandbox(),
//!         "client-id",
//!         ClientSecret::new("client-secret"),
//!     ))
//!     .store(Arc::new(MemoryStore::new()))
//!     .build()?;
//! // In a handler: `gateway.handle(request).await` for paths under /auth,
//! // `gateway.session(request.headers()).await` everywhere else.
//! # Ok(())
//! # }
//! ```

pub mod access;
/// What the gateway's pages use to be served safely, for services that
/// render pages beside them (names from the session included): HTML
/// escaping, a Content-Security-Policy allowing one inline style by its
/// hash, the security headers.
pub mod html {
    pub use crate::html::{escape, inline_style_policy, set_security_headers};
}
mod cookie;
mod failure;
mod family;
mod login_state;
mod origin;
pub(crate) mod pages;
mod provider;
mod session;
mod session_cache;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::directory::Directory;
use crate::filiation::{ActForPolicy, AuditSink, LockoutPolicy, Notifier, TracingAuditSink};
use crate::http_client::HttpClient;
use crate::jose::SigningKey;
use crate::jose::crypto::constant_time_eq;
use crate::provider::ConfigError;
use crate::random::{RandomSource, SystemRandomSource, alphanumeric};
use crate::store::{MemoryStore, Store, StoreError};
use cookie::CookieAttrs;
use failure::Failure;
use login_state::{PendingLogin, Sealer};
use provider::Upstream;
use session::SessionRecord;

pub use crate::filiation::AssertionError;
pub use failure::{LoginFailure, Unreachable, UpstreamError, UserinfoRejected};
pub use login_state::{LoginStateKey, MIN_LOGIN_STATE_KEY_LEN};
pub use provider::{ClientSecret, DiscoveryError, Provider};
pub use session::Session;

/// Default idle timeout of a session.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default absolute lifetime of a session.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Default time a user has to come back from the provider.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Default time a parent has to answer the filiation challenge.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Length of state, nonce, PKCE verifier, browser binding and session ids:
/// 43 letters and digits, about 256 bits.
const TOKEN_LEN: usize = 43;
/// Longest `return_to` accepted.
const MAX_RETURN_TO: usize = 2048;
/// Prefix of pending logouts in the pending key space (states are alphanumeric).
const LOGOUT_PREFIX: &str = "logout-";

/// The login gateway: configuration, providers, and the state behind them.
/// Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The service's origin (`scheme://host[:port]`), serialized once:
    /// every state-changing request is compared with it.
    origin: String,
    base_path: String,
    session_cookie: &'static str,
    login_cookie: &'static str,
    session_attrs: CookieAttrs,
    login_attrs: CookieAttrs,
    idle_timeout: Duration,
    lifetime: Duration,
    login_timeout: Duration,
    /// Seals pending logins into the login cookie.
    login_state: Sealer,
    after_logout: String,
    upstreams: Vec<Upstream>,
    /// The logout confirmation's CSP: its form may lead to the providers.
    logout_policy: http::HeaderValue,
    /// Sessions already parsed by this process.
    parsed_sessions: session_cache::SessionCache,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    verify_cookie: &'static str,
    directory: Option<Arc<dyn Directory>>,
    audit: Arc<dyn AuditSink>,
    assertion_key: Option<SigningKey>,
    verify_timeout: Duration,
    lockout: LockoutPolicy,
    notifier: Option<Arc<dyn Notifier>>,
    act_for_policy: ActForPolicy,
}

/// Builds a [`Gateway`]. The decisions, in order: the public URL (given to
/// [`Gateway::builder`]), the providers, the store, then optional settings.
#[derive(Debug)]
pub struct GatewayBuilder {
    public_url: Url,
    base_path: String,
    secure_cookies: bool,
    idle_timeout: Duration,
    lifetime: Duration,
    login_timeout: Duration,
    login_state_key: Option<LoginStateKey>,
    after_logout: String,
    providers: Vec<Provider>,
    store: Option<Arc<dyn Store>>,
    http: Option<Arc<dyn HttpClient>>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    directory: Option<Arc<dyn Directory>>,
    audit: Arc<dyn AuditSink>,
    assertion_key: Option<SigningKey>,
    verify_timeout: Duration,
    lockout: LockoutPolicy,
    notifier: Option<Arc<dyn Notifier>>,
    act_for_policy: ActForPolicy,
}

/// Why a gateway could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayConfigError {
    /// A URL or provider setting is not acceptable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No provider was configured.
    #[error("no provider configured")]
    NoProvider,
    /// Two providers have the same id.
    #[error("two providers have the id {0:?}")]
    DuplicateProvider(String),
    /// The base path is not `/` followed by letters, digits, `-`, `_`, `/`.
    #[error("the base path must look like /auth")]
    BasePath,
    /// A path to return to is not a relative path on the service.
    #[error("the path after logout must be a relative path such as /")]
    AfterLogout,
    /// No HTTP client was given and the `reqwest` feature is off.
    #[error("no HTTP client configured")]
    NoHttpClient,
    /// A [`LoginStateKey`] shorter than [`MIN_LOGIN_STATE_KEY_LEN`] bytes.
    #[error("the login state key must be at least {MIN_LOGIN_STATE_KEY_LEN} bytes")]
    LoginStateKeyTooShort,
}

impl Gateway {
    /// Starts building a gateway for the service at `public_url` (scheme,
    /// host, port: the callback is `{public_url}{base_path}/callback`).
    pub fn builder(public_url: &str) -> Result<GatewayBuilder, GatewayConfigError> {
        let public_url = Url::parse(public_url).map_err(|_| ConfigError::InvalidUrl)?;
        if !matches!(public_url.scheme(), "https" | "http") || public_url.host().is_none() {
            return Err(ConfigError::InvalidUrl.into());
        }
        Ok(GatewayBuilder {
            secure_cookies: true,
            public_url,
            base_path: "/auth".into(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            lifetime: DEFAULT_SESSION_LIFETIME,
            login_timeout: DEFAULT_LOGIN_TIMEOUT,
            login_state_key: None,
            after_logout: "/".into(),
            providers: Vec::new(),
            store: None,
            http: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandomSource),
            directory: None,
            audit: Arc::new(TracingAuditSink),
            assertion_key: None,
            verify_timeout: DEFAULT_VERIFY_TIMEOUT,
            lockout: LockoutPolicy::default(),
            notifier: None,
            act_for_policy: ActForPolicy::default(),
        })
    }
}

impl GatewayBuilder {
    /// Adds a provider. With several, `login` without `provider=` shows a
    /// choice page.
    #[must_use]
    pub fn provider(mut self, provider: Provider) -> Self {
        self.providers.push(provider);
        self
    }

    /// The store for sessions, birth-date challenges and used login states
    /// (default: a [`MemoryStore`], which loses everything at restart and is
    /// per process). Pending logins are not stored: see
    /// [`login_state_key`](Self::login_state_key).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The HTTP client used to reach providers (default: `ReqwestClient`
    /// with default timeouts, with the `reqwest` feature).
    #[must_use]
    pub fn http_client(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = Some(http);
        self
    }

    /// The path the gateway's routes live under (default `/auth`).
    #[must_use]
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into();
        self
    }

    /// Session idle timeout (default 30 minutes).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Session absolute lifetime (default 12 hours).
    #[must_use]
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How long a user has to come back from the provider (default 10 minutes).
    #[must_use]
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = timeout;
        self
    }

    /// The key that seals each pending login (provider, nonce, PKCE
    /// verifier, return path, expiry) into the browser's login cookie
    /// between `login` and `callback`, so that starting a login stores
    /// nothing on the server.
    ///
    /// Default: a random key drawn at [`build`](Self::build) from the
    /// random source, valid for this process only. A service with several
    /// replicas (a login may start on one and come back on another), or
    /// that wants logins in flight to survive a restart, gives every
    /// process the same key here.
    #[must_use]
    pub fn login_state_key(mut self, key: LoginStateKey) -> Self {
        self.login_state_key = Some(key);
        self
    }

    /// Where the browser ends up after logout (default `/`).
    #[must_use]
    pub fn after_logout(mut self, path: impl Into<String>) -> Self {
        self.after_logout = path.into();
        self
    }

    /// Drops the `Secure` attribute from cookies, for local development over
    /// plain `http://localhost` only. Never in production: the session
    /// cookie would then travel in clear.
    #[must_use]
    pub fn insecure_cookies_for_local_development(mut self) -> Self {
        self.secure_cookies = false;
        self
    }

    /// Replaces the clock (tests, replays).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the random source (tests).
    #[must_use]
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// The schools' records, for family claims. Without one, sessions have
    /// no family claims ([`Session::family`] is `None`) and FranceConnect
    /// parents are not asked to confirm anything.
    #[must_use]
    pub fn directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Where audit events go (default: [`TracingAuditSink`]).
    #[must_use]
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = sink;
        self
    }

    /// The key that signs family assertions ([`Gateway::family_assertion`]);
    /// its public part is published at `GET {base}/jwks`.
    #[must_use]
    pub fn assertion_key(mut self, key: SigningKey) -> Self {
        self.assertion_key = Some(key);
        self
    }

    /// How long a parent has to answer the filiation challenge (default 15
    /// minutes).
    #[must_use]
    pub fn verify_timeout(mut self, timeout: Duration) -> Self {
        self.verify_timeout = timeout;
        self
    }

    /// Lock-out of the filiation challenge, simply: `max_attempts` answer
    /// sets per person (and per person and pupil) within `window`, then a
    /// first lock of `window`; later locks escalate as
    /// [`LockoutPolicy::default`] says (2 hours, then 24 hours). See
    /// [`lockout_policy`](Self::lockout_policy) for every setting.
    #[must_use]
    pub fn lock_out(mut self, max_attempts: u64, window: Duration) -> Self {
        self.lockout.max_attempts = max_attempts.max(1);
        self.lockout.window = window;
        self.lockout.escalation[0] = window;
        self
    }

    /// Every limit on answering the filiation challenge (default
    /// [`LockoutPolicy::default`]: 5 answer sets per 30 minutes, locks of
    /// 30 minutes, 2 hours, then 24 hours, remembered 7 days; 20 answer
    /// sets per pupil per day across all accounts).
    #[must_use]
    pub fn lockout_policy(mut self, mut policy: LockoutPolicy) -> Self {
        policy.max_attempts = policy.max_attempts.max(1);
        self.lockout = policy;
        self
    }

    /// Policy: after the right birth dates, also require a one-time code
    /// sent through `notifier` to the mobile number the school recorded for
    /// the confirmed record (6 digits, valid 5 minutes, 3 tries; only its
    /// hash is stored). Without a recorded mobile number the parent is sent
    /// to the school. Off by default.
    #[must_use]
    pub fn one_time_code(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Policy: which verified links let a person act for a pupil (read
    /// their records), written into every login's
    /// [`FamilyClaims`](crate::filiation::FamilyClaims). Default
    /// [`ActForPolicy::LegalGuardians`]; legal authority needs a legal
    /// guardian's link whatever the policy.
    #[must_use]
    pub fn act_for_policy(mut self, policy: ActForPolicy) -> Self {
        self.act_for_policy = policy;
        self
    }

    /// Checks the configuration and builds the gateway.
    pub fn build(self) -> Result<Gateway, GatewayConfigError> {
        let base = self.base_path.trim_end_matches('/').to_owned();
        let base_ok = base.starts_with('/')
            && base.len() > 1
            && !base.contains("//")
            && base[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'));
        if !base_ok {
            return Err(GatewayConfigError::BasePath);
        }
        if safe_return_to(&self.after_logout).is_none() {
            return Err(GatewayConfigError::AfterLogout);
        }
        if self.providers.is_empty() {
            return Err(GatewayConfigError::NoProvider);
        }
        let http = match self.http {
            Some(http) => http,
            None => default_http()?,
        };
        let redirect_uri = self
            .public_url
            .join(&format!("{base}/callback"))
            .map_err(|_| ConfigError::InvalidUrl)?;
        let mut upstreams: Vec<Upstream> = Vec::with_capacity(self.providers.len());
        for provider in self.providers {
            if upstreams.iter().any(|u| u.config.id == provider.id) {
                return Err(GatewayConfigError::DuplicateProvider(provider.id));
            }
            upstreams.push(Upstream::new(
                provider,
                &redirect_uri,
                http.clone(),
                self.clock.clone(),
            )?);
        }
        let mut logout_origins: Vec<String> = Vec::new();
        for upstream in &upstreams {
            if let Some(end) = upstream.config.endpoints.end_session() {
                let origin = end.origin().ascii_serialization();
                if !logout_origins.contains(&origin) {
                    logout_origins.push(origin);
                }
            }
        }
        let secure = self.secure_cookies;
        let login_state_key = self
            .login_state_key
            .unwrap_or_else(|| LoginStateKey::generate(&*self.random));
        Ok(Gateway {
            inner: Arc::new(Inner {
                origin: self.public_url.origin().ascii_serialization(),
                // `__Host-` binds the cookie to this exact host over HTTPS,
                // path `/`: a sibling subdomain cannot set or shadow it.
                session_cookie: if secure {
                    "__Host-educonnect_session"
                } else {
                    "educonnect_session"
                },
                // The login and challenge cookies too: a sibling subdomain
                // that could plant its own login cookie here could log the
                // victim in as the attacker (login CSRF).
                login_cookie: if secure {
                    "__Host-educonnect_login"
                } else {
                    "educonnect_login"
                },
                session_attrs: CookieAttrs {
                    path: "/".into(),
                    secure,
                },
                // `__Host-` requires `Path=/` (and no `Domain`, which these
                // cookies never have).
                login_attrs: CookieAttrs {
                    path: "/".into(),
                    secure,
                },
                base_path: base,
                idle_timeout: self.idle_timeout,
                lifetime: self.lifetime,
                login_timeout: self.login_timeout,
                login_state: Sealer::new(&login_state_key),
                after_logout: self.after_logout,
                upstreams,
                logout_policy: pages::policy_with_form_targets(&logout_origins),
                parsed_sessions: session_cache::SessionCache::default(),
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                clock: self.clock,
                random: self.random,
                verify_cookie: if secure {
                    "__Host-educonnect_verify"
                } else {
                    "educonnect_verify"
                },
                directory: self.directory,
                audit: self.audit,
                assertion_key: self.assertion_key,
                verify_timeout: self.verify_timeout,
                lockout: self.lockout,
                notifier: self.notifier,
                act_for_policy: self.act_for_policy,
            }),
        })
    }
}

#[cfg(feature = "reqwest")]
fn default_http() -> Result<Arc<dyn HttpClient>, GatewayConfigError> {
    crate::http_client::ReqwestClient::new(crate::http_client::Timeouts::default())
        .map(|c| Arc::new(c) as Arc<dyn HttpClient>)
        .map_err(|_| GatewayConfigError::NoHttpClient)
}

#[cfg(not(feature = "reqwest"))]
fn default_http() -> Result<Arc<dyn HttpClient>, GatewayConfigError> {
    Err(GatewayConfigError::NoHttpClient)
}

const EXPIRED_LOGIN: &str =
    "Cette demande de connexion a expiré ou a déjà été utilisée. Veuillez recommencer.";

impl Gateway {
    /// The base path of the gateway's routes (`/auth` by default).
    pub fn base_path(&self) -> &str {
        &self.inner.base_path
    }

    /// The path that starts a login and comes back to `return_to` (a
    /// relative path on the service).
    pub fn login_path(&self, return_to: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", return_to)
            .finish();
        format!("{}/login?{query}", self.inner.base_path)
    }

    /// Whether `path` is one of the gateway's routes.
    pub fn handles(&self, path: &str) -> bool {
        path.strip_prefix(self.inner.base_path.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Answers a request for one of the gateway's routes. Anything else
    /// under the base path is a 404; a wrong method is a 405.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let path = request.uri().path();
        let route = path
            .strip_prefix(self.inner.base_path.as_str())
            .unwrap_or("");
        let result = match (route, request.method()) {
            ("/login", &Method::GET) => self.login(&request).await,
            ("/callback", &Method::GET) => self.callback(&request).await,
            ("/logout", &Method::GET) => Ok(pages::logout_confirmation(
                &format!("{}/logout", self.inner.base_path),
                &self.inner.logout_policy,
            )),
            ("/logout", &Method::POST) => self.logout(&request).await,
            ("/logout/callback", &Method::GET) => Ok(self.logout_callback(&request).await),
            ("/verify", &Method::GET) => self.verify_form(&request).await,
            ("/verify", &Method::POST) => self.verify_answer(&request).await,
            ("/jwks", &Method::GET) => Ok(self.jwks()),
            ("/login" | "/callback" | "/logout/callback" | "/verify" | "/jwks", _)
            | ("/logout", _) => Ok(pages::page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Méthode non autorisée",
                "",
            )),
            _ => Ok(pages::page(StatusCode::NOT_FOUND, "Page introuvable", "")),
        };
        result.unwrap_or_else(|failure| self.fail(failure))
    }

    fn fail(&self, failure: Failure) -> Response<Bytes> {
        let code = alphanumeric(&*self.inner.random, 8).to_ascii_uppercase();
        let reference = format!("{}-{}", &code[..4], &code[4..]);
        if failure.status.is_server_error() {
            tracing::error!(reference = %reference, reason = %failure.reason, "login failed");
        } else {
            tracing::warn!(reference = %reference, reason = %failure.reason, "login refused");
        }
        let response = pages::error(failure.status, failure.title, failure.message, &reference);
        failure.attach(response)
    }

    fn upstream(&self, id: &str) -> Option<&Upstream> {
        self.inner.upstreams.iter().find(|u| u.config.id == id)
    }

    async fn login(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Failure> {
        let query = Query::parse(request.uri().query());
        let return_to = match query.get("return_to") {
            None => "/".to_owned(),
            Some(r) => safe_return_to(r)
                .ok_or_else(|| {
                    Failure::bad_request(
                        "L'adresse de retour demandée n'est pas valide.",
                        LoginFailure::ReturnToRefused,
                    )
                })?
                .to_owned(),
        };
        let upstream = match query.get("provider") {
            Some(id) => self.upstream(id).ok_or_else(|| {
                Failure::bad_request(
                    "Ce moyen de connexion n'est pas proposé.",
                    LoginFailure::UnknownProvider,
                )
            })?,
            None if self.inner.upstreams.len() == 1 => &self.inner.upstreams[0],
            None => return Ok(self.provider_choice(&return_to)),
        };

        // Nothing is stored here: anyone can start logins, as many as they
        // like, so the pending login travels sealed in the browser's cookie
        // (see `login_state`), and a flood of logins pushes nobody out.
        let random = &*self.inner.random;
        let state = alphanumeric(random, TOKEN_LEN);
        let pending = PendingLogin {
            provider: upstream.config.id.clone(),
            nonce: alphanumeric(random, TOKEN_LEN),
            pkce_verifier: alphanumeric(random, TOKEN_LEN),
            return_to,
            expires_at: self.inner.clock.unix_seconds().saturating_add(
                i64::try_from(self.inner.login_timeout.as_secs()).unwrap_or(i64::MAX),
            ),
        };
        let url = upstream.authorization_url(&state, &pending.nonce, &pending.pkce_verifier);
        let sealed = self
            .inner
            .login_state
            .seal(&state, &pending, random)
            .filter(|sealed| sealed.len() <= login_state::MAX_SEALED_LEN)
            .ok_or_else(|| {
                Failure::bad_request(
                    "L'adresse de retour demandée n'est pas valide.",
                    LoginFailure::ReturnToRefused,
                )
            })?;

        let mut response = pages::redirect(url.as_str());
        let cookie =
            self.inner
                .login_attrs
                .set(self.inner.login_cookie, &sealed, self.inner.login_timeout);
        response.headers_mut().append(header::SET_COOKIE, cookie);
        Ok(response)
    }

    fn provider_choice(&self, return_to: &str) -> Response<Bytes> {
        let choices: Vec<(String, String)> = self
            .inner
            .upstreams
            .iter()
            .map(|u| {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("provider", &u.config.id)
                    .append_pair("return_to", return_to)
                    .finish();
                (
                    format!("{}/login?{query}", self.inner.base_path),
                    u.config.name.clone(),
                )
            })
            .collect();
        pages::provider_choice(&choices)
    }

    async fn callback(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Failure> {
        let result = self.complete_login(request).await;
        // Whatever happened, the login cookie has served.
        let clear = self.inner.login_attrs.clear(self.inner.login_cookie);
        let mut response = result.unwrap_or_else(|failure| self.fail(failure));
        response.headers_mut().append(header::SET_COOKIE, clear);
        Ok(response)
    }

    async fn complete_login(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Failure> {
        let query = Query::parse(request.uri().query());
        let state = query
            .get("state")
            .filter(|s| s.len() == TOKEN_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or_else(|| Failure::bad_request(EXPIRED_LOGIN, LoginFailure::InvalidState))?;
        // The browser binding first: a callback without the login cookie
        // sealed for this state (login CSRF, a forged callback carrying a
        // victim's state) is refused before it can spend anything.
        let sealed = cookie::read(request.headers(), self.inner.login_cookie)
            .ok_or_else(|| Failure::bad_request(EXPIRED_LOGIN, LoginFailure::MissingLoginCookie))?;
        let now = self.inner.clock.unix_seconds();
        let pending = self
            .inner
            .login_state
            .open(state, sealed, now)
            .map_err(|e| {
                Failure::bad_request(EXPIRED_LOGIN, LoginFailure::LoginCookie(e.as_str()))
            })?;
        let upstream = self.upstream(&pending.provider).ok_or_else(|| {
            Failure::bad_request(EXPIRED_LOGIN, LoginFailure::ProviderNotConfigured)
        })?;
        // RFC 9207: an `iss` on the authorization response must be the
        // issuer of the provider this login was sent to, exactly; otherwise
        // another provider's response (or code) is being passed off as this
        // one's (mix-up attack). Absent is accepted: FranceConnect v2 does
        // not send it. Given twice is not absent.
        match query.all("iss").as_slice() {
            [] => {}
            [iss] if *iss == upstream.config.endpoints.issuer().as_str() => {}
            _ => {
                return Err(Failure::bad_request(
                    "Les informations reçues du fournisseur d'identité n'ont pas pu être vérifiées.",
                    LoginFailure::IssuerMismatch,
                ));
            }
        }
        // Then the state, used exactly once: one atomic store operation,
        // whichever replica gets the callback, however many come at once.
        // The mark lives as long as the login cookie could.
        let remaining = u64::try_from(pending.expires_at.saturating_sub(now)).unwrap_or(0);
        let first_use = self
            .inner
            .store
            .mark_used(&sha256(state), Duration::from_secs(remaining.max(1)))
            .await
            .map_err(Failure::store)?;
        if !first_use {
            return Err(Failure::bad_request(
                EXPIRED_LOGIN,
                LoginFailure::StateAlreadyUsed,
            ));
        }
        if let Some(error) = query.get("error") {
            let code: String = error
                .chars()
                .take(64)
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            return Err(Failure::bad_request(
                "La connexion a été annulée ou refusée auprès du fournisseur d'identité.",
                LoginFailure::ProviderError(code),
            ));
        }
        let code = query
            .get("code")
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| Failure::bad_request(EXPIRED_LOGIN, LoginFailure::MissingCode))?;

        let completed = upstream
            .complete(code, &pending.pkce_verifier, &pending.nonce)
            .await?;
        // Read the identity now, so that a login with an unusable identity
        // leaves no session behind.
        let identity =
            crate::provider::Identity::from_claims(upstream.config.kind, &completed.claims)
                .map_err(|e| {
                    Failure::bad_request(
                        "Votre identité n'a pas pu être lue.",
                        LoginFailure::Identity(e),
                    )
                })?;

        let record = SessionRecord {
            provider: pending.provider.clone(),
            kind: upstream.config.kind.as_str().to_owned(),
            claims: completed.claims,
            acr: completed.acr,
            auth_time: completed.auth_time,
            created_at: self.inner.clock.unix_seconds(),
            id_token: completed.id_token,
            family: None,
        };
        self.after_login(request.headers(), &identity, record, pending.return_to)
            .await
    }

    /// Creates a new session for `record` and sends the browser to
    /// `return_to` (already checked to be a relative path).
    async fn start_session(
        &self,
        headers: &HeaderMap,
        record: SessionRecord,
        return_to: &str,
    ) -> Result<Response<Bytes>, Failure> {
        let cookie = self.new_session(headers, record).await?;
        let mut response = pages::redirect(return_to);
        response.headers_mut().append(header::SET_COOKIE, cookie);
        Ok(response)
    }

    /// Creates a new session for `record`; returns its `Set-Cookie`.
    async fn new_session(
        &self,
        headers: &HeaderMap,
        record: SessionRecord,
    ) -> Result<http::HeaderValue, Failure> {
        // A new session id at every login: never the one the browser had.
        if let Some(old) = cookie::read(headers, self.inner.session_cookie) {
            let _ = self.inner.store.delete_session(&sha256(old)).await;
        }
        let provider = record.provider.clone();
        let sub = record
            .claims
            .get("sub")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        let children = record.family.as_ref().map_or(0, |f| f.children().len());
        let session_id = alphanumeric(&*self.inner.random, TOKEN_LEN);
        let value = serde_json::to_vec(&record).map_err(|_| Failure::internal("session record"))?;
        self.inner
            .store
            .create_session(&sha256(&session_id), value, self.inner.idle_timeout)
            .await
            .map_err(Failure::store)?;
        tracing::info!(provider = %provider, "login succeeded");
        self.inner
            .audit
            .record(&crate::filiation::AuditEvent::Login {
                provider,
                sub_hash: sha256(&sub),
                children,
            });
        Ok(self.inner.session_attrs.set(
            self.inner.session_cookie,
            &session_id,
            self.inner.lifetime,
        ))
    }

    async fn logout(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Failure> {
        if !origin::is_same_origin(request.headers(), self.origin()) {
            return Err(Failure::bad_request(
                "Cette demande de déconnexion ne vient pas du service.",
                LoginFailure::CrossOrigin,
            ));
        }
        let mut location = self.inner.after_logout.clone();
        if let Some(id) = cookie::read(request.headers(), self.inner.session_cookie) {
            let key = sha256(id);
            let record = self
                .inner
                .store
                .read_session(&key)
                .await
                .map_err(Failure::store)?;
            self.inner
                .store
                .delete_session(&key)
                .await
                .map_err(Failure::store)?;
            let record = record.and_then(|r| serde_json::from_slice::<SessionRecord>(&r).ok());
            if let Some(record) = record
                && let Some(upstream) = self.upstream(&record.provider)
            {
                let state = alphanumeric(&*self.inner.random, TOKEN_LEN);
                let back = format!("{}{}/logout/callback", self.origin(), self.inner.base_path);
                if let Some(url) = upstream.end_session_url(&record.id_token, &state, &back) {
                    self.inner
                        .store
                        .put_pending(
                            &format!("{LOGOUT_PREFIX}{state}"),
                            Vec::new(),
                            self.inner.login_timeout,
                        )
                        .await
                        .map_err(Failure::store)?;
                    location = url.to_string();
                }
            }
            tracing::info!("logout");
        }
        let mut response = pages::redirect(&location);
        let clear = self.inner.session_attrs.clear(self.inner.session_cookie);
        response.headers_mut().append(header::SET_COOKIE, clear);
        Ok(response)
    }

    /// The provider sends the browser back here after its own logout. The
    /// local session is already gone, so a missing or unknown `state` (some
    /// providers drop it) changes nothing but the log line.
    async fn logout_callback(&self, request: &Request<Bytes>) -> Response<Bytes> {
        let query = Query::parse(request.uri().query());
        match query.get("state") {
            Some(state)
                if state.len() == TOKEN_LEN && state.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                match self
                    .inner
                    .store
                    .take_pending(&format!("{LOGOUT_PREFIX}{state}"))
                    .await
                {
                    Ok(Some(_)) => tracing::info!("logout completed at the provider"),
                    _ => tracing::info!("logout return with an unknown or expired state"),
                }
            }
            _ => tracing::info!("logout return without state"),
        }
        pages::redirect(&self.inner.after_logout)
    }

    fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The session of the request, if its cookie names a live one. Touches
    /// it (idle timeout: extended at most every tenth of it, at most every
    /// minute, by each process); a session past its absolute lifetime is
    /// deleted. The record is read from the store every time, and parsed
    /// again only when it changed.
    ///
    /// An error means the store could not be reached: answer 503 rather
    /// than treating the user as logged out.
    pub async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
        let Some(id) = cookie::read(headers, self.inner.session_cookie) else {
            return Ok(None);
        };
        if id.len() != TOKEN_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let key = sha256(id);
        let Some(bytes) = self.inner.store.read_session(&key).await? else {
            self.inner.parsed_sessions.forget(&key);
            return Ok(None);
        };
        let now = self.inner.clock.unix_seconds();
        let lifetime = i64::try_from(self.inner.lifetime.as_secs()).unwrap_or(i64::MAX);
        let idle = i64::try_from(self.inner.idle_timeout.as_secs()).unwrap_or(i64::MAX);
        let interval = session_cache::touch_interval(idle);
        if let Some(hit) = self.inner.parsed_sessions.get(&key, &bytes, now, interval) {
            if now >= hit.created_at.saturating_add(lifetime) {
                return self.discard_session(&key).await;
            }
            if hit.touch_due {
                self.inner
                    .store
                    .touch_session(&key, self.inner.idle_timeout)
                    .await?;
                if let Some(refreshed) =
                    self.refresh_family(&key, &bytes, &hit.session, now).await?
                {
                    return Ok(Some(refreshed));
                }
            }
            return Ok(Some(hit.session));
        }
        let Ok(record) = serde_json::from_slice::<SessionRecord>(&bytes) else {
            tracing::warn!("unreadable session record, deleting it");
            return self.discard_session(&key).await;
        };
        let created_at = record.created_at;
        if now >= created_at.saturating_add(lifetime) {
            return self.discard_session(&key).await;
        }
        self.inner
            .store
            .touch_session(&key, self.inner.idle_timeout)
            .await?;
        match record.into_session() {
            Ok(session) => {
                // Claims made less than a touch interval ago (a session
                // just created by the login) are as fresh as a refresh.
                if now.saturating_sub(created_at) >= interval
                    && let Some(refreshed) =
                        self.refresh_family(&key, &bytes, &session, now).await?
                {
                    return Ok(Some(refreshed));
                }
                self.inner
                    .parsed_sessions
                    .insert(&key, bytes, session.clone(), created_at, now);
                Ok(Some(session))
            }
            Err(e) => {
                tracing::warn!(error = %e, "session identity unreadable, deleting it");
                self.discard_session(&key).await
            }
        }
    }

    /// Reads the family claims of a session again, as the directory and
    /// the stored links say now (a revoked link, a guardian who lost legal
    /// authority, a pupil who left), when the session is touched: at most
    /// once a minute per process. Returns the session as it now is when
    /// its claims changed (and stores it); `None` when they did not. A
    /// directory or store failure keeps the claims as they were, with a
    /// log line: the next touch tries again.
    async fn refresh_family(
        &self,
        key: &str,
        bytes: &[u8],
        session: &Session,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let Some(old) = session.family() else {
            return Ok(None);
        };
        let current = match self
            .current_family(session.identity(), session.provider())
            .await
        {
            Ok(Some(current)) => current,
            Ok(None) => return Ok(None),
            Err(failure) => {
                tracing::warn!(reason = %failure.reason, "family claims not refreshed");
                return Ok(None);
            }
        };
        if current == *old {
            return Ok(None);
        }
        let Ok(mut record) = serde_json::from_slice::<SessionRecord>(bytes) else {
            return Ok(None);
        };
        let created_at = record.created_at;
        record.family = Some(current);
        let Ok(value) = serde_json::to_vec(&record) else {
            return Ok(None);
        };
        if !self
            .inner
            .store
            .replace_session(key, value.clone(), None)
            .await?
        {
            return Ok(None);
        }
        tracing::info!("family claims of a session changed with the directory or its link");
        match record.into_session() {
            Ok(refreshed) => {
                self.inner
                    .parsed_sessions
                    .insert(key, value, refreshed.clone(), created_at, now);
                Ok(Some(refreshed))
            }
            Err(_) => Ok(None),
        }
    }

    /// Ends the session stored under `key` (expired or unreadable): no
    /// session for this request.
    async fn discard_session(&self, key: &str) -> Result<Option<Session>, StoreError> {
        self.inner.parsed_sessions.forget(key);
        self.inner.store.delete_session(key).await?;
        Ok(None)
    }
}

/// `path` if it is a relative path on this service: starts with one `/`
/// (not `//` nor `/\`, which browsers take for another host), and holds no
/// backslash nor control character.
fn safe_return_to(path: &str) -> Option<&str> {
    let ok = path.len() <= MAX_RETURN_TO
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    ok.then_some(path)
}

fn sha256(value: &str) -> String {
    use base64::Engine;
    let digest = crate::jose::crypto::sha256(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A query string, decoded. A parameter given twice is treated as absent.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .take(32)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        match self.all(name).as_slice() {
            [v] => Some(v),
            _ => None,
        }
    }

    /// Every value of `name`, for a check that must tell "absent" from
    /// "given twice".
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Seconds since the epoch as a `SystemTime`, for [`Session`].
fn system_time(secs: i64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_must_be_a_relative_path() {
        for ok in ["/", "/livret", "/eleves/42?onglet=notes#x", "/a/b/c"] {
            assert_eq!(safe_return_to(ok), Some(ok));
        }
        for bad in [
            "",
            "livret",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/a\\b",
            "/a\nb",
            "/a\tb",
        ] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
        assert_eq!(safe_return_to(&format!("/{}", "a".repeat(3000))), None);
    }

    #[test]
    fn query_parameters_given_twice_are_absent() {
        let q = Query::parse(Some("state=a&state=b&code=c&x=%2Fp"));
        assert_eq!(q.get("state"), None);
        assert_eq!(q.get("code"), Some("c"));
        assert_eq!(q.get("x"), Some("/p"));
    }
}
