"""Expression semantics: null logic, case rules per dialect, multi-valued fields."""

from __future__ import annotations

import pytest

from conftest import matches, proc

EVENTS = [
    proc(1, process__name="Bash", process__args=["bash", "-c", "id"], process__pid=10),
    proc(2, process__name="bash", process__args=["sh", "-i"], process__command_line="curl http://x | sh", process__pid=0),
    proc(3, process__name="python3", process__executable="/tmp/x", process__exit_code=None),
    proc(4, category="network", destination__ip="10.1.2.3", destination__port=4444),
    proc(5, category="network", destination__ip="2001:db8::1", destination__port=443),
]


@pytest.mark.parametrize(
    "query, expected",
    [
        # Elasticsearch dialect case rules.
        ('process where process.name == "bash"', [[2]]),
        ('process where process.name != "bash"', [[1], [3]]),
        ('process where process.name : "bash"', [[1], [2]]),
        ('process where process.name : ("BASH", "zsh")', [[1], [2]]),
        ('process where process.name in ("Bash")', [[1]]),
        ('process where process.name in~ ("bash")', [[1], [2]]),
        ('process where process.name not in ("bash", "Bash")', [[3]]),
        ('process where process.name like "B*"', [[1]]),
        ('process where process.name like~ "b?sh"', [[1], [2]]),
        ('process where process.name regex "[Bb]a.h"', [[1], [2]]),
        ('process where process.name regex "ba"', []),  # whole-string match
        ('process where process.name regex~ "BASH"', [[1], [2]]),
        ('process where startsWith(process.name, "b")', [[2]]),
        ('process where startsWith~(process.name, "B")', [[1], [2]]),
        ('process where stringContains(process.command_line, "curl")', [[2]]),
        # Multi-valued fields: any element.
        ('process where process.args : "-c"', [[1]]),
        ('process where process.args == "-i"', [[2]]),
        ('process where process.args in ("-i", "-x")', [[2]]),
        ('process where not process.args : "-c"', [[2]]),
        ('process where process.args[0] == "sh"', [[2]]),
        # Null semantics.
        ("process where process.command_line == null", [[1], [3]]),
        ("process where process.command_line != null", [[2]]),
        ('process where not process.command_line : "*curl*"', []),  # null stays null under not
        ("process where ?process.missing.field == null", [[1], [2], [3]]),
        ("process where process.exit_code >= 0", []),
        ("process where process.pid > 5", [[1]]),
        ("process where process.pid > 5 or process.command_line : \"*curl*\"", [[1], [2]]),
        ("process where not (process.pid > 5)", [[2]]),
        ('process where null == (process.pid > 5)', [[3]]),
        ("process where process.name == process.name", [[1], [2], [3]]),
        # Functions, math, cidr.
        ('network where cidrMatch(destination.ip, "10.0.0.0/8", "192.168.0.0/16")', [[4]]),
        ('network where cidrmatch(destination.ip, "2001:db8::/32")', [[5]]),
        ("network where destination.port + 1 == 4445", [[4]]),
        ('process where length(process.args) == 3', [[1]]),
        ('process where concat(process.name, "-", process.pid) == "bash-0"', [[2]]),
        ('any where destination.port in (443, 4444)', [[4], [5]]),
        ('process where true | head 2', [[1], [2]]),
        ('process where true | tail 1', [[3]]),
    ],
)
def test_elasticsearch_dialect(query: str, expected: list) -> None:
    assert matches(query, EVENTS) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ('process where process.name == "bash"', [[1], [2]]),  # case-insensitive
        ('process where process.name = "BA*"', [[1], [2]]),  # == with * is a wildcard
        ('process where process.name == "bash" and process.pid = 0', [[2]]),
        ('process where process.name in ("BASH")', [[1], [2]]),
    ],
)
def test_endgame_dialect(query: str, expected: list) -> None:
    assert matches(query, EVENTS, dialect="endgame", type_field="event.category", time_field="@timestamp", time_unit="ns") == expected


def test_case_sensitive_override() -> None:
    q = 'process where process.name == "bash"'
    assert matches(q, EVENTS, dialect="endgame", type_field="event.category", time_field="@timestamp", time_unit="ns", case_sensitive=True) == [[2]]
    assert matches(q, EVENTS, case_sensitive=False) == [[1], [2]]


def test_flat_dotted_events() -> None:
    flat = [{"n": 1, "event.category": "process", "process.name": "nc", "process.args": ["nc", "-e"]}]
    assert matches('process where process.name == "nc" and process.args : "-e"', flat) == [[1]]


def test_type_is_a_list() -> None:
    e = proc(1, process__name="curl")
    e["event"]["category"] = ["process", "network"]
    assert matches('network where process.name == "curl"', [e]) == [[1]]
    assert matches('process where process.name == "curl"', [e]) == [[1]]
    assert matches('file where true', [e]) == []


def test_custom_schema_fields() -> None:
    evs = [{"n": 1, "kind": "proc", "ts": 1000, "exe": "sh"}, {"n": 2, "kind": "net", "ts": 2000}]
    assert matches(
        "sequence with maxspan=2s [proc where exe == \"sh\"] [net where true]", evs,
        type_field="kind", time_field="ts", time_unit="ms",
    ) == [[1, 2]]
    assert matches(
        "sequence with maxspan=0.5s [proc where exe == \"sh\"] [net where true]", evs,
        type_field="kind", time_field="ts", time_unit="ms",
    ) == []


def test_iso_timestamps_with_nanoseconds() -> None:
    evs = [
        {"n": 1, "event": {"category": "process"}, "@timestamp": "2026-01-01T00:00:00.000000001Z"},
        {"n": 2, "event": {"category": "process"}, "@timestamp": "2026-01-01T00:00:00.000000900Z"},
    ]
    assert matches("sequence with maxspan=1us [process where n == 1] [process where n == 2]", evs) == [[1, 2]]
    assert matches("sequence with maxspan=500nanos [process where n == 1] [process where n == 2]", evs) == []


def test_odd_values_never_crash() -> None:
    weird = [
        {"n": 1, "event": {"category": "process"}, "process": "not-a-dict"},
        {"n": 2, "event": {"category": "process"}, "process": {"name": 12, "args": [None, 3, {"x": 1}]}},
        {"n": 3, "event": {"category": "process"}, "process": {"name": ["a", "b"]}},
        {"n": 4, "event": {"category": 7}},
    ]
    for q in [
        'process where process.name : "a*"',
        'process where process.name < "b"',
        "process where process.args[5] == 1",
        'process where process.name regex "b"',
        "process where length(process.name) > 1",
        'process where startsWith(process.args, "x")',
        "process where process.name + 1 == 13",
    ]:
        matches(q, weird)
    assert matches('process where process.name : "a*"', weird) == [[3]]
    assert matches("process where process.name + 1 == 13", weird) == [[2]]
