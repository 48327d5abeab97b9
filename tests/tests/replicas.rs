//! Two replicas of the ENT portal on one Redis, behind a round-robin load
//! balancer: every request of a login lands on the other replica than the
//! one before, as it may in production.

use std::sync::Arc;
use std::time::Duration;

use educonnect_core::directory::{PupilId, SourceId};
use educonnect_core::filiation::AuditSink;
use educonnect_core::flow::LoginStateKey;
use educonnect_core::store::{SplitStore, Store};
use educonnect_postgres::{PostgresAuditSink, PostgresStore};
use educonnect_redis::RedisStore;
use educonnect_sandbox::agent::{Agent, AgentError};
use educonnect_sandbox::demo;
use educonnect_tests::{
    CountingAudit, OwnRedis, Replicas, fresh_prefix, shared_database_url, shared_redis_url,
};
use reqwest::StatusCode;

fn key() -> LoginStateKey {
    LoginStateKey::new(*b"replicas share this login state key!").unwrap()
}

async fn redis(url: &str, prefix: &str) -> Arc<dyn Store> {
    Arc::new(
        RedisStore::builder(url)
            .key_prefix(prefix)
            .connect()
            .await
            .expect("EDUCONNECT_TEST_REDIS_URL is set but Redis cannot be reached"),
    )
}

async fn get(agent: &Agent, url: &str) -> (StatusCode, String) {
    let response = agent
        .client()
        .get(url)
        .header("cookie", agent.cookie_header())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_login_begun_on_one_replica_ends_on_the_other_and_so_does_a_logout() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = fresh_prefix("login");
    let stores = vec![redis(&url, &prefix).await, redis(&url, &prefix).await];
    let replicas = Replicas::start(stores, key()).await;

    // FranceConnect with the birth-date challenge: login, callback,
    // challenge page and answer alternate between the replicas.
    let angela = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
    let agent = Agent::log_in(&replicas.public_url, angela).await.unwrap();
    assert!(replicas.served(0) >= 2 && replicas.served(1) >= 2);

    // The session is good on each replica, addressed directly.
    for replica in &replicas.replicas {
        let (status, page) = get(&agent, &format!("{replica}/enfants")).await;
        assert_eq!(status, StatusCode::OK, "{replica}: {page}");
        assert!(page.contains("Éloïse") && page.contains("Noé"), "{page}");
    }

    // Logging out on the first ends the session on the second.
    let response = agent
        .client()
        .post(format!("{}/auth/logout", replicas.replicas[0]))
        .header("origin", &replicas.public_url)
        .header("cookie", agent.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = get(&agent, &format!("{}/enfants", replicas.replicas[1])).await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_shared_store_a_login_cannot_cross_replicas() {
    // The control: each replica on its own memory store. The challenge
    // begun on one is unknown to the other, so the login fails.
    let stores: Vec<Arc<dyn Store>> = vec![
        Arc::new(educonnect_core::MemoryStore::new()),
        Arc::new(educonnect_core::MemoryStore::new()),
    ];
    let replicas = Replicas::start(stores, key()).await;
    let angela = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        Agent::log_in(&replicas.public_url, angela),
    )
    .await
    .unwrap();
    assert!(
        result.is_err(),
        "a login crossed replicas without a shared store"
    );
}

/// The portal's link to a demo pupil's report (`E14-…` in academy 14,
/// `E25-…` in 25).
fn report_link(local: &str) -> String {
    let academy = &local[1..3];
    let pupil = PupilId::new(SourceId::aaf(academy).unwrap(), local).unwrap();
    format!("/eleves/{}/bulletin", pupil.to_url_segment())
}

#[tokio::test]
async fn logins_spread_over_two_replicas_are_none_lost_nor_mixed() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = fresh_prefix("many");
    let stores = vec![redis(&url, &prefix).await, redis(&url, &prefix).await];
    let replicas = Arc::new(Replicas::start(stores, key()).await);
    // EduConnect guardians: no birth-date challenge, so hundreds of logins
    // of one person stay under the per-pupil daily cap of answer sets
    // (counted in Redis, the cap holds across replicas: concurrent
    // FranceConnect logins of one parent get 429 past it).
    let identities = [
        demo::EC_PARENT_TWO_ACADEMIES,
        demo::EC_PARENT_ONE_CHILD,
        demo::EC_PARENT_VECTOR_ONLY,
    ];
    const LOGINS: usize = 300;
    let mut tasks = Vec::new();
    for i in 0..LOGINS {
        let replicas = replicas.clone();
        let identity = demo::identity(identities[i % identities.len()]).unwrap();
        tasks.push(tokio::spawn(async move {
            let agent = Agent::log_in(&replicas.public_url, identity).await.unwrap();
            let (status, page) = get(&agent, &format!("{}/enfants", replicas.public_url)).await;
            (identity, status, page, agent.cookie_header())
        }));
    }
    let mut cookies = std::collections::HashSet::new();
    for task in tasks {
        let (identity, status, page, cookie) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{}: {page}", identity.id);
        // Each session shows its own person's children, never another's.
        for other in identities.iter().map(|id| demo::identity(id).unwrap()) {
            for child in other.children {
                let link = report_link(child);
                assert_eq!(
                    page.contains(&link),
                    identity.children.contains(child),
                    "{}: {child}",
                    identity.id
                );
            }
        }
        assert!(cookies.insert(cookie), "two logins got one session");
    }
    assert_eq!(cookies.len(), LOGINS);
}

#[tokio::test]
async fn a_restart_keeps_verified_links_on_postgres() {
    let (Some(redis_url), Some(database_url)) = (shared_redis_url(), shared_database_url()) else {
        return;
    };
    let postgres = PostgresStore::connect(&database_url).await.unwrap();
    let audit = Arc::new(CountingAudit::new(Arc::new(PostgresAuditSink::new(
        &postgres,
    ))));
    let split = |redis: Arc<dyn Store>| -> Arc<dyn Store> {
        Arc::new(SplitStore::new(redis, Arc::new(postgres.clone())))
    };

    // A client id of this run only: to the service, a person never seen,
    // whatever the database kept from earlier runs.
    let client = fresh_prefix("client");
    // Links are stamped in whole seconds.
    let started = std::time::SystemTime::now() - Duration::from_secs(1);
    // Jean-Pierre MARTIN (FranceConnect) answers the birth-date challenge:
    // the link to his record is verified and stored on PostgreSQL.
    let prefix = fresh_prefix("restart-1");
    let before = Replicas::start_with_audit(
        vec![
            split(redis(&redis_url, &prefix).await),
            split(redis(&redis_url, &prefix).await),
        ],
        key(),
        Some(audit.clone() as Arc<dyn AuditSink>),
        &client,
    )
    .await;
    let father = demo::identity(demo::FC_PARENT_WITH_HOMONYM).unwrap();
    let agent = Agent::log_in(&before.public_url, father).await.unwrap();
    let (status, page) = get(&agent, &format!("{}/enfants", before.public_url)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Lucas"), "{page}");
    drop(before);
    assert_eq!(audit.verified(), 1, "the challenge was not audited");

    // Everything restarts, Redis forgotten (a new prefix): his next login
    // needs no challenge, and he still sees Lucas.
    let prefix = fresh_prefix("restart-2");
    let after = Replicas::start_with_audit(
        vec![
            split(redis(&redis_url, &prefix).await),
            split(redis(&redis_url, &prefix).await),
        ],
        key(),
        Some(audit.clone() as Arc<dyn AuditSink>),
        &client,
    )
    .await;
    let agent = Agent::log_in(&after.public_url, father).await.unwrap();
    let (status, page) = get(&agent, &format!("{}/enfants", after.public_url)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Lucas"), "{page}");
    assert_eq!(
        audit.verified(),
        1,
        "a second challenge was asked after the restart"
    );
    // What PostgreSQL holds, as an operator reads it: his record, Lucas,
    // verified by birth dates a moment ago, against which export.
    let rows = postgres
        .pool()
        .get()
        .await
        .unwrap()
        .query(
            "SELECT person, pupils, verification, checked_against FROM educonnect_verified_links
             WHERE person = 'aaf:14/P14-0002' AND verified_at >= $1",
            &[&started],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    let pupils: Vec<String> = rows[0].get(1);
    let verification: String = rows[0].get(2);
    assert_eq!(pupils, ["aaf:14/E14-0002"]);
    assert_eq!(verification, "birth_dates");
    // Checked against the demo's Rennes export (both of its chunks).
    let export: String = rows[0].get(3);
    assert_eq!(export, "ENT_14_Complet_20260901");
}

/// Wrong answer sets of one person until the lock: the attempt at which
/// the login was refused before any challenge, and the statuses before it.
///
/// A wrong guess is four requests (login, callback, challenge form,
/// answers): one more request between guesses makes the answers land on
/// each replica in turn.
async fn guesses_until_locked(replicas: &Replicas, attempts: usize) -> (Option<usize>, Vec<u16>) {
    let impostor = demo::identity(demo::FC_PARENT_BORN_ABROAD).unwrap();
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for attempt in 1..=attempts {
        match Agent::guess_wrong(&replicas.public_url, impostor).await {
            Ok(Some((status, _))) => statuses.push(status.as_u16()),
            Ok(None) => panic!("attempt {attempt} got in without a challenge"),
            Err(AgentError::Unexpected {
                step: "callback",
                status: 429,
                ..
            }) => return (Some(attempt), statuses),
            Err(e) => panic!("attempt {attempt}: {e:?}"),
        }
        client.get(&replicas.public_url).send().await.unwrap();
    }
    (None, statuses)
}

#[tokio::test]
async fn a_lock_out_is_counted_across_replicas() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = fresh_prefix("lockout");
    let replicas = Replicas::start(
        vec![redis(&url, &prefix).await, redis(&url, &prefix).await],
        key(),
    )
    .await;
    // Five wrong answer sets (the default policy), three on one replica and
    // two on the other, then locked on both: apart, neither would have
    // counted five.
    let (locked_at, statuses) = guesses_until_locked(&replicas, 8).await;
    // The fifth is refused with the lock page itself.
    assert_eq!(statuses, [400, 400, 400, 400, 429]);
    assert_eq!(locked_at, Some(6), "{statuses:?}");
    // Locked whichever replica the next login reaches.
    let (locked_at, _) = guesses_until_locked(&replicas, 1).await;
    assert_eq!(locked_at, Some(1));
}

#[tokio::test]
async fn redis_stopped_mid_login_is_an_error_page_then_logins_recover_and_links_are_kept() {
    let Some(database_url) = shared_database_url() else {
        return;
    };
    let mut own = OwnRedis::start().await;
    let own_redis = || async {
        Arc::new(
            RedisStore::builder(own.url())
                .response_timeout(Duration::from_millis(300))
                .connect_timeout(Duration::from_millis(300))
                .connect()
                .await
                .unwrap(),
        ) as Arc<dyn Store>
    };
    let postgres = PostgresStore::connect(&database_url).await.unwrap();
    let audit = Arc::new(CountingAudit::new(Arc::new(PostgresAuditSink::new(
        &postgres,
    ))));
    let split = |redis: Arc<dyn Store>| -> Arc<dyn Store> {
        Arc::new(SplitStore::new(redis, Arc::new(postgres.clone())))
    };
    let client = fresh_prefix("outage-client");
    let replicas = Replicas::start_with_audit(
        vec![split(own_redis().await), split(own_redis().await)],
        key(),
        Some(audit.clone() as Arc<dyn AuditSink>),
        &client,
    )
    .await;
    let father = demo::identity(demo::FC_PARENT_WITH_HOMONYM).unwrap();
    let mother = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
    // Before: the father verified, his link on PostgreSQL.
    let agent = Agent::log_in(&replicas.public_url, father).await.unwrap();
    let (status, _) = get(&agent, &format!("{}/enfants", replicas.public_url)).await;
    assert_eq!(status, StatusCode::OK);

    own.kill().await;
    // A login in flight meets the outage at its callback: the 503 page,
    // in French, and no session.
    match Agent::log_in(&replicas.public_url, mother).await {
        Err(AgentError::Unexpected { status: 503, .. }) => {}
        other => panic!("a login with Redis down: {other:?}"),
    }
    // A session check cannot tell: 503, never "logged out" nor a panic.
    for replica in &replicas.replicas {
        let (status, page) = get(&agent, &format!("{replica}/enfants")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
        assert!(page.contains("lang=\"fr\""), "{page}");
    }

    // Redis back, empty (it keeps nothing on disk): sessions are gone, but
    // the father's verified link is not: no challenge at his next login.
    own.restart().await;
    let mut back = None;
    for _ in 0..50 {
        if let Ok(agent) = Agent::log_in(&replicas.public_url, father).await {
            back = Some(agent);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let agent = back.expect("logins did not recover once Redis was back");
    let (status, page) = get(&agent, &format!("{}/enfants", replicas.public_url)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Lucas"), "{page}");
    assert_eq!(audit.verified(), 1, "a second challenge was asked");
    // And a new parent logs in as before.
    Agent::log_in(&replicas.public_url, mother).await.unwrap();
}
