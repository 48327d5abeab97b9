//! A provider's keys over real HTTP on loopback (wiremock plays the JWKS
//! endpoint): caching by `cache-control`, refetch on an unknown `kid` (key
//! rotation), its rate limit, and stale keys kept when the provider fails.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use educonnect_core::Clock;
use educonnect_core::FixedClock;
use educonnect_core::jose::{self, Algorithm, HmacSecret, Validation};
use educonnect_core::{KeyFetchError, ProviderKeys, ProviderTokenError};
use educonnect_core::{ReqwestClient, Timeouts};
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug)]
struct TestClock(Mutex<SystemTime>);

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(UNIX_EPOCH + Duration::from_secs(NOW))))
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

async fn serve(server: &MockServer, body: String, cache_control: &str) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("cache-control", cache_control)
                .set_body_raw(body, "application/json"),
        )
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

fn validation() -> Validation {
    Validation::new(ISSUER, CLIENT_ID)
        .algorithms(Algorithm::ALL)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
}

fn provider_keys(server: &MockServer, clock: Arc<TestClock>) -> ProviderKeys {
    let http = Arc::new(ReqwestClient::new(Timeouts::default()).unwrap());
    let uri = format!("{}/jwks", server.uri()).parse().unwrap();
    ProviderKeys::remote(uri, http, clock)
}

async fn verify(keys: &ProviderKeys, token: &str) -> Result<Value, ProviderTokenError> {
    keys.verify::<Value>(token, &validation())
        .await
        .map(|v| v.into_claims())
}

#[tokio::test]
async fn keys_are_cached_for_max_age_then_refetched() {
    let server = MockServer::start().await;
    let key = TestKey::new(Algorithm::ES256, "pkcs11:ES256:hsm");
    serve(&server, jwks(&[&key]), "public, max-age=600").await;
    let clock = TestClock::new();
    let keys = provider_keys(&server, clock.clone());

    let token = key.sign(&id_token_claims());
    verify(&keys, &token).await.unwrap();
    verify(&keys, &token).await.unwrap();
    assert_eq!(requests(&server).await, 1, "cached");
    clock.advance(Duration::from_secs(599));
    verify(&keys, &token).await.unwrap();
    assert_eq!(requests(&server).await, 1, "still fresh");
    clock.advance(Duration::from_secs(2));
    verify(&keys, &token).await.unwrap();
    assert_eq!(requests(&server).await, 2, "refetched after max-age");
}

#[tokio::test]
async fn key_rotation_is_survived_by_one_refetch() {
    let server = MockServer::start().await;
    let old = TestKey::new(Algorithm::ES256, "pkcs11:ES256:hsm");
    let new = TestKey::new(Algorithm::ES256, "pkcs11:ES256:hsm-2");
    serve(&server, jwks(&[&old]), "public, max-age=600").await;
    let keys = provider_keys(&server, TestClock::new());
    verify(&keys, &old.sign(&id_token_claims())).await.unwrap();

    // The provider rotates: the next token names a kid the cache lacks.
    serve(&server, jwks(&[&new]), "public, max-age=600").await;
    let claims = verify(&keys, &new.sign(&id_token_claims())).await.unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(requests(&server).await, 1, "exactly one refetch");
    // The old key is gone with the rotation.
    assert!(matches!(
        verify(&keys, &old.sign(&id_token_claims())).await,
        Err(ProviderTokenError::Token(jose::Error::NoMatchingKey { .. }))
    ));
}

#[tokio::test]
async fn refetches_for_unknown_kids_are_rate_limited() {
    let server = MockServer::start().await;
    let key = TestKey::new(Algorithm::ES256, "known");
    serve(&server, jwks(&[&key]), "public, max-age=600").await;
    let clock = TestClock::new();
    let keys = provider_keys(&server, clock.clone());
    verify(&keys, &key.sign(&id_token_claims())).await.unwrap();

    let stranger = TestKey::new(Algorithm::ES256, "made-up");
    for _ in 0..20 {
        let result = verify(&keys, &stranger.sign(&id_token_claims())).await;
        assert!(matches!(
            result,
            Err(ProviderTokenError::Token(jose::Error::NoMatchingKey { kid: Some(ref k) })) if k == "made-up"
        ));
    }
    // The first unknown kid refetched once; the next 19 did not.
    assert_eq!(requests(&server).await, 2);
    clock.advance(Duration::from_secs(61));
    verify(&keys, &stranger.sign(&id_token_claims()))
        .await
        .unwrap_err();
    verify(&keys, &stranger.sign(&id_token_claims()))
        .await
        .unwrap_err();
    assert_eq!(requests(&server).await, 3, "one more after the interval");
}

#[tokio::test]
async fn stale_keys_are_kept_when_the_provider_fails() {
    let server = MockServer::start().await;
    let key = TestKey::new(Algorithm::EdDSA, "ed");
    serve(&server, jwks(&[&key]), "max-age=60").await;
    let clock = TestClock::new();
    let keys = provider_keys(&server, clock.clone());
    verify(&keys, &key.sign(&id_token_claims())).await.unwrap();

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    clock.advance(Duration::from_secs(120));
    verify(&keys, &key.sign(&id_token_claims())).await.unwrap();
    assert_eq!(requests(&server).await, 1, "a refresh was tried");
}

#[tokio::test]
async fn a_provider_without_usable_keys_is_an_error() {
    let server = MockServer::start().await;
    let key = TestKey::new(Algorithm::ES256, "k");
    let token = key.sign(&id_token_claims());
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let keys = provider_keys(&server, TestClock::new());
    assert!(matches!(
        verify(&keys, &token).await,
        Err(ProviderTokenError::Keys(KeyFetchError::Status(500)))
    ));
    serve(&server, "<html>not json</html>".into(), "no-store").await;
    assert!(matches!(
        verify(&keys, &token).await,
        Err(ProviderTokenError::Keys(KeyFetchError::Invalid(_)))
    ));
    // A redirect is not followed.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://127.0.0.1:1/jwks"),
        )
        .mount(&server)
        .await;
    assert!(matches!(
        verify(&keys, &token).await,
        Err(ProviderTokenError::Keys(KeyFetchError::Status(302)))
    ));
}

#[tokio::test]
async fn slow_or_unreachable_providers_time_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let http = Arc::new(
        ReqwestClient::new(Timeouts {
            connect: Duration::from_millis(300),
            total: Duration::from_millis(300),
        })
        .unwrap(),
    );
    let uri = format!("{}/jwks", server.uri()).parse().unwrap();
    let keys = ProviderKeys::remote(uri, http, TestClock::new());
    let started = std::time::Instant::now();
    assert!(matches!(
        keys.current().await,
        Err(KeyFetchError::Http(educonnect_core::HttpError::Timeout))
    ));
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn the_hmac_secret_joins_fetched_keys() {
    let server = MockServer::start().await;
    let es = TestKey::new(Algorithm::ES256, "es");
    let hs = TestKey::new(Algorithm::HS256, "ignored");
    serve(&server, jwks(&[&es]), "max-age=600").await;
    let keys = provider_keys(&server, TestClock::new())
        .with_hmac_secret(HmacSecret::new(HMAC_SECRET).unwrap());
    verify(&keys, &hs.sign(&id_token_claims())).await.unwrap();
    verify(&keys, &es.sign(&id_token_claims())).await.unwrap();
}
