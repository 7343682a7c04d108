"""Engine configuration: which dialect, which schema fields, which limits.

One object carries everything a rule's meaning depends on (dialect, case
rules, where an event keeps its type and time), so that the same query text
compiles the same way in the CLI, in rule files and in the Python API.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

DIALECTS = ("elasticsearch", "endgame")
TIME_UNITS = ("auto", "ns", "us", "ms", "s", "filetime")

# Per-dialect schema defaults: the ECS names for Elasticsearch EQL, the
# Endgame names that Elastic's `eql` package and its test data use.
_DEFAULTS = {
    "elasticsearch": {
        "type_field": "event.category",
        "time_field": "@timestamp",
        "time_unit": "auto",
        "entity_field": "process.entity_id",
        "parent_entity_field": "process.parent.entity_id",
    },
    "endgame": {
        "type_field": "event_type",
        "time_field": "timestamp",
        "time_unit": "filetime",
        "entity_field": "unique_pid",
        "parent_entity_field": "unique_ppid",
    },
}


@dataclass(frozen=True)
class Config:
    """How queries are read and events are interpreted.

    Fields left as ``None`` take the dialect's default (see ``resolved``).
    ``case_sensitive=None`` means "the dialect's own rules": in the
    Elasticsearch dialect ``==``/``in``/``like``/``regex`` are case-sensitive
    and ``:``/``in~``/``like~``/``regex~`` are not; the Endgame dialect folds
    case everywhere unless ``case_sensitive=True``.
    """

    dialect: str = "elasticsearch"
    type_field: str | None = None
    time_field: str | None = None
    time_unit: str | None = None
    entity_field: str | None = None
    parent_entity_field: str | None = None
    case_sensitive: bool | None = None
    # Hard bound on live partial matches per sequence/join rule; the oldest
    # partial is evicted first and every eviction is counted.
    max_partials: int = 10_000
    # Bound on the process table kept for lineage (`descendant of`).
    max_processes: int = 100_000
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {self.dialect!r}; choose one of {', '.join(DIALECTS)}")
        if self.time_unit is not None and self.time_unit not in TIME_UNITS:
            raise ValueError(f"unknown time unit {self.time_unit!r}; choose one of {', '.join(TIME_UNITS)}")
        if self.max_partials < 1:
            raise ValueError("max_partials must be at least 1")

    def resolved(self) -> "Config":
        """A copy with every ``None`` schema field replaced by the dialect default."""
        d = _DEFAULTS[self.dialect]
        return replace(
            self,
            type_field=self.type_field or d["type_field"],
            time_field=self.time_field or d["time_field"],
            time_unit=self.time_unit or d["time_unit"],
            entity_field=self.entity_field or d["entity_field"],
            parent_entity_field=self.parent_entity_field or d["parent_entity_field"],
        )

    @property
    def fold_case_default(self) -> bool:
        """Whether plain ``==``/``in``/``like`` compare strings case-insensitively."""
        if self.case_sensitive is not None:
            return not self.case_sensitive
        return self.dialect == "endgame"
