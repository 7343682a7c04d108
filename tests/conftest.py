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


WASM_TEST_MODULES = ROOT / "tests" / "wasm"
WASM_EXAMPLES = ROOT / "examples" / "rules" / "wasm"


def _build_wasm(root: pathlib.Path) -> None:
    """Build the Wasm rule directories under ``root`` (up-to-date ones are
    left alone). `make setup` installs the toolchains; in CI a missing
    toolchain is a failure, elsewhere a skip that says what is missing."""
    import os

    from kestrel.hosts.wasm_build import BuildError, build_rule, find_rule_dirs

    dirs, _ = find_rule_dirs([str(root)])
    problems = []
    for d in dirs:
        try:
            build_rule(d)
        except BuildError as exc:
            problems.append(f"{d}: {exc}")
    if problems:
        msg = "Wasm modules could not be built (run `make setup`):\n" + "\n".join(problems)
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def wasm_modules() -> pathlib.Path:
    """tests/wasm (C sources), built."""
    _build_wasm(WASM_TEST_MODULES)
    return WASM_TEST_MODULES


@pytest.fixture(scope="session")
def wasm_examples() -> pathlib.Path:
    """examples/rules/wasm (Rust, AssemblyScript), built."""
    _build_wasm(WASM_EXAMPLES)
    return WASM_EXAMPLES
