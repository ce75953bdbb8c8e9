//! Paths inside messages (`/results/outbox`, `req:/body`) and the merge that patching uses.

use ferrobeam_device_api::{DeviceError, Message, Value};

/// The value that removes a key when patched in: the text `__ao-unset__` (what HyperBEAM's
/// JSON interface turns a Lua `nil` into) or the atom `unset` (`message@1.0`'s `set`).
pub const UNSET_TEXT: &str = "__ao-unset__";

/// Whether `v` asks for its key to be removed.
pub fn is_unset(v: &Value) -> bool {
    match v {
        Value::Binary(b) => b == UNSET_TEXT.as_bytes(),
        Value::Atom(a) => a == "unset",
        _ => false,
    }
}

/// Where a patch path points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// The message being patched (`/x`, `base:/x`).
    Base,
    /// The request (`req:/x`).
    Request,
}

/// A parsed path: its root and its keys (empty: the root itself).
///
/// ```
/// use ferrobeam_process::patch::paths::{parse, Root};
/// assert_eq!(parse("/results/outbox").unwrap(), (Root::Base, vec!["results".into(), "outbox".into()]));
/// assert_eq!(parse("req:/body").unwrap(), (Root::Request, vec!["body".into()]));
/// assert_eq!(parse("/").unwrap(), (Root::Base, vec![]));
/// ```
pub fn parse(path: &str) -> Result<(Root, Vec<String>), DeviceError> {
    let (root, rest) = if let Some(rest) = path.strip_prefix("req:") {
        (Root::Request, rest)
    } else if let Some(rest) = path.strip_prefix("base:") {
        (Root::Base, rest)
    } else {
        (Root::Base, path)
    };
    let keys: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if keys.iter().any(|k| k == ".." || k == ".") {
        return Err(DeviceError::bad_request(format!(
            "patch path {path:?} may not contain `.` or `..`"
        )));
    }
    Ok((root, keys))
}

/// The value at `keys` of `msg`.
pub fn get<'a>(msg: &'a Message, keys: &[String]) -> Option<&'a Value> {
    let (last, parents) = keys.split_last()?;
    let mut here = msg;
    for k in parents {
        here = here.get_message(k)?;
    }
    here.get(last)
}

/// Removes and returns the value at `keys` of `msg`.
pub fn take(msg: &mut Message, keys: &[String]) -> Option<Value> {
    let (last, parents) = keys.split_last()?;
    let mut here = msg;
    for k in parents {
        here = here.get_mut(k)?.as_message_mut()?;
    }
    here.remove(last)
}

/// Replaces the value at `keys` of `msg` (creating parent messages).
pub fn put(msg: &mut Message, keys: &[String], value: Value) {
    let Some((last, parents)) = keys.split_last() else {
        if let Value::Message(m) = value {
            *msg = m;
        }
        return;
    };
    let mut here = msg;
    for k in parents {
        if !matches!(here.get(k), Some(Value::Message(_))) {
            here.insert(k.as_str(), Message::new());
        }
        match here.get_mut(k).and_then(Value::as_message_mut) {
            Some(next) => here = next,
            None => return,
        }
    }
    here.insert(last.as_str(), value);
}

/// Deep-merges `patch` into the message at `keys` of `msg` (created when absent): nested
/// messages merge key by key, anything else replaces, and an unset value removes its key.
pub fn merge_at(msg: &mut Message, keys: &[String], patch: Message) {
    let mut here = msg;
    for k in keys {
        if !matches!(here.get(k), Some(Value::Message(_))) {
            here.insert(k.as_str(), Message::new());
        }
        match here.get_mut(k).and_then(Value::as_message_mut) {
            Some(next) => here = next,
            None => return,
        }
    }
    merge(here, patch);
}

/// Deep-merges `patch` into `into` (see [`merge_at`]).
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_process::patch::paths::merge;
/// let mut state = Message::new().with("users", Message::new().with("alice", 100).with("bob", 5));
/// merge(&mut state, Message::new().with("users", Message::new().with("carol", 1).with("bob", "__ao-unset__")));
/// let users = state.get_message("users").unwrap();
/// assert_eq!(users.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["alice", "carol"]);
/// ```
pub fn merge(into: &mut Message, patch: Message) {
    for (key, value) in patch {
        if is_unset(&value) {
            into.remove(key.as_str());
            continue;
        }
        match (into.get_mut(key.as_str()), value) {
            (Some(Value::Message(existing)), Value::Message(inner)) => merge(existing, inner),
            (_, Value::Message(inner)) => {
                let mut fresh = Message::new();
                merge(&mut fresh, inner);
                into.insert(key, fresh);
            }
            (_, other) => {
                into.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        parse(p).unwrap().1
    }

    #[test]
    fn put_get_and_take_walk_nested_messages() {
        let mut m = Message::new();
        put(&mut m, &path("/a/b"), Value::from(1));
        assert_eq!(get(&m, &path("/a/b")), Some(&Value::Integer(1)));
        assert_eq!(take(&mut m, &path("/a/b")), Some(Value::Integer(1)));
        assert_eq!(get(&m, &path("/a/b")), None);
        assert!(parse("/a/../b").is_err());
    }

    #[test]
    fn merging_replaces_scalars_and_lists_and_unsets_keys() {
        let mut m = Message::new()
            .with("list", Value::List(vec![1.into()]))
            .with("gone", "x")
            .with("deep", Message::new().with("k", "v"));
        merge_at(
            &mut m,
            &[],
            Message::new()
                .with("list", Value::List(vec![]))
                .with("gone", Value::atom("unset"))
                .with("deep", Message::new().with("k2", "v2")),
        );
        assert_eq!(m.get("list"), Some(&Value::List(vec![])));
        assert!(m.get("gone").is_none());
        assert_eq!(m.get_message("deep").map(Message::len), Some(2));
    }

    #[test]
    fn an_unset_value_inside_a_new_map_is_dropped() {
        let mut m = Message::new();
        merge(
            &mut m,
            Message::new().with("a", Message::new().with("b", UNSET_TEXT).with("c", 1)),
        );
        assert_eq!(m.get_message("a"), Some(&Message::new().with("c", 1)));
    }
}
