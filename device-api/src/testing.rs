//! Test support: call a device in-process, in a unit test, without starting a node.
//!
//! [`TestDevice`] initialises a device as the node would and calls its methods through the same
//! path a loaded plugin takes: arguments and results go through the [`wire`](crate::wire)
//! encoding, `-` in keys finds `_` methods, panics become 500 errors, and the test host is
//! [`Host::current`] meanwhile. [`TestHost`] stands in for the node: an in-memory store, an
//! optional resolver, a record of log lines, and signature checks by the process's verifier
//! ([`crypto::set_process_verifier`](crate::crypto::set_process_verifier)).
//!
//! ```
//! use ferrobeam_device_api::testing::{TestDevice, TestHost};
//! use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};
//!
//! struct Counter;
//! impl Device for Counter {
//!     const NAME: &'static str = "counter@1.0";
//!     fn init(_: InitContext) -> Result<Self, DeviceError> { Ok(Counter) }
//! }
//! impl Counter {
//!     fn bump(&self, _b: &Message, _r: &Message, opts: &Opts) -> Result<i64, DeviceError> {
//!         let host = opts.host();
//!         let n = host.store_read("n")?.map(|b| b[0] as i64).unwrap_or(0) + 1;
//!         host.store_write("n", &[n as u8])?;
//!         Ok(n)
//!     }
//! }
//! device_methods!(Counter { bump });
//!
//! let dev = TestDevice::<Counter>::new().unwrap();
//! dev.call("bump", &Message::new(), &Message::new()).unwrap();
//! let n = dev.call("bump", &Message::new(), &Message::new()).unwrap();
//! assert_eq!(n.as_integer(), Some(2));
//! ```

use crate::device::{Device, InitContext, Outcome};
use crate::error::{DeviceError, ErrorKind};
use crate::host::{operation, Host, HostService, LogLevel, Opts};
use crate::message::{Message, Value};
use crate::runtime::{dispatch, panic_error, ErasedDevice};
use crate::wire;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

type Resolver = dyn Fn(&Message) -> Outcome + Send + Sync;

#[derive(Default)]
struct TestHostState {
    store: Mutex<HashMap<String, Vec<u8>>>,
    logs: Mutex<Vec<(LogLevel, String)>>,
    counts: Mutex<HashMap<String, u64>>,
    blocking_sections: Mutex<u64>,
    resolver: Option<Box<Resolver>>,
}

/// An in-process stand-in for the node. Clones share state.
#[derive(Clone, Default)]
pub struct TestHost {
    state: Arc<TestHostState>,
}

impl fmt::Debug for TestHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TestHost")
    }
}

impl TestHost {
    /// A host with an empty store, no resolver (resolving is a 404) and no log lines.
    pub fn new() -> Self {
        TestHost::default()
    }

    /// Answers `resolve` with `resolver`.
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host, Message, Value};
    /// let host = Host::new(TestHost::new().with_resolver(|_| Ok(Value::from("x"))));
    /// assert!(host.resolve(Message::new()).is_ok());
    /// ```
    pub fn with_resolver(
        self,
        resolver: impl Fn(&Message) -> Outcome + Send + Sync + 'static,
    ) -> Self {
        let store = lock(&self.state.store).clone();
        TestHost {
            state: Arc::new(TestHostState {
                store: Mutex::new(store),
                logs: Mutex::new(Vec::new()),
                counts: Mutex::new(HashMap::new()),
                blocking_sections: Mutex::new(0),
                resolver: Some(Box::new(resolver)),
            }),
        }
    }

    /// The log lines written so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        lock(&self.state.logs).clone()
    }

    /// How many [`Host::blocking`](crate::Host::blocking) sections the device entered.
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host};
    /// let test = TestHost::new();
    /// Host::new(test.clone()).blocking(|| ());
    /// assert_eq!(test.blocking_sections(), 1);
    /// ```
    pub fn blocking_sections(&self) -> u64 {
        *lock(&self.state.blocking_sections)
    }

    /// The store's entry at `key`.
    pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.state.store).get(key).cloned()
    }

    /// What the device counted ([`Host::count`](crate::Host::count)) as event `name` with
    /// exactly `labels` (in any order).
    pub fn counted(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        lock(&self.state.counts)
            .get(&count_key(name, labels.iter().map(|(k, v)| (*k, *v))))
            .copied()
            .unwrap_or(0)
    }
}

/// `name{k=v,…}` with the labels sorted.
fn count_key<'a>(name: &str, labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut labels: Vec<String> = labels.map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    format!("{name}{{{}}}", labels.join(","))
}

/// Whether a metric or label name is `[a-z][a-z0-9_]*`, at most 64 long (as the node checks).
fn metric_name_ok(s: &str) -> bool {
    s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn text_arg<'a>(payload: &'a Message, key: &str, op: &str) -> Result<&'a str, DeviceError> {
    payload
        .get_str(key)
        .ok_or_else(|| DeviceError::bad_request(format!("{op} needs a text `{key}`")))
}

impl HostService for TestHost {
    fn call(&self, op: &str, payload: &Message) -> Result<Value, DeviceError> {
        match op {
            operation::RESOLVE => match &self.state.resolver {
                Some(r) => r(payload),
                None => Err(DeviceError::not_found("TestHost has no resolver")),
            },
            operation::STORE_READ => {
                let key = text_arg(payload, "key", op)?;
                lock(&self.state.store)
                    .get(key)
                    .map(|b| Value::binary(b.as_slice()))
                    .ok_or_else(|| DeviceError::not_found(format!("no store entry {key}")))
            }
            operation::STORE_WRITE => {
                let key = text_arg(payload, "key", op)?.to_owned();
                let value = payload
                    .get("value")
                    .and_then(Value::as_bytes)
                    .ok_or_else(|| DeviceError::bad_request("store/write needs bytes `value`"))?
                    .to_vec();
                lock(&self.state.store).insert(key, value);
                Ok(Value::atom("ok"))
            }
            // Answered by the process's verifier (`crypto::set_process_verifier`): a unit
            // test checking real signatures installs one.
            operation::VERIFY_RSA_PSS => crate::crypto::RsaPss::from_payload(payload)?
                .verify_in_process()
                .map(Value::from),
            operation::BLOCKING => {
                if operation::blocking_waiting(payload)? {
                    *lock(&self.state.blocking_sections) += 1;
                }
                Ok(Value::atom("ok"))
            }
            operation::METRIC => {
                let name = text_arg(payload, "name", op)?;
                let empty = Message::new();
                let labels = payload.get_message("labels").unwrap_or(&empty);
                let pairs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
                    .collect();
                if !metric_name_ok(name)
                    || pairs.len() > 4
                    || pairs
                        .iter()
                        .any(|(k, _)| !metric_name_ok(k) || *k == "device")
                {
                    return Err(DeviceError::bad_request(format!(
                        "metric: bad name or labels for `{name}`"
                    )));
                }
                let by = payload.get("by").and_then(Value::as_integer).unwrap_or(1);
                *lock(&self.state.counts)
                    .entry(count_key(name, pairs.into_iter()))
                    .or_insert(0) += u64::try_from(by).unwrap_or(0);
                Ok(Value::atom("ok"))
            }
            other => Err(DeviceError::new(
                ErrorKind::BadRequest,
                format!("the node does not offer the host operation `{other}`"),
            )),
        }
    }

    fn log(&self, level: LogLevel, text: &str) {
        lock(&self.state.logs).push((level, text.to_owned()));
    }
}

/// A device initialised in-process, called as the node would call it.
pub struct TestDevice<D: Device> {
    device: D,
    host: Host,
    opts: Message,
}

impl<D: Device> fmt::Debug for TestDevice<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDevice")
            .field("device", &D::NAME)
            .finish()
    }
}

impl<D: Device> TestDevice<D> {
    /// Initialises `D` with no configuration and a fresh [`TestHost`].
    pub fn new() -> Result<Self, DeviceError> {
        Self::with_host(TestHost::new(), Message::new())
    }

    /// Initialises `D` with `config` (its `devices.toml` options) and `host`.
    pub fn with_host(
        host: impl HostService + 'static,
        config: Message,
    ) -> Result<Self, DeviceError> {
        let host = Host::new(host);
        let ctx = InitContext {
            host: host.clone(),
            config,
        };
        let _current = host.enter();
        let device = catch_unwind(AssertUnwindSafe(|| D::init(ctx)))
            .unwrap_or_else(|p| Err(panic_error("init", p.as_ref())))?;
        Ok(TestDevice {
            device,
            host,
            opts: Message::new(),
        })
    }

    /// Sets the node options the device sees as `opts`.
    pub fn with_opts(mut self, opts: Message) -> Self {
        self.opts = opts;
        self
    }

    /// Calls `key` with `base` and `req` exactly as the node does: through the wire encoding,
    /// with panics caught. A key the device does not handle is a 404 error here (the node would
    /// fall back to `message@1.0`).
    pub fn call(&self, key: &str, base: &Message, req: &Message) -> Outcome {
        let device: &dyn ErasedDevice = &self.device;
        if !device.takes(key) {
            // As the library's entry point answers: no such key, nothing decoded.
            return Err(DeviceError::not_found(format!(
                "{} has no key `{key}`",
                D::NAME
            )));
        }
        let mut base = wire::decode_message(&wire::encode_message(base))
            .map_err(|e| DeviceError::failure(e.to_string()))?;
        let req = wire::decode_message(&wire::encode_message(req))
            .map_err(|e| DeviceError::failure(e.to_string()))?;
        let opts = Opts::from_message(self.opts.clone(), self.host.clone());
        let _current = self.host.enter();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            dispatch(device, key, &mut base, &req, &opts)
        }))
        .unwrap_or_else(|p| Some(Err(panic_error(key, p.as_ref()))));
        let value = outcome
            .ok_or_else(|| DeviceError::not_found(format!("{} has no key `{key}`", D::NAME)))??;
        // Results cross the boundary too: prove the value survives the encoding.
        wire::decode_value(&wire::encode_value(&value))
            .map_err(|e| DeviceError::failure(e.to_string()))
    }

    /// The device itself, for direct calls and inspection.
    pub fn device(&self) -> &D {
        &self.device
    }
}
