"""Conformance with Elastic's own EQL suite, shipped in the `eql` wheel.

Every query of eql/etc/test_queries.toml runs through Kestrel (Endgame
dialect, Endgame schema) over eql/etc/test_data.json and must return the
expected serial_event_id lists. Each entry runs in the case mode it declares,
as eql's own harness does: case-sensitive only where it says
``case_sensitive = true``.
"""

from __future__ import annotations

import json
import os
import tomllib

import pytest

eql = pytest.importorskip("eql", reason="the eql test dependency is not installed")

from kestrel import Config, Engine  # noqa: E402

ETC = os.path.join(os.path.dirname(eql.__file__), "etc")


def _load():
    with open(os.path.join(ETC, "test_queries.toml"), "rb") as f:
        queries = tomllib.load(f)["queries"]
    with open(os.path.join(ETC, "test_data.json")) as f:
        events = json.load(f)
    return queries, events


QUERIES, EVENTS = _load()


def run_query(query: str, case_sensitive: bool) -> list[int]:
    engine = Engine(Config(dialect="endgame", case_sensitive=case_sensitive))
    engine.add_query(query, id="q")
    out: list[int] = []
    for alert in engine.process_many(EVENTS):
        out.extend(e["serial_event_id"] for e in alert.events)
    return out


def _ids(q: dict) -> str:
    return " ".join(q["query"].split())[:90]


@pytest.mark.parametrize("entry", QUERIES, ids=[_ids(q) for q in QUERIES])
def test_eql_query(entry: dict) -> None:
    cs = entry.get("case_sensitive") is True
    assert run_query(entry["query"], cs) == entry["expected_event_ids"]


def test_eql_conformance_total(capsys: pytest.CaptureFixture) -> None:
    passed = 0
    failures = []
    for entry in QUERIES:
        cs = entry.get("case_sensitive") is True
        try:
            got = run_query(entry["query"], cs)
        except Exception as exc:  # reported below, never hidden
            got = f"{type(exc).__name__}: {exc}"
        if got == entry["expected_event_ids"]:
            passed += 1
        else:
            failures.append((_ids(entry), got, entry["expected_event_ids"]))
    with capsys.disabled():
        print(f"\neql conformance: {passed}/{len(QUERIES)}")
        for f in failures:
            print("  FAIL", f)
    assert len(QUERIES) == 241
    assert passed == len(QUERIES)
