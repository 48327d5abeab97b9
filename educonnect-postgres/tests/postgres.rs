//! The core's store conformance suite, migrations, durability and the audit
//! log, against the machine's PostgreSQL (`EDUCONNECT_TEST_DATABASE_URL`).

use std::time::Duration;

use educonnect_core::directory::{PersonId, PupilId, SourceId};
use educonnect_core::filiation::{AuditEvent, AuditSink};
use educonnect_core::store::Store;
use educonnect_core::store::conformance::{self, Subject};
use educonnect_postgres::{PostgresAuditSink, PostgresStore, SCHEMA_VERSION};

const DATABASE_URL_VAR: &str = "EDUCONNECT_TEST_DATABASE_URL";

/// The machine's PostgreSQL: `None` (with one line saying so) when the
/// variable is not set, as on a laptop; set, the tests fail if it cannot be
/// reached.
fn database_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped: {DATABASE_URL_VAR} is not set (.ci/run sets it to the machine's PostgreSQL)"
            );
            None
        }
    }
}

async fn store() -> Option<PostgresStore> {
    let url = database_url()?;
    Some(
        PostgresStore::connect(&url)
            .await
            .expect("EDUCONNECT_TEST_DATABASE_URL is set but PostgreSQL cannot be reached"),
    )
}

struct RealTime(PostgresStore);

#[async_trait::async_trait]
impl Subject for RealTime {
    fn store(&self) -> &dyn Store {
        &self.0
    }

    async fn wait(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn short_ttl(&self) -> Duration {
        Duration::from_millis(100)
    }
}

#[tokio::test]
async fn postgres_passes_the_conformance_suite() {
    let Some(store) = store().await else {
        return;
    };
    let failures = conformance::run(&RealTime(store)).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn migrations_are_applied_once_even_by_replicas_starting_together() {
    let Some(url) = database_url() else {
        return;
    };
    let connects: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for connect in connects {
        stores.push(connect.await.unwrap().unwrap());
    }
    let client = stores[0].pool().get().await.unwrap();
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM educonnect_schema ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_record_outlives_the_store_that_wrote_it() {
    let Some(url) = database_url() else {
        return;
    };
    let id = format!(
        "restart-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    );
    {
        let before = PostgresStore::connect(&url).await.unwrap();
        before
            .put_record(&id, b"verified link".to_vec())
            .await
            .unwrap();
        // Dropping the store closes its pool: as a restart would.
    }
    let after = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(
        after.get_record(&id).await.unwrap(),
        Some(b"verified link".to_vec())
    );
    assert!(after.delete_record(&id).await.unwrap());
}

#[tokio::test]
async fn expired_entries_are_purged() {
    let Some(store) = store().await else {
        return;
    };
    let id = format!("purge-{}", std::process::id());
    store
        .create_session(&id, b"x".to_vec(), Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.purge_expired().await.unwrap() >= 1);
    let client = store.pool().get().await.unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM educonnect_entries WHERE id = $1",
            &[&id.as_bytes()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// An audit row as read back: event, persons, pupil, count.
type AuditRow = (String, Vec<String>, Option<String>, Option<i64>);

#[tokio::test]
async fn audit_events_are_appended_with_ids_only_and_never_changed() {
    let Some(store) = store().await else {
        return;
    };
    let sink = PostgresAuditSink::new(&store);
    let source = SourceId::aaf("14").unwrap();
    let sub_hash = format!(
        "audit-test-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    );
    let person = PersonId::new(source.clone(), "P14-0001").unwrap();
    let pupil = PupilId::new(source, "E14-0001").unwrap();
    sink.record(&AuditEvent::VerificationFailed {
        sub_hash: sub_hash.clone(),
        persons: vec![person.clone()],
        failures: 2,
    });
    sink.record(&AuditEvent::NotMyChild {
        sub_hash: sub_hash.clone(),
        person: person.clone(),
        pupil: pupil.clone(),
    });
    sink.record(&AuditEvent::LockedOut {
        sub_hash: sub_hash.clone(),
    });

    let client = store.pool().get().await.unwrap();
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = client
            .query(
                "SELECT event, persons, pupil, count FROM educonnect_audit
                 WHERE sub_hash = $1 ORDER BY seq",
                &[&sub_hash],
            )
            .await
            .unwrap();
        if rows.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let events: Vec<AuditRow> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        events,
        [
            (
                "verification_failed".to_owned(),
                vec![person.to_string()],
                None,
                Some(2)
            ),
            (
                "not_my_child".to_owned(),
                vec![person.to_string()],
                Some(pupil.to_string()),
                None
            ),
            ("locked_out".to_owned(), vec![], None, None),
        ]
    );
    assert_eq!(sink.dropped(), 0);

    // Append-only: no update, delete or truncate, even by the owner.
    for sql in [
        "UPDATE educonnect_audit SET event = 'x' WHERE sub_hash = $1",
        "DELETE FROM educonnect_audit WHERE sub_hash = $1",
    ] {
        let error = client.execute(sql, &[&sub_hash]).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only")
                || format!("{error:?}").contains("append-only"),
            "{error:?}"
        );
    }
    let error = client
        .batch_execute("TRUNCATE educonnect_audit")
        .await
        .unwrap_err();
    assert!(format!("{error:?}").contains("append-only"), "{error:?}");
}

#[tokio::test]
async fn verified_and_revoked_links_read_as_rows_beside_records_of_any_bytes() {
    let Some(store) = store().await else {
        return;
    };
    let sub_hash = format!(
        "view-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    );
    // A link as the core writes it (`filiation/link.rs`), and a record
    // whose id is no UTF-8 text.
    let link = r#"{"records":[{"person":{"source":"aaf:14","local":"P14-0002"},
        "pupils":[{"source":"aaf:14","local":"E14-0002"}],"verification":"birth_dates",
        "verified_at":1796539526,"declined":[],"export":"ENT_14_Complet_20260901"}],
        "revoked":[{"source":"aaf:14","local":"P14-0009"}],
        "revoked_at":[[{"source":"aaf:14","local":"P14-0009"},1796540000]]}"#;
    store
        .put_record(&format!("fc-link:{sub_hash}"), link.as_bytes().to_vec())
        .await
        .unwrap();
    store
        .put_record("\u{0}\u{ff}odd", vec![0xff, 0])
        .await
        .unwrap();
    let client = store.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT person, pupils, verification, extract(epoch FROM verified_at)::bigint,
                    checked_against
             FROM educonnect_verified_links WHERE sub_hash = $1",
            &[&sub_hash],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "aaf:14/P14-0002");
    assert_eq!(row.get::<_, Vec<String>>(1), ["aaf:14/E14-0002"]);
    assert_eq!(row.get::<_, String>(2), "birth_dates");
    assert_eq!(row.get::<_, i64>(3), 1_796_539_526);
    assert_eq!(row.get::<_, String>(4), "ENT_14_Complet_20260901");
    let row = client
        .query_one(
            "SELECT person, extract(epoch FROM revoked_at)::bigint
             FROM educonnect_revoked_links WHERE sub_hash = $1",
            &[&sub_hash],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "aaf:14/P14-0009");
    assert_eq!(row.get::<_, i64>(1), 1_796_540_000);
    store.delete_record("\u{0}\u{ff}odd").await.unwrap();
}
