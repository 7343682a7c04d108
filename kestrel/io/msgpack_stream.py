"""msgpack streams: concatenated maps, decoded a batch of events at a time.

The fast path hands whole chunks to one ``msgpack.Unpacker`` and takes
events from it with ``list(islice(unpacker, size))``, so that decoding runs
in C from one batch to the next, with nothing done in Python per event.
Where ``ormsgpack`` is installed, which builds the same objects in about
three fifths of the time, the Unpacker only finds where frames end
(``skip``, ten times cheaper than decoding) and ormsgpack decodes each batch
of frames as one array. Either way the chunks fed are held (not copied)
until decoding has passed them, and the first sign of damage (a decode
error, a record that is not a map, data left at the end, an oversized frame)
hands the input, from the last frame boundary known, to the careful path,
which locates each bad frame by its byte offset, resynchronises on the next
trustworthy one, and goes on to the end.
"""

from __future__ import annotations

import re
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import msgpack

from .readstats import not_object

try:  # optional: decodes msgpack in about 60% of msgpack's own time
    import ormsgpack
except ImportError:  # pragma: no cover - depends on the environment
    ormsgpack = None  # type: ignore[assignment]

if TYPE_CHECKING:  # pragma: no cover
    from .readstats import ReadStats

# Largest msgpack event accepted. Frames carry their own lengths, so without
# a bound one damaged length byte could make the reader buffer gigabytes.
MAX_FRAME = 16 << 20

_CHECKPOINT_MASK = 255  # careful path: note a frame boundary every 256 events
_MAP_HEADER = re.compile(rb"[\x80-\x8f\xde\xdf]")
_MSGPACK_ERRORS = (ValueError, TypeError, msgpack.UnpackException)
_ONLY_OBJECTS = {dict}
# What ormsgpack raises on bad data (MsgpackDecodeError is a ValueError,
# and so is its report of a failing ext_hook).
_DECODE_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)


def _unpacker(buffer_limit: int) -> msgpack.Unpacker:
    # timestamp=2: msgpack timestamps become integer nanoseconds, the event
    # model's own time form.
    return msgpack.Unpacker(
        raw=False, strict_map_key=False, timestamp=2, max_buffer_size=buffer_limit,
        max_str_len=MAX_FRAME, max_bin_len=MAX_FRAME, max_ext_len=MAX_FRAME,
        max_array_len=MAX_FRAME, max_map_len=MAX_FRAME // 2,
    )


def read_msgpack(chunks: Iterable[bytes], source: str, stats: ReadStats, size: int,
                 chunk_size: int) -> Iterator[list[dict]]:
    """Batches of at most ``size`` events; ``chunk_size`` bounds the chunks."""
    buffer_limit = MAX_FRAME + 2 * chunk_size
    it = iter(chunks)
    held: list[bytes] = []
    fast = _fast if ormsgpack is None else _fast_framed
    damage = yield from fast(it, held, stats, size, buffer_limit)
    if damage is not None:
        start, held_start, done = damage
        rest = _from_offset(held, start - held_start)
        del held[:]
        yield from _careful(chain(rest, it), source, stats, size, buffer_limit, start, done)


def _fast(it: Iterator[bytes], held: list[bytes], stats: ReadStats, size: int,
          buffer_limit: int) -> Iterator[list[dict]]:
    """Decode until the input ends or shows damage.

    Returns None at a clean end. On damage it returns where the careful path
    is to take over: a stream offset known to be a frame boundary, the
    offset of ``held[0]`` (``held`` being the chunks fed since, at least,
    that boundary) and how many events after it were already handed out.
    A boundary is known right after a full batch only: when a batch stops
    short because the chunk is used up, an unfinished frame may follow, and
    ``tell()`` counts the part of it already parsed, up to all of the input.
    The boundary is then found by skipping the frames handed out since the
    last one known, when they make a batch and at the end of input.
    """
    unpacker = _unpacker(buffer_limit)
    feed, tell = unpacker.feed, unpacker.tell
    known = done = 0  # a frame boundary, and the events handed out after it
    held_start = total = 0
    for chunk in it:
        while held and held_start + len(held[0]) <= known:
            held_start += len(held.pop(0))
        held.append(chunk)
        total += len(chunk)
        if total - known > buffer_limit:  # no boundary seen for too long
            return known, held_start, done
        try:
            feed(chunk)
        except msgpack.BufferFull:
            return known, held_start, done
        while True:
            try:
                batch = list(islice(unpacker, size))
            except _MSGPACK_ERRORS:
                return known, held_start, done
            if not batch:
                break
            if {*map(type, batch)} != _ONLY_OBJECTS:
                return known, held_start, done
            stats.events += len(batch)
            yield batch
            if len(batch) == size:
                known, done = tell(), 0
            else:  # the chunk is used up
                done += len(batch)
                if done >= size:  # small chunks, as from a pipe
                    known, done = _skip_frames(held, held_start, known, done), 0
                break
    if done:
        known = _skip_frames(held, held_start, known, done)
    return (known, held_start, 0) if known < total else None  # an unfinished frame


def _skip_frames(held: list[bytes], held_start: int, start: int, count: int) -> int:
    """The stream offset ``count`` whole frames after ``start``."""
    unpacker = _unpacker(0)
    for piece in _from_offset(held, start - held_start):
        unpacker.feed(piece)
    for _ in range(count):
        unpacker.skip()
    return start + unpacker.tell()


def _fast_framed(it: Iterator[bytes], held: list[bytes], stats: ReadStats, size: int,
                 buffer_limit: int) -> Iterator[list[dict]]:
    """``_fast``, with frames found by the Unpacker and decoded by ormsgpack.

    Each frame's end is known exactly here (``tell()`` right after a
    ``skip()``), so the careful path never has events to leave out. What
    ormsgpack refuses (keys that are not strings, which it would otherwise
    take even as arrays; nesting past about a thousand levels) is decoded
    again, that batch only, by msgpack, which has the last word: what is
    read does not depend on whether ormsgpack is installed.
    """
    framer = _unpacker(buffer_limit)
    feed, skip, tell = framer.feed, framer.skip, framer.tell
    decode = ormsgpack.unpackb
    join = b"".join
    frames = range(size)
    full = _array_header(size)
    known = 0  # the end of the last frame decoded
    held_start = total = 0
    for chunk in it:
        while held and held_start + len(held[0]) <= known:
            held_start += len(held.pop(0))
        held.append(chunk)
        view, view_start = memoryview(chunk), total
        total += len(chunk)
        if total - known > buffer_limit:  # a frame too large to wait for
            return known, held_start, 0
        try:
            feed(chunk)
        except msgpack.BufferFull:
            return known, held_start, 0
        while True:
            end = known
            count = 0
            try:
                for count in frames:
                    skip()
                    end = tell()
                count = size
            except msgpack.OutOfData:
                pass  # count frames were whole
            except _MSGPACK_ERRORS:
                return known, held_start, 0
            if not count:
                break
            header = full if count == size else _array_header(count)
            if known >= view_start:
                block = join((header, view[known - view_start:end - view_start]))
            else:  # the batch began in an earlier chunk
                block = join((header, *_between(held, held_start, known, end)))
            try:
                batch = decode(block, ext_hook=_ext_hook)
            except _DECODE_ERRORS:
                batch = None
            if batch is None or {*map(type, batch)} != _ONLY_OBJECTS:
                batch = _decode_frames(block[len(header):], count, buffer_limit)
                if batch is None:
                    return known, held_start, 0
            known = end
            stats.events += count
            yield batch
            if count < size:
                break  # the chunk is used up
    return (known, held_start, 0) if known < total else None


def _decode_frames(frames: bytes, count: int, buffer_limit: int) -> list[dict] | None:
    """The ``count`` frames decoded by msgpack, or None if any is not a map
    or fails to decode (the careful path then says which and why)."""
    unpacker = _unpacker(buffer_limit)
    unpacker.feed(frames)
    try:
        batch = list(islice(unpacker, count))
    except _MSGPACK_ERRORS:
        return None
    return batch if len(batch) == count and {*map(type, batch)} == _ONLY_OBJECTS else None


def _array_header(count: int) -> bytes:
    if count < 16:
        return bytes((0x90 | count,))
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def _between(chunks: list[bytes], first: int, start: int, end: int) -> Iterator[memoryview]:
    """Views of stream bytes ``start:end`` in ``chunks``, which begin at ``first``."""
    for chunk in chunks:
        stop = first + len(chunk)
        if stop > start and first < end:
            yield memoryview(chunk)[max(start - first, 0):end - first]
        first = stop


def _ext_hook(code: int, data: bytes) -> Any:
    """msgpack's own reading of extension types, ``timestamp=2`` included."""
    if code == -1:
        return msgpack.Timestamp.from_bytes(data).to_unix_nano()
    return msgpack.ExtType(code, data)


def _from_offset(chunks: list[bytes], offset: int) -> list[bytes]:
    """``chunks`` without their first ``offset`` bytes, copying one at most."""
    for i, chunk in enumerate(chunks):
        if offset < len(chunk):
            return [chunk[offset:] if offset else chunk, *chunks[i + 1:]]
        offset -= len(chunk)
    return []


def _careful(chunks: Iterable[bytes], source: str, stats: ReadStats, size: int,
             buffer_limit: int, start: int, done: int) -> Iterator[list[dict]]:
    """Frame by frame from stream offset ``start``, a frame boundary, leaving
    out the first ``done`` events (the fast path handed them out already);
    on damage, locate and resynchronise.

    A copy of the undecoded stream is kept from a recent frame boundary (a
    checkpoint taken every 256 events, since asking the Unpacker for its
    offset after every frame costs more than the decode) so that a bad
    frame can be re-decoded to find where it starts.
    """
    buf = bytearray()
    base = start  # stream offset of buf[0], a frame boundary
    checkpoint = start  # a frame boundary at or after base
    unpacker: msgpack.Unpacker | None = _unpacker(buffer_limit)  # None while resynchronising
    ustart = start  # stream offset where the unpacker began
    scan = 0  # while resynchronising: where to search from
    count = 0
    out: list[dict] = []
    it = iter(chunks)
    more = True
    while more:
        if out:  # before waiting for more input, hand on what there is
            stats.events += len(out)
            yield out
            out = []
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
                    at = _frame_start(buf, base, checkpoint)
                    stats.skip(source, f"byte {at}", f"msgpack frame larger than {MAX_FRAME} bytes")
                    unpacker, scan = None, at + 1
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
                        count += 1
                        if done:
                            done -= 1
                        else:
                            out.append(obj)
                        if not count & _CHECKPOINT_MASK:
                            checkpoint = ustart + unpacker.tell()
                        if len(out) >= size:
                            stats.events += len(out)
                            yield out
                            out = []
                    else:
                        # Usually a damaged map header: resynchronise rather
                        # than read the map's keys as top-level records.
                        end = ustart + unpacker.tell()
                        at = _frame_start(buf, base, checkpoint, end)
                        stats.skip(source, f"byte {at}", not_object(obj))
                        unpacker, scan = None, end
                        break
                else:  # out of data
                    if more:
                        break
                    at = _frame_start(buf, base, checkpoint)
                    if at >= base + len(buf):
                        break
                    # Unfinished at the end: cut short, or a damaged length
                    # that swallowed good frames, which resynchronising finds.
                    unpacker, scan = None, at + 1
                    found, _ = _resync(buf, base, scan, final=True)
                    reason = "truncated msgpack frame" if found is None else (
                        "malformed msgpack frame (length runs past the end of input)")
                    stats.skip(source, f"byte {at}", reason)
            except _MSGPACK_ERRORS as exc:
                at = _frame_start(buf, base, checkpoint)
                stats.skip(source, f"byte {at}", f"malformed msgpack frame ({_describe(exc)})")
                unpacker, scan = None, at + 1
    if out:
        stats.events += len(out)
        yield out


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
