"""Throughput of ``Engine.process`` over a pre-decoded batch, per scenario
(the same scenarios as ``kestrel bench``, smaller)."""

from __future__ import annotations

import pytest

from conftest import RULE_SETS  # noqa: E402  (benchmarks/ is on sys.path under pytest)


@pytest.mark.parametrize("scenario", ["single-1", "single-100", "single-1000"])
def test_single_event_rules(benchmark, run_batch, events, scenario: str) -> None:
    benchmark.group = "single-event rules"
    run_batch(benchmark, RULE_SETS[scenario](), events)


@pytest.mark.parametrize("scenario", ["seq-10", "seq-100"])
def test_sequence_rules(benchmark, run_batch, events, scenario: str) -> None:
    benchmark.group = "sequence rules"
    run_batch(benchmark, RULE_SETS[scenario](), events)


def test_flood_stays_bounded(benchmark, run_batch, events) -> None:
    """Unmatched first steps under ever new keys: the partial-match table
    stays at the bound and the overflow is counted, not kept."""
    benchmark.group = "flood"
    bound = 2_000
    engine = run_batch(benchmark, RULE_SETS["flood"](), events, max_partials=bound)
    every = engine.rule("bench-flood-every")
    assert every.live_partials <= bound
    assert every.evictions == len(events) - bound
    benchmark.extra_info["evictions"] = every.evictions
