//! The schema of the PostgreSQL store, created and upgraded by the node itself.
//!
//! Each migration has a version and runs once, in its own transaction, recorded in
//! `ferrobeam_schema`. Nodes starting together on one database take a session advisory lock
//! first, so exactly one of them applies what is missing and the others find it done. A
//! database whose schema is newer than this binary knows is refused (an older node must not
//! write a layout it does not understand).

use super::classify;
use crate::store::StoreError;
use postgres::Client;

/// The advisory lock key that serialises migrations (any constant unique to ferrobeam).
const MIGRATION_LOCK: i64 = 0x6665_7272_6f62_6d31; // "ferrobm1"

/// The migrations in order: `(version, SQL)`. Append only; never edit a released one.
pub const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    // Keys compare bytewise ("C"), like the embedded store, so range scans list in the same
    // order on every backend.
    "CREATE TABLE ferrobeam_entries (
         key   text COLLATE \"C\" PRIMARY KEY,
         value bytea NOT NULL
     )",
)];

/// The newest schema version this binary writes.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Brings the database's schema up to [`latest`]; the versions applied now.
pub fn migrate(client: &mut Client) -> Result<Vec<i32>, StoreError> {
    let err = |e: postgres::Error| classify(&e);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(err)?;
    let outcome = apply(client);
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .map_err(err);
    let applied = outcome?;
    unlocked?;
    Ok(applied)
}

fn apply(client: &mut Client) -> Result<Vec<i32>, StoreError> {
    let err = |e: postgres::Error| classify(&e);
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS ferrobeam_schema (
                 version    integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .map_err(err)?;
    let current: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM ferrobeam_schema",
            &[],
        )
        .map_err(err)?
        .get(0);
    if current > latest() {
        return Err(StoreError::Backend(format!(
            "the database's ferrobeam schema is version {current}, newer than this node's {}: upgrade the node",
            latest()
        )));
    }
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let mut txn = client.transaction().map_err(err)?;
        txn.batch_execute(sql).map_err(err)?;
        txn.execute(
            "INSERT INTO ferrobeam_schema (version) VALUES ($1)",
            &[version],
        )
        .map_err(err)?;
        txn.commit().map_err(err)?;
        applied.push(*version);
    }
    Ok(applied)
}
