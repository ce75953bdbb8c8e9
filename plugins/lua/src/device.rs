//! The two devices: `lua@5.3a` (any key calls the Lua global of that name) and `aos@2.0`
//! (`lua@5.3a` with the AOS runtime loaded first; its `compute` runs the AOS handlers).

use crate::call;
use crate::runtime::{Flavor, Runtime};
use ferrobeam_device_api::device::Outcome;
use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Value,
};

/// Keys a base's own data shadows only if they are not methods (`§5.2`: the `default` handler
/// excludes these and the base's keys).
const EXCLUDED: &[&str] = &[
    "keys",
    "set",
    "encode",
    "decode",
    "id",
    "commitments",
    "path",
];

fn default_key(
    rt: &Runtime,
    flavor: Flavor,
    key: &str,
    base: &Message,
    req: &Message,
) -> Option<Outcome> {
    if EXCLUDED.contains(&key) || base.contains_key(key) {
        return None;
    }
    Some(call::call_key(rt, flavor, key, base, req))
}

/// `lua@5.3a`.
#[derive(Debug)]
pub struct Lua53a {
    rt: Runtime,
}

impl Device for Lua53a {
    const NAME: &'static str = "lua@5.3a";
    fn init(ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Lua53a {
            rt: Runtime::new(ctx.host, &ctx.config),
        })
    }
    fn handle(&self, key: &str, base: &Message, req: &Message, _opts: &Opts) -> Option<Outcome> {
        default_key(&self.rt, Flavor::Plain, key, base, req)
    }
}

impl Lua53a {
    /// `info`.
    pub fn info(&self, _b: &Message, _r: &Message, _o: &Opts) -> Result<Message, DeviceError> {
        Ok(info("lua@5.3a", &self.rt))
    }
    /// `init`: the state as it is (the VM is built at slot 0).
    pub fn init(&self, base: &Message, _r: &Message, _o: &Opts) -> Result<Message, DeviceError> {
        Ok(base.clone())
    }
    /// `snapshot`: the process VM's data.
    pub fn snapshot(
        &self,
        base: &Message,
        _r: &Message,
        _o: &Opts,
    ) -> Result<Message, DeviceError> {
        call::take_snapshot(&self.rt, base)
    }
    /// `normalize`: the VM rebuilt from a stored state's snapshot.
    pub fn normalize(
        &self,
        base: &Message,
        _r: &Message,
        _o: &Opts,
    ) -> Result<Message, DeviceError> {
        call::normalize(&self.rt, Flavor::Plain, base)
    }
    /// `functions`: the global functions the modules define.
    pub fn functions(&self, base: &Message, _r: &Message, _o: &Opts) -> Result<Value, DeviceError> {
        call::functions(&self.rt, Flavor::Plain, base)
    }
}

device_methods!(Lua53a {
    info,
    init,
    snapshot,
    normalize,
    functions
});

/// `aos@2.0`.
#[derive(Debug)]
pub struct Aos {
    rt: Runtime,
}

impl Device for Aos {
    const NAME: &'static str = "aos@2.0";
    fn init(ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Aos {
            rt: Runtime::new(ctx.host, &ctx.config),
        })
    }
    fn handle(&self, key: &str, base: &Message, req: &Message, _opts: &Opts) -> Option<Outcome> {
        default_key(&self.rt, Flavor::Aos, key, base, req)
    }
}

impl Aos {
    /// `info`.
    pub fn info(&self, _b: &Message, _r: &Message, _o: &Opts) -> Result<Message, DeviceError> {
        Ok(info("aos@2.0", &self.rt))
    }
    /// `init`: the state as it is (the VM is built at slot 0).
    pub fn init(&self, base: &Message, _r: &Message, _o: &Opts) -> Result<Message, DeviceError> {
        Ok(base.clone())
    }
    /// `compute`: one slot through the AOS handlers.
    pub fn compute(
        &self,
        base: &Message,
        req: &Message,
        _o: &Opts,
    ) -> Result<Message, DeviceError> {
        crate::aos::compute(&self.rt, base, req)
    }
    /// `snapshot`: the process VM's data.
    pub fn snapshot(
        &self,
        base: &Message,
        _r: &Message,
        _o: &Opts,
    ) -> Result<Message, DeviceError> {
        call::take_snapshot(&self.rt, base)
    }
    /// `normalize`: the VM rebuilt from a stored state's snapshot.
    pub fn normalize(
        &self,
        base: &Message,
        _r: &Message,
        _o: &Opts,
    ) -> Result<Message, DeviceError> {
        call::normalize(&self.rt, Flavor::Aos, base)
    }
    /// `functions`: the global functions of the runtime and the modules.
    pub fn functions(&self, base: &Message, _r: &Message, _o: &Opts) -> Result<Value, DeviceError> {
        call::functions(&self.rt, Flavor::Aos, base)
    }
}

device_methods!(Aos {
    info,
    init,
    compute,
    snapshot,
    normalize,
    functions
});

fn info(name: &str, rt: &Runtime) -> Message {
    Message::new()
        .with("device", name)
        .with("instruction-budget", rt.defaults.instructions as i64)
        .with("memory-limit", rt.defaults.memory as i64)
}
