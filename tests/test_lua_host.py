"""The Lua rule host with real Lua (lupa): matching, actions, EQL-callable
functions, and hostile scripts, each stopped and reported while a
well-behaved rule beside it keeps alerting."""

from __future__ import annotations

import logging
import os
import pathlib
import time

import pytest

from kestrel import Config, Engine
from kestrel.hosts.lua_sandbox import runtime_name

GOOD = '''
rule {
  id = "good-nc",
  name = "netcat",
  severity = "high",
  tags = {"attack.t1059", "test"},
  prefilter = [[process where event.type == "start"]],
  fields = {"process.name", "process.args", "process.pid"},
  actions = {"alert", "kill"},
  match = function(e)
    if e.process.name ~= "nc" then return false end
    for _, a in ipairs(e.process.args or {}) do
      if a == "--kill-me" then return {reason = "kill requested", data = {pid = e["process.pid"]}, actions = {"kill"}} end
      if a == "--block-me" then return {reason = "block requested", actions = {"block"}} end
    end
    return true
  end,
}
func("upper", function(s) if s == nil then return nil end return string.upper(s) end)
func("shout", function(s) return {s} end)
'''

HOSTILE = '''
rule {
  id = "hostile",
  name = "hostile",
  prefilter = [[process where event.type == "start"]],
  fields = {"process.name"},
  limits = {max_faults = 3, instructions = 100000, timeout_ms = 200},
  match = function(e)
    if e.process.name == "boom" then
      %s
    end
    return e.process.name == "nc"
  end,
}
'''

ATTACKS = {
    "infinite loop": ("while true do end", "budget"),
    "pcall-swallowed loop": ("while true do pcall(function() while true do end end) end", "budget"),
    "xpcall-swallowed loop": ("while true do xpcall(function() while true do end end, function() return 1 end) end", "budget"),
    "coroutine loop": ("coroutine.wrap(function() while true do end end)()", "error"),
    "memory bomb": ("local t = {} while true do t[#t + 1] = string.rep('x', 1000000) .. #t end", "memory"),
    "string.rep bomb": ("return #string.rep('x', 2 ^ 30) > 0", "memory"),
    "os.execute": ("os.execute('touch /tmp/kestrel-lua-pwned')", "error"),
    "io.open": ("io.open('/etc/passwd'):read('*a')", "error"),
    "require": ("require('os').execute('id')", "error"),
    "load": ("load('return 1')()", "error"),
    "loadstring": ("loadstring('return 1')()", "error"),
    "dofile": ("dofile('/etc/passwd')", "error"),
    "debug": ("debug.sethook()", "error"),
    "python": ("python.eval('1')", "error"),
    "string.dump": ("string.dump(print)", "error"),
    "string metatable": ("getmetatable('').__index.dump = 1", "error"),
    "backtracking pattern": ("return string.find(string.rep('a', 20000), 'a*a*a*b')", "error"),
    "gc finalizer": ("setmetatable({}, {__gc = function() while true do end end})", "error"),
    "error object with a looping __tostring": ("error(setmetatable({}, {__tostring = function() while true do end end}))", "error"),
    "result with a looping __index": ("return setmetatable({}, {__index = function() while true do end end})", None),
}


def start(name: str, pid: int = 1, *args: str) -> dict:
    return {"event": {"category": "process", "type": "start"}, "@timestamp": 1_700_000_000_000_000_000 + pid,
            "process": {"name": name, "pid": pid, "args": [name, *args]}}


def load(tmp_path: pathlib.Path, **files: str) -> tuple[Engine, object]:
    for name, code in files.items():
        (tmp_path / f"{name}.lua").write_text(code)
    eng = Engine(Config())
    return eng, eng.load_rules(*(str(tmp_path / f"{n}.lua") for n in files))


def run(eng: Engine, events: list[dict]) -> list[str]:
    out = []
    for e in events:
        out += eng.process(e)
    out += eng.flush()
    return sorted(a.rule.id for a in out)


def test_runtime_is_luajit_or_lua54() -> None:
    assert runtime_name() in ("LuaJIT 2.1 (JIT off)", "Lua 5.4")


def test_matching_data_and_actions(tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    eng, report = load(tmp_path, good=GOOD)
    assert report.errors == [] and [r.id for r in report.rules] == ["good-nc"]
    with caplog.at_level(logging.WARNING, "kestrel.lua"):
        alerts = list(eng.process_many([start("nc", 1, "--kill-me"), start("bash", 2), start("nc", 3, "--block-me"), start("nc", 4)]))
    assert [a.events[0]["process"]["pid"] for a in alerts] == [1, 3, 4]
    assert alerts[0].extra == {"reason": "kill requested", "data": {"pid": 1}, "actions": ["kill"]}
    assert alerts[1].extra == {"reason": "block requested"}  # block is not declared: refused
    assert "'block'" in caplog.text
    assert alerts[0].rule.severity == "high" and alerts[0].timestamp_ns == 1_700_000_000_000_000_001


def test_eql_calls_lua_functions_anywhere(tmp_path: pathlib.Path) -> None:
    eng, _ = load(tmp_path, good=GOOD)
    eng.add_query('process where lua.upper(process.name) == "NC"', id="upper")
    eng.add_query('sequence by process.pid [process where lua.upper(process.name) == "NC"] [process where true]', id="seq")
    eng.add_query('process where lua.shout(process.name) == null', id="tables-are-null")
    ids = run(eng, [start("nc", 7), start("ls", 7), start("Nc", 8)])
    assert ids.count("upper") == 2 and ids.count("seq") == 1 and ids.count("tables-are-null") == 3


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_hostile_rule_is_stopped_and_the_others_go_on(tmp_path: pathlib.Path, attack: str, caplog: pytest.LogCaptureFixture) -> None:
    body, kind = ATTACKS[attack]
    eng, report = load(tmp_path, good=GOOD, hostile=HOSTILE % body)
    assert report.errors == []
    stage = eng.rule("hostile").stage
    with caplog.at_level(logging.WARNING, "kestrel.lua"):
        t0 = time.perf_counter()
        assert run(eng, [start("nc", 1)]) == ["good-nc", "hostile"]
        got = run(eng, [start("boom", 2), start("nc", 3)])
        assert time.perf_counter() - t0 < 10
    if kind is None:  # harmless to the host: a table result is a match, read without its metatable
        assert got == ["good-nc", "hostile", "hostile"] and stage.fault_count == 0
        return
    assert got == ["good-nc", "hostile"]  # only the poisoned event is lost
    assert stage.faults == {kind: 1}, (stage.faults, caplog.text)
    assert f"lua rule hostile (hostile.lua): fault on an event ({kind}" in caplog.text
    for i in range(2):
        run(eng, [start("boom", 10 + i)])
    assert stage.quarantined and "quarantined after 3 faults" in caplog.text
    assert run(eng, [start("nc", 20)]) == ["good-nc"]
    assert not os.path.exists("/tmp/kestrel-lua-pwned")


def test_timeout_catches_what_a_large_budget_lets_run(tmp_path: pathlib.Path) -> None:
    code = (HOSTILE % "while true do end").replace("instructions = 100000, timeout_ms = 200", "instructions = 10000000000, timeout_ms = 50")
    eng, _ = load(tmp_path, hostile=code)
    t0 = time.perf_counter()
    run(eng, [start("boom", 1)])
    assert eng.rule("hostile").stage.faults == {"timeout": 1}
    assert time.perf_counter() - t0 < 2


def test_memory_fault_rebuilds_the_runtime_and_other_rules_of_the_file_go_on(tmp_path: pathlib.Path) -> None:
    both = HOSTILE % "local t = {} while true do t[#t + 1] = string.rep('x', 1000000) .. #t end" + GOOD
    eng, report = load(tmp_path, both=both)
    assert report.errors == []
    lf = eng.lua_files[0]
    assert run(eng, [start("boom", 1)]) == []
    assert lf.rebuilds == 1
    assert run(eng, [start("nc", 2)]) == ["good-nc", "hostile"]


def test_hostile_function_answers_null(tmp_path: pathlib.Path) -> None:
    eng, _ = load(tmp_path, f='func("spin", function(s) if s == "boom" then while true do end end return s == "yes" end)')
    eng.add_query("process where lua.spin(process.name)", id="spin")
    assert run(eng, [start("yes", 1), start("boom", 2), start("no", 3), start("yes", 4)]) == ["spin", "spin"]
    assert eng.functions["lua.spin"].faults == 1


@pytest.mark.parametrize("code,message,line", [
    ("rule { id = 'x'\n", "expected", 2),
    ("local x = nil\nx.y = 1\n", "attempt to index", 2),
    ("while true do end\n", "budget", 0),
    ("rule { id = 'x', prefilter = [[process where]], fields = {'a'}, match = function() end }\n", "prefilter", 1),
    ("rule { id = 'x', prefilter = [[process where true]], fields = {'a'} }\n", "no 'match' function", 1),
    ("rule { id = 'x', prefilter = [[process where true]], fields = {'a'}, match = function() end, severity = 'urgent' }\n", "'severity' must be one of", 1),
    ("rule { prefilter = [[process where true]], fields = {'a'}, match = function() end }\n", "no 'id'", 1),
    ("rule { id = 'x', prefilter = [[sequence [process where true] [process where true] ]], fields = {'a'}, match = function() end }\n", "single-event", 1),
])
def test_file_errors_are_located_and_other_files_load(tmp_path: pathlib.Path, code: str, message: str, line: int) -> None:
    eng, report = load(tmp_path, bad=code, good=GOOD)
    assert [r.id for r in report.rules] == ["good-nc"]
    (err,) = report.errors
    assert message in err.message and err.file.endswith("bad.lua") and err.line == line, err


def test_prefilter_error_points_at_the_query_in_the_file(tmp_path: pathlib.Path) -> None:
    code = 'rule {\n  id = "x",\n  prefilter = [[\nprocess where process.name == ]],\n  fields = {"a"},\n  match = function() end,\n}\n'
    _, report = load(tmp_path, bad=code)
    (err,) = report.errors
    assert err.line == 4 and err.column > 20 and err.rule_id == "x"


def test_rules_test_runs_lua_cases(tmp_path: pathlib.Path) -> None:
    from kestrel.cli import main

    code = GOOD.replace("  match = function(e)", '''  tests = {
    { name = "nc alerts", expect = 1, events = { { event = { category = "process", type = "start" }, process = { name = "nc", pid = 5 } } } },
    { name = "bash is quiet", expect = 0, events = { { event = { category = "process", type = "start" }, process = { name = "bash" } } } },
  },
  match = function(e)''')
    (tmp_path / "good.lua").write_text(code)
    assert main(["rules", "test", str(tmp_path / "good.lua")]) == 0


def test_the_lua54_runtime_passes_the_same_tests() -> None:
    """The host prefers LuaJIT; where a wheel lacks it, Lua 5.4 runs the
    same sandbox. Run this file's tests under it too."""
    import subprocess
    import sys

    if os.environ.get("KESTREL_LUA"):
        pytest.skip("already running under a forced runtime")
    env = dict(os.environ, KESTREL_LUA="lua54")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "not lua54"],
                         capture_output=True, text=True, env=env, cwd=pathlib.Path(__file__).parents[1])
    assert out.returncode == 0, out.stdout[-3000:]
