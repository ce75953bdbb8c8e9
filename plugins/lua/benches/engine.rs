//! The Lua engine alone, in-process (no HTTP, no store, no process@1.0): the guide's token
//! `Transfer` through `aos@2.0`'s `compute`, and a fresh sandboxed VM as a dynamic read builds
//! it. Prints figures (BENCHMARKS.md, "Lua processes").
//!
//! ```sh
//! cargo bench -p ferrobeam-lua --bench engine
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ferrobeam_device_api::testing::{TestDevice, TestHost};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_lua::device::{Aos, Lua53a};
use std::time::Instant;

const TOKEN: &str = include_str!("../../../tests/fixtures/lua/token.lua");
const SUPPLY: &str = include_str!("../../../tests/fixtures/lua/circulating-supply.lua");
const OWNER: &str = "Nh9LB8GbzxRU3DY2FJ4yf6MINld-9nADMlmZEjtq3Rs";
const PID: &str = "PROCESSPROCESSPROCESSPROCESSPROCESSPROCESS0";

/// A body "signed" by `who` (the engine reads the committer; the node verified it before).
fn body(who: &str, fields: Message) -> Message {
    fields.with(
        "commitments",
        Message::new().with(
            "COMMITMENTCOMMITMENTCOMMITMENTCOMMITMENT000",
            Message::new()
                .with("committer", who)
                .with("alg", "rsa-pss-sha512"),
        ),
    )
}

fn assignment(slot: i64, body: Message) -> Message {
    Message::new()
        .with("process", PID)
        .with("slot", slot)
        .with("timestamp", 1_700_000_000_000i64 + slot)
        .with("body", body)
}

fn main() {
    let aos = TestDevice::<Aos>::with_host(TestHost::new(), Message::new()).unwrap();
    let process = body(OWNER, Message::new().with("type", "Process"));
    let mut state = Message::new()
        .with("process", process.clone())
        .with("at-slot", -1);
    let mut slot = 0;
    let mut step = |state: &mut Message, b: Message| {
        let mut next = aos
            .call("compute", state, &assignment(slot, b))
            .unwrap()
            .as_message()
            .unwrap()
            .clone();
        next.insert("at-slot", slot);
        next.remove("results");
        *state = next;
        slot += 1;
    };
    step(&mut state, process);
    step(
        &mut state,
        body(
            OWNER,
            Message::new().with("action", "Eval").with("data", TOKEN),
        ),
    );
    step(
        &mut state,
        body(
            OWNER,
            Message::new()
                .with("action", "Eval")
                .with("data", format!("Balances['{OWNER}'] = '100000000'")),
        ),
    );
    let n = 20_000;
    let start = Instant::now();
    for i in 0..n {
        let tags = Value::List(vec![Value::from(
            Message::new()
                .with("name", "Target")
                .with("value", format!("holder-{}", i % 10)),
        )]);
        step(
            &mut state,
            body(
                OWNER,
                Message::new()
                    .with("action", "Transfer")
                    .with("amount", "1")
                    .with("tags", tags),
            ),
        );
    }
    let t = start.elapsed();
    println!(
        "aos@2.0 compute, guide token Transfer, in-process (wire-encoded state and assignment, no store): {:.0} evaluations/s ({:.1} µs each, {n} messages)",
        n as f64 / t.as_secs_f64(),
        t.as_micros() as f64 / n as f64
    );

    let lua = TestDevice::<Lua53a>::new().unwrap();
    let base = Message::new()
        .with(
            "module",
            Message::new()
                .with("content-type", "application/lua")
                .with("body", SUPPLY),
        )
        .with(
            "balances",
            (0..10).fold(Message::new(), |m, i| m.with(format!("holder-{i}"), "100")),
        );
    let reads = 2_000;
    let start = Instant::now();
    for _ in 0..reads {
        let out = lua.call("calculate", &base, &Message::new()).unwrap();
        assert_eq!(
            out.as_message().unwrap().get_str("circulatingsupply"),
            Some("1000")
        );
    }
    let t = start.elapsed();
    println!(
        "lua@5.3a dynamic read in-process (fresh sandboxed VM, module loaded, calculate over 10 holders): {:.1} µs each",
        t.as_micros() as f64 / reads as f64
    );
}
