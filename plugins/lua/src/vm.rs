//! One sandboxed Lua 5.3 VM (docs/lua.md, "The sandbox"): the safe standard libraries, the
//! sandbox prelude (`lua/sandbox.lua`), an instruction budget counted by a global hook (so
//! coroutines are counted too) and a memory limit, each ending a call with a distinct error.

use crate::error::LuaError;
use mlua::{HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Value as LuaValue, VmState};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// The sandbox prelude, run first in every VM.
const SANDBOX: &str = include_str!("lua/sandbox.lua");
/// The json module (`require("json")` and the `json` global).
pub const JSON: &str = include_str!("lua/json.lua");
/// How many instructions run between two budget checks.
const HOOK_EVERY: u32 = 1000;

/// The limits of one VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Instructions one call may run (every call gets the whole budget again).
    pub instructions: u64,
    /// Bytes the VM may hold.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            instructions: 200_000_000,
            memory: 256 * 1024 * 1024,
        }
    }
}

/// Budget bookkeeping shared with the hook and the `check` function.
#[derive(Debug, Default)]
struct Meter {
    remaining: AtomicI64,
    exhausted: AtomicBool,
    out_of_memory: AtomicBool,
}

/// A sandboxed Lua VM.
pub struct Vm {
    lua: Lua,
    meter: Arc<Meter>,
    limits: Limits,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm").field("limits", &self.limits).finish()
    }
}

impl Vm {
    /// A fresh VM: standard libraries, the sandbox, `json`, and the given built-in modules
    /// available to `require`.
    pub fn new(limits: Limits, seed: i64) -> Result<Vm, LuaError> {
        let libs = StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH;
        let lua = Lua::new_with(libs, LuaOptions::new())?;
        let meter = Arc::new(Meter::default());
        meter
            .remaining
            .store(limits.instructions as i64, Ordering::Relaxed);
        let hook_meter = meter.clone();
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_lua, _debug| {
                let left = hook_meter
                    .remaining
                    .fetch_sub(i64::from(HOOK_EVERY), Ordering::Relaxed);
                if left <= i64::from(HOOK_EVERY) {
                    hook_meter.exhausted.store(true, Ordering::Relaxed);
                    return Err(mlua::Error::runtime(crate::error::BUDGET_REASON));
                }
                Ok(VmState::Continue)
            },
        )?;
        let check_meter = meter.clone();
        let check = lua.create_function(move |_, args: MultiValue| {
            if check_meter.exhausted.load(Ordering::Relaxed) {
                return Err(mlua::Error::runtime(crate::error::BUDGET_REASON));
            }
            let failed = matches!(args.front(), Some(LuaValue::Boolean(false)));
            if failed {
                let memory = match args.get(1) {
                    Some(LuaValue::String(s)) => {
                        s.as_bytes().windows(17).any(|w| w == b"not enough memory")
                    }
                    Some(LuaValue::Error(e)) => matches!(**e, mlua::Error::MemoryError(_)),
                    _ => false,
                };
                if memory {
                    check_meter.out_of_memory.store(true, Ordering::Relaxed);
                    return Err(mlua::Error::runtime(crate::error::MEMORY_REASON));
                }
            }
            Ok(args)
        })?;
        let builtin = lua.create_table()?;
        builtin.set("json", JSON)?;
        lua.load(SANDBOX)
            .set_name("=sandbox")
            .set_mode(mlua::ChunkMode::Text)
            .call::<()>((check, seed, builtin))?;
        // The memory limit applies from here on: the sandbox itself always fits.
        lua.set_memory_limit(limits.memory)?;
        Ok(Vm { lua, meter, limits })
    }

    /// The VM.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// The limits it runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Gives the next call the whole budget.
    fn refill(&self) {
        self.meter
            .remaining
            .store(self.limits.instructions as i64, Ordering::Relaxed);
        self.meter.exhausted.store(false, Ordering::Relaxed);
        self.meter.out_of_memory.store(false, Ordering::Relaxed);
    }

    /// Whether the last call ran out of budget or memory (the VM should then be dropped).
    pub fn spent(&self) -> bool {
        self.meter.exhausted.load(Ordering::Relaxed)
            || self.meter.out_of_memory.load(Ordering::Relaxed)
    }

    /// Runs a chunk of source text (never a binary chunk) under a fresh budget.
    pub fn exec(&self, name: &str, source: &[u8]) -> Result<(), LuaError> {
        self.refill();
        let chunk = self
            .lua
            .load(source)
            .set_name(format!("={name}"))
            .set_mode(mlua::ChunkMode::Text);
        let out = chunk.exec();
        self.outcome(out)
    }

    /// Calls the global function `name` with `args` under a fresh budget.
    pub fn call_global(&self, name: &str, args: MultiValue) -> Result<MultiValue, LuaError> {
        self.refill();
        let f = match self.lua.globals().raw_get::<LuaValue>(name) {
            Ok(LuaValue::Function(f)) => f,
            Ok(LuaValue::Nil) => return Err(LuaError::NoFunction(name.to_owned())),
            Ok(other) => {
                return Err(LuaError::NotAFunction(
                    name.to_owned(),
                    other.type_name().to_owned(),
                ))
            }
            Err(e) => return Err(self.classify(e)),
        };
        let out = f.call::<MultiValue>(args);
        self.outcome(out)
    }

    /// Calls a Lua function value under a fresh budget.
    pub fn call_function(
        &self,
        f: &mlua::Function,
        args: MultiValue,
    ) -> Result<MultiValue, LuaError> {
        self.refill();
        let out = f.call::<MultiValue>(args);
        self.outcome(out)
    }

    fn outcome<T>(&self, out: mlua::Result<T>) -> Result<T, LuaError> {
        match out {
            Ok(v) if !self.spent() => Ok(v),
            Ok(_) => Err(self.classify(mlua::Error::runtime("spent"))),
            Err(e) => Err(self.classify(e)),
        }
    }

    /// The error a failed call becomes: the budget and memory limits first, whatever Lua
    /// made of them.
    fn classify(&self, e: mlua::Error) -> LuaError {
        if self.meter.exhausted.load(Ordering::Relaxed) {
            return LuaError::Budget(self.limits.instructions);
        }
        if self.meter.out_of_memory.load(Ordering::Relaxed) || is_memory(&e) {
            self.meter.out_of_memory.store(true, Ordering::Relaxed);
            let _ = self.lua.gc_collect();
            return LuaError::Memory(self.limits.memory);
        }
        LuaError::Runtime(crate::error::describe(&e))
    }
}

fn is_memory(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory(cause),
        mlua::Error::WithContext { cause, .. } => is_memory(cause),
        mlua::Error::RuntimeError(m) => {
            m.contains(crate::error::MEMORY_REASON) || m.contains("not enough memory")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Vm {
        Vm::new(
            Limits {
                instructions: 5_000_000,
                memory: 16 * 1024 * 1024,
            },
            7,
        )
        .unwrap()
    }

    #[test]
    fn an_infinite_loop_ends_with_the_budget_error_even_in_a_coroutine_or_pcall() {
        let vm = small();
        for src in [
            "while true do end",
            "local co = coroutine.create(function() while true do end end) coroutine.resume(co)",
            "coroutine.wrap(function() while true do end end)()",
            "while true do pcall(function() while true do end end) end",
            "local ok = pcall(function() while true do end end) X = ok",
        ] {
            let e = vm.exec("loop", src.as_bytes()).unwrap_err();
            assert!(matches!(e, LuaError::Budget(_)), "{src}: {e:?}");
        }
        // The VM is usable again afterwards.
        vm.exec("ok", b"Y = 1").unwrap();
    }

    #[test]
    fn a_memory_bomb_ends_with_the_memory_error() {
        let vm = small();
        for src in [
            "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end",
            "local s = string.rep('x', 1e9)",
            "pcall(function() local s = string.rep('x', 1e9) end) X = 1",
        ] {
            let e = vm.exec("bomb", src.as_bytes()).unwrap_err();
            assert!(matches!(e, LuaError::Memory(_)), "{src}: {e:?}");
        }
    }

    #[test]
    fn the_sandbox_has_no_io_os_execute_debug_package_or_binary_chunks() {
        let vm = small();
        for src in [
            "io.open('/etc/passwd')",
            "os.execute('true')",
            "debug.getinfo(1)",
            "package.loadlib('x', 'y')",
            "assert(load(string.dump(function() end)))",
            "assert(load('\\27Lua' .. string.rep('x', 20)))",
            "dofile('/etc/passwd')",
            "require('os')",
        ] {
            let e = vm.exec("escape", src.as_bytes()).unwrap_err();
            assert!(matches!(e, LuaError::Runtime(_)), "{src}: {e:?}");
        }
        let e = vm.exec("bin", b"\x1bLua\x53\x00").unwrap_err();
        assert!(matches!(e, LuaError::Runtime(_)), "{e:?}");
    }

    #[test]
    fn deep_recursion_is_a_clear_error() {
        let vm = small();
        let e = vm
            .exec("deep", b"local function f(n) return 1 + f(n + 1) end f(1)")
            .unwrap_err();
        match e {
            LuaError::Runtime(m) => assert!(m.contains("stack overflow"), "{m}"),
            LuaError::Budget(_) | LuaError::Memory(_) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn random_and_time_are_deterministic_and_json_is_there() {
        let a = small();
        let b = small();
        let src = b"R = {math.random(), math.random(1, 100), os.time()} J = json.encode({a = 1, b = {1, 2}})";
        a.exec("r", src).unwrap();
        b.exec("r", src).unwrap();
        let ra: mlua::Table = a.lua().globals().get("R").unwrap();
        let rb: mlua::Table = b.lua().globals().get("R").unwrap();
        for i in 1..=3 {
            assert_eq!(ra.get::<f64>(i).unwrap(), rb.get::<f64>(i).unwrap());
        }
        let j: String = a.lua().globals().get("J").unwrap();
        assert_eq!(j, r#"{"a":1,"b":[1,2]}"#);
        a.exec(
            "r",
            b"assert(require('json').decode('{\"x\":[1,2.5,\"s\"]}').x[2] == 2.5)",
        )
        .unwrap();
    }
}
