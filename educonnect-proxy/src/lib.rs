//! # EduConnect-rs authentication proxy
//!
//! The login through FranceConnect / EduConnect and the family link, in
//! front of a web application that cannot link a library (hosted PHP,
//! closed Java): what `educonnect proxy --config proxy.toml` runs.
//!
//! ```text
//!  browser ──HTTP/1.1, h2c──▶ proxy ──HTTP/1.1 (pooled)──▶ upstream
//!                             │  /auth/*: the gateway's routes (login, callback, logout, jwks)
//!                             │  /auth/check: nginx's auth_request
//!                             │  else: first matching [[rule]], decided by the core
//!                             └─ X-EduConnect-* headers: removed from every request, then set
//! ```
//!
//! - Every header named `X-EduConnect-*` that a client sends is removed
//!   first, on every route, public ones included; the upstream's answer
//!   loses them too.
//! - The decisions are the core's ([`educonnect_core::flow::access`]):
//!   [`RequestAccess::resolve`](educonnect_core::flow::access::RequestAccess::resolve),
//!   its pupil rule and its refusals (login redirect, 401, 403, 404, 503).
//!   This crate reads the configuration, matches paths, and moves bytes.
//! - To the upstream: [`headers::SUBJECT`], [`headers::PROVIDER`],
//!   [`headers::PROFILE`], [`headers::CHILDREN`],
//!   [`headers::LEGAL_AUTHORITY`], [`headers::PUPIL`] and
//!   [`headers::FAMILY_ASSERTION`], a short-lived JWS the upstream verifies
//!   with the gateway's JWKS (`GET /auth/jwks`), in Rust with
//!   [`AssertionVerifier`](educonnect_core::filiation::AssertionVerifier)
//!   or through the C ABI.
//! - Hop-by-hop headers are removed (RFC 9110, 7.6.1); `X-Forwarded-For`,
//!   `-Proto` and `-Host` are set; a WebSocket handshake (HTTP/1.1
//!   `Upgrade`) is passed through and the two connections joined.
//! - Nothing logged names a person, a birth date or holds a token.
//!
//! Not done: an `https://` upstream (forward over loopback or a private
//! network), WebSockets over HTTP/2 (RFC 8441), a pupil named in a body.
#![forbid(unsafe_code)]

pub mod config;
pub mod headers;
pub mod rules;
mod service;
mod upstream;

/// Not part of the API: what the benchmark builds its reference proxy on.
#[doc(hidden)]
pub mod internal {
    pub use crate::upstream::{IDLE_TIMEOUT, Upstream, UpstreamBody, UpstreamError};
}

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use educonnect_core::jose::{Algorithm, SigningKey};
use educonnect_sandbox::Sandbox;
use educonnect_settings::{SettingsError, Setup};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

pub use config::{ConfigError, ProxyConfig};
pub use service::{ORIGINAL_METHOD, ORIGINAL_URI, Proxy, ProxyBody};

/// How long a shutdown waits for requests in flight before it gives up on
/// them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The proxy could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The gateway's settings could not be set up (a socket, the sandbox,
    /// a store, the directory).
    #[error("{0}")]
    Settings(#[from] SettingsError),
    /// The assertion key file could not be read or is not a private JWK.
    #[error("assertion key {file}: {reason}")]
    Key {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A proxy ready to serve: its socket bound, its gateway built (and the
/// in-process sandbox started, when the configuration names no provider).
pub struct Started {
    /// The proxy.
    pub proxy: Proxy,
    /// The bound socket.
    pub listener: TcpListener,
    /// The service's URL as browsers see it.
    pub public_url: String,
    /// The in-process sandbox, kept alive with the proxy.
    sandbox: Option<Sandbox>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("proxy", &self.proxy)
            .field("public_url", &self.public_url)
            .field("sandbox", &self.sandbox.is_some())
            .finish_non_exhaustive()
    }
}

impl Started {
    /// Binds, sets the gateway up and builds the proxy for `config`.
    pub async fn new(config: &ProxyConfig) -> Result<Self, StartError> {
        let key = match &config.assertion.key_file {
            Some(file) => {
                let bad = |reason: String| StartError::Key {
                    file: file.clone(),
                    reason,
                };
                let json = std::fs::read(file).map_err(|e| bad(e.to_string()))?;
                SigningKey::from_jwk_json(&json).map_err(|e| bad(e.to_string()))?
            }
            None => {
                // A key of this process: its kid tells restarts apart.
                let started = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs();
                SigningKey::generate(Algorithm::ES256, format!("proxy-{started}")).map_err(|e| {
                    StartError::Key {
                        file: PathBuf::from("(generated)"),
                        reason: e.to_string(),
                    }
                })?
            }
        };
        let Setup {
            listener,
            public_url,
            gateway,
            sandbox,
            ..
        } = Setup::new_with(config.settings.clone(), |builder| {
            builder.assertion_key(key)
        })
        .await?;
        Ok(Self {
            proxy: Proxy::new(gateway, config),
            listener,
            public_url,
            sandbox,
        })
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets requests in flight
    /// finish (at most [`SHUTDOWN_GRACE`]).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Self {
            proxy,
            listener,
            sandbox,
            ..
        } = self;
        let result = serve(proxy, listener, shutdown).await;
        drop(sandbox);
        result
    }
}

/// Accepts connections on `listener` (HTTP/1.1, and HTTP/2 with prior
/// knowledge) for `proxy` until `shutdown` completes; then stops
/// accepting, asks every connection to close after its requests in
/// flight, and waits for them (at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    proxy: Proxy,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, a connection reset before
                        // accept: wait a little, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let proxy = proxy.clone();
                // The client's address as `X-Forwarded-For` writes it, once.
                let client = headers::ClientAddr::new(remote.ip());
                let service = hyper::service::service_fn(move |request| {
                    let (proxy, client) = (proxy.clone(), client.clone());
                    async move { Ok::<_, std::convert::Infallible>(proxy.handle_from(request, &client).await) }
                });
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing the requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still in flight after {} s: stopping anyway", SHUTDOWN_GRACE.as_secs());
        }
    }
    Ok(())
}

/// Completes at the first SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
