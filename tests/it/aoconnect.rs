//! aoconnect's flows on Lua AOS processes, as ANS-104 items (`spec/clients.md` §3.2): the
//! guide's token spawned with an uploaded module and driven by `push`, its state read over HTTP;
//! two processes talking through `push` (HyperBEAM's G2), and a dry run (G3) that leaves the
//! state as it was. The JSON answers carry the legacy AO result under `raw`, as aoconnect reads.

use crate::ans104::{message_item, post, spawn_item};
use crate::lua::{start, upload_lua};
use ferrobeam_tests::signatures::test_wallet_address;
use ferrobeam_tests::NodeProcess;

const GUIDE_TOKEN: &str = include_str!("../fixtures/lua/token.lua");

/// Spawns an AOS process through `POST /push` with `module`; its ID.
fn spawn(node: &NodeProcess, module: &str, name: &str) -> String {
    let item = spawn_item(2, "aos@2.0", module, &[("Name", name)]);
    let r = post(node, "/push", &item);
    assert_eq!(r.status, 200, "spawn: {}", r.text());
    r.header("process").expect("process header").to_owned()
}

/// aoconnect's `message`: a pushed item; the JSON answer.
fn push(node: &NodeProcess, pid: &str, tags: &[(&str, &str)], data: &str) -> serde_json::Value {
    let r = post(
        node,
        &format!("/{pid}~process@1.0/push"),
        &message_item(2, pid, tags, data),
    );
    assert_eq!(r.status, 200, "push: {}", r.text());
    r.json()
}

/// The owner's `Eval` of `code` on `pid`: the output text.
fn eval(node: &NodeProcess, pid: &str, code: &str) -> String {
    let answer = push(node, pid, &[("Action", "Eval")], code);
    answer["output"]["data"].as_str().unwrap_or("").to_owned()
}

#[test]
fn the_guides_token_over_ans104_push_with_its_state_read_over_http() {
    let node = start();
    // aoconnect's spawn names a module (uploaded to this node); the guide then loads its token
    // code into the process with an Eval (aos's `.load token.lua`).
    let module = upload_lua(&node, "boot.lua", "-- a token process\n");
    let pid = spawn(&node, &module, "token");
    let me = test_wallet_address(2);
    let other = test_wallet_address(1);
    eval(&node, &pid, GUIDE_TOKEN);
    // Its initial sync patched `cache`.
    let r = node.get(&format!("/{pid}~process@1.0/now/cache/name"));
    assert_eq!(r.text(), "MyToken", "{}", r.text());

    eval(&node, &pid, &format!("Balances['{me}'] = '1000'"));
    // aoconnect sends `Target` as a tag next to the item's target: the handler reads it as
    // msg.Tags.Target.
    let answer = push(
        &node,
        &pid,
        &[
            ("Action", "Transfer"),
            ("Target", &other),
            ("Amount", "250"),
        ],
        "",
    );
    // The reply went to the sender's wallet, which is no process: push says so for that entry.
    assert!(answer["slot"].as_u64().is_some(), "{answer}");

    // The state the patches exposed, over plain HTTP (the guide's AOProcessClient.getState).
    let r = node.get(&format!("/{pid}~process@1.0/compute/balances/{other}"));
    assert_eq!(r.text(), "250");
    let r = node.get(&format!("/{pid}~process@1.0/now/balances/{me}"));
    assert_eq!(r.text(), "750");

    // aoconnect's result: the legacy AO result under `raw`.
    let slot = answer["slot"].as_u64().unwrap();
    let r = post(
        &node,
        &format!("/{pid}~process@1.0/compute/results={slot}"),
        &message_item(2, &pid, &[], "1984"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let raw = &r.json()["raw"];
    assert_eq!(raw["Messages"][0]["Target"], me.as_str(), "{raw}");
    let tags = raw["Messages"][0]["Tags"].as_array().unwrap();
    assert!(
        tags.iter()
            .any(|t| t["name"] == "Status" && t["value"] == "Success"),
        "{raw}"
    );
    assert_eq!(raw["Spawns"], serde_json::json!([]));
}

#[test]
fn two_processes_talk_through_push_and_a_dry_run_changes_nothing_g2_g3() {
    let node = start();
    let receiver_code = r#"
Number = Number or 5
Handlers.add("Increment", Handlers.utils.hasMatchingTag("Action", "Increment"), function(msg)
  Number = Number + 1
  msg.reply({ Data = "The current number is " .. Number .. "!" })
end)
"#;
    let receiver_module = upload_lua(&node, "receiver.lua", receiver_code);
    let sender_module = upload_lua(&node, "sender.lua", "-- sends with Eval\n");
    let receiver = spawn(&node, &receiver_module, "receiver");
    let sender = spawn(&node, &sender_module, "sender");

    // The sender's owner evaluates a Send; push delivers it to the receiver (signed by the
    // node, `from-process` = sender), whose reply is pushed back into the sender's Inbox.
    let send = format!("Send({{ Target = '{receiver}', Action = 'Increment' }})");
    let answer = push(&node, &sender, &[("Action", "Eval")], &send);
    // The push answer names what it delivered under the outbox key, and what that resulted in.
    let delivered = &answer["1"];
    assert_eq!(delivered["target"], receiver.as_str(), "{answer}");
    assert_eq!(
        delivered["resulted-in"]["1"]["target"],
        sender.as_str(),
        "{answer}"
    );
    assert_eq!(eval(&node, &receiver, "return Number"), "6");
    assert_eq!(
        eval(&node, &sender, "return Inbox[#Inbox].Data"),
        "The current number is 6!"
    );
    push(&node, &sender, &[("Action", "Eval")], &send);
    assert_eq!(eval(&node, &receiver, "return Number"), "7");
    assert_eq!(eval(&node, &receiver, "return #Handlers.list"), "3");

    // G3: a dry run answers what Increment would reply, and the receiver stays at 7.
    let r = post(
        &node,
        &format!("/{receiver}~process@1.0/as=execution/compute&Action=Increment"),
        &message_item(2, &receiver, &[], "1984"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let raw = &r.json()["raw"];
    assert_eq!(
        raw["Messages"][0]["Data"], "The current number is 8!",
        "{raw}"
    );
    assert_eq!(eval(&node, &receiver, "return Number"), "7");
}
