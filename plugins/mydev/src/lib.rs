//! `mydev@1.0`: the device of the custom-devices guide (`spec/guides/custom-devices-and-codecs.txt`),
//! written as a ferrobeam plugin.
//!
//! | path | does |
//! | --- | --- |
//! | `GET /~mydev@1.0/info` | `{version: "1.0"}` |
//! | `GET /~mydev@1.0/info_json` | the same, as JSON text in the body |
//! | `POST /~mydev@1.0/hello` with `{"name":"Wao"}` | `{"hello":"Hello, Wao!"}` |
//! | `/~mydev@1.0/forward` | `{msg1, msg2, opts}` as JSON: what the device received |

use ferrobeam_device_api::{
    device_methods, export_devices, Device, DeviceError, InitContext, Message, Opts, Value,
};

/// The guide's device.
#[derive(Debug)]
pub struct MyDev;

impl Device for MyDev {
    const NAME: &'static str = "mydev@1.0";

    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(MyDev)
    }
}

/// A message as JSON text (json@1.0 `to`).
fn json(m: &Message) -> Result<Value, DeviceError> {
    ferrobeam_json::to(m)
        .map(Value::from)
        .map_err(|e| DeviceError::failure(format!("cannot encode JSON: {e}")))
}

impl MyDev {
    /// The device's version.
    pub fn info(
        &self,
        _base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        Ok(Message::new().with("version", "1.0"))
    }

    /// The version as JSON text.
    pub fn info_json(
        &self,
        _base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Value, DeviceError> {
        json(&Message::new().with("version", "1.0"))
    }

    /// Greets the `name` of the JSON body.
    pub fn hello(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Value, DeviceError> {
        let body = base.get("body").and_then(Value::as_bytes).ok_or_else(|| {
            DeviceError::bad_request("hello needs a JSON body such as {\"name\":\"Wao\"}")
        })?;
        let obj = ferrobeam_json::from(body)
            .map_err(|e| DeviceError::bad_request(format!("the body is not JSON: {e}")))?;
        let name = obj
            .get_str("name")
            .ok_or_else(|| DeviceError::bad_request("the JSON body has no text `name`"))?;
        json(&Message::new().with("hello", format!("Hello, {name}!")))
    }

    /// What the device received: base (msg1), request (msg2) and the node options without
    /// private fields, as JSON.
    pub fn forward(
        &self,
        base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Value, DeviceError> {
        json(
            &Message::new()
                .with("msg1", base.clone())
                .with("msg2", req.clone())
                .with("opts", opts.node().without_private()),
        )
    }
}

device_methods!(MyDev {
    info,
    info_json,
    hello,
    forward
});
export_devices!(MyDev);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrobeam_device_api::testing::TestDevice;

    fn dev() -> TestDevice<MyDev> {
        TestDevice::new().unwrap()
    }

    #[test]
    fn info_is_version_one() {
        let v = dev()
            .call("info", &Message::new(), &Message::new())
            .unwrap();
        assert_eq!(v.as_message().unwrap().get_str("version"), Some("1.0"));
    }

    #[test]
    fn info_json_is_the_json_of_info() {
        let v = dev()
            .call("info-json", &Message::new(), &Message::new())
            .unwrap();
        assert_eq!(v.as_str(), Some(r#"{"version":"1.0"}"#));
    }

    #[test]
    fn hello_greets_the_name() {
        let base = Message::new().with("body", r#"{"name":"Wao"}"#);
        let v = dev().call("hello", &base, &Message::new()).unwrap();
        assert_eq!(v.as_str(), Some(r#"{"hello":"Hello, Wao!"}"#));
        let e = dev()
            .call("hello", &Message::new(), &Message::new())
            .unwrap_err();
        assert_eq!(e.kind().status(), 400);
    }

    #[test]
    fn forward_hides_private_options() {
        let dev = dev().with_opts(Message::new().with("port", 1).with("priv_key", "secret"));
        let v = dev
            .call(
                "forward",
                &Message::new().with("k", "1"),
                &Message::new().with("path", "forward"),
            )
            .unwrap();
        let text = v.as_str().unwrap();
        assert!(text.contains("\"msg1\""), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
