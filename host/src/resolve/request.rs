//! The keys of an HTTP request as each step sees them (`spec/codecs.md` §9.1 step 5).
//!
//! A request's own keys (its headers and body fields) reach every step: the base of a leading
//! `~device` step sees them as the TABM (`msg1` of the custom-devices guide), each request step
//! as the typed message with its commitments and `path` set to the step's key (`msg2`). A key
//! written `N.key` reaches only step `N`.

use super::call_with;
use crate::node::Node;
use crate::path::Param;
use ferrobeam_device_api::{DeviceError, Message, Value};
use std::sync::Arc;

/// Keys never copied from the request into a step: routing and codec bookkeeping.
const NOT_STEP_KEYS: &[&str] = &[
    "path",
    "ao-types",
    "body-keys",
    "signature",
    "signature-input",
];

/// The request's keys, in both forms.
#[derive(Debug, Clone, Default)]
pub struct RequestKeys {
    tabm: Arc<Message>,
    typed: Arc<Message>,
    query: Vec<(String, Param)>,
}

impl RequestKeys {
    /// Keys from the decoded request: `tabm` as httpsig@1.0 produced it, `typed` after
    /// structured@1.0.
    pub fn new(tabm: Arc<Message>, typed: Arc<Message>) -> Self {
        RequestKeys {
            tabm,
            typed,
            query: Vec::new(),
        }
    }

    /// Adds the query string's keys, which reach every step like the request's own keys.
    pub fn with_query(mut self, query: Vec<(String, Param)>) -> Self {
        self.query = query;
        self
    }

    /// A request with no keys of its own (e.g. a device resolving a path through its host).
    pub fn from_message(typed: Message) -> Self {
        let typed = Arc::new(typed);
        RequestKeys {
            tabm: typed.clone(),
            typed,
            query: Vec::new(),
        }
    }

    /// The base for step `index`: the TABM keys, without commitments, and the query's keys.
    pub fn base_message(&self, node: &Node, index: usize) -> Result<Message, DeviceError> {
        let mut base = scoped(&self.tabm, index, |k| k != "commitments");
        for (k, v) in &self.query {
            base.insert(k.as_str(), param_value(node, k, v)?);
        }
        Ok(base)
    }

    /// The request for step `index` resolving `key` with inlined `params`.
    pub fn request_message(
        &self,
        node: &Node,
        index: usize,
        key: &str,
        params: &[(String, Param)],
    ) -> Result<Message, DeviceError> {
        let mut req = scoped(&self.typed, index, |_| true);
        for (k, v) in self.query.iter().chain(params) {
            req.insert(k.as_str(), param_value(node, k, v)?);
        }
        req.insert("path", key);
        Ok(req)
    }
}

/// Keys of `m` visible to step `index`: unscoped ones, and `index.key` ones renamed `key`.
fn scoped(m: &Message, index: usize, keep: impl Fn(&str) -> bool) -> Message {
    let mut out = Message::with_capacity(m.len());
    for (k, v) in m.iter() {
        let k = k.as_str();
        if NOT_STEP_KEYS.contains(&k) || !keep(k) {
            continue;
        }
        match scope_of(k) {
            Some((n, rest)) if n == index => {
                out.insert(rest, v.clone());
            }
            Some(_) => {}
            None => {
                out.insert(k, v.clone());
            }
        }
    }
    out
}

fn scope_of(key: &str) -> Option<(usize, &str)> {
    let (n, rest) = key.split_once('.')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    n.parse().ok().map(|n| (n, rest))
}

/// The value of one inlined key. Typed values (`k+integer=5`) are decoded by `structured@1.0`,
/// so the node holds no codec logic of its own.
pub fn param_value(node: &Node, key: &str, param: &Param) -> Result<Value, DeviceError> {
    match param {
        Param::Text(t) => Ok(Value::from(t.as_str())),
        Param::True => Ok(Value::from(true)),
        Param::Resolve(path) => Ok(Value::from(path.as_str())),
        Param::Typed { ty, raw } => {
            if !key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
            {
                return Err(DeviceError::bad_request(format!(
                    "typed key `{key}` may only use a-z, 0-9, '-', '_' and '.'"
                )));
            }
            let tabm = Message::new()
                .with(key, raw.as_str())
                .with("ao-types", format!("{key}=\"{ty}\""));
            let decoded = call_with(node, "structured@1.0", "to", &tabm, &Message::new())?;
            decoded
                .as_message()
                .and_then(|m| m.get(key))
                .cloned()
                .ok_or_else(|| {
                    DeviceError::bad_request(format!("`{key}+{ty}={raw}` did not decode"))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_keys_reach_only_their_step() {
        let m = Message::new()
            .with("a", "all")
            .with("2.test-key", "two")
            .with("path", "/x")
            .with("ao-types", "x");
        assert_eq!(scoped(&m, 1, |_| true), Message::new().with("a", "all"));
        assert_eq!(
            scoped(&m, 2, |_| true),
            Message::new().with("a", "all").with("test-key", "two")
        );
    }
}
