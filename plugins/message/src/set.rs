//! `set`: deep merge with `unset` (`spec/codecs.md` §9.4).

use ferrobeam_device_api::{Message, Value};

/// Request keys that steer resolution and are never set.
pub const RESERVED: &[&str] = &[
    "id",
    "commitments",
    "committers",
    "keys",
    "path",
    "set",
    "remove",
    "verify",
    "set-mode",
    "method",
];

/// `base` with the request's keys merged in (where it is). Nested messages merge deeply (unless
/// `set-mode: explicit`); the value `unset` deletes; the atom `undefined` is ignored. If a
/// committed key changes, the commitments no longer hold and are dropped.
pub fn apply(base: Message, req: &Message) -> Message {
    let deep = req.get_str("set-mode") != Some("explicit");
    let mut out = base;
    let mut changed = false;
    for (k, v) in req.iter() {
        if RESERVED.contains(&k.as_str()) || k.is_private() {
            continue;
        }
        changed |= set_one(&mut out, k.as_str(), v, deep);
    }
    if changed && out.contains_key("commitments") {
        out.remove("commitments");
    }
    out
}

/// Sets one key (which may be a `a/b/c` path); returns whether anything changed.
fn set_one(m: &mut Message, key: &str, v: &Value, deep: bool) -> bool {
    if let Some((head, rest)) = key.split_once('/') {
        let mut inner = m.get_message(head).cloned().unwrap_or_default();
        let changed = set_one(&mut inner, rest, v, deep);
        m.insert(head, inner);
        return changed;
    }
    match v {
        Value::Atom(a) if a == "undefined" => false,
        Value::Binary(b) if b == b"unset" => m.remove(key).is_some(),
        Value::Atom(a) if a == "unset" => m.remove(key).is_some(),
        Value::Message(new) if deep => {
            let existed = m.get_message(key).is_some();
            let mut merged = m.get_message(key).cloned().unwrap_or_default();
            let mut changed = !existed;
            for (k, inner) in new.iter() {
                changed |= set_one(&mut merged, k.as_str(), inner, deep);
            }
            m.insert(key, merged);
            changed
        }
        _ => m.insert(key, v.clone()).as_ref() != Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_merge_and_unset() {
        let base = Message::new()
            .with("a", 1)
            .with("deep", Message::new().with("k1", "x").with("k2", "y"));
        let req = Message::new()
            .with("b", 2)
            .with("deep", Message::new().with("k2", "unset").with("k3", "z"));
        let out = apply(base, &req);
        assert_eq!(out.get("b"), Some(&Value::Integer(2)));
        let deep = out.get_message("deep").cloned().unwrap_or_default();
        assert_eq!(deep.get_str("k1"), Some("x"));
        assert!(deep.get("k2").is_none());
        assert_eq!(deep.get_str("k3"), Some("z"));
    }

    #[test]
    fn unset_removes_and_undefined_is_ignored() {
        let base = Message::new().with("dangerous", "v").with("keep", "k");
        let out = apply(base.clone(), &Message::new().with("dangerous", "unset"));
        assert!(out.get("dangerous").is_none());
        let out = apply(base, &Message::new().with("keep", Value::atom("undefined")));
        assert_eq!(out.get_str("keep"), Some("k"));
    }

    #[test]
    fn slash_paths_set_nested_keys() {
        let base = Message::new().with("deep", Message::new().with("test-key2", "v"));
        let out = apply(base, &Message::new().with("deep/test-key2", "unset"));
        assert_eq!(out.get_message("deep").map(Message::len), Some(0));
    }
}
