//! What a device can ask of the node: [`Host`], and the per-call node options [`Opts`].
//!
//! A plugin owns no runtime, logger or store of its own (each `cdylib` would get a private copy
//! of their globals, `PLUGIN-PITFALLS.md`). It reaches the node through [`Host`], which the node
//! hands over at `init`: resolving another path or message, reading and writing the store,
//! signing (only for devices granted it in `devices.toml`) and logging.

use crate::abi::{CallStatus, HostCallbacks};
use crate::error::{DeviceError, ErrorKind};
use crate::message::{Message, Value};
use crate::wire;
use abi_stable::std_types::{RSlice, RStr};
use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::sync::Arc;

/// Names of the host operations of this ABI version.
pub mod operation {
    /// Resolve a request message (with a `path`) through the node: `{path, …}` → value.
    pub const RESOLVE: &str = "resolve";
    /// Read a store entry: `{key}` → binary, or a 404 error when absent.
    pub const STORE_READ: &str = "store/read";
    /// Write a store entry: `{key, value}` → `ok`.
    pub const STORE_WRITE: &str = "store/write";
    /// Sign bytes with the node wallet (capability `sign`): `{data}` → `{signature, keyid,
    /// committer}`. The signature is RSA-PSS-SHA512 with a 64-byte salt by the node's RSA-4096
    /// key (`spec/codecs.md` §6.1); `keyid` is base64url of its modulus and `committer` the
    /// node's address. The private key itself never leaves the node. Without the capability: a
    /// 403 error.
    pub const SIGN: &str = "sign";
    /// Check an RSA-PSS signature (no capability needed): `{key, digest, signature, hash}` →
    /// `true` or `false`. `key` is the modulus (big-endian, exponent 65537), `digest` the hash
    /// of the signed message, `hash` `sha256` or `sha512` (digest and MGF1); the salt length is
    /// read from the signature. A key under 2048 bits or a signature whose length is not the
    /// key's is a 400 error. Prefer [`RsaPss::verify`](crate::crypto::RsaPss::verify).
    pub const VERIFY_RSA_PSS: &str = "verify/rsa-pss";
    /// The node's public identity (no capability needed): `{}` → `{address, keyid}` (keyid =
    /// base64url of the wallet's modulus, address = base64url(sha256(modulus))). A 404 error when
    /// the node runs without a wallet.
    pub const NODE_IDENTITY: &str = "node/identity";
    /// Change the node options every device receives as `opts` (capability `configure`, which
    /// `meta@1.0` holds to serve operator-signed `POST /~meta@1.0/info`): `{set: {key: value,
    /// …}}` → `{history-length}`. Private keys (`priv…`) and the options `devices.toml` owns are
    /// refused with 400, and so is every change once the options hold `initialized:
    /// "permanent"`. The caller is responsible for having checked that the operator asked.
    pub const NODE_CONFIGURE: &str = "node/configure";
    /// The node's device status listing: `{}` → `{devices, library-errors, retired-generations,
    /// failed-loads}`.
    pub const NODE_DEVICES: &str = "node/devices";
    /// Apply writes atomically once checks hold, durably unless `durable` is `false`:
    /// `{checks: [{key, value?}], writes: [{key, value?}], durable?}` → `ok`; a failed check is
    /// a 409 error naming the key. A missing `value` means "absent" (check) or "delete" (write).
    pub const STORE_TRANSACT: &str = "store/transact";
    /// List entries by key prefix, in key order: `{prefix, after?, limit?}` → `[{key, value}]`.
    pub const STORE_LIST: &str = "store/list";
    /// Call one method of a device directly: `{device, key, base, req}` → the method's value.
    pub const CALL: &str = "call";
    /// Count an event of the calling device (no capability needed): `{name, labels?: {label:
    /// text, …}, by?}` → `ok`. The node serves it at `/metrics` as
    /// `ferrobeam_device_<name>_total{device="<caller>", <labels>}`. `name` and label names are
    /// lower-case letters, digits and `_` (starting with a letter, at most 64 long; `device` is
    /// the node's); at most 4 labels; `by` defaults to 1. Keep label values few: the node keeps
    /// at most 2000 series of events and folds the rest into one. A bad name is a 400 error.
    /// Prefer [`Host::count`](super::Host::count).
    pub const METRIC: &str = "metric";
    /// The calling thread starts (`{waiting: true}`) or stops (`{waiting: false}`) waiting on
    /// something other than the CPU → `ok`. Prefer [`Host::blocking`](super::Host::blocking).
    pub const BLOCKING: &str = "blocking";

    /// The `waiting` flag of a [`BLOCKING`] payload, as a host implementing it reads it.
    ///
    /// ```
    /// use ferrobeam_device_api::host::operation::blocking_waiting;
    /// use ferrobeam_device_api::Message;
    /// assert_eq!(blocking_waiting(&Message::new().with("waiting", true)).ok(), Some(true));
    /// assert_eq!(blocking_waiting(&Message::new()).unwrap_err().kind().status(), 400);
    /// ```
    pub fn blocking_waiting(payload: &crate::Message) -> Result<bool, crate::DeviceError> {
        payload
            .get("waiting")
            .and_then(crate::Value::as_bool)
            .ok_or_else(|| crate::DeviceError::bad_request("blocking needs a boolean `waiting`"))
    }
}

/// A [`Host::blocking`] section: entered when made, left when dropped (a panic in the wait
/// leaves it too).
struct BlockingSection<'a>(&'a Host);

impl<'a> BlockingSection<'a> {
    fn enter(host: &'a Host) -> Self {
        // Only a hint: a node without the operation answers an error, and the wait runs as is.
        let _ = host.call(operation::BLOCKING, &Message::new().with("waiting", true));
        BlockingSection(host)
    }
}

impl Drop for BlockingSection<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .call(operation::BLOCKING, &Message::new().with("waiting", false));
    }
}

/// Levels for [`Host::log`].
///
/// ```
/// use ferrobeam_device_api::LogLevel;
/// assert!(LogLevel::Error < LogLevel::Debug);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LogLevel {
    /// Something failed.
    Error = 1,
    /// Something looks wrong.
    Warn = 2,
    /// Worth knowing.
    Info = 3,
    /// For debugging a device.
    Debug = 4,
    /// Very detailed.
    Trace = 5,
}

impl LogLevel {
    /// The level for a number received over the boundary (out of range = `Trace`).
    ///
    /// ```
    /// # use ferrobeam_device_api::LogLevel;
    /// assert_eq!(LogLevel::from_u8(1), LogLevel::Error);
    /// ```
    pub fn from_u8(n: u8) -> Self {
        match n {
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            4 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// The node's side of the boundary, as a device sees it. Implemented over the FFI callbacks in a
/// loaded plugin, and by [`TestHost`](crate::testing::TestHost) in unit tests.
pub trait HostService: Send + Sync {
    /// Performs a named host operation (see [`operation`]).
    fn call(&self, operation: &str, payload: &Message) -> Result<Value, DeviceError>;
    /// Writes a log line.
    fn log(&self, level: LogLevel, text: &str);
}

/// A handle to the node, cheap to clone and usable from any thread.
///
/// ```
/// use ferrobeam_device_api::testing::TestHost;
/// use ferrobeam_device_api::Host;
/// let host = Host::new(TestHost::new());
/// host.store_write("greeting", b"hello").unwrap();
/// assert_eq!(host.store_read("greeting").unwrap(), Some(b"hello".to_vec()));
/// assert_eq!(host.store_read("absent").unwrap(), None);
/// ```
#[derive(Clone)]
pub struct Host {
    service: Arc<dyn HostService>,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Host")
    }
}

thread_local! {
    /// The host of the device call running on this thread ([`Host::current`]).
    static CURRENT: RefCell<Option<Host>> = const { RefCell::new(None) };
}

/// While alive, [`Host::current`] on this thread is the host it was made with; dropped, the
/// one before (calls nest: a device resolving a path may run another device of its library).
pub(crate) struct CurrentHost {
    previous: Option<Host>,
}

impl Drop for CurrentHost {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

impl Host {
    /// The host of the device call running on this thread: the node that called the device
    /// (or, in a unit test, the [`TestHost`](crate::testing::TestHost) of the
    /// [`TestDevice`](crate::testing::TestDevice)). `None` on a thread running no device call.
    /// Library code deep inside a device reaches the node this way without an `opts` to hand
    /// (how [`crypto`](crate::crypto) checks signatures).
    ///
    /// ```
    /// # use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};
    /// use ferrobeam_device_api::testing::TestDevice;
    /// use ferrobeam_device_api::Host;
    /// # struct Probe;
    /// # impl Device for Probe {
    /// #     const NAME: &'static str = "probe@1.0";
    /// #     fn init(_: InitContext) -> Result<Self, DeviceError> { Ok(Probe) }
    /// # }
    /// impl Probe {
    ///     fn inside(&self, _b: &Message, _r: &Message, _o: &Opts) -> Result<bool, DeviceError> {
    ///         Ok(Host::current().is_some())
    ///     }
    /// }
    /// # device_methods!(Probe { inside });
    /// let dev = TestDevice::<Probe>::new().unwrap();
    /// assert_eq!(dev.call("inside", &Message::new(), &Message::new()).unwrap().as_bool(), Some(true));
    /// assert!(Host::current().is_none(), "no device call runs here");
    /// ```
    pub fn current() -> Option<Host> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// Makes this the current host of this thread until the guard is dropped: the runtime does
    /// so around every device call.
    pub(crate) fn enter(&self) -> CurrentHost {
        let previous = CURRENT.with(|current| current.borrow_mut().replace(self.clone()));
        CurrentHost { previous }
    }

    /// A handle over any [`HostService`].
    pub fn new(service: impl HostService + 'static) -> Self {
        Host {
            service: Arc::new(service),
        }
    }

    /// A handle over the callbacks a node passed at `init`.
    pub fn from_callbacks(callbacks: HostCallbacks) -> Self {
        Host::new(FfiHost { callbacks })
    }

    /// Performs a named host operation. Prefer the typed methods below.
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host, Message};
    /// let host = Host::new(TestHost::new());
    /// let err = host.call("no/such/op", &Message::new()).unwrap_err();
    /// assert_eq!(err.kind().status(), 400);
    /// ```
    pub fn call(&self, operation: &str, payload: &Message) -> Result<Value, DeviceError> {
        self.service.call(operation, payload)
    }

    /// Resolves a request through the node, as if it had arrived over HTTP (without signing).
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host, Message, Value};
    /// let host = Host::new(TestHost::new().with_resolver(|req| {
    ///     Ok(Value::from(format!("resolved {}", req.get_str("path").unwrap_or(""))))
    /// }));
    /// let v = host.resolve(Message::new().with("path", "/~meta@1.0/info")).unwrap();
    /// assert_eq!(v.as_str(), Some("resolved /~meta@1.0/info"));
    /// ```
    pub fn resolve(&self, request: Message) -> Result<Value, DeviceError> {
        self.call(operation::RESOLVE, &request)
    }

    /// Resolves a path such as `/~meta@1.0/info/address`.
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host, Value};
    /// let host = Host::new(TestHost::new().with_resolver(|_| Ok(Value::from(1))));
    /// assert_eq!(host.resolve_path("/x").unwrap(), Value::Integer(1));
    /// ```
    pub fn resolve_path(&self, path: &str) -> Result<Value, DeviceError> {
        self.resolve(Message::new().with("path", path))
    }

    /// Reads a store entry; `None` when there is none.
    pub fn store_read(&self, key: &str) -> Result<Option<Vec<u8>>, DeviceError> {
        match self.call(operation::STORE_READ, &Message::new().with("key", key)) {
            Ok(Value::Binary(b)) => Ok(Some(b.into_vec())),
            Ok(other) => Err(DeviceError::failure(format!(
                "store/read returned a {} instead of bytes",
                other.type_name()
            ))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes a store entry.
    pub fn store_write(&self, key: &str, value: &[u8]) -> Result<(), DeviceError> {
        let payload = Message::new().with("key", key).with("value", value);
        self.call(operation::STORE_WRITE, &payload).map(|_| ())
    }

    /// Writes a log line at `level`.
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host, LogLevel};
    /// let test = TestHost::new();
    /// let host = Host::new(test.clone());
    /// host.log(LogLevel::Info, "started");
    /// assert_eq!(test.logs(), vec![(LogLevel::Info, "started".to_string())]);
    /// ```
    pub fn log(&self, level: LogLevel, text: &str) {
        self.service.log(level, text)
    }

    /// Logs at [`LogLevel::Info`].
    pub fn info(&self, text: &str) {
        self.log(LogLevel::Info, text)
    }

    /// Logs at [`LogLevel::Warn`].
    pub fn warn(&self, text: &str) {
        self.log(LogLevel::Warn, text)
    }

    /// Logs at [`LogLevel::Debug`].
    pub fn debug(&self, text: &str) {
        self.log(LogLevel::Debug, text)
    }

    /// Runs `wait`, telling the node that this call waits in it (for another thread, a lock,
    /// the disk) rather than computes. The node runs calls on about one thread per core; a call
    /// waiting in `blocking` does not count as one of them, so the node may start another call
    /// meanwhile and keep its cores busy. Wrap waits, not work: a computation wrapped here would
    /// only put more threads on the same cores. A node that does not offer the operation just
    /// runs `wait`.
    ///
    /// The scheduler waiting while another call commits its slot:
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host};
    /// let test = TestHost::new();
    /// let host = Host::new(test.clone());
    /// let (committed, wait_for_it) = std::sync::mpsc::channel();
    /// std::thread::spawn(move || committed.send(7u64).unwrap());
    /// let slot = host.blocking(|| wait_for_it.recv().unwrap());
    /// assert_eq!(slot, 7);
    /// assert_eq!(test.blocking_sections(), 1);
    /// ```
    pub fn blocking<T>(&self, wait: impl FnOnce() -> T) -> T {
        let _section = BlockingSection::enter(self);
        wait()
    }

    /// Counts one event of this device, served by the node at `/metrics` as
    /// `ferrobeam_device_<name>_total{device="<this device>", <labels>}` (see
    /// [`operation::METRIC`] for the rules on names). Counting never fails the caller's work:
    /// use the result only to notice a bad name while developing.
    ///
    /// A Lua device counting exhausted budgets:
    ///
    /// ```
    /// # use ferrobeam_device_api::{testing::TestHost, Host};
    /// let test = TestHost::new();
    /// let host = Host::new(test.clone());
    /// host.count("lua_budget_exhausted", &[("budget", "instructions")]).unwrap();
    /// host.count("lua_budget_exhausted", &[("budget", "instructions")]).unwrap();
    /// assert_eq!(test.counted("lua_budget_exhausted", &[("budget", "instructions")]), 2);
    /// // Upper case is refused (Prometheus names are lower case here).
    /// assert_eq!(host.count("Bad", &[]).unwrap_err().kind().status(), 400);
    /// ```
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> Result<(), DeviceError> {
        self.count_by(name, labels, 1)
    }

    /// [`Host::count`] adding `by` at once.
    pub fn count_by(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        by: u64,
    ) -> Result<(), DeviceError> {
        let labels: Message = labels.iter().map(|(k, v)| (*k, Value::from(*v))).collect();
        let payload = Message::new()
            .with("name", name)
            .with("labels", labels)
            .with("by", i64::try_from(by).unwrap_or(i64::MAX));
        self.call(operation::METRIC, &payload).map(|_| ())
    }
}

/// A key and, for a check, the bytes it must hold (`None`: absent) or, for a write, the bytes to
/// store (`None`: delete it). The entries of [`Host::store_transact`].
pub type StoreEntry = (String, Option<Vec<u8>>);

/// Typed forms of the store and call operations (`store/transact`, `store/list`, `call`).
impl Host {
    /// Applies `writes` atomically once every check in `checks` holds: a check `(key, Some(v))`
    /// needs `key` to hold exactly `v`, `(key, None)` needs it absent. A failed check writes
    /// nothing and is an [`ErrorKind::Conflict`] (409) naming the key. With `durable` the
    /// answer comes once the writes are on disk; without it (caches) they reach the disk with a
    /// later durable write and may be lost in a crash, never torn.
    ///
    /// Compare-and-swap on a counter:
    ///
    /// ```
    /// # use ferrobeam_device_api::host::{operation, HostService, LogLevel};
    /// # use ferrobeam_device_api::{DeviceError, ErrorKind, Host, Message, Value};
    /// # use std::sync::Mutex;
    /// # #[derive(Default)] struct OneKey(Mutex<Option<Vec<u8>>>);
    /// # impl HostService for OneKey {
    /// #     fn call(&self, op: &str, p: &Message) -> Result<Value, DeviceError> {
    /// #         assert_eq!(op, operation::STORE_TRANSACT);
    /// #         let mut cur = self.0.lock().unwrap();
    /// #         let entry = |l: &str| p.get(l).and_then(Value::as_list).and_then(|l| l.first())
    /// #             .and_then(Value::as_message).and_then(|m| m.get("value"))
    /// #             .and_then(Value::as_bytes).map(<[u8]>::to_vec);
    /// #         if entry("checks") != *cur { return Err(DeviceError::new(ErrorKind::Conflict, "n")); }
    /// #         *cur = entry("writes");
    /// #         Ok(Value::atom("ok"))
    /// #     }
    /// #     fn log(&self, _: LogLevel, _: &str) {}
    /// # }
    /// let host = Host::new(OneKey::default());
    /// let one = vec![("n".to_owned(), Some(b"1".to_vec()))];
    /// host.store_transact(&[("n".to_owned(), None)], &one, true).unwrap();
    /// // The same swap again finds `n` present: nothing is written.
    /// let err = host.store_transact(&[("n".to_owned(), None)], &one, true).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Conflict);
    /// ```
    pub fn store_transact(
        &self,
        checks: &[StoreEntry],
        writes: &[StoreEntry],
        durable: bool,
    ) -> Result<(), DeviceError> {
        let entries = |list: &[StoreEntry]| {
            Value::List(
                list.iter()
                    .map(|(key, value)| {
                        let mut m = Message::new().with("key", key.as_str());
                        if let Some(v) = value {
                            m.insert("value", v.as_slice());
                        }
                        Value::from(m)
                    })
                    .collect(),
            )
        };
        let payload = Message::new()
            .with("checks", entries(checks))
            .with("writes", entries(writes))
            .with("durable", durable);
        self.call(operation::STORE_TRANSACT, &payload).map(|_| ())
    }

    /// Up to `limit` entries (at most 1000 per call) whose keys start with `prefix` and sort
    /// after `after`, in key order: page through a prefix by passing the last key back.
    ///
    /// ```
    /// # use ferrobeam_device_api::host::{operation, HostService, LogLevel};
    /// # use ferrobeam_device_api::{DeviceError, Host, Message, Value};
    /// # struct Two;
    /// # impl HostService for Two {
    /// #     fn call(&self, op: &str, p: &Message) -> Result<Value, DeviceError> {
    /// #         assert_eq!(op, operation::STORE_LIST);
    /// #         let after = p.get_str("after").unwrap_or("");
    /// #         Ok(Value::List(["p/1", "p/2"].iter().filter(|k| **k > after)
    /// #             .map(|k| Value::from(Message::new().with("key", *k).with("value", "v"))).collect()))
    /// #     }
    /// #     fn log(&self, _: LogLevel, _: &str) {}
    /// # }
    /// let host = Host::new(Two);
    /// let page = host.store_list("p/", Some("p/1"), 10).unwrap();
    /// assert_eq!(page, vec![("p/2".to_owned(), b"v".to_vec())]);
    /// ```
    pub fn store_list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, DeviceError> {
        let mut payload = Message::new()
            .with("prefix", prefix)
            .with("limit", i64::try_from(limit.max(1)).unwrap_or(i64::MAX));
        if let Some(after) = after {
            payload.insert("after", after);
        }
        let malformed = || DeviceError::failure("store/list answered with a malformed entry");
        match self.call(operation::STORE_LIST, &payload)? {
            Value::List(items) => items
                .into_iter()
                .map(|item| {
                    let Value::Message(mut m) = item else {
                        return Err(malformed());
                    };
                    match (m.remove("key"), m.remove("value")) {
                        (Some(k), Some(Value::Binary(v))) => {
                            Ok((k.as_str().ok_or_else(malformed)?.to_owned(), v.into_vec()))
                        }
                        _ => Err(malformed()),
                    }
                })
                .collect(),
            other => Err(DeviceError::failure(format!(
                "store/list returned a {} instead of a list",
                other.type_name()
            ))),
        }
    }

    /// Calls method `key` of `device` directly with `base` and `req` (no path resolution; a key
    /// the device lacks falls back to `message@1.0`, as in resolution). This is how a device
    /// hands work to another, e.g. `process@1.0` to its execution device.
    ///
    /// ```
    /// # use ferrobeam_device_api::host::{operation, HostService, LogLevel};
    /// # use ferrobeam_device_api::{DeviceError, Host, Message, Value};
    /// # struct Echo;
    /// # impl HostService for Echo {
    /// #     fn call(&self, op: &str, p: &Message) -> Result<Value, DeviceError> {
    /// #         assert_eq!(op, operation::CALL);
    /// #         Ok(Value::from(format!("{}/{}", p.get_str("device").unwrap(), p.get_str("key").unwrap())))
    /// #     }
    /// #     fn log(&self, _: LogLevel, _: &str) {}
    /// # }
    /// let host = Host::new(Echo);
    /// let v = host.call_device("test-device@1.0", "compute", &Message::new(), &Message::new()).unwrap();
    /// assert_eq!(v.as_str(), Some("test-device@1.0/compute"));
    /// ```
    pub fn call_device(
        &self,
        device: &str,
        key: &str,
        base: &Message,
        req: &Message,
    ) -> Result<Value, DeviceError> {
        let payload = Message::new()
            .with("device", device)
            .with("key", key)
            .with("base", base.clone())
            .with("req", req.clone());
        self.call(operation::CALL, &payload)
    }
}

/// [`HostService`] over the node's FFI callbacks.
struct FfiHost {
    callbacks: HostCallbacks,
}

impl HostService for FfiHost {
    fn call(&self, operation: &str, payload: &Message) -> Result<Value, DeviceError> {
        let bytes = wire::encode_message(payload);
        let result = (self.callbacks.call)(
            self.callbacks.ctx,
            RStr::from_str(operation),
            RSlice::from_slice(&bytes),
        );
        let decoded = wire::decode_value(&result.payload);
        match (result.status, decoded) {
            (CallStatus::Ok, Ok(v)) => Ok(v),
            (CallStatus::Error, Ok(Value::Message(m))) => Err(DeviceError::from_message(&m)),
            (CallStatus::Unhandled, _) => Err(DeviceError::bad_request(format!(
                "the node does not offer the host operation `{operation}`"
            ))),
            (_, Ok(_)) => Err(DeviceError::failure(
                "the node answered a host operation with a malformed error",
            )),
            (_, Err(e)) => Err(DeviceError::failure(format!(
                "the node's answer to `{operation}` could not be decoded: {e}"
            ))),
        }
    }

    fn log(&self, level: LogLevel, text: &str) {
        (self.callbacks.log)(self.callbacks.ctx, level as u8, RStr::from_str(text))
    }
}

/// The third argument of every method: the node's options and the [`Host`].
///
/// The options are the node configuration without private fields, decoded only if the method
/// reads them. `Opts` derefs to that [`Message`].
///
/// ```
/// use ferrobeam_device_api::{testing::TestHost, Host, Message, Opts};
/// let opts = Opts::from_message(Message::new().with("port", 8734), Host::new(TestHost::new()));
/// assert_eq!(opts.get("port").and_then(|v| v.as_integer()), Some(8734));
/// ```
pub struct Opts<'a> {
    raw: &'a [u8],
    node: OnceCell<Message>,
    host: Host,
}

impl fmt::Debug for Opts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opts").field("node", self.node()).finish()
    }
}

impl<'a> Opts<'a> {
    /// Options read lazily from a wire frame (how the node passes them).
    pub fn from_wire(raw: &'a [u8], host: Host) -> Self {
        Opts {
            raw,
            node: OnceCell::new(),
            host,
        }
    }

    /// Options from a message (for tests and hosts written in Rust).
    pub fn from_message(node: Message, host: Host) -> Opts<'static> {
        let cell = OnceCell::new();
        let _ = cell.set(node);
        Opts {
            raw: &[],
            node: cell,
            host,
        }
    }

    /// The node options. A frame that does not decode reads as no options.
    pub fn node(&self) -> &Message {
        self.node
            .get_or_init(|| wire::decode_message(self.raw).unwrap_or_default())
    }

    /// The node.
    pub fn host(&self) -> &Host {
        &self.host
    }
}

impl std::ops::Deref for Opts<'_> {
    type Target = Message;
    fn deref(&self) -> &Message {
        self.node()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestHost;

    /// Calls nest: leaving the inner one gives the outer its host back, and leaving the outer
    /// leaves none.
    #[test]
    fn the_current_host_is_the_innermost_calls() {
        let outer = Host::new(TestHost::new());
        let inner = Host::new(TestHost::new());
        let same = |a: &Option<Host>, b: &Host| {
            a.as_ref()
                .is_some_and(|a| Arc::ptr_eq(&a.service, &b.service))
        };
        {
            let _outer = outer.enter();
            {
                let _inner = inner.enter();
                assert!(same(&Host::current(), &inner));
            }
            assert!(same(&Host::current(), &outer));
        }
        assert!(Host::current().is_none());
    }
}
