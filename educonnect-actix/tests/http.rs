//! The adapter over real HTTP on loopback: the gateway's routes through the
//! scope, and what the extractors answer an anonymous request, a request
//! whose session store is down, and a route without the middleware.

mod support;

use std::sync::Arc;

use educonnect_core::MemoryStore;
use educonnect_core::flow::access::WhenAnonymous;
use educonnect_core::flow::access::{Denied, Refusal};
use educonnect_core::flow::{ClientSecret, Gateway, Provider};
use educonnect_core::provider::{EduConnect, FranceConnect};
use reqwest::StatusCode;
use support::{assert_exactly, client, down_store, serve};

const PUBLIC_URL: &str = "https://ent.example.fr";

fn franceconnect() -> Provider {
    Provider::franceconnect(
        FranceConnect::sandbox(),
        "client-id",
        ClientSecret::new("client-secret-of-at-least-thirty-two-bytes"),
    )
}

fn gateway() -> Gateway {
    Gateway::builder(PUBLIC_URL)
        .unwrap()
        .provider(franceconnect())
        .store(Arc::new(MemoryStore::new()))
        .build()
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn assert_gateway_page(response: &reqwest::Response) {
    assert_eq!(header(response, "cache-control"), "no-store");
    assert!(header(response, "content-security-policy").contains("default-src 'none'"));
    assert_eq!(header(response, "x-frame-options"), "DENY");
}

#[actix_web::test]
async fn login_goes_to_the_provider_with_a_login_cookie() {
    let service = serve(gateway(), Some(WhenAnonymous::RedirectToLogin)).await;
    let response = client()
        .get(service.url("/auth/login?return_to=%2Flivret"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = header(&response, "location");
    let authorize = FranceConnect::sandbox()
        .endpoints()
        .authorization()
        .to_string();
    assert!(location.starts_with(&authorize), "{location}");
    assert!(location.contains("acr_values=eidas1"), "{location}");
    let cookie = header(&response, "set-cookie");
    assert!(cookie.starts_with("__Host-educonnect_login="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert_gateway_page(&response);
    service.stop().await;
}

#[actix_web::test]
async fn with_two_providers_login_shows_the_choice() {
    let gateway = Gateway::builder(PUBLIC_URL)
        .unwrap()
        .provider(franceconnect())
        .provider(Provider::educonnect(
            EduConnect::test(),
            "client-id",
            ClientSecret::new("client-secret-of-at-least-thirty-two-bytes"),
        ))
        .build()
        .unwrap();
    let service = serve(gateway, Some(WhenAnonymous::RedirectToLogin)).await;
    let response = client()
        .get(service.url("/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_gateway_page(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("lang=\"fr\""));
    assert!(html.contains("provider=franceconnect") && html.contains("provider=educonnect"));
    service.stop().await;
}

#[actix_web::test]
async fn logout_get_is_a_french_confirmation_page() {
    let service = serve(gateway(), Some(WhenAnonymous::RedirectToLogin)).await;
    let response = client()
        .get(service.url("/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_gateway_page(&response);
    assert_eq!(
        header(&response, "content-type"),
        "text/html; charset=utf-8"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("Voulez-vous vous déconnecter ?"), "{html}");
    assert!(html.contains("<form method=\"post\" action=\"/auth/logout\">"));
    service.stop().await;
}

#[actix_web::test]
async fn logout_post_clears_the_session_cookie_and_checks_the_origin() {
    let service = serve(gateway(), Some(WhenAnonymous::RedirectToLogin)).await;
    let response = client()
        .post(service.url("/auth/logout"))
        .header("origin", PUBLIC_URL)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&response, "location"), "/");
    assert!(header(&response, "set-cookie").starts_with("__Host-educonnect_session=;"));

    let response = client()
        .post(service.url("/auth/logout"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    service.stop().await;
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_are_the_gateways_answers() {
    let service = serve(gateway(), Some(WhenAnonymous::RedirectToLogin)).await;
    let http = client();
    for path in ["/auth", "/auth/", "/auth/nothing", "/auth/login/x"] {
        let response = http.get(service.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_gateway_page(&response);
        assert!(response.text().await.unwrap().contains("Page introuvable"));
    }
    let response = http.put(service.url("/auth/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_gateway_page(&response);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Méthode non autorisée")
    );
    // Not under the base path: the application's own 404, not the gateway's.
    let response = http.get(service.url("/authx")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().get("content-security-policy").is_none());
    service.stop().await;
}

#[actix_web::test]
async fn bodies_over_64_kib_do_not_reach_the_gateway() {
    let service = serve(gateway(), Some(WhenAnonymous::RedirectToLogin)).await;
    let response = client()
        .post(service.url("/auth/verify"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 64 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Within the limit the gateway answers (no challenge pending: not a 413).
    let response = client()
        .post(service.url("/auth/verify"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 1024])
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_gateway_page(&response);
    service.stop().await;
}

#[actix_web::test]
async fn anonymous_pages_redirect_to_the_login_and_come_back() {
    let service = serve(gateway(), Some(WhenAnonymous::RedirectToLogin)).await;
    let http = client();
    let response = http
        .get(service.url("/me?onglet=notes"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&response, "location"),
        "/auth/login?return_to=%2Fme%3Fonglet%3Dnotes"
    );
    assert_gateway_page(&response);

    // A pupil route checks the login first, whatever the segment says.
    for path in ["/eleves/garbage", "/eleves/YWFmOjE0OkUx"] {
        let response = http.get(service.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(header(&response, "location").starts_with("/auth/login?return_to=%2Feleves%2F"));
    }
    let response = http
        .post(service.url("/eleves/garbage/signer"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // A session cookie that names no session is nobody.
    let response = http
        .get(service.url("/me"))
        .header(
            "cookie",
            "__Host-educonnect_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; other=x",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let response = http.get(service.url("/maybe")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "anonymous");
    let response = http.get(service.url("/public")).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "public");
    service.stop().await;
}

#[actix_web::test]
async fn anonymous_api_calls_get_401() {
    let service = serve(gateway(), Some(WhenAnonymous::Unauthorized)).await;
    let http = client();
    for path in ["/me", "/eleves/garbage"] {
        let response = http.get(service.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_gateway_page(&response);
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("Connexion requise"), "{html}");
    }
    let response = http.get(service.url("/maybe")).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "anonymous");
    service.stop().await;
}

#[actix_web::test]
async fn a_store_that_is_down_is_503_not_anonymous() {
    let gateway = Gateway::builder(PUBLIC_URL)
        .unwrap()
        .provider(franceconnect())
        .store(down_store())
        .build()
        .unwrap();
    let service = serve(gateway, Some(WhenAnonymous::RedirectToLogin)).await;
    let cookie = "__Host-educonnect_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let http = client();
    for path in ["/me", "/maybe", "/eleves/garbage"] {
        let response = http
            .get(service.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_gateway_page(&response);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("momentanément indisponible")
        );
    }
    // Pages that do not ask for the user still work.
    let response = http
        .get(service.url("/public"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    service.stop().await;
}

#[actix_web::test]
async fn extractors_without_the_middleware_are_a_500() {
    let service = serve(gateway(), None).await;
    let http = client();
    for path in ["/me", "/maybe", "/eleves/garbage"] {
        let response = http.get(service.url(path)).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}"
        );
        assert_gateway_page(&response);
        assert!(response.text().await.unwrap().contains("Erreur interne"));
    }
    // The gateway's own routes do not need the middleware.
    let response = http.get(service.url("/auth/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    service.stop().await;
}

#[actix_web::test]
async fn refusals_are_the_cores_responses_exactly() {
    let gateway = gateway();
    let http = client();

    let service = serve(gateway.clone(), Some(WhenAnonymous::RedirectToLogin)).await;
    let response = http
        .get(service.url("/eleves/x?onglet=notes"))
        .send()
        .await
        .unwrap();
    let core = Refusal::new(
        &gateway,
        Denied::Anonymous,
        WhenAnonymous::RedirectToLogin,
        "/eleves/x?onglet=notes",
    );
    assert_exactly(response, core.into_response()).await;
    service.stop().await;

    let service = serve(gateway.clone(), Some(WhenAnonymous::Unauthorized)).await;
    let response = http.get(service.url("/me")).send().await.unwrap();
    let core = Refusal::new(
        &gateway,
        Denied::Anonymous,
        WhenAnonymous::Unauthorized,
        "/me",
    );
    assert_exactly(response, core.into_response()).await;
    service.stop().await;

    let service = serve(gateway.clone(), None).await;
    let response = http.get(service.url("/me")).send().await.unwrap();
    assert_exactly(response, Refusal::not_resolved().into_response()).await;
    service.stop().await;

    let down = Gateway::builder(PUBLIC_URL)
        .unwrap()
        .provider(franceconnect())
        .store(down_store())
        .build()
        .unwrap();
    let service = serve(down.clone(), Some(WhenAnonymous::RedirectToLogin)).await;
    let response = http
        .get(service.url("/maybe"))
        .header(
            "cookie",
            "__Host-educonnect_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .await
        .unwrap();
    let core = Refusal::new(
        &down,
        Denied::Unavailable,
        WhenAnonymous::RedirectToLogin,
        "/maybe",
    );
    assert_exactly(response, core.into_response()).await;
    service.stop().await;
}

#[actix_web::test]
async fn gateway_pages_are_the_cores_responses_exactly() {
    let gateway = gateway();
    let service = serve(gateway.clone(), Some(WhenAnonymous::RedirectToLogin)).await;
    let http = client();
    for (method, path) in [
        ("GET", "/auth/logout"),
        ("GET", "/auth/nothing"),
        ("DELETE", "/auth/logout"),
        ("GET", "/auth/jwks"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = http
            .request(method.clone(), service.url(path))
            .send()
            .await
            .unwrap();
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .body(bytes::Bytes::new())
            .unwrap();
        assert_exactly(response, gateway.handle(request).await).await;
    }
    service.stop().await;
}
