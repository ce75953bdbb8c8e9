//! lua@5.3a and the AOS runtime (aos@2.0) against a real node (`spec/process.md` §5–§7,
//! docs/lua.md): the guide's token and chat processes verbatim, its dynamic read, the L*, A*
//! and X* vectors, and the sandbox.

use crate::process_client::{json, Client, CONFIG};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_tests::signatures::test_wallet_address;
use ferrobeam_tests::NodeProcess;

const GUIDE_TOKEN: &str = include_str!("../fixtures/lua/token.lua");
const GUIDE_CHAT: &str = include_str!("../fixtures/lua/chat.lua");
const GUIDE_SUPPLY: &str = include_str!("../fixtures/lua/circulating-supply.lua");
const GUIDE_SYNC: &str = include_str!("../fixtures/lua/initial-sync.lua");
const GUIDE_EXPOSE: &str = include_str!("../fixtures/lua/expose.lua");

pub(crate) fn start() -> NodeProcess {
    NodeProcess::start(&format!(
        "{CONFIG}\n[devices.\"lua@5.3a\"]\n[devices.\"aos@2.0\"]\n"
    ))
}

/// Uploads `source` with `ferrobeam upload` (as the node's operator); its ID.
pub(crate) fn upload_lua(node: &NodeProcess, name: &str, source: &str) -> String {
    let file = node.scratch.dir.join(name);
    std::fs::write(&file, source).unwrap();
    let out = node.upload(1, &file, &[]);
    assert!(
        out.status.success(),
        "upload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(id.len(), 43, "an ID: {id}");
    id
}

/// Spawns an AOS process owned by `client`.
fn spawn_aos(node: &NodeProcess, client: &Client, extra: &[(&str, Value)]) -> String {
    let mut fields = vec![("execution-device", Value::from("aos@2.0"))];
    fields.extend(extra.iter().cloned());
    client.spawn(node, &fields)
}

fn eval(node: &NodeProcess, client: &Client, pid: &str, code: &str) -> u64 {
    client.schedule(
        node,
        pid,
        &[("action", Value::from("Eval")), ("data", Value::from(code))],
    )
}

fn text(node: &NodeProcess, path: &str) -> String {
    let r = node.get(path);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.text()
}

/// The state after `slot`, as JSON.
fn at(node: &NodeProcess, pid: &str, slot: u64) -> serde_json::Value {
    json(node, &format!("/{pid}~process@1.0/compute&slot={slot}"))
}

/// The one reply (non-patch outbox entry) of the state after `slot`.
fn reply(node: &NodeProcess, pid: &str, slot: u64) -> serde_json::Value {
    let state = at(node, pid, slot);
    let outbox = state["results"]["outbox"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(outbox.len(), 1, "one reply: {}", state["results"]);
    outbox
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn output(node: &NodeProcess, pid: &str, slot: u64) -> String {
    at(node, pid, slot)["results"]["output"]["data"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn the_guides_token_process_runs_as_written() {
    let node = start();
    let owner = Client::new(2);
    let pid = spawn_aos(&node, &owner, &[]);
    let me = test_wallet_address(2);
    let other = test_wallet_address(1);
    // The guide's token code, verbatim, evaluated by the owner: its initial sync patches `cache`.
    let s = eval(&node, &owner, &pid, GUIDE_TOKEN);
    let state = at(&node, &pid, s);
    assert_eq!(state["cache"]["name"], "MyToken");
    assert_eq!(state["cache"]["ticker"], "MTK");
    assert_eq!(state["cache"]["totalsupply"], "0");
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/compute/cache/name")),
        "MyToken"
    );
    // Fund the owner (the guide's token has no mint).
    eval(&node, &owner, &pid, &format!("Balances['{me}'] = '1000'"));

    // Transfer with the guide's validation: a missing target, a bad amount, too much.
    let transfer = |target: Option<&str>, amount: &str| {
        let mut fields = vec![
            ("action", Value::from("Transfer")),
            ("amount", Value::from(amount)),
        ];
        let tags;
        if let Some(t) = target {
            tags = Value::List(vec![Value::from(
                Message::new().with("name", "Target").with("value", t),
            )]);
            fields.push(("tags", tags));
        }
        owner.schedule(&node, &pid, &fields)
    };
    let bad = transfer(None, "5");
    let r = reply(&node, &pid, bad);
    assert_eq!(r["error"], "Invalid transfer parameters");
    assert_eq!(r["target"], me.as_str());
    let bad = transfer(Some(&other), "-3");
    assert_eq!(
        reply(&node, &pid, bad)["error"],
        "Invalid transfer parameters"
    );
    let bad = transfer(Some(&other), "5000");
    assert_eq!(reply(&node, &pid, bad)["error"], "Insufficient balance");
    let ok = transfer(Some(&other), "250");
    let r = reply(&node, &pid, ok);
    assert_eq!(r["status"], "Success", "{r}");
    assert_eq!(r["amount"], "250");
    assert_eq!(r["to"], other.as_str());
    let state = at(&node, &pid, ok);
    // The patched balances, read over HTTP.
    assert_eq!(state["balances"][&me], "750");
    assert_eq!(state["balances"][&other], "250");
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/compute/balances"))[&other],
        "250"
    );
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/now/totalsupply")),
        "0"
    );
    let b = json(&node, &format!("/{pid}~process@1.0/now/balances"));
    assert_eq!(b[&me], "750");

    // The guide's dynamic read: circulating-supply.lua uploaded, called with the guide's URL.
    let script = upload_lua(&node, "circulating-supply.lua", GUIDE_SUPPLY);
    let r = node.get(&format!(
        "/{pid}~process@1.0/now/~lua@5.3a&module={script}/calculate/serialize~json@1.0"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.json();
    assert_eq!(data["circulatingsupply"], "1000", "{data}");
    assert_eq!(data["holdercount"], "2");
    assert!(data.get("device").is_none(), "no stray device key: {data}");
    assert!(data["lastcalculated"].as_i64().unwrap_or(0) > 0);
    // The read changed nothing.
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/now"))["at-slot"],
        ok
    );
}

#[test]
fn the_guides_chat_process_runs_as_written() {
    let node = start();
    let owner = Client::new(2);
    let pid = spawn_aos(&node, &owner, &[]);
    eval(&node, &owner, &pid, GUIDE_CHAT);
    let user = Client::new(1);
    let empty = user.schedule(&node, &pid, &[("action", Value::from("AddMessage"))]);
    assert_eq!(
        reply(&node, &pid, empty)["error"],
        "Message cannot be empty"
    );
    let add = user.schedule(
        &node,
        &pid,
        &[
            ("action", Value::from("AddMessage")),
            ("data", Value::from("hello")),
        ],
    );
    assert_eq!(reply(&node, &pid, add)["status"], "Message added");
    let state = at(&node, &pid, add);
    let addr = test_wallet_address(1);
    assert_eq!(state["messages"]["1"]["content"], "hello");
    assert_eq!(state["messages"]["1"]["user"], addr.as_str());
    assert_eq!(state["users"][&addr], 1);
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/now/messages/1/content")),
        "hello"
    );
    // As written, `#Messages` counts string keys as 0: the guide's counts stay "0".
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/now/messagecount")),
        "0"
    );
    let get = user.schedule(
        &node,
        &pid,
        &[
            ("action", Value::from("GetMessages")),
            ("limit", Value::from("10")),
        ],
    );
    let r = reply(&node, &pid, get);
    assert_eq!(r["count"], "0");
    assert_eq!(r["data"], "[]");
}

#[test]
fn patches_expose_state_and_dynamic_reads_answer_json_x1_x2_x3() {
    let node = start();
    let owner = Client::new(2);
    let pid = spawn_aos(&node, &owner, &[]);
    eval(&node, &owner, &pid, GUIDE_EXPOSE);
    eval(&node, &owner, &pid, GUIDE_SYNC);
    eval(
        &node,
        &owner,
        &pid,
        "Send({device='patch@1.0', cache={balances={A=10}, name='T'}})",
    );
    // X1: counter is an integer; users a map.
    let r = node.get(&format!("/{pid}~process@1.0/compute/counter"));
    assert_eq!(r.text(), "42");
    assert!(
        r.header("ao-types").unwrap_or("").contains("integer"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/compute/status")),
        "active"
    );
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/now/users"))["alice"],
        100
    );
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/now/balances"))["bob"],
        500
    );
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/now/totalsupply")),
        "1500"
    );
    // X2
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/now/cache/name")),
        "T"
    );
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/now/cache/balances"))["a"],
        10
    );
    // X3, with a query parameter reaching `req`.
    let script = upload_lua(
        &node,
        "total.lua",
        "function calculate(base, req) return {total = base.counter + 1, x = req.x} end",
    );
    let r = node.get(&format!(
        "/{pid}~process@1.0/now/~lua@5.3a&module={script}/calculate/serialize~json@1.0?x=7"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"total": 43, "x": "7"}));
}

#[test]
fn aos_vectors_a1_a2_a3_l6_l7_and_eval() {
    let node = start();
    let owner = Client::new(2);
    let pid = spawn_aos(&node, &owner, &[]);
    // L6
    let s = eval(
        &node,
        &owner,
        &pid,
        "Count = 0\nfunction add() Send({Target = 'Foo', Data = 'Bar'}) Count = Count + 1 end\nadd()\nreturn Count",
    );
    let st = at(&node, &pid, s);
    assert_eq!(st["results"]["output"]["data"], "1");
    assert_eq!(st["results"]["output"]["prompt"], "aos> ");
    assert_eq!(st["results"]["outbox"]["1"]["target"], "Foo");
    assert_eq!(st["results"]["outbox"]["1"]["data"], "Bar");
    // A1: tag names are normalised.
    eval(
        &node,
        &owner,
        &pid,
        "Handlers.add('tags', Handlers.utils.hasMatchingTag('Action', 'Tags'), function(msg) print(msg.Tags.Type .. '|' .. msg.Tags['Data-Protocol'] .. '|' .. msg.Tags.Message .. '|' .. msg.Action) end)",
    );
    let s = owner.schedule(
        &node,
        &pid,
        &[
            ("data-PROTOCOL", Value::from("ao")),
            ("MESSAGE", Value::from("m")),
            ("action", Value::from("Tags")),
        ],
    );
    assert_eq!(output(&node, &pid, s), "Message|ao|m|Tags");
    // A2: table Data becomes JSON; JSON Data arrives as a table.
    let s = eval(
        &node,
        &owner,
        &pid,
        "Send({Target = 'AOS', Data = {foo = 'bar'}})",
    );
    let out = &at(&node, &pid, s)["results"]["outbox"]["1"];
    assert_eq!(out["data"], r#"{"foo":"bar"}"#);
    assert_eq!(out["content-type"], "application/json");
    owner.schedule(
        &node,
        &pid,
        &[
            ("content-type", Value::from("application/json")),
            ("data", Value::from(r#"{"foo":"bar"}"#)),
        ],
    );
    let s = eval(&node, &owner, &pid, "return Inbox[#Inbox].Data.foo");
    assert_eq!(output(&node, &pid, s), "bar");
    // A3: os.time() is the message's timestamp (ms).
    eval(
        &node,
        &owner,
        &pid,
        "Handlers.add('time', 'Time', function(msg) print(os.time() == msg.Timestamp and 'same' or 'different') print(os.time()) end)",
    );
    let s = owner.schedule(&node, &pid, &[("action", Value::from("Time"))]);
    let st = at(&node, &pid, s);
    let out = st["results"]["output"]["data"].as_str().unwrap().to_owned();
    assert!(out.starts_with("same\n"), "{out}");
    assert!(out.trim_start_matches("same\n").parse::<i64>().unwrap() > 1_600_000_000_000);
    // Only the owner may Eval; anyone else's Eval goes to the Inbox.
    let stranger = Client::new(1);
    let s = eval(&node, &stranger, &pid, "Owned = true");
    assert!(
        output(&node, &pid, s).contains("New Message From"),
        "{}",
        output(&node, &pid, s)
    );
    let s = eval(&node, &owner, &pid, "return Owned == nil");
    assert_eq!(output(&node, &pid, s), "true");
    // L7: a message relayed for another process by a signer that is no authority.
    let s = stranger.schedule(&node, &pid, &[("from-process", Value::from("1234"))]);
    assert_eq!(output(&node, &pid, s), "Message is not trusted.");
    // Handlers: once, continue, remove.
    eval(
        &node,
        &owner,
        &pid,
        "Handlers.once('one', 'Ping', function() print('once') end)\nHandlers.prepend('c', Handlers.utils.continue(Handlers.utils.hasMatchingTag('Action', 'Ping')), function() print('first') end)",
    );
    let s = owner.schedule(&node, &pid, &[("action", Value::from("Ping"))]);
    assert_eq!(output(&node, &pid, s), "first\nonce");
    let s = owner.schedule(&node, &pid, &[("action", Value::from("Ping"))]);
    let out = output(&node, &pid, s);
    assert!(
        out.starts_with("first\n") && out.contains("New Message From"),
        "{out}"
    );
    // An error in an Eval is reported; the state is unchanged.
    let s = eval(&node, &owner, &pid, "Count = 99 error('boom')");
    let st = at(&node, &pid, s);
    assert!(
        st["results"]["error"].as_str().unwrap().contains("boom"),
        "{st}"
    );
    let s = eval(&node, &owner, &pid, "return Count");
    assert_eq!(
        output(&node, &pid, s),
        "99",
        "changes before an error stay (AOS)"
    );
}

#[test]
fn sandbox_escapes_and_runaway_code_are_clear_errors_and_leave_the_state_unchanged() {
    let node = start();
    let owner = Client::new(2);
    let pid = spawn_aos(
        &node,
        &owner,
        &[
            ("lua-instruction-budget", Value::from(5_000_000)),
            ("lua-memory-limit", Value::from(32 * 1024 * 1024)),
        ],
    );
    eval(
        &node,
        &owner,
        &pid,
        "Send({device = 'patch@1.0', counter = 42}) Kept = 'yes'",
    );
    let cases: &[(&str, &[&str])] = &[
        ("Kept = 'no' while true do end", &["lua: instruction budget exhausted"]),
        (
            "Kept = 'no' local co = coroutine.create(function() while true do end end) coroutine.resume(co)",
            &["lua: instruction budget exhausted"],
        ),
        (
            "Kept = 'no' pcall(function() while true do end end)",
            &["lua: instruction budget exhausted"],
        ),
        (
            "Kept = 'no' local t = {} while true do t[#t + 1] = string.rep('x', 4096) .. #t end",
            &["lua: memory limit exceeded"],
        ),
        ("Kept = 'no' assert(load('\\27Lua' .. string.rep('x', 30)))", &["binary chunk"]),
        ("Kept = 'no' return string.dump(print)", &["dump"]),
        ("Kept = 'no' os.execute('touch /tmp/ferrobeam-escaped')", &["execute"]),
        ("Kept = 'no' return io.open('/etc/passwd')", &["io"]),
        (
            "Kept = 'no' local function f(n) return 1 + f(n + 1) end return f(1)",
            &["stack overflow", "lua: memory limit exceeded"],
        ),
    ];
    for (code, expected) in cases {
        let s = eval(&node, &owner, &pid, code);
        let st = at(&node, &pid, s);
        let error = st["results"]["error"].as_str().unwrap_or("").to_owned();
        assert!(
            expected.iter().any(|e| error.contains(e)),
            "{code}: expected one of {expected:?}, got {}",
            st["results"]
        );
        assert_eq!(st["counter"], 42, "{code}: the patched state is unchanged");
        // The VM is unchanged too: budget and memory failures are rolled back.
        let check = eval(&node, &owner, &pid, "return Kept");
        let kept = output(&node, &pid, check);
        if error.starts_with("lua: ") {
            assert_eq!(kept, "yes", "{code}: rolled back");
        }
        eval(&node, &owner, &pid, "Kept = 'yes'");
    }
    assert!(!std::path::Path::new("/tmp/ferrobeam-escaped").exists());
    // Dynamic reads run in a fresh sandboxed VM: the same failures, as 4xx/5xx answers.
    for (name, src, status, expected) in [
        ("loop.lua", "function calculate() while true do end end", 400, "lua: instruction budget exhausted"),
        ("co.lua", "function calculate() coroutine.wrap(function() while true do end end)() end", 400, "lua: instruction budget exhausted"),
        ("bomb.lua", "function calculate() local t = {} while true do t[#t + 1] = string.rep('y', 65536) .. #t end end", 400, "lua: memory limit exceeded"),
        ("exec.lua", "function calculate() return os.execute('true') end", 500, "execute"),
    ] {
        let id = upload_lua(&node, name, src);
        let r = node.get(&format!(
            "/{pid}~process@1.0/now/~lua@5.3a&module={id}/calculate/serialize~json@1.0"
        ));
        assert_eq!(r.status, status, "{name}: {}", r.text());
        assert!(r.text().contains(expected), "{name}: {}", r.text());
    }
    assert_eq!(
        text(&node, &format!("/{pid}~process@1.0/now/counter")),
        "42"
    );
    // Every spent budget is counted in the node's metrics, by device and budget.
    let metrics = node.get("/metrics").text();
    for series in [
        "ferrobeam_device_lua_budget_exhausted_total{device=\"aos@2.0\",budget=\"instructions\"}",
        "ferrobeam_device_lua_budget_exhausted_total{device=\"aos@2.0\",budget=\"memory\"}",
        "ferrobeam_device_lua_budget_exhausted_total{device=\"lua@5.3a\",budget=\"instructions\"}",
        "ferrobeam_device_lua_budget_exhausted_total{device=\"lua@5.3a\",budget=\"memory\"}",
    ] {
        assert!(metrics.contains(series), "missing {series} in:\n{metrics}");
    }
}

const PLAIN_MODULE: &str = r#"
function compute(base, req)
  base.results = { output = { body = 42 } }
  return base
end
function inc(base, req)
  base.count = (base.count or 0) + 1
  base.results = { output = { body = base.count } }
  return base
end
"#;

#[test]
fn l4_l5_a_plain_lua_process_computes_and_path_keys_call_functions() {
    let node = start();
    let owner = Client::new(2);
    let module = upload_lua(&node, "test.lua", PLAIN_MODULE);
    let pid = owner.spawn(
        &node,
        &[
            ("execution-device", Value::from("lua@5.3a")),
            ("module", Value::from(module.as_str())),
        ],
    );
    owner.schedule(&node, &pid, &[("x", Value::from("1"))]);
    assert_eq!(
        text(
            &node,
            &format!("/{pid}~process@1.0/now/results/output/body")
        ),
        "42"
    );
    owner.schedule(&node, &pid, &[("path", Value::from("inc"))]);
    assert_eq!(text(&node, &format!("/{pid}~process@1.0/now/count")), "1");
    owner.schedule(&node, &pid, &[("path", Value::from("inc"))]);
    assert_eq!(text(&node, &format!("/{pid}~process@1.0/now/count")), "2");
}

#[test]
fn a_restarted_node_resumes_a_lua_process_from_its_snapshot() {
    let data = std::env::temp_dir().join(format!("ferrobeam-lua-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let start_on = || {
        let scratch = ferrobeam_tests::Scratch::with_first_party("lua-restart", &[]);
        let d = data.to_string_lossy().into_owned();
        NodeProcess::start_with(
            scratch,
            &format!("{CONFIG}\n[devices.\"lua@5.3a\"]\n[devices.\"aos@2.0\"]\n"),
            &["--data-dir", &d],
        )
    };
    let owner = Client::new(2);
    let me = test_wallet_address(2);
    let other = test_wallet_address(1);
    let mut first = start_on();
    let pid = spawn_aos(&first, &owner, &[]);
    eval(&first, &owner, &pid, GUIDE_TOKEN);
    eval(
        &first,
        &owner,
        &pid,
        &format!("Balances['{me}'] = '1000' Seen = {{}} Seen.self = Seen"),
    );
    let tags = Value::List(vec![Value::from(
        Message::new()
            .with("name", "Target")
            .with("value", other.as_str()),
    )]);
    let transfer = |node: &NodeProcess| {
        owner.schedule(
            node,
            &pid,
            &[
                ("action", Value::from("Transfer")),
                ("amount", Value::from("100")),
                ("tags", tags.clone()),
            ],
        )
    };
    transfer(&first);
    assert_eq!(
        json(&first, &format!("/{pid}~process@1.0/now/balances"))[&me],
        "900"
    );
    first.kill_hard();

    let second = start_on();
    let s = transfer(&second);
    let st = at(&second, &pid, s);
    assert_eq!(st["balances"][&me], "800", "{}", st["results"]);
    assert_eq!(st["balances"][&other], "200");
    let s = eval(
        &second,
        &owner,
        &pid,
        "return (Seen.self == Seen) and #Handlers.list",
    );
    assert_eq!(
        output(&second, &pid, s),
        "3",
        "handlers rebuilt, cycles kept"
    );
    assert!(
        !second.log().contains("could not be restored"),
        "resumed from the snapshot, not a replay: {}",
        second.log()
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&data);
}
