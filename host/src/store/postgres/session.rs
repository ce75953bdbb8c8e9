//! One connection to PostgreSQL with the store's statements prepared on it, so each store
//! operation costs one round trip per statement (no parse round trip each time).

use super::classify;
use crate::store::{Entry, StoreError};
use postgres::{Client, Config, NoTls, Statement};

const READ: &str = "SELECT value FROM ferrobeam_entries WHERE key = $1";
const READ_MANY: &str = "SELECT key, value FROM ferrobeam_entries WHERE key = ANY($1)";
const UPSERT: &str = "INSERT INTO ferrobeam_entries (key, value) \
     SELECT * FROM unnest($1::text[], $2::bytea[]) \
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
const DELETE: &str = "DELETE FROM ferrobeam_entries WHERE key = ANY($1)";
/// Entries from `$1` (included) below `$2`, in key order.
const LIST_FROM: &str = "SELECT key, value FROM ferrobeam_entries \
     WHERE key >= $1 AND key < $2 ORDER BY key LIMIT $3";
/// Entries after `$1` (excluded) below `$2`.
const LIST_AFTER: &str = "SELECT key, value FROM ferrobeam_entries \
     WHERE key > $1 AND key < $2 ORDER BY key LIMIT $3";
/// Entries from `$1` with no upper bound (a prefix with no successor).
const LIST_FROM_OPEN: &str = "SELECT key, value FROM ferrobeam_entries \
     WHERE key >= $1 ORDER BY key LIMIT $2";
const LIST_AFTER_OPEN: &str = "SELECT key, value FROM ferrobeam_entries \
     WHERE key > $1 ORDER BY key LIMIT $2";

struct Statements {
    read: Statement,
    read_many: Statement,
    upsert: Statement,
    delete: Statement,
    list_from: Statement,
    list_after: Statement,
    list_from_open: Statement,
    list_after_open: Statement,
}

/// A connection and its prepared statements.
pub struct Session {
    client: Client,
    stmts: Statements,
}

/// Where a transaction failed: before anything was sent that could commit it, or at the
/// commit itself (its outcome is then unknown).
#[derive(Debug)]
pub struct TxnFailure {
    /// The error.
    pub error: postgres::Error,
    /// Whether `COMMIT` had been sent.
    pub at_commit: bool,
}

impl From<postgres::Error> for TxnFailure {
    fn from(error: postgres::Error) -> Self {
        TxnFailure {
            error,
            at_commit: false,
        }
    }
}

/// What a transaction's checks found.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// All held; the writes are committed.
    Committed,
    /// This key held something else; nothing was written.
    Conflict(String),
}

impl Session {
    /// Connects and prepares the statements (the schema must exist: see `migrations`).
    pub fn open(config: &Config) -> Result<Session, StoreError> {
        let mut client = config.connect(NoTls).map_err(|e| classify(&e))?;
        let stmts = Statements::prepare(&mut client).map_err(|e| classify(&e))?;
        Ok(Session { client, stmts })
    }

    /// Connects without preparing (to run the migrations that create what the statements
    /// name).
    pub fn raw(config: &Config) -> Result<Client, StoreError> {
        config.connect(NoTls).map_err(|e| classify(&e))
    }

    /// Whether the server closed the connection.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The value at `key`.
    pub fn read(&mut self, key: &str) -> Result<Option<Vec<u8>>, postgres::Error> {
        Ok(self
            .client
            .query_opt(&self.stmts.read, &[&key])?
            .map(|row| row.get(0)))
    }

    /// Up to `limit` entries with keys in `[start, end)` (or after `start` when `exclusive`).
    pub fn list(
        &mut self,
        start: &str,
        exclusive: bool,
        end: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>, postgres::Error> {
        let rows = match (end, exclusive) {
            (Some(end), false) => self
                .client
                .query(&self.stmts.list_from, &[&start, &end, &limit])?,
            (Some(end), true) => self
                .client
                .query(&self.stmts.list_after, &[&start, &end, &limit])?,
            (None, false) => self
                .client
                .query(&self.stmts.list_from_open, &[&start, &limit])?,
            (None, true) => self
                .client
                .query(&self.stmts.list_after_open, &[&start, &limit])?,
        };
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Runs one store transaction: checks, then writes, atomically. Transactions with checks
    /// run `SERIALIZABLE`, so two that race on one key cannot both pass their checks (one gets
    /// a serialization failure, which the caller retries). A non-durable one commits without
    /// waiting for the WAL flush (`synchronous_commit = off`).
    pub fn transact(
        &mut self,
        checks: &[Entry],
        writes: &[Entry],
        durable: bool,
    ) -> Result<Checked, TxnFailure> {
        let begin = match (checks.is_empty(), durable) {
            (true, true) => "BEGIN ISOLATION LEVEL READ COMMITTED",
            (true, false) => {
                "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off"
            }
            (false, true) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            (false, false) => {
                "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL synchronous_commit = off"
            }
        };
        self.client.batch_execute(begin)?;
        match self.apply(checks, writes) {
            Ok(Checked::Committed) => {}
            Ok(conflict) => {
                self.client.batch_execute("ROLLBACK")?;
                return Ok(conflict);
            }
            Err(e) => {
                // The server refuses everything but ROLLBACK now; a broken connection is
                // dropped by the caller.
                let _ = self.client.batch_execute("ROLLBACK");
                return Err(e.into());
            }
        }
        self.client
            .batch_execute("COMMIT")
            .map_err(|error| TxnFailure {
                error,
                at_commit: true,
            })?;
        Ok(Checked::Committed)
    }

    fn apply(&mut self, checks: &[Entry], writes: &[Entry]) -> Result<Checked, postgres::Error> {
        if !checks.is_empty() {
            let keys: Vec<&str> = checks.iter().map(|(k, _)| k.as_str()).collect();
            let rows = self.client.query(&self.stmts.read_many, &[&keys])?;
            let current: std::collections::HashMap<String, Vec<u8>> =
                rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
            for (key, expected) in checks {
                if current.get(key) != expected.as_ref() {
                    return Ok(Checked::Conflict(key.clone()));
                }
            }
        }
        // The last write of a key wins (one statement may not touch a row twice), and rows are
        // written in key order, so two transactions over the same keys cannot deadlock.
        let mut last: std::collections::BTreeMap<&str, Option<&[u8]>> =
            std::collections::BTreeMap::new();
        for (key, value) in writes {
            last.insert(key.as_str(), value.as_deref());
        }
        let mut put_keys = Vec::new();
        let mut put_values = Vec::new();
        let mut deletes = Vec::new();
        for (key, value) in last {
            match value {
                Some(v) => {
                    put_keys.push(key);
                    put_values.push(v);
                }
                None => deletes.push(key),
            }
        }
        if !put_keys.is_empty() {
            self.client
                .execute(&self.stmts.upsert, &[&put_keys, &put_values])?;
        }
        if !deletes.is_empty() {
            self.client.execute(&self.stmts.delete, &[&deletes])?;
        }
        Ok(Checked::Committed)
    }
}

impl Statements {
    fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
        Ok(Statements {
            read: client.prepare(READ)?,
            read_many: client.prepare(READ_MANY)?,
            upsert: client.prepare(UPSERT)?,
            delete: client.prepare(DELETE)?,
            list_from: client.prepare(LIST_FROM)?,
            list_after: client.prepare(LIST_AFTER)?,
            list_from_open: client.prepare(LIST_FROM_OPEN)?,
            list_after_open: client.prepare(LIST_AFTER_OPEN)?,
        })
    }
}
