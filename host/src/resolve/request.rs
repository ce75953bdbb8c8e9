//! The keys of an HTTP request as each step sees them (`spec/codecs.md` §9.1 step 5).
//!
//! A request's own keys (its headers and body fields) reach every step: the base of a leading
//! `~device` step sees them as the TABM (`msg1` of the custom-devices guide), each request step
//! as the typed message with its commitments and `path` set to the step's key (`msg2`). A key
//! written `N.key` reaches only step `N`.

use super::call_with;
use crate::node::Node;
use crate::path::Param;
use ferrobeam_device_api::{wire, DeviceError, Message, Value};
use std::sync::{Arc, OnceLock};

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
    first: Option<Arc<FirstStep>>,
}

/// The first step of a request sent again and again, worked out once: its base and request
/// messages and their hashpath are pure functions of the decoded request and its path (and of
/// `httpsig@1.0`, which identifies them), so a remembered request (`http::RequestCache`) keeps
/// them with its decoding. Only the device call runs again.
#[derive(Debug, Default)]
pub struct FirstStep(OnceLock<Prepared>);

/// A first step's messages and hashpath, and the `httpsig@1.0` generation that identified them.
#[derive(Debug)]
pub struct Prepared {
    /// The step's base message.
    pub base: Message,
    /// The step's request message.
    pub req: Message,
    /// The hashpath its result records, if the messages could be identified.
    pub hashpath: Option<String>,
    generation: Option<u64>,
}

impl FirstStep {
    /// The most a remembered step's messages take on the wire (the request cache keeps only
    /// requests of up to 16 KiB too).
    pub const MAX_BYTES: usize = 16 << 10;

    /// The step prepared by `prepare`, from this memo when it was prepared before with the
    /// `httpsig@1.0` generation loaded now. A step whose base and request take more than
    /// [`FirstStep::MAX_BYTES`] on the wire is prepared for this request only: the memo lives as
    /// long as the decoded request it belongs to, and the request cache bounds those by their
    /// own size, not by what a base loaded from the store may hold.
    pub fn get_or_prepare(
        &self,
        generation: Option<u64>,
        prepare: impl FnOnce() -> Result<(Message, Message, Option<String>), DeviceError>,
    ) -> Result<PreparedRef<'_>, DeviceError> {
        if let Some(known) = self.0.get().filter(|p| p.generation == generation) {
            return Ok(PreparedRef::Remembered(known));
        }
        let (base, req, hashpath) = prepare()?;
        let prepared = Prepared {
            base,
            req,
            hashpath,
            generation,
        };
        if wire::encoded_len(&prepared.base) + wire::encoded_len(&prepared.req) > Self::MAX_BYTES {
            return Ok(PreparedRef::Fresh(Box::new(prepared)));
        }
        // The first to prepare it keeps it; a later generation simply prepares again.
        match self.0.set(prepared) {
            Ok(()) => match self.0.get() {
                Some(p) => Ok(PreparedRef::Remembered(p)),
                None => Err(DeviceError::failure("a prepared step vanished")),
            },
            Err(prepared) => Ok(PreparedRef::Fresh(Box::new(prepared))),
        }
    }
}

/// A prepared first step: remembered, or prepared for this request only.
#[derive(Debug)]
pub enum PreparedRef<'a> {
    /// Kept in the memo.
    Remembered(&'a Prepared),
    /// Not kept (another generation's is).
    Fresh(Box<Prepared>),
}

impl std::ops::Deref for PreparedRef<'_> {
    type Target = Prepared;
    fn deref(&self) -> &Prepared {
        match self {
            PreparedRef::Remembered(p) => p,
            PreparedRef::Fresh(p) => p,
        }
    }
}

impl RequestKeys {
    /// Keys from the decoded request: `tabm` as httpsig@1.0 produced it, `typed` after
    /// structured@1.0.
    pub fn new(tabm: Arc<Message>, typed: Arc<Message>) -> Self {
        RequestKeys {
            tabm,
            typed,
            query: Vec::new(),
            first: None,
        }
    }

    /// Adds the query string's keys, which reach every step like the request's own keys.
    pub fn with_query(mut self, query: Vec<(String, Param)>) -> Self {
        self.query = query;
        self
    }

    /// Keeps the first step's messages and hashpath in `memo`, which must belong to this
    /// request and path alone (a remembered request's).
    pub fn with_first_step_memo(mut self, memo: Arc<FirstStep>) -> Self {
        self.first = Some(memo);
        self
    }

    /// The first step's memo, if the request has one.
    pub fn first_step_memo(&self) -> Option<&FirstStep> {
        self.first.as_deref()
    }

    /// A request with no keys of its own (e.g. a device resolving a path through its host).
    pub fn from_message(typed: Message) -> Self {
        let typed = Arc::new(typed);
        RequestKeys {
            tabm: typed.clone(),
            typed,
            query: Vec::new(),
            first: None,
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
    fn a_first_step_is_prepared_once_per_id_generation() {
        let memo = FirstStep::default();
        let mut prepared = 0;
        let mut prepare = |n: i64| {
            prepared += 1;
            Ok((
                Message::new().with("n", n),
                Message::new(),
                Some(format!("h{n}")),
            ))
        };
        assert_eq!(
            memo.get_or_prepare(Some(1), || prepare(1))
                .unwrap()
                .hashpath
                .as_deref(),
            Some("h1")
        );
        assert_eq!(
            memo.get_or_prepare(Some(1), || prepare(9))
                .unwrap()
                .hashpath
                .as_deref(),
            Some("h1")
        );
        // A reloaded httpsig@1.0 identifies again; the memo keeps the first generation's.
        assert_eq!(
            memo.get_or_prepare(Some(2), || prepare(2))
                .unwrap()
                .hashpath
                .as_deref(),
            Some("h2")
        );
        assert_eq!(prepared, 2);
        // A failure is not remembered.
        let fresh = FirstStep::default();
        assert!(fresh
            .get_or_prepare(None, || Err(DeviceError::bad_request("no")))
            .is_err());
        assert!(fresh.0.get().is_none());
        // Messages past MAX_BYTES are used for this request and not kept.
        let large = FirstStep::default();
        let big = Message::new().with("data", vec![0u8; FirstStep::MAX_BYTES]);
        let step = large
            .get_or_prepare(Some(1), || Ok((big.clone(), Message::new(), None)))
            .unwrap();
        assert!(matches!(step, PreparedRef::Fresh(_)));
        assert_eq!(step.base, big);
        assert!(large.0.get().is_none());
    }

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
