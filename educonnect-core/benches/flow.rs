//! The login flow end to end against an in-process FranceConnect-like
//! provider (an `HttpClient` that answers the token, userinfo and JWKS
//! requests in memory with real ES256 signatures), and `Gateway::session`
//! for a valid cookie.
//!
//! `cargo bench -p educonnect-core --bench flow`

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use educonnect_core::flow::{ClientSecret, Gateway, Provider};
use educonnect_core::jose::{Algorithm, SigningKey};
use educonnect_core::provider::FranceConnect;
use educonnect_core::{Clock, MemoryStore, SystemClock};
use educonnect_core::{HttpClient, HttpError, HttpRequest, HttpResponse};
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::json;
use url::Url;

const ISSUER: &str = "https://fcp-low.sbx.dev-franceconnect.fr/api/v2";
const CLIENT_ID: &str = "bench-client";
const SUB: &str = "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1";

/// FranceConnect in memory: codes are registered with their nonce by the
/// bench, as the real provider would remember them from `authorize`.
#[derive(Debug)]
struct InProcessProvider {
    key: SigningKey,
    codes: Mutex<HashMap<String, String>>,
}

impl InProcessProvider {
    fn respond(&self, status: StatusCode, content_type: &str, body: Vec<u8>) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    }
}

#[async_trait]
impl HttpClient for InProcessProvider {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let now = SystemClock.unix_seconds();
        match request.uri().path() {
            "/api/v2/jwks" => Ok(self.respond(
                StatusCode::OK,
                "application/json",
                self.key.public_jwks_json().into_bytes(),
            )),
            "/api/v2/token" => {
                let form: HashMap<String, String> = url::form_urlencoded::parse(request.body())
                    .into_owned()
                    .collect();
                let nonce = form
                    .get("code")
                    .and_then(|code| self.codes.lock().unwrap().remove(code));
                let Some(nonce) = nonce else {
                    return Ok(self.respond(
                        StatusCode::BAD_REQUEST,
                        "application/json",
                        br#"{"error":"invalid_grant"}"#.to_vec(),
                    ));
                };
                let id_token = self
                    .key
                    .sign(&json!({
                        "iss": ISSUER, "sub": SUB, "aud": CLIENT_ID, "exp": now + 60, "iat": now,
                        "auth_time": now, "nonce": nonce, "acr": "eidas1",
                    }))
                    .unwrap();
                let body = json!({
                    "access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": id_token,
                });
                Ok(self.respond(
                    StatusCode::OK,
                    "application/json",
                    body.to_string().into_bytes(),
                ))
            }
            "/api/v2/userinfo" => {
                let userinfo = self
                    .key
                    .sign(&json!({
                        "iss": ISSUER, "sub": SUB, "aud": CLIENT_ID, "exp": now + 60, "iat": now,
                        "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
                        "birthdate": "1962-08-24", "gender": "female",
                        "birthplace": "75107", "birthcountry": "99100",
                    }))
                    .unwrap();
                Ok(self.respond(StatusCode::OK, "application/jwt", userinfo.into_bytes()))
            }
            _ => Ok(self.respond(StatusCode::NOT_FOUND, "text/plain", Vec::new())),
        }
    }
}

fn gateway(provider: Arc<InProcessProvider>) -> Gateway {
    Gateway::builder("https://ent.example.fr")
        .unwrap()
        .provider(Provider::franceconnect(
            FranceConnect::custom(ISSUER).unwrap(),
            CLIENT_ID,
            ClientSecret::new("bench-secret"),
        ))
        .store(Arc::new(MemoryStore::new()))
        .http_client(provider)
        .build()
        .unwrap()
}

/// `login` then `callback`; returns the session cookie.
async fn round_trip(gateway: &Gateway, provider: &InProcessProvider) -> String {
    let login = gateway
        .handle(
            Request::get("/auth/login?return_to=/livret")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    let location = Url::parse(login.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let (state, nonce) = (param("state"), param("nonce"));
    let code = format!("code-{state}");
    provider.codes.lock().unwrap().insert(code.clone(), nonce);
    let cookie = login.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let callback = gateway
        .handle(
            Request::get(format!("/auth/callback?code={code}&state={state}"))
                .header(header::COOKIE, cookie)
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(callback.status(), StatusCode::SEE_OTHER);
    let session = callback
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.contains("educonnect_session"))
        .unwrap();
    session.split(';').next().unwrap().to_owned()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let provider = Arc::new(InProcessProvider {
        key: SigningKey::generate(Algorithm::ES256, "pkcs11:ES256:hsm").unwrap(),
        codes: Mutex::new(HashMap::new()),
    });
    let gateway = gateway(provider.clone());

    c.bench_function("flow/login_callback_round_trip", |b| {
        b.iter(|| runtime.block_on(round_trip(&gateway, &provider)))
    });

    let cookie = runtime.block_on(round_trip(&gateway, &provider));
    let mut headers = HeaderMap::new();
    headers.insert(header::COOKIE, cookie.parse().unwrap());
    c.bench_function("flow/session_valid_cookie", |b| {
        b.iter(|| {
            runtime
                .block_on(gateway.session(&headers))
                .unwrap()
                .expect("a session")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
