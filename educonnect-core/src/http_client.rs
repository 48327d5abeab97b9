//! Outbound HTTP, behind a trait: the core never opens a socket itself.
//!
//! The gateway talks to identity providers (discovery, JWKS, token and
//! userinfo endpoints) only through [`HttpClient`]. Tests plug in a client
//! pointed at a local provider; services use [`ReqwestClient`] (default
//! feature `reqwest`) or their own.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

/// An HTTP request as the gateway sends it.
pub type HttpRequest = http::Request<Vec<u8>>;
/// An HTTP response as the gateway reads it.
pub type HttpResponse = http::Response<Vec<u8>>;

/// Largest response body read from a provider: 1 MiB, far above any real
/// discovery document, key set or token response.
pub const MAX_RESPONSE_LEN: usize = 1024 * 1024;

/// Sends one request and returns the response, whatever its status.
///
/// Implementations must not follow redirects (a provider endpoint that
/// redirects is misconfigured or compromised), must bound the time spent
/// connecting and the time of the whole exchange, and must refuse bodies
/// over [`MAX_RESPONSE_LEN`].
#[async_trait]
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// Sends `request`.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// Why an outbound request got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Connecting, or the whole exchange, took longer than allowed.
    #[error("request timed out")]
    Timeout,
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The response body is larger than [`MAX_RESPONSE_LEN`].
    #[error("response body larger than {MAX_RESPONSE_LEN} bytes")]
    TooLarge,
    /// Anything else the client reports.
    #[error("HTTP client error: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Timeouts for [`ReqwestClient`].
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Time allowed to establish the connection (default 3 s).
    pub connect: Duration,
    /// Time allowed for the whole request and response (default 10 s).
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            total: Duration::from_secs(10),
        }
    }
}

#[cfg(feature = "reqwest")]
pub use self::reqwest_client::ReqwestClient;

#[cfg(feature = "reqwest")]
mod reqwest_client {
    use super::*;

    /// [`HttpClient`] on `reqwest` (rustls): timeouts on connect and on the
    /// whole request, no redirects followed, bodies capped.
    ///
    /// It needs a Tokio runtime to run on, as `reqwest` does.
    #[derive(Debug, Clone)]
    pub struct ReqwestClient {
        client: reqwest::Client,
    }

    impl ReqwestClient {
        /// A client with these timeouts.
        pub fn new(timeouts: Timeouts) -> Result<Self, HttpError> {
            let client = reqwest::Client::builder()
                .connect_timeout(timeouts.connect)
                .timeout(timeouts.total)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("educonnect-rs/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| HttpError::Other(Box::new(e)))?;
            Ok(Self { client })
        }
    }

    fn classify(e: reqwest::Error) -> HttpError {
        if e.is_timeout() {
            HttpError::Timeout
        } else if e.is_connect() || e.is_request() || e.is_body() {
            HttpError::Connect(Box::new(e))
        } else {
            HttpError::Other(Box::new(e))
        }
    }

    #[async_trait]
    impl HttpClient for ReqwestClient {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
            let request =
                reqwest::Request::try_from(request).map_err(|e| HttpError::Other(Box::new(e)))?;
            let mut response = self.client.execute(request).await.map_err(classify)?;
            if response
                .content_length()
                .is_some_and(|len| len > MAX_RESPONSE_LEN as u64)
            {
                return Err(HttpError::TooLarge);
            }
            let mut builder = http::Response::builder().status(response.status());
            if let Some(headers) = builder.headers_mut() {
                *headers = std::mem::take(response.headers_mut());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > MAX_RESPONSE_LEN {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            builder
                .body(body)
                .map_err(|e| HttpError::Other(Box::new(e)))
        }
    }
}
