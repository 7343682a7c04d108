"""Run the test cases embedded in rule files (``kestrel rules test``).

Each case runs on a fresh engine holding only its rule, so cases cannot
leak state into each other. Events without a timestamp get one, 100 ms
apart in file order, so sequence tests read naturally and still exercise
``maxspan``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..engine import Engine
from ..events import make_getter, parse_field_path
from .model import LoadError, LoadReport, RuleSpec, RuleTest

_BASE_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
_STEP_NS = 100_000_000


@dataclass
class CaseResult:
    file: str
    rule_id: str
    case: str
    passed: bool
    expected: int
    got: int
    error: str = ""
    seconds: float = 0.0

    @property
    def nodeid(self) -> str:
        return f"{self.file}::{self.rule_id}::{self.case}"


def _set_field(event: dict, dotted: str, value: Any) -> None:
    if "." not in dotted or dotted in event:
        event[dotted] = value
        return
    parts = dotted.split(".")
    cur = event
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = cur[p] = {}
        cur = nxt
    cur[parts[-1]] = value


def _stamp(events: list[dict], config: Config) -> list[dict]:
    cfg = config.resolved()
    field = cfg.time_field or "@timestamp"
    get = make_getter(parse_field_path(field))
    unit = cfg.time_unit or "auto"
    out = []
    for i, e in enumerate(events):
        e = copy.deepcopy(e)
        if get(e) is None:
            ns = _BASE_NS + i * _STEP_NS
            if unit in ("auto", "ns"):
                v: Any = ns
            elif unit == "filetime":
                v = ns // 100 + 116_444_736_000_000_000
            else:
                v = ns // {"us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}[unit]
            _set_field(e, field, v)
        out.append(e)
    return out


def run_case(spec: RuleSpec, case: RuleTest, config: Config) -> CaseResult:
    from ..builtin.eql_host import add_spec

    start = time.perf_counter()
    engine = Engine(config)
    engine.functions.update(spec.functions)
    report = LoadReport()
    if spec.install is not None:
        spec.install(engine, report)
    else:
        add_spec(engine, spec, report)
    if report.errors:
        return CaseResult(spec.origin or "", spec.id, case.name, False, case.expect, 0, str(report.errors[0]))
    got = 0
    for alert in engine.process_many(_stamp(case.events, config)):
        if alert.rule.id == spec.id:
            got += 1
    return CaseResult(spec.origin or "", spec.id, case.name, got == case.expect, case.expect, got, seconds=time.perf_counter() - start)


def run_tests(specs: list[RuleSpec], config: Config) -> list[CaseResult]:
    results = []
    for spec in specs:
        for case in spec.tests:
            results.append(run_case(spec, case, config))
    return results


def collect_specs(paths: list[str], config: Config) -> tuple[list[RuleSpec], list[LoadError]]:
    """Load rules (validating them) and return their specs with tests."""
    engine = Engine(config)
    report = engine.load_rules(*paths)
    for spec in report.specs:
        spec.functions = engine.functions
    return report.specs, report.errors
