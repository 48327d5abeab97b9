//! The ENT portal over real HTTP on loopback, with the sandbox in the
//! process, under its act-for policy ([`portal::ACT_FOR_POLICY`]: family
//! members read their relatives' reports).

use educonnect_core::directory::{PupilId, SourceId};
use educonnect_core::filiation::ActForPolicy;
use educonnect_examples::portal;
use educonnect_examples::settings::{Settings, Setup};
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, demo};
use reqwest::StatusCode;

struct Service {
    base: String,
    _sandbox: Sandbox,
}

async fn start(policy: ActForPolicy) -> Service {
    let settings = Settings::from_vars(0, |_| None)
        .unwrap()
        .on_free_port()
        .act_for_policy(policy);
    let setup = Setup::new(settings).await.unwrap();
    let app = portal::app(setup.gateway, setup.directory);
    tokio::spawn(async move { axum::serve(setup.listener, app).await.unwrap() });
    Service {
        base: setup.public_url,
        _sandbox: setup.sandbox.unwrap(),
    }
}

impl Service {
    async fn get(&self, agent: &Agent, path: &str) -> (StatusCode, String) {
        let r = agent
            .client()
            .get(format!("{}{path}", self.base))
            .header("cookie", agent.cookie_header())
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

fn report(local: &str) -> String {
    let pupil = PupilId::new(SourceId::aaf("25").unwrap(), local).unwrap();
    format!("/eleves/{}/bulletin", pupil.to_url_segment())
}

/// Maëlys's grandmother (no legal authority) in the portal under `policy`:
/// her children page, and Maëlys's report.
async fn grandmother(policy: ActForPolicy) -> (String, StatusCode, String) {
    let service = start(policy).await;
    let agent = Agent::log_in(
        &service.base,
        demo::identity(demo::FC_GRANDPARENT_WITHOUT_AUTHORITY).unwrap(),
    )
    .await
    .unwrap();
    let (status, children) = service.get(&agent, "/enfants").await;
    assert_eq!(status, StatusCode::OK, "{children}");
    assert!(children.contains("Maëlys"), "{children}");
    let (status, page) = service.get(&agent, &report("E25-0004")).await;
    (children, status, page)
}

#[tokio::test]
async fn finding_6_the_portal_lets_a_grandparent_read_under_its_family_members_policy() {
    assert_eq!(portal::ACT_FOR_POLICY, ActForPolicy::FamilyMembers);
    let (children, status, page) = grandmother(portal::ACT_FOR_POLICY).await;
    assert!(children.contains(&report("E25-0004")), "{children}");
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("sans être représentant légal"), "{page}");
}

#[tokio::test]
async fn finding_6_under_the_default_policy_the_portal_refuses_a_grandparent() {
    let (children, status, page) = grandmother(ActForPolicy::default()).await;
    assert!(!children.contains(&report("E25-0004")), "{children}");
    assert!(
        children.contains("ne permet pas de consulter"),
        "{children}"
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
}

#[tokio::test]
async fn the_portal_logs_in_through_the_sandbox_as_franceconnect_plus() {
    let settings = Settings::from_vars(0, |name| {
        (name == "EDUCONNECT_SANDBOX_FRANCECONNECT_PLUS").then(|| "1".to_owned())
    })
    .unwrap()
    .on_free_port();
    let setup = Setup::new(settings).await.unwrap();
    let app = portal::app(setup.gateway, setup.directory);
    tokio::spawn(async move { axum::serve(setup.listener, app).await.unwrap() });
    let base = setup.public_url;
    let _sandbox = setup.sandbox.unwrap();
    let agent = Agent::log_in_through(
        &base,
        "franceconnectplus",
        demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap(),
    )
    .await
    .unwrap();
    let service = Service { base, _sandbox };
    let (status, children) = service.get(&agent, "/enfants").await;
    assert_eq!(status, StatusCode::OK, "{children}");
    assert!(children.contains("Éloïse"), "{children}");
    // FranceConnect v2 is not offered beside it: the sandbox is FranceConnect+.
    let v2 = Agent::log_in(
        &service.base,
        demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap(),
    )
    .await;
    assert!(v2.is_err(), "{v2:?}");
}
