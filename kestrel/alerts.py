"""Alerts: one per match, serialized as one JSON object per line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .events import format_ns


@dataclass(slots=True, frozen=True)
class RuleMeta:
    """What an alert says about the rule that raised it."""

    id: str
    name: str
    severity: str = "medium"
    tags: tuple[str, ...] = ()
    description: str = ""
    actions: tuple[str, ...] = ("alert",)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "severity": self.severity, "tags": list(self.tags)}


@dataclass(slots=True)
class Alert:
    """A match: the rule, the matched events in sequence order, and the time.

    ``timestamp_ns`` is the time of the last matched event (event time, not
    wall-clock), so replaying the same events gives the same alerts.
    """

    rule: RuleMeta
    events: list[dict]
    timestamp_ns: int | None = None
    # Extra keys a pipe or action adds (``count``/``percent`` from
    # unique_count, ``action``/``outcome`` from enforcement).
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "@timestamp": format_ns(self.timestamp_ns),
            "rule": self.rule.to_dict(),
            "events": self.events,
        }
        if self.extra:
            out.update(self.extra)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)
