//! A provider's signing keys, fetched from its JWKS endpoint and cached.
//!
//! Keys are kept for the `max-age` the provider announces in `cache-control`
//! (FranceConnect: 600 s) and fetched again after. A token naming a `kid`
//! that the cache does not hold triggers one refetch, because that is how a
//! provider's key rotation shows up; refetches for that reason are
//! rate-limited, so that tokens with made-up `kid`s cannot turn the gateway
//! into a flood of requests to the provider. When a refresh fails, the keys
//! already held stay in use.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::http_client::{HttpClient, HttpError};
use crate::jose::{self, HmacSecret, KeySet, Validation, Verified};

/// How long keys are kept when the provider sends no `cache-control`.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// Longest time keys are kept, whatever the provider announces.
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Default shortest interval between two refetches caused by an unknown `kid`.
pub(crate) const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Why the keys could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFetchError {
    /// The request failed.
    #[error("fetching the JWKS failed: {0}")]
    Http(#[from] HttpError),
    /// The endpoint answered with an error status.
    #[error("the JWKS endpoint answered HTTP {0}")]
    Status(u16),
    /// The document is not a usable JWKS.
    #[error("the JWKS is invalid: {0}")]
    Invalid(jose::Error),
}

/// Why a token from a provider was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderTokenError {
    /// The token was refused.
    #[error(transparent)]
    Token(#[from] jose::Error),
    /// The keys to check it could not be had.
    #[error(transparent)]
    Keys(#[from] KeyFetchError),
}

/// The keys that verify one provider's tokens.
#[derive(Debug)]
pub struct ProviderKeys {
    source: Source,
    hmac: Option<HmacSecret>,
    clock: Arc<dyn Clock>,
    refetch_interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
enum Source {
    /// Keys given by configuration; never refetched.
    Fixed,
    /// Keys fetched from a JWKS endpoint.
    Remote {
        uri: http::Uri,
        http: Arc<dyn HttpClient>,
    },
}

#[derive(Debug, Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    expires_at: Option<SystemTime>,
    /// When a token's unknown `kid` last caused a refetch. Regular refreshes
    /// do not count, so a rotation right after one is still picked up.
    last_kid_refetch: Option<SystemTime>,
}

impl ProviderKeys {
    /// Keys fetched from `jwks_uri` through `http`, on first use.
    pub fn remote(jwks_uri: http::Uri, http: Arc<dyn HttpClient>, clock: Arc<dyn Clock>) -> Self {
        Self {
            source: Source::Remote {
                uri: jwks_uri,
                http,
            },
            hmac: None,
            clock,
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
            state: Mutex::new(State::default()),
        }
    }

    /// Keys given by configuration, for a provider that publishes no JWKS.
    pub fn fixed(keys: KeySet, clock: Arc<dyn Clock>) -> Self {
        Self {
            source: Source::Fixed,
            hmac: None,
            clock,
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
            state: Mutex::new(State {
                keys: Some(Arc::new(keys)),
                ..State::default()
            }),
        }
    }

    /// Adds the HS256 secret (FranceConnect's client secret, for clients that
    /// still receive HS256 tokens). It is joined to every key set fetched.
    #[must_use]
    pub fn with_hmac_secret(mut self, secret: HmacSecret) -> Self {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(keys) = &state.keys {
            state.keys = Some(Arc::new(
                KeySet::clone(keys).with_hmac_secret(secret.clone()),
            ));
        }
        self.hmac = Some(secret);
        self
    }

    /// Replaces the shortest interval between two refetches caused by an
    /// unknown `kid` (default 60 s).
    #[must_use]
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a cache: a panic elsewhere cannot leave it inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current keys, fetched if none are held or they are past their
    /// `max-age`. Stale keys are kept when the refresh fails.
    pub async fn current(&self) -> Result<Arc<KeySet>, KeyFetchError> {
        let now = self.clock.now();
        let held = {
            let state = self.lock();
            match (&state.keys, state.expires_at) {
                (Some(keys), None) => return Ok(keys.clone()),
                (Some(keys), Some(at)) if now < at => return Ok(keys.clone()),
                (keys, _) => keys.clone(),
            }
        };
        match self.fetch().await {
            Ok(keys) => Ok(keys),
            Err(e) => match held {
                Some(stale) => {
                    tracing::warn!(error = %e, "JWKS refresh failed, keeping the keys already held");
                    Ok(stale)
                }
                None => Err(e),
            },
        }
    }

    /// Verifies `token` with these keys; when it names a `kid` that is not
    /// held, refetches the JWKS once (rate-limited) and tries again.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<Verified<T>, ProviderTokenError> {
        let keys = self.current().await?;
        match validation.verify(token, &keys) {
            Err(jose::Error::NoMatchingKey { kid: Some(kid) }) if self.may_refetch(&keys, &kid) => {
                tracing::info!("token names an unknown kid, refetching the provider's JWKS");
                let keys = self.fetch().await?;
                Ok(validation.verify(token, &keys)?)
            }
            other => Ok(other?),
        }
    }

    /// Whether an unknown `kid` may cause a refetch now; if so, counts it.
    fn may_refetch(&self, keys: &KeySet, kid: &str) -> bool {
        if matches!(self.source, Source::Fixed) || keys.contains_kid(kid) {
            return false;
        }
        let now = self.clock.now();
        let mut state = self.lock();
        let allowed = state.last_kid_refetch.is_none_or(|last| {
            now.duration_since(last).unwrap_or(Duration::ZERO) >= self.refetch_interval
        });
        if allowed {
            state.last_kid_refetch = Some(now);
        }
        allowed
    }

    async fn fetch(&self) -> Result<Arc<KeySet>, KeyFetchError> {
        let Source::Remote { uri, http } = &self.source else {
            let state = self.lock();
            return Ok(state.keys.clone().unwrap_or_default());
        };
        let started = self.clock.now();
        let request = http::Request::get(uri.clone())
            .header(
                http::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .body(Vec::new())
            .map_err(|e| HttpError::Other(Box::new(e)))?;
        let response = http.send(request).await?;
        if !response.status().is_success() {
            return Err(KeyFetchError::Status(response.status().as_u16()));
        }
        let max_age = max_age(response.headers());
        let mut keys = KeySet::from_jwks_json(response.body()).map_err(KeyFetchError::Invalid)?;
        for skipped in keys.skipped() {
            tracing::debug!(index = skipped.index, reason = %skipped.reason, "JWKS key skipped");
        }
        if let Some(secret) = &self.hmac {
            keys = keys.with_hmac_secret(secret.clone());
        }
        let keys = Arc::new(keys);
        let mut state = self.lock();
        state.keys = Some(keys.clone());
        state.expires_at = Some(started + max_age);
        Ok(keys)
    }
}

/// `max-age` from `cache-control`, bounded; `no-store`/`no-cache` mean zero.
fn max_age(headers: &http::HeaderMap) -> Duration {
    let Some(value) = headers
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = DEFAULT_MAX_AGE;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(secs) = lower.strip_prefix("max-age=")
            && let Ok(secs) = secs.trim_matches('"').parse::<u64>()
        {
            age = Duration::from_secs(secs);
        }
    }
    age.min(MAX_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CACHE_CONTROL, value.parse().unwrap());
        h
    }

    #[test]
    fn reads_max_age() {
        assert_eq!(
            max_age(&headers("public, max-age=600")),
            Duration::from_secs(600)
        );
        assert_eq!(max_age(&headers("no-store")), Duration::ZERO);
        assert_eq!(max_age(&headers("max-age=99999999")), MAX_MAX_AGE);
        assert_eq!(max_age(&headers("max-age=abc")), DEFAULT_MAX_AGE);
        assert_eq!(max_age(&http::HeaderMap::new()), DEFAULT_MAX_AGE);
    }
}
