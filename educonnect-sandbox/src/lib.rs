//! # EduConnect-rs sandbox
//!
//! An offline OpenID Connect provider that behaves like **FranceConnect v2**
//! and like **EduConnect's OIDC endpoint**, with fictitious identities and a
//! demo school directory, for examples, tests and local development.
//!
//! **Development and tests only, never production.** Its keys are public
//! (the RSA key is committed in this crate, `keys/demo-rsa2048.pk8`), it
//! logs anyone in as anyone with one click, and it keeps everything in
//! memory. It only listens on loopback addresses.
//!
//! ## What it does
//!
//! - [`Sandbox::start`] serves, on `http://127.0.0.1:<port>`:
//!   - FranceConnect v2 under `/api/v2`: discovery, JWKS (one ES256 and one
//!     RS256 key), `/authorize` (an identity picker in French), `/token`
//!     (`client_secret_post`, PKCE S256, single-use codes valid 30 s),
//!     `/userinfo` (a signed JWT with the identité pivot of the granted
//!     scopes), `/session/end`;
//!   - EduConnect under `/idp/profile/oidc`: `authorize`, `token`,
//!     `userinfo` (JSON, `FrEduCt*` claims with `{AAF}` ids into the demo
//!     directory), `logout`, and `jwks`.
//! - Redirect URIs and post-logout redirect URIs are registered in the
//!   [`SandboxConfig`] and compared exactly; anything else gets an error
//!   page, never a redirect.
//! - [`demo`] lists the identities and, for FranceConnect parents, the
//!   answers to the gateway's birth-date challenge.
//! - [`demo_directory`] loads the demo AAF and SIECLE exports (committed
//!   under `demo/`) through the core's importers.
//! - [`agent::Agent`] logs a demo identity in to a service over HTTP, as a
//!   browser would, for the service's own tests.
//!
//! ```no_run
//! use std::sync::Arc;
//! use educonnect_core::MemoryStore;
//! use educonnect_core::flow::Gateway;
//! use educonnect_sandbox::{Sandbox, SandboxConfig};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start(
//!     SandboxConfig::new().redirect_uri("http://localhost:3000/auth/callback"),
//! )
//! .await?;
//! let gateway = Gateway::builder("http://localhost:3000")?
//!     .provider(sandbox.provider_franceconnect())
//!     .provider(sandbox.provider_educonnect())
//!     .directory(educonnect_sandbox::demo_directory()?)
//!     .store(Arc::new(MemoryStore::new()))
//!     .insecure_cookies_for_local_development()
//!     .build()?;
//! // ... serve the gateway, log in as a demo identity ...
//! sandbox.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Logging
//!
//! The sandbox logs with `tracing` why it refused a request and which demo
//! identity was chosen (demo data only); never a code, a token or a secret.
#![forbid(unsafe_code)]

pub mod agent;
pub mod demo;
mod directory;
mod keys;
mod pages;
mod server;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use educonnect_core::flow::{ClientSecret, Provider};
use educonnect_core::jose::{Algorithm, DecryptionKeys, SigningKey};
use educonnect_core::provider::{ConfigError, EduConnect, FranceConnect};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use directory::{
    DEMO_ACADEMIES, DEMO_SIECLE_SCHOOL, DEMO_SIECLE_UAI, DemoDirectory, DemoDirectoryError,
    demo_directory,
};

/// The client id the sandbox knows by default.
pub const DEMO_CLIENT_ID: &str = "educonnect-rs-sandbox-client";
/// The client secret the sandbox knows by default. Public: demo only.
pub const DEMO_CLIENT_SECRET: &str = "educonnect-rs-sandbox-secret-not-for-production";

/// How the sandbox is set up: where it listens, the one client it knows,
/// where it may send browsers back, and how it signs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    listen: SocketAddr,
    client_id: String,
    client_secret: ClientSecret,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    algorithm: Algorithm,
    code_lifetime: Option<Duration>,
    access_token_lifetime: Option<Duration>,
    plus_client_jwks: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxConfig {
    /// `127.0.0.1`, a free port, the demo client ([`DEMO_CLIENT_ID`],
    /// [`DEMO_CLIENT_SECRET`]), no redirect URI yet, ES256 signatures.
    pub fn new() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            client_id: DEMO_CLIENT_ID.to_owned(),
            client_secret: ClientSecret::new(DEMO_CLIENT_SECRET),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            algorithm: Algorithm::ES256,
            code_lifetime: None,
            access_token_lifetime: None,
            plus_client_jwks: None,
        }
    }

    /// The address to listen on; it must be a loopback address (port 0 picks
    /// a free port).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The client id and secret the sandbox accepts. The secret is kept out
    /// of `Debug` output.
    #[must_use]
    pub fn client(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.client_id = id.into();
        self.client_secret = ClientSecret::new(secret);
        self
    }

    /// Registers a redirect URI (compared exactly, as FranceConnect does).
    #[must_use]
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers a post-logout redirect URI (compared exactly).
    #[must_use]
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Registers the callback and logout return of a gateway at
    /// `public_url` with the default base path: `{public_url}/auth/callback`
    /// and `{public_url}/auth/logout/callback`.
    #[must_use]
    pub fn gateway(self, public_url: &str) -> Self {
        let base = public_url.trim_end_matches('/');
        self.redirect_uri(format!("{base}/auth/callback"))
            .post_logout_redirect_uri(format!("{base}/auth/logout/callback"))
    }

    /// The algorithm of FranceConnect ID tokens and userinfo: ES256
    /// (default, as FranceConnect recommends) or RS256.
    #[must_use]
    pub fn signing_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// How long an authorization code may be exchanged (default 30 s, as
    /// FranceConnect). Zero makes every code arrive expired: for tests of
    /// a relying party's error path.
    #[must_use]
    pub fn code_lifetime(mut self, lifetime: Duration) -> Self {
        self.code_lifetime = Some(lifetime);
        self
    }

    /// How long an access token opens the userinfo endpoint (default 60 s
    /// for FranceConnect, 600 s for EduConnect, as each does). Zero makes
    /// every token arrive expired.
    #[must_use]
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = Some(lifetime);
        self
    }

    /// Makes the FranceConnect side FranceConnect+ (eIDAS substantial and
    /// high), over the same `/api/v2` endpoints: `acr_values` `eidas2` or
    /// `eidas3` (the highest asked is granted), `private_key_jwt` client
    /// authentication only, ES256 signatures, and the ID token and userinfo
    /// encrypted (A256GCM, nested JWTs) to the first `use: enc` key the
    /// client publishes at `client_jwks_uri` (a gateway's
    /// `{public_url}/auth/jwks`), fetched at each code exchange. Needs the
    /// aws-lc-rs crypto provider.
    #[must_use]
    pub fn franceconnect_plus(mut self, client_jwks_uri: impl Into<String>) -> Self {
        self.plus_client_jwks = Some(client_jwks_uri.into());
        self
    }

    fn check(&self) -> io::Result<()> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        if !self.listen.ip().is_loopback() {
            return Err(invalid(format!(
                "the sandbox listens on loopback addresses only, not {}",
                self.listen.ip()
            )));
        }
        if !matches!(self.algorithm, Algorithm::ES256 | Algorithm::RS256) {
            return Err(invalid("the sandbox signs with ES256 or RS256".into()));
        }
        if let Some(uri) = &self.plus_client_jwks {
            if !educonnect_core::jose::CryptoProvider::current().decrypts_tokens() {
                return Err(invalid(
                    "FranceConnect+ mode encrypts tokens and needs the aws-lc-rs crypto provider; \
                     this build uses ring"
                        .into(),
                ));
            }
            if !Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(invalid(format!("not an http(s) URL: {uri}")));
            }
        }
        if self.client_id.is_empty() || self.client_secret.secret().is_empty() {
            return Err(invalid("the client id and secret must not be empty".into()));
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            let ok = Url::parse(uri).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https") && u.has_host() && u.fragment().is_none()
            });
            if !ok {
                return Err(invalid(format!(
                    "not an absolute http(s) URL without fragment: {uri}"
                )));
            }
        }
        Ok(())
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A running sandbox. Dropping it stops the server too;
/// [`shutdown`](Self::shutdown) also waits for it to finish.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    base_url: String,
    client_id: String,
    client_secret: ClientSecret,
    shared: Arc<server::Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Sandbox {
    /// Binds the configured loopback address and serves in a task of the
    /// current tokio runtime (call it from inside one).
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] for a configuration that
    /// is not acceptable (a non-loopback address, a malformed redirect URI,
    /// an algorithm other than ES256 or RS256), or with the bind error.
    pub async fn start(config: SandboxConfig) -> io::Result<Sandbox> {
        config.check()?;
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let settings = server::Settings {
            base_url: base_url.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_uris: config.redirect_uris,
            post_logout_redirect_uris: config.post_logout_redirect_uris,
            // FranceConnect+ signs with ES256 only.
            algorithm: if config.plus_client_jwks.is_some() {
                Algorithm::ES256
            } else {
                config.algorithm
            },
            code_ttl: config.code_lifetime.map_or(server::CODE_TTL, seconds),
            access_token_ttl: match config.access_token_lifetime {
                Some(lifetime) => (seconds(lifetime), seconds(lifetime)),
                None => (server::FC_ACCESS_TOKEN_TTL, server::EC_ACCESS_TOKEN_TTL),
            },
            plus_client_jwks: config.plus_client_jwks,
        };
        let shared = Arc::new(server::Shared::new(settings, keys::Keys::new()?));
        let app = server::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Resolves on `shutdown` and when the handle is dropped.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Sandbox {
            addr,
            base_url,
            client_id: config.client_id,
            client_secret: config.client_secret,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// How many logins have not been ended at the provider yet: ID tokens
    /// issued and still accepted as `id_token_hint` by the logout endpoint.
    /// For tests that check a logout reached the provider.
    pub fn open_sessions(&self) -> usize {
        self.shared.open_sessions()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The FranceConnect v2 issuer, `{base}/api/v2`.
    pub fn franceconnect_issuer(&self) -> String {
        format!("{}/api/v2", self.base_url)
    }

    /// The EduConnect base URL, `{base}/idp` (also its issuer).
    pub fn educonnect_base(&self) -> String {
        format!("{}/idp", self.base_url)
    }

    /// The client id it accepts.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret it accepts.
    pub fn client_secret(&self) -> &str {
        self.client_secret.secret()
    }

    /// A FranceConnect provider for the gateway, logging in against this
    /// sandbox: the identité pivot, the usage name and the email.
    pub fn provider_franceconnect(&self) -> Provider {
        let preset = FranceConnect::custom(&self.franceconnect_issuer())
            .expect("a loopback http issuer is accepted")
            .with_usage_name()
            .with_email();
        Provider::franceconnect(preset, self.client_id.clone(), self.client_secret.clone())
    }

    /// A FranceConnect+ provider for the gateway, logging in against this
    /// sandbox started with [`SandboxConfig::franceconnect_plus`]: `eidas2`,
    /// the pivot identity, `client_key` for `private_key_jwt` and
    /// `decryption` for the encrypted tokens. The gateway publishes both at
    /// `{public_url}/auth/jwks`, where the sandbox fetches them.
    pub fn provider_franceconnect_plus(
        &self,
        client_key: SigningKey,
        decryption: DecryptionKeys,
    ) -> Result<Provider, ConfigError> {
        let preset = FranceConnect::plus_custom(&self.franceconnect_issuer())?;
        Provider::franceconnect_plus(preset, self.client_id.clone(), client_key, decryption)
    }

    /// An EduConnect provider for the gateway, logging in against this
    /// sandbox, with its keys fetched from `{base}/idp/profile/oidc/jwks`.
    pub fn provider_educonnect(&self) -> Provider {
        let base = self.educonnect_base();
        let jwks = Url::parse(&format!("{base}/profile/oidc/jwks")).expect("a valid URL");
        let preset = EduConnect::at_base(&base)
            .and_then(|p| p.with_jwks(jwks))
            .expect("a loopback http base is accepted");
        Provider::educonnect(preset, self.client_id.clone(), self.client_secret.clone())
    }

    /// Stops accepting connections, lets requests in flight finish, and
    /// waits for the server task.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}
