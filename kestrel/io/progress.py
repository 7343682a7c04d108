"""A one-line progress display for long replays.

It writes to stderr only when stderr is a terminal, so redirected output and
CI logs never fill with carriage returns, and it redraws at most five times a
second so that a caller may call ``update`` freely.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

_INTERVAL = 0.2


class Progress:
    """Events read, alerts raised, rate and (for files) percent done."""

    def __init__(self, total_bytes: int | None = None, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total_bytes = total_bytes
        self._stream = stream if stream is not None else sys.stderr
        self._active = enabled and _isatty(self._stream)
        now = time.monotonic()
        self._next_draw = now + _INTERVAL  # inputs done within 0.2 s show nothing
        self._last_time = now
        self._last_events = 0
        self._drawn = 0  # length of the line on screen, to blank it later
        self._columns = _columns(self._stream) if self._active else 0

    def update(self, events: int, alerts: int, bytes_done: int | None = None) -> None:
        if not self._active:
            return
        now = time.monotonic()
        if now < self._next_draw:
            return
        self._next_draw = now + _INTERVAL
        # The rate over the last redraw, not since the start: a live source
        # that went quiet should show it.
        rate = (events - self._last_events) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_events = now, events
        line = f"{events:,} events  {alerts:,} alerts  {rate:,.0f} events/s"
        if bytes_done is not None and self.total_bytes:
            line += f"  {min(100.0, 100.0 * bytes_done / self.total_bytes):.1f}%"
        # A line longer than the terminal would wrap, and "\r" returns only
        # to the start of the last row.
        line = line[: self._columns]
        self._write("\r" + line + " " * max(0, self._drawn - len(line)))
        self._drawn = len(line)

    def close(self) -> None:
        """Blank the line so that what is printed next starts clean."""
        if self._active and self._drawn:
            self._write("\r" + " " * self._drawn + "\r")
        self._active = False

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: stop drawing
            self._active = False


def _columns(stream: TextIO) -> int:
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        width = shutil.get_terminal_size().columns
    return max(width - 1, 20)


def _isatty(stream: TextIO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False
