"""Reading recorded events: JSON Lines, JSON documents and msgpack streams.

Replay is the hot path of ``kestrel replay`` and of the benchmarks, so input
is read in large binary chunks and decoded a batch of events at a time, with
no Python code run per event on a well-formed input: decoding is the cost,
and it runs in C. Recorded data is also where damage shows up (a writer
killed mid-line, a flipped byte in a dump), so a bad record is counted in
``ReadStats`` and skipped, never raised: one corrupt frame must not cost the
rest of an incident's evidence. Only failing to read at all raises
``EventReadError``. Damage is handled by a slower careful path that the fast
one hands over to (``jsonl``, ``msgpack_stream``).

``read_batches`` yields lists of events, ``read_events`` the events one by
one; both cost the same per event.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import sys
import zlib
from contextlib import contextmanager
from itertools import chain
from typing import IO, Any, Callable, Iterable, Iterator

import msgpack

from .jsonl import orjson, read_json_document, read_jsonl, read_jsonl_or_document
from .msgpack_stream import MAX_FRAME, read_msgpack
from .readstats import MAX_KEPT_ERRORS, EventReadError, ReadError, ReadStats

__all__ = [
    "BATCH_SIZE", "CHUNK_SIZE", "FORMATS", "MAX_FRAME", "MAX_KEPT_ERRORS", "EventReadError",
    "ReadError", "ReadStats", "input_size", "read_batches", "read_events", "write_jsonl",
    "write_msgpack",
]

FORMATS = ("auto", "jsonl", "json", "msgpack")
CHUNK_SIZE = 1 << 20
# Events per batch. Small on purpose: a batch is alive all at once, and
# past a few hundred container objects (an ECS event holds ten or so dicts
# and lists) every batch sets off a garbage collection that finds them all
# alive and promotes them; even below that, memory freed event by event is
# reused while still in the CPU cache. Measured on 25-field events: batches
# of 16 read about 3% faster than of 32, and batches of 256 or more 1.5 to 3
# times slower.
BATCH_SIZE = 16

_MSGPACK_SUFFIXES = (".msgpack", ".mpk")
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


def read_events(spec: str | os.PathLike[str], stats: ReadStats, fmt: str = "auto") -> Iterator[dict]:
    """Yield the events of a file (``-`` for stdin), skipping what is damaged.

    The file is opened here, so a missing input fails at once with
    ``EventReadError``; reading and format detection wait for the first
    ``next()``.
    """
    # chain.from_iterable hands events out of each batch in C, without a
    # generator frame per event.
    return chain.from_iterable(read_batches(spec, stats, fmt))


def read_batches(spec: str | os.PathLike[str], stats: ReadStats, fmt: str = "auto",
                 size: int = BATCH_SIZE) -> Iterator[list[dict]]:
    """Yield the events of a file (``-`` for stdin) as lists of at most ``size``.

    Like ``read_events`` otherwise. Batches may be shorter than ``size``
    anywhere, not just at the end: what is read from a pipe is handed on at
    once rather than held back to fill a batch. ``stats.events`` counts a
    batch when it is yielded. Each list is new; the caller may keep it.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown event format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    spec = os.fspath(spec)
    if spec == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise EventReadError("cannot read '-': standard input is not available")
        fh, owned, source = stdin, False, "<stdin>"
    else:
        try:
            fh, owned, source = open(spec, "rb", buffering=0), True, spec
        except OSError as exc:
            raise EventReadError(_cannot_read(spec, exc)) from exc
    chunks = _read_chunks(fh, owned, spec, stats)
    return chain.from_iterable(_choose_reader(chunks, spec, source, stats, fmt, size))


def input_size(spec: str | os.PathLike[str]) -> int | None:
    """Size in bytes of a regular file, for a progress percentage; else None."""
    spec = os.fspath(spec)
    if spec == "-":
        return None
    try:
        st = os.stat(spec)
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _cannot_read(spec: str, exc: OSError) -> str:
    return f"cannot read {spec!r}: {exc.strerror or exc}"


def _read_chunks(fh: IO[bytes], owned: bool, spec: str, stats: ReadStats) -> Iterator[bytes]:
    # read1 returns what a pipe has now instead of waiting for a full chunk,
    # so events piped in live are seen as they arrive.
    read = getattr(fh, "read1", None) or fh.read
    try:
        while True:
            try:
                chunk = read(CHUNK_SIZE)
            except OSError as exc:
                raise EventReadError(_cannot_read(spec, exc)) from exc
            if not chunk:
                return
            stats.bytes += len(chunk)
            yield chunk
    finally:
        if owned:
            fh.close()


def _choose_reader(chunks: Iterator[bytes], spec: str, source: str, stats: ReadStats,
                   fmt: str, size: int) -> Iterator[Iterator[list[dict]]]:
    """Yield the one reader for this input, once its first bytes are known."""
    chunks = _gunzip_if_compressed(chunks, source, stats)
    if fmt == "auto":
        fmt, chunks = _sniff(spec, chunks)
    if fmt == "msgpack":
        yield read_msgpack(chunks, source, stats, size, CHUNK_SIZE)
        return
    chunks = _strip_bom(chunks)
    if fmt == "json":
        yield read_json_document(b"".join(chunks), source, stats, size)
    elif fmt == "jsonl":
        yield read_jsonl(chunks, source, stats, size)
    else:
        yield read_jsonl_or_document(chunks, source, stats, size)


def _peek(chunks: Iterable[bytes], enough: Callable[[bytes], bool]) -> tuple[bytes, Iterator[bytes]]:
    """Read chunks until ``enough(head)``; return the head and the remainder."""
    it = iter(chunks)
    head = b""
    for chunk in it:
        head += chunk
        if enough(head):
            break
    return head, it


def _sniff(spec: str, chunks: Iterator[bytes]) -> tuple[str, Iterator[bytes]]:
    name = spec.lower().removesuffix(".gz")
    if name.endswith(_MSGPACK_SUFFIXES):
        return "msgpack", chunks
    head, rest = _peek(chunks, lambda h: bool(_text_start(h)))
    first = _text_start(head)[:1]
    chunks = chain((head,), rest)
    if first == b"[":
        return "json", chunks
    if first == b"{" or not first:
        return "jsonl-or-json", chunks
    return "msgpack", chunks


def _text_start(head: bytes) -> bytes:
    return head.removeprefix(_BOM).lstrip(_WHITESPACE)


def _strip_bom(chunks: Iterator[bytes]) -> Iterator[bytes]:
    head, rest = _peek(chunks, lambda h: len(h) >= len(_BOM))
    return chain((head.removeprefix(_BOM),), rest)


def _gunzip_if_compressed(chunks: Iterator[bytes], source: str, stats: ReadStats) -> Iterator[bytes]:
    # Detected by content rather than name so that `zcat`-less pipes
    # (`ssh host cat log.gz | kestrel replay -`) work too.
    head, rest = _peek(chunks, lambda h: len(h) >= 2)
    chunks = chain((head,), rest)
    return _gunzip(chunks, source, stats) if head.startswith(_GZIP_MAGIC) else chunks


def _gunzip(chunks: Iterator[bytes], source: str, stats: ReadStats) -> Iterator[bytes]:
    # Output per call is bounded so that a small compressed bomb is
    # inflated a chunk at a time rather than all at once.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for data in chunks:
        while True:
            if inflater.eof:
                if not data.strip(b"\0"):  # padding after the last member
                    break
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # concatenated members
            try:
                out = inflater.decompress(data, CHUNK_SIZE)
            except zlib.error as exc:
                stats.skip(source, "gzip", f"corrupt gzip stream ({exc})")
                return
            if out:
                yield out
            if inflater.eof:
                data = inflater.unused_data
                if not data:
                    break
                continue
            data = inflater.unconsumed_tail
            if not data and len(out) < CHUNK_SIZE:
                break
    if not inflater.eof:
        stats.skip(source, "gzip", "truncated gzip stream")


# --- writers -----------------------------------------------------------------

def write_msgpack(events: Iterable[dict], path_or_file: str | os.PathLike[str] | IO[bytes]) -> int:
    """Write events as concatenated msgpack maps; return how many.

    msgpack is what ``kestrel record`` writes: a fifth smaller than JSON
    Lines, and binary values stay binary. It replays at about JSON Lines'
    speed where ormsgpack is installed, at two thirds of it with msgpack
    alone (see ``msgpack_stream``). A path ending in ``.gz`` is compressed.
    """
    if isinstance(path_or_file, io.TextIOBase):
        raise TypeError("msgpack needs a binary file")
    pack = msgpack.Packer(default=_plain, use_bin_type=True).pack
    count = 0
    with _output(path_or_file) as write:
        for event in events:
            write(pack(event))
            count += 1
    return count


def write_jsonl(events: Iterable[dict], path_or_file: str | os.PathLike[str] | IO[bytes] | IO[str]) -> int:
    """Write events one JSON object per line; return how many."""
    count = 0
    with _output(path_or_file) as write:
        for event in events:
            write(_json_line(event))
            count += 1
    return count


@contextmanager
def _output(target: Any) -> Iterator[Callable[[bytes], Any]]:
    """A bytes writer for a path (``-`` is stdout) or an open file."""
    if isinstance(target, str) and target == "-":
        target = sys.stdout.buffer
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        with (gzip.open(path, "wb") if path.endswith(".gz") else open(path, "wb")) as fh:
            yield fh.write
        return
    if isinstance(target, io.TextIOBase):
        yield lambda data: target.write(data.decode("utf-8"))
    else:
        yield target.write
    target.flush()


def _plain(obj: Any) -> Any:
    """Fallback encoding, matching how alerts serialise the same values."""
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _stdlib_json_line(event: dict) -> bytes:
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=_plain)
    return (text + "\n").encode("utf-8")


if orjson is not None:
    _ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE

    def _json_line(event: dict) -> bytes:
        try:
            return orjson.dumps(event, default=_plain, option=_ORJSON_OPTIONS)
        except TypeError:  # integers beyond 64 bits and the like
            return _stdlib_json_line(event)

else:  # pragma: no cover - depends on the environment
    _json_line = _stdlib_json_line
