"""The benchmark harness: deterministic workload, queries valid in both
engines, equal matches with eql, and ``kestrel bench`` writing its JSON.

No timing assertions: CI machines are too noisy for them; the figures live
in docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from kestrel import Engine
from kestrel.bench import measure, peer_eql, workload
from kestrel.cli import main

needs_eql = pytest.mark.skipif(peer_eql.available() is not None, reason="the eql test dependency is not installed")


@pytest.fixture(scope="module")
def stream() -> list[dict]:
    return workload.generate_events(10_000)


def _strings(value: object):  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_same_seed_same_workload() -> None:
    assert workload.generate_events(3_000, seed=7) == workload.generate_events(3_000, seed=7)
    assert workload.generate_events(500, seed=7) != workload.generate_events(500, seed=8)
    assert workload.single_event_rules(1000, seed=3) == workload.single_event_rules(1000, seed=3)
    assert workload.sequence_rules(100, seed=3) == workload.sequence_rules(100, seed=3)


def test_rule_sets_nest_and_are_distinct() -> None:
    singles = workload.single_event_rules(1000)
    assert workload.single_event_rules(1) == singles[:1]
    assert workload.single_event_rules(100) == singles[:100]
    assert len({q for _, q in singles}) == len({rid for rid, _ in singles}) == 1000
    seqs = workload.sequence_rules(100)
    assert workload.sequence_rules(10) == seqs[:10]
    assert len({q for _, q in seqs}) == 100


def test_stream_shape(stream: list[dict]) -> None:
    assert [e["event"]["id"] for e in stream] == list(range(1, len(stream) + 1))
    gaps = [b["@timestamp"] - a["@timestamp"] for a, b in zip(stream, stream[1:])]
    assert all(50_000 <= g <= 500_000 for g in gaps)
    mix = Counter(e["event"]["category"] for e in stream)
    assert set(mix) == {"process", "file", "network"}
    assert 0.40 < mix["process"] / len(stream) < 0.50
    assert 0.30 < mix["file"] / len(stream) < 0.40
    assert 0.15 < mix["network"] / len(stream) < 0.25
    # Lower case everywhere: eql folds case, Kestrel's Elasticsearch dialect does not.
    assert all(s == s.lower() for e in stream for s in _strings(e))
    starts = [e for e in stream if e["event"]["type"] == "start"]
    assert len({e["process"]["entity_id"] for e in starts}) == len(starts)
    # Every event names its process and its parent (join keys are never null).
    assert all(e["process"]["entity_id"] and e["process"]["parent"]["entity_id"] for e in stream)


def test_every_query_compiles_in_kestrel() -> None:
    engine = Engine()
    rules = workload.single_event_rules(1000) + workload.sequence_rules(100) + workload.flood_rules()
    for rid, query in rules:
        engine.add_query(query, id=rid)
    assert len(engine.rules) == len(rules)


@needs_eql
def test_every_query_parses_in_eql() -> None:
    for _, query in workload.single_event_rules(1000) + workload.sequence_rules(100) + workload.flood_rules():
        peer_eql.parse(query)


@needs_eql
@pytest.mark.parametrize("rules", [workload.single_event_rules(100), workload.sequence_rules(10)], ids=["single-100", "seq-10"])
def test_same_matches_as_eql(stream: list[dict], rules: list[tuple[str, str]]) -> None:
    theirs = peer_eql.run(rules, stream).matches
    cmp = measure.compare(measure.matches(rules, stream), theirs)
    assert cmp.theirs > 0, "the prefix should make some rules fire"
    assert cmp.same, (cmp.only_ours, cmp.only_theirs)


def test_alert_rate_stays_realistic(stream: list[dict]) -> None:
    alerts = measure.matches(workload.single_event_rules(100), stream)
    assert 0 < len(alerts) < len(stream) / 100


def test_flood_is_bounded(stream: list[dict]) -> None:
    lat = measure.latency(workload.flood_rules(), stream[:3_000], max_partials=500)
    assert lat.max_live_partials <= 500
    assert lat.evictions >= 3_000 - 500


def test_no_eql_import_at_module_import_time() -> None:
    """kestrel and its bench modules import with eql unavailable."""
    code = ("import sys; sys.modules['eql'] = None\n"
            "import kestrel, kestrel.cli, kestrel.bench.runner, kestrel.bench.workload, kestrel.bench.report, kestrel.bench.measure\n"
            "from kestrel.bench import peer_eql\n"
            "assert 'not installed' in peer_eql.available()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cli_bench_quick_json(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bench.json"
    code = main(["bench", "--quick", "--scenario", "single-1", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert set(data["meta"]) >= {"date", "commit", "seed", "events", "quick", "python", "peer"}
    (row,) = data["scenarios"]
    for key in ("scenario", "engine", "rules", "events", "events_per_s", "mean_us", "p99_us", "rss_mb", "alerts", "peer"):
        assert key in row, key
    assert row["scenario"] == "single-1" and row["engine"] == "kestrel" and row["rules"] == 1
    assert row["events_per_s"] > 0 and row["rss_mb"] > 0
    if data["meta"]["peer"] == "eql":
        for key in ("peer_events", "peer_events_per_s", "peer_mean_us", "peer_p99_us", "peer_rss_mb", "ratio", "same_matches"):
            assert key in row, key
        assert row["same_matches"] is True
    assert "single-1" in capsys.readouterr().out


def test_cli_bench_rejects_unknown_scenario(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "--scenario", "nope"]) == 2
    assert "unknown scenario" in capsys.readouterr().err
