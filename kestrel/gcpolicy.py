"""Garbage-collector policy for streaming.

Events are acyclic dicts freed by reference counting the moment the engine
is done with them, so the cyclic collector has nothing to find on the hot
path, yet with its default thresholds it runs every ~700 container
allocations — every few dozen decoded events — and each full pass walks
every live object (compiled rules, partial matches). While streaming,
Kestrel freezes what was built at start-up, turns automatic collection off
and collects the young generations itself every ``every`` events, so any
cycle a plugin makes is still reclaimed, without the per-event tax.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

COLLECT_EVERY = 1 << 17


@contextmanager
def streaming_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def periodic_collect() -> None:
    """Called by the stream loop every COLLECT_EVERY events."""
    gc.collect(1)
