-- ferrobeam's AOS runtime (docs/lua.md, "The AOS runtime"): the legacy AOS process API that
-- the guides' Lua is written against (Handlers, Send, Spawn, msg.reply, Inbox, Owner, Eval),
-- run natively. Written for ferrobeam; the behaviour follows spec/process.md §6.
local json = json
local fb = __fb

__aos = __aos or { reference = 0, sources = {}, inited = false }
local state = __aos

Colors = { red = "\27[31m", green = "\27[32m", blue = "\27[34m", reset = "\27[0m", gray = "\27[90m" }
Bell = "\7"
Inbox = Inbox or {}
Name = Name or "aos"
local MAX_INBOX = 10000

-- print: collected into the message's Output.
local prints = {}
print = function(...)
  local parts = {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    if type(v) == "table" then
      local ok, s = pcall(json.encode, v)
      parts[#parts + 1] = ok and s or tostring(v)
    else
      parts[#parts + 1] = tostring(v)
    end
  end
  prints[#prints + 1] = table.concat(parts, "\t")
end

function Prompt() return "aos> " end

-- utils ---------------------------------------------------------------------------------------
local utils = {}
Utils = utils
local MAGIC = "[%^%$%(%)%%%.%[%]%*%+%-%?]"

function utils.matchesPattern(pattern, value, msg)
  if pattern == "_" then return true end
  if type(pattern) == "function" then return pattern(value, msg) and true or false end
  if type(pattern) == "table" then
    for _, p in ipairs(pattern) do
      if utils.matchesPattern(p, value, msg) then return true end
    end
    return false
  end
  if type(pattern) == "string" and type(value) == "string" then
    if value == pattern then return true end
    if pattern:find(MAGIC) then return value:match("^" .. pattern .. "$") ~= nil end
    return false
  end
  return pattern == value
end

function utils.matchesSpec(msg, spec)
  if type(spec) == "function" then return spec(msg) end
  if type(spec) == "string" then return msg.Action == spec end
  if type(spec) == "table" then
    for key, pattern in pairs(spec) do
      local value = msg[key]
      if value == nil and msg.Tags then value = msg.Tags[key] end
      if value == nil then return false end
      if not utils.matchesPattern(pattern, value, msg) then return false end
    end
    return true
  end
  return false
end

function utils.map(f, t) local r = {} for i, v in ipairs(t) do r[i] = f(v, i) end return r end
function utils.filter(f, t) local r = {} for _, v in ipairs(t) do if f(v) then r[#r + 1] = v end end return r end
function utils.reduce(f, acc, t) for _, v in ipairs(t) do acc = f(acc, v) end return acc end
function utils.find(f, t) for _, v in ipairs(t) do if f(v) then return v end end return nil end
function utils.includes(v, t) for _, x in ipairs(t) do if x == v then return true end end return false end
function utils.keys(t) local r = {} for k in pairs(t) do r[#r + 1] = k end return r end
function utils.values(t) local r = {} for _, v in pairs(t) do r[#r + 1] = v end return r end
function utils.propEq(k, v) return function(o) return o[k] == v end end
function utils.concat(a, b) local r = {} for _, v in ipairs(a) do r[#r + 1] = v end for _, v in ipairs(b) do r[#r + 1] = v end return r end

-- Handlers --------------------------------------------------------------------------------------
Handlers = { list = {}, onceNonce = 0 }
Handlers._version = "ferrobeam-aos-2.0"
Handlers.utils = {}

function Handlers.utils.hasMatchingTag(name, value)
  return function(msg) return msg.Tags[name] == value end
end
function Handlers.utils.hasMatchingTagOf(name, values)
  return function(msg)
    for _, v in ipairs(values) do
      if msg.Tags[name] == v then return -1 end
    end
    return 0
  end
end
function Handlers.utils.hasMatchingData(value)
  return function(msg) return msg.Data == value end
end
function Handlers.utils.reply(input)
  return function(msg)
    if type(input) == "string" then msg.reply({ Data = input }) else msg.reply(input) end
  end
end
function Handlers.utils.continue(pattern)
  return function(msg)
    local r = utils.matchesSpec(msg, pattern)
    if r == true or r == -1 or r == "break" or r == 1 or r == "continue" then return 1 end
    return r
  end
end

local function find_index(name)
  for i, h in ipairs(Handlers.list) do if h.name == name then return i end end
  return nil
end

local function args(name, pattern, handle, maxRuns)
  if handle == nil and type(pattern) == "function" and maxRuns == nil then
    -- add(name, handle): the name is the Action.
    return name, name, pattern, nil
  end
  return name, pattern, handle, maxRuns
end

local function check(name, pattern, handle)
  if type(name) ~= "string" then error("invalid arguments: handler name must be a string", 3) end
  if type(handle) ~= "function" and not (type(handle) == "table" and getmetatable(handle) and getmetatable(handle).__call) then
    error("invalid arguments: handler " .. name .. " needs a handle function", 3)
  end
end

function Handlers.append(name, pattern, handle, maxRuns)
  name, pattern, handle, maxRuns = args(name, pattern, handle, maxRuns)
  check(name, pattern, handle)
  local entry = { name = name, pattern = pattern, handle = handle, maxRuns = maxRuns }
  local i = find_index(name)
  if i then Handlers.list[i] = entry else table.insert(Handlers.list, entry) end
  return #Handlers.list
end

-- `add` is `append` (a tail call, so argument errors still point at the caller).
function Handlers.add(name, pattern, handle, maxRuns)
  return Handlers.append(name, pattern, handle, maxRuns)
end

function Handlers.prepend(name, pattern, handle, maxRuns)
  name, pattern, handle, maxRuns = args(name, pattern, handle, maxRuns)
  check(name, pattern, handle)
  local entry = { name = name, pattern = pattern, handle = handle, maxRuns = maxRuns }
  local i = find_index(name)
  if i then Handlers.list[i] = entry else table.insert(Handlers.list, 1, entry) end
  return #Handlers.list
end

function Handlers.once(name, pattern, handle)
  if type(name) ~= "string" then
    Handlers.onceNonce = Handlers.onceNonce + 1
    name, pattern, handle = "_once_" .. tostring(Handlers.onceNonce), name, pattern
  end
  return Handlers.prepend(name, pattern, handle, 1)
end

function Handlers.before(target)
  return { add = function(name, pattern, handle, maxRuns)
    local i = find_index(target)
    local entry = { name = name, pattern = pattern, handle = handle, maxRuns = maxRuns }
    if i then table.insert(Handlers.list, i, entry) else table.insert(Handlers.list, entry) end
    return #Handlers.list
  end }
end

function Handlers.after(target)
  return { add = function(name, pattern, handle, maxRuns)
    local i = find_index(target)
    local entry = { name = name, pattern = pattern, handle = handle, maxRuns = maxRuns }
    if i then table.insert(Handlers.list, i + 1, entry) else table.insert(Handlers.list, entry) end
    return #Handlers.list
  end }
end

function Handlers.remove(name)
  local i = find_index(name)
  if i then table.remove(Handlers.list, i) end
end

function Handlers.receive()
  error("Handlers.receive is not supported by ferrobeam's AOS runtime (no suspended coroutines across messages)", 2)
end

local function verdict(r)
  if r == true or r == -1 or r == "break" then return "break" end
  if r == 1 or r == "continue" then return "continue" end
  if r == false or r == nil or r == 0 or r == "skip" then return "skip" end
  error("invalid pattern result: " .. tostring(r))
end

function Handlers.evaluate(msg, env)
  local handled = false
  local i = 1
  while i <= #Handlers.list do
    local h = Handlers.list[i]
    local removed = false
    if h.name ~= "_default" then
      local v = verdict(utils.matchesSpec(msg, h.pattern))
      if v ~= "skip" then
        if h.maxRuns ~= nil then
          h.maxRuns = h.maxRuns - 1
          if h.maxRuns <= 0 then
            table.remove(Handlers.list, i)
            removed = true
          end
        end
        h.handle(msg, env)
        if v == "break" then handled = true; break end
      end
    end
    if not removed then i = i + 1 end
  end
  if not handled then
    local d = Handlers.list[find_index("_default") or 0]
    if d then d.handle(msg, env) end
  end
end

-- ao ------------------------------------------------------------------------------------------
ao.outbox = { Messages = {}, Spawns = {}, Assignments = {}, Output = {} }
ao.authorities = ao.authorities or {}
ao._version = "ferrobeam-aos-2.0"

local NON_TAGS = { Target = true, Data = true, Anchor = true, Tags = true, From = true }

local function anchor(n) return string.format("%032d", n) end

local function tags_of(m, extra)
  local tags = extra
  for k, v in pairs(m) do
    if type(k) == "string" and not NON_TAGS[k] and type(v) ~= "function" then
      tags[#tags + 1] = { name = k, value = v }
    end
  end
  if type(m.Tags) == "table" then
    if #m.Tags > 0 then
      for _, t in ipairs(m.Tags) do tags[#tags + 1] = { name = t.name, value = t.value } end
    else
      for k, v in pairs(m.Tags) do tags[#tags + 1] = { name = k, value = v } end
    end
  end
  return tags
end

function ao.clearOutbox()
  ao.outbox = { Messages = {}, Spawns = {}, Assignments = {}, Output = {} }
end

function ao.send(m)
  if type(m) ~= "table" then error("ao.send: the message must be a table", 2) end
  state.reference = state.reference + 1
  local ref = tostring(state.reference)
  local out = {
    Target = m.Target,
    Data = m.Data,
    Anchor = anchor(state.reference),
    Tags = tags_of(m, {
      { name = "Data-Protocol", value = "ao" },
      { name = "Variant", value = "ao.TN.1" },
      { name = "Type", value = "Message" },
      { name = "Reference", value = ref },
    }),
  }
  table.insert(ao.outbox.Messages, out)
  local handle = {}
  for k, v in pairs(out) do handle[k] = v end
  handle.onReply = function(...)
    local from, fn
    if select('#', ...) == 1 then from, fn = m.Target, ... else from, fn = ... end
    Handlers.once({ From = from, ["X-Reference"] = ref }, fn)
  end
  handle.receive = function() error("receive is not supported by ferrobeam's AOS runtime", 2) end
  return handle
end

function ao.spawn(module, m)
  if type(module) ~= "string" then error("ao.spawn: the module must be an ID", 2) end
  m = m or {}
  state.reference = state.reference + 1
  local spawn = {
    Data = m.Data or "NODATA",
    Anchor = anchor(state.reference),
    Tags = tags_of(m, {
      { name = "Data-Protocol", value = "ao" },
      { name = "Variant", value = "ao.TN.1" },
      { name = "Type", value = "Process" },
      { name = "From-Process", value = ao.id },
      { name = "From-Module", value = ao._module },
      { name = "Module", value = module },
      { name = "Reference", value = tostring(state.reference) },
    }),
  }
  table.insert(ao.outbox.Spawns, spawn)
  return spawn
end

function ao.assign(a)
  table.insert(ao.outbox.Assignments, a)
end

function ao.isTrusted(msg)
  if msg.From == msg.Owner then return true end
  for _, a in ipairs(ao.authorities) do
    if msg.Owner == a or msg.From == a then return true end
  end
  return false
end

function Send(m)
  if type(m) ~= "table" then error("Send: the message must be a table", 2) end
  if m.Target == nil and m.device == nil then
    print("WARN: No target specified for message. Data will be stored, but no process will receive it.")
  end
  if type(m.Data) == "table" then
    m.Data = json.encode(m.Data)
    m["Content-Type"] = m["Content-Type"] or "application/json"
  end
  return ao.send(m)
end

function Spawn(module, m)
  if m == nil and type(module) == "table" then m, module = module, ao._module end
  return ao.spawn(module, m)
end

function Assign(a) return ao.assign(a) end

-- the built-in handlers --------------------------------------------------------------------------
local function stringify(v)
  if type(v) == "table" then
    local ok, s = pcall(json.encode, v)
    if ok then return s end
  end
  return tostring(v)
end

local eval_output
Handlers.add("_eval",
  function(msg) return msg.Action == "Eval" and msg.From == Owner end,
  function(msg)
    local src = msg.Data
    if type(src) ~= "string" then error("Eval: the message has no code in Data") end
    local f, err = load("return " .. src, "aos")
    if not f then f, err = load(src, "aos") end
    if not f then error(err, 0) end
    local r = table.pack(f())
    table.insert(state.sources, src)
    if r.n > 0 and r[1] ~= nil then eval_output = stringify(r[1]) end
  end)

Handlers.add("_default",
  function() return true end,
  function(msg)
    if #Inbox >= MAX_INBOX then table.remove(Inbox, 1) end
    table.insert(Inbox, msg)
    local from = tostring(msg.From or "?")
    local short = #from > 6 and (from:sub(1, 3) .. "..." .. from:sub(-3)) or from
    local what = msg.Action and ("Action = " .. Colors.blue .. tostring(msg.Action) .. Colors.reset)
      or ("Data = " .. Colors.blue .. tostring(msg.Data) .. Colors.reset)
    print(Colors.gray .. "New Message From " .. Colors.green .. short .. Colors.gray .. ": " .. Colors.gray .. what)
  end)

-- one message --------------------------------------------------------------------------------------
local function init(env)
  if state.inited then return end
  state.inited = true
  ao.id = env.Process.Id
  ao._module = env.Process.Module
  local auth = {}
  for _, t in ipairs(env.Process.Tags or {}) do
    if t.name == "Authority" then
      for a in tostring(t.value):gmatch("[^,%s]+") do auth[#auth + 1] = a end
    end
    if t.name == "Name" then Name = t.value end
  end
  state.authorities = auth
  state.id = env.Process.Id
  state.module = env.Process.Module
  Owner = env.Process.Owner
end

local function restore_env()
  ao.id = state.id
  ao._module = state.module
  ao.authorities = state.authorities or {}
end

function __aos_handle(msg, env)
  init(env)
  restore_env()
  ao.clearOutbox()
  prints = {}
  eval_output = nil
  fb.time = msg.Timestamp or fb.time
  ao.env = env

  if not ao.isTrusted(msg) then
    return { Output = { data = "Message is not trusted.", prompt = Prompt() } }
  end

  msg.reply = function(r)
    if type(r) == "string" then r = { Data = r } end
    r.Target = msg["Reply-To"] or r.Target or msg.From
    r["X-Reference"] = msg["X-Reference"] or msg.Reference
    r["X-Origin"] = msg["X-Origin"] or r["X-Origin"]
    return ao.send(r)
  end
  msg.forward = function(target, extra)
    local m = {}
    for k, v in pairs(msg) do
      if type(v) ~= "function" and k ~= "Tags" and k ~= "TagArray" and k ~= "Id" and k ~= "Owner"
        and k ~= "From" and k ~= "Target" and k ~= "Anchor" and k ~= "Signature" then m[k] = v end
    end
    for k, v in pairs(extra or {}) do m[k] = v end
    m.Target = target
    m["Reply-To"] = msg["Reply-To"] or msg.From
    m["X-Reference"] = msg["X-Reference"] or msg.Reference
    m["X-Origin"] = msg["X-Origin"] or msg.From
    return ao.send(m)
  end

  -- The first message of a process with `On-Boot: Data` runs the process's Data.
  if msg.Id == ao.id and env.Process.OnBoot == "Data" and type(msg.Data) == "string" then
    local ok, err = pcall(function()
      local f, e = load(msg.Data, "boot")
      if not f then error(e, 0) end
      f()
      table.insert(state.sources, msg.Data)
    end)
    if not ok then print(Colors.red .. "boot error: " .. tostring(err) .. Colors.reset) end
  end

  local ok, err = pcall(Handlers.evaluate, msg, env)
  local is_eval = msg.Action == "Eval"
  if not ok then
    local text = table.concat(prints, "\n")
    if is_eval then
      return { Error = (text ~= "" and (text .. "\n\n") or "") .. Colors.red .. "error:\n" .. Colors.reset .. tostring(err),
               Output = { data = tostring(err), prompt = Prompt() } }
    end
    print(Colors.red .. "Error handling message: " .. tostring(err) .. Colors.reset)
    return { Error = tostring(err), Output = { data = table.concat(prints, "\n"), prompt = Prompt(), print = true } }
  end
  local data = table.concat(prints, "\n")
  if eval_output ~= nil then data = (data ~= "" and (data .. "\n") or "") .. eval_output end
  local out = { Output = { data = data, prompt = Prompt() } }
  if not is_eval then out.Output.print = true end
  out.Messages = ao.outbox.Messages
  out.Spawns = ao.outbox.Spawns
  out.Assignments = ao.outbox.Assignments
  return out
end
