//! The schema, as numbered migrations applied in order, each once, inside
//! one transaction that also records the version reached.
//!
//! Two replicas starting together both call [`apply`]: the first takes a
//! transaction-scoped advisory lock, the second waits for it, then finds
//! nothing left to do (creating the version table itself would race
//! without it).

use tokio_postgres::Client;

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`. Never edit
/// one that shipped: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: entries of every key space, and the audit log.
    r#"
    CREATE TABLE educonnect_entries (
        space smallint NOT NULL,
        id bytea NOT NULL,
        value bytea NOT NULL,
        n bigint NOT NULL DEFAULT 0,
        -- NULL: never expires (records).
        expires_at timestamptz,
        PRIMARY KEY (space, id)
    );
    CREATE INDEX educonnect_entries_expiry ON educonnect_entries (expires_at)
        WHERE expires_at IS NOT NULL;

    CREATE TABLE educonnect_audit (
        seq bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        event text NOT NULL,
        provider text,
        sub_hash text,
        persons text[] NOT NULL DEFAULT '{}',
        pupil text,
        count bigint
    );
    CREATE FUNCTION educonnect_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the EduConnect audit log is append-only';
        END;
        $$;
    CREATE TRIGGER educonnect_audit_no_update_or_delete
        BEFORE UPDATE OR DELETE ON educonnect_audit
        FOR EACH ROW EXECUTE FUNCTION educonnect_audit_append_only();
    CREATE TRIGGER educonnect_audit_no_truncate
        BEFORE TRUNCATE ON educonnect_audit
        FOR EACH STATEMENT EXECUTE FUNCTION educonnect_audit_append_only();
    "#,
    // 2: the verified links as rows, for operators and reviewers: who
    // (the hashed `sub`), which guardian record, which pupils, how and
    // when it was verified; and which records a school revoked, when.
    // Read from the records the core writes (JSON); the CTEs keep other
    // records (any bytes) away from the JSON conversion.
    r#"
    CREATE VIEW educonnect_verified_links AS
    WITH links AS MATERIALIZED (
        SELECT substring(id FROM 9) AS sub_hash, value
        FROM educonnect_entries
        WHERE space = 5 AND substring(id FROM 1 FOR 8) = 'fc-link:'::bytea
    )
    SELECT convert_from(sub_hash, 'UTF8') AS sub_hash,
           (r->'person'->>'source') || '/' || (r->'person'->>'local') AS person,
           ARRAY(SELECT (p->>'source') || '/' || (p->>'local')
                 FROM jsonb_array_elements(r->'pupils') p) AS pupils,
           r->>'verification' AS verification,
           to_timestamp((r->>'verified_at')::bigint) AS verified_at
    FROM links, jsonb_array_elements(convert_from(value, 'UTF8')::jsonb->'records') r;

    CREATE VIEW educonnect_revoked_links AS
    WITH links AS MATERIALIZED (
        SELECT substring(id FROM 9) AS sub_hash, value
        FROM educonnect_entries
        WHERE space = 5 AND substring(id FROM 1 FOR 8) = 'fc-link:'::bytea
    )
    SELECT convert_from(sub_hash, 'UTF8') AS sub_hash,
           (r->0->>'source') || '/' || (r->0->>'local') AS person,
           to_timestamp((r->>1)::bigint) AS revoked_at
    FROM links, jsonb_array_elements(convert_from(value, 'UTF8')::jsonb->'revoked_at') r;
    "#,
    // 3: which export each link was checked against.
    r#"
    CREATE OR REPLACE VIEW educonnect_verified_links AS
    WITH links AS MATERIALIZED (
        SELECT substring(id FROM 9) AS sub_hash, value
        FROM educonnect_entries
        WHERE space = 5 AND substring(id FROM 1 FOR 8) = 'fc-link:'::bytea
    )
    SELECT convert_from(sub_hash, 'UTF8') AS sub_hash,
           (r->'person'->>'source') || '/' || (r->'person'->>'local') AS person,
           ARRAY(SELECT (p->>'source') || '/' || (p->>'local')
                 FROM jsonb_array_elements(r->'pupils') p) AS pupils,
           r->>'verification' AS verification,
           to_timestamp((r->>'verified_at')::bigint) AS verified_at,
           r->>'export' AS checked_against
    FROM links, jsonb_array_elements(convert_from(value, 'UTF8')::jsonb->'records') r;
    "#,
];

/// The advisory lock key migrations hold ("EDUCONNE" in ASCII).
const MIGRATION_LOCK: i64 = 0x4544_5543_4f4e_4e45;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Why the schema could not be brought to [`SCHEMA_VERSION`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// The database is at a version this build does not know (a newer
    /// release migrated it): refusing to run on it.
    #[error("the database schema is at version {found}, newer than this build's {SCHEMA_VERSION}")]
    Newer {
        /// The version found.
        found: i32,
    },
    /// A statement failed; the transaction was rolled back, nothing changed.
    #[error("migrating the schema failed: {0}")]
    Database(#[from] tokio_postgres::Error),
}

/// Brings the schema to [`SCHEMA_VERSION`], in one transaction. Returns the
/// version found before.
pub(crate) async fn apply(client: &mut Client) -> Result<i32, MigrationError> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "SET LOCAL client_min_messages = warning;
         SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
         CREATE TABLE IF NOT EXISTS educonnect_schema (version integer NOT NULL);"
    ))
    .await?;
    let found: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM educonnect_schema",
            &[],
        )
        .await?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(MigrationError::Newer { found });
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(migration).await?;
        let version = i as i32 + 1;
        tx.execute(
            "INSERT INTO educonnect_schema (version) VALUES ($1)",
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}
