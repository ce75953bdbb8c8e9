//! The AOS runtime (`aos@2.0`) in-process: the Handlers vectors of `spec/process.md` §6.4, the
//! outbox (§6.5), trust, spawns and a snapshot round trip, slot by slot as process@1.0 drives it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferrobeam_device_api::testing::{TestDevice, TestHost};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_lua::device::Aos;

const OWNER: &str = "FREDFREDFREDFREDFREDFREDFREDFREDFREDFREDRED";
const OTHER: &str = "OTHEROTHEROTHEROTHEROTHEROTHEROTHEROTHEROTH";

struct Proc {
    dev: TestDevice<Aos>,
    state: Message,
    slot: i64,
    pid: String,
}

fn signed(who: &str, fields: Message) -> Message {
    fields.with(
        "commitments",
        Message::new().with(
            format!("ID{:041}", who.len() + fields_len(who)),
            Message::new().with("committer", who),
        ),
    )
}

fn fields_len(who: &str) -> usize {
    who.bytes().map(usize::from).sum()
}

impl Proc {
    fn spawn(tag: &str, extra: Message) -> Proc {
        let mut process = extra.with("type", "Process").with("name", "Tester");
        // The process ID is its signed commitment's ID (`spec/process.md` §2.2).
        let pid = format!("{tag:P<43}");
        process.insert(
            "commitments",
            Message::new().with(pid.as_str(), Message::new().with("committer", OWNER)),
        );
        let mut p = Proc {
            dev: TestDevice::<Aos>::with_host(TestHost::new(), Message::new()).unwrap(),
            state: Message::new()
                .with("process", process.clone())
                .with("at-slot", -1),
            slot: 0,
            pid,
        };
        p.send(process);
        p
    }

    /// Computes one slot; its results.
    fn send(&mut self, body: Message) -> Message {
        let a = Message::new()
            .with("process", self.pid.as_str())
            .with("slot", self.slot)
            .with("timestamp", 1_700_000_000_000i64 + self.slot)
            .with("body", body);
        let mut next = self
            .dev
            .call("compute", &self.state, &a)
            .unwrap()
            .as_message()
            .unwrap()
            .clone();
        let results = next.remove("results").unwrap();
        next.insert("at-slot", self.slot);
        self.state = next;
        self.slot += 1;
        results.as_message().unwrap().clone()
    }

    fn from(&mut self, who: &str, fields: &[(&str, &str)]) -> Message {
        let mut m = Message::new();
        for (k, v) in fields {
            m.insert(*k, *v);
        }
        self.send(signed(who, m))
    }

    fn eval(&mut self, code: &str) -> Message {
        self.from(OWNER, &[("action", "Eval"), ("data", code)])
    }
}

fn data(results: &Message) -> String {
    results
        .get_message("output")
        .and_then(|o| o.get_str("data"))
        .unwrap_or("")
        .to_owned()
}

fn outbox(results: &Message, i: usize) -> Message {
    results
        .get_message("outbox")
        .and_then(|o| o.get_message(&i.to_string()))
        .cloned()
        .unwrap_or_default()
}

#[test]
fn continue_continue_skip_then_default() {
    let mut p = Proc::spawn("pipe", Message::new());
    p.eval(
        r#"
        Handlers.add("one", function() return "continue" end, function() print("one") end)
        Handlers.add("two", function() return 1 end, function() print("two") end)
        Handlers.add("three", function() return "skip" end, function() print("three") end)
        "#,
    );
    let r = p.from(OWNER, &[("data", "ping")]);
    assert_eq!(
        data(&r),
        "one\ntwo\n\u{1b}[90mNew Message From \u{1b}[32mFRE...RED\u{1b}[90m: \u{1b}[90mData = \u{1b}[34mping\u{1b}[0m"
    );
}

#[test]
fn once_fires_once_and_a_reply_carries_the_balance() {
    let mut p = Proc::spawn("once", Message::new());
    p.eval(
        r#"
        Handlers.once("ping", "Ping", function(msg) print("pong") end)
        Handlers.add("Balance", function(msg) msg.reply({ Data = "1000" }) end)
        "#,
    );
    assert_eq!(data(&p.from(OWNER, &[("action", "Ping")])), "pong");
    assert!(data(&p.from(OWNER, &[("action", "Ping")])).contains("New Message From"));
    let r = p.from(OTHER, &[("action", "Balance"), ("x-reference", "7")]);
    let reply = outbox(&r, 1);
    assert_eq!(reply.get_str("data"), Some("1000"));
    assert_eq!(reply.get_str("target"), Some(OTHER));
    assert_eq!(reply.get_str("x-reference"), Some("7"));
    assert_eq!(reply.get_str("data-protocol"), Some("ao"));
    assert_eq!(reply.get_str("type"), Some("Message"));
    assert_eq!(reply.get_str("anchor").map(str::len), Some(32));
}

#[test]
fn patterns_tag_specs_and_utils() {
    let mut p = Proc::spawn("pat", Message::new());
    p.eval(
        r#"
        Handlers.add("spec", { Action = "Credit-Notice", Quantity = "_" }, function(m) print("credit " .. m.Quantity) end)
        Handlers.add("of", Handlers.utils.hasMatchingTagOf("Action", { "A", "B" }), function() print("of") end)
        Handlers.add("data", Handlers.utils.hasMatchingData("exact"), Handlers.utils.reply("got it"))
        Handlers.add("pat", { Action = "Get%-.*" }, function() print("lua pattern") end)
        "#,
    );
    assert_eq!(
        data(&p.from(OWNER, &[("action", "Credit-Notice"), ("quantity", "5")])),
        "credit 5"
    );
    assert_eq!(data(&p.from(OWNER, &[("action", "B")])), "of");
    let r = p.from(OTHER, &[("data", "exact")]);
    assert_eq!(outbox(&r, 1).get_str("data"), Some("got it"));
    assert_eq!(
        data(&p.from(OWNER, &[("action", "Get-Info")])),
        "lua pattern"
    );
    let r = p.eval("Handlers.remove('of') return #Handlers.list");
    assert_eq!(data(&r), "5");
}

#[test]
fn spawns_forward_require_json_and_the_process_name() {
    let mut p = Proc::spawn("misc", Message::new());
    let r = p.eval("Spawn('MODULEMODULEMODULEMODULEMODULEMODULEMODULE', { Data = 'x', Name = 'child' }) return Name");
    assert_eq!(data(&r), "Tester");
    let spawns = r.get("spawns").and_then(Value::as_list).unwrap();
    assert_eq!(spawns.len(), 1);
    let s = spawns[0].as_message().unwrap();
    assert_eq!(s.get_str("type"), Some("Process"));
    assert_eq!(s.get_str("name"), Some("child"));
    p.eval("Handlers.add('fwd', 'Fwd', function(m) m.forward('SOMEWHERE', { Extra = 'yes' }) end)");
    let r = p.from(OTHER, &[("action", "Fwd"), ("data", "hi")]);
    let f = outbox(&r, 1);
    assert_eq!(f.get_str("target"), Some("SOMEWHERE"));
    assert_eq!(f.get_str("extra"), Some("yes"));
    assert_eq!(f.get_str("reply-to"), Some(OTHER));
    assert_eq!(f.get_str("data"), Some("hi"));
    let r = p.eval(
        "return require('json').encode({ list = {1, 2}, n = 1.5 }) .. require('.json').encode({})",
    );
    assert_eq!(data(&r), r#"{"list":[1,2],"n":1.5}[]"#);
}

#[test]
fn trust_authorities_and_snapshots() {
    let mut p = Proc::spawn("trust", Message::new().with("authority", "AUTH1,AUTH2"));
    // Relayed by a signer that is no authority.
    let r = p.from(OTHER, &[("from-process", "1234")]);
    assert_eq!(data(&r), "Message is not trusted.");
    // Relayed by an authority.
    let r = p.from("AUTH2", &[("from-process", "1234"), ("action", "Hello")]);
    assert!(data(&r).contains("New Message From"), "{}", data(&r));
    p.eval("Counter = 41 Shared = { n = 1 } Alias = Shared Handlers.add('inc', 'Inc', function() Counter = Counter + 1 end)");
    // A snapshot of the live VM, restored by `normalize` in a new device (a restarted node).
    let snap = p.dev.call("snapshot", &p.state, &Message::new()).unwrap();
    let stored = p.state.clone().with("snapshot", snap);
    let fresh = TestDevice::<Aos>::with_host(TestHost::new(), Message::new()).unwrap();
    fresh.call("normalize", &stored, &Message::new()).unwrap();
    p.dev = fresh;
    p.from(OWNER, &[("action", "Inc")]);
    let r = p.eval("return Counter .. ' ' .. tostring(Alias == Shared) .. ' ' .. #Inbox");
    assert_eq!(data(&r), "42 true 2");
}
