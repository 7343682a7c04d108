"""Alert sinks: JSON lines to stdout or appended to files."""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from ..alerts import Alert
    from ..config import Config


class StdoutSink:
    """Alerts on stdout, for piping into ``jq`` or a shipper.

    On a terminal every alert is flushed at once so a person watching sees
    it; into a pipe, output stays block-buffered, which matters when a
    replay raises many alerts. A reader that exits early (``| head``) ends
    the output quietly instead of with a traceback.
    """

    name = "stdout"

    def __init__(self, stream: TextIO | None = None, live: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stdout
        try:
            self._tty = self._stream.isatty()
        except (AttributeError, OSError, ValueError):
            self._tty = False
        # A live agent's alerts go out as they happen, pipe or not: a
        # shipper reading `kestrel run | …` must not wait for a full buffer.
        self._tty = self._tty or live
        self.broken = False  # set once the reader has gone away

    def emit(self, alert: "Alert") -> None:
        if self.broken:
            return
        try:
            self._stream.write(alert.to_json() + "\n")
            if self._tty:
                self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def close(self) -> None:
        if self.broken:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()
        except ValueError:  # already closed
            pass

    def _reader_gone(self) -> None:
        self.broken = True
        # Python flushes stdout again at exit and would report the broken
        # pipe there; pointing the descriptor at /dev/null silences that.
        try:
            fd = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
        except (AttributeError, OSError, ValueError):
            return
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
        finally:
            os.close(devnull)


class FileSink:
    """Alerts appended to a file, one JSON object per line.

    Line buffering writes each alert whole as it is raised, so ``tail -f``
    and log shippers never see half a line and a crash loses nothing
    already emitted. Appending lets several runs share one alert log.
    """

    name = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8", buffering=1)

    def emit(self, alert: "Alert") -> None:
        self._fh.write(alert.to_json() + "\n")

    def close(self) -> None:
        self._fh.close()


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@hookimpl
def kestrel_alert_sinks(config: "Config", options: dict[str, Any]) -> list[StdoutSink | FileSink]:
    """``-`` is stdout, ``file:PATH`` or a plain path is a file; targets with
    another ``scheme:`` prefix are left to other plugins. Each sink records
    the target it took (``.target``) so the caller can tell what nobody took."""
    targets = options.get("outputs")
    if targets is None:
        targets = options.get("output")  # the singular spelling of the hookspec's example
    if targets is None:
        targets = ["-"]
    if isinstance(targets, (str, os.PathLike)):
        targets = [targets]
    sinks: list[StdoutSink | FileSink] = []
    seen: set[str] = set()
    for target in map(os.fspath, targets):
        if target in seen:
            continue
        if target == "-":
            sink: StdoutSink | FileSink = StdoutSink(live=bool(options.get("live")))
        elif target.startswith("file:"):
            sink = FileSink(target[5:])
        elif _SCHEME.match(target):
            continue
        else:
            sink = FileSink(target)
        seen.add(target)
        sink.target = target  # type: ignore[union-attr]
        sinks.append(sink)
    return sinks
