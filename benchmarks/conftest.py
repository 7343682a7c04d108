"""Shared inputs for the pytest-benchmark suite (``pytest benchmarks/ --benchmark-only``).

The suite is not part of ``make test`` (pyproject's testpaths is ``tests``):
it measures, it does not gate. Sizes are smaller than ``kestrel bench``'s so
a run takes a minute or two; the scenarios and the workload are the same
(kestrel.bench.workload, seed 1).
"""

from __future__ import annotations

import gc
from typing import Callable

import pytest

from kestrel.bench import workload
from kestrel.bench.measure import make_engine

EVENTS = 20_000
SEED = 1


@pytest.fixture(scope="session")
def events() -> list[dict]:
    evs = workload.generate_events(EVENTS, SEED)
    # The list lives for the whole session; keep the collector off it (see
    # kestrel.bench.measure).
    gc.collect()
    gc.freeze()
    return evs


RULE_SETS: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "single-1": lambda: workload.single_event_rules(1, SEED),
    "single-100": lambda: workload.single_event_rules(100, SEED),
    "single-1000": lambda: workload.single_event_rules(1000, SEED),
    "seq-10": lambda: workload.sequence_rules(10, SEED),
    "seq-100": lambda: workload.sequence_rules(100, SEED),
    "flood": workload.flood_rules,
}

# Events eql sees for the equal-matches checks: a few seconds each.
PEER_EVENTS = {"single-1": 20_000, "single-100": 10_000, "single-1000": 1_000, "seq-10": 10_000, "seq-100": 2_000, "flood": 3_000}


def _run_batch(benchmark, rules: list[tuple[str, str]], events: list[dict], rounds: int = 3, **engine_kw) -> object:  # type: ignore[no-untyped-def]
    """Time ``engine.process`` over the whole batch; every round gets a
    fresh engine (sequence state and time must start over), built outside
    the timing."""

    def setup() -> tuple[tuple, dict]:
        engine = make_engine(rules, **engine_kw)
        # The first event of a type builds that type's dispatch plan (and
        # compiles its pattern databases): a one-time cost, paid here with
        # empty events that no step can match.
        for category in ("process", "file", "network"):
            engine.process({"event": {"category": category}})
        return (engine,), {}

    def target(engine) -> object:  # type: ignore[no-untyped-def]
        process = engine.process
        for e in events:
            process(e)
        engine.flush()
        return engine

    engine = benchmark.pedantic(target, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)
    benchmark.extra_info["events"] = len(events)
    benchmark.extra_info["rules"] = len(rules)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["events_per_s"] = round(len(events) / stats.stats.min)
    return engine


@pytest.fixture
def run_batch() -> Callable[..., object]:
    """``run_batch(benchmark, rules, events, rounds=3, **engine_kw)``."""
    return _run_batch
