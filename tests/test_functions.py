"""Tests for kestrel.eql.functions.

Three layers: a hand-written table of cases (nulls, case, lists, type
mismatches); eql's own expectations from etc/test_string_functions.toml; and
a differential run against eql 1.0.1 over a generated grid of inputs, where
every disagreement must be one of the documented deliberate deviations.
(eql is only imported here, by the tests, never by kestrel/.)
"""

from __future__ import annotations

import ast
import itertools
import math
import os
import re
import tomllib
from typing import Any, Iterator

import pytest

from kestrel.eql import functions as F
from kestrel.eql.functions import FUNCTIONS, FunctionSpec, lookup


def call(name: str, *args: Any, ci: bool = False) -> Any:
    spec = lookup(name)
    assert spec is not None, name
    return spec.build(ci)(*args)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


def test_registry_shape() -> None:
    expected = {
        "add", "arraycontains", "between", "cidrmatch", "concat", "divide", "endswith", "indexof", "length",
        "match", "matchlite", "modulo", "multiply", "number", "startswith", "string", "stringcontains",
        "substring", "subtract", "wildcard",
    }
    assert set(FUNCTIONS) == expected
    for key, spec in FUNCTIONS.items():
        assert isinstance(spec, FunctionSpec)
        assert key == spec.name.lower()
        assert spec.returns in ("boolean", "string", "number", "any")
        assert spec.max_args is None or spec.max_args >= spec.min_args
        assert callable(spec.build(False)) and callable(spec.build(True))


def test_lookup() -> None:
    assert lookup("startsWith") is FUNCTIONS["startswith"]
    assert lookup("STARTSWITH~") is FUNCTIONS["startswith"]
    assert lookup("startswith~").name == "startsWith"
    assert lookup("arrayCount") is None  # lambda-style: the compiler's
    assert lookup("arraySearch") is None
    assert lookup("nope") is None


def test_ci_support_flags() -> None:
    ci = {name for name, s in FUNCTIONS.items() if s.supports_ci}
    # Elasticsearch's documented `~` functions must be allowed.
    assert {"between", "endswith", "indexof", "startswith", "stringcontains"} <= ci
    assert "add" not in ci and "cidrmatch" not in ci and "number" not in ci


# ---------------------------------------------------------------------------
# Hand-written cases
# ---------------------------------------------------------------------------

L = [  # (function, args, ci, expected)
    # math
    ("add", (1, 2), False, 3),
    ("add", (1, 2.5), False, 3.5),
    ("add", (None, 2), False, None),
    ("add", ("a", 1), False, None),
    ("add", (True, 1), False, None),
    ("add", ("1", "2"), False, None),
    ("subtract", (5, 7), False, -2),
    ("multiply", (3, 4), False, 12),
    ("multiply", ("ab", 3), False, None),
    ("divide", (7, 2), False, 3),
    ("divide", (-7, 2), False, -4),  # floor, as eql
    ("divide", (7, 2.0), False, 3.5),
    ("divide", (1, 0), False, None),
    ("divide", (1, 0.0), False, None),
    ("divide", (None, 1), False, None),
    ("divide", (10**400, 1.0), False, None),  # overflow is null, not an exception
    ("modulo", (7, 3), False, 1),
    ("modulo", (-7, 3), False, 2),
    ("modulo", (7, 0), False, None),
    ("modulo", (7.5, 2), False, 1.5),
    ("modulo", ("7", 2), False, None),
    # startsWith / endsWith / stringContains
    ("startsWith", ("FooBar", "Foo"), False, True),
    ("startsWith", ("FooBar", "foo"), False, False),
    ("startsWith", ("FooBar", "foo"), True, True),
    ("startsWith", (None, "a"), False, None),
    ("startsWith", ("a", None), False, None),
    ("startsWith", (1, "1"), False, None),
    ("startsWith", (["x", "FooBar"], "Foo"), False, True),  # multi-valued
    ("startsWith", (["x", None, "y"], "Foo"), False, False),
    ("startsWith", ([None, None], "Foo"), False, None),
    ("startsWith", ([], "Foo"), False, None),
    ("startsWith", ([None, "foobar"], "FOO"), True, True),
    ("startsWith", ([1, "abc"], "a"), False, True),
    ("endsWith", ("C:\\Windows\\cmd.EXE", ".exe"), True, True),
    ("endsWith", ("C:\\Windows\\cmd.EXE", ".exe"), False, False),
    ("endsWith", (["a.dll", "b.exe"], ".exe"), False, True),
    ("endsWith", (None, ".exe"), True, None),
    ("stringContains", ("powershell -enc", "-ENC"), True, True),
    ("stringContains", ("powershell -enc", "-ENC"), False, False),
    ("stringContains", ("abc", ""), False, True),
    ("stringContains", (None, "a"), False, None),  # null, not eql's false
    ("stringContains", (["x", "yab"], "ab"), False, True),
    ("stringContains", (["x", "y"], "ab"), False, False),
    # between
    ("between", ("welcome to the planet", "welcome", "planet"), False, " to the "),
    ("between", ("WELCOME to the PLANET", "welcome", "planet"), True, " to the "),
    ("between", ("WELCOME to the PLANET", "welcome", "planet"), False, None),
    ("between", ("a=1;b=2;", "=", ";", True), False, "1;b=2"),
    ("between", ("a=1;b=2;", "=", ";", None), False, "1"),
    ("between", ("\u0130x=1;", "X=", ";"), True, "1"),  # folding keeps offsets
    ("between", (["a=1;"], "=", ";"), False, None),  # not a predicate: lists are not strings
    # indexOf
    ("indexOf", ("foobarbaz", "bar"), False, 3),
    ("indexOf", ("fooBARbaz", "bar"), True, 3),
    ("indexOf", ("fooBARbaz", "bar"), False, None),
    ("indexOf", ("foobarbaz", "o", 2), False, 2),
    ("indexOf", ("foobarbaz", "o", 2.7), False, 2),  # fractional start truncates
    ("indexOf", ("foobarbaz", "o", 3), False, None),
    ("indexOf", ("abc", "", 10), False, None),
    ("indexOf", ("abc", "c", -1), False, 2),  # negative start counts from the end (eql)
    ("indexOf", ("abc", "c", "1"), False, None),
    ("indexOf", ("\u0130ab", "B"), True, 2),
    # length
    ("length", ("abc",), False, 3),
    ("length", ([1, 2],), False, 2),
    ("length", ({"a": 1},), False, 1),
    ("length", (None,), False, None),
    ("length", (5,), False, None),
    # substring
    ("substring", ("hello world", 6), False, "world"),
    ("substring", ("hello world", -5, -1), False, "worl"),
    ("substring", ("hello world", None, 5), False, "hello"),
    ("substring", ("hello world", 1.5), False, None),
    ("substring", ("hello world", True), False, None),
    ("substring", (None, 1), False, None),
    # string / concat
    ("string", (True,), False, "true"),
    ("string", (False,), False, "false"),
    ("string", (1,), False, "1"),
    ("string", (2.5,), False, "2.5"),
    ("string", ("x",), False, "x"),
    ("string", (None,), False, None),
    ("string", ([1],), False, None),
    ("concat", ("a", 1, True, 2.5), False, "a1true2.5"),
    ("concat", ("a", None), False, None),
    ("concat", ("a", [1]), False, None),
    ("concat", ("",), False, ""),
    # number
    ("number", ("314",), False, 314),
    ("number", ("-3.14",), False, -3.14),
    ("number", ("0x1337",), False, 4919),
    ("number", ("0x1337", 16), False, 4919),
    ("number", ("0x1337", 10), False, None),
    ("number", ("052403", 8), False, 21763),
    ("number", ("ff", 16), False, 255),  # Elasticsearch; eql gives null
    ("number", ("1e3",), False, 1000.0),  # Elasticsearch; eql gives null
    ("number", ("9", 8), False, None),  # eql raises
    ("number", ("0x",), False, None),  # eql raises
    ("number", ("1_000",), False, None),  # no Python-only syntax
    ("number", (" 1",), False, None),
    ("number", ("0xff", 37), False, None),
    ("number", ("1", True), False, None),
    ("number", (1,), False, None),
    ("number", (None,), False, None),
    # wildcard (Endgame: ? is literal)
    ("wildcard", ("Foo", "F*o"), False, True),
    ("wildcard", ("foo", "F*o"), False, False),
    ("wildcard", ("foo", "F*o"), True, True),
    ("wildcard", ("abc", "a?c"), False, False),
    ("wildcard", ("a?c", "a?c"), False, True),
    ("wildcard", ("C:\\Windows\\System32\\cmd.exe", "c:\\windows\\*\\*.exe"), True, True),
    ("wildcard", ("x", "a*", "x"), False, True),
    ("wildcard", (["a", "bcd"], "b*"), False, True),
    ("wildcard", (None, "*"), False, None),
    ("wildcard", (5, "*"), False, None),
    ("wildcard", ("abc", None), False, None),
    ("wildcard", ("abc", ["a*"]), False, None),  # unhashable pattern: null, no exception
    ("wildcard", ("abc\n", "abc"), False, False),  # whole string (eql's `$` would say true)
    # match / matchLite (Python regex, prefix-anchored)
    ("match", ("foo", "[a-z]{3}"), False, True),
    ("match", ("foobar", "[a-z]{3}"), False, True),
    ("match", ("xfoo", "foo"), False, False),
    ("match", ("FOO", "foo"), True, True),
    ("match", ("FOO", "foo"), False, False),
    ("match", ("999", "[a-z]{3}", "[0-9]{5}", "[9][9][9]"), False, True),
    ("match", (["1", "abc"], "[a-z]+"), False, True),
    ("match", (None, "a"), False, None),
    ("match", ("abc", "("), False, None),  # invalid regex: null, no exception
    ("matchLite", ("abc", "a.c"), False, True),
    # cidrMatch
    ("cidrMatch", ("10.1.2.3", "10.0.0.0/8"), False, True),
    ("cidrMatch", ("11.1.2.3", "10.0.0.0/8", "11.1.0.0/16"), False, True),
    ("cidrMatch", ("12.1.2.3", "10.0.0.0/8", "11.1.0.0/16"), False, False),
    ("cidrMatch", ("2001:db8::1", "2001:db8::/32"), False, True),
    ("cidrMatch", ("2001:db9::1", "2001:db8::/32"), False, False),
    ("cidrMatch", ("10.1.2.3", "2001:db8::/32"), False, False),
    ("cidrMatch", ("::ffff:10.1.2.3", "10.0.0.0/8"), False, True),  # IPv4-mapped
    ("cidrMatch", ("10.0.0.5", "10.0.0.5"), False, True),  # a bare address is a /32
    ("cidrMatch", ("10.0.0.5", "10.0.0.1/24"), False, True),  # host bits ignored
    ("cidrMatch", ("not an ip", "10.0.0.0/8"), False, False),
    ("cidrMatch", ("", "10.0.0.0/8"), False, False),
    ("cidrMatch", (None, "10.0.0.0/8"), False, None),
    ("cidrMatch", (42, "10.0.0.0/8"), False, False),
    ("cidrMatch", (["8.8.8.8", "10.0.0.1"], "10.0.0.0/8"), False, True),
    ("cidrMatch", (["8.8.8.8", None], "10.0.0.0/8"), False, False),
    ("cidrMatch", ("10.0.0.1", "10.0.0.0/33"), False, None),  # invalid CIDR: null
    # arrayContains
    ("arrayContains", (["a", "b"], "b"), False, True),
    ("arrayContains", (["a", "b"], "B"), False, False),
    ("arrayContains", (["a", "b"], "B"), True, True),
    ("arrayContains", (["a", "b"], "x", "a"), False, True),
    ("arrayContains", ([1, 2], 2.0), False, True),
    ("arrayContains", ([], "a"), False, False),
    ("arrayContains", (None, "a"), False, None),
    ("arrayContains", ("abc", "a"), False, False),  # a scalar is a one-element array
    ("arrayContains", ("abc", "abc"), False, True),
    ("arrayContains", ([["x"], "y"], ["x"]), False, True),  # unhashable values still compare
]


@pytest.mark.parametrize("name, args, ci, expected", L, ids=[f"{c[0]}{'~' if c[2] else ''}{c[1]!r}"[:80] for c in L])
def test_function_table(name: str, args: tuple, ci: bool, expected: Any) -> None:
    assert same(call(name, *args, ci=ci), expected)


def test_case_insensitive_build_is_distinct() -> None:
    spec = lookup("startsWith")
    assert spec.build(True) is not spec.build(False)
    assert spec.build(True) is spec.build(True)  # no per-call-site closures for plain functions


def test_no_function_raises_on_odd_inputs() -> None:
    odd = [None, True, 0, -1, 2.5, float("nan"), "", "x", "10.0.0.1", [], ["a", None, 3], {"k": "v"}, b"bytes", ("t",)]
    count = 0
    for spec in FUNCTIONS.values():
        hi = spec.max_args if spec.max_args is not None else spec.min_args + 1
        for n in range(spec.min_args, hi + 1):
            for args in itertools.product(odd, repeat=n) if n <= 2 else itertools.product(odd[:6], repeat=n):
                for ci in (False, True):
                    spec.build(ci)(*args)  # must not raise
                    count += 1
    assert count > 1000


# ---------------------------------------------------------------------------
# eql's own expectations (etc/test_string_functions.toml)
# ---------------------------------------------------------------------------

try:  # the reference implementation is a test-only dependency
    import eql
    import eql.utils as eql_utils
    from eql.functions import get_function as eql_function
except ImportError:  # pragma: no cover
    eql = None
needs_eql = pytest.mark.skipif(eql is None, reason="Elastic's eql package is not installed")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<num>[+-]?\d+(?:\.\d+)?)
      | (?P<word>true|false|null)
    )\s*(?P<sep>,|$)""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def parse_call(expression: str) -> tuple[str, tuple] | None:
    """Split ``fname(lit, lit, ...)`` into the name and Python literal values.

    Strings take EQL's backslash escapes; numbers and true/false/null become
    Python literals. Anything else (fields, nested calls) returns None.
    """
    m = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", expression, re.DOTALL)
    if not m:
        return None
    name, body = m.group(1), m.group(2)
    args: list[Any] = []
    pos = 0
    while pos < len(body):
        t = _TOKEN.match(body, pos)
        if not t:
            return None
        if t.group("str"):
            raw = t.group("str")[1:-1]
            args.append(re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), "\\" + e.group(1)), raw))
        elif t.group("num"):
            args.append(ast.literal_eval(t.group("num").lstrip("+")))
        else:
            args.append({"true": True, "false": False, "null": None}[t.group("word")])
        pos = t.end()
    return name, tuple(args)


def _toml_cases() -> Iterator[tuple[str, str, bool, Any]]:
    path = os.path.join(os.path.dirname(eql.__file__), "etc", "test_string_functions.toml")
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    for section, body in data.items():
        tests = list(body.get("tests", [])) + list(body.get("fold", {}).get("tests", []))
        if body.get("case_sensitive"):
            modes = [False]
        elif body.get("case_insensitive"):
            modes = [True]
        else:
            modes = [False, True]
        for t in tests:
            for ci in modes:
                # A missing `expected` is eql's way of writing null.
                yield section, t["expression"], ci, t.get("expected")


_TOML = list(_toml_cases()) if eql is not None else []


@needs_eql
def test_toml_cases_all_parse() -> None:
    assert len(_TOML) > 90
    unparsed = [expr for _, expr, _, _ in _TOML if parse_call(expr) is None]
    assert unparsed == []


@needs_eql
@pytest.mark.parametrize("section, expression, ci, expected", _TOML, ids=[f"{'ci' if c[2] else 'cs'}:{c[1]}" for c in _TOML])
def test_eql_toml_expectations(section: str, expression: str, ci: bool, expected: Any) -> None:
    name, args = parse_call(expression)  # type: ignore[misc]
    ours = call(name, *args, ci=ci)
    if isinstance(expected, float) or isinstance(ours, float):
        assert isinstance(ours, float) and ours == pytest.approx(expected)
    else:
        assert same(ours, expected), (expression, ci, ours, expected)


# ---------------------------------------------------------------------------
# Differential: kestrel vs. eql 1.0.1 on a generated grid
# ---------------------------------------------------------------------------

_S = ["", "a", "A", "abc", "ABC", "FooBarBaz", "foo", "o", "O", "welcome to the planet", "e", "x", "aXbXc", "X",
      "a*c", "a?c", "ab\nc", "C:\\Windows\\System32\\cmd.exe", "\\", "é", "É", None, 1]
_NUMS = [None, 0, 1, -1, 2, 3, -5, 7, 2.5, -0.5, 0.0, 10**20, True, "a"]


def _grid() -> Iterator[tuple[str, tuple]]:
    for a, b in itertools.product(_S, _S):
        for f in ("startsWith", "endsWith", "stringContains", "concat", "indexOf"):
            yield f, (a, b)
        for start in (None, 0, 1, 2, 5, 100, -1, -3, 1.5):
            yield "indexOf", (a, b, start)
    for a, b, c in itertools.product(_S[:14] + [None], repeat=3):
        yield "between", (a, b, c)
        yield "between", (a, b, c, True)
    for a in _S + [[1, 2], {"a": 1}, 3.5, True]:
        yield "length", (a,)
        yield "string", (a,)
        for start in (None, -60, -5, -1, 0, 1, 3, 5, 100):
            yield "substring", (a, start)
            for end in (None, -1, 0, 5, 100):
                yield "substring", (a, start, end)
    for x, y in itertools.product(_NUMS, _NUMS):
        for f in ("add", "subtract", "multiply", "divide", "modulo"):
            yield f, (x, y)
    for s in ["314", "3.14", "-3.14", "+314", "0x1337", "052403", "52403", "ff", "FF", "1e3", ".5", "5.", "abc", "",
              "1.2.3", "0x", "-0x1", " 1", "9", "-", None, 5]:
        yield "number", (s,)
        for base in (None, 10, 16, 8, 7, 2):
            yield "number", (s, base)
    pats = ["*", "a*", "*c", "*b*", "a*c", "A*", "*B*", "a?c", "F*o*o*", "*Foo", "", "abc", "a**c", "*\\*",
            "C:\\Windows\\*", "c:\\windows\\*\\cmd.exe", "*\n*"]
    regs = ["[a-z]{3}", "a", "abc", "^a", "b", ".*c", "A.C", "a.c", "foo|bar", "\\w+", "[A-Z]", ""]
    for s in _S:
        for p in pats:
            yield "wildcard", (s, p)
        for p, q in itertools.combinations(pats[:8], 2):
            yield "wildcard", (s, p, q)
        for r in regs:
            yield "match", (s, r)
            yield "matchLite", (s, r)
        for r1, r2 in itertools.combinations(regs[:6], 2):
            yield "match", (s, r1, r2)
    ips = ["10.0.0.1", "192.168.1.1", "172.16.0.5", "8.8.8.8", "::1", "fe80::1", "2001:db8::5", "not-an-ip", "",
           "::ffff:10.0.0.1", None, 5]
    cidrs = [("10.0.0.0/8",), ("192.168.0.0/16", "10.0.0.0/8"), ("::1/128",), ("2001:db8::/32",), ("0.0.0.0/0",),
             ("10.0.0.1",), ("172.16.0.0/12", "fe80::/10")]
    for ip in ips:
        for c in cidrs:
            yield "cidrMatch", (ip, *c)
    for arr in (["a", "B"], [1, 2], [], None, ["x", None], [True], [1.0]):
        for vals in (("a",), ("b",), ("A", "x"), (1,), (None,), (True,), ("B",), (2.0,)):
            yield "arrayContains", (arr, *vals)


def _es_number(s: str, base: int | None) -> Any:
    """Elasticsearch's number(): the documented extension over eql."""
    if base in (None, 10):
        return float(s)
    if base == 16 and s.startswith("0x"):
        s = s[2:]
    return int(s, base)


def _deviation(name: str, args: tuple, ours: Any, theirs: Any, error: str | None) -> str | None:
    """Name the documented reason for a disagreement with eql, or None if there is none."""
    if error is not None:
        # eql crashed (modulo by zero, int("9", 8), ip_address("x"), slicing with a float, ...).
        if name == "cidrMatch" and isinstance(args[0], str):
            return "invalid IP is false" if ours is False else None
        if name == "indexOf" and ours is not None:
            return "fractional start truncates (Elasticsearch)" if isinstance(args[2], float) else None
        return "eql raised; we return null" if ours is None else None
    if name == "stringContains" and theirs is False and ours is None:
        return "null/non-string is null, not false"
    if name == "cidrMatch" and args[0] is None and theirs is False and ours is None:
        return "null IP is null"
    if name == "cidrMatch" and isinstance(args[0], str) and args[0].startswith("::ffff:") and ours is True:
        return "IPv4-mapped IPv6 matches IPv4 networks"
    if name == "string" and isinstance(args[0], (list, dict)) and ours is None:
        return "no string form for lists/objects"
    if name == "number" and theirs is None and ours is not None and same(ours, _es_number(*(args + (None,))[:2])):
        return "Elasticsearch number() syntax"
    return None


@needs_eql
def test_differential_against_eql(monkeypatch: pytest.MonkeyPatch) -> None:
    agree = 0
    deviations: dict[str, int] = {}
    failures = []
    for name, args in _grid():
        for ci in (False, True):
            monkeypatch.setattr(eql_utils, "CASE_INSENSITIVE", ci)
            try:
                theirs, error = eql_function(name).run(*args), None
            except Exception as exc:  # eql's reference implementation may raise
                theirs, error = None, type(exc).__name__
            ours = call(name, *args, ci=ci)
            if error is None and same(ours, theirs):
                agree += 1
                continue
            reason = _deviation(name, args, ours, theirs, error)
            if reason is None:
                failures.append((name, ci, args, ours, theirs, error))
            else:
                deviations[reason] = deviations.get(reason, 0) + 1
    print(f"\nkestrel vs eql 1.0.1: {agree} agreeing cases; documented deviations: {deviations}")
    assert failures == [], failures[:20]
    assert agree > 30000
