//! The core's `Gateway` logs demo identities in against a started sandbox,
//! over real HTTP on loopback: the identity picker's form is posted with
//! reqwest, redirects are followed by hand, the gateway's callback and
//! birth-date challenge are driven through `Gateway::handle`.

use std::sync::Arc;

use bytes::Bytes;
use educonnect_core::MemoryStore;
use educonnect_core::directory::{PupilId, SourceId};
use educonnect_core::filiation::{FamilyClaims, Verification};
use educonnect_core::flow::{Gateway, Session};
use educonnect_core::jose::Algorithm;
use educonnect_core::provider::{Identity, Profile};
use educonnect_sandbox::demo::{self, DemoIdentity};
use educonnect_sandbox::{Sandbox, SandboxConfig, demo_directory};
use http::{HeaderMap, Request, Response, StatusCode, header};
use url::Url;

const PUBLIC_URL: &str = "http://localhost:3000";

struct World {
    sandbox: Sandbox,
    gateway: Gateway,
    browser: reqwest::Client,
}

impl World {
    async fn start(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start(config.gateway(PUBLIC_URL)).await.unwrap();
        let gateway = Gateway::builder(PUBLIC_URL)
            .unwrap()
            .provider(sandbox.provider_franceconnect())
            .provider(sandbox.provider_educonnect())
            .store(Arc::new(MemoryStore::new()))
            .directory(demo_directory().unwrap())
            .insecure_cookies_for_local_development()
            .build()
            .unwrap();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            sandbox,
            gateway,
            browser,
        }
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Response<Bytes> {
        let mut request = Request::get(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.gateway
            .handle(request.body(Bytes::new()).unwrap())
            .await
    }

    async fn post(&self, uri: &str, cookie: &str, form: String) -> Response<Bytes> {
        let request = Request::post(uri)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Bytes::from(form))
            .unwrap();
        self.gateway.handle(request).await
    }

    /// From the gateway's login to its callback's response: the sandbox's
    /// picker is fetched and its form posted for `identity`.
    async fn log_in(&self, provider: &str, identity: &str) -> Response<Bytes> {
        let login = self
            .get(
                &format!("/auth/login?provider={provider}&return_to=/livret"),
                None,
            )
            .await;
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(&login, "educonnect_login").unwrap();
        let authorize = location(&login).to_owned();
        assert!(
            authorize.starts_with(self.sandbox.base_url()),
            "{authorize}"
        );

        let picker = self.browser.get(&authorize).send().await.unwrap();
        assert_eq!(picker.status(), 200);
        let csp = picker.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        let html = picker.text().await.unwrap();
        assert!(html.contains("<html lang=\"fr\">"));
        assert!(!html.contains("<script"));
        assert!(html.contains(&format!("value=\"{identity}\"")), "{html}");
        let request = hidden(&html, "request");
        let action = attribute(&html, "<form method=\"post\" action=\"");

        let chosen = self
            .browser
            .post(format!("{}{action}", self.sandbox.base_url()))
            .form(&[("request", request.as_str()), ("identity", identity)])
            .send()
            .await
            .unwrap();
        assert_eq!(chosen.status(), 303);
        let callback = Url::parse(chosen.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(
            format!(
                "{}{}",
                &callback[..url::Position::BeforePath],
                callback.path()
            ),
            format!("{PUBLIC_URL}/auth/callback")
        );
        let path = &callback[url::Position::BeforePath..];
        self.get(path, Some(&cookie)).await
    }

    async fn session_of(&self, response: &Response<Bytes>) -> Session {
        let cookie = set_cookie(response, "educonnect_session").expect("a session cookie");
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, cookie.parse().unwrap());
        self.gateway.session(&headers).await.unwrap().unwrap()
    }

    /// The challenge, answered as the demo says; returns the final response.
    async fn answer_challenge(
        &self,
        callback: &Response<Bytes>,
        identity: &DemoIdentity,
    ) -> Response<Bytes> {
        assert_eq!(
            callback.status(),
            StatusCode::SEE_OTHER,
            "{}",
            body(callback)
        );
        assert_eq!(location(callback), "/auth/verify");
        let cookie = set_cookie(callback, "educonnect_verify").unwrap();
        let form = self.get("/auth/verify", Some(&cookie)).await;
        assert_eq!(form.status(), StatusCode::OK);
        let html = body(&form);
        let fieldsets: Vec<&str> = html
            .split("<fieldset>")
            .skip(1)
            .map(|f| f.split("</fieldset>").next().unwrap())
            .collect();
        assert_eq!(fieldsets.len(), identity.challenge.len(), "{html}");
        let mut answers = Vec::new();
        for (i, fieldset) in fieldsets.iter().enumerate() {
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
            if answer.mine {
                answers.push(format!(
                    "day_{i}={}&month_{i}={}&year_{i}={}",
                    answer.day, answer.month, answer.year
                ));
            } else {
                answers.push(format!("not_mine_{i}=1"));
            }
        }
        self.post("/auth/verify", &cookie, answers.join("&")).await
    }
}

fn location(response: &Response<Bytes>) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

fn body(response: &Response<Bytes>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

fn set_cookie(response: &Response<Bytes>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
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

fn children_of(family: &FamilyClaims) -> Vec<(String, String)> {
    let mut children: Vec<_> = family
        .children()
        .iter()
        .map(|c| {
            (
                c.pupil().source().as_str().to_owned(),
                c.pupil().local().to_owned(),
            )
        })
        .collect();
    children.sort();
    children
}

fn local_ids(family: &FamilyClaims) -> Vec<String> {
    let mut ids: Vec<_> = children_of(family).into_iter().map(|(_, l)| l).collect();
    ids.sort();
    ids
}

fn expected(identity: &DemoIdentity) -> Vec<String> {
    let mut ids: Vec<String> = identity.children.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn franceconnect_parent_with_children_in_two_academies() {
    let world = World::start(SandboxConfig::new()).await;
    let angela = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
    let callback = world.log_in("franceconnect", angela.id).await;
    assert!(set_cookie(&callback, "educonnect_session").is_none());
    let done = world.answer_challenge(&callback, angela).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", body(&done));
    assert_eq!(location(&done), "/livret");

    let session = world.session_of(&done).await;
    assert_eq!(session.provider(), "franceconnect");
    assert_eq!(session.acr(), Some("eidas1"));
    let Identity::FranceConnect(pivot) = session.identity() else {
        panic!("not a FranceConnect identity");
    };
    assert_eq!(pivot.given_names(), ["Angela", "Claire", "Louise"]);
    assert_eq!(pivot.family_name(), "DUBOIS");
    assert!(pivot.sub().ends_with("v1") && pivot.sub().len() == 66);
    assert_eq!(pivot.email(), Some("angela.dubois@demo.invalid"));

    let family = session.family().unwrap();
    assert_eq!(family.profile(), Profile::Guardian);
    assert_eq!(
        children_of(family),
        [
            ("aaf:14".to_owned(), "E14-0001".to_owned()),
            ("aaf:25".to_owned(), "E25-0001".to_owned()),
        ]
    );
    assert!(family.children().iter().all(|c| c.legal_authority()));
    assert!(
        family
            .children()
            .iter()
            .all(|c| c.verification() == Verification::BirthDates)
    );

    // The next login needs no challenge, and the `sub` is the same.
    let again = world.log_in("franceconnect", angela.id).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "{}", body(&again));
    assert_eq!(location(&again), "/livret");
    let second = world.session_of(&again).await;
    assert_eq!(second.identity().sub(), pivot.sub());
    assert_eq!(local_ids(second.family().unwrap()), expected(angela));
    world.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn franceconnect_homonym_usage_name_born_abroad_with_rs256() {
    let world = World::start(SandboxConfig::new().signing_algorithm(Algorithm::RS256)).await;
    for id in [
        demo::FC_PARENT_WITH_HOMONYM,
        demo::FC_PARENT_USAGE_NAME,
        demo::FC_PARENT_BORN_ABROAD,
    ] {
        let identity = demo::identity(id).unwrap();
        let callback = world.log_in("franceconnect", id).await;
        let done = world.answer_challenge(&callback, identity).await;
        assert_eq!(
            done.status(),
            StatusCode::SEE_OTHER,
            "{id}: {}",
            body(&done)
        );
        let session = world.session_of(&done).await;
        assert_eq!(
            local_ids(session.family().unwrap()),
            expected(identity),
            "{id}"
        );
    }
    world.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn franceconnect_parent_without_children_and_a_presumed_birth_date() {
    let world = World::start(SandboxConfig::new()).await;
    let callback = world
        .log_in("franceconnect", demo::FC_PARENT_WITHOUT_CHILDREN)
        .await;
    assert_eq!(callback.status(), StatusCode::OK, "{}", body(&callback));
    let session = world.session_of(&callback).await;
    let Identity::FranceConnect(pivot) = session.identity() else {
        panic!("not a FranceConnect identity");
    };
    assert_eq!(
        pivot.birthdate().precision(),
        educonnect_core::DatePrecision::Month
    );
    assert!(pivot.birthplace().is_none());
    assert!(!pivot.born_in_france());
    assert!(session.family().unwrap().children().is_empty());
    world.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn educonnect_parent_and_pupil() {
    let world = World::start(SandboxConfig::new()).await;

    let angela = demo::identity(demo::EC_PARENT_TWO_ACADEMIES).unwrap();
    let done = world.log_in("educonnect", angela.id).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", body(&done));
    assert_eq!(location(&done), "/livret");
    let session = world.session_of(&done).await;
    let family = session.family().unwrap();
    assert_eq!(family.profile(), Profile::Guardian);
    assert_eq!(
        children_of(family),
        [
            ("aaf:14".to_owned(), "E14-0001".to_owned()),
            ("aaf:25".to_owned(), "E25-0001".to_owned()),
        ]
    );
    assert!(
        family
            .children()
            .iter()
            .all(|c| c.verification() == Verification::EduConnect)
    );
    // The userinfo carries one FrEduVecteur per child, read by the core.
    let Identity::EduConnect(person) = session.identity() else {
        panic!("not an EduConnect identity");
    };
    let vectors: Vec<String> = person
        .vectors()
        .iter()
        .map(|v| {
            format!(
                "{}|{}|{}|{}|{}",
                v.profile_digit(),
                v.family_name(),
                v.given_name(),
                v.pupil_id(),
                v.uai().as_str()
            )
        })
        .collect();
    assert_eq!(
        vectors,
        [
            "2|DUBOIS|Éloïse|104211|0350710G",
            "1|DUBOIS|Noé|ONDE-9201-0042|0920131T"
        ]
    );

    let thomas = demo::identity(demo::EC_PARENT_ONE_CHILD).unwrap();
    let done = world.log_in("educonnect", thomas.id).await;
    let session = world.session_of(&done).await;
    assert_eq!(local_ids(session.family().unwrap()), expected(thomas));

    // No {AAF} id: Yasmine comes from the FrEduVecteur (her school and
    // ELEVE_ID), with Karim's own link (her father, legal authority).
    let karim = demo::identity(demo::EC_PARENT_VECTOR_ONLY).unwrap();
    let done = world.log_in("educonnect", karim.id).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", body(&done));
    let session = world.session_of(&done).await;
    let family = session.family().unwrap();
    assert_eq!(local_ids(family), expected(karim));
    assert!(
        family
            .children()
            .iter()
            .all(|c| c.legal_authority() && c.verification() == Verification::EduConnect)
    );

    let done = world.log_in("educonnect", demo::EC_PUPIL).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", body(&done));
    let session = world.session_of(&done).await;
    let family = session.family().unwrap();
    assert_eq!(family.profile(), Profile::Pupil);
    let own = family.pupil().unwrap();
    assert_eq!(
        own.id(),
        Some(&PupilId::new(SourceId::aaf("25").unwrap(), "E25-0004").unwrap())
    );
    assert_eq!(
        own.ine().map(|i| i.as_str().to_owned()).as_deref(),
        Some("120987654FK")
    );
    assert_eq!(
        own.uai().map(|u| u.as_str().to_owned()).as_deref(),
        Some("0780422K")
    );
    let Identity::EduConnect(person) = session.identity() else {
        panic!("not an EduConnect identity");
    };
    assert_eq!(person.family_name(), "CŒURDEVEY");
    assert!(person.vectors().is_empty());
    world.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn logout_goes_back_to_the_registered_uri_with_the_state() {
    let world = World::start(SandboxConfig::new()).await;
    let done = world
        .log_in("franceconnect", demo::FC_PARENT_WITHOUT_CHILDREN)
        .await;
    let session = set_cookie(&done, "educonnect_session").unwrap();
    let request = Request::post("/auth/logout")
        .header(header::COOKIE, &session)
        .header(header::ORIGIN, PUBLIC_URL)
        .body(Bytes::new())
        .unwrap();
    let response = world.gateway.handle(request).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let end = location(&response).to_owned();
    assert!(
        end.starts_with(&format!(
            "{}/session/end?",
            world.sandbox.franceconnect_issuer()
        )),
        "{end}"
    );
    let back = world.browser.get(&end).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let back = Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        &back[..url::Position::AfterPath],
        format!("{PUBLIC_URL}/auth/logout/callback")
    );
    let sent_state = Url::parse(&end)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        back.query_pairs().find(|(k, _)| k == "state").unwrap().1,
        sent_state
    );
    // The ID token hint is spent: the same logout is refused.
    let again = world.browser.get(&end).send().await.unwrap();
    assert_eq!(again.status(), 400);
    world.sandbox.shutdown().await.unwrap();
}
