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
//!
//! A method that returns its base changed may take it by value, `base: Message`: each call's
//! base is the method's own (the node decodes it afresh for the call), so it is changed where
//! it is rather than copied ([`FromBase`]).

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
    ///
    /// `base` is the call's own: a method that takes its base by value takes it from here
    /// ([`FromBase`]), leaving an empty message. Only a method that runs does: when `None` is
    /// returned, `base` is as it was.
    fn dispatch(
        &self,
        key: &str,
        base: &mut Message,
        req: &Message,
        opts: &Opts,
    ) -> Option<Outcome>;
}

/// How a method takes its `base`: `&Message` borrows it, `Message` takes it.
///
/// [`device_methods!`](crate::device_methods) passes each method the base in the form its
/// signature asks for. Each call's base is the method's own (the node decodes it afresh from
/// the call's wire frame), so taking it costs nothing, and a method that returns it changed
/// (a codec converting a message, `set` adding keys) changes it where it is instead of copying
/// it first.
///
/// ```
/// use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};
///
/// pub struct Stamp;
///
/// impl Device for Stamp {
///     const NAME: &'static str = "stamp@1.0";
///     fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
///         Ok(Stamp)
///     }
/// }
///
/// impl Stamp {
///     /// The base with `stamped` added: taken, changed, returned.
///     fn stamp(&self, mut base: Message, _req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
///         base.insert("stamped", "yes");
///         Ok(base)
///     }
///     /// How many keys the base has: borrowed is enough.
///     fn count(&self, base: &Message, _req: &Message, _opts: &Opts) -> Result<i64, DeviceError> {
///         Ok(base.len() as i64)
///     }
/// }
///
/// device_methods!(Stamp { stamp, count });
///
/// let dev = ferrobeam_device_api::testing::TestDevice::<Stamp>::new().unwrap();
/// let base = Message::new().with("a", 1);
/// let out = dev.call("stamp", &base, &Message::new()).unwrap();
/// assert_eq!(out.as_message().unwrap().get_str("stamped"), Some("yes"));
/// assert_eq!(dev.call("count", &base, &Message::new()).unwrap().as_integer(), Some(1));
/// ```
pub trait FromBase<'a>: Sized {
    /// The base in this form; a form that owns it takes it, leaving an empty message.
    ///
    /// ```
    /// use ferrobeam_device_api::device::FromBase;
    /// use ferrobeam_device_api::Message;
    /// let mut base = Message::new().with("a", 1);
    /// let borrowed: &Message = FromBase::from_base(&mut base);
    /// assert_eq!(borrowed.len(), 1);
    /// let owned: Message = FromBase::from_base(&mut base);
    /// assert_eq!(owned.len(), 1);
    /// assert!(base.is_empty());
    /// ```
    fn from_base(base: &'a mut Message) -> Self;
}

impl<'a> FromBase<'a> for &'a Message {
    #[inline]
    fn from_base(base: &'a mut Message) -> Self {
        base
    }
}

impl FromBase<'_> for Message {
    #[inline]
    fn from_base(base: &mut Message) -> Self {
        std::mem::take(base)
    }
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
/// `T: Into<Value>`; its base may be taken by value instead, `Message` for `&Message`
/// ([`FromBase`]). This writes the [`Methods`] table only; it exports nothing, so a crate that
/// uses it can still be linked as an ordinary Rust library by other plugins.
#[macro_export]
macro_rules! device_methods {
    ($device:ty { $($method:ident),* $(,)? }) => {
        impl $crate::device::Methods for $device {
            const METHODS: &'static [&'static str] = &[$(stringify!($method)),*];

            fn dispatch(
                &self,
                key: &str,
                base: &mut $crate::Message,
                req: &$crate::Message,
                opts: &$crate::Opts,
            ) -> ::core::option::Option<$crate::device::Outcome> {
                match key {
                    $(stringify!($method) => ::core::option::Option::Some(
                        $crate::device::IntoOutcome::into_outcome(<$device>::$method(
                            self,
                            $crate::device::FromBase::from_base(base),
                            req,
                            opts,
                        )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDevice;

    /// Takes its base for `take_it`, borrows it for `look`, and answers `any-key` (which no
    /// method is named) through `handle`, reporting how many keys its base had each time.
    struct Taker;

    impl Device for Taker {
        const NAME: &'static str = "taker@1.0";
        fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
            Ok(Taker)
        }
        fn handle(&self, key: &str, base: &Message, _r: &Message, _o: &Opts) -> Option<Outcome> {
            (key == "any-key").then(|| Ok((base.len() as i64).into()))
        }
    }

    impl Taker {
        fn take_it(
            &self,
            mut base: Message,
            _r: &Message,
            _o: &Opts,
        ) -> Result<Message, DeviceError> {
            base.insert("taken", true);
            Ok(base)
        }
        fn look(&self, base: &Message, _r: &Message, _o: &Opts) -> Result<i64, DeviceError> {
            Ok(base.len() as i64)
        }
    }

    device_methods!(Taker { take_it, look });

    /// A method taking its base gets it whole, by its path name with `-` too; a key tried
    /// first as `any_key` (no method) and then as `any-key` reaches `handle` with the base whole.
    #[test]
    fn a_base_is_taken_only_by_the_method_that_runs() {
        let dev = TestDevice::<Taker>::new().unwrap_or_else(|e| panic!("{e}"));
        let base = Message::new().with("a", 1).with("b", 2);
        let req = Message::new();
        for key in ["take_it", "take-it"] {
            let out = dev
                .call(key, &base, &req)
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            let out = out.as_message().cloned().unwrap_or_default();
            assert_eq!(out.len(), 3, "{key}");
            assert_eq!(out.get("a"), Some(&Value::Integer(1)), "{key}");
        }
        assert_eq!(dev.call("look", &base, &req).ok(), Some(Value::Integer(2)));
        assert_eq!(
            dev.call("any-key", &base, &req).ok(),
            Some(Value::Integer(2))
        );
    }
}
