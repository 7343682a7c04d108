"""Reading recorded events: JSON Lines, JSON documents and msgpack streams.

Replay is the hot path of ``kestrel replay`` and of the benchmarks, so input
is read in large binary chunks and each event costs one decode and little
else. Recorded data is also where damage shows up (a writer killed mid-line,
a flipped byte in a dump), so a bad record is counted in ``ReadStats`` and
skipped, never raised: one corrupt frame must not cost the rest of an
incident's evidence. Only failing to read at all raises ``EventReadError``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import stat
import sys
import zlib
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import IO, Any, Callable, Iterable, Iterator

import msgpack

try:  # optional: several times faster than json on the replay path
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]

FORMATS = ("auto", "jsonl", "json", "msgpack")
MAX_KEPT_ERRORS = 100
CHUNK_SIZE = 1 << 20
# Largest msgpack event accepted. Frames carry their own lengths, so without
# a bound one damaged length byte could make the reader buffer gigabytes.
MAX_FRAME = 16 << 20

_MSGPACK_SUFFIXES = (".msgpack", ".mpk")
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_CHECKPOINT_MASK = 255  # note a msgpack frame boundary every 256 events
_MAP_HEADER = re.compile(rb"[\x80-\x8f\xde\xdf]")
_JSON_SPACE = re.compile(r"[ \t\r\n]*")
_JSON_STRUCTURE = re.compile(r'["\\\n{}\[\],]')
_DECODE_ERRORS = (ValueError, RecursionError)
_MSGPACK_ERRORS = (ValueError, TypeError, msgpack.UnpackException)
_KINDS = {list: "array", tuple: "array", str: "string", int: "number", float: "number",
          bool: "boolean", type(None): "null", bytes: "binary"}
_SKIP = object()
_RawDecode = Callable[[str, int], tuple[Any, int]]
_loads: Callable[[Any], Any] = orjson.loads if orjson is not None else json.loads


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
    """

    events: int = 0
    skipped: int = 0
    errors: list[ReadError] = field(default_factory=list)
    bytes: int = 0

    def skip(self, source: str, position: str, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(ReadError(source, position, message))


def read_events(spec: str | os.PathLike[str], stats: ReadStats, fmt: str = "auto") -> Iterator[dict]:
    """Yield the events of a file (``-`` for stdin), skipping what is damaged.

    The file is opened here, so a missing input fails at once with
    ``EventReadError``; reading and format detection wait for the first
    ``next()``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown event format {fmt!r}; choose one of {', '.join(FORMATS)}")
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
    # chain.from_iterable hands events straight from the chosen reader to the
    # caller, without a delegating generator frame per event.
    return chain.from_iterable(_choose_reader(chunks, spec, source, stats, fmt))


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
                   fmt: str) -> Iterator[Iterator[dict]]:
    """Yield the one reader for this input, once its first bytes are known."""
    chunks = _gunzip_if_compressed(chunks, source, stats)
    if fmt == "auto":
        fmt, chunks = _sniff(spec, chunks)
    if fmt == "msgpack":
        yield _read_msgpack(chunks, source, stats)
        return
    chunks = _strip_bom(chunks)
    if fmt == "json":
        yield _read_json_document(b"".join(chunks), source, stats)
    elif fmt == "jsonl":
        yield _read_jsonl(chunks, source, stats)
    else:
        yield _read_jsonl_or_document(chunks, source, stats)


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


# --- JSON Lines --------------------------------------------------------------


def _read_jsonl(chunks: Iterable[bytes], source: str, stats: ReadStats) -> Iterator[dict]:
    loads = _loads
    lineno = 0
    pending: list[bytes] = []  # the start of a line that continues in a later chunk
    for chunk in chain(chunks, (None,)):
        if chunk is None:
            if not pending:
                break
            lines = [b"".join(pending)]
        elif b"\n" not in chunk:
            pending.append(chunk)  # joined once, not copied chunk after chunk
            continue
        else:
            if pending:
                pending.append(chunk)
                chunk = b"".join(pending)
                pending = []
            lines = chunk.split(b"\n")
            last = lines.pop()
            if last:
                pending.append(last)
        for line in lines:
            lineno += 1
            try:
                obj = loads(line)
            except _DECODE_ERRORS:
                obj = _retry_line(line, lineno, source, stats)
                if obj is _SKIP:
                    continue
            if obj.__class__ is dict:
                stats.events += 1
                yield obj
            else:
                stats.skip(source, str(lineno), _not_object(obj))


def _retry_line(line: bytes, lineno: int, source: str, stats: ReadStats) -> Any:
    """Blank lines land here too: the fast path does not test for them.

    The standard library has the last word so that what is accepted (NaN,
    Infinity) and how errors read do not depend on whether orjson is
    installed.
    """
    if not line.strip():
        return _SKIP
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} (column {exc.colno})"
    except UnicodeDecodeError as exc:
        message = f"invalid UTF-8 at byte {exc.start + 1}"
    except RecursionError:
        message = "invalid JSON: nested too deeply"
    except ValueError as exc:
        message = f"invalid JSON: {exc}"
    stats.skip(source, str(lineno), message)
    return _SKIP


def _read_jsonl_or_document(chunks: Iterator[bytes], source: str, stats: ReadStats) -> Iterator[dict]:
    """JSON Lines, unless the input is a pretty-printed document.

    Both start with ``{``. A first line that is an unfinished JSON value,
    followed by a line that is not an object on its own, can only be a
    multi-line document; anything else is read as JSON Lines, so a damaged
    first line of a real JSONL file costs that line only.
    """
    it = iter(chunks)
    head = bytearray()
    first, scan = _next_line(it, head, 0)
    if first is not None and _unfinished_value(first):
        second, _ = _next_line(it, head, scan)
        if second is not None and not _is_object(second):
            return _read_json_document(bytes(head) + b"".join(it), source, stats)
    return _read_jsonl(chain((bytes(head),), it), source, stats)


def _next_line(it: Iterator[bytes], head: bytearray, scan: int) -> tuple[bytes | None, int]:
    """The next non-blank line of ``head`` from ``scan``, reading more as needed."""
    searched = scan
    while True:
        nl = head.find(b"\n", searched)
        if nl >= 0:
            line = bytes(head[scan:nl])
            scan = searched = nl + 1
            if line.strip():
                return line, scan
            continue
        searched = len(head)
        chunk = next(it, None)
        if chunk is None:
            line = bytes(head[scan:])
            return (line if line.strip() else None), len(head)
        head += chunk


def _unfinished_value(line: bytes) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        return exc.pos >= len(exc.doc.rstrip())
    except _DECODE_ERRORS:
        return False
    return False


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except _DECODE_ERRORS:
        return False


# --- JSON documents ----------------------------------------------------------


def _read_json_document(data: bytes, source: str, stats: ReadStats) -> Iterator[dict]:
    try:
        value = _loads(data)
    except _DECODE_ERRORS:
        try:
            value = json.loads(data)
        except _DECODE_ERRORS:
            yield from _recover_json(data.decode("utf-8", "replace"), source, stats)
            return
    if value.__class__ is list:
        for i, item in enumerate(value, 1):
            if item.__class__ is dict:
                stats.events += 1
                yield item
            else:
                stats.skip(source, f"element {i}", _not_object(item))
    elif value.__class__ is dict:
        stats.events += 1
        yield value
    else:
        stats.skip(source, "1:1", _not_object(value))


def _recover_json(text: str, source: str, stats: ReadStats) -> Iterator[dict]:
    """Decode a damaged document value by value, so good elements survive.

    Accepts an array of objects, one object, or objects written one after
    another (``jq .`` output).
    """
    decode = json.JSONDecoder().raw_decode
    where = _line_column(text)
    end_of_text = len(text)
    pos = _after_space(text, 0)
    in_array = text.startswith("[", pos)
    if in_array:
        pos += 1
    longest = 0  # of the good values so far: a yardstick for resuming
    while True:
        pos = _after_space(text, pos)
        if pos >= end_of_text:
            return
        if text[pos] in ",]":  # separators, and stray or doubled ones
            pos += 1
            continue
        try:
            value, end = decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            if isinstance(exc, json.JSONDecodeError):
                stats.skip(source, where(exc.pos), f"invalid JSON: {exc.msg}")
            else:
                stats.skip(source, where(pos), "invalid JSON: nested too deeply")
            pos = max(_resume_point(text, pos, in_array, decode, longest), pos + 1)
            continue
        longest = max(longest, end - pos)
        items = value if value.__class__ is list and not in_array else (value,)
        for item in items:
            if item.__class__ is dict:
                stats.events += 1
                yield item
            else:
                stats.skip(source, where(pos), _not_object(item))
        pos = end


def _resume_point(text: str, pos: int, in_array: bool, decode: _RawDecode, longest: int) -> int:
    """Where decoding resumes after the damaged value at ``pos``.

    Counting brackets finds the end of a value whose damage left brackets
    and quotes alone (a missing comma, a bare word, a cut), the usual case.
    A lost or extra quote turns strings inside out and misleads the count,
    which shows as no object following or as a value far longer than any
    good one; then the next object followed by another like it is taken.
    """
    end = _skip_value(text, pos, in_array)
    if end < len(text) and end - pos <= 2 * longest + 4096:
        nxt = _after_space(text, end + 1 if text[end] == "," else end)
        if nxt >= len(text) or text[nxt] == "]" or _decodes_to_object(text, nxt, decode):
            return end
    i = pos + 1
    while True:
        cand = text.find("{", i)
        if cand < 0:
            return end
        try:
            obj, after = decode(text, cand)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if obj and obj.__class__ is dict and _followed_by_kin(text, after, in_array, obj, decode):
            return cand
        i = cand + 1


def _decodes_to_object(text: str, pos: int, decode: _RawDecode) -> bool:
    try:
        return decode(text, pos)[0].__class__ is dict
    except (json.JSONDecodeError, RecursionError):
        return False


def _followed_by_kin(text: str, pos: int, in_array: bool, obj: dict, decode: _RawDecode) -> bool:
    """Whether ``obj`` ends the document or is followed by an object sharing
    a key with it: an object nested inside the damaged one is not."""
    pos = _after_space(text, pos)
    if pos >= len(text):
        return True
    if in_array:
        if text[pos] == "]":  # only the document's own closing bracket
            return _after_space(text, pos + 1) >= len(text)
        if text[pos] != ",":
            return False
        pos = _after_space(text, pos + 1)
    try:
        follower = decode(text, pos)[0]
    except (json.JSONDecodeError, RecursionError):
        return False
    return follower.__class__ is dict and bool(obj.keys() & follower.keys())


def _skip_value(text: str, pos: int, in_array: bool) -> int:
    """Where the damaged value at ``pos`` ends, judged by its brackets.

    Inside an array that is the next ``,`` or ``]`` at the array's level;
    at the top level, just after the bracket that closes the value (or the
    next opening bracket, when the damage was a bare word).
    """
    depth = 0
    in_string = False
    i = pos
    while True:
        m = _JSON_STRUCTURE.search(text, i)
        if m is None:
            return len(text)
        j = m.start()
        ch = text[j]
        i = j + 1
        if in_string:
            if ch == "\\":
                i = j + 2
            elif ch == '"' or ch == "\n":  # a raw newline cannot be inside a string
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{" or ch == "[":
            if depth == 0 and not in_array and j > pos:
                return j
            depth += 1
        elif ch == "}" or ch == "]":
            if depth:
                depth -= 1
                if depth == 0 and not in_array:
                    return i
            elif in_array and ch == "]":
                return j
        elif ch == "," and depth == 0 and in_array:
            return j


def _after_space(text: str, pos: int) -> int:
    m = _JSON_SPACE.match(text, pos)
    return m.end() if m else pos


def _line_column(text: str) -> Callable[[int], str]:
    starts: list[int] = []

    def where(pos: int) -> str:
        if not starts:  # built on the first error only
            starts.append(0)
            starts.extend(m.end() for m in re.finditer("\n", text))
        line = bisect_right(starts, pos)
        return f"{line}:{pos - starts[line - 1] + 1}"

    return where


def _not_object(value: Any) -> str:
    return f"not an object ({_KINDS.get(type(value), type(value).__name__)})"


# --- msgpack -----------------------------------------------------------------


def _unpacker(buffer_limit: int) -> msgpack.Unpacker:
    # timestamp=2: msgpack timestamps become integer nanoseconds, the event
    # model's own time form.
    return msgpack.Unpacker(
        raw=False, strict_map_key=False, timestamp=2, max_buffer_size=buffer_limit,
        max_str_len=MAX_FRAME, max_bin_len=MAX_FRAME, max_ext_len=MAX_FRAME,
        max_array_len=MAX_FRAME, max_map_len=MAX_FRAME // 2,
    )


def _read_msgpack(chunks: Iterable[bytes], source: str, stats: ReadStats) -> Iterator[dict]:
    """Stream frames through one Unpacker; on damage, locate and resynchronise.

    A copy of the undecoded stream is kept from a recent frame boundary (a
    checkpoint taken every 256 events, since asking the Unpacker for its
    offset after every frame costs more than the decode) so that a bad
    frame can be re-decoded to find where it starts.
    """
    buffer_limit = MAX_FRAME + 2 * CHUNK_SIZE
    buf = bytearray()
    base = 0  # stream offset of buf[0], a frame boundary
    checkpoint = 0  # a frame boundary at or after base
    unpacker: msgpack.Unpacker | None = _unpacker(buffer_limit)  # None while resynchronising
    ustart = 0  # stream offset where the unpacker began
    scan = 0  # while resynchronising: where to search from
    count = 0
    it = iter(chunks)
    more = True
    while more:
        chunk = next(it, None)
        more = chunk is not None
        if unpacker is not None and checkpoint > base:
            del buf[: checkpoint - base]
            base = checkpoint
        if chunk is not None:
            buf += chunk
            if unpacker is not None:
                try:
                    unpacker.feed(chunk)
                except msgpack.BufferFull:
                    start = _frame_start(buf, base, checkpoint)
                    stats.skip(source, f"byte {start}", f"msgpack frame larger than {MAX_FRAME} bytes")
                    unpacker, scan = None, start + 1
        while True:
            if unpacker is None:
                found, scan = _resync(buf, base, scan, final=not more)
                cut = (found if found is not None else scan) - base
                del buf[:cut]
                base += cut
                if found is None:
                    break
                unpacker = _unpacker(buffer_limit)
                ustart = checkpoint = found
                try:
                    unpacker.feed(buf)
                except msgpack.BufferFull:  # pragma: no cover - buf is bounded below the limit
                    stats.skip(source, f"byte {found}", f"msgpack frame larger than {MAX_FRAME} bytes")
                    unpacker, scan = None, found + 1
                    continue
            try:
                for obj in unpacker:
                    if obj.__class__ is dict:
                        stats.events += 1
                        count += 1
                        if not count & _CHECKPOINT_MASK:
                            checkpoint = ustart + unpacker.tell()
                        yield obj
                    else:
                        # Usually a damaged map header: resynchronise rather
                        # than read the map's keys as top-level records.
                        end = ustart + unpacker.tell()
                        start = _frame_start(buf, base, checkpoint, end)
                        stats.skip(source, f"byte {start}", _not_object(obj))
                        unpacker, scan = None, end
                        break
                else:  # out of data
                    if more:
                        break
                    start = _frame_start(buf, base, checkpoint)
                    if start >= base + len(buf):
                        break
                    # Unfinished at the end: cut short, or a damaged length
                    # that swallowed good frames, which resynchronising finds.
                    unpacker, scan = None, start + 1
                    found, _ = _resync(buf, base, scan, final=True)
                    reason = "truncated msgpack frame" if found is None else (
                        "malformed msgpack frame (length runs past the end of input)")
                    stats.skip(source, f"byte {start}", reason)
            except _MSGPACK_ERRORS as exc:
                start = _frame_start(buf, base, checkpoint)
                stats.skip(source, f"byte {start}", f"malformed msgpack frame ({_describe(exc)})")
                unpacker, scan = None, start + 1


def _describe(exc: Exception) -> str:
    if isinstance(exc, msgpack.StackError):
        return "nested too deeply"
    if isinstance(exc, msgpack.FormatError):
        return "invalid type byte"
    return str(exc) or type(exc).__name__


def _frame_start(buf: bytearray, base: int, checkpoint: int, end: int | None = None) -> int:
    """Stream offset of the frame ending at ``end``, or of the first bad or
    incomplete frame after ``checkpoint``; found by decoding again."""
    unpacker = _unpacker(0)
    unpacker.feed(buf[checkpoint - base:])
    prev = 0
    while True:
        try:
            next(unpacker)
        except (StopIteration, *_MSGPACK_ERRORS):
            break
        pos = unpacker.tell()
        if end is not None and checkpoint + pos >= end:
            break
        prev = pos
    return checkpoint + prev


def _resync(buf: bytearray, base: int, scan: int, final: bool) -> tuple[int | None, int]:
    """Find the next trustworthy frame: ``(offset or None, where to rescan)``.

    A candidate must decode to a non-empty map with text keys, followed by
    the end of input or by another such map sharing a key with it. Any map
    header alone is too weak: noise holds them, and so does the damaged
    event itself, whose last nested map (``process: {...}``) would
    otherwise come out as an event of its own.
    """
    pos = scan - base
    while True:
        m = _MAP_HEADER.search(buf, pos)
        if m is None:
            return None, base + len(buf)
        cand = m.start()
        status, end, obj = _probe(buf, cand, final)
        if status == "ok":
            if end == len(buf):
                status = "ok" if final else "more"
            else:
                status, _, follower = _probe(buf, end, final)
                if status == "ok" and not obj.keys() & follower.keys():
                    status = "bad"
            if status == "ok":
                return base + cand, base + cand
        if status == "more":
            return None, base + cand
        pos = cand + 1


def _probe(buf: bytearray, at: int, final: bool) -> tuple[str, int, Any]:
    for size in (4096, len(buf)):
        unpacker = _unpacker(0)
        unpacker.feed(buf[at: at + size])
        try:
            obj = next(unpacker)
        except StopIteration:
            if at + size < len(buf):
                continue
            if final or len(buf) - at > MAX_FRAME:
                return "bad", at, None
            return "more", at, None
        except _MSGPACK_ERRORS:
            return "bad", at, None
        plausible = obj.__class__ is dict and obj and all(k.__class__ is str for k in obj)
        return ("ok" if plausible else "bad"), at + unpacker.tell(), obj
    return "bad", at, None  # pragma: no cover - the second size always decides


# --- writers -----------------------------------------------------------------

def write_msgpack(events: Iterable[dict], path_or_file: str | os.PathLike[str] | IO[bytes]) -> int:
    """Write events as concatenated msgpack maps; return how many.

    msgpack is what ``kestrel record`` writes because it replays several
    times faster than JSON. A path ending in ``.gz`` is compressed.
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
