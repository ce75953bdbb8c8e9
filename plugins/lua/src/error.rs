//! Errors of the Lua devices and the HTTP status each becomes (docs/lua.md, "Errors").
//!
//! The budget and memory errors have fixed reasons a metrics counter can match on:
//! [`BUDGET_REASON`] and [`MEMORY_REASON`] begin them.

use crate::convert::ConvertError;
use ferrobeam_device_api::DeviceError;

/// The start of the reason of every instruction-budget error.
pub const BUDGET_REASON: &str = "lua: instruction budget exhausted";
/// The start of the reason of every memory-limit error.
pub const MEMORY_REASON: &str = "lua: memory limit exceeded";

/// What can go wrong running Lua.
#[derive(Debug, thiserror::Error)]
pub enum LuaError {
    /// The call ran more instructions than its budget.
    #[error("{BUDGET_REASON} ({0} instructions per call)")]
    Budget(u64),
    /// The VM needed more memory than its limit.
    #[error("{MEMORY_REASON} ({0} bytes)")]
    Memory(usize),
    /// A Lua error (syntax or runtime).
    #[error("lua: {0}")]
    Runtime(String),
    /// The function to call does not exist.
    #[error("lua: no global function `{0}`")]
    NoFunction(String),
    /// The global is not a function.
    #[error("lua: the global `{0}` is a {1}, not a function")]
    NotAFunction(String, String),
    /// The Lua code returned `"error", x`.
    #[error("{0}")]
    Returned(String),
    /// A value that cannot cross between Lua and messages.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// A module could not be found or read.
    #[error("{0}")]
    Module(String),
    /// A snapshot could not be read or restored.
    #[error("lua: snapshot: {0}")]
    Snapshot(String),
}

impl From<mlua::Error> for LuaError {
    fn from(e: mlua::Error) -> Self {
        LuaError::Runtime(describe(&e))
    }
}

impl From<LuaError> for DeviceError {
    fn from(e: LuaError) -> Self {
        let reason = e.to_string();
        match e {
            LuaError::Budget(_) | LuaError::Memory(_) | LuaError::Returned(_) => {
                DeviceError::bad_request(reason)
            }
            LuaError::NoFunction(_) | LuaError::Module(_) => DeviceError::not_found(reason),
            _ => DeviceError::failure(reason),
        }
    }
}

/// One line (plus Lua's traceback, if any) for an mlua error.
pub fn describe(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, traceback } => {
            let inner = describe(cause);
            if traceback.is_empty() {
                inner
            } else {
                format!("{inner}\n{traceback}")
            }
        }
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        mlua::Error::WithContext { context, cause } => format!("{context}: {}", describe(cause)),
        other => other.to_string(),
    }
}
