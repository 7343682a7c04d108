"""Alert sinks: stdout and files, and how outputs are chosen."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pluggy
import pytest

import kestrel.hookspecs
from kestrel.alerts import Alert, RuleMeta
from kestrel.builtin import sinks
from kestrel.builtin.sinks import FileSink, StdoutSink, kestrel_alert_sinks

EVENT = {"@timestamp": "2024-01-02T03:04:05.123Z", "process": {"name": "bash", "pid": 42}}
TS = 1_704_164_645_123_000_000


def make_alert(n: int = 0) -> Alert:
    return Alert(RuleMeta(f"rule-{n}", "Shell spawned", severity="high", tags=("execution",)), [EVENT], TS)


def check_line(line: str, n: int = 0) -> None:
    doc = json.loads(line)
    assert doc["rule"] == {"id": f"rule-{n}", "name": "Shell spawned", "severity": "high", "tags": ["execution"]}
    assert doc["events"] == [EVENT]
    assert doc["@timestamp"] == "2024-01-02T03:04:05.123Z"


class Recorder(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.flushes = 0

    def isatty(self) -> bool:
        return self.tty

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


class ClosedPipe(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_stdout_sink_writes_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    sink = StdoutSink()
    assert sink.name == "stdout"
    sink.emit(make_alert(0))
    sink.emit(make_alert(1))
    sink.close()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    check_line(lines[0], 0)
    check_line(lines[1], 1)


@pytest.mark.parametrize("tty", [True, False])
def test_stdout_sink_flushes_each_alert_only_on_a_terminal(tty: bool) -> None:
    stream = Recorder(tty)
    sink = StdoutSink(stream)
    sink.emit(make_alert())
    sink.emit(make_alert())
    assert stream.flushes == (2 if tty else 0)
    sink.close()
    assert stream.getvalue().count("\n") == 2


def test_stdout_sink_broken_pipe_is_quiet() -> None:
    sink = StdoutSink(ClosedPipe())
    sink.emit(make_alert())  # no exception
    assert sink.broken
    sink.emit(make_alert())
    sink.close()


def test_file_sink_creates_dirs_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "alerts.jsonl"
    first = FileSink(path)
    assert first.name == "file"
    first.emit(make_alert(0))
    # Line buffered: the line is on disk before close.
    assert path.read_text(encoding="utf-8").count("\n") == 1
    first.close()
    second = FileSink(str(path))
    second.emit(make_alert(1))
    second.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    check_line(lines[0], 0)
    check_line(lines[1], 1)


def test_file_sink_keeps_non_ascii(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = FileSink(path)
    alert = Alert(RuleMeta("r", "n"), [{"file": {"name": "r\u00e9sum\u00e9.pdf"}}], TS)
    sink.emit(alert)
    sink.close()
    assert json.loads(path.read_text(encoding="utf-8"))["events"][0]["file"]["name"] == "r\u00e9sum\u00e9.pdf"


def test_default_output_is_stdout() -> None:
    (sink,) = kestrel_alert_sinks(config=None, options={})
    assert isinstance(sink, StdoutSink)


def test_outputs_choose_sinks(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    chosen = kestrel_alert_sinks(config=None, options={"outputs": ["-", str(path), "-", "syslog://host"]})
    assert [type(s) for s in chosen] == [StdoutSink, FileSink]
    assert chosen[1].path == str(path)
    for sink in chosen:
        sink.close()
    assert kestrel_alert_sinks(config=None, options={"outputs": []}) == []


def test_single_output_spellings(tmp_path: Path) -> None:
    (by_string,) = kestrel_alert_sinks(config=None, options={"outputs": str(tmp_path / "x.jsonl")})
    (singular,) = kestrel_alert_sinks(config=None, options={"output": "-"})
    assert isinstance(by_string, FileSink) and isinstance(singular, StdoutSink)
    by_string.close()


def test_sinks_hook_through_pluggy(tmp_path: Path) -> None:
    pm = pluggy.PluginManager("kestrel")
    pm.add_hookspecs(kestrel.hookspecs)
    pm.register(sinks)
    groups = pm.hook.kestrel_alert_sinks(config=None, options={"outputs": [str(tmp_path / "out.jsonl")]})
    (sink,) = [s for group in groups for s in group]
    sink.emit(make_alert())
    sink.close()
    check_line((tmp_path / "out.jsonl").read_text(encoding="utf-8").strip())
