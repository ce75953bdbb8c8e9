//! `meta@1.0` (`spec/codecs.md` §11): the node describing itself.
//!
//! * `info` — the node options (never a private field), as `opts` carries them;
//! * `build` — what this node is and which build;
//! * `devices` — the status of every device (hot reload).

use ferrobeam_device_api::{
    device_methods, export_devices, Device, DeviceError, InitContext, Message, Opts, Value,
};

/// The `meta@1.0` device.
#[derive(Debug)]
pub struct Meta;

impl Device for Meta {
    const NAME: &'static str = "meta@1.0";

    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Meta)
    }
}

impl Meta {
    /// `GET /~meta@1.0/info`: the node's public configuration.
    pub fn info(
        &self,
        _base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        match req.get_str("method") {
            None | Some("GET") | Some("HEAD") => Ok(opts.node().without_private()),
            Some("POST") => Err(DeviceError::new(
                ferrobeam_device_api::ErrorKind::Forbidden,
                "changing the node configuration needs a request signed by the operator wallet",
            )),
            Some(_) => Err(DeviceError::bad_request("Unsupported Meta/info method.")),
        }
    }

    /// `GET /~meta@1.0/devices`: every device the node knows — library, sha256, generation,
    /// load time, ABI version, last load error — and the count of retired generations.
    pub fn devices(
        &self,
        _base: &Message,
        _req: &Message,
        opts: &Opts,
    ) -> Result<Value, DeviceError> {
        opts.host().call(
            ferrobeam_device_api::host::operation::NODE_DEVICES,
            &Message::new(),
        )
    }

    /// `GET /~meta@1.0/build`.
    pub fn build(
        &self,
        _base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        Ok(Message::new()
            .with("node", "ferrobeam")
            .with("version", env!("CARGO_PKG_VERSION"))
            .with("device-api", ferrobeam_device_api::abi::CRATE_VERSION)
            .with(
                "abi-version",
                Value::Integer(i64::from(ferrobeam_device_api::abi::ABI_VERSION)),
            )
            .with("rustc", ferrobeam_device_api::abi::RUSTC_VERSION))
    }
}

device_methods!(Meta {
    info,
    build,
    devices
});
export_devices!(Meta);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrobeam_device_api::testing::TestDevice;

    #[test]
    fn info_never_returns_private_fields() {
        let dev = TestDevice::<Meta>::new().unwrap().with_opts(
            Message::new()
                .with("port", 8734)
                .with("priv_wallet", "secret"),
        );
        let info = dev.call("info", &Message::new(), &Message::new()).unwrap();
        let info = info.as_message().unwrap();
        assert_eq!(info.get("port"), Some(&Value::Integer(8734)));
        assert!(info.get("priv_wallet").is_none());
    }

    #[test]
    fn unsigned_post_to_info_is_refused() {
        let dev = TestDevice::<Meta>::new().unwrap();
        let e = dev
            .call(
                "info",
                &Message::new(),
                &Message::new().with("method", "POST"),
            )
            .unwrap_err();
        assert_eq!(e.kind().status(), 403);
    }
}
