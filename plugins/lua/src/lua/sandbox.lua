-- ferrobeam's Lua sandbox (docs/lua.md, "The sandbox"). Runs once in every new VM, before any
-- module. `check` (from the host) re-raises budget and memory errors that pcall, xpcall or
-- coroutine.resume caught, so no Lua code can swallow them; `seed` seeds the deterministic
-- math.random.
local check, seed = ...

local raw_pcall, raw_xpcall, raw_load = pcall, xpcall, load
local raw_resume = coroutine.resume
local select, type = select, type

pcall = function(...) return check(raw_pcall(...)) end
xpcall = function(...) return check(raw_xpcall(...)) end
coroutine.resume = function(...) return check(raw_resume(...)) end

-- Text chunks only: a binary chunk can crash the VM.
load = function(chunk, name, _mode, ...)
  if select('#', ...) > 0 then
    return raw_load(chunk, name, "t", (...))
  end
  return raw_load(chunk, name, "t")
end
loadstring = load
dofile, loadfile = nil, nil
string.dump = nil
io, debug, package = nil, nil, nil
-- print: nowhere to write to (the AOS runtime collects it into the output instead).
print = function() end

-- os: only the clock, which is the current message's time (deterministic).
__fb = __fb or {}
__fb.time = __fb.time or 0
local fb = __fb
os = {
  time = function(t)
    if t ~= nil then error("os.time(table) is not available in ferrobeam's sandbox", 2) end
    return fb.time
  end,
  clock = function() return 0 end,
  difftime = function(a, b) return a - b end,
}

-- A deterministic math.random (xorshift64*), its state a plain value so snapshots keep it.
fb.rng = fb.rng or seed
if fb.rng == 0 then fb.rng = 0x2545F4914F6CDD1D end
local function next_u53()
  local x = fb.rng
  x = x ~ (x << 13)
  x = x ~ (x >> 7)
  x = x ~ (x << 17)
  fb.rng = x
  return (x >> 11)
end
math.random = function(m, n)
  local r = next_u53() / 9007199254740992.0
  if m == nil then return r end
  if n == nil then m, n = 1, m end
  if m > n then error("bad argument to 'random' (interval is empty)", 2) end
  return m + math.floor(r * (n - m + 1))
end
math.randomseed = function(s)
  s = math.tointeger(s) or math.floor(tonumber(s) or 0)
  fb.rng = (s == 0) and 0x2545F4914F6CDD1D or s
end

-- Lua 5.1 names the guides still use.
table.getn = table.getn or function(t) return #t end
unpack = unpack or table.unpack

-- require: the built-in modules only (json; the AOS runtime's handlers, utils, ao).
local builtin = select(3, ...) or {}
local loaded = {}
local special = {
  handlers = function() return Handlers end,
  utils = function() return Handlers and Handlers.utils or Utils end,
  ["handlers-utils"] = function() return Handlers and Handlers.utils end,
  ao = function() return ao end,
}
require = function(name)
  name = tostring(name):gsub("^%.", "")
  if loaded[name] ~= nil then return loaded[name] end
  if special[name] then
    local m = special[name]()
    if m ~= nil then return m end
  end
  local src = builtin[name]
  if not src then error("module '" .. name .. "' not found (ferrobeam's sandbox provides json, handlers, utils, ao)", 2) end
  local f = assert(raw_load(src, "=" .. name, "t"))
  local m = f(name)
  if m == nil then m = true end
  loaded[name] = m
  return m
end
json = require("json")
