"""JSON Lines and JSON documents, decoded a batch of events at a time.

The common case, a well-formed JSON Lines file, costs one ``orjson.loads``
per line and nothing else in Python: each chunk is split into lines once and
decoded by ``map`` into lists of events, and the only per-batch check is
that every value is an object. A batch in which anything fails is read again
line by line by the careful path, which locates and counts each bad line;
damaged JSON documents are recovered value by value.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .readstats import not_object

if TYPE_CHECKING:  # pragma: no cover
    from .readstats import ReadStats

try:  # optional: several times faster than json on the replay path
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]

_JSON_SPACE = re.compile(r"[ \t\r\n]*")
_JSON_STRUCTURE = re.compile(r'["\\\n{}\[\],]')
_DECODE_ERRORS = (ValueError, RecursionError)
_ONLY_OBJECTS = {dict}
_SKIP = object()
_RawDecode = Callable[[str, int], tuple[Any, int]]
_loads: Callable[[Any], Any] = orjson.loads if orjson is not None else json.loads


# --- JSON Lines --------------------------------------------------------------


def read_jsonl(chunks: Iterable[bytes], source: str, stats: ReadStats, size: int) -> Iterator[list[dict]]:
    """Batches of at most ``size`` events; a batch never spans two chunks,
    so what a pipe delivers is handed on without waiting for more."""
    loads = _loads
    lineno = 0  # lines before those of the current chunk
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
        count = len(lines)
        for first in range(0, count, size):
            part = lines[first:first + size] if count > size else lines
            try:
                batch = list(map(loads, part))
            except _DECODE_ERRORS:  # blank lines land here too
                batch = _careful_lines(part, lineno + first, source, stats)
            else:
                if {*map(type, batch)} != _ONLY_OBJECTS:
                    batch = _objects_only(batch, lineno + first, source, stats)
            if batch:
                stats.events += len(batch)
                yield batch
        lineno += count


def _careful_lines(lines: list[bytes], before: int, source: str, stats: ReadStats) -> list[dict]:
    """The objects of ``lines``, which follow line number ``before``; each
    line that is blank is passed over, and each that is not an object is
    counted."""
    loads = _loads
    out = []
    for lineno, line in enumerate(lines, before + 1):
        try:
            obj = loads(line)
        except _DECODE_ERRORS:
            obj = _retry_line(line, lineno, source, stats)
            if obj is _SKIP:
                continue
        if obj.__class__ is dict:
            out.append(obj)
        else:
            stats.skip(source, str(lineno), not_object(obj))
    return out


def _objects_only(values: list[Any], before: int, source: str, stats: ReadStats) -> list[dict]:
    out = []
    for lineno, obj in enumerate(values, before + 1):
        if obj.__class__ is dict:
            out.append(obj)
        else:
            stats.skip(source, str(lineno), not_object(obj))
    return out


def _retry_line(line: bytes, lineno: int, source: str, stats: ReadStats) -> Any:
    """The standard library has the last word so that what is accepted (NaN,
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


def read_jsonl_or_document(chunks: Iterator[bytes], source: str, stats: ReadStats,
                           size: int) -> Iterator[list[dict]]:
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
            return read_json_document(bytes(head) + b"".join(it), source, stats, size)
    return read_jsonl(chain((bytes(head),), it), source, stats, size)


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


def read_json_document(data: bytes, source: str, stats: ReadStats, size: int) -> Iterator[list[dict]]:
    try:
        value = _loads(data)
    except _DECODE_ERRORS:
        try:
            value = json.loads(data)
        except _DECODE_ERRORS:
            yield from _batched(_recover_json(data.decode("utf-8", "replace"), source, stats), size)
            return
    del data
    if value.__class__ is list:
        for first in range(0, len(value), size):
            batch = value[first:first + size]
            if {*map(type, batch)} != _ONLY_OBJECTS:
                batch = _elements_only(batch, first, source, stats)
            if batch:
                stats.events += len(batch)
                yield batch
    elif value.__class__ is dict:
        stats.events += 1
        yield [value]
    else:
        stats.skip(source, "1:1", not_object(value))


def _elements_only(values: list[Any], before: int, source: str, stats: ReadStats) -> list[dict]:
    out = []
    for i, item in enumerate(values, before + 1):
        if item.__class__ is dict:
            out.append(item)
        else:
            stats.skip(source, f"element {i}", not_object(item))
    return out


def _batched(events: Iterator[dict], size: int) -> Iterator[list[dict]]:
    """Only for events of a document already in memory: ``islice`` waits for
    a whole batch, which a live stream must not."""
    while batch := list(islice(events, size)):
        yield batch


def _recover_json(text: str, source: str, stats: ReadStats) -> Iterator[dict]:
    """Decode a damaged document value by value, so good elements survive.

    Accepts an array of objects, one object, or objects written one after
    another (``jq .`` output). Counts ``stats.events`` itself.
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
                stats.skip(source, where(pos), not_object(item))
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
