//! Logged-in users, over real HTTP on loopback: demo identities log in
//! through the sandbox (its scripted user agent), then the extractors decide
//! from their family claims.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use educonnect_axum::{
    CurrentUser, ForPupil, OptionalUser, SessionLayer, WithLegalAuthority, routes,
};
use educonnect_core::MemoryStore;
use educonnect_core::directory::{PupilId, SourceId};
use educonnect_core::filiation::ActForPolicy;
use educonnect_core::flow::Gateway;
use educonnect_core::flow::access::Relation;
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::demo::DemoClaims;
use educonnect_sandbox::{Sandbox, SandboxConfig, demo, demo_directory};
use reqwest::StatusCode;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

struct Service {
    base: String,
    _sandbox: Sandbox,
}

fn app(gateway: Gateway) -> Router {
    Router::new()
        .route(
            "/moi",
            get(|CurrentUser(user): CurrentUser| async move { user.identity().display_name() }),
        )
        .route(
            "/sub",
            get(|CurrentUser(user): CurrentUser| async move { user.identity().sub().to_owned() }),
        )
        .route(
            "/eleves/{pupil}",
            get(|access: ForPupil| async move {
                match access.grant().relation() {
                    Relation::Themselves => format!("mon bulletin {}", access.pupil()),
                    Relation::Guardian { .. } => format!("bulletin {}", access.pupil()),
                }
            }),
        )
        .route(
            "/qui",
            post(|OptionalUser(user): OptionalUser| async move {
                user.map_or("personne".to_owned(), |user| user.identity().display_name())
            }),
        )
        // Where a WebSocket endpoint would be: the handshake is a GET.
        .route(
            "/canal",
            get(|OptionalUser(user): OptionalUser| async move {
                user.map_or("personne".to_owned(), |user| user.identity().display_name())
            }),
        )
        .route(
            "/canal/moi",
            get(|CurrentUser(user): CurrentUser| async move { user.identity().display_name() }),
        )
        .route(
            "/bourse/{pupil}",
            post(|access: WithLegalAuthority| async move {
                format!("demande pour {}", access.pupil())
            }),
        )
        .merge(routes(gateway.clone()))
        .layer(SessionLayer::new(gateway))
}

async fn start() -> Service {
    start_with(ActForPolicy::default()).await
}

async fn start_with(policy: ActForPolicy) -> Service {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = Sandbox::start(SandboxConfig::new().gateway(&base))
        .await
        .unwrap();
    let gateway = Gateway::builder(&base)
        .unwrap()
        .provider(sandbox.provider_franceconnect())
        .provider(sandbox.provider_educonnect())
        .store(Arc::new(MemoryStore::new()))
        .directory(demo_directory().unwrap())
        .act_for_policy(policy)
        .insecure_cookies_for_local_development()
        .build()
        .unwrap();
    let app = app(gateway);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Service {
        base,
        _sandbox: sandbox,
    }
}

fn segment(academy: &str, local: &str) -> String {
    PupilId::new(SourceId::aaf(academy).unwrap(), local)
        .unwrap()
        .to_url_segment()
}

impl Service {
    async fn log_in(&self, id: &str) -> Agent {
        let agent = Agent::log_in(&self.base, demo::identity(id).unwrap())
            .await
            .unwrap();
        assert_eq!(agent.landed(), "/", "{id}");
        agent
    }

    async fn get(&self, agent: &Agent, path: &str) -> (StatusCode, String) {
        let response = agent
            .client()
            .get(format!("{}{path}", self.base))
            .header("cookie", agent.cookie_header())
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, agent: &Agent, path: &str) -> (StatusCode, String) {
        self.send(agent, reqwest::Method::POST, path, &[]).await
    }

    async fn send(
        &self,
        agent: &Agent,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut request = agent
            .client()
            .request(method, format!("{}{path}", self.base))
            .header("cookie", agent.cookie_header());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

#[tokio::test]
async fn a_parent_acts_for_their_children_in_both_academies_and_no_other() {
    let service = start().await;
    let parent = service.log_in(demo::FC_PARENT_TWO_ACADEMIES).await;

    let (status, name) = service.get(&parent, "/moi").await;
    assert_eq!((status, name.as_str()), (StatusCode::OK, "Angela DUBOIS"));

    for (academy, pupil) in [("14", "E14-0001"), ("25", "E25-0001")] {
        let (status, body) = service
            .get(&parent, &format!("/eleves/{}", segment(academy, pupil)))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, format!("bulletin aaf:{academy}/{pupil}"));
        let (status, _) = service
            .post(&parent, &format!("/bourse/{}", segment(academy, pupil)))
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    // The homonym's daughter, and the same local id in the other academy.
    for (academy, pupil) in [("25", "E25-0002"), ("14", "E25-0001")] {
        let (status, body) = service
            .get(&parent, &format!("/eleves/{}", segment(academy, pupil)))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("Accès refusé"), "{body}");
        let (status, _) = service
            .post(&parent, &format!("/bourse/{}", segment(academy, pupil)))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    // A segment that names no pupil.
    let (status, _) = service.get(&parent, "/eleves/pas-un-eleve").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_origin_cannot_act_in_the_users_name() {
    let service = start().await;
    let father = service.log_in(demo::EC_PARENT_ONE_CHILD).await;
    let request = format!("/bourse/{}", segment("25", "E25-0004"));
    let ours = service.base.as_str();
    let post = reqwest::Method::POST;

    // Another origin of the same site (SameSite lets the cookie through),
    // as the browser tells it.
    for headers in [
        &[("origin", "http://autre.localhost")][..],
        &[("origin", "null")],
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://autre.localhost"),
        ],
        &[("sec-fetch-site", "cross-site")],
        // Fetch metadata wins over an Origin that says ours.
        &[("sec-fetch-site", "same-site"), ("origin", ours)],
    ] {
        let (status, body) = service.send(&father, post.clone(), &request, headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(body.contains("Demande refusée"), "{body}");
        let (status, body) = service.send(&father, post.clone(), "/qui", headers).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "personne"),
            "{headers:?}"
        );
    }

    // The service's own pages: by Origin, or by fetch metadata even with
    // `Origin: null` (a page of ours that sends no referrer).
    for headers in [
        &[("origin", ours)][..],
        &[("sec-fetch-site", "same-origin"), ("origin", "null")],
        &[("sec-fetch-site", "same-origin"), ("origin", ours)],
        // Not a browser: nothing says where it comes from.
        &[],
    ] {
        let (status, body) = service.send(&father, post.clone(), &request, headers).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}: {body}");
        let (status, body) = service.send(&father, post.clone(), "/qui", headers).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "Thomas CŒURDEVEY"),
            "{headers:?}"
        );
    }

    // Reading is not acting: a link from elsewhere still opens the page.
    let (status, _) = service
        .send(
            &father,
            reqwest::Method::GET,
            &format!("/eleves/{}", segment("25", "E25-0004")),
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://autre.localhost"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Maëlys's grandmother, linked to her without legal authority (a contact
/// of the family, code 38): what she may do under `policy`.
async fn grandmother_reads_and_signs(policy: ActForPolicy) -> (StatusCode, String, StatusCode) {
    let service = start_with(policy).await;
    let grandmother = service.log_in(demo::FC_GRANDPARENT_WITHOUT_AUTHORITY).await;
    let maelys = segment("25", "E25-0004");
    let (read, body) = service
        .get(&grandmother, &format!("/eleves/{maelys}"))
        .await;
    let (sign, signed) = service
        .post(&grandmother, &format!("/bourse/{maelys}"))
        .await;
    assert!(
        sign != StatusCode::FORBIDDEN || signed.contains("représentants légaux"),
        "{signed}"
    );
    (read, body, sign)
}

#[tokio::test]
async fn finding_6_a_grandparent_reads_nothing_under_the_default_policy() {
    let (read, body, sign) = grandmother_reads_and_signs(ActForPolicy::LegalGuardians).await;
    assert_eq!(read, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Accès refusé"), "{body}");
    assert_eq!(sign, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn finding_6_a_grandparent_follows_a_pupil_under_the_family_members_policy_but_cannot_sign_for_her()
 {
    let (read, body, sign) = grandmother_reads_and_signs(ActForPolicy::FamilyMembers).await;
    assert_eq!(
        (read, body.as_str()),
        (StatusCode::OK, "bulletin aaf:25/E25-0004")
    );
    assert_eq!(sign, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn finding_6_a_grandparent_follows_a_pupil_under_the_all_contacts_policy_but_cannot_sign_for_her()
 {
    let (read, body, sign) = grandmother_reads_and_signs(ActForPolicy::AllContacts).await;
    assert_eq!(read, StatusCode::OK, "{body}");
    assert_eq!(sign, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn finding_12_a_websocket_handshake_from_another_origin_gets_no_session() {
    let service = start().await;
    let father = service.log_in(demo::EC_PARENT_ONE_CHILD).await;
    let get = reqwest::Method::GET;
    let handshake = [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    // From a sibling origin of the same site: the cookie goes along.
    for from in [
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://autre.localhost"),
        ][..],
        &[("origin", "http://autre.localhost")],
        &[("sec-fetch-site", "cross-site")],
    ] {
        let headers: Vec<_> = handshake.iter().chain(from).copied().collect();
        let (status, body) = service.send(&father, get.clone(), "/canal", &headers).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "personne"),
            "{from:?}"
        );
        let (status, body) = service
            .send(&father, get.clone(), "/canal/moi", &headers)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{from:?}");
        assert!(body.contains("Demande refusée"), "{body}");
        let (status, _) = service
            .send(
                &father,
                get.clone(),
                &format!("/eleves/{}", segment("25", "E25-0004")),
                &headers,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{from:?}");
    }
    // From the service's own pages, and a plain GET from elsewhere (a
    // link): the session is there.
    let ours = service.base.clone();
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
        let (status, body) = service.send(&father, get.clone(), "/canal", headers).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "Thomas CŒURDEVEY"),
            "{headers:?}"
        );
    }
}

#[tokio::test]
async fn a_pupil_reads_their_own_records_only() {
    let service = start().await;
    let pupil = service.log_in(demo::EC_PUPIL).await;
    let (_, name) = service.get(&pupil, "/moi").await;
    assert_eq!(name, "Maëlys CŒURDEVEY");
    let own = segment("25", "E25-0004");
    let (status, body) = service.get(&pupil, &format!("/eleves/{own}")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "mon bulletin aaf:25/E25-0004")
    );
    let (status, _) = service.post(&pupil, &format!("/bourse/{own}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = service
        .get(&pupil, &format!("/eleves/{}", segment("25", "E25-0001")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_educonnect_parent_acts_for_the_children_educonnect_vouches_for() {
    let service = start().await;
    let father = service.log_in(demo::EC_PARENT_ONE_CHILD).await;
    let maelys = segment("25", "E25-0004");
    let (status, _) = service.post(&father, &format!("/bourse/{maelys}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = service
        .get(&father, &format!("/eleves/{}", segment("25", "E25-0003")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_parent_is_greeted_by_the_usage_name() {
    let service = start().await;
    let parent = service.log_in(demo::FC_PARENT_USAGE_NAME).await;
    let (status, name) = service.get(&parent, "/moi").await;
    assert_eq!(
        (status, name.as_str()),
        (StatusCode::OK, "Marie-Hélène GARNIER")
    );
}

/// What the library logs, at every level, into a buffer: the core's and the
/// adapter's events and the audit events, not the sandbox's (it stands for
/// the provider, whose logs are not the service's). Installed as the global
/// subscriber, once for this test binary: a scoped one misses events when
/// other tests' threads register the same callsites first. The buffer so
/// also holds the other tests' logs, which must not leak either.
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        #[derive(Clone)]
        struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer(Arc::default());
        let writer = buffer.clone();
        let targets = Targets::new()
            .with_target("educonnect_core", LevelFilter::TRACE)
            .with_target("educonnect_axum", LevelFilter::TRACE)
            .with_target("educonnect::audit", LevelFilter::TRACE);
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            .with(targets)
            .init();
        buffer.0
    })
    .clone()
}

/// The personal data a demo identity's logins put through the library.
fn personal_data(id: &str) -> Vec<String> {
    let identity = demo::identity(id).unwrap();
    let mut data: Vec<String> = match identity.claims {
        DemoClaims::FranceConnect(pivot) => {
            let mut data: Vec<String> = pivot
                .given_name
                .split(' ')
                .chain([pivot.family_name, pivot.preferred_username, pivot.email])
                .map(str::to_owned)
                .collect();
            let date: Vec<&str> = pivot.birthdate.split('-').collect();
            data.push(pivot.birthdate.to_owned());
            data.push(format!("{}/{}/{}", date[2], date[1], date[0]));
            data
        }
        DemoClaims::EduConnect(account) => vec![
            account.given_name.to_owned(),
            account.family_name.to_owned(),
            account.birth_date.to_owned(),
            account.ine.to_owned(),
        ],
    };
    for child in identity.challenge {
        data.push(format!(
            "{:04}-{:02}-{:02}",
            child.year, child.month, child.day
        ));
        data.push(format!(
            "{:02}/{:02}/{:04}",
            child.day, child.month, child.year
        ));
    }
    data.retain(|d| d.len() > 1);
    data
}

#[tokio::test]
async fn no_personal_data_or_secret_reaches_the_logs() {
    let logs = captured_logs();
    let service = start().await;
    let mut secrets = Vec::new();
    for id in [
        demo::FC_PARENT_TWO_ACADEMIES,
        demo::FC_PARENT_WITH_HOMONYM,
        demo::EC_PUPIL,
    ] {
        let user = service.log_in(id).await;
        secrets.extend(personal_data(id));
        let (status, sub) = service.get(&user, "/sub").await;
        assert_eq!(status, StatusCode::OK);
        secrets.push(sub);
        for cookie in user.cookie_header().split("; ") {
            secrets.push(cookie.split_once('=').unwrap().1.to_owned());
        }
        // A refusal, which is logged.
        let (status, _) = service
            .get(&user, &format!("/eleves/{}", segment("25", "E25-0002")))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // The children's first names, as the demo directory holds them.
    secrets.extend(["Éloïse", "Noé", "Lucas", "Maëlys"].map(str::to_owned));

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    // The capture works: these events were logged.
    for event in [
        "login succeeded",
        "filiation verified",
        "not my child",
        "pupil access refused",
    ] {
        assert!(logs.contains(event), "no {event:?} in the logs:\n{logs}");
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret:?} is in the logs:\n{logs}"
        );
    }
}
