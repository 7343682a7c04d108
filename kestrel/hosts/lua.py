"""The Lua rule host: quick detections in a few lines of sandboxed Lua.

A ``.lua`` file registers rules with ``rule{ id=…, prefilter=…, fields=…,
match=function(e) … end, tests={…} }`` and EQL-callable functions with
``func(name, fn)`` (``lua.<name>(…)`` in any EQL query). Each rule becomes
an ordinary EQL rule, its prefilter, whose matches feed a batching stage;
the stage hands the declared fields to the file's sandbox column by column
and turns what ``match`` returns into alerts (docs/lua.md).

One runtime per file: its memory cap is the file's, and a memory fault
rebuilds it. A rule that errors, runs out of budget or time on an event is
charged a fault for that event only; after ``limits.max_faults`` it is
quarantined. Nothing a rule does stops the engine or another file.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from ..alerts import Alert, RuleMeta
from ..config import DIALECTS, Config
from ..eql import ast
from ..eql.errors import EqlError
from ..eql.parser import parse_query
from ..events import make_getter, parse_field_path, to_ns
from ..hookspecs import hookimpl
from ..rules.model import SEVERITIES, LoadError, LoadReport, RuleSpec, RuleTest, bounded_numbers, parse_test_case, read_rule_text
from ..stages import ANSWER_TYPES, BatchStage, MatchExtras, fault_line

log = logging.getLogger("kestrel.lua")

RULE_KEYS = {"id", "name", "severity", "tags", "description", "prefilter", "fields", "actions", "tests", "limits",
             "dialect", "references", "author", "enabled"}
LIMIT_KEYS = {"instructions", "timeout_ms", "memory_mb", "batch", "latency_ms", "max_faults"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RULE_CALL = re.compile(r"^\s*rule\s*[{(]")
_PREFILTER = re.compile(r"""(prefilter\s*=\s*)(\[(=*)\[|"|')""")


class LuaFile:
    """A loaded file: its sandbox (rebuilt after a memory fault) and rules."""

    def __init__(self, path: str, code: str, memory_mb: int) -> None:
        from .lua_sandbox import LuaSandbox

        self.path = path
        self.code = code
        self.memory_mb = memory_mb
        self.sandbox = LuaSandbox(code, path, memory_mb)
        self.generation = 0
        self.rebuilds = 0

    def rebuild(self) -> None:
        """A fresh runtime after a memory fault (its state may be torn)."""
        from .lua_sandbox import LuaSandbox

        self.sandbox = LuaSandbox(self.code, self.path, self.memory_mb)
        self.generation += 1
        self.rebuilds += 1


class LuaRuleStage(BatchStage):
    """Batches one Lua rule's prefiltered events into its file's sandbox."""

    def __init__(self, engine: Any, lf: LuaFile, index: int, meta: RuleMeta, fields: tuple[str, ...],
                 limits: Any, config: Config) -> None:
        super().__init__(engine, meta.id, limits.batch, limits.latency_ms / 1000.0)
        self.file = lf
        self.index = index
        self.meta = meta
        self.fields = fields
        self.limits = limits
        self.extras = MatchExtras(meta.actions, f"lua rule {meta.id}")
        self.faults: dict[str, int] = {}
        self.fault_count = 0
        self.quarantined = False
        self.dropped = 0
        self.rule: Any = None
        time_field = config.time_field or "@timestamp"
        self._time_get = make_getter(parse_field_path(time_field))
        self._unit = config.time_unit or "auto"
        self._getters = [(make_getter(parse_field_path(f)), f == time_field) for f in fields]
        self._bind()

    def _bind(self) -> None:
        sb = self.file.sandbox
        self._gen = self.file.generation
        self._match = sb.match_fn(self.index)
        self._names = sb.table_from(list(self.fields))
        self._meta = sb.event_meta(self.fields)

    def run(self, events: list[dict]) -> None:
        if self.quarantined:
            self.dropped += len(events)
            return
        if self._gen != self.file.generation:
            self._bind()
        unit = self._unit
        columns = []
        for get, is_time in self._getters:
            if is_time:
                columns.append([to_ns(get(e), unit) for e in events])
            else:
                columns.append([get(e) for e in events])
        lim = self.limits
        emit = self.engine.emit_alert
        first, rebuilt = 0, 0
        while first < len(events):
            n = len(events) - first
            cols = columns if first == 0 else [c[first:] for c in columns]
            hits, faults = self.file.sandbox.run(self._match, self._names, self._meta, cols, n,
                                                 lim.instructions, lim.timeout_ms / 1000.0)
            for i, result in hits:
                if not 0 <= i < n:
                    continue
                e = events[first + i]
                if self.rule is not None:
                    self.rule.stats.alerts += 1
                emit(Alert(self.meta, [e], to_ns(self._time_get(e), unit), self._extra(result)))
            stop = None
            for i, kind, message in faults:
                self._fault(kind, message, 1)
                if kind == "memory":
                    stop = i
            if stop is None or self.quarantined:
                return
            # The runtime ran out of memory at event `stop`: rebuild it and
            # carry on with the events after it.
            rebuilt += 1
            if rebuilt > 2 or not self._rebuild():
                self.dropped += n - stop - 1
                return
            self._bind()
            first += stop + 1

    def _extra(self, result: Any) -> dict[str, Any]:
        if not isinstance(result, dict):
            return {}
        return self.extras.extra(result.get("reason"), result.get("data"), result.get("actions"))

    @property
    def refused_actions(self) -> dict[str, int]:
        return self.extras.refused

    def _fault(self, kind: str, message: str, lost: int) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1
        self.fault_count += 1
        self.dropped += lost
        if self.rule is not None:
            self.rule.stats.errors += 1
        self.engine.stats.rule_errors += 1
        limit = self.limits.max_faults
        if self.fault_count >= limit and not self.quarantined:
            self.quarantined = True
            log.error("lua rule %s (%s): fault %d (%s: %s); quarantined after %d faults, it gets no more events",
                      self.meta.id, os.path.basename(self.file.path), self.fault_count, kind, message, limit)
        elif not self.quarantined:
            log.warning("lua rule %s (%s): fault on an event (%s: %s); %d/%d faults",
                        self.meta.id, os.path.basename(self.file.path), kind, message, self.fault_count, limit)

    def _rebuild(self) -> bool:
        try:
            self.file.rebuild()
            return True
        except Exception as exc:  # the file no longer loads: nothing of it can run
            self.quarantined = True
            log.error("lua rule %s: its runtime could not be rebuilt (%s); quarantined", self.meta.id, exc)
            return False

    def health(self) -> str | None:
        return fault_line(f"lua rule {self.meta.id}", self.faults, self.dropped, self.quarantined)

    def stats(self) -> dict[str, Any]:
        return {"rule": self.meta.id, "delivered": self.delivered, "faults": dict(self.faults), "dropped": self.dropped,
                "quarantined": self.quarantined, "memory_bytes": self.file.sandbox.memory_bytes()}


class LuaFunction:
    """``lua.<name>(...)``: one guarded call per evaluation (~2 µs), so it
    can be used anywhere in a query, sequences included."""

    def __init__(self, lf: LuaFile, index: int, name: str, limits: Any) -> None:
        self.file = lf
        self.index = index
        self.name = f"lua.{name}"
        self.limits = limits
        self.faults = 0
        self.calls = 0
        self.quarantined = False
        self._gen = -1
        self._fn: Any = None

    def __call__(self, *args: Any) -> Any:
        if self.quarantined:
            return None
        lf = self.file
        if self._gen != lf.generation:
            self._fn = lf.sandbox.funcs[self.index][1]
            self._gen = lf.generation
        self.calls += 1
        lim = self.limits
        status, value = lf.sandbox.call(self._fn, lim.instructions, lim.timeout_ms / 1000.0, args)
        if status == "ok":
            if value is None or value.__class__ in ANSWER_TYPES:
                return value
            return None  # tables and functions are not EQL values
        self.faults += 1
        if self.faults >= lim.max_faults:
            self.quarantined = True
            log.error("lua function %s: fault %d (%s: %s); quarantined, it answers null from now on",
                      self.name, self.faults, status, value, )
        else:
            log.warning("lua function %s: fault (%s: %s); answered null", self.name, status, value)
        if status == "memory":
            try:
                lf.rebuild()
            except Exception:
                self.quarantined = True
        return None


def _limits(raw: Any, err: Any) -> Any:
    from .lua_sandbox import LuaLimits

    if raw is None:
        return LuaLimits()
    if not isinstance(raw, dict):
        err("'limits' must be a table")
        return LuaLimits()
    bounds = {"instructions": (1_000, 10**10), "timeout_ms": (1, 60_000), "memory_mb": (1, 4096), "batch": (1, 65_536),
              "latency_ms": (0, 60_000), "max_faults": (1, 10**6)}
    for k in sorted(set(raw) - LIMIT_KEYS):
        err(f"limits: unknown key {k!r} (known: {', '.join(sorted(LIMIT_KEYS))})")
    vals = bounded_numbers(raw, bounds, {"timeout_ms", "latency_ms"},
                           lambda k, lo, hi: err(f"limits.{k} must be a number from {lo} to {hi}"))
    return LuaLimits(**vals)


def _str_list(v: Any) -> list[str] | None:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    if v == {}:
        return []
    return None


def _positions(code: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Lines of ``rule {`` calls and where each rule's prefilter text starts
    (line offset, column offset) so EQL errors point into the file."""
    lines = code.splitlines()
    heads = [i + 1 for i, ln in enumerate(lines) if _RULE_CALL.match(ln)]
    pre: list[tuple[int, int]] = []
    for h in heads:
        for i in range(h - 1, len(lines)):
            m = _PREFILTER.search(lines[i])
            if m:
                rest = lines[i][m.end():]
                if m.group(2).startswith("[") and rest.strip() == "":
                    pre.append((i + 1, 0))  # a long string drops the newline after its opening
                else:
                    pre.append((i, m.end()))
                break
        else:
            pre.append((h - 1, 0))
    return heads, pre


class LuaRuleHost:
    name = "lua"
    load_order = 10  # before EQL files, whose queries may call lua.* functions

    def claims(self, path: str) -> bool:
        return path.endswith(".lua")

    def load(self, path: str, engine: Any, report: LoadReport) -> None:
        code, error = read_rule_text(path)
        if code is None:
            report.errors.append(error)  # type: ignore[arg-type]
            return
        from .lua_sandbox import LoadFailed

        memory = 64
        for m in re.finditer(r"memory_mb\s*=\s*(\d+)", code):
            memory = max(memory, min(4096, int(m.group(1))))
        try:
            lf = LuaFile(path, code, memory)
        except LoadFailed as exc:
            report.errors.append(LoadError(path, exc.line, 1 if exc.line else 0, exc.message))
            return
        except Exception as exc:  # lupa refusing the file in some other way
            report.errors.append(LoadError(path, 0, 0, f"lua: {type(exc).__name__}: {exc}"))
            return
        engine.__dict__.setdefault("lua_files", []).append(lf)
        heads, pre = _positions(code)
        sb = lf.sandbox
        from .lua_sandbox import LuaLimits

        for k, (fname, _) in enumerate(sb.funcs):
            if not _NAME.match(fname):
                report.errors.append(LoadError(path, 1, 1, f"func({fname!r}, ...): a function name must be an identifier"))
                continue
            full = f"lua.{fname}"
            other = engine.functions.get(full)
            if other is not None and getattr(other, "origin", path) != path:
                report.errors.append(LoadError(path, 1, 1, f"{full}() is already provided by {other.origin}"))
                continue
            fn = LuaFunction(lf, k, fname, LuaLimits())
            fn.origin = path  # type: ignore[attr-defined]
            engine.functions[full] = fn
        for i, (table, has_match) in enumerate(sb.rules):
            line = heads[i] if i < len(heads) else 1
            self._add_rule(engine, report, lf, i, table, has_match, line, pre[i] if i < len(pre) else (line - 1, 0))

    def _add_rule(self, engine: Any, report: LoadReport, lf: LuaFile, index: int, t: Any, has_match: bool,
                  line: int, qpos: tuple[int, int]) -> None:
        path = lf.path
        rid = t.get("id") if isinstance(t, dict) else None
        rid = rid if isinstance(rid, str) and rid.strip() else None
        errs: list[str] = []
        err = errs.append
        if not isinstance(t, dict):
            report.errors.append(LoadError(path, line, 1, "rule{...} takes a table"))
            return
        if rid is None:
            err("the rule has no 'id' (a unique string)")
        for k in sorted(set(t) - RULE_KEYS):
            err(f"unknown key {k!r} (known: {', '.join(sorted(RULE_KEYS | {'match'}))})")
        if not has_match:
            err("the rule has no 'match' function")
        prefilter = t.get("prefilter")
        if not isinstance(prefilter, str) or not prefilter.strip():
            err("the rule has no 'prefilter': the EQL query the native engine applies before an event reaches match()")
        fields = _str_list(t.get("fields"))
        if not fields:
            err("'fields' must list the event fields match() reads (only those reach it)")
        severity = t.get("severity", "medium")
        if severity not in SEVERITIES:
            err(f"'severity' must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        tags = _str_list(t.get("tags", []))
        if tags is None:
            err("'tags' must be a list of strings")
        actions = _str_list(t.get("actions", ["alert"]))
        if actions is None:
            err("'actions' must be a list of action names")
            actions = ["alert"]
        if "alert" not in actions:
            actions = ["alert", *actions]
        dialect = t.get("dialect")
        if dialect is not None and dialect not in DIALECTS:
            err(f"'dialect' must be one of {', '.join(DIALECTS)}")
        limits = _limits(t.get("limits"), err)
        tests = self._tests(t.get("tests", []), err)
        if errs:
            for e in errs:
                report.errors.append(LoadError(path, line, 1, e, rid))
            return
        if t.get("enabled", True) is False:
            return
        meta = RuleMeta(str(rid), str(t.get("name", rid)), str(severity), tuple(tags or ()), str(t.get("description", "")), tuple(actions))
        stage = LuaRuleStage(engine, lf, index, meta, tuple(dict.fromkeys(fields or ())), limits, engine.config)
        try:
            parsed = parse_query(prefilter)
            if not isinstance(parsed.base, ast.EventQuery) or parsed.pipes:
                raise EqlError("a Lua rule's prefilter must be a single-event query without pipes", prefilter, 0, len(prefilter.rstrip()))
            rule = engine.add_rule(meta, prefilter, origin=path, line_offset=qpos[0], col_offset=qpos[1], dialect=dialect, sink=stage.add)
        except EqlError as exc:
            exc = exc.located(path, qpos[0], qpos[1])
            report.errors.append(LoadError(path, exc.line, exc.column, f"prefilter: {exc.message}", rid, exc.snippet()))
            return
        except ValueError as exc:
            report.errors.append(LoadError(path, line, 1, str(exc), rid))
            return
        stage.rule = rule
        rule.stage = rule.lua = stage  # type: ignore[attr-defined]
        engine.add_stage(stage)
        engine.plugin_health.append(stage)
        spec = RuleSpec(id=meta.id, name=meta.name, query=prefilter, description=meta.description, severity=meta.severity,
                        tags=meta.tags, actions=meta.actions, dialect=dialect, tests=tests, origin=path, line=line)
        spec.install = lambda eng, rep, _p=path, _id=meta.id: self._install_one(_p, _id, eng, rep)
        rule.spec = spec  # type: ignore[attr-defined]
        report.rules.append(rule)
        report.specs.append(spec)

    def _install_one(self, path: str, rule_id: str, engine: Any, report: LoadReport) -> None:
        """For a rule's test case: the file loaded afresh (fresh Lua state),
        with only that rule kept."""
        sub = LoadReport()
        self.load(path, engine, sub)
        report.errors.extend(e for e in sub.errors if e.rule_id in (None, rule_id))
        for r in sub.rules:
            if r.id != rule_id:
                engine._units = [u for u in engine._units if u.owner is not r]
                r.disabled = True
        engine._plans.clear()

    def _tests(self, raw: Any, err: Any) -> list[RuleTest]:
        if raw in (None, {}):
            return []
        if not isinstance(raw, list):
            err("'tests' must be a list of { name=..., expect=N, events={...} }")
            return []
        out = []
        for k, t in enumerate(raw):
            if isinstance(t, dict) and t.get("events") == {}:
                t = dict(t, events=[])  # an empty Lua table reads as a dict
            case = parse_test_case(t, k, err)
            if case is not None:
                out.append(case)
        return out


@hookimpl
def kestrel_rule_hosts(config: Config) -> list:
    return [LuaRuleHost()]
