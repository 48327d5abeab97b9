//! Logged-in users, over real HTTP on loopback: demo identities log in
//! through the sandbox (its scripted user agent), then the extractors decide
//! from their family claims.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use educonnect_axum::{CurrentUser, ForPupil, SessionLayer, WithLegalAuthority, routes};
use educonnect_core::MemoryStore;
use educonnect_core::directory::{PupilId, SourceId};
use educonnect_core::flow::Gateway;
use educonnect_core::flow::access::Relation;
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, SandboxConfig, demo, demo_directory};
use reqwest::StatusCode;

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
            "/eleves/{pupil}",
            get(|access: ForPupil| async move {
                match access.grant().relation() {
                    Relation::Themselves => format!("mon bulletin {}", access.pupil()),
                    Relation::Guardian { .. } => format!("bulletin {}", access.pupil()),
                }
            }),
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
        let response = agent
            .client()
            .post(format!("{}{path}", self.base))
            .header("cookie", agent.cookie_header())
            .send()
            .await
            .unwrap();
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
async fn a_grandparent_follows_a_pupil_but_cannot_sign_for_her() {
    let service = start().await;
    let grandmother = service.log_in(demo::FC_GRANDPARENT_WITHOUT_AUTHORITY).await;
    let maelys = segment("25", "E25-0004");
    let (status, body) = service
        .get(&grandmother, &format!("/eleves/{maelys}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = service
        .post(&grandmother, &format!("/bourse/{maelys}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("représentants légaux"), "{body}");
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
