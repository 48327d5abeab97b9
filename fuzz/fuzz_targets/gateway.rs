//! The login gateway's untrusted inputs: the request target (path and query)
//! and cookies a browser sends, and the token and userinfo responses a
//! provider sends back. A login is started first, so that `STATE` and
//! `COOKIE` in the input can stand for its live state and cookie and the
//! callback gets past the state check into the code exchange.
//!
//! Then the decisions the framework adapters take for a pupil route: the
//! target's last segment as the pupil, the cookie as the session.
//!
//! Input: four parts separated by a 0xFF byte: request target, Cookie
//! header, token endpoint body, userinfo body.
#![no_main]

use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use educonnect_core::directory::PupilId;
use educonnect_core::flow::access::{PupilRight, RequestAccess, WhenAnonymous};
use educonnect_core::flow::{ClientSecret, Gateway, Provider};
use educonnect_core::jose::KeySet;
use educonnect_core::provider::FranceConnect;
use educonnect_core::{FixedClock, MemoryStore};
use educonnect_core::{HttpClient, HttpError, HttpRequest, HttpResponse};
use libfuzzer_sys::fuzz_target;

/// A provider that answers whatever the fuzzer put in the input.
#[derive(Debug, Default)]
struct Scripted {
    token: Mutex<Vec<u8>>,
    userinfo: Mutex<Vec<u8>>,
}

#[async_trait]
impl HttpClient for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (body, content_type) = if request.uri().path().ends_with("/token") {
            (self.token.lock().unwrap().clone(), "application/json")
        } else {
            (self.userinfo.lock().unwrap().clone(), "application/jwt")
        };
        Ok(http::Response::builder()
            .status(200)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap())
    }
}

struct World {
    runtime: tokio::runtime::Runtime,
    provider: Arc<Scripted>,
    gateway: Gateway,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let provider = Arc::new(Scripted::default());
    let jwks = educonnect_fuzz::fixture().1.to_jwks_json();
    let gateway = Gateway::builder("https://ent.example.fr")
        .unwrap()
        .provider(
            Provider::franceconnect(
                FranceConnect::custom(educonnect_fuzz::ISSUER).unwrap(),
                educonnect_fuzz::AUDIENCE,
                ClientSecret::new(String::from_utf8_lossy(educonnect_fuzz::HMAC_SECRET)),
            )
            .with_keys(KeySet::from_jwks_json(jwks.as_bytes()).unwrap())
            .allow_hs256_with_client_secret(),
        )
        .store(Arc::new(MemoryStore::new()))
        .http_client(provider.clone())
        .clock(Arc::new(FixedClock::at_unix(educonnect_fuzz::NOW)))
        .build()
        .unwrap();
    World {
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
        provider,
        gateway,
    }
});

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xff);
    let target = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let cookie = parts.next().unwrap_or_default().to_vec();
    *WORLD.provider.token.lock().unwrap() = parts.next().unwrap_or_default().to_vec();
    *WORLD.provider.userinfo.lock().unwrap() = parts.next().unwrap_or_default().to_vec();

    WORLD.runtime.block_on(async {
        let login = WORLD
            .gateway
            .handle(
                http::Request::get("/auth/login")
                    .body(Bytes::new())
                    .unwrap(),
            )
            .await;
        let location = login.headers()[http::header::LOCATION].to_str().unwrap();
        let state = url::Url::parse(location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let login_cookie = login.headers()[http::header::SET_COOKIE].to_str().unwrap();
        let login_cookie = login_cookie.split(';').next().unwrap();

        let target = target.replace("STATE", &state);
        let cookie = String::from_utf8_lossy(&cookie).replace("COOKIE", login_cookie);
        let mut request = http::Request::get("/");
        // What a browser could not send, a server would not pass on either.
        if let Ok(uri) = target.parse::<http::Uri>() {
            request = request.uri(uri);
        }
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            request = request.header(http::header::COOKIE, value);
        }
        let response = WORLD
            .gateway
            .handle(request.body(Bytes::new()).unwrap())
            .await;
        assert!(response.status().as_u16() < 500 || response.status() == 503);
        let _ = WORLD.gateway.session(response.headers()).await;

        // What the framework adapters decide for a pupil route whose
        // segment is the target's last one, with the browser's cookie.
        let mut headers = http::HeaderMap::new();
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            headers.insert(http::header::COOKIE, value);
        }
        let access = RequestAccess::resolve(
            &WORLD.gateway,
            &http::Method::GET,
            &headers,
            WhenAnonymous::RedirectToLogin,
        )
        .await;
        let segment = target.rsplit('/').next().unwrap_or_default();
        for right in [PupilRight::ActFor, PupilRight::LegalAuthority] {
            // Nobody is logged in here (a session id cannot be guessed):
            // the login, whatever the segment.
            if let Err(refusal) = access.pupil("/eleves/x", segment, right) {
                let status = refusal.into_response().status();
                assert!(status.is_redirection() || status == 503, "{status}");
            }
        }
        if let Ok(pupil) = PupilId::from_url_segment(segment) {
            assert_eq!(
                PupilId::from_url_segment(&pupil.to_url_segment()).unwrap(),
                pupil
            );
        }
    });
});
