"""The bundled Lua rules and the Lua-side library, under both runtimes.

- the SDK library's own Lua tests pass under LuaJIT and Lua 5.4;
- every bundled Lua rule loads with metadata and both kinds of case, and
  every embedded case passes (one pytest item per case);
- their EQL-callable functions answer from EQL;
- with every bundled rule (EQL, Wasm, Lua) the sample replay raises the
  EQL rules' alerts plus Lua alerts on the reverse-shell story only.
"""

from __future__ import annotations

import importlib
import pathlib
from collections import Counter

import pytest

from kestrel import Config, Engine
from kestrel.rules.testing import collect_specs, run_case

ROOT = pathlib.Path(__file__).resolve().parents[1]
LUA = ROOT / "examples" / "rules" / "lua"
SDK = ROOT / "sdk" / "lua"


@pytest.mark.parametrize("runtime", ["luajit21", "lua54"])
def test_the_library_passes_its_own_tests(runtime: str) -> None:
    mod = importlib.import_module(f"lupa.{runtime}")
    rt = mod.LuaRuntime(register_eval=False)
    lib = rt.execute((SDK / "kestrel.lua").read_text())
    rt.globals().kestrel = lib
    rt.execute((SDK / "tests" / "test_kestrel.lua").read_text())


def test_the_library_passes_its_own_tests_inside_the_sandbox() -> None:
    from kestrel.hosts.lua_sandbox import LuaSandbox

    LuaSandbox((SDK / "tests" / "test_kestrel.lua").read_text(), str(SDK / "tests" / "test_kestrel.lua"), 64,
               load_steps=10**9, load_seconds=60)


def test_examples_load_with_metadata_and_cases() -> None:
    engine = Engine(Config())
    report = engine.load_rules(str(LUA))
    assert report.errors == []
    assert len(report.rules) >= 6 and report.files >= 6
    for rule in report.rules:
        spec = rule.spec
        assert spec.id.startswith("kestrel-lua-") and spec.description.strip()
        assert any(t.startswith("attack.t") for t in spec.tags) and any(not t.startswith("attack.t") for t in spec.tags), spec.id
        expects = [c.expect for c in spec.tests]
        assert any(e >= 1 for e in expects) and any(e == 0 for e in expects), spec.id
    assert {"lua.is_reverse_shell", "lua.is_private_ip", "lua.entropy"} <= set(engine.functions)


def _cases() -> list:
    specs, errors = collect_specs([str(LUA)], Config())
    return [pytest.param(spec, case, id=f"{spec.id}::{case.name}") for spec in specs for case in spec.tests]


@pytest.mark.parametrize(("spec", "case"), _cases())
def test_embedded_case(spec, case) -> None:  # type: ignore[no-untyped-def]
    result = run_case(spec, case, Config())
    assert not result.error, result.error
    assert result.passed, f"expected {result.expected} alert(s), got {result.got}"


def test_lua_functions_serve_eql() -> None:
    engine = Engine(Config())
    assert engine.load_rules(str(LUA)).errors == []
    engine.add_query('network where not lua.is_private_ip(destination.ip)', id="public")
    engine.add_query('process where lua.entropy(process.command_line) > 4.5', id="noisy")
    events = [
        {"event": {"category": "network"}, "destination": {"ip": ip}} for ip in ("10.1.2.3", "8.8.8.8", "::1", "2001:4860::8888")
    ] + [
        {"event": {"category": "process"}, "process": {"command_line": c}}
        for c in ("ls -la", "python3 -c aW1wb3J0IHNvY2tldCxvczsgcz1zb2NrZXQuc29ja2V0KCk7IHMuY29ubmVjdCgo")
    ]
    got = Counter(a.rule.id for a in engine.process_many(events))
    assert got["public"] == 2 and got["noisy"] == 1


# The sample's reverse-shell story, seen by the Lua rules too.
EXPECTED_LUA_ON_SAMPLE = {"kestrel-lua-reverse-shell-cmdline", "kestrel-lua-interpreter-connects-public-unusual-port"}


def test_sample_replay_with_every_bundled_rule(wasm_examples: pathlib.Path) -> None:
    spec = importlib.util.spec_from_file_location("example_rules", ROOT / "tests" / "test_example_rules.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    engine = Engine(Config())
    report = engine.load_rules(str(ROOT / "examples" / "rules"))
    assert report.errors == []
    events, _ = mod._sample_events()
    alerts = list(engine.process_many(events))
    fired = {a.rule.id for a in alerts}
    assert fired == mod.EXPECTED_SAMPLE_RULES | EXPECTED_LUA_ON_SAMPLE
    for a in alerts:
        if not a.rule.id.startswith("kestrel-linux-"):
            assert all((e.get("labels") or {}).get("demo_story") == "webshell-reverse-shell" for e in a.events), a.rule.id
