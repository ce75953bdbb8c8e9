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
use std::cell::OnceCell;
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
    /// Sign bytes with the node wallet (capability `sign`): `{data}` → `{signature, keyid}`.
    pub const SIGN: &str = "sign";
    /// The node's device status listing: `{}` → `{devices, library-errors, retired-generations,
    /// failed-loads}`.
    pub const NODE_DEVICES: &str = "node/devices";
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

impl Host {
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
            Ok(Value::Binary(b)) => Ok(Some(b)),
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
