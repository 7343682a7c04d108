"""What every event reader reports: counters, skipped records, fatal errors.

Kept apart from ``readers`` so that the per-format modules (``jsonl``,
``msgpack_stream``) can use it without importing the module that imports
them. ``kestrel.io.readers`` re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_KEPT_ERRORS = 100

_KINDS = {list: "array", tuple: "array", str: "string", int: "number", float: "number",
          bool: "boolean", type(None): "null", bytes: "binary"}


class EventReadError(Exception):
    """The input could not be read at all (as opposed to bad records in it)."""


@dataclass(slots=True)
class ReadError:
    """One skipped record, located well enough to find it with an editor."""

    source: str
    position: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.position}: {self.message}"


@dataclass(slots=True)
class ReadStats:
    """Counters shared by every input of a run.

    Only the first ``MAX_KEPT_ERRORS`` errors are kept: a file that is bad
    throughout would otherwise hold one object per line in memory, while the
    first few are what a user needs to see what went wrong. ``bytes`` counts
    input as read from disk (compressed for ``.gz``), which is what a
    progress percentage against the file size needs.

    ``events`` is counted a batch at a time, when a batch is handed out (see
    ``read_batches``): exact once reading ends, and never more than one batch
    ahead of the caller while it goes on.
    """

    events: int = 0
    skipped: int = 0
    errors: list[ReadError] = field(default_factory=list)
    bytes: int = 0

    def skip(self, source: str, position: str, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(ReadError(source, position, message))


def not_object(value: Any) -> str:
    return f"not an object ({_KINDS.get(type(value), type(value).__name__)})"
