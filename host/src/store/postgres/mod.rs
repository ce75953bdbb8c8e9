//! A store on a PostgreSQL server, which several nodes can share (`docs/store.md`,
//! `docs/operations.md`, "Several nodes on one PostgreSQL").
//!
//! One table of keys and bytes (`ferrobeam_entries`), created and upgraded by the node
//! ([`migrations`]). A transaction with checks runs `SERIALIZABLE`: whichever of two racing
//! compare-and-swaps commits first wins, the other reports a conflict — across every node on
//! the database, which is what keeps one writer per schedule head. Connections come from a
//! small bounded [`pool`]; when the server is unreachable, operations fail with
//! [`StoreError::Unavailable`] (HTTP 503) and the pool reconnects once it is back.

mod migrations;
mod pool;
mod session;

pub use migrations::{latest as schema_version, MIGRATIONS};

use super::{prefix_end, Store, StoreError, Transaction};
use pool::Pool;
use postgres::error::SqlState;
use postgres::Config;
use session::{Checked, Session};
use std::time::Duration;

/// Connections one node opens at most.
pub const POOL_SIZE: usize = 16;
/// How long a connection attempt may take before the store reports the server unavailable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a transaction that lost a serialization race is retried before giving up.
const SERIALIZATION_RETRIES: u32 = 16;

/// A [`Store`] in a PostgreSQL database.
#[derive(Debug)]
pub struct PgStore {
    pool: Pool,
    /// Where it is, for messages (never the password).
    location: String,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or libpq's `key=value` form),
    /// creating or upgrading the schema. Fails if the server cannot be reached.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let mut config: Config = url.parse().map_err(|e| {
            StoreError::Backend(format!("the PostgreSQL store URL is invalid: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("ferrobeam");
        }
        let location = location(&config);
        // The client runs its own small runtime, which cannot start on a thread already inside
        // the node's: open on a thread of our own.
        let migrate_config = config.clone();
        let applied = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let mut client = Session::raw(&migrate_config)?;
                    migrations::migrate(&mut client)
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(StoreError::Backend(
                        "migrating the PostgreSQL schema panicked".to_owned(),
                    ))
                })
        })
        .map_err(|e| e.context(&location))?;
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, "migrated the PostgreSQL store at {location}");
        }
        Ok(PgStore {
            pool: Pool::new(config, POOL_SIZE, CONNECT_TIMEOUT),
            location,
        })
    }

    /// Runs `op` (a read) on a pooled session; a connection the server closed meanwhile (it
    /// restarted) is replaced and `op` tried once more.
    fn with_session<T>(
        &self,
        mut op: impl FnMut(&mut Session) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let mut conn = self.pool.get().map_err(|e| e.context(&self.location))?;
            let outcome = op(conn.session()?);
            let e = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let closed = is_connection_lost(&e, &mut conn);
            if !closed {
                return Err(classify(&e).context(&self.location));
            }
            conn.discard();
            self.pool.purge_idle();
            if attempt > 0 {
                return Err(classify(&e).context(&self.location));
            }
        }
        Err(StoreError::Unavailable(format!(
            "{}: the connection kept closing",
            self.location
        )))
    }
}

/// `host:port/db` of a configuration.
fn location(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("PostgreSQL at {host}:{port}/{db}")
}

/// A driver error as a store error: the server being unreachable, restarting or out of
/// connections is [`StoreError::Unavailable`] (retry later); anything else is a failure.
pub(crate) fn classify(e: &postgres::Error) -> StoreError {
    let unavailable = match e.code() {
        None => true, // no answer from a server: refused, closed, timed out
        Some(code) => {
            let c = code.code();
            c.starts_with("08") // connection exception
                || c.starts_with("53") // insufficient resources (too many connections…)
                || c.starts_with("57P") // admin shutdown, crash shutdown, cannot connect now
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
        }
    };
    let why = match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    };
    if unavailable {
        StoreError::Unavailable(why)
    } else {
        StoreError::Backend(why)
    }
}

/// Whether `e` means the connection itself is gone (the server closed it, shut down or
/// restarted, or never answered) rather than the server refusing a statement: an error without
/// an SQL state, or a connection exception (08…) or operator intervention (57P…). Such a
/// connection is never reused.
fn is_connection_lost(e: &postgres::Error, conn: &mut pool::Conn<'_>) -> bool {
    let by_code = e.code().is_none_or(|c| {
        let c = c.code();
        c.starts_with("08") || c.starts_with("57P")
    });
    e.is_closed() || by_code || conn.session().map_or(true, |s| s.is_closed())
}

fn retryable(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// PostgreSQL text cannot hold NUL.
fn check_key(key: &str) -> Result<(), StoreError> {
    if key.contains('\0') {
        return Err(StoreError::BadKey(
            "a store key cannot contain a NUL character".to_owned(),
        ));
    }
    Ok(())
}

impl Store for PgStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.with_session(|s| s.read(key))
    }

    fn transact(&self, txn: Transaction) -> Result<(), StoreError> {
        for (key, _) in txn.checks.iter().chain(&txn.writes) {
            check_key(key)?;
        }
        let mut stale_retried = false;
        let mut attempt = 0;
        loop {
            let mut conn = self.pool.get().map_err(|e| e.context(&self.location))?;
            let failure = match conn
                .session()?
                .transact(&txn.checks, &txn.writes, txn.durable)
            {
                Ok(Checked::Committed) => return Ok(()),
                Ok(Checked::Conflict(key)) => return Err(StoreError::Conflict { key }),
                Err(f) => f,
            };
            if retryable(&failure.error) && attempt < SERIALIZATION_RETRIES {
                attempt += 1;
                drop(conn);
                std::thread::sleep(Duration::from_micros(200 * u64::from(attempt)));
                continue;
            }
            let closed = is_connection_lost(&failure.error, &mut conn);
            if closed {
                conn.discard();
                self.pool.purge_idle();
                // A connection found dead before COMMIT was sent: nothing happened, retry once
                // on a fresh one.
                if !failure.at_commit && !stale_retried {
                    stale_retried = true;
                    continue;
                }
            }
            let mut e = classify(&failure.error).context(&self.location);
            if failure.at_commit && closed {
                e = StoreError::Unavailable(format!(
                    "{}: the connection was lost while committing, so whether the write happened is unknown; retry it",
                    self.location
                ));
            }
            return Err(e);
        }
    }

    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        check_key(prefix)?;
        if let Some(a) = after {
            check_key(a)?;
        }
        let (start, exclusive) = match after {
            Some(a) if a >= prefix => (a, true),
            _ => (prefix, false),
        };
        let end = prefix_end(prefix);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_session(|s| s.list(start, exclusive, end.as_deref(), limit))
    }
}

impl StoreError {
    /// The same error with where it happened in front of its reason.
    fn context(self, location: &str) -> StoreError {
        match self {
            StoreError::Unavailable(why) => StoreError::Unavailable(format!("{location}: {why}")),
            StoreError::Backend(why) => StoreError::Backend(format!("{location}: {why}")),
            other => other,
        }
    }
}
