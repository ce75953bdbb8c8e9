//! Lua modules named by a message's `module` (`spec/process.md` §5.1): an ID of a stored
//! message, a `{content-type: application/lua, body}` message, or a list or map of them.

use crate::error::LuaError;
use ferrobeam_device_api::{Host, Message, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One module: a chunk name and its source.
#[derive(Debug, Clone)]
pub struct Module {
    /// The chunk name (the module's `name`, else its ID, else `module`).
    pub name: String,
    /// The source text.
    pub source: Arc<Vec<u8>>,
}

/// Modules read by ID, kept (an ID names immutable content).
#[derive(Debug, Default)]
pub struct ModuleCache {
    by_id: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

/// Whether `text` is a 43-character base64url ID.
pub fn is_id(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_lua_type(m: &Message) -> bool {
    m.get_str("content-type").is_some_and(|t| {
        let t = t.split(';').next().unwrap_or("").trim();
        t.eq_ignore_ascii_case("application/lua") || t.eq_ignore_ascii_case("text/x-lua")
    })
}

fn code_of(m: &Message) -> Option<Vec<u8>> {
    m.get("body")
        .or_else(|| m.get("data"))
        .and_then(Value::as_bytes)
        .map(<[u8]>::to_vec)
}

impl ModuleCache {
    /// The modules of `value` (the `module` key), in load order.
    pub fn load(&self, host: &Host, value: &Value) -> Result<Vec<Module>, LuaError> {
        let mut out = Vec::new();
        self.collect(host, value, &mut out, 0)?;
        Ok(out)
    }

    fn collect(
        &self,
        host: &Host,
        value: &Value,
        out: &mut Vec<Module>,
        depth: usize,
    ) -> Result<(), LuaError> {
        if depth > 8 {
            return Err(LuaError::Module("lua: `module` nests too deep".into()));
        }
        match value {
            Value::Binary(_) => {
                let text = value.as_str().unwrap_or("");
                if !is_id(text) {
                    return Err(LuaError::Module(
                        "lua: `module` must be a module ID, a {content-type: application/lua, body} message, or a list or map of them".into(),
                    ));
                }
                let source = self.by_id(host, text)?;
                out.push(Module {
                    name: text.to_owned(),
                    source,
                });
            }
            Value::Message(m) if is_lua_type(m) => {
                let code = code_of(m).ok_or_else(|| {
                    LuaError::Module("lua: a module message has no `body` or `data`".into())
                })?;
                let name = m
                    .get_str("name")
                    .or_else(|| m.get_str("id"))
                    .unwrap_or("module")
                    .to_owned();
                out.push(Module {
                    name,
                    source: Arc::new(code),
                });
            }
            Value::Message(m) => {
                let mut entries: Vec<(&str, &Value)> =
                    m.iter().map(|(k, v)| (k.as_str(), v)).collect();
                entries.sort_by_key(|(k, _)| (k.parse::<u64>().unwrap_or(u64::MAX), *k));
                for (_, v) in entries {
                    self.collect(host, v, out, depth + 1)?;
                }
            }
            Value::List(items) => {
                for v in items {
                    self.collect(host, v, out, depth + 1)?;
                }
            }
            other => {
                return Err(LuaError::Module(format!(
                    "lua: `module` cannot be a {}",
                    other.type_name()
                )))
            }
        }
        Ok(())
    }

    fn by_id(&self, host: &Host, id: &str) -> Result<Arc<Vec<u8>>, LuaError> {
        if let Ok(cache) = self.by_id.lock() {
            if let Some(src) = cache.get(id) {
                return Ok(src.clone());
            }
        }
        let not_found = || LuaError::Module(format!("Lua module '{id}' not found."));
        let value = host
            .resolve(Message::new().with("path", format!("/{id}")))
            .map_err(|_| not_found())?;
        let code = match &value {
            Value::Binary(b) => b.to_vec(),
            Value::Message(m) => code_of(m).ok_or_else(|| {
                LuaError::Module(format!("Lua module '{id}' has no `body` or `data`."))
            })?,
            _ => return Err(not_found()),
        };
        let code = Arc::new(code);
        if let Ok(mut cache) = self.by_id.lock() {
            if cache.len() > 1024 {
                cache.clear();
            }
            cache.insert(id.to_owned(), code.clone());
        }
        Ok(code)
    }
}
