//! [`PostgresAuditSink`]: filiation audit events appended to
//! `educonnect_audit`, off the request's path.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::Pool;
use educonnect_core::filiation::{AuditEvent, AuditSink};
use tokio::sync::mpsc;

use crate::PostgresStore;

/// Events waiting to be written, at most: a database that stalls for long
/// costs dropped events (counted, and said in the log), never a request
/// waiting on the audit.
const QUEUE: usize = 10_000;

/// An [`AuditSink`] that appends each event to the `educonnect_audit`
/// table (ids only: the hashed `sub`, directory record ids).
///
/// [`record`](AuditSink::record) only queues the event; a task writes the
/// queue in order. Events the task could not write (the database down) are
/// counted in [`dropped`](Self::dropped) and logged as a count, never with
/// their content.
#[derive(Clone)]
pub struct PostgresAuditSink {
    queue: mpsc::Sender<AuditEvent>,
    dropped: Arc<AtomicU64>,
}

impl PostgresAuditSink {
    /// A sink writing through `store`'s pool, whose migrations created the
    /// table. Starts the writing task on the current tokio runtime.
    pub fn new(store: &PostgresStore) -> Self {
        let (queue, events) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        tokio::spawn(write(store.pool().clone(), events, dropped.clone()));
        Self { queue, dropped }
    }

    /// How many events were lost: the queue was full, or the database
    /// refused them.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for PostgresAuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresAuditSink")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl AuditSink for PostgresAuditSink {
    fn record(&self, event: &AuditEvent) {
        if self.queue.try_send(event.clone()).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(dropped, "audit queue full: an audit event was dropped");
        }
    }
}

/// One row of `educonnect_audit`.
struct Row {
    event: &'static str,
    provider: Option<String>,
    sub_hash: Option<String>,
    persons: Vec<String>,
    pupil: Option<String>,
    count: Option<i64>,
}

fn row(event: AuditEvent) -> Row {
    let mut row = Row {
        event: "",
        provider: None,
        sub_hash: None,
        persons: Vec::new(),
        pupil: None,
        count: None,
    };
    match event {
        AuditEvent::Login {
            provider,
            sub_hash,
            children,
        } => {
            row.event = "login";
            row.provider = Some(provider);
            row.sub_hash = Some(sub_hash);
            row.count = Some(i64::try_from(children).unwrap_or(i64::MAX));
        }
        AuditEvent::VerificationSucceeded { sub_hash, persons } => {
            row.event = "verification_succeeded";
            row.sub_hash = Some(sub_hash);
            row.persons = persons.iter().map(ToString::to_string).collect();
        }
        AuditEvent::VerificationFailed {
            sub_hash,
            persons,
            failures,
        } => {
            row.event = "verification_failed";
            row.sub_hash = Some(sub_hash);
            row.persons = persons.iter().map(ToString::to_string).collect();
            row.count = Some(i64::try_from(failures).unwrap_or(i64::MAX));
        }
        AuditEvent::LockedOut { sub_hash } => {
            row.event = "locked_out";
            row.sub_hash = Some(sub_hash);
        }
        AuditEvent::NotMyChild {
            sub_hash,
            person,
            pupil,
        } => {
            row.event = "not_my_child";
            row.sub_hash = Some(sub_hash);
            row.persons = vec![person.to_string()];
            row.pupil = Some(pupil.to_string());
        }
        // An event a later core adds: its kind is kept, nothing else.
        _ => row.event = "other",
    }
    row
}

async fn write(pool: Pool, mut events: mpsc::Receiver<AuditEvent>, dropped: Arc<AtomicU64>) {
    while let Some(event) = events.recv().await {
        let row = row(event);
        let result = async {
            let client = pool.get().await.map_err(|e| e.to_string())?;
            client
                .execute(
                    "INSERT INTO educonnect_audit (event, provider, sub_hash, persons, pupil, count)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        &row.event,
                        &row.provider,
                        &row.sub_hash,
                        &row.persons,
                        &row.pupil,
                        &row.count,
                    ],
                )
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(error) = result {
            let dropped = dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(dropped, %error, "an audit event could not be written");
        }
    }
}
