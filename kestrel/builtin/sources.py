"""The file replay source: recorded events from files or stdin."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Iterator

from ..hookspecs import hookimpl
from ..io.readers import FORMATS, ReadStats, read_batches, read_events

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Config


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class FileSource:
    """Replays a path or ``-``.

    It claims ``-``, existing files, and every name without a ``scheme:``
    prefix, so that other plugins' live sources (``ebpf:``, ``kafka://…``)
    can be named without clashing with it, and any plain name still reaches
    a reader that reports a missing file.
    """

    name = "file"

    def __init__(self, fmt: str = "auto") -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown event format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.fmt = fmt

    def accepts(self, spec: str) -> bool:
        return spec == "-" or os.path.exists(spec) or not _SCHEME.match(spec)

    def open(self, spec: str, stats: ReadStats) -> Iterator[dict]:
        return read_events(spec, stats, self.fmt)

    def open_batches(self, spec: str, stats: ReadStats) -> Iterator[list[dict]]:
        return read_batches(spec, stats, self.fmt)


@hookimpl
def kestrel_event_sources(config: "Config") -> list[FileSource]:
    # The format is not part of Config proper; a CLI --format lands in extra.
    extra = getattr(config, "extra", None) or {}
    return [FileSource(extra.get("input_format", "auto"))]
