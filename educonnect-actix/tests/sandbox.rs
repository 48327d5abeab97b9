//! Real logins, over HTTP on loopback, through the sandbox provider: a
//! browser (reqwest, no redirect followed) goes from the service's
//! `/auth/login` to the sandbox's identity picker, back to the service's
//! callback (and the birth-date challenge for FranceConnect parents), then
//! asks the service's guarded routes for their own and other families'
//! pupils.

mod support;

use std::sync::Arc;

use educonnect_core::MemoryStore;
use educonnect_core::directory::{PupilId, SourceId};
use educonnect_core::filiation::ActForPolicy;
use educonnect_core::flow::Gateway;
use educonnect_core::flow::access::{Denied, Refusal, WhenAnonymous};
use educonnect_sandbox::demo::{self, DemoIdentity, DemoProvider};
use educonnect_sandbox::{Sandbox, SandboxConfig, demo_directory};
use reqwest::StatusCode;
use support::{Service, assert_exactly, bind, client, serve_on};

struct World {
    sandbox: Sandbox,
    gateway: Gateway,
    service: Service,
    browser: reqwest::Client,
}

/// The URL segment of the demo pupil `local` of academy `academy`.
fn segment(academy: &str, local: &str) -> String {
    PupilId::new(SourceId::aaf(academy).unwrap(), local)
        .unwrap()
        .to_url_segment()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Every `Set-Cookie` of a response, whole.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of the cookie `name` that a response sets (not clears).
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|v| v.starts_with(&format!("{name}=")) && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

fn attribute(html: &str, before: &str) -> String {
    let start = html
        .find(before)
        .unwrap_or_else(|| panic!("{before} in {html}"))
        + before.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn hidden(html: &str, name: &str) -> String {
    attribute(html, &format!("name=\"{name}\" value=\""))
}

impl World {
    async fn start() -> Self {
        Self::start_with(ActForPolicy::default()).await
    }

    async fn start_with(policy: ActForPolicy) -> Self {
        let listener = bind();
        let sandbox = Sandbox::start(SandboxConfig::new().gateway(&listener.base))
            .await
            .unwrap();
        let gateway = Gateway::builder(&listener.base)
            .unwrap()
            .provider(sandbox.provider_franceconnect())
            .provider(sandbox.provider_educonnect())
            .store(Arc::new(MemoryStore::new()))
            .directory(demo_directory().unwrap())
            .act_for_policy(policy)
            .insecure_cookies_for_local_development()
            .build()
            .unwrap();
        let service = serve_on(
            listener,
            gateway.clone(),
            Some(WhenAnonymous::RedirectToLogin),
        )
        .await;
        Self {
            sandbox,
            gateway,
            service,
            browser: client(),
        }
    }

    /// The core's refusal of a request for `path`.
    fn refusal(&self, denied: Denied, path: &str) -> http::Response<bytes::Bytes> {
        Refusal::new(&self.gateway, denied, WhenAnonymous::RedirectToLogin, path).into_response()
    }

    async fn stop(self) {
        self.service.stop().await;
        self.sandbox.shutdown().await.unwrap();
    }

    async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.browser
            .get(self.service.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.browser
            .post(self.service.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    /// Logs `identity` in through the service and comes back to
    /// `return_to`, answering the birth-date challenge as the demo says;
    /// returns the session cookie, `name=value`.
    async fn log_in(&self, identity: &DemoIdentity, return_to: &str) -> String {
        let provider = match identity.provider() {
            DemoProvider::FranceConnect => "franceconnect",
            DemoProvider::EduConnect => "educonnect",
        };
        let login = self
            .browser
            .get(self.service.url(&format!(
                "/auth/login?provider={provider}&return_to={return_to}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        let login_cookie = set_cookie(&login, "educonnect_login").unwrap();
        let authorize = header(&login, "location");
        assert!(
            authorize.starts_with(self.sandbox.base_url()),
            "{authorize}"
        );

        let picker = self.browser.get(&authorize).send().await.unwrap();
        assert_eq!(picker.status(), StatusCode::OK);
        let html = picker.text().await.unwrap();
        let request = hidden(&html, "request");
        let action = attribute(&html, "<form method=\"post\" action=\"");
        let chosen = self
            .browser
            .post(format!("{}{action}", self.sandbox.base_url()))
            .form(&[("request", request.as_str()), ("identity", identity.id)])
            .send()
            .await
            .unwrap();
        assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
        let callback = header(&chosen, "location");
        assert!(
            callback.starts_with(&self.service.url("/auth/callback?")),
            "{callback}"
        );

        let back = self
            .browser
            .get(&callback)
            .header("cookie", &login_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), StatusCode::SEE_OTHER);
        // Both cookies cross the adapter: the login cookie cleared, and the
        // session's (or the challenge's).
        let cookies = set_cookies(&back);
        assert_eq!(cookies.len(), 2, "{cookies:?}");
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("educonnect_login=") && c.contains("Max-Age=0")),
            "{cookies:?}"
        );
        if identity.challenge.is_empty() {
            assert_eq!(header(&back, "location"), return_to);
            return set_cookie(&back, "educonnect_session").unwrap();
        }

        assert_eq!(header(&back, "location"), "/auth/verify");
        let verify = set_cookie(&back, "educonnect_verify").unwrap();
        let form = self.get("/auth/verify", &verify).await;
        assert_eq!(form.status(), StatusCode::OK);
        let html = form.text().await.unwrap();
        let mut answers = Vec::new();
        let fieldsets = html
            .split("<fieldset>")
            .skip(1)
            .map(|f| f.split("</fieldset>").next().unwrap());
        for (i, fieldset) in fieldsets.enumerate() {
            let answer = identity
                .challenge
                .iter()
                .find(|a| {
                    fieldset.contains(&format!(
                        "commence par « {} », scolarisé à {}",
                        a.initial, a.school
                    ))
                })
                .unwrap_or_else(|| panic!("no demo answer for {fieldset}"));
            answers.push(if answer.mine {
                format!(
                    "day_{i}={}&month_{i}={}&year_{i}={}",
                    answer.day, answer.month, answer.year
                )
            } else {
                format!("not_mine_{i}=1")
            });
        }
        assert_eq!(answers.len(), identity.challenge.len(), "{html}");
        let done = self
            .browser
            .post(self.service.url("/auth/verify"))
            .header("cookie", &verify)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(answers.join("&"))
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(header(&done, "location"), return_to);
        set_cookie(&done, "educonnect_session").unwrap()
    }
}

async fn assert_refused(response: reqwest::Response, status: StatusCode, text: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert!(header(&response, "content-security-policy").contains("default-src 'none'"));
    let html = response.text().await.unwrap();
    assert!(
        html.contains("lang=\"fr\"") && html.contains(text),
        "{html}"
    );
}

#[actix_web::test]
async fn a_franceconnect_parent_acts_for_their_children_only() {
    let world = World::start().await;
    let angela = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
    let rennes = segment("14", "E14-0001");
    let versailles = segment("25", "E25-0001");
    let session = world.log_in(angela, &format!("/eleves/{rennes}")).await;

    let me = world.get("/me", &session).await;
    assert_eq!(me.status(), StatusCode::OK);
    let sub = me.text().await.unwrap();
    assert!(sub.starts_with("sub=") && sub.ends_with("v1"), "{sub}");
    let maybe = world.get("/maybe", &session).await;
    assert_eq!(maybe.text().await.unwrap(), sub);

    for (segment, local) in [(&rennes, "E14-0001"), (&versailles, "E25-0001")] {
        let response = world.get(&format!("/eleves/{segment}"), &session).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.text().await.unwrap(),
            format!("pupil={local} guardian legal_authority=true")
        );
        let response = world
            .post(&format!("/eleves/{segment}/signer"), &session)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .starts_with(&format!("signed for {local}"))
        );
    }

    // Another family's pupil (Karim BENALI's daughter), and the same local
    // id in the other academy: another pupil.
    for other in [segment("25", "E25-0003"), segment("14", "E25-0001")] {
        let response = world.get(&format!("/eleves/{other}"), &session).await;
        assert_refused(response, StatusCode::FORBIDDEN, "Accès refusé").await;
        let response = world
            .post(&format!("/eleves/{other}/signer"), &session)
            .await;
        assert_refused(response, StatusCode::FORBIDDEN, "Accès refusé").await;
    }
    // A segment that names no pupil, or a route without `{pupil}`.
    for garbage in ["garbage", "YWFmOjE0", "!!"] {
        let response = world.get(&format!("/eleves/{garbage}"), &session).await;
        assert_refused(response, StatusCode::NOT_FOUND, "Page introuvable").await;
    }
    let response = world.get("/sans-eleve", &session).await;
    assert_refused(response, StatusCode::NOT_FOUND, "Page introuvable").await;
    // Exactly the core's refusals.
    let other = segment("25", "E25-0003");
    let response = world.get(&format!("/eleves/{other}"), &session).await;
    let core = world.refusal(Denied::NotTheirPupil, &format!("/eleves/{other}"));
    assert_exactly(response, core).await;
    let response = world.get("/eleves/garbage", &session).await;
    assert_exactly(
        response,
        world.refusal(Denied::NotAPupil, "/eleves/garbage"),
    )
    .await;

    // Logout through the scope: the session is gone, the browser goes to
    // the provider's end-session endpoint.
    let response = world
        .browser
        .post(world.service.url("/auth/logout"))
        .header("cookie", &session)
        .header("origin", &world.service.base)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end = header(&response, "location");
    assert!(
        end.starts_with(&format!(
            "{}/session/end?",
            world.sandbox.franceconnect_issuer()
        )),
        "{end}"
    );
    let response = world.get("/me", &session).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&response, "location"), "/auth/login?return_to=%2Fme");
    world.stop().await;
}

#[actix_web::test]
async fn an_educonnect_pupil_reads_their_own_records_and_decides_nothing() {
    let world = World::start().await;
    let maelys = demo::identity(demo::EC_PUPIL).unwrap();
    let own = segment("25", "E25-0004");
    let session = world.log_in(maelys, "/me").await;

    let response = world.get(&format!("/eleves/{own}"), &session).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "pupil=E25-0004 themselves");
    // A pupil holds no legal authority over themselves.
    let response = world.post(&format!("/eleves/{own}/signer"), &session).await;
    assert_refused(
        response,
        StatusCode::FORBIDDEN,
        "réservée aux représentants légaux",
    )
    .await;
    // Another pupil of the same school.
    let other = segment("25", "E25-0001");
    let response = world.get(&format!("/eleves/{other}"), &session).await;
    assert_refused(response, StatusCode::FORBIDDEN, "Accès refusé").await;
    world.stop().await;
}

#[actix_web::test]
async fn an_educonnect_parent_acts_for_their_child_only() {
    let world = World::start().await;
    let thomas = demo::identity(demo::EC_PARENT_ONE_CHILD).unwrap();
    let child = segment("25", "E25-0004");
    let session = world.log_in(thomas, "/").await;

    let response = world.get(&format!("/eleves/{child}"), &session).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await.unwrap(),
        "pupil=E25-0004 guardian legal_authority=true"
    );
    let response = world
        .post(&format!("/eleves/{child}/signer"), &session)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for other in [segment("25", "E25-0001"), segment("14", "E14-0001")] {
        let response = world.get(&format!("/eleves/{other}"), &session).await;
        assert_refused(response, StatusCode::FORBIDDEN, "Accès refusé").await;
    }
    world.stop().await;
}

#[actix_web::test]
async fn another_origin_cannot_sign_in_the_users_name() {
    // The middleware passes `Origin` and `Sec-Fetch-Site` to the core's
    // rule (its cases are the core's and the axum adapter's tests).
    let world = World::start().await;
    let thomas = demo::identity(demo::EC_PARENT_ONE_CHILD).unwrap();
    let session = world.log_in(thomas, "/").await;
    let path = format!("/eleves/{}/signer", segment("25", "E25-0004"));
    let ours = world.service.url("");
    let ours = ours.trim_end_matches('/');
    let send = |headers: &[(&str, &str)]| {
        let mut request = world
            .browser
            .post(world.service.url(&path))
            .header("cookie", &session);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("origin", "http://autre.localhost")][..],
        &[("sec-fetch-site", "same-site")],
    ] {
        let response = send(headers).await.unwrap();
        assert_exactly(response, world.refusal(Denied::CrossOrigin, &path)).await;
    }
    for headers in [
        &[("sec-fetch-site", "same-origin"), ("origin", "null")][..],
        &[("origin", ours)],
    ] {
        let response = send(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{headers:?}");
    }
    world.stop().await;
}

/// Maëlys's grandmother: linked to her in the school's records (code 38),
/// without legal authority; through FranceConnect and the birth-date
/// challenge. Under `policy`, she reads Maëlys's page or not; she never
/// signs for her.
async fn grandmother_under(policy: ActForPolicy, reads: bool) {
    let world = World::start_with(policy).await;
    let genevieve = demo::identity(demo::FC_GRANDPARENT_WITHOUT_AUTHORITY).unwrap();
    let child = segment("25", "E25-0004");
    let session = world.log_in(genevieve, "/").await;

    let page = format!("/eleves/{child}");
    let response = world.get(&page, &session).await;
    if reads {
        assert_eq!(response.status(), StatusCode::OK, "{policy:?}");
        assert_eq!(
            response.text().await.unwrap(),
            "pupil=E25-0004 guardian legal_authority=false"
        );
    } else {
        assert_exactly(response, world.refusal(Denied::NotCoveredByPolicy, &page)).await;
    }
    let path = format!("/eleves/{child}/signer");
    let response = world.post(&path, &session).await;
    assert_exactly(response, world.refusal(Denied::NoLegalAuthority, &path)).await;
    let response = world.post(&path, &session).await;
    assert_refused(
        response,
        StatusCode::FORBIDDEN,
        "réservée aux représentants légaux",
    )
    .await;
    world.stop().await;
}

#[actix_web::test]
async fn finding_6_a_grandparent_reads_nothing_under_the_default_policy() {
    grandmother_under(ActForPolicy::LegalGuardians, false).await;
}

#[actix_web::test]
async fn finding_6_a_grandparent_reads_but_does_not_sign_under_the_family_members_policy() {
    grandmother_under(ActForPolicy::FamilyMembers, true).await;
}

#[actix_web::test]
async fn finding_6_a_grandparent_reads_but_does_not_sign_under_the_all_contacts_policy() {
    grandmother_under(ActForPolicy::AllContacts, true).await;
}

#[actix_web::test]
async fn finding_12_a_websocket_handshake_from_another_origin_gets_no_session() {
    // The middleware passes `Upgrade` and `Connection` to the core's rule
    // with `Origin` and `Sec-Fetch-Site`.
    let world = World::start().await;
    let thomas = demo::identity(demo::EC_PARENT_ONE_CHILD).unwrap();
    let session = world.log_in(thomas, "/").await;
    let ours = world.service.url("");
    let ours = ours.trim_end_matches('/').to_owned();
    let handshake = [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let send = |path: &str, headers: &[(&str, &str)]| {
        let mut request = world
            .browser
            .get(world.service.url(path))
            .header("cookie", &session);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let pupil = format!("/eleves/{}", segment("25", "E25-0004"));
    for from in [
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://autre.localhost"),
        ][..],
        &[("origin", "http://autre.localhost")],
    ] {
        let headers: Vec<_> = handshake.iter().chain(from).copied().collect();
        let response = send("/maybe", &headers).await.unwrap();
        assert_eq!(response.text().await.unwrap(), "anonymous", "{from:?}");
        for path in ["/me", pupil.as_str()] {
            // The core's refusal (actix adds its own `Connection` to the
            // answer of an upgrade request).
            let core = world.refusal(Denied::CrossOrigin, path);
            let response = send(path, &headers).await.unwrap();
            assert_eq!(response.status(), core.status(), "{path} {from:?}");
            assert_eq!(response.bytes().await.unwrap(), core.body());
        }
    }
    // Our own pages' handshake, and a plain link from elsewhere: the
    // session is there.
    let own: Vec<_> = handshake
        .iter()
        .copied()
        .chain([("sec-fetch-site", "same-origin"), ("origin", ours.as_str())])
        .collect();
    let link = [
        ("sec-fetch-site", "same-site"),
        ("origin", "http://autre.localhost"),
    ];
    for headers in [&own[..], &link[..]] {
        let response = send("/maybe", headers).await.unwrap();
        assert!(
            response.text().await.unwrap().starts_with("sub="),
            "{headers:?}"
        );
    }
    world.stop().await;
}
