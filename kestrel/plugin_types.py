"""The plain interfaces that hook implementations return.

These are Protocols rather than base classes so that a third-party plugin
needs nothing from Kestrel but duck typing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from .alerts import Alert
    from .engine import Engine
    from .io.readers import ReadStats
    from .rules.model import LoadReport


@runtime_checkable
class EventSource(Protocol):
    name: str

    def accepts(self, spec: str) -> bool:
        """Whether this source reads the input named ``spec``."""

    def open(self, spec: str, stats: "ReadStats") -> Iterator[dict]:
        """Yield events; count and skip what cannot be read into ``stats``.

        A source may also offer ``open_batches(spec, stats)`` yielding lists
        of events (what it read in one go, never waiting to fill a list);
        the stream loop prefers it."""


@runtime_checkable
class RuleHost(Protocol):
    name: str

    def claims(self, path: str) -> bool:
        """Whether this host loads the rule file at ``path``."""

    def load(self, path: str, engine: "Engine", report: "LoadReport") -> None:
        """Add the file's rules to ``engine``; record errors in ``report``."""


@runtime_checkable
class AlertSink(Protocol):
    name: str

    def emit(self, alert: "Alert") -> None:
        """Deliver one alert."""

    def close(self) -> None:
        """Flush and release resources at shutdown."""


@runtime_checkable
class Action(Protocol):
    name: str

    def execute(self, alert: "Alert", dry_run: bool) -> str:
        """Carry out the action for ``alert``; return its outcome."""
