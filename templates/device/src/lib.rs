//! `{{project-name}}@1.0`: a ferrobeam device.
//!
//! Build it with `cargo build --release`, copy `target/release/lib<crate>.so` into the node's
//! plugins folder (or run `ferrobeam build-device .`), and call `GET /~{{project-name}}@1.0/info`.

use ferrobeam_device_api::{
    device_methods, export_devices, Device, DeviceError, InitContext, Message, Opts,
};

/// The device. Keep state here; the node calls methods from many threads at once.
pub struct ThisDevice;

impl Device for ThisDevice {
    const NAME: &'static str = "{{project-name}}@1.0";

    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(ThisDevice)
    }
}

impl ThisDevice {
    /// `GET /~{{project-name}}@1.0/info`
    pub fn info(
        &self,
        _base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        Ok(Message::new().with("version", "1.0"))
    }
}

device_methods!(ThisDevice { info });
export_devices!(ThisDevice);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrobeam_device_api::testing::TestDevice;

    #[test]
    fn info_reports_the_version() {
        let dev = TestDevice::<ThisDevice>::new().unwrap();
        let info = dev.call("info", &Message::new(), &Message::new()).unwrap();
        assert_eq!(
            info.as_message().and_then(|m| m.get_str("version")),
            Some("1.0")
        );
    }
}
