"""Rule files: format, located errors, one bad rule never stops the others."""

from __future__ import annotations

import pathlib

from kestrel import Config, Engine
from kestrel.rules.testing import collect_specs, run_tests

GOOD = '''
[[rule]]
id = "good-1"
name = "netcat with -e"
severity = "high"
tags = ["attack.execution"]
query = \'\'\'
process where process.name : ("nc", "ncat") and process.args : "-e"
\'\'\'

[[rule.tests]]
name = "alerts"
expect = 1
[[rule.tests.events]]
event.category = "process"
process.name = "nc"
process.args = ["nc", "-e", "/bin/sh"]

[[rule.tests]]
name = "quiet"
expect = 0
[[rule.tests.events]]
event.category = "process"
process.name = "nc"
process.args = ["nc", "-l"]
'''

BROKEN_QUERY = '''
[[rule]]
id = "broken"
name = "broken"
query = \'\'\'
process where
  process.name == "x" and (process.args : "-e"
\'\'\'
'''


def write(tmp: pathlib.Path, name: str, text: str) -> str:
    p = tmp / name
    p.write_text(text)
    return str(p)


def test_good_file_loads_and_its_tests_pass(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "good.toml", GOOD)
    engine = Engine(Config())
    report = engine.load_rules(path)
    assert report.ok and [r.id for r in report.rules] == ["good-1"]
    rule = report.rules[0]
    assert rule.meta.severity == "high" and rule.meta.tags == ("attack.execution",)
    specs, errors = collect_specs([path], Config())
    results = run_tests(specs, Config())
    assert not errors and [r.passed for r in results] == [True, True]


def test_query_error_has_file_line_and_column(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "broken.toml", BROKEN_QUERY)
    report = Engine(Config()).load_rules(path)
    (err,) = report.errors
    # The query starts on file line 6; the missing ')' is at the end of line 7.
    assert (err.file, err.line) == (path, 8)
    assert err.rule_id == "broken"
    assert "expected ')'" in err.message
    assert "^" in str(err)


def test_single_line_query_column_is_the_files(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "one.toml", '[[rule]]\nid = "one"\nquery = "process where proc.name == = 1"\n')
    (err,) = Engine(Config()).load_rules(path).errors
    assert (err.line, err.column) == (3, 37)


def test_bad_rule_does_not_stop_the_others(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "a_good.toml", GOOD)
    write(tmp_path, "b_broken.toml", BROKEN_QUERY)
    write(tmp_path, "c_invalid_toml.toml", "[[rule]\nid = 1\n")
    write(tmp_path, "d_meta.toml", '[[rule]]\nid = "meta"\nquery = "process where true"\nseverity = "urgent"\nsevrity = "x"\n')
    write(tmp_path, "e.eql", 'network where destination.port == 4444')
    write(tmp_path, "notes.txt", "ignored: no host claims .txt inside a directory")
    engine = Engine(Config())
    report = engine.load_rules(str(tmp_path))
    assert sorted(r.id for r in report.rules) == ["e", "good-1"]
    messages = "\n".join(str(e) for e in report.errors)
    assert "invalid TOML" in messages and "c_invalid_toml.toml:1:" in messages
    assert "'severity' must be one of" in messages
    assert "unknown key 'sevrity'" in messages
    assert "broken" in messages
    assert len(report.errors) == 4
    alerts = engine.process({"event": {"category": "network"}, "destination": {"port": 4444}})
    assert [a.rule.id for a in alerts] == ["e"]


def test_duplicate_ids_are_reported(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "b.toml", GOOD)
    report = Engine(Config()).load_rules(str(tmp_path))
    assert len(report.rules) == 1
    assert "duplicate rule id 'good-1'" in str(report.errors[0])


def test_failing_embedded_test_is_reported(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "x.toml", GOOD.replace("expect = 0", "expect = 1"))
    specs, _ = collect_specs([path], Config())
    results = run_tests(specs, Config())
    assert [(r.case, r.passed, r.expected, r.got) for r in results] == [("alerts", True, 1, 1), ("quiet", False, 1, 0)]


def test_missing_path_is_an_error() -> None:
    report = Engine(Config()).load_rules("/nonexistent/rules")
    assert "no such file or directory" in str(report.errors[0])


def test_rule_dialect_override(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "eg.toml", '[[rule]]\nid = "eg"\ndialect = "endgame"\nquery = \'process where process.name == "BASH"\'\n')
    engine = Engine(Config())
    assert engine.load_rules(path).ok
    alerts = engine.process({"event": {"category": "process"}, "process": {"name": "bash"}})
    assert [a.rule.id for a in alerts] == ["eg"]
