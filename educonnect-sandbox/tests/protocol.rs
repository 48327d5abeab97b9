//! The sandbox's endpoints spoken to directly over HTTP, as a careless or
//! hostile relying party would: what FranceConnect refuses, the sandbox
//! refuses the same way.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use educonnect_core::flow::{ClientSecret, Provider};
use educonnect_core::jose::crypto::sha256;
use educonnect_core::jose::{Algorithm, KeySet, Validation};
use educonnect_core::{ReqwestClient, Timeouts};
use educonnect_sandbox::demo;
use educonnect_sandbox::{Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{Map, Value};
use url::Url;

const REDIRECT: &str = "http://localhost:3000/auth/callback";
const LOGOUT_BACK: &str = "http://localhost:3000/auth/logout/callback";
const STATE: &str = "state0123456789abcdefghijkl";
const NONCE: &str = "nonce0123456789abcdefghijkl";
const VERIFIER: &str = "verifier0123456789abcdefghijklmnopqrstuvwxyz";

struct World {
    sandbox: Sandbox,
    http: reqwest::Client,
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

impl World {
    async fn start() -> Self {
        Self::with(SandboxConfig::new()).await
    }

    async fn with(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start(
            config
                .redirect_uri(REDIRECT)
                .post_logout_redirect_uri(LOGOUT_BACK),
        )
        .await
        .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { sandbox, http }
    }

    fn fc(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.franceconnect_issuer())
    }

    fn authorize_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", self.sandbox.client_id().to_owned()),
            ("response_type", "code".into()),
            ("redirect_uri", REDIRECT.into()),
            (
                "scope",
                "openid given_name family_name birthdate gender birthplace birthcountry".into(),
            ),
            ("state", STATE.into()),
            ("nonce", NONCE.into()),
            ("acr_values", "eidas1".into()),
            ("code_challenge", challenge(VERIFIER)),
            ("code_challenge_method", "S256".into()),
        ]
    }

    async fn authorize(&self, params: &[(&str, String)]) -> reqwest::Response {
        self.http
            .get(self.fc("/authorize"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// The picker's pending request id.
    async fn picker(&self) -> String {
        let page = self.authorize(&self.authorize_params()).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let marker = "name=\"request\" value=\"";
        let start = html.find(marker).unwrap() + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    }

    async fn choose(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.fc("/login"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A code for `identity`, through the picker.
    async fn code(&self, identity: &str) -> String {
        let request = self.picker().await;
        let chosen = self
            .choose(&[("request", request.as_str()), ("identity", identity)])
            .await;
        assert_eq!(chosen.status(), 303);
        let back = redirected(&chosen);
        assert_eq!(back.get("state").map(String::as_str), Some(STATE));
        back["code"].clone()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.fc("/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn exchange(&self, code: &str, secret: &str, verifier: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", self.sandbox.client_id()),
            ("client_secret", secret),
            ("code_verifier", verifier),
        ])
        .await
    }

    async fn keys(&self) -> KeySet {
        let jwks = self.http.get(self.fc("/jwks")).send().await.unwrap();
        assert_eq!(jwks.headers()["cache-control"], "public, max-age=600");
        KeySet::from_jwks_json(&jwks.bytes().await.unwrap()).unwrap()
    }
}

/// The query of a redirect's `Location`, which must go to [`REDIRECT`].
fn redirected(response: &reqwest::Response) -> HashMap<String, String> {
    let back = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(&back[..url::Position::AfterPath], REDIRECT);
    back.query_pairs().into_owned().collect()
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn discovery_and_keys() {
    let world = World::start().await;
    let doc: Value = world
        .http
        .get(world.fc("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], world.sandbox.franceconnect_issuer());
    assert_eq!(doc["token_endpoint"], world.fc("/token"));
    assert_eq!(doc["end_session_endpoint"], world.fc("/session/end"));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_post"])
    );
    let keys = world.keys().await;
    assert_eq!(keys.keys().len(), 2);
    assert!(keys.skipped().is_empty());
    assert!(keys.contains_kid("sandbox:ES256") && keys.contains_kid("sandbox:RS256"));
}

#[tokio::test]
async fn a_full_exchange_gives_verifiable_tokens_and_a_signed_userinfo() {
    let world = World::start().await;
    let code = world.code(demo::FC_PARENT_WITHOUT_CHILDREN).await;
    let (status, body) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let keys = world.keys().await;
    let validation = Validation::new(
        world.sandbox.franceconnect_issuer(),
        world.sandbox.client_id(),
    )
    .algorithms([Algorithm::ES256])
    .nonce(NONCE);
    let id_token = validation
        .verify::<Map<String, Value>>(body["id_token"].as_str().unwrap(), &keys)
        .unwrap()
        .into_claims();
    assert_eq!(id_token["acr"], "eidas1");
    assert!(id_token["auth_time"].is_i64() && id_token["amr"].is_array());

    let userinfo = world
        .http
        .get(world.fc("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    assert_eq!(userinfo.headers()["content-type"], "application/jwt");
    let jwt = userinfo.text().await.unwrap();
    let validation = Validation::new(
        world.sandbox.franceconnect_issuer(),
        world.sandbox.client_id(),
    )
    .algorithms([Algorithm::ES256]);
    let claims = validation
        .verify::<Map<String, Value>>(&jwt, &keys)
        .unwrap()
        .into_claims();
    assert_eq!(claims["sub"], id_token["sub"]);
    assert_eq!(claims["birthdate"], "1992-11-01");
    assert_eq!(claims["idp_birthdate"], "1992-11-00");
    assert_eq!(claims["birthplace"], "");
    assert_eq!(claims["birthcountry"], "99341");
    // Not granted: not released.
    assert!(claims.get("email").is_none() && claims.get("preferred_username").is_none());
}

#[tokio::test]
async fn unregistered_redirect_uri_or_client_gets_an_error_page_not_a_redirect() {
    let world = World::start().await;
    for (name, value) in [
        ("redirect_uri", "http://localhost:3000/auth/callback/evil"),
        ("redirect_uri", "http://evil.example/auth/callback"),
        ("client_id", "someone-else"),
    ] {
        let mut params = world.authorize_params();
        params.retain(|(k, _)| *k != name);
        params.push((name, value.to_owned()));
        let response = world.authorize(&params).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}={value}");
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("role=\"alert\"") && html.contains("lang=\"fr\""));
    }
    // An unknown parameter is refused too, without a redirect.
    let mut params = world.authorize_params();
    params.push(("debug", "1".into()));
    let response = world.authorize(&params).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_requests_from_a_registered_client_are_sent_back_as_errors() {
    let world = World::start().await;
    for (name, value, error) in [
        ("response_type", "token", "unsupported_response_type"),
        ("scope", "given_name", "invalid_scope"),
        ("nonce", "short", "invalid_request"),
        ("acr_values", "eidas3", "invalid_request"),
        ("code_challenge_method", "plain", "invalid_request"),
    ] {
        let mut params = world.authorize_params();
        params.retain(|(k, _)| *k != name);
        params.push((name, value.to_owned()));
        let response = world.authorize(&params).await;
        assert_eq!(response.status(), 303, "{name}={value}");
        let back = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        assert!(back.as_str().starts_with(REDIRECT));
        let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
        assert!(
            pairs.contains(&("error".into(), error.into())),
            "{name}: {pairs:?}"
        );
        assert!(pairs.contains(&("state".into(), STATE.into())));
    }
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let world = World::start().await;
    let code = world.code(demo::FC_PARENT_TWO_ACADEMIES).await;
    let (status, body) = world.exchange(&code, "not-the-secret", VERIFIER).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body), "invalid_client");
    // client_secret_basic is not FranceConnect's.
    let response = world
        .http
        .post(world.fc("/token"))
        .basic_auth(
            world.sandbox.client_id(),
            Some(world.sandbox.client_secret()),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_code_is_used_once() {
    let world = World::start().await;
    let code = world.code(demo::FC_PARENT_TWO_ACADEMIES).await;
    let (status, _) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    let (status, body) = world
        .exchange("made-up", world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_and_spends_the_code() {
    let world = World::start().await;
    let code = world.code(demo::FC_PARENT_TWO_ACADEMIES).await;
    let wrong = "verifier0123456789abcdefghijklmnopqrstuvwxyZ";
    let (status, body) = world
        .exchange(&code, world.sandbox.client_secret(), wrong)
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, _) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Without the verifier at all.
    let code = world.code(demo::FC_PARENT_TWO_ACADEMIES).await;
    let (status, body) = world
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", world.sandbox.client_id()),
            ("client_secret", world.sandbox.client_secret()),
        ])
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn userinfo_without_or_with_a_bad_token_is_401() {
    let world = World::start().await;
    let response = world.http.get(world.fc("/userinfo")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let response = world
        .http
        .get(world.fc("/userinfo"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // An EduConnect token is not a FranceConnect one, and the reverse.
    let response = world
        .http
        .get(format!(
            "{}/profile/oidc/userinfo",
            world.sandbox.educonnect_base()
        ))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_never_redirects_to_an_unregistered_uri() {
    let world = World::start().await;
    let code = world.code(demo::FC_PARENT_TWO_ACADEMIES).await;
    let (_, body) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    let id_token = body["id_token"].as_str().unwrap();
    let end = |target: &str| {
        world
            .http
            .get(world.fc("/session/end"))
            .query(&[
                ("id_token_hint", id_token),
                ("state", STATE),
                ("post_logout_redirect_uri", target),
            ])
            .send()
    };
    let response = end("http://evil.example/").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    // Without a known id_token_hint: no redirect either.
    let response = world
        .http
        .get(world.fc("/session/end"))
        .query(&[
            ("id_token_hint", "x.y.z"),
            ("post_logout_redirect_uri", LOGOUT_BACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    // The registered one, with the state.
    let response = end(LOGOUT_BACK).await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        format!("{LOGOUT_BACK}?state={STATE}")
    );
}

#[tokio::test]
async fn hostile_input_gets_errors_not_panics() {
    let world = World::start().await;
    let junk = ["%", "a=%ff%fe", "code=&&&==", "\u{0}", &"x".repeat(100_000)];
    for body in junk {
        for path in ["/token", "/login", "/authorize"] {
            let response = world
                .http
                .post(world.fc(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned())
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_client_error(),
                "{path} {}",
                response.status()
            );
        }
    }
    // Still serving.
    let response = world.http.get(world.fc("/jwks")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    world.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_loopback_addresses_and_known_algorithms() {
    let config = SandboxConfig::new().listen("0.0.0.0:0".parse().unwrap());
    let error = Sandbox::start(config).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    let config = SandboxConfig::new().signing_algorithm(Algorithm::HS256);
    assert!(Sandbox::start(config).await.is_err());
    let config = SandboxConfig::new().redirect_uri("not a url");
    assert!(Sandbox::start(config).await.is_err());
}

#[tokio::test]
async fn an_expired_code_or_access_token_is_refused() {
    let world = World::with(SandboxConfig::new().code_lifetime(Duration::ZERO)).await;
    let code = world.code(demo::FC_PARENT_TWO_ACADEMIES).await;
    let (status, body) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    let world = World::with(SandboxConfig::new().access_token_lifetime(Duration::ZERO)).await;
    let code = world.code(demo::FC_PARENT_TWO_ACADEMIES).await;
    let (status, body) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(status, StatusCode::OK);
    let response = world
        .http
        .get(world.fc("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_picker_answers_once_and_can_be_cancelled() {
    let world = World::start().await;
    let request = world.picker().await;
    let cancelled = world
        .choose(&[("request", request.as_str()), ("cancel", "1")])
        .await;
    assert_eq!(cancelled.status(), 303);
    let back = redirected(&cancelled);
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], STATE);
    assert!(!back.contains_key("code"));
    // The request is spent.
    let again = world
        .choose(&[
            ("request", request.as_str()),
            ("identity", demo::FC_PARENT_TWO_ACADEMIES),
        ])
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.headers().get("location").is_none());
    // An EduConnect account cannot log in at FranceConnect.
    let request = world.picker().await;
    let wrong = world
        .choose(&[("request", request.as_str()), ("identity", demo::EC_PUPIL)])
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_core_reads_both_discovery_documents() {
    let world = World::start().await;
    let http = ReqwestClient::new(Timeouts::default()).unwrap();
    for (issuer, end_session) in [
        (
            world.sandbox.franceconnect_issuer(),
            world.fc("/session/end"),
        ),
        (
            world.sandbox.educonnect_base(),
            format!("{}/profile/oidc/logout", world.sandbox.educonnect_base()),
        ),
    ] {
        let provider = Provider::discover(
            "sandbox",
            "Sandbox",
            &issuer,
            world.sandbox.client_id(),
            ClientSecret::new(world.sandbox.client_secret()),
            &http,
        )
        .await
        .unwrap();
        let endpoints = provider.endpoints();
        assert_eq!(endpoints.issuer().as_str(), issuer);
        assert_eq!(endpoints.end_session().unwrap().as_str(), end_session);
        let jwks = world
            .http
            .get(endpoints.jwks().unwrap().as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(jwks.status(), 200);
    }
    // The presets point where the discovery documents do.
    let fc = world.sandbox.provider_franceconnect();
    assert_eq!(fc.endpoints().token().as_str(), world.fc("/token"));
}

#[tokio::test]
async fn debug_output_never_shows_the_client_secret() {
    let config = SandboxConfig::new().client("a-client", "top-secret-value");
    assert!(!format!("{config:?}").contains("top-secret-value"));
    let sandbox = Sandbox::start(config).await.unwrap();
    assert!(!format!("{sandbox:?}").contains("top-secret-value"));
    assert_eq!(sandbox.client_secret(), "top-secret-value");
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn rs256_when_configured() {
    let world = World::with(SandboxConfig::new().signing_algorithm(Algorithm::RS256)).await;
    let code = world.code(demo::FC_PARENT_USAGE_NAME).await;
    let (status, body) = world
        .exchange(&code, world.sandbox.client_secret(), VERIFIER)
        .await;
    assert_eq!(status, StatusCode::OK);
    let id_token = body["id_token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "sandbox:RS256");
    let validation = Validation::new(
        world.sandbox.franceconnect_issuer(),
        world.sandbox.client_id(),
    )
    .algorithms([Algorithm::RS256])
    .nonce(NONCE);
    assert!(
        validation
            .verify::<Value>(id_token, &world.keys().await)
            .is_ok()
    );
}
