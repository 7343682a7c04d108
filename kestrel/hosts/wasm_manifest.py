"""The manifest every Wasm rule module carries (docs/wasm-abi.md).

The manifest is TOML: the operator-facing facts (id, severity, the EQL
prefilter, the fields that may cross, resource limits) live beside the
code but outside it, so Kestrel can index and sandbox a module before
running a single instruction of it. Built modules carry it in a custom
section, so one ``.wasm`` file is the whole rule.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from ..config import DIALECTS
from ..rules.model import SEVERITIES, LoadError, RuleTest, bounded_numbers, parse_test_case
from ..rules.toml_format import toml_error

ABI_VERSION = 1
SECTION_NAME = "kestrel.manifest"
MANIFEST_FILE = "wasm-rule.toml"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

TOP_KEYS = {"module", "rule", "functions", "limits", "config", "tests", "build"}
MODULE_KEYS = {"name", "abi", "description"}
RULE_KEYS = {"id", "name", "severity", "tags", "description", "prefilter", "fields", "actions", "dialect", "references", "author"}
LIMIT_KEYS = {"fuel", "memory_mb", "batch", "latency_ms", "timeout_ms", "max_faults"}


@dataclass(frozen=True)
class Limits:
    """Per-module sandbox limits; defaults suit rules that look at a few
    strings per event."""

    fuel: int = 2_000_000  # per event of a batch (per item of a function batch)
    memory_mb: int = 32
    batch: int = 256
    latency_ms: float = 10.0
    timeout_ms: float = 200.0
    max_faults: int = 3


@dataclass
class RulePart:
    id: str
    name: str
    prefilter: str
    fields: tuple[str, ...]
    severity: str = "medium"
    tags: tuple[str, ...] = ()
    description: str = ""
    actions: tuple[str, ...] = ("alert",)
    dialect: str | None = None
    prefilter_line: int = 0  # line (0-based offset) of the prefilter in the manifest text
    prefilter_col: int = 0


@dataclass
class Manifest:
    name: str
    rule: RulePart | None
    functions: dict[str, int]  # EQL-callable name -> arity
    limits: Limits
    config: dict[str, Any]
    tests: list[RuleTest]
    text: str
    path: str
    build: dict[str, Any] = field(default_factory=dict)


def parse_manifest(text: str, path: str) -> tuple[Manifest | None, list[LoadError]]:
    """Parse and check a manifest; every problem is reported with a line."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, msg = toml_error(exc)
        return None, [LoadError(path, line, col, f"invalid manifest TOML: {msg}")]
    errors: list[LoadError] = []
    lines = text.splitlines()

    def line_of(pattern: str) -> int:
        rx = re.compile(pattern)
        for i, ln in enumerate(lines):
            if rx.match(ln):
                return i + 1
        return 1

    def err(msg: str, where: str = r"^\s*\[module\]", rule_id: str | None = None) -> None:
        errors.append(LoadError(path, line_of(where), 1, msg, rule_id))

    for k in sorted(set(doc) - TOP_KEYS):
        err(f"unknown table or key {k!r} (known: {', '.join(sorted(TOP_KEYS))})", rf"^\s*\[*\s*{re.escape(k)}\b")
    mod = doc.get("module")
    if not isinstance(mod, dict):
        err("the manifest has no [module] table (with at least name = \"...\")", r"^")
        return None, errors
    for k in sorted(set(mod) - MODULE_KEYS):
        err(f"[module]: unknown key {k!r} (known: {', '.join(sorted(MODULE_KEYS))})", rf"^\s*{re.escape(k)}\s*=")
    name = mod.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        err("[module] name must be an identifier (letters, digits, _): it names the module's EQL functions, wasm.<name>.<fn>",
            r"^\s*name\s*=" if "name" in mod else r"^\s*\[module\]")
        name = "invalid"
    abi = mod.get("abi", ABI_VERSION)
    if abi != ABI_VERSION:
        err(f"[module] abi = {abi!r}: this Kestrel speaks Wasm rule ABI {ABI_VERSION}")

    rule = _rule_part(doc.get("rule"), err, lines)
    functions: dict[str, int] = {}
    raw_fns = doc.get("functions", {})
    if not isinstance(raw_fns, dict):
        err("[functions] must be a table of name = { args = N }", r"^\s*\[functions\]")
        raw_fns = {}
    for fname, spec in raw_fns.items():
        where = rf"^\s*{re.escape(fname)}\s*="
        if not _NAME.match(fname):
            err(f"[functions] {fname!r} is not an identifier", where)
            continue
        args = spec.get("args") if isinstance(spec, dict) else None
        if not isinstance(args, int) or isinstance(args, bool) or not 0 <= args <= 16:
            err(f"[functions] {fname}: give its arity as {{ args = N }} (0-16)", where)
            continue
        functions[fname] = args
    if rule is None and not functions and "rule" not in doc:
        err("the module declares neither a [rule] nor [functions]: it would never run", r"^\s*\[module\]")

    limits = _limits(doc.get("limits", {}), err)
    config = doc.get("config", {})
    if not isinstance(config, dict):
        err("[config] must be a table", r"^\s*\[?config")
        config = {}
    tests = _tests(doc.get("tests", []), err, rule, "rule" in doc)
    build = doc.get("build", {}) if isinstance(doc.get("build", {}), dict) else {}
    if errors:
        return None, errors
    return Manifest(name, rule, functions, limits, config, tests, text, path, build), []


def _rule_part(raw: Any, err: Any, lines: list[str]) -> RulePart | None:
    if raw is None:
        return None
    where = r"^\s*\[rule\]"
    if not isinstance(raw, dict):
        err("[rule] must be a table", where)
        return None
    rid = raw.get("id")
    rid = rid if isinstance(rid, str) and rid.strip() else None
    bad = False

    def rerr(msg: str, key: str | None = None) -> None:
        nonlocal bad
        bad = True
        err(msg, rf"^\s*{re.escape(key)}\s*=" if key else where, rid)

    for k in sorted(set(raw) - RULE_KEYS):
        rerr(f"[rule]: unknown key {k!r} (known: {', '.join(sorted(RULE_KEYS))})", k)
    if rid is None:
        rerr("[rule] has no 'id' (a unique string)")
    prefilter = raw.get("prefilter")
    if not isinstance(prefilter, str) or not prefilter.strip():
        rerr("[rule] has no 'prefilter': the EQL query the native engine applies before any event crosses into the module")
        prefilter = ""
    fields = raw.get("fields")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
        rerr("[rule] 'fields' must list the event fields the module reads (only those cross into it)", "fields" if "fields" in raw else None)
        fields = []
    severity = raw.get("severity", "medium")
    if severity not in SEVERITIES:
        rerr(f"'severity' must be one of {', '.join(SEVERITIES)}, not {severity!r}", "severity")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        rerr("'tags' must be a list of strings", "tags")
        tags = []
    actions = raw.get("actions", ["alert"])
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        rerr("'actions' must be a list of action names", "actions")
        actions = ["alert"]
    if "alert" not in actions:
        actions = ["alert", *actions]
    dialect = raw.get("dialect")
    if dialect is not None and dialect not in DIALECTS:
        rerr(f"'dialect' must be one of {', '.join(DIALECTS)}", "dialect")
    if bad:
        return None
    pline, pcol = _prefilter_pos(lines)
    return RulePart(
        id=str(rid),
        name=str(raw.get("name", rid)),
        prefilter=prefilter,
        fields=tuple(dict.fromkeys(fields)),
        severity=str(severity),
        tags=tuple(tags),
        description=str(raw.get("description", "")),
        actions=tuple(actions),
        dialect=dialect,
        prefilter_line=pline,
        prefilter_col=pcol,
    )


_PREFILTER_KEY = re.compile(r"""^(\s*prefilter\s*=\s*)('''|\"\"\"|'|")""")


def _prefilter_pos(lines: list[str]) -> tuple[int, int]:
    """Where the prefilter's text starts, so EQL errors point into the file."""
    for i, line in enumerate(lines):
        m = _PREFILTER_KEY.match(line)
        if m:
            if len(m.group(2)) == 3 and line[m.end():].strip() == "":
                return i + 1, 0
            return i, m.end()
    return 0, 0


def _limits(raw: Any, err: Any) -> Limits:
    where = r"^\s*\[limits\]"
    if not isinstance(raw, dict):
        err("[limits] must be a table", where)
        return Limits()
    for k in sorted(set(raw) - LIMIT_KEYS):
        err(f"[limits]: unknown key {k!r} (known: {', '.join(sorted(LIMIT_KEYS))})", rf"^\s*{re.escape(k)}\s*=")
    bounds = {"fuel": (1_000, 10**12), "memory_mb": (1, 4096), "batch": (1, 65_536), "latency_ms": (0, 60_000), "timeout_ms": (20, 600_000), "max_faults": (1, 10**6)}
    values = bounded_numbers(raw, bounds, {"latency_ms", "timeout_ms"},
                             lambda k, lo, hi: err(f"[limits] {k} must be a number from {lo} to {hi}", rf"^\s*{k}\s*="))
    return Limits(**values)


def _tests(raw: Any, err: Any, rule: RulePart | None, has_rule: bool) -> list[RuleTest]:
    where = r"^\s*\[\[tests\]\]"
    rid = rule.id if rule else None
    if not isinstance(raw, list):
        err("'tests' must be an array of tables ([[tests]])", where, rid)
        return []
    out: list[RuleTest] = []
    for k, t in enumerate(raw):
        case = parse_test_case(t, k, lambda m: err(m, where, rid))
        if case is not None:
            out.append(case)
    if out and not has_rule:
        err("[[tests]] need a [rule] to test", where)
    return out


# -- the custom section ----------------------------------------------------

def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 35:
            raise ValueError("LEB128 too long")


def custom_sections(wasm: bytes) -> dict[str, bytes]:
    """The custom sections of a module (the last one wins per name)."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a WebAssembly module (bad magic)")
    pos = 8
    out: dict[str, bytes] = {}
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = _read_uleb(wasm, pos + 1)
        end = pos + size
        if end > len(wasm):
            raise ValueError("truncated section")
        if sid == 0:
            nlen, npos = _read_uleb(wasm, pos)
            name = wasm[npos:npos + nlen].decode("utf-8", "replace")
            out[name] = wasm[npos + nlen:end]
        pos = end
    return out


def embed_manifest(wasm: bytes, manifest_text: str) -> bytes:
    """The module with its manifest section replaced or appended."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a WebAssembly module (bad magic)")
    kept = bytearray(wasm[:8])
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, body = _read_uleb(wasm, pos + 1)
        end = body + size
        drop = False
        if sid == 0:
            nlen, npos = _read_uleb(wasm, body)
            drop = wasm[npos:npos + nlen] == SECTION_NAME.encode()
        if not drop:
            kept += wasm[pos:end]
        pos = end
    name = SECTION_NAME.encode()
    payload = _uleb(len(name)) + name + manifest_text.encode("utf-8")
    return bytes(kept) + b"\x00" + _uleb(len(payload)) + payload
