//! The host bindings every VM gets in its `ao` table (`spec/process.md` §5.5): `ao.resolve`,
//! `ao.get`, `ao.set`, `ao.event`.

use crate::convert::{from_lua, message_to_lua, table_to_message, to_lua};
use ferrobeam_device_api::{DeviceError, Host, Message, Value};
use mlua::{Lua, MultiValue, Table, Value as LuaValue};

fn status(lua: &Lua, out: Result<Value, DeviceError>) -> mlua::Result<MultiValue> {
    let (s, v) = match out {
        Ok(v) => ("ok", to_lua(lua, &v)?),
        Err(e) => ("error", LuaValue::String(lua.create_string(e.reason())?)),
    };
    Ok(MultiValue::from_vec(vec![
        LuaValue::String(lua.create_string(s)?),
        v,
    ]))
}

fn as_message(v: &LuaValue) -> mlua::Result<Message> {
    match v {
        LuaValue::Table(t) => table_to_message(t).map_err(mlua::Error::external),
        _ => Err(mlua::Error::runtime("ao: expected a message table")),
    }
}

fn device_of(m: &Message) -> String {
    m.get_str("device").unwrap_or("message@1.0").to_owned()
}

/// Resolves `key` on `base` through its device.
fn step(host: &Host, base: &Message, req: &Message) -> Result<Value, DeviceError> {
    let key = req
        .get_str("path")
        .map(|p| p.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    host.call_device(&device_of(base), &key, base, req)
}

fn chain(host: &Host, mut base: Message, reqs: Vec<Message>) -> Result<Value, DeviceError> {
    let mut last = Value::Message(base.clone());
    for req in reqs {
        last = step(host, &base, &req)?;
        base = match &last {
            Value::Message(m) => m.clone(),
            _ => Message::new(),
        };
    }
    Ok(last)
}

/// Installs the bindings into the global `ao` table (created when absent).
pub fn install(lua: &Lua, host: &Host) -> mlua::Result<()> {
    let globals = lua.globals();
    let ao: Table = match globals.raw_get::<LuaValue>("ao")? {
        LuaValue::Table(t) => t,
        _ => {
            let t = lua.create_table()?;
            globals.raw_set("ao", t.clone())?;
            t
        }
    };
    let h = host.clone();
    ao.raw_set(
        "resolve",
        lua.create_function(move |lua, args: MultiValue| {
            let args: Vec<LuaValue> = args.into_iter().collect();
            let out = match args.as_slice() {
                [single] => {
                    let m = as_message(single)?;
                    h.resolve(m)
                }
                [base, LuaValue::String(path)] => {
                    let base = as_message(base)?;
                    let path = path.to_str()?.to_string();
                    let reqs = path
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .map(|p| Message::new().with("path", p))
                        .collect();
                    chain(&h, base, reqs)
                }
                [first, rest @ ..] if !rest.is_empty() => {
                    let base = as_message(first)?;
                    let reqs = rest
                        .iter()
                        .map(as_message)
                        .collect::<mlua::Result<Vec<_>>>()?;
                    chain(&h, base, reqs)
                }
                _ => Err(DeviceError::bad_request("ao.resolve needs a message")),
            };
            status(lua, out)
        })?,
    )?;
    let h = host.clone();
    ao.raw_set(
        "get",
        lua.create_function(move |lua, (key, base): (String, Option<LuaValue>)| {
            let base = match &base {
                Some(b @ LuaValue::Table(_)) => as_message(b)?,
                _ => Message::new(),
            };
            let req = Message::new().with("path", key.as_str());
            match step(&h, &base, &req) {
                Ok(v) => to_lua(lua, &v),
                Err(_) => Ok(LuaValue::String(lua.create_string("not_found")?)),
            }
        })?,
    )?;
    ao.raw_set(
        "set",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<LuaValue> = args.into_iter().collect();
            let mut base = match args.first() {
                Some(b @ LuaValue::Table(_)) => as_message(b)?,
                _ => Message::new(),
            };
            let changes = match args.as_slice() {
                [_, t @ LuaValue::Table(_)] => as_message(t)?,
                [_, k, v] => {
                    let key = match k {
                        LuaValue::String(s) => s.to_str()?.to_string(),
                        LuaValue::Integer(i) => i.to_string(),
                        _ => return Err(mlua::Error::runtime("ao.set: the key must be a string")),
                    };
                    let mut m = Message::new();
                    if let Some(v) = from_lua(v).map_err(mlua::Error::external)? {
                        m.insert(key, v);
                    } else {
                        base.remove(&ferrobeam_device_api::Key::new(&key).into_string());
                    }
                    m
                }
                _ => {
                    return Err(mlua::Error::runtime(
                        "ao.set(base, key, value) or ao.set(base, table)",
                    ))
                }
            };
            deep_merge(&mut base, changes);
            message_to_lua(lua, &base)
        })?,
    )?;
    let h = host.clone();
    ao.raw_set(
        "event",
        lua.create_function(move |_, args: MultiValue| {
            let text: Vec<String> = args
                .iter()
                .map(|v| match from_lua(v) {
                    Ok(Some(v)) => format!("{v:?}"),
                    _ => format!("{v:?}"),
                })
                .collect();
            h.debug(&format!("lua event: {}", text.join(" ")));
            Ok("ok")
        })?,
    )?;
    Ok(())
}

/// HyperBEAM's `set`: maps merge key by key, anything else replaces.
pub fn deep_merge(base: &mut Message, changes: Message) {
    for (k, v) in changes.iter() {
        match (base.get_mut(k.as_str()), v) {
            (Some(Value::Message(old)), Value::Message(new)) => deep_merge(old, new.clone()),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}
