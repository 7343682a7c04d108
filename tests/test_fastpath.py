"""The fast path must only skip work, never change a result.

Differential tests: the same rules over the same events with (a) indexes and
Hyperscan, (b) indexes and the pure-Python scanner, (c) no indexes at all
(every predicate on every event) must raise exactly the same alerts.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from kestrel import Config, Engine
from kestrel.scan import CidrScanner, PatternScanner, hyperscan_available
from kestrel.access import wildcard_to_regex

from conftest import ROOT

QUERIES = [
    'process where process.name == "curl"',
    'process where process.name in ("bash", "sh", "Zsh") and process.args : "-c"',
    'process where process.name : ("nc*", "*cat") and not process.args : "-l"',
    'process where process.command_line : ("*curl*|*sh*", "*wget*-O-*")',
    'process where process.executable like~ "/TMP/*" or process.executable : "/dev/shm/*"',
    'process where startsWith~(process.executable, "/Usr/Bin/")',
    'process where endsWith(process.name, ".sh")',
    'process where stringContains(process.command_line, "base64")',
    'file where file.path : "/etc/shadow" and process.name != "passwd"',
    'file where file.path like "/home/*/.ssh/authorized_key?"',
    'file where file.extension in ("so", "SO") and file.path : "/tmp/*"',
    'network where cidrMatch(destination.ip, "10.0.0.0/8", "192.168.0.0/16") and destination.port == 4444',
    'network where not cidrMatch(destination.ip, "10.0.0.0/8") and destination.port in (4444, 1337)',
    'network where cidrmatch(destination.ip, "2001:db8::/32", "0.0.0.0/0")',
    'network where destination.port == "443"',
    'any where process.name == "bash"',
    'process where user.id == 0 and process.name : "su*"',
    'process where process.name == "ünïcode" or process.name : "*ß*"',
    'sequence by process.entity_id with maxspan=5s [process where process.name == "curl"] [network where destination.port == 4444]',
    'sequence with maxspan=1m [file where file.path : "/tmp/*"] by file.path [process where true] by process.executable',
    'sequence by process.entity_id [process where process.name : "b*"] [process where process.name : "*h"] until [process where event.type == "end"]',
    'sequence by host.id [process where process.name == "a"] with runs=2 [file where true]',
    'join by process.entity_id [process where process.name == "curl"] [file where file.path : "/tmp/*"]',
]

NAMES = ["curl", "bash", "sh", "zsh", "ZSH", "nc", "ncat", "netcat", "passwd", "su", "sudo", "a", "b", "Curl", "x.sh", "ünïcode", "straße", "é"]
PATHS = ["/etc/shadow", "/tmp/x.so", "/tmp/A.SO", "/home/u/.ssh/authorized_keys", "/home/u/.ssh/authorized_key", "/dev/shm/p", "/TMP/q", "/usr/bin/ls", "/Usr/Bin/x", "/tmp/\nnl"]
CMDS = ["curl http://x | sh", "wget -q -O- http://y", "echo aGVsbG8= | base64 -d", "ls -la", "bash -c id", "CURL X|SH", ""]
IPS = ["10.1.2.3", "192.168.1.1", "8.8.8.8", "2001:db8::5", "::ffff:10.0.0.1", "not-an-ip", "fe80::1"]


def random_events(n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        cat = rnd.choice(["process", "file", "network", ["process", "network"]])
        name = rnd.choice(NAMES)
        e: dict = {
            "@timestamp": i * 100_000_000,
            "event": {"category": cat, "type": rnd.choice(["start", "end", "creation"])},
            "process": {
                "name": rnd.choice([name, [name, rnd.choice(NAMES)], None, 7]),
                "entity_id": f"p{rnd.randint(0, 5)}",
                "args": rnd.choice([["-c"], ["-l", "x"], [], None, "-c"]),
                "command_line": rnd.choice(CMDS),
                "executable": rnd.choice(PATHS),
            },
            "file": {"path": rnd.choice(PATHS), "extension": rnd.choice(["so", "SO", "sh", None])},
            "destination": {"ip": rnd.choice(IPS), "port": rnd.choice([4444, 1337, 443, "443", 80])},
            "user": {"id": rnd.choice(["0", 0, "1000"])},
            "host": {"id": rnd.choice(["h1", "h2"])},
        }
        if rnd.random() < 0.1:  # flat dotted shape
            e = {"@timestamp": e["@timestamp"], "event.category": cat, "process.name": name, "file.path": rnd.choice(PATHS)}
        out.append(e)
    return out


def run(queries: list[str], events: list[dict], *, index: bool, python_scan: bool) -> Counter:
    eng = Engine(Config())
    eng.use_index = index
    eng.force_python_scan = python_scan
    for i, q in enumerate(queries):
        eng.add_query(q, id=f"r{i}")
    got: Counter = Counter()
    for a in eng.process_many(events):
        got[(a.rule.id, tuple(id(e) for e in a.events))] += 1
    assert eng.stats.rule_errors == 0
    return got


@pytest.mark.parametrize("seed", range(4))
def test_indexes_and_scanners_never_change_results(seed: int) -> None:
    events = random_events(1500, seed)
    reference = run(QUERIES, events, index=False, python_scan=True)
    assert sum(reference.values()) > 50  # the test has teeth
    assert run(QUERIES, events, index=True, python_scan=True) == reference
    if hyperscan_available():
        assert run(QUERIES, events, index=True, python_scan=False) == reference


def test_example_rules_on_sample_same_with_and_without_indexes() -> None:
    events = []
    for line in (ROOT / "kestrel" / "data" / "sample_events.jsonl").read_text().splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict):
            events.append(ev)
    results = []
    for index in (False, True):
        eng = Engine(Config())
        eng.use_index = index
        assert eng.load_rules(str(ROOT / "examples" / "rules")).ok
        results.append(Counter((a.rule.id, tuple(id(e) for e in a.events)) for a in eng.process_many(events)))
    assert results[0] == results[1] and sum(results[0].values()) >= 15


@pytest.mark.parametrize("force_python", [True, False])
def test_pattern_scanner(force_python: bool) -> None:
    if not force_python and not hyperscan_available():
        pytest.skip("the hyperscan wheel is not installed here")
    hs = [lambda e, i=i: i for i in range(4)]
    sc = PatternScanner(ci=True, force_python=force_python)
    sc.add([wildcard_to_regex("*curl*", True)], hs[0])
    sc.add([wildcard_to_regex("/tmp/?", True), wildcard_to_regex("*.so", True)], hs[1])
    sc.add(["^" + "ünï"], hs[2])
    sc.add([wildcard_to_regex("*", True)], hs[3])
    sc.build()
    assert sc.candidates("xx curl yy") == (hs[0], hs[3])
    assert sc.candidates("/tmp/é") == (hs[1], hs[3])  # ? is one character, not one byte
    assert sc.candidates("lib.so") == (hs[1], hs[3])
    assert sc.candidates("ünïcode") == (hs[2], hs[3])
    assert sc.candidates(["a", "curl"]) == (hs[3], hs[0])
    assert sc.candidates(5) == ()
    # Not encodable for Hyperscan: every rule decides (a superset is safe).
    assert sc.candidates("\ud800") == ((hs[3],) if force_python else tuple(hs))


def test_cidr_scanner() -> None:
    hs = [lambda e, i=i: i for i in range(3)]
    sc = CidrScanner()
    sc.add(["10.0.0.0/8", "bogus"], hs[0])
    sc.add(["192.168.1.0/24", "2001:db8::/32"], hs[1])
    sc.add(["0.0.0.0/0"], hs[2])
    assert sc.candidates("10.9.9.9") == (hs[0], hs[2])
    assert sc.candidates("192.168.1.7") == (hs[1], hs[2])
    assert sc.candidates("2001:db8::1") == (hs[1],)
    assert sc.candidates("::ffff:10.0.0.1") == (hs[0], hs[2])
    assert sc.candidates("nope") == ()
    assert sc.candidates(["8.8.8.8", "10.0.0.1"]) == (hs[2], hs[0])


def test_rule_that_raises_loses_only_its_match() -> None:
    eng = Engine(Config())
    eng.functions["boom"] = lambda v: 1 / 0
    eng.add_query('process where process.name == "x" and boom(process.name) == 1', id="bad")
    eng.add_query('process where process.name == "x"', id="good")
    for _ in range(3):
        assert [a.rule.id for a in eng.process({"event": {"category": "process"}, "process": {"name": "x"}})] == ["good"]
    assert eng.rule("bad").stats.errors == 3 and eng.stats.rule_errors == 3
    for _ in range(200):
        eng.process({"event": {"category": "process"}, "process": {"name": "x"}})
    assert eng.rule("bad").disabled
    assert eng.rule("bad").stats.errors == 100


def test_prepare_builds_dispatchers_up_front() -> None:
    eng = Engine(Config())
    eng.add_query('process where process.name == "x"', id="p")
    eng.add_query('sequence [file where true] [network where true]', id="s")
    eng.prepare()
    assert set(eng._plans) == {"process", "file", "network"}


def test_streaming_gc_restores_the_collector() -> None:
    import gc

    from kestrel.gcpolicy import streaming_gc

    assert gc.isenabled()
    with streaming_gc():
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_shared_step_groups_keep_rules_apart() -> None:
    """Twenty rules share one first step; each still completes on its own key."""
    eng = Engine(Config())
    for i in range(20):
        eng.add_query(
            f'sequence by process.entity_id with maxspan=1m [process where process.name == "sh"] '
            f'[network where destination.port == {i}]', id=f"r{i}")
    assert len(eng._groups) == 21
    eng.process({"@timestamp": 1, "event": {"category": "process"}, "process": {"name": "sh", "entity_id": "a"}})
    eng.process({"@timestamp": 2, "event": {"category": "process"}, "process": {"name": "sh", "entity_id": "b"}})
    out = eng.process({"@timestamp": 3, "event": {"category": "network"}, "process": {"entity_id": "b"}, "destination": {"port": 7}})
    assert [a.rule.id for a in out] == ["r7"]
    assert sum(r.live_partials for r in eng.rules) == 39
    # The waiting index holds exactly the live partials.
    waiting = sum(len(w) for g in eng._groups.values() for w in g.waiting.values())
    assert waiting == 39
