-- json for ferrobeam's Lua VMs: the rxi-style behaviour AOS code expects (docs/lua.md): an
-- empty table encodes as [], a table with key 1 is an array (sparse or mixed tables are errors),
-- integers print as integers and other numbers with %.14g, functions are skipped.
local json = {}

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function escape_str(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local encode

local function encode_table(t, stack)
  if stack[t] then error("circular reference") end
  stack[t] = true
  local out = {}
  if rawget(t, 1) ~= nil or next(t) == nil then
    local n = 0
    for k in pairs(t) do
      if math.type(k) ~= "integer" or k < 1 then error("invalid table: mixed or invalid key types") end
      n = n + 1
    end
    if n ~= #t then error("invalid table: sparse array") end
    for i = 1, n do out[i] = encode(t[i], stack) end
    stack[t] = nil
    return "[" .. table.concat(out, ",") .. "]"
  end
  local keys = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" then error("invalid table: mixed or invalid key types") end
    if type(v) ~= "function" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  for i, k in ipairs(keys) do out[i] = escape_str(k) .. ":" .. encode(t[k], stack) end
  stack[t] = nil
  return "{" .. table.concat(out, ",") .. "}"
end

encode = function(v, stack)
  local tv = type(v)
  if tv == "nil" then return "null"
  elseif tv == "boolean" then return tostring(v)
  elseif tv == "string" then return escape_str(v)
  elseif tv == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("unexpected number value '" .. tostring(v) .. "'") end
    if math.type(v) == "integer" then return string.format("%d", v) end
    return string.format("%.14g", v)
  elseif tv == "table" then return encode_table(v, stack or {})
  end
  error("unexpected type '" .. tv .. "'")
end

function json.encode(v) return encode(v, {}) end

local function decode_error(str, idx, msg)
  local line, col = 1, 1
  for i = 1, idx - 1 do
    col = col + 1
    if str:sub(i, i) == "\n" then line = line + 1; col = 1 end
  end
  error(string.format("%s at line %d col %d", msg, line, col))
end

local parse

local function skip(str, i)
  local _, e = str:find("^[ \n\r\t]*", i)
  return e + 1
end

local function codepoint_to_utf8(n)
  return utf8.char(n)
end

local function parse_string(str, i)
  local res, j = {}, i + 1
  while true do
    local c = str:sub(j, j)
    if c == "" then decode_error(str, i, "expected closing quote for string") end
    if c == '"' then return table.concat(res), j + 1 end
    if c == "\\" then
      local e = str:sub(j + 1, j + 1)
      local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
      if map[e] then res[#res + 1] = map[e]; j = j + 2
      elseif e == "u" then
        local hex = str:match("^%x%x%x%x", j + 2)
        if not hex then decode_error(str, j, "invalid unicode escape in string") end
        local n = tonumber(hex, 16)
        j = j + 6
        if n >= 0xD800 and n <= 0xDBFF then
          local lo = str:match("^\\u(%x%x%x%x)", j)
          if lo then n = (n - 0xD800) * 0x400 + (tonumber(lo, 16) - 0xDC00) + 0x10000; j = j + 6 end
        end
        res[#res + 1] = codepoint_to_utf8(n)
      else decode_error(str, j, "invalid escape char '" .. e .. "' in string") end
    else
      local s, e = str:find('^[^"\\]+', j)
      res[#res + 1] = str:sub(s, e)
      j = e + 1
    end
  end
end

parse = function(str, i)
  i = skip(str, i)
  local c = str:sub(i, i)
  if c == "{" then
    local obj = {}
    i = skip(str, i + 1)
    if str:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      i = skip(str, i)
      if str:sub(i, i) ~= '"' then decode_error(str, i, "expected string for key") end
      local k
      k, i = parse_string(str, i)
      i = skip(str, i)
      if str:sub(i, i) ~= ":" then decode_error(str, i, "expected ':' after key") end
      local v
      v, i = parse(str, i + 1)
      obj[k] = v
      i = skip(str, i)
      local d = str:sub(i, i)
      i = i + 1
      if d == "}" then return obj, i end
      if d ~= "," then decode_error(str, i - 1, "expected '}' or ','") end
    end
  elseif c == "[" then
    local arr, n = {}, 0
    i = skip(str, i + 1)
    if str:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      local v
      v, i = parse(str, i)
      n = n + 1
      arr[n] = v
      i = skip(str, i)
      local d = str:sub(i, i)
      i = i + 1
      if d == "]" then return arr, i end
      if d ~= "," then decode_error(str, i - 1, "expected ']' or ','") end
    end
  elseif c == '"' then
    return parse_string(str, i)
  elseif str:find("^true", i) then return true, i + 4
  elseif str:find("^false", i) then return false, i + 5
  elseif str:find("^null", i) then return nil, i + 4
  else
    local s, e = str:find("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if not s then decode_error(str, i, "unexpected character '" .. c .. "'") end
    local text = str:sub(s, e)
    local n = math.tointeger(tonumber(text)) 
    if not text:find("[%.eE]") and n then return n, e + 1 end
    local f = tonumber(text)
    if not f then decode_error(str, i, "invalid number '" .. text .. "'") end
    return f, e + 1
  end
end

function json.decode(str)
  if type(str) ~= "string" then error("expected argument of type string, got " .. type(str)) end
  local res, i = parse(str, 1)
  i = skip(str, i)
  if i <= #str then decode_error(str, i, "trailing garbage") end
  return res
end

return json
