"""The Wasm rule host with real modules built from C sources (tests/wasm).

Every hostile module behaves until it sees a process named "boom"; then it
loops, bombs its memory, traps, recurses, reads out of bounds or returns
garbage. Each must be stopped and reported while the well-behaved module
beside it keeps alerting.
"""

from __future__ import annotations

import logging
import pathlib
import re
import shutil
import subprocess
import sys
import time

import pytest

from kestrel import Config, Engine
from kestrel.hosts.wasm import WasmRuleHost
from kestrel.hosts.wasm_manifest import SECTION_NAME, custom_sections
from kestrel.hosts.wasm_sandbox import WasmRuntime

pytestmark = pytest.mark.usefixtures("wasm_modules")

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODS = ROOT / "tests" / "wasm"


def start(name: str, pid: int = 1, *args: str) -> dict:
    return {"event": {"category": "process", "type": "start"}, "@timestamp": 1_700_000_000_000_000_000 + pid,
            "process": {"name": name, "pid": pid, "args": [name, *args]}}


def clone(src: pathlib.Path, dst_root: pathlib.Path, section: str = "limits", **values: object) -> pathlib.Path:
    """A copy of a built module directory with manifest values replaced."""
    dst = dst_root / src.name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("cargo"))
    text = (dst / "wasm-rule.toml").read_text()
    lines = "".join(f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v).replace(chr(39), chr(34))}\n" for k, v in values.items())
    header = f"[{section}]\n"
    if header in text:
        head, rest = text.split(header, 1)
        body, sep, tail = rest.partition("\n[")
        body = "".join(ln + "\n" for ln in body.splitlines() if not any(re.match(rf"{k}\s*=", ln) for k in values))
        text = head + header + lines + body + (sep + tail if sep else "")
    else:
        text += f"\n{header}{lines}"
    (dst / "wasm-rule.toml").write_text(text)
    return dst


def engine_with(*paths: pathlib.Path | str, config: Config | None = None) -> tuple[Engine, object]:
    eng = Engine(config or Config())
    report = eng.load_rules(*map(str, paths))
    return eng, report


def ids(alerts: list) -> list[str]:
    return [a.rule.id for a in alerts]


def run(eng: Engine, events: list[dict]) -> list:
    """Process events, then flush the batches (end of input)."""
    out = []
    for e in events:
        out.extend(eng.process(e))
    out.extend(eng.flush())
    return out


def handle(eng: Engine, name: str):  # type: ignore[no-untyped-def]
    return next(h for h in eng.wasm_modules if h.manifest.name == name)


# -- a well-behaved module ------------------------------------------------------

def test_echo_matches_with_data_actions_and_refuses_undeclared_actions(caplog: pytest.LogCaptureFixture) -> None:
    eng, report = engine_with(MODS / "echo")
    assert report.errors == [] and [r.id for r in report.rules] == ["test-wasm-echo"]
    with caplog.at_level(logging.WARNING, "kestrel.wasm"):
        alerts = run(eng, [start("nc", 10, "--kill-me"), start("bash", 11), start("nc", 12, "--block-me"), start("nc", 13)])
    assert [a.events[0]["process"]["pid"] for a in alerts] == [10, 12, 13]
    kill, block, plain = alerts
    assert kill.extra == {"reason": "kill requested", "data": {"pid": 10}, "actions": ["kill"]}
    assert "actions" not in block.extra and block.extra["data"] == {"pid": 12}
    assert plain.extra == {"data": {"pid": 13}}
    assert kill.rule.id == "test-wasm-echo" and kill.rule.severity == "low" and kill.timestamp_ns == 1_700_000_000_000_000_010
    assert eng.rule("test-wasm-echo").stage.refused_actions == {"block": 1}
    assert "'block'" in caplog.text and "does not declare" in caplog.text
    d = kill.to_dict()
    assert d["actions"] == ["kill"] and d["reason"] == "kill requested"


def test_prefilter_keeps_events_out_of_the_module() -> None:
    eng, _ = engine_with(MODS / "echo")
    h = handle(eng, "echo")
    events = [start("nc", i) for i in range(10)]
    for e in events[::2]:
        e["event"]["type"] = "end"
    assert len(run(eng, events)) == 5
    assert h.items == 5  # the five "end" events never crossed


def test_config_from_the_manifest_reaches_init(tmp_path: pathlib.Path) -> None:
    d = clone(MODS / "echo", tmp_path, "config", name="socat")
    eng, report = engine_with(d)
    assert report.errors == []
    assert [a.events[0]["process"]["name"] for a in run(eng, [start("nc", 1), start("socat", 2)])] == ["socat"]


def test_batches_fill_then_flush_on_size_latency_and_end(tmp_path: pathlib.Path) -> None:
    d = clone(MODS / "echo", tmp_path, batch=4, latency_ms=30)
    eng, _ = engine_with(d)
    h = handle(eng, "echo")
    got = []
    for i in range(3):
        got += eng.process(start("nc", i))
    assert got == [] and h.calls == 0  # waiting for a fourth event or the deadline
    got += eng.process(start("nc", 3))
    assert len(got) == 4 and h.calls == 1  # size flush, returned by the call that filled it
    got += eng.process(start("nc", 4))
    assert eng.poll() == [] and h.calls == 1
    time.sleep(0.05)
    late = eng.poll()  # latency bound passed: a live stream between reads
    assert len(late) == 1 and h.calls == 2
    eng.process(start("nc", 5))
    time.sleep(0.05)
    assert len(eng.process(start("bash", 6))) == 1  # any later event flushes a due batch too
    eng.process(start("nc", 7))
    assert len(eng.flush()) == 1 and h.calls == 4  # end of input


def test_state_and_memory_stay_flat_over_many_batches() -> None:
    eng, _ = engine_with(MODS / "echo")
    h = handle(eng, "echo")
    n = 0
    for i in range(20_000):
        n += len(eng.process(start("nc" if i % 3 == 0 else "ls", i, "-x")))
        if i == 2_000:
            mem = h.sandbox.memory_bytes()
    n += len(eng.flush())
    assert n == 6_667 and h.fault_count == 0
    assert h.sandbox.memory_bytes() == mem


# -- EQL-callable functions --------------------------------------------------------

def test_eql_calls_module_functions_in_batches() -> None:
    eng, _ = engine_with(MODS / "echo")
    eng.add_query('process where process.name != "skip" and wasm.echo.upper(process.name) == "NC" and wasm.echo.is_even(process.pid)', id="q")
    events = [start(n, pid) for n, pid in [("nc", 2), ("nc", 3), ("Nc", 4), ("skip", 6), ("bash", 8)] * 50]
    alerts = [a for a in run(eng, events) if a.rule.id == "q"]
    assert len(alerts) == 100 and {a.events[0]["process"]["pid"] for a in alerts} == {2, 4}
    # 200 events passed the native terms; the module saw distinct argument tuples only, a batch at a time.
    eng2, _ = engine_with(MODS / "echo")
    eng2.add_query("process where wasm.echo.count_calls() >= 0", id="calls")
    run(eng2, [start("nc", i) for i in range(600)])
    answers = eng2.functions["wasm.echo.count_calls"]
    assert answers.handle.calls <= 8  # 600 echo-rule events + 600 function items, batched by 256


def test_function_arity_and_placement_errors_point_at_the_call() -> None:
    eng, _ = engine_with(MODS / "echo")
    with pytest.raises(Exception) as exc:
        eng.add_query('process where wasm.echo.upper(process.name, 1) == "X"', id="a")
    assert "takes 1 argument" in str(exc.value) and "1:15" in str(exc.value)
    with pytest.raises(Exception) as exc:
        eng.add_query('sequence [process where wasm.echo.upper(process.name) == "X"] [process where true]', id="b")
    assert "single-event" in str(exc.value)


def test_eql_rule_files_may_call_functions_of_modules_loaded_beside_them(tmp_path: pathlib.Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(MODS / "echo", rules / "zz_echo")  # sorts after the EQL file: the Wasm host loads first anyway
    (rules / "a.toml").write_text('''[[rule]]
id = "upper-nc"
name = "upper"
query = 'process where wasm.echo.upper(process.name) == "NC"'
[[rule.tests]]
name = "nc"
expect = 1
[[rule.tests.events]]
event.category = "process"
process.name = "nc"
''')
    eng, report = engine_with(rules)
    assert report.errors == [] and sorted(r.id for r in report.rules) == ["test-wasm-echo", "upper-nc"]
    out = subprocess.run([sys.executable, "-m", "kestrel", "rules", "test", str(rules)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 passed, 0 failed" in out.stdout


# -- hostile modules ---------------------------------------------------------------

FAULTS = {
    "loop": "fuel",
    "grow_bomb": "memory",
    "unreachable": "unreachable",
    "recursion": "stack",
    "oob": "out-of-bounds",
    "bad_output": "output",
    "negative": "status",
}


@pytest.mark.parametrize("name,kind", sorted(FAULTS.items()))
def test_hostile_module_is_stopped_reported_restarted_and_quarantined(name: str, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    eng, report = engine_with(MODS / "echo", MODS / name)
    assert report.errors == []
    bad = handle(eng, name)
    rid = f"test-wasm-{name}"
    with caplog.at_level(logging.WARNING, "kestrel.wasm"):
        assert sorted(ids(run(eng, [start("nc", 1)]))) == sorted(["test-wasm-echo", rid])
        t0 = time.perf_counter()
        assert ids(run(eng, [start("boom", 2), start("nc", 3)])) == ["test-wasm-echo"]  # the hostile batch is lost
        assert time.perf_counter() - t0 < 5
        assert bad.faults == {kind: 1} and bad.dropped == 2 and not bad.quarantined
        assert f"wasm {name} ({rid}): fault ({kind}" in caplog.text
        # A fresh instance takes over and behaves again.
        assert sorted(ids(run(eng, [start("nc", 4)]))) == sorted(["test-wasm-echo", rid])
        assert bad.instances == 2
        for i in range(2):
            run(eng, [start("boom", 10 + i)])
        assert bad.quarantined and bad.fault_count == 3
        assert "quarantined after 3 faults" in caplog.text
        assert ids(run(eng, [start("nc", 20)])) == ["test-wasm-echo"]  # quarantined: no events, no alerts
    assert eng.stats.events == 7


def test_bad_index_in_results_is_ignored_and_counted() -> None:
    eng, _ = engine_with(MODS / "bad_output")
    assert ids(run(eng, [start("badindex", 1), start("nc", 2)])) == ["test-wasm-bad_output"]
    assert eng.rule("test-wasm-bad_output").stage.bad_results == 1


def test_epoch_deadline_stops_a_loop_that_fuel_would_not(tmp_path: pathlib.Path) -> None:
    d = clone(MODS / "loop", tmp_path, fuel=10**11, timeout_ms=50)
    eng, _ = engine_with(d)
    t0 = time.perf_counter()
    run(eng, [start("boom", 1)])
    assert handle(eng, "loop").faults == {"timeout": 1}
    assert time.perf_counter() - t0 < 2


def test_modules_refused_at_load_time_leave_the_others_running() -> None:
    eng, report = engine_with(MODS / "echo", MODS / "wasi_import", MODS / "init_refuses", MODS / "no_abi")
    assert [r.id for r in report.rules] == ["test-wasm-echo"]
    msgs = {pathlib.Path(e.file).parent.name: e.message for e in report.errors}
    assert "imports wasi_snapshot_preview1." in msgs["wasi_import"] and "does not grant" in msgs["wasi_import"]
    assert "kestrel_init refused" in msgs["init_refuses"]
    assert "ABI 2" in msgs["no_abi"]
    assert all(e.file.endswith("wasm-rule.toml") for e in report.errors)
    assert ids(run(eng, [start("nc", 1)])) == ["test-wasm-echo"]


def test_hostile_function_answers_unknown_and_the_query_goes_on() -> None:
    eng, report = engine_with(MODS / "fn_hostile")
    assert report.errors == [] and report.rules == []  # functions only
    eng.add_query("process where wasm.fnh.spin(process.name)", id="spin")
    assert ids(run(eng, [start("yes", 1), start("no", 2)])) == ["spin"]
    assert ids(run(eng, [start("boom", 3), start("yes", 4)])) == []  # the batch faulted: unknown, no alert
    h = handle(eng, "fnh")
    assert h.faults == {"fuel": 1}
    assert ids(run(eng, [start("yes", 5)])) == ["spin"]


# -- loading -------------------------------------------------------------------------

def test_manifest_errors_point_into_the_manifest(tmp_path: pathlib.Path) -> None:
    d = clone(MODS / "echo", tmp_path)
    text = (d / "wasm-rule.toml").read_text().replace("prefilter = 'process where event.type == \"start\"'",
                                                       "prefilter = 'process where event.type == '")
    (d / "wasm-rule.toml").write_text(text)
    _, report = engine_with(d)
    (err,) = report.errors
    line = next(i + 1 for i, ln in enumerate(text.splitlines()) if ln.startswith("prefilter"))
    assert err.file == str(d / "wasm-rule.toml") and err.line == line and err.column > 30
    assert err.rule_id == "test-wasm-echo" and err.message.startswith("prefilter:")


def test_sequence_prefilter_is_refused(tmp_path: pathlib.Path) -> None:
    d = clone(MODS / "echo", tmp_path)
    text = (d / "wasm-rule.toml").read_text()
    text = text.replace("prefilter = 'process where event.type == \"start\"'",
                        "prefilter = 'sequence [process where true] [process where true]'")
    (d / "wasm-rule.toml").write_text(text)
    _, report = engine_with(d)
    assert "single-event" in report.errors[0].message


def test_unbuilt_directory_says_how_to_build(tmp_path: pathlib.Path) -> None:
    d = tmp_path / "echo"
    shutil.copytree(MODS / "echo", d, ignore=shutil.ignore_patterns("build"))
    _, report = engine_with(d)
    assert "kestrel rules build" in report.errors[0].message


def test_a_built_wasm_file_is_a_whole_rule(tmp_path: pathlib.Path) -> None:
    built = (MODS / "echo" / "build" / "rule.wasm").read_bytes()
    assert SECTION_NAME in custom_sections(built)
    (tmp_path / "echo.wasm").write_bytes(built)
    eng, report = engine_with(tmp_path / "echo.wasm")
    assert report.errors == [] and ids(run(eng, [start("nc", 1)])) == ["test-wasm-echo"]
    (tmp_path / "bare.wasm").write_bytes((MODS / "echo" / "build" / "module.wasm").read_bytes())
    _, report = engine_with(tmp_path / "bare.wasm")
    assert "no 'kestrel.manifest' custom section" in report.errors[0].message


def test_compiled_modules_are_cached_across_runs(tmp_path: pathlib.Path) -> None:
    for expect_hits in (0, 1):
        rt = WasmRuntime(cache_dir=str(tmp_path / "cache"))
        eng = Engine(Config())
        from kestrel.rules.model import LoadReport

        rep = LoadReport()
        WasmRuleHost(rt).load(str(MODS / "echo"), eng, rep)
        assert rep.errors == [] and rt.cache_hits == expect_hits
        assert ids(run(eng, [start("nc", 1)])) == ["test-wasm-echo"]


def test_duplicate_module_names_are_refused(tmp_path: pathlib.Path) -> None:
    a = clone(MODS / "echo", tmp_path / "a")
    b = clone(MODS / "echo", tmp_path / "b")
    (b / "wasm-rule.toml").write_text((b / "wasm-rule.toml").read_text().replace('id = "test-wasm-echo"', 'id = "other"'))
    _, report = engine_with(a, b)
    assert any("module names must be unique" in e.message for e in report.errors)


def test_stream_loop_flushes_a_waiting_batch_on_a_quiet_live_source(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A live source hands over empty lists on quiet polls; the stream loop
    then delivers a batch whose latency bound passed, long before the end."""
    from kestrel import cli

    d = clone(MODS / "echo", tmp_path, latency_ms=20)
    eng, _ = engine_with(d)
    got: list[tuple[float, str]] = []
    t0 = time.monotonic()

    class Sink:
        name = "probe"

        def emit(self, alert) -> None:  # type: ignore[no-untyped-def]
            got.append((time.monotonic() - t0, alert.rule.id))

        def close(self) -> None:
            pass

    def quiet_source(config, inputs, fmt, stats):  # type: ignore[no-untyped-def]
        yield [start("nc", 1)]
        for _ in range(10):  # ten quiet 50 ms polls
            time.sleep(0.05)
            yield []
        got.append((time.monotonic() - t0, "end of stream"))

    monkeypatch.setattr(cli, "open_batches", quiet_source)
    cli.run_stream(eng, eng.config, ["ebpf"], "auto", [Sink()], quiet=True)
    assert [what for _, what in got] == ["test-wasm-echo", "end of stream"]
    assert got[0][0] < 0.2
