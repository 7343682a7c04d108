"""Process lineage for ``child of``, ``descendant of`` and ``event of``.

Lineage is decided when a process is created: a new process becomes a
member of a ``descendant of [q]`` test if its parent matched ``q`` or is
itself a member, so a check on any later event is one set lookup. This is
also what eql's own engine does, which keeps results identical; exits are
applied one process event late so that the exit event of a descendant still
counts as the descendant's.
"""

from __future__ import annotations

from typing import Any, Callable

from .config import Config
from .events import make_getter, parse_field_path

# How a process event says "created" or "ended", per dialect.
_LIFECYCLE = {
    "elasticsearch": ("event.type", frozenset({"start", "fork", "exec"}), frozenset({"end"})),
    "endgame": ("subtype", frozenset({"create", "fork"}), frozenset({"terminate"})),
}


def _key(v: Any) -> Any:
    """An entity id usable as a set member; odd values (lists, objects) are not."""
    cls = v.__class__
    if cls is str or cls is int:
        return v
    return None


class _Check:
    __slots__ = ("relation", "pred", "event_type", "sources", "members", "bound", "evictions")

    def __init__(self, relation: str, pred: Callable[[dict], bool], event_type: str | None, bound: int) -> None:
        self.relation = relation
        self.pred = pred
        self.event_type = event_type
        self.sources: dict[Any, None] = {}  # insertion-ordered set with a bound
        self.members: dict[Any, None] = {}
        self.bound = bound
        self.evictions = 0

    def _add(self, table: dict[Any, None], key: Any) -> None:
        table[key] = None
        if len(table) > self.bound:
            del table[next(iter(table))]
            self.evictions += 1


class LineageTracker:
    """Keeps the per-subquery process sets and answers membership checks."""

    def __init__(self, config: Config) -> None:
        cfg = config.resolved()
        self._entity = make_getter(parse_field_path(cfg.entity_field or "process.entity_id"))
        self._parent = make_getter(parse_field_path(cfg.parent_entity_field or "process.parent.entity_id"))
        field, creates, ends = _LIFECYCLE[cfg.dialect]
        self._subtype = make_getter(parse_field_path(field))
        self._creates = creates
        self._ends = ends
        self._process_type = "process"
        self._bound = cfg.max_processes
        self.checks: list[_Check] = []
        self._dead: list[Any] = []

    def __bool__(self) -> bool:
        return bool(self.checks)

    def register(self, relation: str, predicate: Callable[[dict], bool], event_type: str | None) -> Callable[[dict], bool]:
        check = _Check(relation, predicate, event_type, self._bound)
        self.checks.append(check)
        entity = self._entity
        table = check.sources if relation == "event" else check.members

        def is_related(e: dict) -> bool:
            key = _key(entity(e))
            return key is not None and key in table

        return is_related

    def observe(self, event: dict, types: tuple) -> None:
        """Update lineage state with one event, before any rule sees it."""
        if self._process_type in types:
            self._on_process(event)
        entity = None
        for check in self.checks:
            if check.event_type is None or check.event_type in types:
                if check.pred(event):
                    if entity is None:
                        entity = _key(self._entity(event))
                    if entity is not None and entity != 0:
                        check._add(check.sources, entity)

    def _on_process(self, event: dict) -> None:
        if self._dead:
            for pid in self._dead:
                for check in self.checks:
                    check.sources.pop(pid, None)
                    check.members.pop(pid, None)
            self._dead.clear()
        subtype = self._subtype(event)
        if subtype.__class__ is list:
            created = any(s in self._creates for s in subtype if s.__class__ is str)
            ended = any(s in self._ends for s in subtype if s.__class__ is str)
        elif subtype.__class__ is str:
            created = subtype in self._creates
            ended = subtype in self._ends
        else:
            return
        if created:
            pid = _key(self._entity(event))
            ppid = _key(self._parent(event))
            if pid is None or ppid is None:
                return
            for check in self.checks:
                if check.relation == "descendant":
                    if ppid in check.sources or ppid in check.members:
                        check._add(check.members, pid)
                elif check.relation == "child":
                    if ppid in check.sources:
                        check._add(check.members, pid)
        elif ended:
            pid = _key(self._entity(event))
            if pid is not None:
                self._dead.append(pid)

    @property
    def evictions(self) -> int:
        return sum(c.evictions for c in self.checks)
