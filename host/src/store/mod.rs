//! Where the node keeps messages: a trait, so backends can change without touching devices.
//!
//! This is the in-memory store the foundation starts with; the durable embedded store comes with
//! processes. Plugins reach it through the `store/read` and `store/write` host operations.

use ferrobeam_device_api::{wire, DeviceError, Message};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// A key-value store of bytes, with messages stored by ID.
pub trait Store: Send + Sync {
    /// The bytes at `key`.
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, DeviceError>;
    /// Sets `key` to `value`.
    fn write(&self, key: &str, value: &[u8]) -> Result<(), DeviceError>;

    /// The message stored under `id`.
    fn read_message(&self, id: &str) -> Result<Option<Message>, DeviceError> {
        match self.read(&message_key(id))? {
            None => Ok(None),
            Some(bytes) => wire::decode_message(&bytes)
                .map(Some)
                .map_err(|e| DeviceError::failure(format!("stored message {id} is corrupt: {e}"))),
        }
    }

    /// Stores `message` under `id`.
    fn write_message(&self, id: &str, message: &Message) -> Result<(), DeviceError> {
        self.write(&message_key(id), &wire::encode_message(message))
    }
}

fn message_key(id: &str) -> String {
    format!("messages/{id}")
}

/// A store that lives in memory and is gone when the node stops.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: RwLock<HashMap<String, Vec<u8>>>,
}

impl Store for MemoryStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, DeviceError> {
        Ok(self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }

    fn write(&self, key: &str, value: &[u8]) -> Result<(), DeviceError> {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), value.to_vec());
        Ok(())
    }
}
