//! `patch@1.0` (`spec/process.md` §4): moves patch messages out of an outbox and deep-merges
//! them into the state, so `Send({device = 'patch@1.0', counter = 42})` makes `counter`
//! readable at `/<pid>~process@1.0/compute/counter`.
//!
//! | key | effect |
//! | --- | --- |
//! | `compute`, `patches` | every entry of the source (`patch-from`, default `/`) with `method: PATCH` or `device: patch@1.0` is removed from it and merged into `patch-to` (default `/`), in ascending entry order |
//! | `all` | the whole source is moved to `patch-to` |
//! | `init`, `normalize`, `snapshot` | the base unchanged (so it can sit in a device stack) |
//!
//! `patch-from` / `patch-to` are read from the request, then the base, then `from` / `to`
//! (`§4.1`); `req:/x` reads the source from the request.
//!
//! ferrobeam's decisions (`docs/processes.md`, "patch@1.0"):
//! * **Envelope keys are stripped** before merging ([`ENVELOPE`]): `device`, `method`, `target`,
//!   `type`, `variant`, … describe the message, not the state (HyperBEAM merges them into the
//!   state root, overwriting the process's own `type`).
//! * **Keys can be removed**: a patched value `"__ao-unset__"` (HyperBEAM's JSON interface's
//!   marker for a Lua `nil`) or the atom `unset` deletes its key, at any depth.
//! * Nested maps merge deeply; anything else — lists included — replaces.

pub mod paths;

use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Value,
};
use paths::Root;

/// Keys of a patch message that describe the message rather than the state; never merged.
pub const ENVELOPE: &[&str] = &[
    "method",
    "device",
    "target",
    "type",
    "variant",
    "data-protocol",
    "reference",
    "anchor",
    "from-process",
    "from-module",
    "from-image",
    "commitments",
    "path",
    "signature",
    "signature-input",
    "x-reference",
    "x-origin",
];

/// Whether an outbox entry is a patch: `method: PATCH` or `device: patch@1.0` (exact values).
pub fn is_patch(entry: &Value) -> bool {
    entry.as_message().is_some_and(|m| {
        m.get_str("method") == Some("PATCH") || m.get_str("device") == Some("patch@1.0")
    })
}

/// Where patches come from and go to.
#[derive(Debug, Clone)]
pub struct Route {
    /// The source path.
    pub from: String,
    /// The target path.
    pub to: String,
}

impl Route {
    /// `patch-from` / `patch-to` from the request, then the base, then `from` / `to`; `/`
    /// otherwise.
    pub fn of(base: &Message, req: &Message) -> Route {
        let pick = |keys: [&str; 2]| {
            [req, base]
                .iter()
                .flat_map(|m| keys.iter().map(move |k| m.get_str(k)))
                .flatten()
                .next()
                .unwrap_or("/")
                .to_owned()
        };
        Route {
            from: pick(["patch-from", "from"]),
            to: pick(["patch-to", "to"]),
        }
    }
}

/// Applies the patches found at `route.from` to `state`. Returns `None` when there is nothing
/// at the source (a slot that sent nothing).
pub fn apply_patches(
    state: &Message,
    req: &Message,
    route: &Route,
) -> Result<Option<Message>, DeviceError> {
    let (root, from) = paths::parse(&route.from)?;
    let (_, to) = paths::parse(&route.to)?;
    let source = match root {
        Root::Base => paths::get(state, &from),
        Root::Request => paths::get(req, &from),
    };
    let Some(source) = source else {
        return Ok(None);
    };
    let (kept, patches) = split(source)?;
    let mut out = state.clone();
    if root == Root::Base && !from.is_empty() {
        paths::put(&mut out, &from, kept);
    } else if root == Root::Base {
        // The whole state was the source: what is not a patch stays as it was.
        if let Value::Message(kept) = kept {
            out = kept;
        }
    }
    for patch in patches {
        paths::merge_at(&mut out, &to, strip_envelope(patch));
    }
    Ok(Some(out))
}

/// Moves the whole value at `route.from` to `route.to`. `None` when there is nothing there.
pub fn move_all(
    state: &Message,
    req: &Message,
    route: &Route,
) -> Result<Option<Message>, DeviceError> {
    let (root, from) = paths::parse(&route.from)?;
    let (_, to) = paths::parse(&route.to)?;
    let mut out = state.clone();
    let value = match root {
        Root::Base if from.is_empty() => Some(Value::from(state.clone())),
        Root::Base => paths::take(&mut out, &from),
        Root::Request => paths::get(req, &from).cloned(),
    };
    let Some(value) = value else {
        return Ok(None);
    };
    match value {
        Value::Message(m) => paths::merge_at(&mut out, &to, m),
        other => paths::put(&mut out, &to, other),
    }
    Ok(Some(out))
}

/// Splits an outbox (a message keyed `1..n`, or a list) into what stays and the patches, in
/// ascending entry order (numeric keys first, numerically; others after, by name).
fn split(source: &Value) -> Result<(Value, Vec<Message>), DeviceError> {
    match source {
        Value::List(items) => {
            let (patches, kept): (Vec<&Value>, Vec<&Value>) =
                items.iter().partition(|v| is_patch(v));
            Ok((
                Value::List(kept.into_iter().cloned().collect()),
                patches
                    .into_iter()
                    .filter_map(|v| v.as_message().cloned())
                    .collect(),
            ))
        }
        Value::Message(m) => {
            let mut entries: Vec<(&str, &Value)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
            entries.sort_by(|a, b| entry_order(a.0).cmp(&entry_order(b.0)));
            let mut kept = Message::with_capacity(m.len());
            let mut patches = Vec::new();
            for (key, value) in entries {
                match value {
                    Value::Message(p) if is_patch(value) => patches.push(p.clone()),
                    _ => {
                        kept.insert(key, value.clone());
                    }
                }
            }
            Ok((Value::from(kept), patches))
        }
        other => Err(DeviceError::bad_request(format!(
            "patch@1.0: the patch source must be a message or a list, not a {}",
            other.type_name()
        ))),
    }
}

/// Sort key for outbox entries: numbers in numeric order, then names.
fn entry_order(key: &str) -> (u8, u64, &str) {
    match key.parse::<u64>() {
        Ok(n) => (0, n, ""),
        Err(_) => (1, 0, key),
    }
}

/// A patch without its envelope keys and private keys.
pub fn strip_envelope(mut patch: Message) -> Message {
    patch.retain(|k, _| !ENVELOPE.contains(&k.as_str()) && !k.is_private());
    patch
}

/// The `patch@1.0` device.
#[derive(Debug)]
pub struct Patch;

impl Device for Patch {
    const NAME: &'static str = "patch@1.0";
    const HANDLES: Option<&'static [&'static str]> = Some(&["init", "normalize", "snapshot"]);
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Patch)
    }

    /// `init`, `normalize` and `snapshot` return the base unchanged, so the device can sit in
    /// an execution stack (`spec/process.md` §4.1).
    fn handle(
        &self,
        key: &str,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Option<ferrobeam_device_api::Outcome> {
        matches!(key, "init" | "normalize" | "snapshot").then(|| Ok(base.clone().into()))
    }
}

fn nothing_at(route: &Route) -> DeviceError {
    DeviceError::not_found(format!("patch@1.0: there is nothing at {}", route.from))
        .with_detail("patch-from", route.from.as_str())
}

impl Patch {
    /// `compute`: applies the patches of the source.
    pub fn compute(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let route = Route::of(base, req);
        apply_patches(base, req, &route)?.ok_or_else(|| nothing_at(&route))
    }

    /// `patches`: the same as `compute`.
    pub fn patches(
        &self,
        base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        self.compute(base, req, opts)
    }

    /// `all`: moves the whole source.
    pub fn all(&self, base: &Message, req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
        let route = Route::of(base, req);
        move_all(base, req, &route)?.ok_or_else(|| nothing_at(&route))
    }
}

device_methods!(Patch {
    compute,
    patches,
    all
});

#[cfg(test)]
mod tests {
    use super::*;
    use ferrobeam_device_api::testing::TestDevice;

    #[test]
    fn init_normalize_and_snapshot_return_the_base_unchanged() {
        let dev = TestDevice::<Patch>::new().unwrap();
        let base = Message::new()
            .with("counter", 42)
            .with("device", "patch@1.0");
        for key in ["init", "normalize", "snapshot"] {
            let out = dev.call(key, &base, &Message::new()).unwrap();
            assert_eq!(out.as_message(), Some(&base), "{key}");
        }
        assert_eq!(
            dev.call("other", &base, &Message::new())
                .unwrap_err()
                .kind()
                .status(),
            404
        );
    }

    fn route(from: &str, to: &str) -> Route {
        Route {
            from: from.to_owned(),
            to: to.to_owned(),
        }
    }

    fn prices(apple: i64, banana: i64) -> Message {
        Message::new().with(
            "prices",
            Message::new().with("apple", apple).with("banana", banana),
        )
    }

    /// `spec/process.md` §4.4, first vector.
    #[test]
    fn patch_entries_leave_the_outbox_and_land_at_the_root() {
        let outbox = Message::new()
            .with("1", prices(100, 200).with("method", "PATCH"))
            .with(
                "2",
                Message::new()
                    .with("method", "GET")
                    .with("prices", Message::new().with("apple", 1000)),
            );
        let state = Message::new().with("results", Message::new().with("outbox", outbox));
        let out = apply_patches(&state, &Message::new(), &route("/results/outbox", "/"))
            .unwrap()
            .unwrap();
        assert_eq!(
            paths::get(&out, &["prices".into(), "apple".into()]),
            Some(&Value::Integer(100))
        );
        let outbox = out
            .get_message("results")
            .and_then(|r| r.get_message("outbox"))
            .unwrap();
        assert!(outbox.get("1").is_none());
        assert!(outbox.get("2").is_some());
        assert!(out.get("method").is_none(), "envelope keys are not merged");
    }

    /// Second vector: patch-to `/state` over an existing value.
    #[test]
    fn patches_merge_under_patch_to() {
        let state = Message::new().with("state", prices(1000, 1)).with(
            "results",
            Message::new().with(
                "outbox",
                Message::new().with("1", prices(100, 200).with("method", "PATCH")),
            ),
        );
        let out = apply_patches(&state, &Message::new(), &route("/results/outbox", "/state"))
            .unwrap()
            .unwrap();
        let apple = paths::get(&out, &["state".into(), "prices".into(), "apple".into()]);
        assert_eq!(apple, Some(&Value::Integer(100)));
    }

    /// Third vector: `all` moves a whole value.
    #[test]
    fn all_moves_the_whole_source() {
        let zones = Message::new().with("1", prices(100, 2)).with(
            "2",
            Message::new().with("prices", Message::new().with("orange", 300)),
        );
        let state = Message::new().with("input", Message::new().with("zones", zones));
        let out = move_all(&state, &Message::new(), &route("/input/zones", "/state"))
            .unwrap()
            .unwrap();
        let orange = paths::get(
            &out,
            &["state".into(), "2".into(), "prices".into(), "orange".into()],
        );
        assert_eq!(orange, Some(&Value::Integer(300)));
        assert!(paths::get(&out, &["input".into(), "zones".into()]).is_none());
    }

    /// Fourth vector: `all` from the request.
    #[test]
    fn all_reads_req_paths_from_the_request() {
        let req = Message::new().with(
            "results",
            Message::new().with("outbox", Message::new().with("1", prices(100, 200))),
        );
        let out = move_all(
            &Message::new(),
            &req,
            &route("req:/results/outbox/1", "/state"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            paths::get(&out, &["state".into(), "prices".into(), "banana".into()]),
            Some(&Value::Integer(200))
        );
    }

    #[test]
    fn device_patches_and_cache_forms_both_merge_deeply_in_order() {
        let outbox = Value::List(vec![
            Value::from(
                Message::new()
                    .with("device", "patch@1.0")
                    .with("counter", 42)
                    .with("users", Message::new().with("alice", 100)),
            ),
            Value::from(
                Message::new().with("device", "patch@1.0").with(
                    "cache",
                    Message::new()
                        .with("name", "T")
                        .with("balances", Message::new().with("A", 10)),
                ),
            ),
            Value::from(
                Message::new()
                    .with("device", "patch@1.0")
                    .with("users", Message::new().with("bob", 5)),
            ),
            Value::from(Message::new().with("target", "X").with("data", "hello")),
        ]);
        let state = Message::new()
            .with("type", "Process")
            .with("results", Message::new().with("outbox", outbox));
        let out = apply_patches(&state, &Message::new(), &route("/results/outbox", "/"))
            .unwrap()
            .unwrap();
        assert_eq!(out.get("counter"), Some(&Value::Integer(42)));
        assert_eq!(out.get_message("users").map(Message::len), Some(2));
        assert_eq!(
            paths::get(&out, &["cache".into(), "name".into()]).and_then(Value::as_str),
            Some("T")
        );
        assert_eq!(
            out.get_str("type"),
            Some("Process"),
            "the envelope's type does not overwrite"
        );
        let outbox = paths::get(&out, &["results".into(), "outbox".into()]).unwrap();
        assert_eq!(outbox.as_list().map(<[Value]>::len), Some(1));
    }

    #[test]
    fn later_patches_win_and_unset_removes() {
        let outbox = Message::new()
            .with(
                "2",
                Message::new()
                    .with("method", "PATCH")
                    .with("status", "__ao-unset__"),
            )
            .with(
                "1",
                Message::new()
                    .with("method", "PATCH")
                    .with("status", "active"),
            )
            .with(
                "10",
                Message::new().with("method", "PATCH").with("level", 3),
            );
        let state = Message::new()
            .with("status", "old")
            .with("results", Message::new().with("outbox", outbox));
        let out = apply_patches(&state, &Message::new(), &route("/results/outbox", "/"))
            .unwrap()
            .unwrap();
        assert!(out.get("status").is_none(), "entry 2 runs after entry 1");
        assert_eq!(out.get("level"), Some(&Value::Integer(3)));
    }

    #[test]
    fn a_missing_source_is_nothing_to_do() {
        assert!(apply_patches(
            &Message::new(),
            &Message::new(),
            &route("/results/outbox", "/")
        )
        .unwrap()
        .is_none());
        let e = Patch
            .compute(&Message::new(), &Message::new(), &test_opts())
            .unwrap_err();
        assert_eq!(e.kind().status(), 404);
    }

    fn test_opts() -> Opts<'static> {
        Opts::from_message(
            Message::new(),
            ferrobeam_device_api::Host::new(ferrobeam_device_api::testing::TestHost::new()),
        )
    }
}
