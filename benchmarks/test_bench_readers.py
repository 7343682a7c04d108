"""How fast recorded events are read, next to the decoders' own floor.

Not part of ``make test`` (which collects tests/ only). Run with

    .venv/bin/pytest benchmarks/test_bench_readers.py

Each benchmark reads the same 50,000 generated ECS events (process, file and
network events of about 25 fields: nested ``process.parent``, lists such as
``process.args``, integer-nanosecond ``@timestamp``) and reports
``events_per_s`` in its extra info. Time is the process's CPU time, so that
what else runs on the machine does not count; page-cache reads are included.

The ``floor-*`` benchmarks are the decoders alone with nothing around them
(no file handling, damage detection or counting): what the readers are
measured against. The msgpack reader runs with msgpack alone and, where
ormsgpack is installed, with ormsgpack decoding the frames.
"""

from __future__ import annotations

import gzip
import random
import time
from pathlib import Path
from typing import Any, Callable

import msgpack
import pytest

import kestrel.io.msgpack_stream as msgpack_stream
from kestrel.io.readers import ReadStats, read_batches, read_events, write_jsonl, write_msgpack

N_EVENTS = 50_000
ROUNDS = 5

_NAMES = ["bash", "sh", "python3", "curl", "wget", "sshd", "cron", "systemd", "nginx", "node",
          "java", "ls", "cat", "grep", "awk", "tar", "chmod", "nc", "socat", "perl"]
_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin", "/tmp", "/opt/app/bin"]
_USERS = [("0", "root"), ("33", "www-data"), ("1000", "alice"), ("1001", "bob"), ("999", "postgres")]
_FILES = ["/etc/passwd", "/etc/shadow", "/var/log/auth.log", "/tmp/x.sh", "/home/alice/.bashrc",
          "/etc/crontab", "/var/www/html/index.php"]


def make_events(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Realistic, varied ECS events: no two share their ids or arguments."""
    rnd = random.Random(seed)
    ts = 1_773_478_800_000_000_000
    events = []
    for _ in range(n):
        ts += rnd.randint(1_000, 5_000_000)
        name = rnd.choice(_NAMES)
        exe = f"{rnd.choice(_DIRS)}/{name}"
        args = [exe] + [rnd.choice(["-c", "-f", "-v", "--quiet", "-o", f"/tmp/f{rnd.randint(0, 999)}",
                                    f"http://10.0.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}/p"])
                        for _ in range(rnd.randint(0, 4))]
        parent = rnd.choice(_NAMES)
        parent_exe = f"{rnd.choice(_DIRS)}/{parent}"
        uid, user = rnd.choice(_USERS)
        category = rnd.choice(["process", "process", "file", "network"])
        event: dict[str, Any] = {
            "@timestamp": ts,
            "host": {"name": "web-01", "id": "3f1c9a7e5b2d4c8e9a0b1c2d3e4f5a6b"},
            "event": {"category": category, "type": ["start"] if category == "process" else ["access"],
                      "action": rnd.choice(["exec", "fork", "open", "connect"]), "kind": "event"},
            "process": {
                "pid": rnd.randint(300, 60_000), "entity_id": "%024x" % rnd.getrandbits(96),
                "name": name, "executable": exe, "args": args, "args_count": len(args),
                "command_line": " ".join(args),
                "parent": {"pid": rnd.randint(1, 60_000), "entity_id": "%024x" % rnd.getrandbits(96),
                           "name": parent, "executable": parent_exe, "args": [parent_exe],
                           "command_line": parent_exe},
            },
            "user": {"id": uid, "name": user},
        }
        if category == "file":
            path = rnd.choice(_FILES)
            directory, _, base = path.rpartition("/")
            event["file"] = {"path": path, "name": base, "directory": directory}
        elif category == "network":
            event["destination"] = {"ip": f"10.1.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}",
                                    "port": rnd.choice([22, 80, 443, 4444, 8080])}
            event["source"] = {"ip": "10.0.0.15", "port": rnd.randint(30_000, 60_000)}
            event["network"] = {"transport": "tcp", "direction": "egress"}
        events.append(event)
    return events


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bench-readers")
    events = make_events(N_EVENTS)
    out = {"msgpack": folder / "events.msgpack", "jsonl": folder / "events.jsonl",
           "msgpack.gz": folder / "events.msgpack.gz"}
    write_msgpack(events, out["msgpack"])
    write_jsonl(events, out["jsonl"])
    out["msgpack.gz"].write_bytes(gzip.compress(out["msgpack"].read_bytes(), 6))
    return out


@pytest.fixture(params=["msgpack", "ormsgpack"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "msgpack":
        monkeypatch.setattr(msgpack_stream, "ormsgpack", None)
    else:
        monkeypatch.setattr(msgpack_stream, "ormsgpack", pytest.importorskip("ormsgpack"))
    return request.param


def measure(benchmark: Any, run: Callable[[], int]) -> None:
    count = benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert count == N_EVENTS
    benchmark.extra_info["events"] = count
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["events_per_s"] = round(count / benchmark.stats.stats.min)


def reading(path: Path) -> Callable[[], int]:
    def run() -> int:
        stats = ReadStats()
        for _ in read_events(path, stats):
            pass
        assert stats.skipped == 0
        return stats.events
    return run


def reading_batches(path: Path) -> Callable[[], int]:
    def run() -> int:
        stats = ReadStats()
        for batch in read_batches(path, stats):
            for _ in batch:
                pass
        return stats.events
    return run


BENCH = pytest.mark.benchmark(timer=time.process_time, disable_gc=False)


@BENCH
@pytest.mark.benchmark(group="msgpack")
def test_read_events_msgpack(benchmark: Any, files: dict[str, Path], decoder: str) -> None:
    measure(benchmark, reading(files["msgpack"]))


@BENCH
@pytest.mark.benchmark(group="msgpack")
def test_read_batches_msgpack(benchmark: Any, files: dict[str, Path], decoder: str) -> None:
    measure(benchmark, reading_batches(files["msgpack"]))


@BENCH
@pytest.mark.benchmark(group="msgpack")
def test_read_events_msgpack_gz(benchmark: Any, files: dict[str, Path], decoder: str) -> None:
    measure(benchmark, reading(files["msgpack.gz"]))


@BENCH
@pytest.mark.benchmark(group="msgpack")
def test_floor_msgpack_unpacker(benchmark: Any, files: dict[str, Path]) -> None:
    def run() -> int:
        count = 0
        with open(files["msgpack"], "rb") as fh:
            for _ in msgpack.Unpacker(fh, raw=False, strict_map_key=False, timestamp=2,
                                      read_size=1 << 20, max_buffer_size=0):
                count += 1
        return count
    measure(benchmark, run)


@BENCH
@pytest.mark.benchmark(group="msgpack")
def test_floor_ormsgpack_frames(benchmark: Any, files: dict[str, Path]) -> None:
    """ormsgpack on frames already cut out: its decoding alone."""
    ormsgpack = pytest.importorskip("ormsgpack")
    data = files["msgpack"].read_bytes()
    unpacker = msgpack.Unpacker(max_buffer_size=0)
    unpacker.feed(data)
    ends = [0]
    for _ in range(N_EVENTS):
        unpacker.skip()
        ends.append(unpacker.tell())
    frames = [data[a:b] for a, b in zip(ends, ends[1:])]

    def run() -> int:
        decode = ormsgpack.unpackb
        for frame in frames:
            decode(frame)
        return len(frames)
    measure(benchmark, run)


@BENCH
@pytest.mark.benchmark(group="jsonl")
def test_read_events_jsonl(benchmark: Any, files: dict[str, Path]) -> None:
    measure(benchmark, reading(files["jsonl"]))


@BENCH
@pytest.mark.benchmark(group="jsonl")
def test_read_batches_jsonl(benchmark: Any, files: dict[str, Path]) -> None:
    measure(benchmark, reading_batches(files["jsonl"]))


@BENCH
@pytest.mark.benchmark(group="jsonl")
def test_floor_orjson_lines(benchmark: Any, files: dict[str, Path]) -> None:
    orjson = pytest.importorskip("orjson")

    def run() -> int:
        loads = orjson.loads
        count = 0
        with open(files["jsonl"], "rb") as fh:
            for line in fh.read().split(b"\n"):
                if line:
                    loads(line)
                    count += 1
        return count
    measure(benchmark, run)
