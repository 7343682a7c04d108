-- Kestrel's Lua sandbox: trusted code, run first in every rule runtime.
--
-- It keeps references to what rules must not have (debug, os, load) as
-- locals, builds the environment rule files run in, and returns the entry
-- points the Python host calls. Rule code never sees this file's locals:
-- it is loaded with its own environment table, in text mode only.
--
-- The brake is a count hook. Three holes are closed here: a rule that
-- pcall()s in a loop would swallow a plain "budget exhausted" error, so
-- once the budget is spent the hook fires on every instruction of rule
-- code (the host's own code below is exempt, by its chunk name); coroutines
-- would run without the hook, so the library is not offered; LuaJIT's JIT
-- never fires hooks, so it is switched off. C functions cannot be
-- interrupted, so the pattern functions that can backtrack refuse patterns
-- whose worst case on the subject at hand is too long.

local HOST, clock = ...  -- our chunk name; a wall clock (Python's time.monotonic)
local sethook, getinfo = debug.sethook, debug.getinfo
local pcall, error, type, select, setmetatable, rawget, tostring = pcall, error, type, select, setmetatable, rawget, tostring
local s_find, s_match, s_gmatch, s_gsub, s_sub = string.find, string.match, string.gmatch, string.gsub, string.sub
local floor = math.floor
local load, setfenv = load, setfenv
local unpack = unpack or table.unpack

if jit then jit.off(); jit.flush() end

local BUDGET = "instruction budget exhausted"
local TIMEOUT = "time limit exceeded"
local STEP = 1000
local left, tripped, why, deadline, seconds_allowed = 0, false, nil, nil, 0

local function hook()
  if tripped then
    local info = getinfo(2, "S")
    if info and info.source ~= HOST then error(why, 0) end
    return
  end
  left = left - 1
  -- The clock is read only by calls that outlive one hook period: most
  -- events finish within it and never pay for the system call.
  if deadline == nil then deadline = clock() + seconds_allowed end
  if left <= 0 or clock() > deadline then
    tripped = true
    why = left <= 0 and BUDGET or TIMEOUT
    sethook(hook, "", 1)
    error(why, 0)
  end
end

local function arm(steps, seconds)
  left = floor(steps / STEP) + 1
  tripped = false
  deadline = nil
  seconds_allowed = seconds
  sethook(hook, "", STEP)
end

local function disarm()
  sethook()
end

-- Guarded versions of what rules may call -------------------------------

local function pack(...) return {n = select("#", ...), ...} end

local function safe_pcall(f, ...)
  local r = pack(pcall(f, ...))
  if tripped then error(why, 0) end
  return unpack(r, 1, r.n)
end

local function safe_xpcall(f, handler, ...)
  local args = pack(...)
  local r = pack(pcall(f, unpack(args, 1, args.n)))
  if tripped then error(why, 0) end
  if not r[1] then return false, handler(r[2]) end
  return unpack(r, 1, r.n)
end

-- Worst-case cost of a Lua pattern: each unbounded repetition (* + -)
-- of a single character or a set can multiply the work by the subject's
-- length. Counted once per pattern (a small cache), refused when the
-- product on this subject is too large.
local MAX_PATTERN_WORK = 2e7
local rep_cache, rep_cached = {}, 0
local function skip_set(p, j, n)  -- j at "[": returns the index after "]"
  j = j + 1
  if s_sub(p, j, j) == "^" then j = j + 1 end
  if s_sub(p, j, j) == "]" then j = j + 1 end
  while j <= n and s_sub(p, j, j) ~= "]" do
    if s_sub(p, j, j) == "%" then j = j + 1 end
    j = j + 1
  end
  return j + 1
end

local function repetitions(p)
  local reps, i, n = 0, 1, #p
  while i <= n do
    local c = s_sub(p, i, i)
    local item = true  -- whether a quantifier may follow
    if c == "%" then
      local d = s_sub(p, i + 1, i + 1)
      if d == "b" then i = i + 4; item = false
      elseif d == "f" then i = skip_set(p, i + 2, n); item = false
      else i = i + 2 end
    elseif c == "[" then
      i = skip_set(p, i, n)
    elseif c == "(" or c == ")" then
      i = i + 1; item = false
    else
      i = i + 1
    end
    if item then
      local q = s_sub(p, i, i)
      if q == "*" or q == "+" or q == "-" then reps = reps + 1; i = i + 1
      elseif q == "?" then i = i + 1 end
    end
  end
  return reps
end

local function check_pattern(s, p)
  if type(p) ~= "string" or type(s) ~= "string" then return end
  local reps = rep_cache[p]
  if reps == nil then
    reps = repetitions(p)
    if rep_cached >= 256 then rep_cache, rep_cached = {}, 0 end
    rep_cache[p] = reps
    rep_cached = rep_cached + 1
  end
  if reps >= 2 and (#s + 1) ^ reps > MAX_PATTERN_WORK then
    error("pattern too costly for this subject in the sandbox (" .. reps .. " repetitions on " .. #s
      .. " bytes); use kestrel.glob or plain string.find", 3)
  end
end

local safe_string = {}
for k, v in pairs(string) do safe_string[k] = v end
safe_string.dump = nil
safe_string.find = function(s, p, init, plain)
  if not plain then check_pattern(s, p) end
  return s_find(s, p, init, plain)
end
safe_string.match = function(s, p, init) check_pattern(s, p); return s_match(s, p, init) end
safe_string.gmatch = function(s, p) check_pattern(s, p); return s_gmatch(s, p) end
safe_string.gsub = function(s, p, r, n) check_pattern(s, p); return s_gsub(s, p, r, n) end
string.dump = nil
-- Method calls on strings ("x"):find(...) go through the string metatable;
-- rules may not read or change it.
getmetatable("").__index = safe_string
getmetatable("").__metatable = false

local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end

local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in rules", 2)  -- finalizers would run outside the budget
  end
  return setmetatable(t, mt)
end

-- Registration ---------------------------------------------------------------

local rules, funcs = {}, {}

local function new_env(lib)
  local env = {
    string = safe_string, table = copy(table), math = copy(math),
    pairs = pairs, ipairs = ipairs, next = next, select = select, type = type,
    tostring = tostring, tonumber = tonumber, error = error, assert = assert,
    pcall = safe_pcall, xpcall = safe_xpcall,
    setmetatable = safe_setmetatable, getmetatable = getmetatable,
    rawget = rawget, rawset = rawset, rawequal = rawequal, rawlen = rawlen,
    unpack = unpack,
  }
  env.table.unpack = unpack
  env._G = env
  env.rule = function(t)
    if type(t) ~= "table" then error("rule{...} takes a table", 2) end
    rules[#rules + 1] = t
    return t
  end
  env.func = function(name, f)
    if type(name) ~= "string" or type(f) ~= "function" then error("func(name, function) takes a name and a function", 2) end
    funcs[#funcs + 1] = {name, f}
  end
  env.kestrel = lib
  return env
end

local function load_in(code, name, env)
  local chunk, err
  if setfenv then  -- Lua 5.1 / LuaJIT
    if s_sub(code, 1, 1) == "\27" then return nil, "binary chunks are not allowed" end
    chunk, err = loadstring(code, name)
    if chunk then setfenv(chunk, env) end
  else
    chunk, err = load(code, name, "t", env)
  end
  return chunk, err
end

-- A copy made of plain values only (no metatables, no functions), read
-- with rawget/next: what crosses to Python must not run rule code.
local function plain(v, depth, budget)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" or depth > 8 then return nil end
  local out = {}
  local k, x = next(v)
  while k ~= nil do
    budget[1] = budget[1] - 1
    if budget[1] < 0 then break end
    local tk = type(k)
    if tk == "string" or tk == "number" then
      local px = plain(x, depth + 1, budget)
      if px ~= nil then out[k] = px end
    end
    k, x = next(v, k)
  end
  return out
end

-- Runs fn(...) under the budget; returns status, result ("ok" | "error" |
-- "budget" | "timeout" | "memory"). A table result is made plain while
-- still under the budget.
local function finish(v)
  if type(v) == "table" then return plain(v, 0, {10000}) end
  return v
end
local function call_plain(fn, ...) return finish(fn(...)) end

local function guarded_with(wrap, steps, seconds, fn, ...)
  arm(steps, seconds)
  local ok, r = pcall(wrap, fn, ...)
  disarm()
  if tripped then return why == BUDGET and "budget" or "timeout", why end
  if not ok then
    local msg = type(r) == "string" and r or ("error object of type " .. type(r))
    if s_find(msg, "not enough memory", 1, true) then return "memory", msg end
    return "error", msg
  end
  return "ok", r
end

local function call_raw(fn, ...) return (fn(...)) end
local function guarded(steps, seconds, fn, ...) return guarded_with(call_plain, steps, seconds, fn, ...) end
-- For host-side loading only: the value is kept as it is (the library's
-- table of functions), never handed to Python.
local function guarded_raw(steps, seconds, fn, ...) return guarded_with(call_raw, steps, seconds, fn, ...) end

local api = {}

-- Load the SDK library and a rule file; returns status, message.
function api.load(lib_code, lib_name, code, name, steps, seconds)
  local lib_chunk, err = load_in(lib_code, lib_name, new_env({}))
  if not lib_chunk then return "error", err end
  local st, lib = guarded_raw(steps, seconds, lib_chunk)
  if st ~= "ok" then return st, lib end
  if type(lib) ~= "table" then return "error", "the SDK library did not return a table" end
  api.lib = lib
  local env = new_env(lib)
  local chunk
  chunk, err = load_in(code, name, env)
  if not chunk then return "error", err end
  local st2, r2 = guarded_raw(steps, seconds, chunk)
  if st2 ~= "ok" then return st2, r2 end
  return "ok", nil
end

-- The registered rules as plain tables (match functions kept apart), and
-- the registered functions; read under the budget, as rule code may have
-- planted metatables.
function api.rules(steps, seconds)
  return guarded_raw(steps, seconds, function()
    local out = {}
    for i = 1, #rules do
      local r = rules[i]
      local budget = {1000000}
      local t = plain(r, 0, budget)
      if budget[1] < 0 then error("rule " .. i .. " of the file is too large (over 1,000,000 values)", 0) end
      t.match = nil
      out[i] = {t, type(rawget(r, "match")) == "function"}
    end
    return out
  end)
end
function api.rule_match(i) return rawget(rules[i], "match") end
function api.funcs() return funcs end
function api.set_log(f)
  api.lib.log = function(level, msg)
    f(type(level) == "string" and level or "info", type(msg) == "string" and msg or type(msg))
  end
end

-- Event tables: flat dotted keys, plus nested reads (e.process.name) for
-- the declared prefixes, so a missing field reads as nil either way.
local function event_mt(prefixes)
  local proxy_mt = {}
  proxy_mt.__index = function(p, k)
    local full = rawget(p, 1) .. "." .. tostring(k)
    local v = rawget(p, 2)[full]
    if v == nil and prefixes[full] then return setmetatable({full, rawget(p, 2)}, proxy_mt) end
    return v
  end
  return {__index = function(e, k)
    if prefixes[k] then return setmetatable({k, e}, proxy_mt) end
    return nil
  end}
end
api.event_mt = event_mt

-- One batch for one rule: columns[j][i] is field j of event i. Each event
-- gets its own budget, so one poisoned event costs only itself. Returns
-- hits {i, result...}, faults {i, kind, message...}.
-- The hook stays armed for the whole batch; each event gets a fresh count
-- and, after a trip, the normal period back.
function api.run(match, names, prefixes_mt, nf, n, steps, seconds, ...)
  local cols = {...}
  local hits, faults, nh, nfl = {}, {}, 0, 0
  local periods = floor(steps / STEP) + 1
  seconds_allowed = seconds
  sethook(hook, "", STEP)
  for i = 1, n do
    local e = setmetatable({}, prefixes_mt)
    for j = 1, nf do e[names[j]] = cols[j][i] end
    left, deadline = periods, nil
    local ok, r = pcall(match, e)
    if ok and type(r) == "table" and not tripped then
      -- A table result is copied plain, still under the budget.
      ok, r = pcall(plain, r, 0, {10000})
    end
    if tripped then
      -- Refill before clearing the flag: the every-instruction hook is
      -- still on, and host code must not trip it again.
      left, deadline = periods, nil
      tripped = false
      sethook(hook, "", STEP)
      nfl = nfl + 3; faults[nfl - 2] = i; faults[nfl - 1] = why == BUDGET and "budget" or "timeout"; faults[nfl] = why
    elseif ok then
      if r then nh = nh + 2; hits[nh - 1] = i; hits[nh] = r end
    else
      local msg = type(r) == "string" and r or ("error object of type " .. type(r))
      local st = s_find(msg, "not enough memory", 1, true) and "memory" or "error"
      nfl = nfl + 3; faults[nfl - 2] = i; faults[nfl - 1] = st; faults[nfl] = msg
      if st == "memory" then break end
    end
  end
  sethook()
  return hits, faults
end

-- One call of an EQL-callable function.
function api.call(fn, steps, seconds, ...)
  return guarded(steps, seconds, fn, ...)
end

return api
