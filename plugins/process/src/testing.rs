//! A stand-in node for this crate's unit tests: an in-memory store with the node's
//! `store/transact` and `store/list` semantics, and `call` routed to a closure.
#![allow(clippy::unwrap_used)]

use ferrobeam_device_api::host::{operation, HostService, LogLevel};
use ferrobeam_device_api::{DeviceError, ErrorKind, Message, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

type CallHandler =
    dyn Fn(&str, &str, &Message, &Message) -> Result<Value, DeviceError> + Send + Sync;

#[derive(Default)]
struct Inner {
    store: Mutex<BTreeMap<String, Vec<u8>>>,
    transactions: AtomicUsize,
    failures: Mutex<Vec<ErrorKind>>,
    calls: Mutex<Option<Arc<CallHandler>>>,
}

/// An in-memory node. Clones share state.
#[derive(Clone, Default)]
pub struct MemHost {
    inner: Arc<Inner>,
}

impl MemHost {
    pub fn new() -> Self {
        MemHost::default()
    }

    /// Answers `call` with `handler(device, key, base, req)`.
    pub fn on_call(
        &self,
        handler: impl Fn(&str, &str, &Message, &Message) -> Result<Value, DeviceError>
            + Send
            + Sync
            + 'static,
    ) {
        *self.inner.calls.lock().unwrap() = Some(Arc::new(handler));
    }

    pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
        self.inner.store.lock().unwrap().get(key).cloned()
    }

    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.inner
            .store
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn remove(&self, key: &str) {
        self.inner.store.lock().unwrap().remove(key);
    }

    /// Committed transactions so far.
    pub fn transactions(&self) -> usize {
        self.inner.transactions.load(Ordering::SeqCst)
    }

    /// Makes the next `n` transactions fail with `kind` (writing nothing).
    pub fn fail_next_transactions(&self, n: usize, kind: ErrorKind) {
        let mut f = self.inner.failures.lock().unwrap();
        f.extend(std::iter::repeat_n(kind, n));
    }
}

fn pairs(payload: &Message, name: &str) -> Vec<(String, Option<Vec<u8>>)> {
    payload
        .get(name)
        .and_then(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_message)
        .map(|m| {
            (
                m.get_str("key").unwrap().to_owned(),
                m.get("value").and_then(Value::as_bytes).map(<[u8]>::to_vec),
            )
        })
        .collect()
}

impl HostService for MemHost {
    fn call(&self, op: &str, payload: &Message) -> Result<Value, DeviceError> {
        let key = || payload.get_str("key").unwrap_or_default().to_owned();
        match op {
            operation::STORE_READ => self
                .stored(&key())
                .map(Value::binary)
                .ok_or_else(|| DeviceError::not_found("absent")),
            operation::STORE_WRITE => {
                let value = payload
                    .get("value")
                    .and_then(Value::as_bytes)
                    .unwrap()
                    .to_vec();
                self.inner.store.lock().unwrap().insert(key(), value);
                Ok(Value::atom("ok"))
            }
            operation::STORE_TRANSACT => {
                if let Some(kind) = {
                    let mut f = self.inner.failures.lock().unwrap();
                    (!f.is_empty()).then(|| f.remove(0))
                } {
                    return Err(DeviceError::new(kind, "injected failure"));
                }
                let mut store = self.inner.store.lock().unwrap();
                for (k, expected) in pairs(payload, "checks") {
                    if store.get(&k) != expected.as_ref() {
                        return Err(DeviceError::new(
                            ErrorKind::Conflict,
                            format!("conflict on {k}"),
                        ));
                    }
                }
                for (k, v) in pairs(payload, "writes") {
                    match v {
                        Some(v) => store.insert(k, v),
                        None => store.remove(&k),
                    };
                }
                self.inner.transactions.fetch_add(1, Ordering::SeqCst);
                Ok(Value::atom("ok"))
            }
            operation::STORE_LIST => {
                let prefix = payload.get_str("prefix").unwrap().to_owned();
                let after = payload.get_str("after").map(str::to_owned);
                let limit = payload
                    .get("limit")
                    .and_then(Value::as_integer)
                    .unwrap_or(1000) as usize;
                let store = self.inner.store.lock().unwrap();
                Ok(Value::List(
                    store
                        .range(prefix.clone()..)
                        .take_while(|(k, _)| k.starts_with(&prefix))
                        .filter(|(k, _)| after.as_ref().is_none_or(|a| k.as_str() > a.as_str()))
                        .take(limit.min(1000))
                        .map(|(k, v)| {
                            Value::from(
                                Message::new()
                                    .with("key", k.as_str())
                                    .with("value", v.clone()),
                            )
                        })
                        .collect(),
                ))
            }
            operation::CALL => {
                let handler = self.inner.calls.lock().unwrap().clone();
                let handler =
                    handler.ok_or_else(|| DeviceError::not_found("MemHost: no call handler"))?;
                let empty = Message::new();
                handler(
                    payload.get_str("device").unwrap_or_default(),
                    payload.get_str("key").unwrap_or_default(),
                    payload.get_message("base").unwrap_or(&empty),
                    payload.get_message("req").unwrap_or(&empty),
                )
            }
            other => Err(DeviceError::bad_request(format!(
                "MemHost: no operation {other}"
            ))),
        }
    }

    fn log(&self, _level: LogLevel, _text: &str) {}
}
