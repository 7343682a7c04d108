from __future__ import annotations

import pathlib
from typing import Any

import pytest

from kestrel import Config, Engine

ROOT = pathlib.Path(__file__).resolve().parents[1]


def proc(n: int, *, t: float | None = None, category: str = "process", **fields: Any) -> dict:
    """An ECS event with nested fields from keyword args like process__name."""
    e: dict[str, Any] = {"n": n, "event": {"category": category}, "@timestamp": int((t if t is not None else n) * 1e9)}
    for key, value in fields.items():
        parts = key.split("__")
        cur = e
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return e


def matches(query: str, events: list[dict], **config: Any) -> list[list[int]]:
    engine = Engine(Config(**config))
    engine.add_query(query, id="t")
    return [[ev["n"] for ev in a.events] for a in engine.process_many(events)]


@pytest.fixture
def root() -> pathlib.Path:
    return ROOT
