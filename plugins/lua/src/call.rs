//! Calling a Lua function for a path key (`spec/process.md` §5.2, §5.4): the function name and
//! arguments a request picks, the return protocol, and the VM it runs in — the process's own
//! for a slot's assignment, a fresh sandboxed one for anything else (dynamic reads).

use crate::convert::{from_lua, message_to_lua, to_lua};
use crate::error::LuaError;
use crate::runtime::{process_id, Entry, Flavor, Runtime};
use crate::snapshot;
use crate::vm::Vm;
use ferrobeam_device_api::{DeviceError, Message, Value};
use mlua::{MultiValue, Table, Value as LuaValue};
use std::sync::{Mutex, MutexGuard};

/// A slot's assignment `req` for a computed state `base`: the process ID, the slot and the
/// process message.
#[derive(Debug)]
pub struct Assignment {
    /// The process ID.
    pub pid: String,
    /// The assigned slot.
    pub slot: i64,
    /// The process message (the state's `process`).
    pub process: Message,
}

impl Assignment {
    /// `req` as an assignment for `base`, if it is one.
    pub fn of(base: &Message, req: &Message) -> Option<Assignment> {
        Some(Assignment {
            process: base.get_message("process")?.clone(),
            pid: req.get_str("process")?.to_owned(),
            slot: req.get("slot").and_then(Value::as_integer)?,
        })
    }
}

/// Locks a process's VM entry.
pub fn lock(entry: &Mutex<Entry>) -> Result<MutexGuard<'_, Entry>, DeviceError> {
    entry
        .lock()
        .map_err(|_| DeviceError::failure("lua: a VM lock was poisoned"))
}

/// The slot a state is at (`-1` before slot 0).
pub fn at_slot(base: &Message) -> i64 {
    match base.get("at-slot") {
        Some(Value::Integer(i)) => *i,
        Some(v) => v.as_str().and_then(|s| s.parse().ok()).unwrap_or(-1),
        None => -1,
    }
}

/// The time a call sees in `os.time()`: the assignment's `timestamp` (milliseconds), else the
/// node clock (reads only).
pub fn time_of(req: &Message) -> i64 {
    match req.get("timestamp") {
        Some(Value::Integer(i)) => *i,
        Some(v) if v.as_str().and_then(|s| s.parse::<i64>().ok()).is_some() => {
            v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
        }
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    }
}

/// Sets `os.time()` for the next call.
pub fn set_time(vm: &Vm, ms: i64) -> Result<(), LuaError> {
    let fb: Table = vm.lua().globals().raw_get("__fb")?;
    fb.raw_set("time", ms)?;
    Ok(())
}

fn pick<'a>(base: &'a Message, req: &'a Message, key: &str) -> Option<&'a Value> {
    req.get_message("body")
        .and_then(|b| b.get(key))
        .or_else(|| req.get(key))
        .or_else(|| base.get(key))
}

/// Runs `key` on `base` with `req` for device `flavor`.
pub fn call_key(
    rt: &Runtime,
    flavor: Flavor,
    key: &str,
    base: &Message,
    req: &Message,
) -> Result<Value, DeviceError> {
    let name = pick(base, req, "function")
        .and_then(Value::as_str)
        .unwrap_or(key)
        .to_owned();
    let params = pick(base, req, "parameters").cloned();
    if let Some(Assignment { pid, slot, process }) = Assignment::of(base, req) {
        let entry = rt.entry(&pid);
        let mut g = lock(&entry)?;
        rt.ensure(&mut g, &pid, at_slot(base), flavor, &process, None)?;
        let out = match g.vm.as_ref() {
            Some(vm) => run(vm, &name, params.as_ref(), base, req),
            None => Err(LuaError::Snapshot("no VM".into())),
        };
        match out {
            Ok(v) => {
                // A plain VM cannot be replayed without the states in between: no log.
                g.checkpoint = None;
                g.slot = slot;
                Ok(v)
            }
            Err(e) => {
                rt.count_exhaustion(&e);
                g.drop_vm();
                Err(e.into())
            }
        }
    } else {
        let vm = rt.build(
            flavor,
            rt.limits(base.get_message("process")),
            0,
            base.get("module"),
        )?;
        run(&vm, &name, params.as_ref(), base, req).map_err(|e| {
            rt.count_exhaustion(&e);
            e.into()
        })
    }
}

fn run(
    vm: &Vm,
    name: &str,
    params: Option<&Value>,
    base: &Message,
    req: &Message,
) -> Result<Value, LuaError> {
    let lua = vm.lua();
    set_time(vm, time_of(req))?;
    let args: Vec<LuaValue> = match params {
        Some(Value::List(items)) => items
            .iter()
            .map(|v| to_lua(lua, v))
            .collect::<mlua::Result<_>>()?,
        Some(other) => vec![to_lua(lua, other)?],
        None => vec![
            LuaValue::Table(message_to_lua(lua, &base.without_private())?),
            LuaValue::Table(message_to_lua(lua, req)?),
            LuaValue::Table(lua.create_table()?),
        ],
    };
    let out = vm.call_global(name, MultiValue::from_vec(args))?;
    returned(out)
}

/// The return protocol: `return v` is `ok, v`; `return "error", x` an error (400).
pub fn returned(out: MultiValue) -> Result<Value, LuaError> {
    let vals: Vec<LuaValue> = out.into_iter().collect();
    let (status, v) = match vals.as_slice() {
        [LuaValue::String(s), v, ..]
            if matches!(s.as_bytes().as_ref(), b"ok" | b"error" | b"skip" | b"pass") =>
        {
            (
                s.to_str().map(|s| s.to_string()).unwrap_or_default(),
                v.clone(),
            )
        }
        [v, ..] => ("ok".to_owned(), v.clone()),
        [] => ("ok".to_owned(), LuaValue::Nil),
    };
    let value = from_lua(&v)?.unwrap_or_else(|| Value::Message(Message::new()));
    if status == "error" {
        let text = match &value {
            Value::Binary(_) => value.as_str().unwrap_or("error").to_owned(),
            other => format!("{other:?}"),
        };
        return Err(LuaError::Returned(text));
    }
    Ok(value)
}

/// The names of the global functions once the modules of `base` are loaded.
pub fn functions(rt: &Runtime, flavor: Flavor, base: &Message) -> Result<Value, DeviceError> {
    let vm = rt.build(flavor, rt.limits(None), 0, base.get("module"))?;
    let mut names = Vec::new();
    for pair in vm.lua().globals().pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(LuaError::from)?;
        if let (LuaValue::String(s), LuaValue::Function(_)) = (k, v) {
            names.push(s.to_str().map(|s| s.to_string()).unwrap_or_default());
        }
    }
    names.sort();
    Ok(Value::List(names.into_iter().map(Value::from).collect()))
}

/// `snapshot`: the process VM's data, when the VM is at the state's slot.
pub fn take_snapshot(rt: &Runtime, base: &Message) -> Result<Message, DeviceError> {
    let Some(pid) = process_id(base) else {
        return Ok(Message::new());
    };
    let entry = rt.entry(&pid);
    let g = lock(&entry)?;
    match g.vm.as_ref() {
        Some(vm) if g.slot == at_slot(base) => Ok(snapshot::take(vm)?),
        _ => Ok(Message::new()),
    }
}

/// `normalize`: a stored state's VM rebuilt from its `snapshot` (unless the VM is live).
pub fn normalize(rt: &Runtime, flavor: Flavor, base: &Message) -> Result<Message, DeviceError> {
    let mut out = base.clone();
    let snap = out.remove("snapshot");
    let Some(pid) = process_id(base) else {
        return Ok(out);
    };
    let at = at_slot(base);
    let process = base.get_message("process").cloned().unwrap_or_default();
    match snap {
        Some(Value::Message(s)) if !s.is_empty() => {
            rt.restore_into(&pid, at, flavor, &process, &s)?;
        }
        _ => {
            let entry = rt.entry(&pid);
            let live = entry
                .lock()
                .map(|g| g.vm.is_some() && g.slot == at)
                .unwrap_or(false);
            if !live && at >= 0 {
                return Err(DeviceError::not_found(format!(
                    "lua: no_lua_state_snapshot_found for process {pid} at slot {at}"
                )));
            }
        }
    }
    Ok(out)
}
