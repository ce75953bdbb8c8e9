//! Snapshots of a VM (docs/lua.md, "Snapshots"): the *data* reachable from the globals —
//! tables, strings, numbers, booleans, with shared references and cycles kept — in a compact
//! binary form. Functions are not serialised: a restore builds a fresh VM (runtime and
//! modules), re-runs the owner's evaluated sources (`__aos.sources`), then merges the data back
//! over the globals, so tables that also hold functions keep them.

use crate::error::LuaError;
use crate::vm::Vm;
use ferrobeam_device_api::{Message, Value};
use mlua::{Lua, Table, Value as LuaValue};
use std::collections::HashMap;

/// The snapshot format tag.
pub const FORMAT: &str = "ferrobeam-lua/1";

/// Globals never snapshotted: the standard library and the runtime's function tables, which
/// the runtime and modules re-create.
const SKIP: &[&str] = &[
    "_G",
    "_VERSION",
    "string",
    "table",
    "math",
    "coroutine",
    "utf8",
    "os",
    "json",
    "Handlers",
    "ao",
    "Utils",
    "Colors",
];

const NIL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STR: u8 = 5;
const REF: u8 = 6;

#[derive(Debug, Clone)]
enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
    Ref(u32),
}

/// The data of `vm` as a snapshot message `{format, data}`.
pub fn take(vm: &Vm) -> Result<Message, LuaError> {
    let lua = vm.lua();
    let mut ids: HashMap<usize, u32> = HashMap::new();
    let mut tables: Vec<Table> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    // Table 0: the chosen globals.
    let root = lua.create_table()?;
    for pair in lua.globals().pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        if let LuaValue::String(s) = &k {
            if SKIP.iter().any(|n| s.as_bytes() == n.as_bytes()) {
                continue;
            }
            if matches!(
                v,
                LuaValue::Table(_)
                    | LuaValue::String(_)
                    | LuaValue::Integer(_)
                    | LuaValue::Number(_)
                    | LuaValue::Boolean(_)
            ) {
                root.raw_set(k, v)?;
            }
        }
    }
    ids.insert(root.to_pointer() as usize, 0);
    tables.push(root);
    let mut body: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < tables.len() {
        let t = tables[i].clone();
        let mut pairs: Vec<(LuaValue, LuaValue)> = Vec::new();
        for pair in t.pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair?;
            if is_data(&k) && is_data(&v) {
                pairs.push((k, v));
            }
        }
        body.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
        for (k, v) in pairs {
            write(&mut body, &k, &mut ids, &mut tables);
            write(&mut body, &v, &mut ids, &mut tables);
        }
        i += 1;
    }
    out.extend_from_slice(&(tables.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(Message::new()
        .with("format", FORMAT)
        .with("data", Value::binary(out)))
}

fn is_data(v: &LuaValue) -> bool {
    matches!(
        v,
        LuaValue::Boolean(_)
            | LuaValue::Integer(_)
            | LuaValue::Number(_)
            | LuaValue::String(_)
            | LuaValue::Table(_)
    )
}

fn write(out: &mut Vec<u8>, v: &LuaValue, ids: &mut HashMap<usize, u32>, tables: &mut Vec<Table>) {
    match v {
        LuaValue::Boolean(false) => out.push(FALSE),
        LuaValue::Boolean(true) => out.push(TRUE),
        LuaValue::Integer(i) => {
            out.push(INT);
            out.extend_from_slice(&i.to_le_bytes());
        }
        LuaValue::Number(f) => {
            out.push(FLOAT);
            out.extend_from_slice(&f.to_le_bytes());
        }
        LuaValue::String(s) => {
            let b = s.as_bytes();
            out.push(STR);
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(&b);
        }
        LuaValue::Table(t) => {
            let p = t.to_pointer() as usize;
            let id = match ids.get(&p) {
                Some(id) => *id,
                None => {
                    let id = tables.len() as u32;
                    ids.insert(p, id);
                    tables.push(t.clone());
                    id
                }
            };
            out.push(REF);
            out.extend_from_slice(&id.to_le_bytes());
        }
        _ => out.push(NIL),
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], LuaError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| LuaError::Snapshot("truncated".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, LuaError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<[u8; 8], LuaError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn val(&mut self) -> Result<Val, LuaError> {
        let tag = self.take(1)?[0];
        Ok(match tag {
            NIL => Val::Nil,
            FALSE => Val::Bool(false),
            TRUE => Val::Bool(true),
            INT => Val::Int(i64::from_le_bytes(self.u64()?)),
            FLOAT => Val::Float(f64::from_le_bytes(self.u64()?)),
            STR => {
                let n = self.u32()? as usize;
                Val::Str(self.take(n)?.to_vec())
            }
            REF => Val::Ref(self.u32()?),
            other => return Err(LuaError::Snapshot(format!("unknown tag {other}"))),
        })
    }
}

type Tables = Vec<Vec<(Val, Val)>>;

fn decode(snap: &Message) -> Result<Tables, LuaError> {
    if snap.get_str("format") != Some(FORMAT) {
        return Err(LuaError::Snapshot(format!(
            "not a {FORMAT} snapshot (format {:?})",
            snap.get_str("format")
        )));
    }
    let data = snap
        .get("data")
        .and_then(Value::as_bytes)
        .ok_or_else(|| LuaError::Snapshot("no data".into()))?;
    let mut r = Reader { b: data, at: 0 };
    let n = r.u32()? as usize;
    if n == 0 || n > data.len() {
        return Err(LuaError::Snapshot("bad table count".into()));
    }
    let mut tables = Vec::with_capacity(n);
    for _ in 0..n {
        let pairs = r.u32()? as usize;
        if pairs > data.len() {
            return Err(LuaError::Snapshot("bad pair count".into()));
        }
        let mut t = Vec::with_capacity(pairs);
        for _ in 0..pairs {
            let k = r.val()?;
            let v = r.val()?;
            t.push((k, v));
        }
        tables.push(t);
    }
    for t in &tables {
        for (k, v) in t {
            for x in [k, v] {
                if let Val::Ref(id) = x {
                    if *id as usize >= n {
                        return Err(LuaError::Snapshot("dangling table reference".into()));
                    }
                }
            }
        }
    }
    Ok(tables)
}

/// The owner's evaluated sources recorded in a snapshot (`__aos.sources`), in order.
fn sources(tables: &Tables) -> Vec<Vec<u8>> {
    let find = |id: usize, key: &str| {
        tables[id].iter().find_map(|(k, v)| match (k, v) {
            (Val::Str(s), Val::Ref(r)) if s == key.as_bytes() => Some(*r as usize),
            _ => None,
        })
    };
    let Some(aos) = find(0, "__aos") else {
        return Vec::new();
    };
    let Some(list) = find(aos, "sources") else {
        return Vec::new();
    };
    let mut items: Vec<(i64, Vec<u8>)> = tables[list]
        .iter()
        .filter_map(|(k, v)| match (k, v) {
            (Val::Int(i), Val::Str(s)) => Some((*i, s.clone())),
            _ => None,
        })
        .collect();
    items.sort_by_key(|(i, _)| *i);
    items.into_iter().map(|(_, s)| s).collect()
}

/// Restores a snapshot into `vm` (freshly built with its runtime and modules).
pub fn restore(vm: &Vm, snap: &Message) -> Result<(), LuaError> {
    let tables = decode(snap)?;
    for src in sources(&tables) {
        if vm.exec("replay", &src).is_err() {
            let mut ret = b"return ".to_vec();
            ret.extend_from_slice(&src);
            let _ = vm.exec("replay", &ret);
        }
    }
    let lua = vm.lua();
    if let Ok(LuaValue::Table(ao)) = lua.globals().raw_get::<LuaValue>("ao") {
        if let Ok(LuaValue::Function(clear)) = ao.raw_get::<LuaValue>("clearOutbox") {
            clear.call::<()>(())?;
        }
    }
    let mut made: Vec<Option<Table>> = vec![None; tables.len()];
    let globals = lua.globals();
    made[0] = Some(globals.clone());
    let mut work: Vec<(Table, usize, bool)> = vec![(globals, 0, true)];
    while let Some((target, id, existed)) = work.pop() {
        let keep = lua.create_table()?;
        for (k, v) in &tables[id] {
            let key = materialize(lua, k, &mut made, &mut work, None)?;
            let current: LuaValue = target.raw_get(key.clone())?;
            let value = materialize(lua, v, &mut made, &mut work, Some(current))?;
            keep.raw_set(key.clone(), true)?;
            target.raw_set(key, value)?;
        }
        if existed && id != 0 {
            let mut stale = Vec::new();
            for pair in target.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                if !matches!(v, LuaValue::Function(_))
                    && !keep.raw_get::<bool>(k.clone()).unwrap_or(false)
                {
                    stale.push(k);
                }
            }
            for k in stale {
                target.raw_set(k, LuaValue::Nil)?;
            }
        }
    }
    Ok(())
}

fn materialize(
    lua: &Lua,
    v: &Val,
    made: &mut [Option<Table>],
    work: &mut Vec<(Table, usize, bool)>,
    current: Option<LuaValue>,
) -> Result<LuaValue, LuaError> {
    Ok(match v {
        Val::Nil => LuaValue::Nil,
        Val::Bool(b) => LuaValue::Boolean(*b),
        Val::Int(i) => LuaValue::Integer(*i),
        Val::Float(f) => LuaValue::Number(*f),
        Val::Str(s) => LuaValue::String(lua.create_string(s)?),
        Val::Ref(id) => {
            let id = *id as usize;
            if let Some(t) = &made[id] {
                return Ok(LuaValue::Table(t.clone()));
            }
            let (t, existed) = match current {
                Some(LuaValue::Table(t)) if !made.iter().flatten().any(|m| m == &t) => (t, true),
                _ => (lua.create_table()?, false),
            };
            made[id] = Some(t.clone());
            work.push((t.clone(), id, existed));
            LuaValue::Table(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::Limits;

    #[test]
    fn data_shared_references_and_cycles_survive_and_functions_are_rebuilt() {
        let a = Vm::new(Limits::default(), 1).unwrap();
        a.exec(
            "m",
            br#"
            Balances = { alice = "10", [5] = 2.5, nested = { deep = { true } } }
            Alias = Balances
            Cycle = {} Cycle.me = Cycle
            Obj = { n = 1 } function Obj.get() return Obj.n end
            Count = 7
            __aos = { sources = { "Extra = (Extra or 0) + 1" } }
            Obj.n = 41
            "#,
        )
        .unwrap();
        let snap = take(&a).unwrap();
        let b = Vm::new(Limits::default(), 1).unwrap();
        b.exec(
            "m",
            b"Obj = { n = 0 } function Obj.get() return Obj.n + 1 end",
        )
        .unwrap();
        restore(&b, &snap).unwrap();
        b.exec(
            "check",
            br#"
            assert(Balances.alice == "10" and Balances[5] == 2.5 and Balances.nested.deep[1] == true)
            assert(Alias == Balances)
            assert(Cycle.me == Cycle)
            assert(Count == 7 and math.type(Count) == "integer")
            assert(Obj.get() == 42, "function kept, data restored")
            assert(Extra == 1, "sources replayed")
            "#,
        )
        .unwrap();
    }

    #[test]
    fn corrupt_snapshots_are_errors() {
        let vm = Vm::new(Limits::default(), 1).unwrap();
        let bad = Message::new()
            .with("format", FORMAT)
            .with("data", Value::binary(vec![1u8, 0, 0, 0, 9]));
        assert!(matches!(restore(&vm, &bad), Err(LuaError::Snapshot(_))));
        assert!(restore(&vm, &Message::new()).is_err());
    }
}
