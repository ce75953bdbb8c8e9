//! `message@1.0` (`spec/codecs.md` §9.4): the device of every message that names none.
//!
//! | key | does |
//! | --- | --- |
//! | any other key | reads that key of the base — exactly, else ignoring case; private keys (`priv…`) are never returned |
//! | `get` | the key named by the request's `key` |
//! | `keys` | the non-private keys, in order |
//! | `set` | deep-merges the request's keys (`unset` deletes, `set-mode: explicit` is shallow) |
//! | `set_path` | sets `path` to the request's `value` |
//! | `remove` | removes the request's `item` or `items` |
//! | `id` | the ID under the request's `committers` / `commitments` (`§7.1`) |
//! | `commitments` | the `commitments` message |
//! | `committers` | the addresses of the signers |
//! | `committed` | the keys the signatures cover (`§6.7`) |
//! | `verify` | whether every signature of the target (`target`: `self`, the default, or a key) verifies |
//! | `commit` | the base signed by the node wallet (needs the `sign` capability in `devices.toml`) |
//!
//! The commitment keys use the `httpsig@1.0` library (linked, not exported) — HyperBEAM's default
//! commitment device.

mod commitments;
mod set;

use ferrobeam_device_api::{
    device_methods, export_devices, Device, DeviceError, InitContext, Message, Opts, Value,
};
use ferrobeam_structured::map_order;

/// The `message@1.0` device.
#[derive(Debug)]
pub struct MessageDevice;

impl Device for MessageDevice {
    const NAME: &'static str = "message@1.0";

    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(MessageDevice)
    }

    fn handle(
        &self,
        key: &str,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Option<Result<Value, DeviceError>> {
        match get_key(base, key) {
            // The node tries a path key with `-` as `_` first (`hello-world` finds a method
            // `hello_world`); a miss under that spelling lets it retry the key as written.
            Err(_) if key.contains('_') && !base.contains_key(key) => None,
            other => Some(other),
        }
    }
}

/// Reads `key` of `base` (§9.4 `get`): exactly, else ignoring case; never a private key.
pub fn get_key(base: &Message, key: &str) -> Result<Value, DeviceError> {
    if key.to_ascii_lowercase().starts_with("priv") {
        return Err(not_found(key));
    }
    base.get_ignore_case(key)
        .cloned()
        .ok_or_else(|| not_found(key))
}

fn not_found(key: &str) -> DeviceError {
    DeviceError::not_found(format!("no key `{key}` in the message")).with_detail("key", key)
}

impl MessageDevice {
    /// `get`: the key named by the request's `key`.
    pub fn get(&self, base: &Message, req: &Message, _opts: &Opts) -> Result<Value, DeviceError> {
        let key = req
            .get_str("key")
            .ok_or_else(|| DeviceError::bad_request("get needs a `key`"))?;
        get_key(base, key)
    }

    /// `keys`: the non-private keys of the base, in Erlang map order (`codecs.md` §1.5: sorted
    /// up to 32 keys), as HyperBEAM lists a map's keys; not in the order the message was built.
    pub fn keys(&self, base: &Message, _req: &Message, _opts: &Opts) -> Result<Value, DeviceError> {
        let mut keys: Vec<&str> = base
            .keys()
            .filter(|k| !k.is_private())
            .map(|k| k.as_str())
            .collect();
        map_order::sort_in_map_order(&mut keys, |k| k.as_bytes());
        Ok(Value::List(keys.into_iter().map(Value::from).collect()))
    }

    /// `set`: deep-merges the request's keys into the base (`unset` deletes a key).
    pub fn set(&self, base: Message, req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
        Ok(set::apply(base, req))
    }

    /// `set_path`: sets `path` to the request's `value`.
    pub fn set_path(
        &self,
        mut base: Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let value = req
            .get("value")
            .cloned()
            .ok_or_else(|| DeviceError::bad_request("set_path needs a `value`"))?;
        base.insert("path", value);
        Ok(base)
    }

    /// `remove`: removes the request's `item`, or every key of its `items` list.
    pub fn remove(
        &self,
        base: Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let mut out = base;
        let mut removed = false;
        match (req.get("item"), req.get("items")) {
            (Some(item), _) => {
                let key = item
                    .as_str()
                    .ok_or_else(|| DeviceError::bad_request("`item` must be a key"))?;
                removed = out.remove(key).is_some();
            }
            (None, Some(Value::List(items))) => {
                for item in items {
                    if let Some(key) = item.as_str() {
                        removed |= out.remove(key).is_some();
                    }
                }
            }
            _ => {
                return Err(DeviceError::bad_request(
                    "remove needs `item` or a list `items`",
                ))
            }
        }
        if removed {
            // The removed keys may have been signed: the commitments no longer hold.
            out.remove("commitments");
        }
        Ok(out)
    }

    /// `id`: the base's ID (`§7.1`).
    pub fn id(&self, base: &Message, req: &Message, _opts: &Opts) -> Result<String, DeviceError> {
        commitments::id(base, req)
    }

    /// `commitments`: the base's commitments.
    pub fn commitments(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        commitments::all(base)
    }

    /// `committers`: the signers' addresses, sorted.
    pub fn committers(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Value, DeviceError> {
        Ok(commitments::committers(base))
    }

    /// `committed`: the keys the base's signatures cover.
    pub fn committed(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Value, DeviceError> {
        commitments::committed(base)
    }

    /// `verify`: whether every signature of the target verifies.
    pub fn verify(&self, base: &Message, req: &Message, _opts: &Opts) -> Result<bool, DeviceError> {
        commitments::verify(base, req)
    }

    /// `commit`: the base signed by the node wallet.
    pub fn commit(
        &self,
        base: &Message,
        _req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        commitments::commit(opts.host(), base)
    }
}

device_methods!(MessageDevice {
    get,
    keys,
    set,
    set_path,
    remove,
    id,
    commitments,
    committers,
    committed,
    verify,
    commit
});
export_devices!(MessageDevice);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrobeam_device_api::testing::TestDevice;

    fn dev() -> TestDevice<MessageDevice> {
        TestDevice::new().unwrap()
    }

    #[test]
    fn plain_keys_resolve_to_their_values() {
        let base = Message::new().with("a", 1).with("Test-Header", "x");
        assert_eq!(
            dev().call("a", &base, &Message::new()).unwrap(),
            Value::Integer(1)
        );
        assert_eq!(
            dev().call("test-header", &base, &Message::new()).unwrap(),
            Value::from("x")
        );
    }

    #[test]
    fn keys_are_case_insensitive_and_underscores_stay_underscores() {
        let id = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
        let base = Message::new()
            .with(id, "by-id")
            .with("snake_key", "snake")
            .with("dash-key", "dash");
        assert_eq!(
            dev()
                .call(&id.to_lowercase(), &base, &Message::new())
                .unwrap(),
            Value::from("by-id")
        );
        assert_eq!(
            dev().call("SNAKE_KEY", &base, &Message::new()).unwrap(),
            Value::from("snake")
        );
        assert_eq!(
            dev().call("Dash-Key", &base, &Message::new()).unwrap(),
            Value::from("dash")
        );
    }

    /// `keys` lists a message's keys in Erlang map order, whatever order it was built in:
    /// sorted up to 32 keys, in hash order beyond (as HyperBEAM's `maps:keys`).
    #[test]
    fn keys_are_listed_in_map_order() {
        let base = Message::new()
            .with("zeta", 1)
            .with("Mid", 2)
            .with("alpha", 3)
            .with("priv_x", 4);
        let keys = dev().call("keys", &base, &Message::new()).unwrap();
        let listed = |names: &[&str]| Value::List(names.iter().map(|&n| Value::from(n)).collect());
        assert_eq!(keys, listed(&["alpha", "mid", "zeta"]));
        let names: Vec<String> = (0..33).map(|i| format!("k{i}")).collect();
        let mut large = Message::new();
        for name in &names {
            large.insert(name.as_str(), 1);
        }
        let in_map_order: Vec<&str> = map_order::map_order(names.iter().map(String::as_str));
        let mut sorted = in_map_order.clone();
        sorted.sort_unstable();
        assert_ne!(in_map_order, sorted, "33 keys are in hash order");
        let keys = dev().call("keys", &large, &Message::new()).unwrap();
        assert_eq!(keys, listed(&in_map_order));
    }

    #[test]
    fn private_and_missing_keys_are_not_found() {
        let base = Message::new().with("a", 1).with("private_key", 2);
        let e = dev()
            .call("private_key", &base, &Message::new())
            .unwrap_err();
        assert_eq!(e.kind().status(), 404);
        assert_eq!(
            dev()
                .call("b", &base, &Message::new())
                .unwrap_err()
                .kind()
                .status(),
            404
        );
        let keys = dev().call("keys", &base, &Message::new()).unwrap();
        assert_eq!(keys, Value::List(vec![Value::from("a")]));
    }

    #[test]
    fn get_reads_the_requested_key() {
        let base = Message::new().with("Greeting", "hi");
        let req = Message::new().with("key", "greeting");
        assert_eq!(dev().call("get", &base, &req).unwrap(), Value::from("hi"));
        assert_eq!(
            dev()
                .call("get", &base, &Message::new())
                .unwrap_err()
                .kind()
                .status(),
            400
        );
    }

    #[test]
    fn remove_takes_item_or_items() {
        let base = Message::new().with("a", 1).with("b", 2).with("c", 3);
        let out = dev()
            .call("remove", &base, &Message::new().with("item", "a"))
            .unwrap();
        assert_eq!(out.as_message().unwrap().len(), 2);
        let items = vec![Value::from("a"), Value::from("b")];
        let out = dev()
            .call("remove", &base, &Message::new().with("items", items))
            .unwrap();
        assert_eq!(out.as_message().unwrap().len(), 1);
        // Commitments go when a key does, and stay when nothing is removed.
        let signed = base.with("commitments", Message::new().with("x", "y"));
        for (item, kept) in [("a", false), ("absent", true)] {
            let out = dev()
                .call("remove", &signed, &Message::new().with("item", item))
                .unwrap();
            let out = out.as_message().cloned().unwrap_or_default();
            assert_eq!(out.contains_key("commitments"), kept, "{item}");
        }
    }

    #[test]
    fn set_path_sets_the_path() {
        let out = dev()
            .call(
                "set_path",
                &Message::new(),
                &Message::new().with("value", "/x"),
            )
            .unwrap();
        assert_eq!(out.as_message().unwrap().get_str("path"), Some("/x"));
    }
}
