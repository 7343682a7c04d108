"""Delivering events to Wasm modules (the ``wasm-10`` scenario's parts).

- one full batch (256 events) through the C echo module of the test suite:
  the cost of delivery itself (project, encode, call, decode);
- the stream through the ten bundled-module rules of ``kestrel bench``.

Needs the modules built (``make setup``); skipped with the reason otherwise.
"""

from __future__ import annotations

import pathlib
import tempfile

import pytest

from kestrel import Config, Engine

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _built(*dirs: pathlib.Path) -> None:
    from kestrel.hosts.wasm_build import BuildError, build_rule

    try:
        for d in dirs:
            build_rule(str(d))
    except BuildError as exc:
        pytest.skip(f"Wasm modules not built: {exc}")


def test_one_batch_through_echo(benchmark, events) -> None:  # type: ignore[no-untyped-def]
    echo = ROOT / "tests" / "wasm" / "echo"
    _built(echo)
    engine = Engine(Config())
    assert engine.load_rules(str(echo)).errors == []
    stage = engine.rule("test-wasm-echo").stage
    batch = [e for e in events if e["event"]["category"] == "process"][:256]

    def deliver() -> None:
        stage.buf = list(batch)
        stage.flush()

    benchmark.group = "wasm delivery"
    benchmark(deliver)
    benchmark.extra_info["events_per_batch"] = len(batch)
    benchmark.extra_info["us_per_event"] = benchmark.stats.stats.mean / len(batch) * 1e6


def test_ten_wasm_rules_on_the_stream(benchmark, events) -> None:  # type: ignore[no-untyped-def]
    from kestrel.bench.wasm import EXAMPLES, build_rule_set

    examples = ROOT / "examples" / "rules" / "wasm"
    _built(*(examples / e for e in EXAMPLES))
    with tempfile.TemporaryDirectory() as wd:
        rules_dir, _ = build_rule_set(str(examples), wd)

        def run() -> Engine:
            engine = Engine(Config())
            engine.batch_latency = float("inf")
            assert engine.load_rules(rules_dir).errors == []
            process = engine.process
            for e in events:
                process(e)
            engine.flush()
            return engine

        benchmark.group = "wasm rules"
        engine = benchmark.pedantic(run, rounds=3, iterations=1)
    delivered = sum(r.stage.delivered for r in engine.rules)
    benchmark.extra_info["delivered"] = delivered
    benchmark.extra_info["faults"] = sum(h.fault_count for h in engine.wasm_modules)
