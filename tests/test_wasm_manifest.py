"""Wasm rule manifests: parsing, located errors, the custom section."""

from __future__ import annotations

import pytest

from kestrel.hosts.wasm_manifest import Limits, custom_sections, embed_manifest, parse_manifest

GOOD = '''[module]
name = "strings"

[rule]
id = "r1"
name = "Rule one"
severity = "high"
tags = ["a"]
prefilter = \'\'\'
process where process.name == "bash"
\'\'\'
fields = ["process.command_line", "process.command_line", "@timestamp"]
actions = ["kill"]

[functions]
entropy = { args = 1 }

[limits]
batch = 64
latency_ms = 2.5

[config]
threshold = 4.5

[[tests]]
name = "t"
expect = 1
[[tests.events]]
event.category = "process"
process.name = "bash"
'''


def test_a_full_manifest() -> None:
    m, errors = parse_manifest(GOOD, "m.toml")
    assert errors == [] and m is not None
    assert m.name == "strings" and m.functions == {"entropy": 1} and m.config == {"threshold": 4.5}
    r = m.rule
    assert r is not None and r.id == "r1" and r.severity == "high" and r.tags == ("a",)
    assert r.fields == ("process.command_line", "@timestamp")  # deduplicated, order kept
    assert r.actions == ("alert", "kill")  # alert is always allowed
    assert (r.prefilter_line, r.prefilter_col) == (9, 0)  # the query starts on line 10
    assert m.limits == Limits(batch=64, latency_ms=2.5)
    assert m.tests[0].events == [{"event": {"category": "process"}, "process": {"name": "bash"}}]


@pytest.mark.parametrize("edit,message,line", [
    (("name = \"strings\"", "name = \"no-dash\""), "must be an identifier", 2),
    (("severity = \"high\"", "severity = \"urgent\""), "'severity' must be one of", 7),
    (("batch = 64", "batch = 0"), "batch must be a number from 1", 19),
    (("batch = 64", "bacth = 64"), "unknown key 'bacth'", 19),
    (("fields = [\"process.command_line\", \"process.command_line\", \"@timestamp\"]", "fields = []"), "'fields' must list", 12),
    (("entropy = { args = 1 }", "entropy = 1"), "give its arity", 16),
    (("[module]\nname", "[modul]\nname"), "no [module] table", 1),
    (("expect = 1", "expect = -1"), "'expect' must be", 25),
])
def test_errors_say_what_and_where(edit: tuple[str, str], message: str, line: int) -> None:
    m, errors = parse_manifest(GOOD.replace(*edit), "m.toml")
    assert m is None
    assert any(message in e.message for e in errors), errors
    assert any(e.line == line for e in errors if message in e.message), errors


def test_invalid_toml_is_located() -> None:
    m, (err,) = parse_manifest(GOOD.replace("batch = 64", "batch = = 64"), "m.toml")
    assert m is None and err.line == 19 and "invalid manifest TOML" in err.message


def test_functions_only_module_and_a_module_that_does_nothing() -> None:
    m, errors = parse_manifest('[module]\nname = "lib"\n[functions]\nf = { args = 0 }\n', "m.toml")
    assert errors == [] and m is not None and m.rule is None
    m, errors = parse_manifest('[module]\nname = "lib"\n', "m.toml")
    assert m is None and "neither a [rule] nor [functions]" in errors[0].message


def test_manifest_section_round_trip() -> None:
    # The smallest valid module: magic, version, one empty type section.
    wasm = b"\0asm\x01\0\0\0" + b"\x01\x01\x00"
    one = embed_manifest(wasm, "first")
    assert custom_sections(one)["kestrel.manifest"] == b"first"
    two = embed_manifest(one, "second " * 100)  # replaced, not appended twice; a size needing 2 LEB bytes
    assert custom_sections(two)["kestrel.manifest"] == ("second " * 100).encode()
    assert two.count(b"kestrel.manifest") == 1 and two.startswith(wasm)
    with pytest.raises(ValueError):
        custom_sections(b"not wasm")
    with pytest.raises(ValueError):
        custom_sections(wasm + b"\x00\x10ab")  # truncated section
