"""Per-event-type dispatchers, generated once per rule set.

Every rule and sequence step is a *unit*: a handler plus the access
condition that gates it (:mod:`kestrel.access`). For each event type the
units are grouped by field into hash indexes, pattern scanners and CIDR
scanners, and one Python function is generated that reads each field once
(sharing parent objects such as ``e["process"]`` between fields), asks each
table for its candidates and calls them. Units with no usable condition are
called on every event of their type.

Generated rather than looped over, because at a microsecond per event the
overhead of a generic loop (a method call and a getter call per index) is
most of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .access import CidrCond, Cond, EqCond, PatternCond
from .events import make_getter
from .scan import CidrScanner, PatternScanner

# Values remembered per field; the memo is cleared when full, so memory
# stays flat on a stream of unique values.
MEMO_LIMIT = 65_536

Handler = Callable[[dict], None]
_EMPTY: dict = {}


@dataclass(eq=False)
class Unit:
    """A handler and the condition under which it is worth calling."""

    event_type: str | None
    cond: Cond | None
    handler: Handler
    owner: Any = None  # the Rule, for error accounting and removal


def _lookup_other(table: dict, v: Any, fold: bool) -> tuple | None:
    """Index lookup for non-string values: numbers, and lists (any element)."""
    if v.__class__ is list:
        out: list = []
        for x in v:
            if x.__class__ is str and fold:
                x = x.lower()
            try:
                hs = table.get(x)
            except TypeError:
                continue
            if hs:
                for h in hs:
                    if h not in out:
                        out.append(h)
        return tuple(out) if out else None
    try:
        return table.get(v)
    except TypeError:  # dicts and other unhashables
        return None


@dataclass
class _FieldPlan:
    """Every table that reads one field, answering with one memoized lookup.

    Hash indexes, pattern scans and CIDR tables are all pure functions of
    the field's value, so their combined answer — the handlers worth calling
    — is memoized per value: a repeated value (most are) costs one dict hit
    whatever the number of tables and rules behind it."""

    path: tuple
    eq: dict[bool, dict] = field(default_factory=dict)  # fold -> value -> handlers
    patterns: dict[bool, PatternScanner] = field(default_factory=dict)  # ci -> scanner
    cidr: CidrScanner | None = None
    memo: dict = field(default_factory=dict)

    def build(self) -> "_FieldPlan":
        self._eq = [(fold, {k: tuple(v) for k, v in table.items()}) for fold, table in self.eq.items()]
        self._scanners = [sc.build() for sc in self.patterns.values()]
        if self.cidr is not None:
            self._scanners.append(self.cidr.build())
        return self

    def _compute(self, v: Any) -> tuple:
        out: list = []
        for fold, table in self._eq:
            if v.__class__ is str:
                hs = table.get(v.lower() if fold else v)
            else:
                hs = _lookup_other(table, v, fold)
            if hs:
                out.extend(hs)
        for sc in self._scanners:
            hs = sc.candidates(v)
            if hs:
                out.extend(hs)
        if len(out) > 1:
            out = list(dict.fromkeys(out))  # a handler once, whichever table named it
        return tuple(out)

    def candidates(self, v: Any) -> tuple:
        cls = v.__class__
        if cls is str or cls is int:
            key: Any = v
        elif cls is list and len(v) <= 8 and all(x.__class__ is str for x in v):
            # Short lists of strings (ECS event.type, event.category) repeat
            # as much as strings do; they are remembered as tuples.
            key = tuple(v)
            r = self.memo.get(key)
            if r is not None:
                return r
        else:
            return self._compute(v)
        r = self._compute(v)
        memo = self.memo
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[key] = r
        return r


class DispatchBuilder:
    """Builds the dispatcher for one tuple of event types."""

    def __init__(self, units: list[Unit], on_error: Callable[[Handler, Exception], None], force_python_scan: bool = False) -> None:
        self.units = units
        self.on_error = on_error
        self.force_python_scan = force_python_scan
        self.scanners: list[Any] = []

    def build(self) -> Callable[[dict], None]:
        fields: dict[tuple, _FieldPlan] = {}
        always: list[Handler] = []
        for u in self.units:
            c = u.cond
            if c is None:
                always.append(u.handler)
                continue
            fp = fields.get(c.path)
            if fp is None:
                fp = fields[c.path] = _FieldPlan(c.path)
            if isinstance(c, EqCond):
                table = fp.eq.setdefault(c.fold, {})
                for v in c.values:
                    table.setdefault(v, []).append(u.handler)
            elif isinstance(c, PatternCond):
                sc = fp.patterns.get(c.ci)
                if sc is None:
                    sc = fp.patterns[c.ci] = PatternScanner(c.ci, self.force_python_scan)
                sc.add(c.regexes, u.handler)
            elif isinstance(c, CidrCond):
                if fp.cidr is None:
                    fp.cidr = CidrScanner()
                fp.cidr.add(c.cidrs, u.handler)
        return self._generate(fields, always)

    def _generate(self, fields: dict[tuple, _FieldPlan], always: list[Handler]) -> Callable[[dict], None]:
        ns: dict[str, Any] = {"_lookup_other": _lookup_other, "_fail": self.on_error}
        lines = ["def dispatch(e):"]
        objs: dict[tuple, str] = {}

        ns["_EMPTY"] = _EMPTY

        def obj(prefix: tuple) -> str:
            """Local holding the nested object at ``prefix`` (an empty dict
            when absent, so reads below it need no type checks)."""
            if not prefix:
                return "e"
            name = objs.get(prefix)
            if name is not None:
                return name
            parent = obj(prefix[:-1])
            name = f"_o{len(objs)}"
            objs[prefix] = name
            lines.append(f"    {name} = {parent}.get({prefix[-1]!r})")
            lines.append(f"    if {name}.__class__ is not dict:")
            lines.append(f"        {name} = _EMPTY")
            return name

        def call_all(seq: str, indent: str) -> None:
            lines.append(f"{indent}for _h in {seq}:")
            lines.append(f"{indent}    try:")
            lines.append(f"{indent}        _h(e)")
            lines.append(f"{indent}    except Exception as _x:")
            lines.append(f"{indent}        _fail(_h, _x)")

        n = 0
        for path, fp in fields.items():
            n += 1
            getter = f"_g{n}"
            ns[getter] = make_getter(path)
            fp.build()
            self.scanners.extend(fp._scanners)
            ns[f"_m{n}"] = fp.memo
            ns[f"_f{n}"] = fp.candidates
            parent = obj(path[:-1])
            lines.append(f"    _v = {parent}.get({path[-1]!r})")
            # The inline read covers nested events; where the parent object
            # is missing (flat dotted keys, odd shapes) the general getter
            # decides, so both always agree.
            if parent != "e":
                lines.append(f"    if _v is None and {parent} is _EMPTY:")
                lines.append(f"        _v = {getter}(e)")
            lines.append("    if _v is not None:")
            # Memo first (strings and ints: nearly every value repeats).
            lines.append(f"        _hs = _m{n}.get(_v) if _v.__class__ is str or _v.__class__ is int else None")
            lines.append("        if _hs is None:")
            lines.append(f"            _hs = _f{n}(_v)")
            lines.append("        if _hs:")
            call_all("_hs", "            ")
        if always:
            ns["_always"] = tuple(always)
            call_all("_always", "    ")
        if len(lines) == 1:
            lines.append("    return None")
        src = "\n".join(lines) + "\n"
        exec(compile(src, "<kestrel dispatch>", "exec"), ns)
        fn = ns["dispatch"]
        fn.source = src  # type: ignore[attr-defined]
        return fn
