//! The proxy over real loopback HTTP: a real upstream, logins through the
//! sandbox's scripted agent, every rule kind allowed and refused, spoofed
//! headers, a WebSocket, HTTP/2, the store down, a graceful shutdown.
#![allow(missing_docs)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use educonnect_core::directory::PupilId;
use educonnect_core::filiation::AssertionVerifier;
use educonnect_core::flow::Gateway;
use educonnect_core::{Store, StoreError};
use educonnect_proxy::{Proxy, ProxyConfig};
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, SandboxConfig, demo};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use support::{TestProxy, Upstream, config_text, head_value, identity_headers, parse, raw};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn log_in(proxy: &TestProxy, who: &str) -> Agent {
    let agent = Agent::log_in(&proxy.base, demo::identity(who).unwrap())
        .await
        .unwrap();
    assert_eq!(agent.landed(), "/");
    agent
}

async fn get(agent: Option<&Agent>, url: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(url);
    if let Some(agent) = agent {
        request = request.header("cookie", agent.cookie_header());
    }
    request.send().await.unwrap()
}

/// The pupils the upstream is told `agent` may act for.
async fn children(proxy: &TestProxy, upstream: &Upstream, agent: &Agent) -> Vec<String> {
    let response = get(Some(agent), &format!("{}/compte", proxy.base)).await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last("/compte").unwrap();
    seen.get("x-educonnect-children")
        .unwrap()
        .to_str()
        .unwrap()
        .split(", ")
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_sees_the_identity_and_a_verified_assertion_never_spoofed_headers() {
    let upstream = Upstream::start().await;
    let config = parse(&config_text(&upstream, ""));
    let proxy = TestProxy::start(&config).await;
    let parent = log_in(&proxy, demo::EC_PARENT_TWO_ACADEMIES).await;
    let cookie = parent.cookie_header();

    let spoofed = [
        ("X-EduConnect-Subject", "forged"),
        ("x-educonnect-children", "forged"),
        ("X-EDUCONNECT-FAMILY-ASSERTION", "forged"),
        ("X-EduConnect-Legal-Authority", "forged"),
        ("X-EduConnect-Whatever", "forged"),
        ("Connection", "x-hop"),
        ("X-Hop", "hop-by-hop"),
        ("X-Forwarded-For", "203.0.113.9"),
    ];
    let mut with_cookie = spoofed.to_vec();
    with_cookie.push(("Cookie", &cookie));
    let (status, head, body) = raw(proxy.addr, "GET", "/compte?x=1", &with_cookie).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, "upstream /compte?x=1");
    assert!(head_value(&head, "x-educonnect-leak").is_none(), "{head}");
    let seen = upstream.last("/compte?x=1").unwrap();
    let identity = identity_headers(&seen);
    assert!(identity.iter().all(|(_, v)| v != "forged"), "{identity:?}");
    assert!(seen.get("x-educonnect-whatever").is_none());
    assert!(seen.get("x-hop").is_none(), "hop-by-hop header forwarded");
    assert_eq!(seen.get("x-educonnect-provider").unwrap(), "educonnect");
    assert_eq!(seen.get("x-educonnect-profile").unwrap(), "guardian");
    assert!(!seen.get("x-educonnect-subject").unwrap().is_empty());
    assert_eq!(
        seen.get("x-forwarded-for").unwrap(),
        "203.0.113.9, 127.0.0.1"
    );
    assert_eq!(seen.get("x-forwarded-proto").unwrap(), "http");
    assert_eq!(
        seen.get("x-forwarded-host").unwrap().to_str().unwrap(),
        proxy.addr.to_string()
    );
    assert_eq!(
        seen.get("host").unwrap().to_str().unwrap(),
        upstream.addr.to_string()
    );
    let children: Vec<&str> = seen
        .get("x-educonnect-children")
        .unwrap()
        .to_str()
        .unwrap()
        .split(", ")
        .collect();
    assert_eq!(children.len(), 2, "{children:?}");

    // The assertion, checked as the upstream would: the gateway's JWKS.
    let token = seen
        .get("x-educonnect-family-assertion")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let jwks = get(None, &format!("{}/auth/jwks", proxy.base))
        .await
        .bytes()
        .await
        .unwrap();
    let verifier = AssertionVerifier::from_jwks_json(&proxy.base, &upstream.url(), &jwks).unwrap();
    let verified = verifier.verify(&token).unwrap();
    for child in &children {
        let pupil = PupilId::from_url_segment(child).unwrap();
        assert!(verified.family().may_act_for(&pupil));
    }
    assert_eq!(
        verified.family().sub(),
        seen.get("x-educonnect-subject").unwrap()
    );
    // Another audience refuses it.
    let other =
        AssertionVerifier::from_jwks_json(&proxy.base, "https://other.example", &jwks).unwrap();
    assert!(other.verify(&token).is_err());

    // Public and anonymous requests: no identity, and none of the forged one.
    let (status, _, _) = raw(proxy.addr, "GET", "/public/page", &with_cookie).await;
    assert_eq!(status, 200);
    let seen = upstream.last("/public/page").unwrap();
    assert!(identity_headers(&seen).is_empty(), "{seen:?}");
    let before = upstream.seen().len();
    let (status, head, _) = raw(proxy.addr, "GET", "/compte", &spoofed).await;
    assert_eq!(status, 303, "{head}");
    assert_eq!(
        upstream.seen().len(),
        before,
        "an anonymous request reached the upstream"
    );
    // On the gateway's own routes too the forged headers go (nothing to
    // see upstream): the JWKS answers as always.
    let (status, _, _) = raw(proxy.addr, "GET", "/auth/jwks", &spoofed).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_kind_is_allowed_and_refused() {
    let upstream = Upstream::start().await;
    let config = parse(&config_text(&upstream, ""));
    let proxy = TestProxy::start(&config).await;
    let base = &proxy.base;

    // Anonymous: public passes, the rest is sent to the login.
    assert_eq!(get(None, &format!("{base}/public/x")).await.status(), 200);
    for path in [
        "/compte",
        "/eleves/AAAA",
        "/bulletins?eleve=AAAA",
        "/signature/AAAA",
    ] {
        let response = get(None, &format!("{base}{path}")).await;
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/auth/login?"), "{path}: {location}");
        assert!(location.contains("return_to="), "{location}");
    }

    // An API rule answers 401 instead.
    assert_eq!(get(None, &format!("{base}/api/notes")).await.status(), 401);

    let parent = log_in(&proxy, demo::EC_PARENT_TWO_ACADEMIES).await;
    let pupil = log_in(&proxy, demo::EC_PUPIL).await;
    let mine = children(&proxy, &upstream, &parent).await;
    let herself = children(&proxy, &upstream, &pupil).await;
    assert_eq!(
        get(Some(&parent), &format!("{base}/api/notes"))
            .await
            .status(),
        200
    );
    assert_eq!(herself.len(), 1);
    let (child, maelys) = (&mine[0], &herself[0]);
    assert!(!mine.contains(maelys));

    // logged in
    assert_eq!(
        get(Some(&parent), &format!("{base}/compte")).await.status(),
        200
    );
    // act for, pupil in the path
    let response = get(Some(&parent), &format!("{base}/eleves/{child}/bulletin")).await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last(&format!("/eleves/{child}/bulletin")).unwrap();
    assert_eq!(seen.get("x-educonnect-pupil").unwrap(), child.as_str());
    assert_eq!(
        get(Some(&parent), &format!("{base}/eleves/{maelys}"))
            .await
            .status(),
        403
    );
    assert_eq!(
        get(Some(&pupil), &format!("{base}/eleves/{maelys}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        get(Some(&pupil), &format!("{base}/eleves/{child}"))
            .await
            .status(),
        403
    );
    assert_eq!(
        get(Some(&parent), &format!("{base}/eleves/not-a-pupil"))
            .await
            .status(),
        404
    );
    // act for, pupil in the query
    let response = get(Some(&parent), &format!("{base}/bulletins?eleve={child}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        get(Some(&parent), &format!("{base}/bulletins?eleve={maelys}"))
            .await
            .status(),
        403
    );
    // Named twice: an upstream might read the other one.
    let twice = format!("{base}/bulletins?eleve={child}&eleve={maelys}");
    assert_eq!(get(Some(&parent), &twice).await.status(), 404);
    // legal authority: the parent holds it, a pupil never over herself.
    assert_eq!(
        get(Some(&parent), &format!("{base}/signature/{child}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        get(Some(&pupil), &format!("{base}/signature/{maelys}"))
            .await
            .status(),
        403
    );
    assert_eq!(
        get(Some(&parent), &format!("{base}/signature/{maelys}"))
            .await
            .status(),
        403
    );

    // A path an upstream could read as another one is refused.
    let cookie = parent.cookie_header();
    for target in [
        format!("/public/../eleves/{maelys}"),
        format!("/public/%2e%2e/eleves/{maelys}"),
        format!("/public/..;/eleves/{maelys}"),
        "/public%2f..%2fcompte".to_owned(),
        "/public//x".to_owned(),
    ] {
        let (status, _, _) = raw(proxy.addr, "GET", &target, &[("Cookie", &cookie)]).await;
        assert_eq!(status, 400, "{target}");
    }
    // Matching ignores case and ;parameters, as some upstreams do.
    let (status, _, _) = raw(
        proxy.addr,
        "GET",
        &format!("/ELEVES;x=1/{maelys}"),
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(status, 403);

    // A state-changing request from another origin gets no session.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(format!("{base}/eleves/{child}"))
        .header("cookie", parent.cookie_header())
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_check_answers_as_nginx_expects() {
    let upstream = Upstream::start().await;
    let config = parse(&config_text(&upstream, ""));
    let proxy = TestProxy::start(&config).await;
    let parent = log_in(&proxy, demo::EC_PARENT_TWO_ACADEMIES).await;
    let pupil = log_in(&proxy, demo::EC_PUPIL).await;
    let mine = children(&proxy, &upstream, &parent).await;
    let maelys = &children(&proxy, &upstream, &pupil).await[0];
    let check = |uri: String, cookie: Option<String>| {
        let addr = proxy.addr;
        async move {
            let mut headers = vec![
                ("X-Original-URI", uri.clone()),
                ("X-EduConnect-Subject", "forged".to_owned()),
            ];
            if let Some(cookie) = cookie {
                headers.push(("Cookie", cookie));
            }
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            raw(addr, "GET", "/auth/check", &headers).await
        }
    };
    let cookie = Some(parent.cookie_header());
    let (status, head, _) = check(format!("/eleves/{}", mine[0]), cookie.clone()).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(head_value(&head, "x-educonnect-pupil").unwrap(), mine[0]);
    assert!(head_value(&head, "x-educonnect-family-assertion").is_some());
    assert_ne!(head_value(&head, "x-educonnect-subject").unwrap(), "forged");
    let (status, _, _) = check(format!("/eleves/{maelys}"), cookie.clone()).await;
    assert_eq!(status, 403);
    let (status, head, _) = check("/compte?a=b".into(), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        head_value(&head, "location").unwrap(),
        "/auth/login?return_to=%2Fcompte%3Fa%3Db"
    );
    let (status, head, _) = check("/public/x".into(), None).await;
    assert_eq!(status, 200);
    assert_eq!(head_value(&head, "x-educonnect-subject"), None, "{head}");
    let (status, _, _) = check("/public/../compte".into(), None).await;
    assert_eq!(status, 403);
    // nginx asks about what goes to the upstream only: a path under the
    // gateway's is judged by the rules like any other, never let through.
    let (status, _, _) = check(format!("/auth/../eleves/{maelys}"), cookie.clone()).await;
    assert_eq!(status, 403);
    let (status, _, _) = check("/auth".into(), None).await;
    assert_eq!(status, 401);
    // Without X-Original-URI (a misconfigured nginx): refused, whoever asks.
    let (status, _, _) = raw(
        proxy.addr,
        "GET",
        "/auth/check",
        &[("Cookie", &parent.cookie_header())],
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_goes_through_for_a_logged_in_user_only() {
    let upstream = Upstream::start().await;
    let config = parse(&config_text(&upstream, ""));
    let proxy = TestProxy::start(&config).await;
    let parent = log_in(&proxy, demo::EC_PARENT_TWO_ACADEMIES).await;

    let ws_url = format!("ws://{}/chat/ws", proxy.addr);
    let mut request = ws_url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", parent.cookie_header().parse().unwrap());
    request
        .headers_mut()
        .insert("x-educonnect-subject", "forged".parse().unwrap());
    let (mut socket, response) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.status(), 101);
    for text in ["bonjour", "à bientôt"] {
        socket.send(Message::text(text)).await.unwrap();
        let echoed = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echoed, Message::text(text));
    }
    socket
        .send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    let echoed = socket.next().await.unwrap().unwrap();
    assert_eq!(echoed, Message::binary(vec![0u8, 1, 2, 255]));
    let _ = socket.close(None).await;
    let seen = upstream.last("/chat/ws").unwrap();
    assert_ne!(seen.get("x-educonnect-subject").unwrap(), "forged");
    assert_eq!(seen.get("upgrade").unwrap(), "websocket");

    // Anonymous: refused before the upstream.
    let before = upstream.seen().len();
    let refused = tokio_tungstenite::connect_async(ws_url.as_str()).await;
    assert!(refused.is_err());
    // From another origin: refused too (a channel in the user's name).
    let mut request = ws_url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", parent.cookie_header().parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("a cross-origin WebSocket was not refused: {other:?}"),
    }
    assert_eq!(upstream.seen().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge() {
    let upstream = Upstream::start().await;
    let config = parse(&config_text(&upstream, ""));
    let proxy = TestProxy::start(&config).await;
    let parent = log_in(&proxy, demo::EC_PARENT_TWO_ACADEMIES).await;

    let stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    for (path, cookie) in [
        ("/public/h2", None),
        ("/compte/h2", Some(parent.cookie_header())),
    ] {
        let mut request = http::Request::get(format!("http://{}{path}", proxy.addr))
            .header("x-educonnect-subject", "forged");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let request = request
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.version(), http::Version::HTTP_2);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("upstream {path}").as_bytes());
    }
    let seen = upstream.last("/compte/h2").unwrap();
    assert_eq!(seen.get("x-educonnect-profile").unwrap(), "guardian");
    assert_ne!(seen.get("x-educonnect-subject").unwrap(), "forged");
    assert_eq!(
        seen.get("x-forwarded-host").unwrap().to_str().unwrap(),
        proxy.addr.to_string()
    );
    assert!(identity_headers(&upstream.last("/public/h2").unwrap()).is_empty());
}

/// A store that is down: every call fails.
#[derive(Debug)]
struct DownStore;

fn down() -> StoreError {
    StoreError::Unavailable("connection refused".into())
}

#[async_trait::async_trait]
impl Store for DownStore {
    async fn put_pending(&self, _: &str, _: Vec<u8>, _: Duration) -> Result<(), StoreError> {
        Err(down())
    }
    async fn take_pending(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
    async fn create_session(&self, _: &str, _: Vec<u8>, _: Duration) -> Result<(), StoreError> {
        Err(down())
    }
    async fn read_session(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
    async fn replace_session(
        &self,
        _: &str,
        _: Vec<u8>,
        _: Option<Duration>,
    ) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn touch_session(&self, _: &str, _: Duration) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn delete_session(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn increment_counter(&self, _: &str, _: Duration) -> Result<u64, StoreError> {
        Err(down())
    }
    async fn read_counter(&self, _: &str) -> Result<u64, StoreError> {
        Err(down())
    }
    async fn reset_counter(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn put_record(&self, _: &str, _: Vec<u8>) -> Result<(), StoreError> {
        Err(down())
    }
    async fn get_record(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
    async fn delete_record(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_is_a_503_not_a_login() {
    let upstream = Upstream::start().await;
    let config: ProxyConfig = parse(&config_text(&upstream, ""));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let sandbox = Sandbox::start(SandboxConfig::new().gateway(&base))
        .await
        .unwrap();
    let gateway = Gateway::builder(&base)
        .unwrap()
        .provider(sandbox.provider_educonnect())
        .store(Arc::new(DownStore))
        .insecure_cookies_for_local_development()
        .build()
        .unwrap();
    let proxy = Proxy::new(gateway, &config);
    tokio::spawn(educonnect_proxy::serve(
        proxy,
        listener,
        std::future::pending(),
    ));

    // A well-formed session id (43 letters and digits): the store is asked.
    let id = "a".repeat(43);
    let cookie_value = format!("educonnect_session={id}");
    let cookie = [("Cookie", cookie_value.as_str())];
    for target in ["/compte", "/eleves/AAAA", "/signature/AAAA"] {
        let (status, head, _) = raw(addr, "GET", target, &cookie).await;
        assert_eq!(status, 503, "{target}: {head}");
    }
    let (status, _, _) = raw(addr, "GET", "/public/x", &cookie).await;
    assert_eq!(status, 200, "a public route does not need the store");
    let (status, _, _) = raw(
        addr,
        "GET",
        "/auth/check",
        &[("X-Original-URI", "/compte"), cookie[0]],
    )
    .await;
    assert_eq!(status, 503);
    drop(sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_lets_the_request_in_flight_finish() {
    let upstream = Upstream::start().await;
    let config = parse(&config_text(&upstream, ""));
    let mut proxy = TestProxy::start(&config).await;
    let addr = proxy.addr;
    let in_flight = tokio::spawn(async move { raw(addr, "GET", "/public/slow", &[]).await });
    // The request reaches the upstream, which sleeps 1.5 s.
    for _ in 0..100 {
        if upstream.last("/public/slow").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(upstream.last("/public/slow").is_some());
    let stopped = proxy.begin_shutdown();
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, "upstream /public/slow");
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("the proxy stops once the request is done")
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after the shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_502() {
    let upstream = Upstream::start().await;
    let mut text = config_text(&upstream, "");
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = free.local_addr().unwrap();
    drop(free);
    text = text.replace(&upstream.url(), &format!("http://{dead}"));
    let proxy = TestProxy::start(&parse(&text)).await;
    let (status, _, _) = raw(proxy.addr, "GET", "/public/x", &[]).await;
    assert_eq!(status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_base_path_prefixes_the_target() {
    let upstream = Upstream::start().await;
    let text = config_text(&upstream, "").replace(
        &format!("upstream = \"{}\"", upstream.url()),
        &format!("upstream = \"{}/app/\"", upstream.url()),
    );
    let proxy = TestProxy::start(&parse(&text)).await;
    let (status, _, body) = raw(proxy.addr, "GET", "/public/x?y=1", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body, "upstream /app/public/x?y=1");
    assert!(upstream.last("/app/public/x?y=1").is_some());
}
