//! Regression tests for the security review of the login flow (issue 10),
//! each named after its finding:
//!
//! - finding 4: the login and challenge cookies are `__Host-` cookies
//!   (`Path=/`, no `Domain`), and a `Cookie` header with a non-UTF-8 byte
//!   does not hide the other cookies in it;
//! - finding 5: a flood of anonymous `GET /auth/login` evicts neither a
//!   real user's pending login nor their birth-date challenge;
//! - finding 11: the `iss` of the authorization response must be the
//!   provider's (RFC 9207), and a forged callback without the browser's
//!   cookie does not burn the real login.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use educonnect_core::BirthDate;
use educonnect_core::directory::{
    DirectoryBuilder, LegalRank, Link, MemoryDirectory, PersonId, Pupil, PupilId, RelatedPerson,
    Relationship, School, SourceId,
};
use educonnect_core::flow::{ClientSecret, Gateway, GatewayBuilder, Provider};
use educonnect_core::ids::Uai;
use educonnect_core::jose::Algorithm;
use educonnect_core::provider::FranceConnect;
use educonnect_core::{ManualClock, MemoryStore};
use educonnect_core::{ReqwestClient, Timeouts};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use serde_json::json;
use support::TestKey;
use url::Url;
use wiremock::matchers::{body_string_contains, header as has_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "service-client-id";
const CLIENT_SECRET: &str = "service-client-secret-of-forty-bytes-0123";
const NOW: u64 = 1_790_000_000;
const SUB: &str = "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1";
const PUBLIC_URL: &str = "https://ent.example.fr";

/// One school, one pupil, and her mother Angèle DUBOIS: a FranceConnect
/// login as Angèle ends at the birth-date challenge.
fn directory() -> Arc<MemoryDirectory> {
    let s = SourceId::aaf("14").unwrap();
    let uai = Uai::parse("0350001L").unwrap();
    let pupil = PupilId::new(s.clone(), "E-ELOISE").unwrap();
    let mother = PersonId::new(s.clone(), "R-ANGELE").unwrap();
    let mut b = DirectoryBuilder::new(s);
    b.add_school(School::new(uai, "Collège Anne de Bretagne"));
    b.add_pupil(
        Pupil::new(pupil.clone(), "DUBOIS", ["Éloïse"])
            .with_birth_date(BirthDate::new(2012, 3, 27).unwrap())
            .with_school(uai),
    )
    .unwrap();
    b.add_person(RelatedPerson::new(
        mother.clone(),
        "DUBOIS",
        ["Angèle", "Claire"],
    ))
    .unwrap();
    b.add_link(Link::new(pupil, mother, Relationship::Mother).with_legal(LegalRank::First))
        .unwrap();
    Arc::new(MemoryDirectory::new(b.build()))
}

/// FranceConnect played by wiremock, and a gateway in front of it.
struct World {
    server: MockServer,
    issuer: String,
    key: TestKey,
    clock: Arc<ManualClock>,
    gateway: Gateway,
    codes: Mutex<u32>,
}

/// What a browser holds after `GET /auth/login`.
struct Login {
    state: String,
    nonce: String,
    cookie: String,
    /// The whole `Set-Cookie` header of the login cookie.
    set_cookie: String,
}

impl World {
    async fn start() -> Self {
        Self::start_with(|store| store, |gateway| gateway).await
    }

    async fn start_with(
        store: impl FnOnce(
            educonnect_core::store::MemoryStoreBuilder,
        ) -> educonnect_core::store::MemoryStoreBuilder,
        configure: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
    ) -> Self {
        let server = MockServer::start().await;
        let key = TestKey::new(Algorithm::ES256, "provider-key");
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let store = Arc::new(store(MemoryStore::builder().clock(clock.clone())).build());
        let issuer = format!("{}/api/v2", server.uri());
        let provider = Provider::franceconnect(
            FranceConnect::custom(&issuer).unwrap(),
            CLIENT_ID,
            ClientSecret::new(CLIENT_SECRET),
        );
        Mock::given(method("GET"))
            .and(path("/api/v2/jwks"))
            .respond_with(
                ResponseTemplate::new(200)
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
        let builder = Gateway::builder(PUBLIC_URL)
            .unwrap()
            .provider(provider)
            .store(store)
            .http_client(http)
            .clock(clock.clone())
            .directory(directory());
        Self {
            server,
            issuer,
            key,
            clock,
            gateway: configure(builder).build().unwrap(),
            codes: Mutex::new(0),
        }
    }

    async fn send(&self, request: http::request::Builder, cookies: &[&str]) -> Response<Bytes> {
        let mut request = request;
        for cookie in cookies {
            request = request.header(header::COOKIE, *cookie);
        }
        self.gateway
            .handle(request.body(Bytes::new()).unwrap())
            .await
    }

    async fn get(&self, uri: &str, cookies: &[&str]) -> Response<Bytes> {
        self.send(Request::get(uri), cookies).await
    }

    async fn login(&self) -> Login {
        let response = self
            .get("/auth/login?provider=franceconnect&return_to=/livret", &[])
            .await;
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
                .unwrap()
        };
        let set_cookie = set_cookie_header(&response, "educonnect_login").unwrap();
        Login {
            state: param("state"),
            nonce: param("nonce"),
            cookie: set_cookie.split(';').next().unwrap().to_owned(),
            set_cookie,
        }
    }

    /// The provider answers a valid ID token and signed userinfo (Angèle
    /// DUBOIS) for the next code, once; returns the code.
    async fn provider_accepts(&self, login: &Login) -> String {
        let code = {
            let mut codes = self.codes.lock().unwrap();
            *codes += 1;
            format!("code-{}", *codes)
        };
        let now = u64::try_from(educonnect_core::Clock::unix_seconds(&*self.clock)).unwrap();
        let id_token = json!({
            "iss": self.issuer, "sub": SUB, "aud": CLIENT_ID,
            "exp": now + 60, "iat": now, "auth_time": now - 10,
            "nonce": login.nonce, "acr": "eidas1",
        });
        let userinfo = json!({
            "iss": self.issuer, "sub": SUB, "aud": CLIENT_ID, "exp": now + 60, "iat": now,
            "given_name": "Angèle Claire", "family_name": "DUBOIS",
            "birthdate": "1980-08-24", "gender": "female",
            "birthplace": "75107", "birthcountry": "99100",
        });
        Mock::given(method("POST"))
            .and(path("/api/v2/token"))
            .and(body_string_contains(format!("code={code}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("access-{code}"), "token_type": "Bearer",
                "expires_in": 60, "id_token": self.key.sign(&id_token),
            })))
            .up_to_n_times(1)
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/userinfo"))
            .and(has_header(
                "authorization",
                format!("Bearer access-{code}").as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(self.key.sign(&userinfo), "application/jwt"),
            )
            .mount(&self.server)
            .await;
        code
    }

    async fn callback(&self, login: &Login, code: &str) -> Response<Bytes> {
        let uri = format!("/auth/callback?code={code}&state={}", login.state);
        self.get(&uri, &[&login.cookie]).await
    }

    /// A whole login of Angèle, up to the birth-date challenge: the
    /// challenge cookie's whole `Set-Cookie` header.
    async fn challenge(&self) -> String {
        let login = self.login().await;
        let code = self.provider_accepts(&login).await;
        let response = self.callback(&login, &code).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            body(&response)
        );
        assert_eq!(location(&response), "/auth/verify");
        set_cookie_header(&response, "educonnect_verify").expect("a challenge cookie")
    }

    /// Whether the challenge form still opens with this cookie.
    async fn challenge_is_there(&self, cookie: &str) -> bool {
        let form = self.get("/auth/verify", &[cookie]).await;
        form.status() == StatusCode::OK && body(&form).contains("<form")
    }

    async fn session_of(
        &self,
        response: &Response<Bytes>,
    ) -> Option<educonnect_core::flow::Session> {
        let cookie = set_cookie_header(response, "educonnect_session")?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            cookie.split(';').next().unwrap().parse().unwrap(),
        );
        self.gateway.session(&headers).await.unwrap()
    }
}

fn location(response: &Response<Bytes>) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

fn body(response: &Response<Bytes>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// The whole `Set-Cookie` header whose cookie name contains `name`, unless
/// it clears the cookie.
fn set_cookie_header(response: &Response<Bytes>, name: &str) -> Option<String> {
    set_cookie_headers(response, name)
        .into_iter()
        .find(|v| !v.contains("Max-Age=0"))
}

fn set_cookie_headers(response: &Response<Bytes>, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|v| v.split('=').next().unwrap().contains(name))
        .collect()
}

fn assert_refused_without_session(response: &Response<Bytes>) {
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        body(response)
    );
    assert!(
        set_cookie_header(response, "educonnect_session").is_none(),
        "no session cookie"
    );
}

/// `__Host-{name}=…; Path=/`, no `Domain`, `Secure; HttpOnly; SameSite=Lax`.
fn assert_host_cookie(header: &str, name: &str) {
    assert!(
        header.starts_with(&format!("__Host-{name}=")),
        "{header} is not a __Host- cookie"
    );
    let attributes: Vec<&str> = header.split(';').skip(1).map(str::trim).collect();
    for wanted in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(attributes.contains(&wanted), "{header} lacks {wanted}");
    }
    assert!(
        !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "{header} has a Domain"
    );
    assert_eq!(
        attributes.iter().filter(|a| a.starts_with("Path=")).count(),
        1,
        "{header}"
    );
}

// --- finding 4 -------------------------------------------------------------

#[tokio::test]
async fn finding_4_login_and_verify_cookies_are_host_cookies() {
    let world = World::start().await;
    let login = world.login().await;
    assert_host_cookie(&login.set_cookie, "educonnect_login");

    // The callback clears the login cookie with the same name and path
    // (a clearing cookie with another path would clear nothing).
    let code = world.provider_accepts(&login).await;
    let response = world.callback(&login, &code).await;
    assert_eq!(location(&response), "/auth/verify", "{}", body(&response));
    let cleared = set_cookie_headers(&response, "educonnect_login");
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert!(cleared[0].contains("Max-Age=0"));
    assert_host_cookie(&cleared[0], "educonnect_login");

    let verify = set_cookie_header(&response, "educonnect_verify").unwrap();
    assert_host_cookie(&verify, "educonnect_verify");

    // Local development over http: no prefix (browsers refuse a `__Host-`
    // cookie without `Secure`).
    let local = World::start_with(
        |s| s,
        GatewayBuilder::insecure_cookies_for_local_development,
    )
    .await;
    let login = local.login().await;
    assert!(
        login.set_cookie.starts_with("educonnect_login="),
        "{}",
        login.set_cookie
    );
    assert!(!login.set_cookie.contains("Secure"));
    let challenge = local.challenge().await;
    assert!(challenge.starts_with("educonnect_verify="), "{challenge}");
}

#[tokio::test]
async fn finding_4_a_non_utf8_cookie_does_not_hide_the_login_cookie() {
    let world = World::start().await;
    let login = world.login().await;
    let code = world.provider_accepts(&login).await;
    // Another site's cookie with a Latin-1 byte, in the same header as ours.
    let mut header = b"tracker=caf\xe9; ".to_vec();
    header.extend_from_slice(login.cookie.as_bytes());
    header.extend_from_slice(b"; theme=dark");
    let uri = format!("/auth/callback?code={code}&state={}", login.state);
    let request =
        Request::get(uri).header(header::COOKIE, HeaderValue::from_bytes(&header).unwrap());
    let response = world.send(request, &[]).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    assert_eq!(location(&response), "/auth/verify");
}

// --- finding 5 -------------------------------------------------------------

/// Anonymous logins in the flood: two thousand times what the store of the
/// test below holds.
const FLOOD: usize = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_a_flood_of_anonymous_logins_evicts_no_pending_login_nor_challenge() {
    let world = World::start_with(
        |store| store.max_pending_logins(100).max_used_states(100),
        |g| g,
    )
    .await;
    // A parent at the birth-date challenge, and another one at the provider.
    let challenge = world.challenge().await;
    let challenge = challenge.split(';').next().unwrap().to_owned();
    let real = world.login().await;

    // The flood, on both cores (about 40 µs a login in a debug build).
    let started = Instant::now();
    let floods: Vec<_> = (0..2)
        .map(|_| {
            let gateway = world.gateway.clone();
            tokio::spawn(async move {
                let anonymous = Request::get("/auth/login?provider=franceconnect&return_to=/")
                    .body(Bytes::new())
                    .unwrap();
                for _ in 0..FLOOD / 2 {
                    let response = gateway.handle(anonymous.clone()).await;
                    assert_eq!(response.status(), StatusCode::SEE_OTHER);
                }
            })
        })
        .collect();
    for flood in floods {
        flood.await.unwrap();
    }
    eprintln!("{FLOOD} anonymous logins in {:?}", started.elapsed());
    // And callbacks of anonymous logins, each with its valid cookie: each
    // marks a state used, which must not push anything out either.
    for _ in 0..1_000 {
        let login = world.login().await;
        let uri = format!("/auth/callback?error=access_denied&state={}", login.state);
        let response = world.get(&uri, &[&login.cookie]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    assert!(
        world.challenge_is_there(&challenge).await,
        "the challenge survived the flood"
    );
    let code = world.provider_accepts(&real).await;
    let response = world.callback(&real, &code).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    assert_eq!(
        location(&response),
        "/auth/verify",
        "the real login completed after the flood"
    );
}

// --- finding 11 ------------------------------------------------------------

#[tokio::test]
async fn finding_11_callback_iss_must_match_the_provider_rfc9207() {
    let world = World::start_with(|s| s, |g| g).await;
    let encode =
        |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let other = format!("{}/other/api/v2", world.server.uri());
    for iss in [
        vec![other.clone()],
        vec![format!("{}/", world.issuer)],
        vec![world.issuer.to_uppercase()],
        vec![String::new()],
        // Given twice, once right: not "absent".
        vec![world.issuer.clone(), other.clone()],
    ] {
        let login = world.login().await;
        let code = world.provider_accepts(&login).await;
        let mut uri = format!("/auth/callback?code={code}&state={}", login.state);
        for value in &iss {
            uri.push_str(&format!("&iss={}", encode(value)));
        }
        let response = world.get(&uri, &[&login.cookie]).await;
        assert_refused_without_session(&response);
        assert!(
            set_cookie_header(&response, "educonnect_verify").is_none(),
            "{iss:?}"
        );
    }
    // The provider's own issuer, exactly: accepted.
    let login = world.login().await;
    let code = world.provider_accepts(&login).await;
    let uri = format!(
        "/auth/callback?code={code}&state={}&iss={}",
        login.state,
        encode(&world.issuer)
    );
    let response = world.get(&uri, &[&login.cookie]).await;
    assert_eq!(location(&response), "/auth/verify", "{}", body(&response));
    // An error response with another issuer is refused the same (not shown
    // as the provider's).
    let login = world.login().await;
    let uri = format!(
        "/auth/callback?error=access_denied&state={}&iss={}",
        login.state,
        encode(&other)
    );
    let response = world.get(&uri, &[&login.cookie]).await;
    assert_refused_without_session(&response);
    assert!(!body(&response).contains("annulée ou refusée"));
}

#[tokio::test]
async fn finding_11_forged_callback_without_the_cookie_does_not_burn_the_real_login() {
    let world = World::start().await;
    let victim = world.login().await;
    let attacker = world.login().await;
    let forged = format!("/auth/callback?code=forged&state={}", victim.state);
    // Without any cookie, with the attacker's own login cookie, with a
    // tampered cookie.
    let tampered = format!("{}x", victim.cookie);
    for cookies in [
        vec![],
        vec![attacker.cookie.as_str()],
        vec![tampered.as_str()],
    ] {
        assert_refused_without_session(&world.get(&forged, &cookies).await);
    }
    // The victim comes back from the provider: the login completes.
    let code = world.provider_accepts(&victim).await;
    let response = world.callback(&victim, &code).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    assert_eq!(location(&response), "/auth/verify");
    assert!(
        world.session_of(&response).await.is_none(),
        "the challenge comes first"
    );
}
