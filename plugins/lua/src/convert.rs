//! Messages to Lua tables and back (`spec/process.md` §5.3).
//!
//! | message → Lua | Lua → message |
//! | --- | --- |
//! | binary → string | string → binary |
//! | integer / float → integer / float | integer / float → integer / float (the subtype is kept) |
//! | `true` / `false` → boolean, other atoms → string | boolean → `true` / `false` |
//! | list, or a map keyed exactly `1..n` → array table | table keyed exactly `1..n` → list |
//! | other map → table with string keys | other table → message (`{}` is an empty message) |
//!
//! Functions, userdata and threads inside a returned table are errors, as are cycles and
//! nesting deeper than [`MAX_DEPTH`].

use ferrobeam_device_api::{Message, Value};
use mlua::{Lua, Table, Value as LuaValue};

/// How deep a converted value may nest.
pub const MAX_DEPTH: usize = 64;

/// Why a Lua value could not become a message value.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A value of a type messages cannot carry.
    #[error("lua: a {0} cannot be part of a message (at {1})")]
    Unsupported(&'static str, String),
    /// Too deep or cyclic.
    #[error("lua: a table nests deeper than {MAX_DEPTH} levels or refers to itself (at {0})")]
    TooDeep(String),
    /// A table key that is neither a string nor a number.
    #[error("lua: a table key must be a string or a number (at {0})")]
    BadKey(String),
    /// The VM failed while reading a table.
    #[error("lua: {0}")]
    Lua(#[from] mlua::Error),
}

/// A message value as a Lua value.
pub fn to_lua(lua: &Lua, value: &Value) -> mlua::Result<LuaValue> {
    Ok(match value {
        Value::Binary(b) => LuaValue::String(lua.create_string(b)?),
        Value::Integer(i) => LuaValue::Integer(*i),
        Value::Float(f) => LuaValue::Number(*f),
        Value::Atom(a) => match a.as_str() {
            "true" => LuaValue::Boolean(true),
            "false" => LuaValue::Boolean(false),
            other => LuaValue::String(lua.create_string(other)?),
        },
        Value::List(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Message(m) => LuaValue::Table(message_to_lua(lua, m)?),
    })
}

/// A message as a Lua table: an array when its keys are exactly `"1".."n"`.
pub fn message_to_lua(lua: &Lua, m: &Message) -> mlua::Result<Table> {
    if is_sequence(m) {
        let t = lua.create_table_with_capacity(m.len(), 0)?;
        for (k, v) in m.iter() {
            if let Ok(i) = k.as_str().parse::<i64>() {
                t.raw_set(i, to_lua(lua, v)?)?;
            }
        }
        return Ok(t);
    }
    let t = lua.create_table_with_capacity(0, m.len())?;
    for (k, v) in m.iter() {
        if k.is_private() {
            continue;
        }
        t.raw_set(k.as_str(), to_lua(lua, v)?)?;
    }
    Ok(t)
}

/// Whether a message's keys are exactly `1..n` (in any order), n ≥ 1.
fn is_sequence(m: &Message) -> bool {
    if m.is_empty() {
        return false;
    }
    let mut seen = vec![false; m.len()];
    for k in m.keys() {
        let s = k.as_str();
        if s.starts_with('0') || s.starts_with('+') {
            return false;
        }
        match s.parse::<usize>() {
            Ok(i) if (1..=m.len()).contains(&i) && !seen[i - 1] => seen[i - 1] = true,
            _ => return false,
        }
    }
    true
}

/// A Lua value as a message value. `None` for `nil`.
pub fn from_lua(value: &LuaValue) -> Result<Option<Value>, ConvertError> {
    convert(value, 0, &mut String::new())
}

/// A Lua table as a message (a list-shaped table becomes a message keyed `1..n`).
pub fn table_to_message(t: &Table) -> Result<Message, ConvertError> {
    match table(t, 0, &mut String::new())? {
        Value::Message(m) => Ok(m),
        Value::List(items) => Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| ((i + 1).to_string(), v))
            .fold(Message::new(), |m, (k, v)| m.with(k, v))),
        other => Ok(Message::new().with("body", other)),
    }
}

fn convert(value: &LuaValue, depth: usize, at: &mut String) -> Result<Option<Value>, ConvertError> {
    Ok(Some(match value {
        LuaValue::Nil => return Ok(None),
        LuaValue::Boolean(b) => Value::from(*b),
        LuaValue::Integer(i) => Value::Integer(*i),
        LuaValue::Number(n) => Value::Float(*n),
        LuaValue::String(s) => Value::binary(&*s.as_bytes()),
        LuaValue::Table(t) => table(t, depth, at)?,
        LuaValue::Error(e) => Value::from(e.to_string()),
        other => {
            return Err(ConvertError::Unsupported(
                other.type_name(),
                path_or_root(at),
            ))
        }
    }))
}

fn path_or_root(at: &str) -> String {
    if at.is_empty() {
        "the top".to_owned()
    } else {
        at.to_owned()
    }
}

fn table(t: &Table, depth: usize, at: &mut String) -> Result<Value, ConvertError> {
    if depth >= MAX_DEPTH {
        return Err(ConvertError::TooDeep(path_or_root(at)));
    }
    let len = t.raw_len();
    let mut entries: Vec<(LuaValue, LuaValue)> = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        entries.push(pair?);
    }
    let is_list = len > 0
        && entries.len() == len
        && entries
            .iter()
            .all(|(k, _)| matches!(k, LuaValue::Integer(i) if *i >= 1 && (*i as usize) <= len));
    let mark = at.len();
    if is_list {
        let mut items: Vec<Option<Value>> = vec![None; len];
        for (k, v) in &entries {
            if let LuaValue::Integer(i) = k {
                at.push_str(&format!("/{i}"));
                items[(*i as usize) - 1] = convert(v, depth + 1, at)?;
                at.truncate(mark);
            }
        }
        return Ok(Value::List(items.into_iter().flatten().collect()));
    }
    let mut m = Message::with_capacity(entries.len());
    for (k, v) in &entries {
        let key = match k {
            LuaValue::String(s) => s
                .to_str()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| String::from_utf8_lossy(&s.as_bytes()).into_owned()),
            LuaValue::Integer(i) => i.to_string(),
            LuaValue::Number(n) => n.to_string(),
            _ => return Err(ConvertError::BadKey(path_or_root(at))),
        };
        if matches!(v, LuaValue::Function(_)) {
            continue;
        }
        at.push('/');
        at.push_str(&key);
        if let Some(v) = convert(v, depth + 1, at)? {
            m.insert(key, v);
        }
        at.truncate(mark);
    }
    Ok(Value::Message(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(lua: &Lua, src: &str) -> Option<Value> {
        let v: LuaValue = lua.load(src).eval().unwrap();
        from_lua(&v).unwrap()
    }

    #[test]
    fn integers_stay_integers_lists_are_lists_and_empty_tables_are_maps() {
        let lua = Lua::new();
        assert_eq!(round(&lua, "return 3"), Some(Value::Integer(3)));
        assert_eq!(round(&lua, "return 3.5"), Some(Value::Float(3.5)));
        assert_eq!(
            round(&lua, "return {1, 2, 3}"),
            Some(Value::List(vec![1.into(), 2.into(), 3.into()]))
        );
        assert_eq!(
            round(&lua, "return {}"),
            Some(Value::Message(Message::new()))
        );
        let m = round(&lua, "return {a = 1, b = {true, 'x'}}").unwrap();
        let m = m.as_message().unwrap();
        assert_eq!(m.get("a"), Some(&Value::Integer(1)));
        assert_eq!(
            m.get("b"),
            Some(&Value::List(vec![Value::from(true), Value::from("x")]))
        );
        assert_eq!(round(&lua, "return nil"), None);
    }

    #[test]
    fn maps_keyed_one_to_n_become_arrays_and_back() {
        let lua = Lua::new();
        let m = Message::new().with("2", "b").with("1", "a");
        let t = message_to_lua(&lua, &m).unwrap();
        assert_eq!(t.raw_len(), 2);
        assert_eq!(t.get::<String>(1).unwrap(), "a");
        let back = from_lua(&LuaValue::Table(t)).unwrap().unwrap();
        assert_eq!(back, Value::List(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn cycles_and_functions_are_clear_errors() {
        let lua = Lua::new();
        let v: LuaValue = lua.load("local t = {} t.self = t return t").eval().unwrap();
        assert!(matches!(from_lua(&v), Err(ConvertError::TooDeep(_))));
        let v: LuaValue = lua.load("return function() end").eval().unwrap();
        assert!(matches!(
            from_lua(&v),
            Err(ConvertError::Unsupported("function", _))
        ));
        // Inside a table, functions are left out.
        let v: LuaValue = lua.load("return {a = 1, f = print}").eval().unwrap();
        assert_eq!(
            from_lua(&v).unwrap(),
            Some(Value::Message(Message::new().with("a", 1)))
        );
    }
}
