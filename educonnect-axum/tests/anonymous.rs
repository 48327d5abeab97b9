//! The layer, the routes and the extractors over real HTTP on loopback,
//! for requests without a session (logged-in users: `login.rs`).

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use educonnect_axum::{
    CurrentUser, ForPupil, OptionalUser, SessionLayer, WithLegalAuthority, routes,
};
use educonnect_core::MemoryStore;
use educonnect_core::directory::{PupilId, SourceId};
use educonnect_core::flow::access::WhenAnonymous;
use educonnect_core::flow::{ClientSecret, Gateway, Provider};
use educonnect_core::provider::FranceConnect;
use reqwest::StatusCode;
use reqwest::header::LOCATION;

fn gateway() -> Gateway {
    Gateway::builder("http://127.0.0.1:9")
        .unwrap()
        .provider(Provider::franceconnect(
            FranceConnect::custom("http://127.0.0.1:9/api/v2").unwrap(),
            "client",
            ClientSecret::new("secret"),
        ))
        .store(Arc::new(MemoryStore::new()))
        .insecure_cookies_for_local_development()
        .build()
        .unwrap()
}

fn app(gateway: Gateway, when_anonymous: WhenAnonymous) -> Router {
    Router::new()
        .route(
            "/",
            get(|OptionalUser(user): OptionalUser| async move {
                format!("anonymous: {}", user.is_none())
            }),
        )
        .route("/moi", get(|CurrentUser(_): CurrentUser| async { "moi" }))
        .route("/eleves/{pupil}", get(|_: ForPupil| async { "bulletin" }))
        .route(
            "/bourse/{pupil}",
            post(|_: WithLegalAuthority| async { "ok" }),
        )
        .merge(routes(gateway.clone()))
        .layer(SessionLayer::new(gateway).when_anonymous(when_anonymous))
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn segment() -> String {
    PupilId::new(SourceId::aaf("14").unwrap(), "E1")
        .unwrap()
        .to_url_segment()
}

#[tokio::test]
async fn pages_that_need_a_user_send_the_browser_to_the_login_and_back() {
    let base = serve(app(gateway(), WhenAnonymous::RedirectToLogin)).await;
    let client = client();
    for path in ["/moi?onglet=2".to_owned(), format!("/eleves/{}", segment())] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        let expected: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &path)
            .finish();
        assert_eq!(location, format!("/auth/login?{expected}"));
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    // The redirect leads to the provider through the gateway's routes.
    let response = client
        .get(format!("{base}/auth/login?return_to=%2Fmoi"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:9/api/v2/authorize?"),
        "{location}"
    );
    assert!(response.headers().contains_key("set-cookie"));
}

#[tokio::test]
async fn apis_answer_401_without_a_user() {
    let base = serve(app(gateway(), WhenAnonymous::Unauthorized)).await;
    let client = client();
    let response = client.get(format!("{base}/moi")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Connexion requise") && page.contains("lang=\"fr\""));
    // Checking the login comes before looking at the pupil.
    let response = client
        .post(format!("{base}/bourse/{}", segment()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = client
        .get(format!("{base}/eleves/n%27importe"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn optional_user_and_gateway_routes_pass_through() {
    let base = serve(app(gateway(), WhenAnonymous::RedirectToLogin)).await;
    let client = client();
    let response = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "anonymous: true");
    // A cookie naming no session is no session.
    let response = client
        .get(format!("{base}/"))
        .header(
            "cookie",
            "educonnect_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "anonymous: true");

    let response = client
        .get(format!("{base}/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(response.text().await.unwrap().contains("Se déconnecter"));

    let response = client
        .get(format!("{base}/auth/nulle-part"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = client
        .delete(format!("{base}/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let response = client
        .post(format!("{base}/auth/verify"))
        .body(vec![b'a'; 65 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_extractor_without_the_layer_is_a_wiring_mistake_not_a_401() {
    let app = Router::new().route("/moi", get(|CurrentUser(_): CurrentUser| async { "moi" }));
    let base = serve(app).await;
    let response = client().get(format!("{base}/moi")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
