"""Event readers: every format, compression, stdin, and damaged input."""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
from bisect import bisect_right
from itertools import accumulate
from pathlib import Path

import msgpack
import pluggy
import pytest

import kestrel.hookspecs
import kestrel.io.msgpack_stream as msgpack_stream
import kestrel.io.readers as readers
from kestrel.builtin import sources
from kestrel.builtin.sources import FileSource
from kestrel.io.progress import Progress
from kestrel.io.readers import (
    BATCH_SIZE,
    MAX_KEPT_ERRORS,
    EventReadError,
    ReadError,
    ReadStats,
    input_size,
    read_batches,
    read_events,
    write_jsonl,
    write_msgpack,
)

EVENTS = [
    {"@timestamp": 1_700_000_000_000_000_000 + i, "event": {"category": "process"},
     "process": {"name": "bash", "pid": 100 + i, "args": ["-c", f"echo {i}"]}}
    for i in range(20)
]


def read(path: Path | str, fmt: str = "auto") -> tuple[list[dict], ReadStats]:
    stats = ReadStats()
    return list(read_events(path, stats, fmt)), stats


def jsonl_text(events: list[dict]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def packed(events: list[dict]) -> bytes:
    return b"".join(msgpack.packb(e) for e in events)


@pytest.fixture(params=[readers.CHUNK_SIZE, 7], ids=["big-chunks", "tiny-chunks"])
def chunk_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a test also with chunks that split lines and frames anywhere."""
    monkeypatch.setattr(readers, "CHUNK_SIZE", request.param)
    return request.param


@pytest.fixture(params=["msgpack", "ormsgpack"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a msgpack test with each fast path: msgpack alone, and frames
    found by msgpack but decoded by ormsgpack where that is installed."""
    if request.param == "msgpack":
        monkeypatch.setattr(msgpack_stream, "ormsgpack", None)
    else:
        monkeypatch.setattr(msgpack_stream, "ormsgpack", pytest.importorskip("ormsgpack"))
    return request.param


class FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


# --- JSON Lines --------------------------------------------------------------


def test_jsonl(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl_text(EVENTS))
    events, stats = read(path)
    assert events == EVENTS
    assert (stats.events, stats.skipped, stats.errors) == (20, 0, [])
    assert stats.bytes == path.stat().st_size


def test_jsonl_blank_lines_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'\n{"a": 1}\r\n\r\n   \n{"a": 2}\r\n{"a": 3}')
    events, stats = read(path)
    assert events == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert stats.skipped == 0


def test_jsonl_malformed_line_is_counted_and_reading_goes_on(tmp_path: Path, chunk_size: int) -> None:
    lines = [json.dumps(e) for e in EVENTS[:5]]
    lines[2] = '{"process": {"name": "bash"} "pid": 3}'
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    events, stats = read(path)
    assert events == EVENTS[:2] + EVENTS[3:5]
    assert stats.skipped == 1
    err = stats.errors[0]
    assert (err.source, err.position) == (str(path), "3")
    assert str(err) == f"{path}:3: invalid JSON: Expecting ',' delimiter (column 30)"


def test_jsonl_non_objects_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1}\n42\n[{"a": 2}]\n"text"\nnull\n{"a": 3}\n')
    events, stats = read(path)
    assert events == [{"a": 1}, {"a": 3}]
    assert stats.skipped == 4
    assert [str(e) for e in stats.errors] == [
        f"{path}:2: not an object (number)",
        f"{path}:3: not an object (array)",
        f"{path}:4: not an object (string)",
        f"{path}:5: not an object (null)",
    ]


def test_jsonl_accepts_what_the_standard_library_accepts(tmp_path: Path) -> None:
    # orjson rejects NaN and Infinity; whether a line is read must not
    # depend on whether it is installed.
    path = tmp_path / "events.jsonl"
    path.write_text('{"x": NaN}\n{"y": -Infinity}\n{"z": 1}\n')
    events, stats = read(path)
    assert [sorted(e) for e in events] == [["x"], ["y"], ["z"]]
    assert stats.skipped == 0


def test_jsonl_invalid_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n{"a": 3}\n')
    events, stats = read(path)
    assert events == [{"a": 1}, {"a": 3}]
    assert stats.errors[0].position == "2"


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl_text(EVENTS[:2]).encode())
    assert read(path)[0] == EVENTS[:2]


def test_explicit_jsonl_format_does_not_guess(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text(json.dumps(EVENTS[0], indent=2))
    events, stats = read(path, "jsonl")
    assert events == [] and stats.skipped > 0


def test_damaged_first_line_of_jsonl_costs_only_that_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"process": {"name": "ba\n' + jsonl_text(EVENTS[:3]))
    events, stats = read(path)
    assert events == EVENTS[:3]
    assert [e.position for e in stats.errors] == ["1"]


# --- JSON documents ----------------------------------------------------------


def test_json_array(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(EVENTS, indent=2))
    events, stats = read(path)
    assert events == EVENTS and stats.skipped == 0


def test_json_single_pretty_printed_object(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(EVENTS[0], indent=2) + "\n")
    events, stats = read(path)
    assert events == EVENTS[:1] and stats.skipped == 0


def test_json_concatenated_pretty_printed_objects(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text("\n".join(json.dumps(e, indent=2) for e in EVENTS[:4]))
    events, stats = read(path)
    assert events == EVENTS[:4] and stats.skipped == 0


def test_json_non_object_elements(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[{"a": 1}, 2, {"a": 3}]')
    events, stats = read(path, "json")
    assert events == [{"a": 1}, {"a": 3}]
    assert [str(e) for e in stats.errors] == [f"{path}:element 2: not an object (number)"]


def test_json_top_level_scalar(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text("7")
    events, stats = read(path, "json")
    assert events == [] and stats.skipped == 1


def test_json_malformed_element_is_recovered(tmp_path: Path, chunk_size: int) -> None:
    text = json.dumps(EVENTS[:5], indent=2)
    text = text.replace('"pid": 102,', '"pid": 102,,', 1)
    path = tmp_path / "events.json"
    path.write_text(text)
    events, stats = read(path)
    assert events == EVENTS[:2] + EVENTS[3:5]
    assert stats.skipped == 1
    line_no = text.splitlines().index('      "pid": 102,,') + 1
    assert stats.errors[0].position == f"{line_no}:18"
    assert stats.errors[0].message == "invalid JSON: Expecting property name enclosed in double quotes"


def test_json_bare_word_and_missing_comma(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[{"a": 1}, {"a": oops}, {"a": 3} {"a": 4}]')
    events, stats = read(path)
    assert events == [{"a": 1}, {"a": 3}, {"a": 4}]
    assert [e.position for e in stats.errors] == ["1:18"]


def test_json_lost_quote_does_not_swallow_the_rest(tmp_path: Path) -> None:
    text = json.dumps(EVENTS)  # one line: no newline to end a runaway string
    text = text.replace('"name": "bash", "pid": 105', '"name": "bash, "pid": 105', 1)
    path = tmp_path / "events.json"
    path.write_text(text)
    events, stats = read(path)
    assert events == EVENTS[:5] + EVENTS[6:]
    assert stats.skipped == 1


def test_json_nested_objects_of_a_damaged_element_are_not_events(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[{"a": 1}, {"a": @, "p": {"name": "x"}}, {"a": 3}]')
    events, stats = read(path)
    assert events == [{"a": 1}, {"a": 3}] and stats.skipped == 1


def test_json_truncated_document(tmp_path: Path) -> None:
    text = json.dumps(EVENTS[:3])
    path = tmp_path / "events.json"
    path.write_text(text[:-20])
    events, stats = read(path)
    assert events == EVENTS[:2] and stats.skipped == 1


# --- msgpack -----------------------------------------------------------------


def test_msgpack_round_trip(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    path = tmp_path / "events.msgpack"
    assert write_msgpack(EVENTS, path) == len(EVENTS)
    events, stats = read(path)
    assert events == EVENTS
    assert (stats.events, stats.skipped, stats.bytes) == (20, 0, path.stat().st_size)


def test_msgpack_unlike_events_are_all_read(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    # Nothing in common between neighbours, empty maps, non-text keys: only
    # resynchronising after damage is picky about such frames.
    odd = [{"a": 1}, {}, {1: "one", 2.5: None}, {"b": {"c": {}}}, {"d": b"\x00\xff"}]
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed(odd))
    events, stats = read(path)
    assert events == odd and stats.skipped == 0


def test_msgpack_detected_by_content(tmp_path: Path, decoder: str) -> None:
    path = tmp_path / "dump.bin"
    write_msgpack(EVENTS, path)
    assert read(path)[0] == EVENTS
    assert read(path, "msgpack")[0] == EVENTS


def test_msgpack_corrupt_frame_in_the_middle(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    offset = len(packed(EVENTS[:10]))
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed(EVENTS[:10]) + b"\xc1\xc1garbage" + packed(EVENTS[10:]))
    events, stats = read(path)
    assert events == EVENTS
    assert stats.skipped == 1
    assert str(stats.errors[0]) == f"{path}:byte {offset}: malformed msgpack frame (invalid type byte)"


def test_msgpack_damaged_map_header_loses_one_event_only(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    data = bytearray(packed(EVENTS))
    offset = len(packed(EVENTS[:7]))
    data[offset] = 0x05  # the map header becomes the integer 5
    path = tmp_path / "dump.msgpack"
    path.write_bytes(bytes(data))
    events, stats = read(path)
    # In particular the damaged event's nested "process" map is not an event.
    assert events == EVENTS[:7] + EVENTS[8:]
    assert [str(e) for e in stats.errors] == [f"{path}:byte {offset}: not an object (number)"]


def test_msgpack_absurd_length_is_bounded(tmp_path: Path, decoder: str) -> None:
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed(EVENTS[:3]) + b"\xdf\xff\xff\xff\xff" + packed(EVENTS[3:]))
    events, stats = read(path)
    assert events == EVENTS
    assert "exceeds max_map_len" in stats.errors[0].message


def test_msgpack_length_past_the_end_swallows_nothing(tmp_path: Path, decoder: str) -> None:
    # A string header claiming 1 MiB: the good frames after it are found.
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed(EVENTS[:3]) + b"\xdb\x00\x10\x00\x00" + packed(EVENTS[3:]))
    events, stats = read(path)
    assert events == EVENTS
    assert stats.errors[0].position == f"byte {len(packed(EVENTS[:3]))}"


def test_msgpack_truncated_last_frame(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    data = packed(EVENTS)
    path = tmp_path / "dump.msgpack"
    path.write_bytes(data[:-4])
    events, stats = read(path)
    assert events == EVENTS[:-1]
    assert str(stats.errors[0]) == f"{path}:byte {len(packed(EVENTS[:-1]))}: truncated msgpack frame"


def test_msgpack_non_map_records(tmp_path: Path, decoder: str) -> None:
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed(EVENTS[:2]) + msgpack.packb([1, 2]) + packed(EVENTS[2:4]))
    events, stats = read(path)
    assert events == EVENTS[:4]
    assert [str(e) for e in stats.errors] == [f"{path}:byte {len(packed(EVENTS[:2]))}: not an object (array)"]


def test_msgpack_timestamps_become_nanoseconds(tmp_path: Path, decoder: str) -> None:
    path = tmp_path / "dump.msgpack"
    path.write_bytes(msgpack.packb({"@timestamp": msgpack.Timestamp(1_700_000_000, 5)}))
    assert read(path)[0] == [{"@timestamp": 1_700_000_000_000_000_005}]


def test_msgpack_many_events_cross_checkpoints(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    many = [{"n": i, "s": "x" * (i % 50)} for i in range(3000)]
    offset = len(packed(many[:2000]))
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed(many[:2000]) + b"\xc1" + packed(many[2000:]))
    events, stats = read(path)
    assert events == many
    assert stats.errors[0].position == f"byte {offset}"


def test_msgpack_cut_anywhere_costs_only_the_cut_frame(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    # Flat events hold no byte that starts a map, so nothing after a cut can
    # pass for an event. More events than a batch, and chunks that end inside
    # frames, so that the fast path's idea of the last frame boundary is
    # tested at every offset.
    many = [{"n": i, "s": "x" * (i % 7)} for i in range(BATCH_SIZE + 9)]
    frames = [msgpack.packb(e) for e in many]
    ends = list(accumulate(map(len, frames), initial=0))
    data = b"".join(frames)
    path = tmp_path / "dump.msgpack"
    for cut in range(len(data) + 1):
        path.write_bytes(data[:cut])
        events, stats = read(path)
        whole = bisect_right(ends, cut) - 1
        assert events == many[:whole] and stats.events == whole, cut
        lost = [] if cut == ends[whole] else [f"{path}:byte {ends[whole]}: truncated msgpack frame"]
        assert [str(e) for e in stats.errors] == lost, cut


def test_msgpack_keys_that_are_not_text(tmp_path: Path, decoder: str, chunk_size: int) -> None:
    # ormsgpack refuses them, and msgpack, which decodes such a batch again,
    # has the last word: down to rejecting an array as a key, which
    # ormsgpack would have read as a tuple. (Frames like these odd ones are
    # not trusted for resynchronising, hence ordinary events after the bad one.)
    odd = [{"a": 1}, {1: "one"}, {"b": {2.5: None}}, {b"k": True}]
    array_key = b"\x81\x92\x01\x02\x01"
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed(odd) + array_key + packed(EVENTS))
    events, stats = read(path)
    assert events == odd + EVENTS
    assert [str(e) for e in stats.errors] == [
        f"{path}:byte {len(packed(odd))}: malformed msgpack frame (unhashable type: 'list')"]


def test_msgpack_extension_types(tmp_path: Path, decoder: str) -> None:
    path = tmp_path / "dump.msgpack"
    path.write_bytes(packed([{"x": msgpack.ExtType(5, b"ab"), "t": msgpack.Timestamp(1, 2)}] * 3))
    assert read(path)[0] == [{"x": msgpack.ExtType(5, b"ab"), "t": 1_000_000_002}] * 3


# --- batches -----------------------------------------------------------------

MANY = [{"n": i, "process": {"args": ["-c", str(i)]}} for i in range(100)]


@pytest.mark.parametrize("name", ["dump.msgpack", "events.jsonl", "events.json"])
def test_read_batches(tmp_path: Path, name: str, decoder: str) -> None:
    path = tmp_path / name
    if name.endswith(".msgpack"):
        path.write_bytes(packed(MANY))
    elif name.endswith(".jsonl"):
        path.write_text(jsonl_text(MANY))
    else:
        path.write_text(json.dumps(MANY))
    stats = ReadStats()
    batches = read_batches(path, stats, size=16)
    first = next(batches)
    assert len(first) == 16 and stats.events == 16  # counted as handed out
    rest = list(batches)
    assert [len(b) for b in rest] == [16] * 5 + [4]
    assert [e for b in [first, *rest] for e in b] == MANY
    assert stats.events == 100


def test_read_batches_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch size"):
        read_batches("-", ReadStats(), size=0)


@pytest.mark.parametrize("kind", ["jsonl", "msgpack"])
def test_piped_events_are_handed_on_without_waiting_for_a_batch(
        monkeypatch: pytest.MonkeyPatch, kind: str, decoder: str) -> None:
    r, w = os.pipe()
    os.write(w, packed(EVENTS[:3]) if kind == "msgpack" else jsonl_text(EVENTS[:3]).encode())
    stdin = FakeStdin(b"")
    stdin.buffer = open(r, "rb")  # type: ignore[assignment]
    monkeypatch.setattr("sys.stdin", stdin)
    got: list[list[dict]] = []
    reader = threading.Thread(target=lambda: got.append(next(read_batches("-", ReadStats()))), daemon=True)
    try:
        reader.start()
        reader.join(10)
        assert got == [EVENTS[:3]]  # while the writer still has the pipe open
    finally:
        os.close(w)
        reader.join(10)
        stdin.buffer.close()


def test_jsonl_line_numbers_past_the_first_batch(tmp_path: Path, chunk_size: int) -> None:
    lines = [json.dumps({"n": i}) for i in range(3 * BATCH_SIZE)]
    lines[BATCH_SIZE + 1] = "{oops"
    lines[2 * BATCH_SIZE + 4] = "[1]"
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    events, stats = read(path)
    assert len(events) == 3 * BATCH_SIZE - 2
    assert [e.position for e in stats.errors] == [str(BATCH_SIZE + 2), str(2 * BATCH_SIZE + 5)]


def test_json_element_numbers_past_the_first_batch(tmp_path: Path) -> None:
    values: list = [{"n": i} for i in range(3 * BATCH_SIZE)]
    values[2 * BATCH_SIZE + 4] = 7
    path = tmp_path / "events.json"
    path.write_text(json.dumps(values))
    events, stats = read(path)
    assert len(events) == 3 * BATCH_SIZE - 1
    assert [str(e) for e in stats.errors] == [f"{path}:element {2 * BATCH_SIZE + 5}: not an object (number)"]


# --- compression, stdin, edge cases ------------------------------------------


@pytest.mark.parametrize("name", ["events.jsonl.gz", "events.json.gz", "dump.msgpack.gz", "noext"])
def test_gzip(tmp_path: Path, name: str, chunk_size: int) -> None:
    path = tmp_path / name
    if "msgpack" in name:
        payload = packed(EVENTS)
    elif name.startswith("events.json."):
        payload = json.dumps(EVENTS).encode()
    else:
        payload = jsonl_text(EVENTS).encode()
    raw = gzip.compress(payload)
    path.write_bytes(raw)
    events, stats = read(path)
    assert events == EVENTS
    assert stats.bytes == len(raw)


def test_gzip_written_by_write_msgpack(tmp_path: Path) -> None:
    path = tmp_path / "dump.msgpack.gz"
    write_msgpack(EVENTS, path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert read(path)[0] == EVENTS


def test_gzip_concatenated_members(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl_text(EVENTS[:5]).encode()) + gzip.compress(jsonl_text(EVENTS[5:]).encode()))
    assert read(path)[0] == EVENTS


def test_gzip_truncated(tmp_path: Path) -> None:
    raw = gzip.compress(jsonl_text(EVENTS).encode())
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(raw[: len(raw) // 2])
    events, stats = read(path)
    assert events == EVENTS[: len(events)] and 0 < len(events) < len(EVENTS)
    assert any(e.message == "truncated gzip stream" for e in stats.errors)


@pytest.mark.parametrize("kind", ["jsonl", "msgpack", "json-gz"])
def test_stdin(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    data = {
        "jsonl": jsonl_text(EVENTS).encode(),
        "msgpack": packed(EVENTS),
        "json-gz": gzip.compress(json.dumps(EVENTS).encode()),
    }[kind]
    monkeypatch.setattr("sys.stdin", FakeStdin(data))
    events, stats = read("-")
    assert events == EVENTS
    assert stats.bytes == len(data)


def test_stdin_errors_name_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin(b'{"a": 1}\n{bad\n'))
    _, stats = read("-")
    assert str(stats.errors[0]).startswith("<stdin>:2: invalid JSON")


def test_missing_file_raises_at_once(tmp_path: Path) -> None:
    missing = tmp_path / "x"
    with pytest.raises(EventReadError) as info:
        read_events(missing, ReadStats())  # before any iteration
    assert str(info.value) == f"cannot read {str(missing)!r}: No such file or directory"


def test_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(EventReadError, match="cannot read"):
        read_events(tmp_path, ReadStats())


@pytest.mark.parametrize("fmt", ["auto", "jsonl", "json", "msgpack"])
@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_file(tmp_path: Path, fmt: str, content: bytes) -> None:
    path = tmp_path / "empty"
    path.write_bytes(content)
    events, stats = read(path, fmt)
    assert events == []
    if fmt != "msgpack":  # whitespace is data to msgpack: small integers
        assert stats.skipped == 0


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown event format"):
        read_events("-", ReadStats(), "xml")


def test_error_list_is_bounded_but_skipped_counts_all(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("{bad\n" * (MAX_KEPT_ERRORS + 50) + '{"a": 1}\n')
    events, stats = read(path)
    assert events == [{"a": 1}]
    assert stats.skipped == MAX_KEPT_ERRORS + 50
    assert len(stats.errors) == MAX_KEPT_ERRORS


def test_read_error_str() -> None:
    err = ReadError("dump.msgpack", "byte 4031", "malformed msgpack frame (invalid type byte)")
    assert str(err) == "dump.msgpack:byte 4031: malformed msgpack frame (invalid type byte)"


def test_input_size(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("{}\n")
    assert input_size(path) == 3
    assert input_size("-") is None
    assert input_size(tmp_path / "missing") is None
    assert input_size(tmp_path) is None


# --- writers -----------------------------------------------------------------


def test_write_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert write_jsonl(EVENTS, path) == len(EVENTS)
    assert read(path)[0] == EVENTS


def test_write_jsonl_to_open_files() -> None:
    text, binary = io.StringIO(), io.BytesIO()
    events = [{"raw": b"\x01\x02", "tags": {"a"}, "name": "caf\u00e9"}]
    assert write_jsonl(events, text) == 1
    assert write_jsonl(events, binary) == 1
    expected = {"raw": "0102", "tags": ["a"], "name": "caf\u00e9"}
    assert json.loads(text.getvalue()) == expected
    assert json.loads(binary.getvalue()) == expected


def test_write_msgpack_to_open_file_and_text_rejected() -> None:
    out = io.BytesIO()
    assert write_msgpack(EVENTS[:3], out) == 3
    assert list(msgpack.Unpacker(io.BytesIO(out.getvalue()), raw=False)) == EVENTS[:3]
    with pytest.raises(TypeError):
        write_msgpack(EVENTS, io.StringIO())


# --- the file source plugin --------------------------------------------------


def test_file_source_accepts() -> None:
    source = FileSource()
    assert source.name == "file"
    assert source.accepts("-")
    assert source.accepts("/var/log/events.jsonl")
    assert source.accepts("relative/dump.msgpack")
    assert not source.accepts("ebpf:")
    assert source.accepts("ebpf")  # a plain name is a file; live sources use a scheme (ebpf:)
    assert not source.accepts("kafka://broker/topic")


def test_file_source_open_honours_format(tmp_path: Path) -> None:
    path = tmp_path / "events.data"
    path.write_text(json.dumps(EVENTS[:2]))
    stats = ReadStats()
    assert list(FileSource("json").open(str(path), stats)) == EVENTS[:2]
    with pytest.raises(ValueError):
        FileSource("xml")


def test_file_source_hook() -> None:
    pm = pluggy.PluginManager("kestrel")
    pm.add_hookspecs(kestrel.hookspecs)
    pm.register(sources)

    class Cfg:
        extra = {"input_format": "msgpack"}

    (found,) = [s for group in pm.hook.kestrel_event_sources(config=Cfg()) for s in group]
    assert isinstance(found, FileSource) and found.fmt == "msgpack"


# --- progress ----------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(total_bytes=100, stream=stream)
    progress.update(10, 1, 50)
    progress.close()
    assert stream.getvalue() == ""


def test_progress_draws_throttled_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("kestrel.io.progress.time.monotonic", lambda: clock[0])
    stream = FakeTerminal()
    progress = Progress(total_bytes=1000, stream=stream)
    progress.update(5, 0, 10)
    assert stream.getvalue() == ""  # too soon after start
    clock[0] += 0.5
    progress.update(5000, 2, 250)
    drawn = stream.getvalue()
    assert drawn.startswith("\r5,000 events  2 alerts  10,000 events/s  25.0%")
    clock[0] += 0.1
    progress.update(6000, 2, 300)
    assert stream.getvalue() == drawn  # throttled
    progress.close()
    assert stream.getvalue().endswith("\r")
    assert stream.getvalue()[len(drawn):].strip() == ""
    progress.update(9000, 3, 400)  # after close: nothing
    assert "9,000" not in stream.getvalue()
