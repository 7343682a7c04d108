"""What a rule file holds, and what loading it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("informational", "low", "medium", "high", "critical")


@dataclass
class RuleTest:
    """An embedded test case: events in, how many alerts out."""

    name: str
    events: list[dict]
    expect: int
    line: int = 0


def parse_test_case(raw: Any, k: int, err: Any) -> RuleTest | None:
    """One embedded test case (TOML table or Lua table as Python data):
    ``events`` (a non-empty list of event tables) and ``expect`` (alerts).
    Problems go to ``err(message)``; returns None when the case is unusable."""
    if not isinstance(raw, dict):
        err(f"test {k + 1} must be a table")
        return None
    label = f"test {raw.get('name', k + 1)!r}"
    bad = sorted(set(raw) - TEST_KEYS)
    if bad:
        err(f"{label}: unknown key{'s' if len(bad) > 1 else ''} {', '.join(repr(b) for b in bad)} (known: {', '.join(sorted(TEST_KEYS))})")
    events = raw.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
        err(f"{label}: 'events' must be a non-empty list of event tables")
        return None
    expect = raw.get("expect")
    if not isinstance(expect, int) or isinstance(expect, bool) or expect < 0:
        err(f"{label}: 'expect' must be the number of alerts the events raise (0 for none)")
        return None
    return RuleTest(str(raw.get("name", f"case {k + 1}")), events, expect)


TEST_KEYS = {"name", "events", "expect", "description"}


@dataclass
class RuleSpec:
    id: str
    name: str
    query: str
    description: str = ""
    severity: str = "medium"
    tags: tuple[str, ...] = ()
    actions: tuple[str, ...] = ("alert",)
    dialect: str | None = None
    tests: list[RuleTest] = field(default_factory=list)
    origin: str | None = None
    line: int = 0  # line of the rule's header in its file
    query_line_offset: int = 0
    query_col_offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # How to add this rule to a fresh engine (rule tests); None: its query
    # is plain EQL. Rule plugins (Wasm) set their own.
    install: Any = field(default=None, repr=False, compare=False)
    # EQL-callable plugin functions in scope where the rule was loaded.
    functions: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class LoadError:
    """A rule problem located in its file; ``detail`` holds the caret snippet."""

    file: str
    line: int
    column: int
    message: str
    rule_id: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        who = f" (rule {self.rule_id})" if self.rule_id else ""
        head = f"{self.file}:{self.line}:{self.column}: error{who}: {self.message}"
        return f"{head}\n{self.detail}" if self.detail else head


def bounded_numbers(raw: dict, bounds: dict[str, tuple[float, float]], floats: set[str] | frozenset[str],
                    bad: Any) -> dict[str, Any]:
    """The keys of ``raw`` named in ``bounds`` that hold a number within
    their (low, high); others are reported with ``bad(key, low, high)``.
    Keys in ``floats`` keep fractions; the rest become integers."""
    out: dict[str, Any] = {}
    for k, (lo, hi) in bounds.items():
        if k not in raw:
            continue
        v = raw[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            bad(k, lo, hi)
            continue
        out[k] = v if k in floats else int(v)
    return out


def read_rule_text(path: str) -> tuple[str | None, LoadError | None]:
    """A rule file's text, or the located error saying why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(), None
    except (OSError, UnicodeDecodeError) as exc:
        return None, LoadError(path, 0, 0, f"cannot read: {exc}")


@dataclass
class LoadReport:
    rules: list[Any] = field(default_factory=list)  # engine Rules that loaded
    specs: list[RuleSpec] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def merge(self, other: "LoadReport") -> None:
        self.rules.extend(other.rules)
        self.specs.extend(other.specs)
        self.errors.extend(other.errors)
        self.files += other.files
