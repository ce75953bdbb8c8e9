//! Where the node keeps messages, schedules and computed state: a trait, so backends can change
//! without touching devices (`../shared/design/ARCHITECTURE.md`, State).
//!
//! The default backend is [`redb`](embedded::EmbeddedStore): one file under the data folder,
//! created on first start, no set-up. Plugins reach the store through host operations
//! (`store/read`, `store/write`, `store/transact`, `store/list`); a write the node acknowledges
//! is on disk first, with concurrent writes sharing one sync ([`embedded`], group commit).
//!
//! Key layout (documented for device authors in `docs/store.md`): `messages/<id>` holds a
//! message in the boundary's wire encoding; the devices own the rest of the namespace.

mod embedded;
mod memory;
pub mod postgres;

pub use embedded::EmbeddedStore;
pub use memory::MemoryStore;
pub use postgres::PgStore;

use ferrobeam_device_api::{wire, DeviceError, ErrorKind, Message, Value};
use std::fmt;

/// A store failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A transaction's check failed: `key` did not hold the expected value.
    Conflict {
        /// The key whose value differed.
        key: String,
    },
    /// The backend failed (disk, corruption…).
    Backend(String),
    /// The backend cannot be reached now (a database server down or restarting); the same
    /// operation may succeed later. Answered with 503.
    Unavailable(String),
    /// The key cannot be stored by this backend (e.g. a NUL character for PostgreSQL).
    BadKey(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict { key } => {
                write!(f, "store conflict on {key}: it changed meanwhile")
            }
            StoreError::Backend(why) => write!(f, "store failure: {why}"),
            StoreError::Unavailable(why) => {
                write!(f, "the store is unavailable, retry shortly: {why}")
            }
            StoreError::BadKey(why) => write!(f, "bad store key: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for DeviceError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Conflict { key } => DeviceError::new(ErrorKind::Conflict, e.to_string())
                .with_detail("conflict", key.as_str()),
            StoreError::Backend(_) => DeviceError::failure(e.to_string()),
            StoreError::Unavailable(_) => DeviceError::new(ErrorKind::Unavailable, e.to_string()),
            StoreError::BadKey(_) => DeviceError::bad_request(e.to_string()),
        }
    }
}

/// A key and its bytes, or its absence.
pub type Entry = (String, Option<Vec<u8>>);

/// Writes applied all together or not at all, after every check holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    /// `(key, expected)`: the key must hold exactly `expected` (`None`: be absent).
    pub checks: Vec<Entry>,
    /// `(key, value)`: set the key (`None`: delete it).
    pub writes: Vec<Entry>,
    /// Whether the transaction must be on disk before it is acknowledged. Caches (computed
    /// state) may skip the sync; they are written with the next durable commit.
    pub durable: bool,
}

/// A key-value store of bytes.
pub trait Store: Send + Sync {
    /// The bytes at `key`.
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Applies `txn` atomically; `Conflict` if a check fails (nothing is written then).
    fn transact(&self, txn: Transaction) -> Result<(), StoreError>;

    /// Up to `limit` entries whose keys start with `prefix` and sort after `after` (if given),
    /// in key order.
    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Sets `key` to `value`, durably.
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.transact(Transaction {
            checks: Vec::new(),
            writes: vec![(key.to_owned(), Some(value.to_vec()))],
            durable: true,
        })
    }

    /// The message stored under `id`.
    fn read_message(&self, id: &str) -> Result<Option<Message>, DeviceError> {
        match self.read(&message_key(id))? {
            None => Ok(None),
            Some(bytes) => wire::decode_message(&bytes)
                .map(Some)
                .map_err(|e| DeviceError::failure(format!("stored message {id} is corrupt: {e}"))),
        }
    }

    /// Stores `message` under `id`, durably.
    fn write_message(&self, id: &str, message: &Message) -> Result<(), DeviceError> {
        Ok(self.write(&message_key(id), &wire::encode_message(message))?)
    }

    /// Puts every write acknowledged so far on disk, those made without a sync (caches)
    /// included; the node calls it when it stops. Backends without such writes need nothing.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The store's size in bytes, when the backend knows it (`ferrobeam_store_size_bytes`).
    fn size_bytes(&self) -> Option<u64> {
        None
    }
}

/// Where the node keeps its store: `[node] store` or `--store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded redb file under the data folder (the default).
    Embedded,
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl StoreLocation {
    /// Reads a `store` setting: unset or `embedded` is the embedded store; a `postgres://` or
    /// `postgresql://` URL is a PostgreSQL database.
    pub fn parse(setting: Option<&str>) -> Result<StoreLocation, String> {
        match setting.map(str::trim) {
            None | Some("") | Some("embedded") => Ok(StoreLocation::Embedded),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_owned()))
            }
            Some(other) => Err(format!(
                "store `{}` is neither `embedded` nor a postgres:// URL",
                other.split('@').next_back().unwrap_or(other)
            )),
        }
    }

    /// Opens the store: the embedded one at `embedded_path`, or the PostgreSQL database.
    pub fn open(&self, embedded_path: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            StoreLocation::Embedded => Box::new(EmbeddedStore::open(embedded_path)?),
            StoreLocation::Postgres(url) => Box::new(PgStore::open(url)?),
        })
    }
}

/// A `store/transact` payload as a [`Transaction`].
pub fn transaction(payload: &Message) -> Result<Transaction, DeviceError> {
    let pairs = |name: &str| -> Result<Vec<Entry>, DeviceError> {
        let Some(list) = payload.get(name) else {
            return Ok(Vec::new());
        };
        let list = list.as_list().ok_or_else(|| {
            DeviceError::bad_request(format!("store/transact: `{name}` must be a list"))
        })?;
        list.iter()
            .map(|entry| {
                let m = entry.as_message().ok_or_else(|| {
                    DeviceError::bad_request(format!(
                        "store/transact: each of `{name}` is {{key, value?}}"
                    ))
                })?;
                let key = m.get_str("key").ok_or_else(|| {
                    DeviceError::bad_request(format!(
                        "store/transact: a `{name}` entry has no text key"
                    ))
                })?;
                let value = match m.get("value") {
                    None => None,
                    Some(v) => Some(
                        v.as_bytes()
                            .ok_or_else(|| {
                                DeviceError::bad_request("store/transact: values are bytes")
                            })?
                            .to_vec(),
                    ),
                };
                Ok((key.to_owned(), value))
            })
            .collect()
    };
    Ok(Transaction {
        checks: pairs("checks")?,
        writes: pairs("writes")?,
        durable: payload
            .get("durable")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// Most entries one `store/list` returns.
pub const MAX_LIST: usize = 1000;

/// The arguments of `store/list`.
pub fn list_args(payload: &Message) -> Result<(&str, Option<&str>, usize), DeviceError> {
    let prefix = payload
        .get_str("prefix")
        .ok_or_else(|| DeviceError::bad_request("store/list needs a text `prefix`"))?;
    let limit = match payload.get("limit") {
        None => MAX_LIST,
        Some(Value::Integer(n)) if *n > 0 => (*n as usize).min(MAX_LIST),
        Some(_) => {
            return Err(DeviceError::bad_request(
                "store/list: `limit` is a positive integer",
            ))
        }
    };
    Ok((prefix, payload.get_str("after"), limit))
}

/// Listed entries as `[{key, value}]`.
pub fn entries(entries: Vec<(String, Vec<u8>)>) -> Value {
    Value::List(
        entries
            .into_iter()
            .map(|(k, v)| Value::from(Message::new().with("key", k).with("value", v)))
            .collect(),
    )
}

/// The key of the message with ID `id`.
pub fn message_key(id: &str) -> String {
    format!("messages/{id}")
}

/// The first key after every key starting with `prefix` (for range scans); `None` when there
/// is none (all bytes 0xff).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

/// What every backend must do, shared by each backend's tests (and, through `#[path]`, by the
/// PostgreSQL tests in `tests/it/pg_store.rs`, which need a real server).
#[cfg(test)]
pub(crate) mod contract;
