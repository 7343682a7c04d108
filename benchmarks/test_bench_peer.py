"""Side by side with eql: eql's speed on a prefix of the same events, and
the same rules must give the same matches in both engines. Skipped when
eql (a test-only dependency) is not installed.

The equality check sits inside the benchmark tests so that it also runs
under ``--benchmark-only``.
"""

from __future__ import annotations

import pytest

from conftest import PEER_EVENTS, RULE_SETS  # noqa: E402
from kestrel.bench import measure, peer_eql

if peer_eql.available():
    pytest.skip(peer_eql.available() or "", allow_module_level=True)


@pytest.mark.parametrize("scenario", list(RULE_SETS))
def test_eql_same_matches(benchmark, events, scenario: str) -> None:
    benchmark.group = "eql peer"
    rules = RULE_SETS[scenario]()
    prefix = events[: PEER_EVENTS[scenario]]
    converted = peer_eql.to_eql_events(prefix)
    theirs: list = []

    def setup() -> tuple[tuple, dict]:
        theirs.clear()
        return (peer_eql.build_engine(rules, theirs),), {}

    def target(engine) -> None:  # type: ignore[no-untyped-def]
        stream = engine.stream_event
        for ev in converted:
            stream(ev)
        engine.finalize()

    benchmark.pedantic(target, setup=setup, rounds=1, iterations=1)
    benchmark.extra_info["events"] = len(prefix)
    cmp = measure.compare(measure.matches(rules, prefix), theirs)
    benchmark.extra_info["matches"] = cmp.theirs
    assert cmp.same, (cmp.only_ours, cmp.only_theirs)
