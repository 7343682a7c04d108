"""The peer: the same queries through Elastic's reference ``eql`` engine.

``eql`` (AGPL) is a test/bench-only dependency, so it is imported here
lazily, inside the functions, and its absence is a normal outcome
(:func:`available` says so) rather than an import error for whoever imports
the bench package.

How the events are fed, and why:

- ``eql.Event(type, time, data)``: the type is ``event.category`` (a plain
  string in the workload), ``data`` is the ECS dict itself (eql reads
  nested fields), and the time is the integer nanosecond ``@timestamp``.
  eql compares ``maxspan`` as ``event.time - first.time`` against
  ``convert_time_range(maxspan)``, which is ``time_unit * seconds`` where
  ``time_unit`` is the engine's ticks per second (default 10,000,000:
  FILETIME's 100 ns ticks). Configuring ``time_unit = 10**9`` makes the
  ticks nanoseconds, so timestamps pass through unconverted and exactly.
- Queries are parsed with ``eql.parser.elasticsearch_syntax``, the mode in
  which eql reads ``:``, ``in~`` and ``startsWith~`` (and, as in
  Elasticsearch, does not treat ``*`` in an ``==`` literal as a wildcard).
- Each query is added as an ``EqlAnalytic`` whose id is the rule id, so
  the output hook receives ``AnalyticOutput(rule_id, events)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

Match = tuple[str, tuple[int, ...]]

# eql's engine ticks per second; with this, eql time is integer nanoseconds.
NS_PER_SECOND = 1_000_000_000


def available() -> str | None:
    """``None`` when eql is installed, else why not (for the report).

    Looks the package up without importing it: the bench parent process
    asks, and should stay small (see kestrel.bench.runner)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("eql") is not None
    except (ImportError, ValueError):  # a None entry in sys.modules, or a broken package
        found = False
    return None if found else "eql is not installed (pip install 'kestrel[test]')"


def parse(query: str) -> Any:
    """Parse one query as eql does in Elasticsearch syntax mode; raises
    eql's own errors (the tests use this to check every bench query)."""
    import eql

    with eql.parser.elasticsearch_syntax:
        return eql.parse_query(query)


def to_eql_events(events: Sequence[dict]) -> list[Any]:
    """Convert once, outside any timing: eql's engine wants its own tuple."""
    import eql

    Event = eql.Event
    return [Event(e["event"]["category"], e["@timestamp"], e) for e in events]


@dataclass
class PeerResult:
    """What one eql run measured."""

    events: int
    seconds: float
    events_per_s: float
    mean_us: float
    p99_us: float
    matches: list[Match] = field(default_factory=list)


def build_engine(rules: Iterable[tuple[str, str]], matches: list[Match]) -> Any:
    """One PythonEngine holding every rule; matches land in ``matches`` as
    ``(rule_id, event ids)``."""
    import eql

    engine = eql.PythonEngine({"time_unit": NS_PER_SECOND})
    for rid, query in rules:
        engine.add_analytic(eql.ast.EqlAnalytic(query=parse(query), metadata={"id": rid}))

    def hook(out: Any) -> None:
        matches.append((out.analytic_id, tuple(ev.data["event"]["id"] for ev in out.events)))

    engine.add_output_hook(hook)
    return engine


from ..gcpolicy import streaming_gc  # noqa: E402


def run(rules: Sequence[tuple[str, str]], events: Sequence[dict]) -> PeerResult:
    """Stream ``events`` through eql with every rule loaded, timing each
    ``stream_event`` call (eql spends hundreds of microseconds per event,
    so the clock's own cost is noise), then finalize."""
    from .measure import summarize_ns

    matches: list[Match] = []
    engine = build_engine(rules, matches)
    converted = to_eql_events(events)
    stream = engine.stream_event
    clock = time.perf_counter_ns
    samples = [0] * len(converted)
    # The same garbage-collector policy Kestrel streams under (kestrel.gcpolicy),
    # so the comparison measures the engines, not the collector.
    with streaming_gc():
        t0 = clock()
        for i, ev in enumerate(converted):
            a = clock()
            stream(ev)
            samples[i] = clock() - a
        engine.finalize()
        elapsed = (clock() - t0) / 1e9
    mean_us, p99_us = summarize_ns(samples)
    n = len(converted)
    return PeerResult(n, elapsed, n / elapsed if elapsed > 0 else 0.0, mean_us, p99_us, matches)
