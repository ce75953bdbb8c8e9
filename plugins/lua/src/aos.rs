//! `aos@2.0`: a process's slot through the AOS runtime (docs/lua.md, "The AOS runtime").
//!
//! The assignment becomes the legacy AOS `msg` (`spec/process.md` §6.3): `Id`, `Owner` (the
//! signer), `From` (`from-process`, else the signer), `Target` (the process), `Data`,
//! `Timestamp` (the assignment's, milliseconds), `Block-Height`, `Nonce` (the slot),
//! `Hash-Chain`, `Module`, `Tags` (every other key, names in AOS's `Title-Case`, as a map) and
//! `TagArray`, with the tags also copied to the root. The runtime's `__aos_handle` runs the
//! handlers; its `Messages` become `results/outbox` (HyperBEAM's lower-case keys, so patch@1.0
//! and push read them), `Output` becomes `results/output`.

use crate::call::{at_slot, lock, Assignment};
use crate::convert::{from_lua, to_lua};
use crate::error::LuaError;
use crate::runtime::{Flavor, Runtime};
use ferrobeam_device_api::{DeviceError, Message, Value};
use mlua::{Lua, MultiValue, Table, Value as LuaValue};

/// Keys of a message that are its envelope, not tags.
const ENVELOPE: &[&str] = &[
    "commitments",
    "target",
    "data",
    "body",
    "anchor",
    "path",
    "signature",
    "signature-input",
    "content-digest",
    "ao-types",
    "tags",
];

/// Tags not copied to the root of `msg` (legacy AOS's non-extractable tags).
const NOT_AT_ROOT: &[&str] = &[
    "Data-Protocol",
    "Variant",
    "From-Process",
    "From-Module",
    "Type",
    "From",
    "Owner",
    "Anchor",
    "Target",
    "Data",
    "Tags",
    "Read-Only",
];

/// `data-protocol` → `Data-Protocol`, `MESSAGE` → `Message` (AOS's normalisation).
pub fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut up = true;
    for c in name.chars() {
        let c = if c == '_' { '-' } else { c };
        if up {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        up = c == '-';
    }
    out
}

/// The signer of a message (the `committer` of its signed commitment) and its signed ID.
fn signer(msg: &Message) -> (Option<String>, Option<String>) {
    let Some(commitments) = msg.get_message("commitments") else {
        return (None, None);
    };
    let signed: Vec<(&str, &str)> = commitments
        .iter()
        .filter_map(|(id, c)| {
            let c = c.as_message()?;
            Some((id.as_str(), c.get_str("committer")?))
        })
        .collect();
    match signed.as_slice() {
        [(id, who)] => (Some((*who).to_owned()), Some((*id).to_owned())),
        [(_, who), ..] => (
            Some((*who).to_owned()),
            ferrobeam_httpsig::id(msg, ferrobeam_httpsig::IdMode::All).ok(),
        ),
        [] => (None, None),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Binary(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Atom(a) => Some(a.clone()),
        _ => None,
    }
}

/// The tags of a message: `(Title-Case name, value)`, then any explicit `tags` list.
fn tags(body: &Message) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (k, v) in body.iter() {
        if ENVELOPE.contains(&k.as_str()) || k.is_private() {
            continue;
        }
        out.push((title_case(k.as_str()), v.clone()));
    }
    if let Some(list) = body.get("tags").and_then(Value::as_list) {
        for t in list {
            if let Some(t) = t.as_message() {
                if let (Some(n), Some(v)) = (t.get_str("name"), t.get("value")) {
                    out.push((n.to_owned(), v.clone()));
                }
            }
        }
    }
    out
}

fn tag_array(lua: &Lua, tags: &[(String, Value)]) -> mlua::Result<Table> {
    let arr = lua.create_table_with_capacity(tags.len(), 0)?;
    for (i, (n, v)) in tags.iter().enumerate() {
        let t = lua.create_table_with_capacity(0, 2)?;
        t.raw_set("name", n.as_str())?;
        t.raw_set("value", to_lua(lua, v)?)?;
        arr.raw_set(i + 1, t)?;
    }
    Ok(arr)
}

/// The legacy `msg` for an assignment.
fn legacy_msg(lua: &Lua, assignment: &Message, pid: &str) -> mlua::Result<Table> {
    let body = assignment.get_message("body").unwrap_or(assignment);
    let (owner, id) = signer(body);
    let msg = lua.create_table()?;
    let tags = tags(body);
    let map = lua.create_table()?;
    for (n, v) in &tags {
        if map.raw_get::<LuaValue>(n.as_str())?.is_nil() {
            map.raw_set(n.as_str(), to_lua(lua, v)?)?;
        }
    }
    for (n, v) in &tags {
        if !NOT_AT_ROOT.contains(&n.as_str()) && msg.raw_get::<LuaValue>(n.as_str())?.is_nil() {
            msg.raw_set(n.as_str(), to_lua(lua, v)?)?;
        }
    }
    msg.raw_set("TagArray", tag_array(lua, &tags)?)?;
    let from = body
        .get("from-process")
        .and_then(text)
        .or_else(|| owner.clone());
    msg.raw_set("Id", id.clone().unwrap_or_default())?;
    msg.raw_set("Owner", owner)?;
    msg.raw_set("From", from)?;
    msg.raw_set("Target", pid)?;
    let data = body.get("data").or_else(|| body.get("body"));
    if let Some(d) = data {
        msg.raw_set("Data", to_lua(lua, d)?)?;
    } else {
        msg.raw_set("Data", "")?;
    }
    if let Some(a) = body.get("anchor").and_then(text) {
        msg.raw_set("Anchor", a)?;
    }
    let int = |k: &str| {
        assignment.get(k).and_then(|v| match v {
            Value::Integer(i) => Some(*i),
            other => text(other)?.parse().ok(),
        })
    };
    msg.raw_set("Timestamp", int("timestamp"))?;
    msg.raw_set("Block-Height", int("block-height"))?;
    msg.raw_set("Nonce", int("slot"))?;
    msg.raw_set("Epoch", int("epoch"))?;
    msg.raw_set("Hash-Chain", assignment.get("hash-chain").and_then(text))?;
    msg.raw_set("Cron", false)?;
    msg.raw_set("Tags", map)?;
    // Content-Type: application/json makes Data a table (AOS's "magic table").
    let json_data = tags.iter().any(|(n, v)| {
        n == "Content-Type" && text(v).is_some_and(|t| t.starts_with("application/json"))
    });
    if json_data {
        let decode: mlua::Function = lua.globals().raw_get::<Table>("json")?.raw_get("decode")?;
        let raw: LuaValue = msg.raw_get("Data")?;
        if let Ok(t) = decode.call::<LuaValue>(raw) {
            msg.raw_set("Data", t)?;
        }
    }
    Ok(msg)
}

/// The `env` of a message: the process's ID, owner, tags, module and `On-Boot`.
fn env(lua: &Lua, process: &Message, pid: &str) -> mlua::Result<Table> {
    let (signer, _) = signer(process);
    let owner = process.get("from-process").and_then(text).or(signer);
    let p = lua.create_table()?;
    p.raw_set("Id", pid)?;
    p.raw_set("Owner", owner)?;
    p.raw_set("Tags", tag_array(lua, &tags(process))?)?;
    p.raw_set("Module", process.get("module").and_then(text))?;
    p.raw_set("OnBoot", process.get("on-boot").and_then(text))?;
    let env = lua.create_table()?;
    env.raw_set("Process", p)?;
    Ok(env)
}

/// A legacy outbox message `{Target, Data, Anchor, Tags}` as a HyperBEAM message.
fn outbox_message(v: &LuaValue) -> Result<Option<Message>, LuaError> {
    let LuaValue::Table(t) = v else {
        return Ok(None);
    };
    let mut m = Message::new();
    if let Some(Value::List(tags)) = from_lua(&t.raw_get::<LuaValue>("Tags")?)? {
        for tag in tags {
            if let Some(tag) = tag.as_message() {
                if let (Some(n), Some(v)) = (tag.get_str("name"), tag.get("value")) {
                    m.insert(n, v.clone());
                }
            }
        }
    }
    for (field, key) in [("Target", "target"), ("Data", "data"), ("Anchor", "anchor")] {
        if let Some(v) = from_lua(&t.raw_get::<LuaValue>(field)?)? {
            m.insert(key, v);
        }
    }
    Ok(Some(m))
}

fn list_of(t: &Table, field: &str) -> Result<Vec<Message>, LuaError> {
    let mut out = Vec::new();
    if let LuaValue::Table(list) = t.raw_get::<LuaValue>(field)? {
        for v in list.sequence_values::<LuaValue>() {
            if let Some(m) = outbox_message(&v?)? {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The `results` of one handled message.
fn results(r: &Table) -> Result<Message, LuaError> {
    let mut results = Message::new();
    if let Some(o) = from_lua(&r.raw_get::<LuaValue>("Output")?)? {
        results.insert("output", o);
    }
    if let Some(e) = from_lua(&r.raw_get::<LuaValue>("Error")?)? {
        results.insert("error", e);
    }
    let mut outbox = Message::new();
    for (i, m) in list_of(r, "Messages")?.into_iter().enumerate() {
        outbox.insert((i + 1).to_string(), m);
    }
    results.insert("outbox", outbox);
    let spawns = list_of(r, "Spawns")?;
    if !spawns.is_empty() {
        results.insert(
            "spawns",
            Value::List(spawns.into_iter().map(Value::Message).collect()),
        );
    }
    Ok(results)
}

/// `compute` of `aos@2.0`: the state after the assignment `req`.
pub fn compute(rt: &Runtime, base: &Message, req: &Message) -> Result<Message, DeviceError> {
    let Some(Assignment { pid, slot, process }) = Assignment::of(base, req) else {
        return Err(DeviceError::bad_request(
            "aos@2.0 computes a process's assignments: `compute` needs a process state and an assignment",
        ));
    };
    let entry = rt.entry(&pid);
    let mut g = lock(&entry)?;
    let at = at_slot(base);
    let replay = |vm: &crate::vm::Vm, a: &Message| handle(vm, a, &process, &pid).map(|_| ());
    rt.ensure(&mut g, &pid, at, Flavor::Aos, &process, Some(&replay))?;
    let outcome = match g.vm.as_ref() {
        Some(vm) => handle(vm, req, &process, &pid),
        None => Err(LuaError::Snapshot("no VM".into())),
    };
    if let Err(e) = &outcome {
        rt.count_exhaustion(e);
    }
    if req.contains_key("dry-run") {
        // A dry run (process@1.0 `as=execution`): its effects on the VM are discarded — the
        // next slot rebuilds the VM at the state's slot (checkpoint and replay, or snapshot).
        g.drop_vm();
        let res = outcome.map_err(|e| DeviceError::bad_request(e.to_string()))?;
        let mut next = base.clone();
        next.insert("results", res);
        return Ok(next);
    }
    let res = match outcome {
        Ok(res) => {
            g.record(slot, Some(req.clone()))?;
            res
        }
        Err(e) => {
            // The message is refused, not the process: the VM goes back to the slot before
            // (from its checkpoint) and the slot's results carry the error.
            rt.host
                .warn(&format!("aos@2.0: process {pid} slot {slot} refused: {e}"));
            g.drop_vm();
            rt.ensure(&mut g, &pid, at, Flavor::Aos, &process, Some(&replay))?;
            g.record(slot, None)?;
            let reason = e.to_string();
            Message::new()
                .with("error", reason.as_str())
                .with(
                    "output",
                    Message::new()
                        .with("data", reason.as_str())
                        .with("prompt", "aos> "),
                )
                .with("outbox", Message::new())
        }
    };
    let mut next = base.clone();
    next.insert("results", res);
    Ok(next)
}

fn handle(
    vm: &crate::vm::Vm,
    req: &Message,
    process: &Message,
    pid: &str,
) -> Result<Message, LuaError> {
    let lua = vm.lua();
    let msg = legacy_msg(lua, req, pid)?;
    let env = env(lua, process, pid)?;
    let out = vm.call_global(
        "__aos_handle",
        MultiValue::from_vec(vec![LuaValue::Table(msg), LuaValue::Table(env)]),
    )?;
    match out.into_iter().next() {
        Some(LuaValue::Table(r)) => results(&r),
        _ => Err(LuaError::Runtime(
            "the AOS runtime returned no result".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_are_title_cased() {
        assert_eq!(title_case("data-PROTOCOL"), "Data-Protocol");
        assert_eq!(title_case("MESSAGE"), "Message");
        assert_eq!(title_case("x_reference"), "X-Reference");
        assert_eq!(title_case("action"), "Action");
    }
}
