//! `meta@1.0` (`spec/codecs.md` §11): the node describing itself.
//!
//! * `info` — the node options (never a private field), as `opts` carries them, with the node's
//!   `address`; `POST` with a request signed by the operator changes them ([`update`]);
//! * `build` — what this node is and which build;
//! * `devices` — the status of every device (hot reload).

pub mod update;

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
    /// `GET /~meta@1.0/info`: the node's public configuration and `address`; `POST`: an
    /// operator-signed change to it.
    pub fn info(
        &self,
        _base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        match req.get_str("method") {
            None | Some("GET") | Some("HEAD") => Ok(opts.node().without_private()),
            Some("POST") => update::apply(req, opts),
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

    mod update {
        use super::*;
        use ferrobeam_device_api::host::{operation, HostService};
        use ferrobeam_device_api::LogLevel;
        use std::sync::{Arc, Mutex};

        const OPERATOR: &str = "2CX623l73yjl6SnfcezbOC13kUL9nmrpDedfOBGiab4";
        const OTHER: &str = "Nh9LB8GbzxRU3DY2FJ4yf6MINld-9nADMlmZEjtq3Rs";

        /// Records `node/configure` calls.
        #[derive(Clone, Default)]
        struct ConfigHost(Arc<Mutex<Vec<Message>>>);

        impl HostService for ConfigHost {
            fn call(&self, op: &str, payload: &Message) -> Result<Value, DeviceError> {
                assert_eq!(op, operation::NODE_CONFIGURE);
                let mut calls = self.0.lock().unwrap();
                calls.push(payload.get_message("set").cloned().unwrap());
                Ok(Value::from(
                    Message::new().with("history-length", calls.len() as i64),
                ))
            }
            fn log(&self, _: LogLevel, _: &str) {}
        }

        fn signed_request(status: &str, committer: &str, components: &str) -> Message {
            let commitment = Message::new()
                .with("commitment-device", "httpsig@1.0")
                .with("alg", "rsa-pss-sha512")
                .with("committer", committer)
                .with("signature", "http-sig-1=:AAAA:")
                .with(
                    "signature-input",
                    format!("http-sig-1=({components});alg=\"rsa-pss-sha512\";keyid=\"k\""),
                );
            Message::new()
                .with("method", "POST")
                .with("path", "info")
                .with("test_config", 123)
                .with("host", "unsigned")
                .with("commitments", Message::new().with("id1", commitment))
                .with("priv", Message::new().with("signature-status", status))
        }

        fn device(host: ConfigHost) -> TestDevice<Meta> {
            TestDevice::<Meta>::with_host(host, Message::new())
                .unwrap()
                .with_opts(Message::new().with("address", OPERATOR))
        }

        #[test]
        fn the_operators_signed_fields_become_options() {
            let host = ConfigHost::default();
            let req = signed_request("verified", OPERATOR, r#""@path" "test_config""#);
            let out = device(host.clone())
                .call("info", &Message::new(), &req)
                .unwrap();
            let out = out.as_message().unwrap();
            assert_eq!(out.get("history-length"), Some(&Value::Integer(1)));
            let calls = host.0.lock().unwrap();
            assert_eq!(calls[0], Message::new().with("test_config", 123));
        }

        #[test]
        fn other_signers_unverified_and_unbound_requests_are_refused() {
            let cases = [
                (
                    signed_request("verified", OTHER, r#""@path" "test_config""#),
                    403,
                ),
                (
                    signed_request("unverified", OPERATOR, r#""@path" "test_config""#),
                    400,
                ),
                (
                    signed_request("verified", OPERATOR, r#""test_config""#),
                    400,
                ),
                (signed_request("verified", OPERATOR, r#""@path""#), 400),
            ];
            for (req, status) in cases {
                let host = ConfigHost::default();
                let e = device(host.clone())
                    .call("info", &Message::new(), &req)
                    .unwrap_err();
                assert_eq!(e.kind().status(), status, "{e}");
                assert!(host.0.lock().unwrap().is_empty(), "configured despite {e}");
            }
        }
    }
}
