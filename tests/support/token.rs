//! The guide's AOS token process (`tests/fixtures/lua/token.lua` on `aos@2.0`) on a running node,
//! as the Lua bench (`tests/benches/lua.rs`) and the load command (`bench/load`) set it up:
//! spawned by test wallet 2 (its owner) with the node (test wallet 1) as its scheduler, the
//! token code and the owner's funding evaluated, Transfers scheduled, and the guide's
//! `circulating-supply.lua` uploaded for the dynamic read.
//!
//! Requests the node refuses are [`SetupError`]s; a node that cannot be reached at all panics in
//! [`crate::http`], as everywhere in the test support.

use crate::bench::{send, signed};
use crate::http::{self, Response};
use crate::signatures::test_wallet_address;
use crate::upload_command;
use ferrobeam_device_api::{Message, Value};
use std::fmt;
use std::path::Path;

/// The guide's token process, verbatim.
pub const TOKEN: &str = include_str!("../fixtures/lua/token.lua");
/// The guide's dynamic-read script.
pub const SUPPLY: &str = include_str!("../fixtures/lua/circulating-supply.lua");
/// Distinct recipients [`transfer`] cycles through.
pub const HOLDERS: usize = 10;

/// The `devices.toml` entries a node needs to run the token process: the process devices with
/// the `sign` capability (assignments signed by the node wallet when `sign_assignments`), and
/// `lua@5.3a` and `aos@2.0`.
pub fn devices_toml(sign_assignments: bool) -> String {
    let mut out = String::new();
    for d in [
        "scheduler@1.0",
        "process@1.0",
        "patch@1.0",
        "test-device@1.0",
        "cache@1.0",
    ] {
        out.push_str(&format!("[devices.\"{d}\"]\ncapabilities = [\"sign\"]\n"));
    }
    out.push_str(&format!(
        "[devices.\"scheduler@1.0\".options]\nsign_assignments = {sign_assignments}\n[devices.\"lua@5.3a\"]\n[devices.\"aos@2.0\"]\n"
    ));
    out
}

/// A request of the setup the node did not answer as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// The node answered `status` (not 200) to the request doing `step`.
    Status {
        step: String,
        status: u16,
        body: String,
    },
    /// The spawn's answer named no `process`.
    NoProcessId,
    /// `ferrobeam upload` could not run or failed (its standard error, or why it did not run).
    Upload(String),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Status { step, status, body } => {
                write!(f, "{step}: the node answered {status}: {body}")
            }
            SetupError::NoProcessId => write!(f, "spawn: the answer has no `process` header"),
            SetupError::Upload(why) => write!(f, "upload: {why}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// `r` when its status is 200, else the [`SetupError`] of `step`.
fn ok(step: &str, r: Response) -> Result<Response, SetupError> {
    if r.status == 200 {
        Ok(r)
    } else {
        Err(SetupError::Status {
            step: step.to_owned(),
            status: r.status,
            body: r.text(),
        })
    }
}

/// A message to process `pid` with `fields`.
pub fn message(pid: &str, fields: &[(&str, Value)]) -> Message {
    let mut m = Message::new().with("type", "Message").with("target", pid);
    for (k, v) in fields {
        m.insert(*k, v.clone());
    }
    m
}

/// Transfer number `i`: 1 token from the owner to `holder-<i mod HOLDERS>`.
pub fn transfer(pid: &str, i: usize) -> Message {
    let target = format!("holder-{}", i % HOLDERS);
    let tags = Value::List(vec![Value::from(
        Message::new().with("name", "Target").with("value", target),
    )]);
    message(
        pid,
        &[
            ("action", Value::from("Transfer")),
            ("amount", Value::from("1")),
            ("tags", tags),
        ],
    )
}

/// The token's owner: test wallet 2's address.
pub fn owner() -> String {
    test_wallet_address(2)
}

/// The path of the guide's dynamic read of `pid`'s current state with the uploaded script
/// `module`.
pub fn dynamic_read_path(pid: &str, module: &str) -> String {
    format!("/{pid}~process@1.0/now/~lua@5.3a&module={module}/calculate/serialize~json@1.0")
}

/// A token process on the node at `addr`.
#[derive(Debug, Clone)]
pub struct TokenProcess {
    pub addr: String,
    pub pid: String,
}

impl TokenProcess {
    /// Spawns an AOS process (owner: test wallet 2, scheduler: the node, test wallet 1; `seed`
    /// makes its ID unique), evaluates the guide's token code in it and funds the owner with
    /// `balance` tokens. Nothing is computed yet.
    pub fn spawn(addr: &str, seed: &str, balance: usize) -> Result<TokenProcess, SetupError> {
        let spawn = Message::new()
            .with("random-seed", seed)
            .with("type", "Process")
            .with("execution-device", "aos@2.0")
            .with("device", "process@1.0")
            .with("scheduler", test_wallet_address(1));
        let r = ok(
            "spawn",
            send(addr, &signed(2, "/~process@1.0/schedule", spawn)),
        )?;
        let pid = r
            .header("process")
            .ok_or(SetupError::NoProcessId)?
            .to_owned();
        let token = TokenProcess {
            addr: addr.to_owned(),
            pid,
        };
        token.eval(TOKEN)?;
        token.eval(&format!("Balances['{}'] = '{balance}'", owner()))?;
        Ok(token)
    }

    /// Schedules a message with `fields`, signed by the owner.
    pub fn schedule(&self, fields: &[(&str, Value)]) -> Result<(), SetupError> {
        self.schedule_message(message(&self.pid, fields))
    }

    /// Schedules `msg`, signed by the owner.
    pub fn schedule_message(&self, msg: Message) -> Result<(), SetupError> {
        let path = self.schedule_path();
        ok("schedule", send(&self.addr, &signed(2, &path, msg)))?;
        Ok(())
    }

    /// Schedules an `Eval` of `code`.
    pub fn eval(&self, code: &str) -> Result<(), SetupError> {
        self.schedule(&[("action", "Eval".into()), ("data", code.into())])
    }

    /// Schedules Transfers `0..n` ([`transfer`]).
    pub fn transfers(&self, n: usize) -> Result<(), SetupError> {
        (0..n).try_for_each(|i| self.schedule_message(transfer(&self.pid, i)))
    }

    /// `/<pid>~process@1.0/schedule`.
    pub fn schedule_path(&self) -> String {
        format!("/{}~process@1.0/schedule", self.pid)
    }

    /// `/<pid>~process@1.0/now/<key>`.
    pub fn now_path(&self, key: &str) -> String {
        format!("/{}~process@1.0/now/{key}", self.pid)
    }

    /// `GET /<pid>~process@1.0/now/<key>`, which must answer 200: computes every slot not yet
    /// computed.
    pub fn now(&self, key: &str) -> Result<Response, SetupError> {
        let path = self.now_path(key);
        ok(
            &format!("GET {path}"),
            http::request(&self.addr, "GET", &path, &[], b""),
        )
    }
}

/// Writes the guide's `circulating-supply.lua` into `dir` and stores it on the node at `addr`
/// with `binary upload` (the `ferrobeam` binary; `config` its devices file), signed by the
/// wallet file `wallet`; the stored message's ID, the dynamic read's `module`.
pub fn upload_supply(
    binary: &Path,
    addr: &str,
    config: &Path,
    wallet: &Path,
    dir: &Path,
) -> Result<String, SetupError> {
    let file = dir.join("circulating-supply.lua");
    std::fs::write(&file, SUPPLY)
        .map_err(|e| SetupError::Upload(format!("{}: {e}", file.display())))?;
    let out = upload_command(binary, addr, config, wallet, &file, &[])
        .output()
        .map_err(|e| SetupError::Upload(format!("{}: {e}", binary.display())))?;
    if !out.status.success() {
        return Err(SetupError::Upload(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
