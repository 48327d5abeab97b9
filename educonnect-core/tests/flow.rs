//! The login flow against providers played by wiremock on loopback, with
//! real keys: the happy path for FranceConnect (ES256 and RS256, signed
//! userinfo) and EduConnect (JSON userinfo), every line of the "Flow"
//! section of `token-checks.md`, key rotation, and the ID-token rejections
//! that only show through the flow.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use educonnect_core::flow::{ClientSecret, Gateway, Provider};
use educonnect_core::jose::{Acr, Algorithm};
use educonnect_core::provider::{EduConnect, FranceConnect, Identity, Profile};
use educonnect_core::store::KeySpace;
use educonnect_core::{ManualClock, MemoryStore};
use educonnect_core::{ReqwestClient, Timeouts};
use http::{HeaderMap, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use support::{TestKey, b64, with};
use url::Url;
use wiremock::matchers::{body_string_contains, header as has_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "service-client-id";
const CLIENT_SECRET: &str = "service-client-secret-of-forty-bytes-0123";
const NOW: u64 = 1_790_000_000;
const SUB: &str = "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1";
const PUBLIC_URL: &str = "https://ent.example.fr";

/// A FranceConnect (or EduConnect) provider on loopback, and a gateway
/// configured for it.
struct World {
    server: MockServer,
    issuer: String,
    key: TestKey,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    gateway: Gateway,
}

/// What the browser holds after `login`.
struct Login {
    state: String,
    nonce: String,
    cookie: String,
    authorize: Url,
}

enum Kind {
    FranceConnect,
    EduConnect,
}

impl World {
    async fn franceconnect(alg: Algorithm) -> Self {
        Self::start(Kind::FranceConnect, alg, |p| p).await
    }

    async fn start(
        kind: Kind,
        alg: Algorithm,
        configure: impl FnOnce(Provider) -> Provider,
    ) -> Self {
        let server = MockServer::start().await;
        let key = TestKey::new(alg, "pkcs11:ES256:hsm");
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let store = Arc::new(MemoryStore::builder().clock(clock.clone()).build());
        let (issuer, provider) = match kind {
            Kind::FranceConnect => {
                let issuer = format!("{}/api/v2", server.uri());
                let preset = FranceConnect::custom(&issuer).unwrap();
                (
                    issuer,
                    Provider::franceconnect(preset, CLIENT_ID, ClientSecret::new(CLIENT_SECRET)),
                )
            }
            Kind::EduConnect => {
                let issuer = format!("{}/idp", server.uri());
                let preset = EduConnect::at_base(&issuer)
                    .unwrap()
                    .with_jwks(format!("{issuer}/profile/oidc/jwks").parse().unwrap())
                    .unwrap();
                (
                    issuer,
                    Provider::educonnect(preset, CLIENT_ID, ClientSecret::new(CLIENT_SECRET)),
                )
            }
        };
        let world_jwks_path = match kind {
            Kind::FranceConnect => "/api/v2/jwks",
            Kind::EduConnect => "/idp/profile/oidc/jwks",
        };
        Mock::given(method("GET"))
            .and(path(world_jwks_path))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("cache-control", "public, max-age=600")
                    .set_body_raw(json!({"keys": [key.jwk]}).to_string(), "application/json"),
            )
            .mount(&server)
            .await;
        let http = Arc::new(
            ReqwestClient::new(Timeouts {
                connect: Duration::from_secs(1),
                total: Duration::from_secs(1),
            })
            .unwrap(),
        );
        let gateway = Gateway::builder(PUBLIC_URL)
            .unwrap()
            .provider(configure(provider))
            .store(store.clone())
            .http_client(http)
            .clock(clock.clone())
            .build()
            .unwrap();
        Self {
            server,
            issuer,
            key,
            clock,
            store,
            gateway,
        }
    }

    fn endpoint(&self, name: &str) -> String {
        if self.issuer.ends_with("/idp") {
            format!("/idp/profile/oidc/{name}")
        } else {
            format!("/api/v2/{name}")
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(educonnect_core::Clock::unix_seconds(&*self.clock)).unwrap()
    }

    async fn get(&self, uri: &str, cookies: &[&str]) -> Response<Bytes> {
        let mut request = Request::get(uri);
        for cookie in cookies {
            request = request.header(header::COOKIE, *cookie);
        }
        self.gateway
            .handle(request.body(Bytes::new()).unwrap())
            .await
    }

    async fn login(&self, return_to: &str) -> Login {
        let uri = format!("/auth/login?provider=franceconnect&return_to={return_to}");
        let uri = if self.issuer.ends_with("/idp") {
            uri.replace("franceconnect", "educonnect")
        } else {
            uri
        };
        let response = self.get(&uri, &[]).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            body(&response)
        );
        let authorize = Url::parse(location(&response)).unwrap();
        let param = |name: &str| {
            authorize
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("no {name} in the authorization URL"))
        };
        Login {
            state: param("state"),
            nonce: param("nonce"),
            cookie: set_cookie(&response, "educonnect_login").unwrap(),
            authorize,
        }
    }

    fn id_token_claims(&self, nonce: &str) -> Value {
        let now = self.now();
        json!({
            "iss": self.issuer, "sub": SUB, "aud": CLIENT_ID,
            "exp": now + 60, "iat": now, "auth_time": now - 10,
            "nonce": nonce, "acr": "eidas1",
        })
    }

    fn userinfo_claims(&self) -> Value {
        let now = self.now();
        json!({
            "iss": self.issuer, "sub": SUB, "aud": CLIENT_ID, "exp": now + 60, "iat": now,
            "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
            "birthdate": "1962-08-24", "gender": "female",
            "birthplace": "75107", "birthcountry": "99100",
        })
    }

    /// The token endpoint answers `id_token` for `code`, once; the userinfo
    /// endpoint answers `userinfo` with its content type.
    async fn provider_answers(&self, code: &str, id_token: String, userinfo: (String, &str)) {
        Mock::given(method("POST"))
            .and(path(self.endpoint("token")))
            .and(body_string_contains(format!("code={code}")))
            .and(body_string_contains(format!(
                "client_secret={CLIENT_SECRET}"
            )))
            .and(body_string_contains(format!("client_id={CLIENT_ID}")))
            .and(body_string_contains("code_verifier="))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("access-token-{code}"), "token_type": "Bearer",
                "expires_in": 60, "id_token": id_token,
            })))
            .up_to_n_times(1)
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path(self.endpoint("userinfo")))
            .and(has_header(
                "authorization",
                format!("Bearer access-token-{code}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_raw(userinfo.0, userinfo.1))
            .mount(&self.server)
            .await;
    }

    /// The provider answers a valid ID token and signed userinfo for `code`.
    async fn provider_accepts(&self, login: &Login, code: &str) {
        let id_token = self.key.sign(&self.id_token_claims(&login.nonce));
        let userinfo = self.key.sign(&self.userinfo_claims());
        self.provider_answers(code, id_token, (userinfo, "application/jwt"))
            .await;
    }

    async fn callback(&self, login: &Login, code: &str) -> Response<Bytes> {
        let uri = format!("/auth/callback?code={code}&state={}", login.state);
        self.get(&uri, &[&login.cookie]).await
    }

    async fn session_of(
        &self,
        response: &Response<Bytes>,
    ) -> Option<educonnect_core::flow::Session> {
        let cookie = set_cookie(response, "educonnect_session")?;
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, cookie.parse().unwrap());
        self.gateway.session(&headers).await.unwrap()
    }

    fn sessions(&self) -> usize {
        self.store.len(KeySpace::Session)
    }
}

fn location(response: &Response<Bytes>) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

fn body(response: &Response<Bytes>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// The `name=value` part of the Set-Cookie whose name contains `name`,
/// unless it clears the cookie.
fn set_cookie(response: &Response<Bytes>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.split('=').next().unwrap().contains(name) && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

fn set_cookie_header(response: &Response<Bytes>, name: &str) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.contains(name))
        .unwrap()
}

fn assert_refused(response: &Response<Bytes>, status: StatusCode) {
    assert_eq!(response.status(), status, "{}", body(response));
    assert!(
        set_cookie(response, "educonnect_session").is_none(),
        "no session cookie"
    );
    let html = body(response);
    assert!(html.contains("lang=\"fr\""), "a French page");
    assert!(html.contains("class=\"reference\""), "a reference to quote");
}

// --- happy paths -----------------------------------------------------------

#[tokio::test]
async fn franceconnect_login_with_es256_and_rs256() {
    for alg in [Algorithm::ES256, Algorithm::RS256] {
        let world = World::franceconnect(alg).await;
        let login = world.login("/livret").await;

        // The authorization request FranceConnect expects.
        let q: std::collections::HashMap<_, _> =
            login.authorize.query_pairs().into_owned().collect();
        assert!(
            login
                .authorize
                .as_str()
                .starts_with(&format!("{}/authorize?", world.issuer))
        );
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["redirect_uri"], format!("{PUBLIC_URL}/auth/callback"));
        assert_eq!(q["acr_values"], "eidas1");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["scope"],
            "openid given_name family_name birthdate gender birthplace birthcountry"
        );
        for value in [&login.state, &login.nonce] {
            assert!(value.len() >= 32 && value.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert_ne!(login.state, login.nonce);
        let login_cookie = set_cookie_header(
            &world.get("/auth/login?return_to=/", &[]).await,
            "educonnect_login",
        );
        assert!(login_cookie.contains("Path=/;") && login_cookie.contains("HttpOnly"));

        world.provider_accepts(&login, "code-1").await;
        let response = world.callback(&login, "code-1").await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{alg}: {}",
            body(&response)
        );
        assert_eq!(location(&response), "/livret");
        let cookie = set_cookie_header(&response, "educonnect_session");
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/;"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(cookie.starts_with("__Host-educonnect_session="));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");

        let session = world.session_of(&response).await.expect("a session");
        assert_eq!(session.provider(), "franceconnect");
        assert_eq!(session.acr(), Some("eidas1"));
        let Identity::FranceConnect(person) = session.identity() else {
            panic!("a FranceConnect identity")
        };
        assert_eq!(person.family_name(), "DUBOIS");
        assert_eq!(person.given_names(), ["Angela", "Claire", "Louise"]);
        assert_eq!(person.sub(), SUB);
        assert!(
            !format!("{session:?}").contains("DUBOIS"),
            "no name in Debug"
        );
    }
}

#[tokio::test]
async fn educonnect_login_with_json_userinfo() {
    let world = World::start(Kind::EduConnect, Algorithm::ES256, |p| p).await;
    let login = world.login("/mes-enfants").await;
    assert!(
        login
            .authorize
            .as_str()
            .starts_with(&format!("{}/profile/oidc/authorize?", world.issuer))
    );
    assert!(!login.authorize.as_str().contains("acr_values"));
    let mut id_token = world.id_token_claims(&login.nonce);
    id_token.as_object_mut().unwrap().remove("acr");
    let userinfo = json!({
        "sub": SUB,
        "FrEduCtPersonAffiliation": ["resp2d"],
        "FrEduCtId": "ect-123",
        "FrEduCtRefId": ["{AAF}14|x|1234567"],
        "given_name": "Marie", "family_name": "MARTIN",
    });
    world
        .provider_answers(
            "code-ec",
            world.key.sign(&id_token),
            (userinfo.to_string(), "application/json"),
        )
        .await;
    let response = world.callback(&login, "code-ec").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    assert_eq!(location(&response), "/mes-enfants");
    let session = world.session_of(&response).await.expect("a session");
    let Identity::EduConnect(person) = session.identity() else {
        panic!("an EduConnect identity")
    };
    assert_eq!(person.profile(), Profile::Guardian);
    assert_eq!(person.aaf_ids().count(), 1);
}

#[tokio::test]
async fn several_providers_get_a_choice_page() {
    let server = MockServer::start().await;
    let fc = FranceConnect::custom(&format!("{}/api/v2", server.uri())).unwrap();
    let ec = EduConnect::at_base(&format!("{}/idp", server.uri())).unwrap();
    let gateway = Gateway::builder(PUBLIC_URL)
        .unwrap()
        .provider(Provider::franceconnect(
            fc,
            CLIENT_ID,
            ClientSecret::new(CLIENT_SECRET),
        ))
        .provider(Provider::educonnect(
            ec,
            CLIENT_ID,
            ClientSecret::new(CLIENT_SECRET),
        ))
        .build()
        .unwrap();
    let response = gateway
        .handle(
            Request::get("/auth/login?return_to=/notes")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body(&response);
    assert!(html.contains("Se connecter avec FranceConnect"));
    assert!(html.contains("Se connecter avec ÉduConnect"));
    assert!(html.contains("/auth/login?provider=educonnect&amp;return_to=%2Fnotes"));
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    let unknown = gateway
        .handle(
            Request::get("/auth/login?provider=google")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_refused(&unknown, StatusCode::BAD_REQUEST);
}

// --- the Flow section of token-checks.md ------------------------------------

#[tokio::test]
async fn unknown_expired_or_used_state_is_refused() {
    let world = World::franceconnect(Algorithm::ES256).await;
    // Unknown.
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-1").await;
    let forged = Login {
        state: "A".repeat(43),
        ..world.login("/").await
    };
    assert_refused(
        &world.callback(&forged, "code-1").await,
        StatusCode::BAD_REQUEST,
    );
    let no_state = world
        .get("/auth/callback?code=code-1", &[&login.cookie])
        .await;
    assert_refused(&no_state, StatusCode::BAD_REQUEST);
    // Used: the first callback succeeds, the same state again gets nothing.
    let first = world.callback(&login, "code-1").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_refused(
        &world.callback(&login, "code-1").await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(world.sessions(), 1);
    // Expired: ten minutes and one second later.
    let late = world.login("/").await;
    world.clock.advance(Duration::from_secs(601));
    world.provider_accepts(&late, "code-2").await;
    assert_refused(
        &world.callback(&late, "code-2").await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(world.sessions(), 1);
}

#[tokio::test]
async fn callback_without_the_bound_cookie_is_refused() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let victim = world.login("/").await;
    let attacker = world.login("/").await;
    world.provider_accepts(&victim, "code-1").await;
    // The attacker's state in the victim's browser (login CSRF).
    let uri = format!("/auth/callback?code=code-1&state={}", attacker.state);
    assert_refused(
        &world.get(&uri, &[&victim.cookie]).await,
        StatusCode::BAD_REQUEST,
    );
    // No cookie at all.
    let uri = format!("/auth/callback?code=code-1&state={}", victim.state);
    assert_refused(&world.get(&uri, &[]).await, StatusCode::BAD_REQUEST);
    assert_eq!(world.sessions(), 0);
    // Neither spent the victim's login: with the right cookie it completes.
    assert_eq!(
        world.callback(&victim, "code-1").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(world.sessions(), 1);
}

#[tokio::test]
async fn callback_with_error_shows_it_and_makes_no_session() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let login = world.login("/").await;
    let uri = format!(
        "/auth/callback?error=access_denied&error_description=User+cancelled&state={}",
        login.state
    );
    let response = world.get(&uri, &[&login.cookie]).await;
    assert_refused(&response, StatusCode::BAD_REQUEST);
    assert!(body(&response).contains("annulée ou refusée"));
    assert_eq!(world.sessions(), 0);
    assert_eq!(
        world.store.len(KeySpace::Pending),
        0,
        "the pending login is spent"
    );
    // The state is used: a code for it now gets nothing.
    world.provider_accepts(&login, "code-1").await;
    assert_refused(
        &world.callback(&login, "code-1").await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(world.sessions(), 0);
}

#[tokio::test]
async fn a_replayed_authorization_code_gets_nothing() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-1").await;
    Mock::given(method("POST"))
        .and(path("/api/v2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&world.server)
        .await;
    assert_eq!(
        world.callback(&login, "code-1").await.status(),
        StatusCode::SEE_OTHER
    );
    // Another login by the attacker, replaying the code: the provider
    // refuses it, and the gateway makes nothing of it.
    let replay = world.login("/").await;
    assert_refused(
        &world.callback(&replay, "code-1").await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(world.sessions(), 1);
}

#[tokio::test]
async fn token_endpoint_slow_failing_or_garbage_is_a_clear_error() {
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        (
            "slow",
            ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
        ),
        ("failing", ResponseTemplate::new(500)),
        (
            "garbage",
            ResponseTemplate::new(200).set_body_raw("<html>oops</html>", "text/html"),
        ),
        (
            "no id token",
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token":"a","token_type":"Bearer"})),
        ),
    ];
    for (name, answer) in cases {
        let world = World::franceconnect(Algorithm::ES256).await;
        Mock::given(method("POST"))
            .and(path("/api/v2/token"))
            .respond_with(answer)
            .mount(&world.server)
            .await;
        let login = world.login("/").await;
        let response = world.callback(&login, "code-1").await;
        let expected = if name == "no id token" {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        assert_refused(&response, expected);
        if expected == StatusCode::SERVICE_UNAVAILABLE {
            assert!(body(&response).contains("indisponible"), "{name}");
        }
        assert_eq!(world.sessions(), 0, "{name}");
        assert_eq!(
            world.store.len(KeySpace::Pending),
            0,
            "{name}: nothing half-written"
        );
    }
}

#[tokio::test]
async fn open_redirects_are_refused() {
    let world = World::franceconnect(Algorithm::ES256).await;
    for target in [
        "//evil.example",
        "https://evil.example/",
        "/%5Cevil.example",
        "evil",
        "%2F%2Fevil.example",
    ] {
        let response = world
            .get(
                &format!("/auth/login?provider=franceconnect&return_to={target}"),
                &[],
            )
            .await;
        assert_refused(&response, StatusCode::BAD_REQUEST);
    }
    assert_eq!(world.store.len(KeySpace::Pending), 0);
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-1").await;
    let first = world.callback(&login, "code-1").await;
    let first_cookie = set_cookie(&first, "educonnect_session").unwrap();

    // Logging in again with that session cookie: a new id, the old one gone.
    let again = world.login("/").await;
    world.provider_accepts(&again, "code-2").await;
    let uri = format!("/auth/callback?code=code-2&state={}", again.state);
    let second = world.get(&uri, &[&again.cookie, &first_cookie]).await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER, "{}", body(&second));
    let second_cookie = set_cookie(&second, "educonnect_session").unwrap();
    assert_ne!(first_cookie, second_cookie);
    assert_eq!(world.sessions(), 1);
    assert!(world.session_of(&first).await.is_none());
    assert!(world.session_of(&second).await.is_some());
    // A session id planted before login is never adopted.
    let planted = format!("__Host-educonnect_session={}", "P".repeat(43));
    let mut headers = HeaderMap::new();
    headers.insert(header::COOKIE, planted.parse().unwrap());
    assert!(world.gateway.session(&headers).await.unwrap().is_none());
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_lifetime() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-1").await;
    let response = world.callback(&login, "code-1").await;
    // Used every 20 minutes, it lives on (idle timeout 30 minutes)...
    for _ in 0..3 {
        world.clock.advance(Duration::from_secs(20 * 60));
        assert!(world.session_of(&response).await.is_some());
    }
    // ...but 31 idle minutes end it.
    world.clock.advance(Duration::from_secs(31 * 60));
    assert!(world.session_of(&response).await.is_none());

    // The absolute lifetime (12 hours) ends even a busy session.
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-2").await;
    let response = world.callback(&login, "code-2").await;
    let created = world.now();
    for _ in 0..(12 * 3) {
        world.clock.advance(Duration::from_secs(20 * 60));
        let alive = world.session_of(&response).await.is_some();
        assert_eq!(
            alive,
            world.now() < created + 12 * 3600,
            "at {}",
            world.now() - created
        );
    }
    assert!(world.session_of(&response).await.is_none());
}

#[tokio::test]
async fn sessions_are_read_from_the_store_every_time_and_touched_at_most_once_a_minute() {
    use base64::Engine as _;
    use educonnect_core::Store as _;

    let world = World::franceconnect(Algorithm::ES256).await;
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-1").await;
    let response = world.callback(&login, "code-1").await;
    // Read at 29 minutes: extended to 59 minutes.
    world.clock.advance(Duration::from_secs(29 * 60));
    assert!(world.session_of(&response).await.is_some());
    // Read again 50 seconds later: within the minute, not extended again
    // (one store write per minute and process, not one per request)...
    world.clock.advance(Duration::from_secs(50));
    assert!(world.session_of(&response).await.is_some());
    // ...so it ends 30 minutes after the first read, not after the second.
    world.clock.advance(Duration::from_secs(29 * 60 + 15));
    assert!(world.session_of(&response).await.is_none());

    // A session ended elsewhere (another replica's logout: its record
    // deleted from the shared store) is gone at once, though this process
    // read it a moment ago.
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-2").await;
    let response = world.callback(&login, "code-2").await;
    assert!(world.session_of(&response).await.is_some());
    let cookie = set_cookie(&response, "educonnect_session").unwrap();
    let id = cookie.split_once('=').unwrap().1;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(ring::digest::digest(&ring::digest::SHA256, id.as_bytes()));
    assert!(world.store.delete_session(&key).await.unwrap());
    assert!(world.session_of(&response).await.is_none());
}

#[tokio::test]
async fn logout_ends_the_session_here_and_at_the_provider() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-1").await;
    let response = world.callback(&login, "code-1").await;
    let cookie = set_cookie(&response, "educonnect_session").unwrap();

    // GET only asks; it changes nothing.
    let confirm = world.get("/auth/logout", &[&cookie]).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    assert!(body(&confirm).contains("method=\"post\""));
    assert!(world.session_of(&response).await.is_some());

    // A POST from another origin is refused, as the browser tells it:
    // by fetch metadata first (whatever Origin says), else by Origin.
    for (site, origin) in [
        (None, Some("https://evil.example")),
        (None, Some("null")),
        (Some("same-site"), None),
        (Some("cross-site"), Some(PUBLIC_URL)),
    ] {
        let mut cross = Request::post("/auth/logout").header(header::COOKIE, &cookie);
        if let Some(site) = site {
            cross = cross.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            cross = cross.header(header::ORIGIN, origin);
        }
        assert_eq!(
            world
                .gateway
                .handle(cross.body(Bytes::new()).unwrap())
                .await
                .status(),
            StatusCode::BAD_REQUEST,
            "{site:?} {origin:?}"
        );
        assert!(world.session_of(&response).await.is_some());
    }

    // Our own page, even one that sends no referrer (`Origin: null`).
    let logout = Request::post("/auth/logout")
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .header(header::ORIGIN, "null")
        .body(Bytes::new())
        .unwrap();
    let logout = world.gateway.handle(logout).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(world.session_of(&response).await.is_none());
    assert_eq!(world.sessions(), 0);
    assert!(set_cookie_header(&logout, "educonnect_session").contains("Max-Age=0"));
    let end = Url::parse(location(&logout)).unwrap();
    assert!(
        end.as_str()
            .starts_with(&format!("{}/session/end?", world.issuer))
    );
    let q: std::collections::HashMap<_, _> = end.query_pairs().into_owned().collect();
    assert_eq!(
        q["post_logout_redirect_uri"],
        format!("{PUBLIC_URL}/auth/logout/callback")
    );
    assert_eq!(q["id_token_hint"].split('.').count(), 3);
    let state = q["state"].clone();

    // The provider sends the browser back with the state...
    let back = world
        .get(&format!("/auth/logout/callback?state={state}"), &[])
        .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), "/");
    assert_eq!(
        world.store.len(KeySpace::Pending),
        0,
        "the logout state is spent"
    );
    // ...or without it, or with another one: handled the same, deliberately
    // (the local session is already gone).
    for uri in [
        "/auth/logout/callback",
        &format!("/auth/logout/callback?state={}", "Z".repeat(43)),
    ] {
        let back = world.get(uri, &[]).await;
        assert_eq!(back.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&back), "/");
    }
}

// --- rejections that only show through the flow ------------------------------

async fn refused_login(world: &World, id_token: Value, userinfo: (String, &str)) {
    let login = world.login("/").await;
    let id_token = with(id_token, "nonce", json!(login.nonce));
    // A code of its own, so that earlier answers cannot be served again.
    let code = format!("code-{}", &login.state[..12]);
    world
        .provider_answers(&code, world.key.sign(&id_token), userinfo)
        .await;
    assert_refused(
        &world.callback(&login, &code).await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(world.sessions(), 0);
}

#[tokio::test]
async fn nonce_acr_and_userinfo_sub_are_checked() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let signed_userinfo = || (world.key.sign(&world.userinfo_claims()), "application/jwt");

    // A nonce other than the one sent.
    let login = world.login("/").await;
    let id_token = world
        .key
        .sign(&world.id_token_claims("another-nonce-entirely-0123456789ab"));
    world
        .provider_answers("code-n", id_token, signed_userinfo())
        .await;
    assert_refused(
        &world.callback(&login, "code-n").await,
        StatusCode::BAD_REQUEST,
    );

    // No acr, and an unknown acr.
    refused_login(
        &world,
        with(world.id_token_claims(""), "acr", Value::Null),
        signed_userinfo(),
    )
    .await;
    refused_login(
        &world,
        with(world.id_token_claims(""), "acr", json!("loa1")),
        signed_userinfo(),
    )
    .await;

    // Userinfo for someone else.
    let other = with(world.userinfo_claims(), "sub", json!("someone-else-v1"));
    refused_login(
        &world,
        world.id_token_claims(""),
        (world.key.sign(&other), "application/jwt"),
    )
    .await;

    // FranceConnect userinfo must be signed: plain JSON is refused.
    refused_login(
        &world,
        world.id_token_claims(""),
        (world.userinfo_claims().to_string(), "application/json"),
    )
    .await;

    // Userinfo signed by another key.
    let impostor = TestKey::new(Algorithm::ES256, "pkcs11:ES256:hsm");
    refused_login(
        &world,
        world.id_token_claims(""),
        (impostor.sign(&world.userinfo_claims()), "application/jwt"),
    )
    .await;

    // An ID token for another client.
    refused_login(
        &world,
        with(world.id_token_claims(""), "aud", json!("other")),
        signed_userinfo(),
    )
    .await;
}

#[tokio::test]
async fn acr_below_the_required_level_is_refused() {
    let world = World::start(Kind::FranceConnect, Algorithm::ES256, |p| {
        p.with_min_acr(Acr::Eidas2)
    })
    .await;
    let login = world.login("/").await;
    assert!(login.authorize.as_str().contains("acr_values=eidas2"));
    let signed_userinfo = (world.key.sign(&world.userinfo_claims()), "application/jwt");
    refused_login(&world, world.id_token_claims(""), signed_userinfo).await;
}

#[tokio::test]
async fn provider_key_rotation_between_two_logins() {
    let world = World::franceconnect(Algorithm::ES256).await;
    let login = world.login("/").await;
    world.provider_accepts(&login, "code-1").await;
    assert_eq!(
        world.callback(&login, "code-1").await.status(),
        StatusCode::SEE_OTHER
    );

    // The provider rotates its key: new kid, new JWKS.
    let rotated = TestKey::new(Algorithm::ES256, "pkcs11:ES256:hsm-2027");
    world.server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            json!({"keys": [rotated.jwk]}).to_string(),
            "application/json",
        ))
        .mount(&world.server)
        .await;
    let login = world.login("/").await;
    let id_token = rotated.sign(&world.id_token_claims(&login.nonce));
    let userinfo = rotated.sign(&world.userinfo_claims());
    world
        .provider_answers("code-2", id_token, (userinfo, "application/jwt"))
        .await;
    let response = world.callback(&login, "code-2").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let jwks_fetches = world
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v2/jwks")
        .count();
    assert_eq!(jwks_fetches, 1, "one refetch for the new kid");
}

#[tokio::test]
async fn hs256_with_the_client_secret_when_allowed() {
    let world = World::start(Kind::FranceConnect, Algorithm::ES256, |p| {
        p.allow_hs256_with_client_secret()
    })
    .await;
    let login = world.login("/").await;
    let input = format!(
        "{}.{}",
        b64(json!({"alg":"HS256"}).to_string().as_bytes()),
        b64(world.id_token_claims(&login.nonce).to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, CLIENT_SECRET.as_bytes());
    let id_token = format!(
        "{input}.{}",
        b64(ring::hmac::sign(&key, input.as_bytes()).as_ref())
    );
    let userinfo = world.key.sign(&world.userinfo_claims());
    world
        .provider_answers("code-h", id_token, (userinfo, "application/jwt"))
        .await;
    let response = world.callback(&login, "code-h").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let world = World::franceconnect(Algorithm::ES256).await;
    assert_eq!(
        world.get("/auth/nope", &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    let post = Request::post("/auth/login").body(Bytes::new()).unwrap();
    assert_eq!(
        world.gateway.handle(post).await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert!(world.gateway.handles("/auth/callback"));
    assert!(!world.gateway.handles("/authx"));
    assert_eq!(
        world.gateway.login_path("/notes?a=1"),
        "/auth/login?return_to=%2Fnotes%3Fa%3D1"
    );
}

// --- discovery --------------------------------------------------------------

fn discovery_document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/session/end"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
    })
}

#[tokio::test]
async fn a_generic_provider_by_discovery() {
    let server = MockServer::start().await;
    let issuer = format!("{}/realms/academie", server.uri());
    Mock::given(method("GET"))
        .and(path("/realms/academie/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(discovery_document(&issuer)))
        .mount(&server)
        .await;
    let http = ReqwestClient::new(Timeouts::default()).unwrap();
    let provider = Provider::discover(
        "academie",
        "Mon académie",
        &issuer,
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
        &http,
    )
    .await
    .unwrap();
    assert_eq!(provider.id(), "academie");
    assert_eq!(
        provider.endpoints().token().as_str(),
        format!("{issuer}/token")
    );
    assert_eq!(
        provider.endpoints().end_session().map(Url::as_str),
        Some(format!("{issuer}/session/end").as_str())
    );
    assert_eq!(
        provider.endpoints().jwks().map(Url::as_str),
        Some(format!("{issuer}/jwks").as_str())
    );

    // A document naming another issuer is refused.
    let other = MockServer::start().await;
    let other_issuer = format!("{}/realms/x", other.uri());
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(discovery_document(&format!("{other_issuer}/"))),
        )
        .mount(&other)
        .await;
    let refused = Provider::discover(
        "x",
        "X",
        &other_issuer,
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
        &http,
    )
    .await;
    assert!(matches!(
        refused,
        Err(educonnect_core::flow::DiscoveryError::IssuerMismatch)
    ));

    // Garbage and errors.
    other.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"issuer\":1}", "application/json"))
        .mount(&other)
        .await;
    let refused = Provider::discover(
        "x",
        "X",
        &other_issuer,
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
        &http,
    )
    .await;
    assert!(matches!(
        refused,
        Err(educonnect_core::flow::DiscoveryError::Invalid)
    ));
    other.reset().await;
    let refused = Provider::discover(
        "x",
        "X",
        &other_issuer,
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
        &http,
    )
    .await;
    assert!(matches!(
        refused,
        Err(educonnect_core::flow::DiscoveryError::Status(404))
    ));

    // FranceConnect's preset can take its endpoints from discovery too.
    let fc_server = MockServer::start().await;
    let fc_issuer = format!("{}/api/v2", fc_server.uri());
    let mut moved = discovery_document(&fc_issuer);
    moved["token_endpoint"] = json!(format!("{fc_issuer}/v2/token"));
    Mock::given(method("GET"))
        .and(path("/api/v2/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(moved))
        .mount(&fc_server)
        .await;
    let fc = Provider::franceconnect(
        FranceConnect::custom(&fc_issuer).unwrap(),
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
    )
    .with_discovery(&http)
    .await
    .unwrap();
    assert_eq!(
        fc.endpoints().token().as_str(),
        format!("{fc_issuer}/v2/token")
    );
}
