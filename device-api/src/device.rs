//! Writing a device: the [`Device`] trait and the macros that expose it.
//!
//! A device is a plain Rust type. Its methods have HyperBEAM's shape `method(base, req, opts)`:
//! `base` is the message the path resolved so far (HyperBEAM's `Msg1`), `req` the request step
//! (`Msg2`), `opts` the node options and the [`Host`](crate::Host). A method returns anything
//! that converts into a [`Value`] — a [`Message`], text, bytes, a number — or a
//! [`DeviceError`].
//!
//! ```
//! use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};
//!
//! pub struct MyDev;
//!
//! impl Device for MyDev {
//!     const NAME: &'static str = "mydev@1.0";
//!     fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
//!         Ok(MyDev)
//!     }
//! }
//!
//! impl MyDev {
//!     fn info(&self, _base: &Message, _req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
//!         Ok(Message::new().with("version", "1.0"))
//!     }
//! }
//!
//! device_methods!(MyDev { info });
//! // In the plugin crate (a `cdylib`), once: ferrobeam_device_api::export_devices!(MyDev);
//!
//! let dev = ferrobeam_device_api::testing::TestDevice::<MyDev>::new().unwrap();
//! let out = dev.call("info", &Message::new(), &Message::new()).unwrap();
//! assert_eq!(out.as_message().unwrap().get_str("version"), Some("1.0"));
//! ```

use crate::error::DeviceError;
use crate::host::{Host, Opts};
use crate::message::{Message, Value};

/// What a method call produces.
pub type Outcome = Result<Value, DeviceError>;

/// What a device receives when the node loads it.
#[derive(Debug, Clone)]
pub struct InitContext {
    /// The node.
    pub host: Host,
    /// The device's options from `devices.toml` (`[devices."name@1.0".options]`).
    pub config: Message,
}

/// A device: a named type whose methods the node calls.
///
/// Implement [`Device`] and list the methods with [`device_methods!`](crate::device_methods).
/// A key that is not a method goes to [`Device::handle`]; if that returns `None`, the node
/// falls back to `message@1.0` (a plain key lookup on `base`), as HyperBEAM does.
pub trait Device: Methods + Send + Sync + Sized + 'static {
    /// `name@version`, e.g. `mydev@1.0`: the name in paths such as `/~mydev@1.0/info`.
    const NAME: &'static str;

    /// Creates the device. Called once each time the node loads the library.
    fn init(ctx: InitContext) -> Result<Self, DeviceError>;

    /// The keys [`Device::handle`] takes besides the listed methods, when it takes only these:
    /// the node then answers every other key from `message@1.0` without decoding the call's
    /// messages for this device first. `None` (the default): `handle` is asked about every key.
    ///
    /// ```
    /// use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};
    /// use ferrobeam_device_api::device::Outcome;
    ///
    /// pub struct Counter;
    ///
    /// impl Device for Counter {
    ///     const NAME: &'static str = "counter@1.0";
    ///     // `handle` answers `reset` and nothing else.
    ///     const HANDLES: Option<&'static [&'static str]> = Some(&["reset"]);
    ///     fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
    ///         Ok(Counter)
    ///     }
    ///     fn handle(&self, key: &str, _b: &Message, _r: &Message, _o: &Opts) -> Option<Outcome> {
    ///         (key == "reset").then(|| Ok(0.into()))
    ///     }
    /// }
    /// device_methods!(Counter {});
    ///
    /// let dev = ferrobeam_device_api::testing::TestDevice::<Counter>::new().unwrap();
    /// assert!(dev.call("reset", &Message::new(), &Message::new()).is_ok());
    /// // Any other key: no such key here, so the node asks `message@1.0`.
    /// assert!(dev.call("count", &Message::new(), &Message::new()).is_err());
    /// ```
    const HANDLES: Option<&'static [&'static str]> = None;

    /// Handles a key that is not one of the listed methods (HyperBEAM's `default` handler).
    /// `None` lets the node fall back to `message@1.0`.
    fn handle(&self, key: &str, base: &Message, req: &Message, opts: &Opts) -> Option<Outcome> {
        let _ = (key, base, req, opts);
        None
    }
}

/// The method table of a device, written by [`device_methods!`](crate::device_methods).
pub trait Methods {
    /// Method names, as they appear in paths (`-` in a path key matches `_` in a name).
    const METHODS: &'static [&'static str];

    /// Runs method `key`, or [`Device::handle`] for other keys. `None`: no such key.
    fn dispatch(&self, key: &str, base: &Message, req: &Message, opts: &Opts) -> Option<Outcome>;
}

/// Conversion of a method's return value into an [`Outcome`].
///
/// ```
/// use ferrobeam_device_api::device::IntoOutcome;
/// use ferrobeam_device_api::{DeviceError, Value};
/// let ok: Result<&str, DeviceError> = Ok("text");
/// assert_eq!(ok.into_outcome().unwrap(), Value::from("text"));
/// ```
pub trait IntoOutcome {
    /// Converts.
    fn into_outcome(self) -> Outcome;
}

impl<T: Into<Value>> IntoOutcome for Result<T, DeviceError> {
    fn into_outcome(self) -> Outcome {
        self.map(Into::into)
    }
}

/// Lists a device's methods: `device_methods!(MyDev { info, info_json, hello })`.
///
/// Each name is a method `fn(&self, &Message, &Message, &Opts) -> Result<T, DeviceError>` with
/// `T: Into<Value>`. This writes the [`Methods`] table only; it exports nothing, so a crate that
/// uses it can still be linked as an ordinary Rust library by other plugins.
#[macro_export]
macro_rules! device_methods {
    ($device:ty { $($method:ident),* $(,)? }) => {
        impl $crate::device::Methods for $device {
            const METHODS: &'static [&'static str] = &[$(stringify!($method)),*];

            fn dispatch(
                &self,
                key: &str,
                base: &$crate::Message,
                req: &$crate::Message,
                opts: &$crate::Opts,
            ) -> ::core::option::Option<$crate::device::Outcome> {
                match key {
                    $(stringify!($method) => ::core::option::Option::Some(
                        $crate::device::IntoOutcome::into_outcome(<$device>::$method(self, base, req, opts)),
                    ),)*
                    _ => <$device as $crate::Device>::handle(self, key, base, req, opts),
                }
            }
        }
    };
}

/// Exports devices from a plugin library: `export_devices!(MyDev, OtherDev)`.
///
/// Use it exactly once, in the crate built as the `cdylib` the node loads. It writes the
/// device header and the four entry points (`info`, `init`, `call`, `shutdown`), each of which
/// catches panics and returns them as errors.
#[macro_export]
macro_rules! export_devices {
    ($($device:ty),+ $(,)?) => {
        const _: () = {
            use $crate::__private::abi_stable as __abi;

            struct __Library;

            static __INSTANCES: $crate::runtime::Instances = $crate::runtime::Instances::new();

            static __NAMES: &[$crate::abi::RawStr] = &[
                $($crate::abi::RawStr::from_static(<$device as $crate::Device>::NAME)),+
            ];

            static __HEADER: $crate::abi::DeviceHeader = $crate::abi::DeviceHeader::new(__NAMES);

            impl $crate::runtime::Library for __Library {
                fn instances() -> &'static $crate::runtime::Instances {
                    &__INSTANCES
                }
                fn devices() -> ::std::vec::Vec<$crate::runtime::DeviceEntry> {
                    ::std::vec![$($crate::runtime::DeviceEntry::of::<$device>()),+]
                }
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn ferrobeam_device_header() -> *const $crate::abi::DeviceHeader {
                &__HEADER
            }

            extern "C" fn __root_module() -> __abi::library::RootModuleResult {
                __abi::library::__call_root_module_loader($crate::runtime::module::<__Library>)
            }

            #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
            pub static __LIB_HEADER: __abi::library::LibHeader = unsafe {
                __abi::library::LibHeader::from_constructor::<$crate::abi::DeviceModuleRef>(
                    __root_module,
                    __abi::library::CheckTypeLayout::Yes,
                )
            };
        };
    };
}
