//! What the node offers devices about itself (`spec/codecs.md` §6, §11): its public identity,
//! signing with its wallet for devices granted `sign`, and the operator's changes to the node
//! options — HyperBEAM's node message — for devices granted `configure`.
//!
//! The host operations are named in `ferrobeam_device_api::host::operation`: `node/identity`,
//! `sign` and `node/configure`.

use crate::config::Capability;
use crate::wallet::Signer;
use ferrobeam_device_api::{DeviceError, ErrorKind, Message, Value};
use std::collections::BTreeSet;

/// The option whose value `permanent` freezes the node options (`§11`).
pub const INITIALIZED: &str = "initialized";

/// The operator's changes to the node options, and how many there were.
#[derive(Debug, Default, Clone)]
pub struct NodeMessage {
    overlay: Message,
    history: i64,
}

impl NodeMessage {
    /// The options set so far, merged over the configuration's.
    pub fn overlay(&self) -> &Message {
        &self.overlay
    }

    /// How many changes were applied.
    pub fn history_length(&self) -> i64 {
        self.history
    }

    /// Merges `set` into the options (`POST /~meta@1.0/info`, `§11`): refused as a whole when
    /// the options are `initialized: permanent`, when a key is private, or when it is one of
    /// `owned` — the options `devices.toml` and the wallet decide, which a runtime change
    /// could only make lie. Returns the new history length.
    pub fn apply(&mut self, set: &Message, owned: &BTreeSet<String>) -> Result<i64, DeviceError> {
        if self.overlay.get_str(INITIALIZED) == Some("permanent") {
            return Err(DeviceError::bad_request(
                "The node message of this machine is already permanent. It cannot be changed.",
            ));
        }
        if set.is_empty() {
            return Err(DeviceError::bad_request(
                "node/configure needs at least one option in `set`",
            ));
        }
        for key in set.keys() {
            if key.is_private() {
                return Err(DeviceError::bad_request(format!(
                    "`{key}` is private; private options cannot be set over HTTP"
                )));
            }
            if owned.contains(key.as_str()) {
                return Err(DeviceError::bad_request(format!(
                    "`{key}` comes from devices.toml or the node wallet; change it there and restart"
                ))
                .with_detail("key", key.as_str()));
            }
        }
        for (k, v) in set.iter() {
            self.overlay.insert(k.clone(), v.clone());
        }
        self.history += 1;
        Ok(self.history)
    }
}

/// `node/identity`: `{address, keyid}`, or 404 without a wallet.
pub fn identity(signer: Option<&Signer>) -> Result<Value, DeviceError> {
    let wallet = signer.map(Signer::wallet).ok_or_else(no_wallet)?;
    Ok(Value::from(
        Message::new()
            .with("address", wallet.address())
            .with("keyid", wallet.keyid()),
    ))
}

/// `sign`: `{data}` → `{signature, keyid, committer}` for a library granted `sign`.
pub fn sign(
    signer: Option<&Signer>,
    capabilities: &BTreeSet<Capability>,
    payload: &Message,
) -> Result<Value, DeviceError> {
    require(capabilities, Capability::Sign, "sign")?;
    let signer = signer.ok_or_else(no_wallet)?;
    let data = payload
        .get("data")
        .and_then(Value::as_bytes)
        .ok_or_else(|| DeviceError::bad_request("sign needs bytes `data`"))?;
    let signature = signer
        .sign(data)
        .map_err(|e| DeviceError::failure(format!("signing failed: {e}")))?;
    let wallet = signer.wallet();
    Ok(Value::from(
        Message::new()
            .with("signature", signature.to_vec())
            .with("keyid", wallet.keyid())
            .with("committer", wallet.address()),
    ))
}

/// The `set` message of a `node/configure` payload, for a library granted `configure`.
pub fn configure_request<'a>(
    capabilities: &BTreeSet<Capability>,
    payload: &'a Message,
) -> Result<&'a Message, DeviceError> {
    require(capabilities, Capability::Configure, "node/configure")?;
    payload
        .get_message("set")
        .ok_or_else(|| DeviceError::bad_request("node/configure needs a message `set`"))
}

fn require(
    capabilities: &BTreeSet<Capability>,
    needed: Capability,
    op: &str,
) -> Result<(), DeviceError> {
    if capabilities.contains(&needed) {
        return Ok(());
    }
    let name = match needed {
        Capability::Sign => "sign",
        Capability::Configure => "configure",
    };
    Err(DeviceError::new(
        ErrorKind::Forbidden,
        format!(
            "`{op}` needs the `{name}` capability: add capabilities = [\"{name}\"] to the device's entry in devices.toml"
        ),
    ))
}

fn no_wallet() -> DeviceError {
    DeviceError::not_found("this node runs without a wallet")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn owned() -> BTreeSet<String> {
        ["port".to_owned(), "address".to_owned()]
            .into_iter()
            .collect()
    }

    #[test]
    fn changes_merge_and_count_until_permanent() {
        let mut m = NodeMessage::default();
        assert_eq!(m.apply(&Message::new().with("a", 1), &owned()).unwrap(), 1);
        let n = m
            .apply(
                &Message::new().with("b", "x").with(INITIALIZED, "permanent"),
                &owned(),
            )
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(m.overlay().get("a"), Some(&Value::Integer(1)));
        let e = m.apply(&Message::new().with("c", 1), &owned()).unwrap_err();
        assert!(e.reason().contains("permanent"), "{e}");
        assert_eq!(m.history_length(), 2);
    }

    #[test]
    fn private_and_owned_options_are_refused_whole() {
        let mut m = NodeMessage::default();
        for bad in [
            Message::new().with("ok", 1).with("priv_wallet", "x"),
            Message::new().with("ok", 1).with("port", 1),
        ] {
            assert_eq!(m.apply(&bad, &owned()).unwrap_err().kind().status(), 400);
        }
        assert!(m.overlay().is_empty());
    }

    #[test]
    fn signing_needs_the_capability() {
        let e = sign(None, &BTreeSet::new(), &Message::new()).unwrap_err();
        assert_eq!(e.kind().status(), 403);
        assert!(e.reason().contains("capabilities"), "{e}");
        let granted: BTreeSet<_> = [Capability::Sign].into_iter().collect();
        assert_eq!(
            sign(None, &granted, &Message::new())
                .unwrap_err()
                .kind()
                .status(),
            404
        );
    }
}
