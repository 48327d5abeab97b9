//! The scholarship example over real HTTP on loopback, with the sandbox in
//! the process: only a guardian with legal authority over a pupil submits
//! that pupil's request.

use std::sync::Arc;

use educonnect_core::directory::{PupilId, SourceId};
use educonnect_examples::bourse::{self, Requests};
use educonnect_examples::settings::{Settings, Setup};
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, demo};
use reqwest::StatusCode;

struct Service {
    base: String,
    requests: Arc<Requests>,
    _sandbox: Sandbox,
}

async fn start() -> Service {
    let settings = Settings::from_vars(0, |_| None)
        .unwrap()
        .on_free_port()
        .act_for_policy(bourse::ACT_FOR_POLICY);
    let setup = Setup::new(settings).await.unwrap();
    let requests = Arc::new(Requests::default());
    let listener = setup.listener.into_std().unwrap();
    let server =
        bourse::server(listener, setup.gateway, setup.directory, requests.clone()).unwrap();
    actix_web::rt::spawn(server);
    Service {
        base: setup.public_url,
        requests,
        _sandbox: setup.sandbox.unwrap(),
    }
}

fn segment(local: &str) -> String {
    PupilId::new(SourceId::aaf("25").unwrap(), local)
        .unwrap()
        .to_url_segment()
}

impl Service {
    async fn log_in(&self, id: &str) -> Agent {
        Agent::log_in(&self.base, demo::identity(id).unwrap())
            .await
            .unwrap()
    }

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

    async fn post(&self, agent: &Agent, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let r = agent
            .client()
            .post(format!("{}{path}", self.base))
            .header("cookie", agent.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

const VALID: [(&str, &str); 3] = [("income", "18450"), ("children", "2"), ("attest", "1")];

#[actix_web::test]
async fn a_legal_guardian_submits_a_request_for_their_child() {
    let service = start().await;
    let parent = service.log_in(demo::FC_PARENT_TWO_ACADEMIES).await;

    let (status, page) = service.get(&parent, "/demandes").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("/bourse/{}", segment("E25-0001"))),
        "{page}"
    );
    assert!(page.contains("Faire une demande pour Noé DUBOIS"), "{page}");

    let path = format!("/bourse/{}", segment("E25-0001"));
    let (status, page) = service.get(&parent, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<label for=\"income\">"), "{page}");

    // An incomplete form comes back with a message; nothing is recorded.
    let (status, page) = service
        .post(&parent, &path, &[("income", "abc"), ("children", "2")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(service.requests.all().is_empty());

    let (status, page) = service.post(&parent, &path, &VALID).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("BRS-00001"), "{page}");
    let all = service.requests.all();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].pupil.to_url_segment(), segment("E25-0001"));
    assert_eq!((all[0].income, all[0].children), (18450, 2));

    // Another family's pupil: refused, nothing recorded.
    let (status, _) = service
        .post(&parent, &format!("/bourse/{}", segment("E25-0002")), &VALID)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(service.requests.all().len(), 1);
}

#[actix_web::test]
async fn a_grandparent_without_legal_authority_cannot_submit() {
    let service = start().await;
    let grandmother = service.log_in(demo::FC_GRANDPARENT_WITHOUT_AUTHORITY).await;
    let (status, page) = service.get(&grandmother, "/demandes").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Maëlys"), "{page}");
    assert!(page.contains("réservée aux"), "{page}");
    assert!(!page.contains("/bourse/"), "{page}");

    let path = format!("/bourse/{}", segment("E25-0004"));
    let (status, page) = service.get(&grandmother, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("représentants légaux"), "{page}");
    let (status, _) = service.post(&grandmother, &path, &VALID).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(service.requests.all().is_empty());
}

#[actix_web::test]
async fn nobody_submits_without_logging_in() {
    let service = start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{}/bourse/{}", service.base, segment("E25-0001")))
        .form(&VALID)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login?")
    );
    assert!(service.requests.all().is_empty());
}

/// The father's namesake (his own father, "Jean DUPONT" too, linked to
/// Léa as a contact) knows her birth date: he is linked through his own
/// record only and cannot submit a request in her name; the father still
/// can.
#[actix_web::test]
async fn the_fathers_namesake_who_knows_the_birth_date_cannot_submit() {
    let service = start().await;
    let lea = PupilId::new(SourceId::aaf("14").unwrap(), "E14-0003")
        .unwrap()
        .to_url_segment();
    let path = format!("/bourse/{lea}");

    let grandfather = service.log_in(demo::FC_GRANDFATHER_NAMESAKE).await;
    let (status, _) = service.get(&grandfather, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = service.post(&grandfather, &path, &VALID).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(service.requests.all().is_empty());

    let father = service.log_in(demo::FC_FATHER_WITH_NAMESAKE).await;
    let (status, page) = service.get(&father, &path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, page) = service.post(&father, &path, &VALID).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(service.requests.all().len(), 1);
}
