"""The ``kestrel`` command line.

Exit codes (also in docs/cli.md):
  0  the job ran (alerts or not; all checks and tests passed)
  1  the job ran but something was wrong: a rule failed to load, a rule
     check or an embedded test failed
  2  the job could not run: bad usage, unreadable input, no usable rules
130  interrupted
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import tomllib
from importlib import resources
from typing import Any, Sequence

from . import __version__
from .config import DIALECTS, TIME_UNITS, Config
from .engine import Engine
from .eql.errors import EqlError
from .gcpolicy import COLLECT_EVERY, periodic_collect, streaming_gc

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A user mistake: reported as one line, never as a traceback."""


def data_path(name: str) -> str:
    return str(resources.files("kestrel") / "data" / name)


def default_rules() -> str:
    return data_path("rules")


def sample_events() -> str:
    return data_path("sample_events.jsonl")


# -- configuration -----------------------------------------------------------
_CONFIG_KEYS = {"dialect", "type_field", "time_field", "time_unit", "case_sensitive", "max_partials", "rules", "outputs", "entity_field", "parent_entity_field", "dry_run", "allow"}


def read_config_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"cannot read config {path!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    data = data.get("kestrel", data)
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        raise UsageError(f"{path}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (known: {', '.join(sorted(_CONFIG_KEYS))})")
    return data


def build_config(args: argparse.Namespace) -> tuple[Config, dict[str, Any]]:
    file_cfg: dict[str, Any] = read_config_file(args.config) if getattr(args, "config", None) else {}

    def pick(name: str) -> Any:
        v = getattr(args, name, None)
        return v if v is not None else file_cfg.get(name)

    cs = pick("case_sensitive")
    try:
        config = Config(
            dialect=pick("dialect") or "elasticsearch",
            type_field=pick("type_field"),
            time_field=pick("time_field"),
            time_unit=pick("time_unit"),
            entity_field=file_cfg.get("entity_field"),
            parent_entity_field=file_cfg.get("parent_entity_field"),
            case_sensitive=cs,
            max_partials=int(pick("max_partials")) if pick("max_partials") is not None else 10_000,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    return config, file_cfg


def add_schema_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("schema and dialect")
    g.add_argument("--config", metavar="FILE", help="TOML settings file (dialect, type_field, time_field, time_unit, rules, outputs)")
    g.add_argument("--dialect", choices=DIALECTS, help="EQL dialect (default: elasticsearch)")
    g.add_argument("--type-field", dest="type_field", metavar="FIELD", help="field holding the event type (default: event.category; endgame: event_type)")
    g.add_argument("--time-field", dest="time_field", metavar="FIELD", help="timestamp field (default: @timestamp; endgame: timestamp)")
    g.add_argument("--time-unit", dest="time_unit", choices=TIME_UNITS, help="unit of numeric timestamps (default: auto = ISO 8601 or ns; endgame: filetime)")
    cs = g.add_mutually_exclusive_group()
    cs.add_argument("--case-sensitive", dest="case_sensitive", action="store_const", const=True, default=None, help="compare strings case-sensitively everywhere")
    cs.add_argument("--case-insensitive", dest="case_sensitive", action="store_const", const=False, help="compare strings case-insensitively everywhere")
    g.add_argument("--max-partials", dest="max_partials", type=int, metavar="N", help="bound on live partial matches per sequence rule (default: 10000)")
    g.add_argument("--format", choices=("auto", "jsonl", "json", "msgpack"), default="auto", help="input format (default: auto-detect)")


# -- shared plumbing -----------------------------------------------------------
def print_load_errors(errors: Sequence[Any]) -> None:
    for err in errors:
        print(str(err), file=sys.stderr)


def make_sinks(config: Config, outputs: list[str], live: bool = False) -> list[Any]:
    """Alert sinks for ``outputs``; a target that no sink plugin takes is a
    usage error rather than a silently dropped alert stream. ``live``: each
    alert is delivered at once rather than buffered."""
    from .plugins import get_plugin_manager

    sinks = get_plugin_manager().alert_sinks(config, {"outputs": outputs, "live": live})
    taken = {getattr(s, "target", None) for s in sinks}
    missing = [t for t in outputs if t not in taken]
    if missing:
        for s in sinks:
            s.close()
        raise UsageError(f"no alert sink takes the output {missing[0]!r}")
    return sinks


def open_batches(config: Config, specs: list[str], fmt: str, stats: Any):  # type: ignore[no-untyped-def]
    """Events from every input, in lists: a source that reads in batches
    (files, a ring-buffer poll) hands them over whole, which saves the
    stream loop a generator step per event; others come one by one."""
    from .builtin.sources import FileSource
    from .plugins import get_plugin_manager

    sources = get_plugin_manager().event_sources(config)
    for spec in specs:
        if fmt != "auto" and (spec == "-" or "://" not in spec):
            source: Any = FileSource(fmt=fmt)
        else:
            source = next((s for s in sources if s.accepts(spec)), None)
        if source is None:
            raise UsageError(f"no event source reads {spec!r}")
        batched = getattr(source, "open_batches", None)
        if batched is not None:
            yield from batched(spec, stats)
        else:
            for event in source.open(spec, stats):
                yield [event]


def open_events(config: Config, specs: list[str], fmt: str, stats: Any):  # type: ignore[no-untyped-def]
    for batch in open_batches(config, specs, fmt, stats):
        yield from batch


def run_stream(engine: Engine, config: Config, inputs: list[str], fmt: str, sinks: list[Any], quiet: bool,
               responder: Any = None) -> tuple[Any, int, float]:
    from .io.progress import Progress
    from .io.readers import ReadStats

    engine.prepare()
    if inputs and all(i != "-" and "://" not in i and not (i == "ebpf" or i.startswith("ebpf:")) for i in inputs):
        # Files: no one waits on a batch's alerts, so batches only flush full
        # or at the end (stdin and live sources keep the latency bound).
        engine.batch_latency = float("inf")
    stats = ReadStats()
    # Alerts on the same terminal would be torn by the progress line.
    to_tty_stdout = sys.stdout.isatty() and any(getattr(s, "target", None) == "-" for s in sinks)
    total = None
    if len(inputs) == 1:
        from .io.readers import input_size

        total = input_size(inputs[0])
    progress = Progress(total_bytes=total, enabled=not (quiet or to_tty_stdout))
    process = engine.process
    n = 0
    delivered = [0]
    handle = responder.handle if responder is not None else None

    def deliver(out: list, act: bool = True) -> None:
        """To the sinks, after the responder acted on each (``act``: the
        kernel's own block reports are already the result of an action)."""
        for a in out:
            if act and handle is not None:
                handle(a)
            for s in sinks:
                s.emit(a)
        delivered[0] += len(out)

    t0 = time.perf_counter()
    try:
        with streaming_gc():
            next_tick = 0x1000
            next_collect = COLLECT_EVERY
            pending = engine.pending_stages
            for batch in open_batches(config, inputs, fmt, stats):
                for event in batch:
                    out = process(event)
                    if out:
                        deliver(out)
                if responder is not None:
                    # What the kernel blocked (or audited) since the last batch.
                    deliver(responder.poll(), act=False)
                if pending:
                    # Batches of Wasm/Lua rules waiting on their latency bound:
                    # a live source hands over (possibly empty) lists between
                    # polls, so a quiet host still gets its alerts on time.
                    deliver(engine.poll())
                n += len(batch)
                if n >= next_tick:
                    next_tick = n + 0x1000
                    progress.update(n, delivered[0], stats.bytes)
                    if n >= next_collect:
                        next_collect = n + COLLECT_EVERY
                        periodic_collect()
        deliver(engine.flush())
        if responder is not None:
            deliver(responder.poll(), act=False)
    finally:
        progress.close()
        for s in sinks:
            s.close()
    return stats, delivered[0], time.perf_counter() - t0


def print_summary(stats: Any, alerts: int, seconds: float, engine: Engine) -> None:
    rate = stats.events / seconds if seconds > 0 else 0.0
    evictions = sum(r.evictions for r in engine.rules) + engine.lineage.evictions
    parts = [
        f"events {stats.events}",
        f"alerts {alerts}",
        f"skipped {stats.skipped}",
        f"time {seconds:.3f}s",
        f"{rate:,.0f} events/s",
    ]
    if evictions:
        parts.append(f"evicted partial matches {evictions}")
    if engine.stats.rule_errors:
        parts.append(f"rule errors {engine.stats.rule_errors}")
    print("kestrel: " + ", ".join(parts), file=sys.stderr)
    for plugin in engine.plugin_health:
        line = plugin.health()
        if line:
            print(f"kestrel: {line}", file=sys.stderr)
    for err in stats.errors[:20]:
        print(f"kestrel: skipped {err}", file=sys.stderr)
    if stats.skipped > 20:
        print(f"kestrel: ... and {stats.skipped - 20} more skipped records", file=sys.stderr)


# -- commands ----------------------------------------------------------------------
def cmd_replay(args: argparse.Namespace) -> int:

    config, file_cfg = build_config(args)
    rules = args.rules or file_cfg.get("rules") or [default_rules()]
    inputs = args.files or [sample_events()]
    if not args.files:
        print(f"kestrel: no input named; replaying the bundled sample events ({inputs[0]})", file=sys.stderr)
    engine = Engine(config)
    report = engine.load_rules(*rules)
    print_load_errors(report.errors)
    if not report.rules:
        raise UsageError("no rules loaded" + (" (see the errors above)" if report.errors else f" from {', '.join(rules)}"))
    if not args.quiet:
        print(f"kestrel: {len(report.rules)} rules loaded from {report.files} files", file=sys.stderr)
    outputs = args.output or file_cfg.get("outputs") or ["-"]
    sinks = make_sinks(config, outputs)
    stats, alerts, seconds = run_stream(engine, config, inputs, args.format, sinks, args.quiet)
    if not args.quiet:
        print_summary(stats, alerts, seconds, engine)
    return EXIT_PROBLEMS if report.errors else EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:

    config, _ = build_config(args)
    engine = Engine(config)
    try:
        engine.add_query(args.query, id="query", name="ad-hoc query", origin="<query>")
    except EqlError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    sinks = make_sinks(config, args.output or ["-"])
    stats, alerts, seconds = run_stream(engine, config, args.files, args.format, sinks, args.quiet)
    if not args.quiet:
        print_summary(stats, alerts, seconds, engine)
    return EXIT_OK


def cmd_rules_check(args: argparse.Namespace) -> int:
    config, _ = build_config(args)
    engine = Engine(config)
    report = engine.load_rules(*args.paths)
    print_load_errors(report.errors)
    n_err = len(report.errors)
    status = "OK" if not n_err else f"{n_err} error{'s' if n_err != 1 else ''}"
    print(f"{len(report.rules)} rules loaded from {report.files} files: {status}")
    return EXIT_PROBLEMS if n_err else EXIT_OK


def cmd_rules_build(args: argparse.Namespace) -> int:
    from .hosts.wasm_build import BuildError, build_rule, find_rule_dirs

    dirs, missing = find_rule_dirs(args.paths)
    for m in missing:
        print(f"kestrel: {m}: no such directory", file=sys.stderr)
    if not dirs and not missing:
        print(f"kestrel: no Wasm rule directories (with wasm-rule.toml) under {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_PROBLEMS
    failed = 0
    for d in dirs:
        t0 = time.perf_counter()
        try:
            res = build_rule(d, force=args.force)
        except BuildError as exc:
            failed += 1
            print(f"{d}: build failed: {exc}", file=sys.stderr)
            continue
        if not args.quiet:
            what = f"built ({res.language}) in {time.perf_counter() - t0:.1f}s" if res.built else "up to date"
            print(f"{res.output}: {what}, {res.size:,} bytes")
    return EXIT_PROBLEMS if failed or missing else EXIT_OK


def cmd_rules_test(args: argparse.Namespace) -> int:
    from .rules.testing import collect_specs, run_tests

    config, _ = build_config(args)
    t0 = time.perf_counter()
    specs, errors = collect_specs(args.paths, config)
    print_load_errors(errors)
    results = run_tests(specs, config)
    untested = [s for s in specs if not s.tests]
    for r in results:
        if args.verbose or not r.passed:
            print(f"{r.nodeid} {'PASSED' if r.passed else 'FAILED'}")
        if not r.passed:
            why = r.error or f"expected {r.expected} alert{'s' if r.expected != 1 else ''}, got {r.got}"
            print(f"    {why}")
    if not args.verbose:
        dots = "".join("." if r.passed else "F" for r in results)
        if dots:
            print(dots)
    for s in untested:
        print(f"{s.origin}::{s.id} has no test cases", file=sys.stderr)
    passed = sum(1 for r in results if r.passed)
    failed = len(results) - passed
    bits = [f"{passed} passed", f"{failed} failed"]
    if errors:
        bits.append(f"{len(errors)} rule error{'s' if len(errors) != 1 else ''}")
    print(f"{'=' * 10} {', '.join(bits)} in {time.perf_counter() - t0:.2f}s {'=' * 10}")
    return EXIT_PROBLEMS if failed or errors else EXIT_OK


# -- live commands (the eBPF source) ----------------------------------------------------
def _live_signals(control: Any, stats_every: float | None) -> dict[int, Any]:
    """SIGINT/SIGTERM stop the run cleanly (a second one stops it at once);
    SIGUSR1, and SIGALRM every ``stats_every`` seconds, print the counters."""
    import signal

    from .sources.ebpf import format_counters

    def stop(signum: int, frame: Any) -> None:
        if control.stopping:
            raise KeyboardInterrupt
        control.stop()

    def counters(signum: int, frame: Any) -> None:
        if control.session is not None:
            print("kestrel: " + format_counters(control.session.counters()), file=sys.stderr, flush=True)

    old = {sig: signal.signal(sig, handler) for sig, handler in
           ((signal.SIGINT, stop), (signal.SIGTERM, stop), (signal.SIGUSR1, counters), (signal.SIGALRM, counters))}
    if stats_every:
        signal.setitimer(signal.ITIMER_REAL, stats_every, stats_every)
    return old


def _restore_signals(old: dict[int, Any]) -> None:
    import signal

    signal.setitimer(signal.ITIMER_REAL, 0)
    for sig, handler in old.items():
        signal.signal(sig, handler)


def _probe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if getattr(args, "families", None):
        from .sources.ebpf import parse_spec

        out["families"] = parse_spec("ebpf:" + args.families).get("families", ("process", "file", "network", "kernel"))
    if getattr(args, "all_opens", False):
        out["file_reads"] = True
        out["open_names"] = None
    if getattr(args, "failed", False):
        out["failed"] = True
    if getattr(args, "ring_mb", None):
        out["ring_bytes"] = int(args.ring_mb) << 20
    return out


def _check_live(options: Any) -> None:
    from .sources.ebpf import EbpfUnavailable, check_host

    try:
        check_host(options.families, options.objects)
    except EbpfUnavailable as exc:
        raise UsageError(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Watch this host: the eBPF source into the engine, alerts to the sinks."""
    from dataclasses import asdict

    from .sources.ebpf import Control, format_counters, options_for_rules

    config, file_cfg = build_config(args)
    engine = Engine(config)
    errors: list[Any] = []
    if args.query:
        try:
            engine.add_query(args.query, id="query", name="live query", origin="<query>")
        except EqlError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE
        what = "1 query"
    else:
        rules = args.rules or file_cfg.get("rules") or [default_rules()]
        report = engine.load_rules(*rules)
        errors = report.errors
        print_load_errors(errors)
        if not report.rules:
            raise UsageError("no rules loaded" + (" (see the errors above)" if errors else f" from {', '.join(rules)}"))
        what = f"{len(report.rules)} rules from {report.files} files"
    try:
        options = options_for_rules(engine, **_probe_overrides(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _check_live(options)
    control = Control(duration=args.duration)
    config.extra["ebpf"] = {k: v for k, v in asdict(options).items()}
    config.extra["ebpf_control"] = control
    responder = _start_response(engine, config, args, file_cfg)
    outputs = args.output or file_cfg.get("outputs") or ["-"]
    try:
        sinks = make_sinks(config, outputs, live=True)
    except BaseException:
        responder.close()
        raise
    if not args.quiet:
        extra = ""
        if "file" in options.families and not options.file_reads:
            extra = " (read-only opens stay in the kernel: no rule reads them)"
        elif "file" in options.families and options.open_names is not None:
            shown = ", ".join(options.open_names[:6]) + (", ..." if len(options.open_names) > 6 else "")
            extra = f" (read-only opens only of files named {shown}: all the rules read)"
        print(f"kestrel: {what}; watching this host: {', '.join(options.families)} events{extra}"
              + (f" for {args.duration:g}s" if args.duration else "; Ctrl-C to stop"), file=sys.stderr)
        if responder.enforcing:
            print(f"kestrel: response {'in dry-run (audit only)' if responder.dry_run else 'on'}: "
                  f"{', '.join(responder.enforcing)}; block mode: {responder.block_mode}", file=sys.stderr)
    old = _live_signals(control, args.stats)
    try:
        stats, alerts, seconds = run_stream(engine, config, ["ebpf:"], "auto", sinks, args.quiet, responder=responder)
    finally:
        _restore_signals(old)
        responder.close()  # the deny map goes with it: nothing stays blocked after Kestrel
        if control.session is not None:  # detached already, unless something raised
            control.session.close()
    if not args.quiet:
        print_summary(stats, alerts, seconds, engine)
        if responder.done:
            print("kestrel: responses " + ", ".join(f"{k} {n}" for k, n in sorted(responder.done.items()))
                  + (" (dry-run)" if responder.dry_run else ""), file=sys.stderr)
        if control.session is not None:
            c = control.session.counters()
            print("kestrel: " + format_counters(c), file=sys.stderr)
            for fam, why in c["unavailable"].items():
                print(f"kestrel: {fam} events were not available: {why}", file=sys.stderr)
            print("kestrel: BPF programs detached", file=sys.stderr)
    return EXIT_PROBLEMS if errors else EXIT_OK


def _start_response(engine: Engine, config: Config, args: argparse.Namespace, file_cfg: dict) -> Any:
    """The responder of the live agent: the action plugins, with the safety
    rules and dry-run set, started (block loads its kernel programs only if
    a rule blocks)."""
    from .plugins import get_plugin_manager
    from .respond import Responder, Safety

    dry_run = bool(args.dry_run or file_cfg.get("dry_run"))
    allow = list(args.allow or []) + list(file_cfg.get("allow") or [])
    config.extra["response"] = {"dry_run": dry_run, "allow": allow, "safety": Safety(allow)}
    actions = get_plugin_manager().actions(config)
    responder = Responder(actions, dry_run)
    wanted = sorted({a for r in engine.rules for a in r.meta.actions if a != "alert"})
    responder.enforcing = wanted
    try:
        for a in actions.values():
            start = getattr(a, "start", None)
            if start is not None:
                start(engine)
    except Exception as exc:
        responder.close()
        raise UsageError(f"cannot start enforcement: {exc}") from None
    block = actions.get("block")
    responder.block_mode = getattr(block, "mode", "off")
    return responder


def cmd_record(args: argparse.Namespace) -> int:
    """Save this host's normalized events as a msgpack stream for replay."""
    import msgpack

    from .sources.ebpf import Control, ProbeOptions, Session, format_counters

    try:
        options = ProbeOptions(**{"file_reads": True, **_probe_overrides(args)})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _check_live(options)
    control = Control(duration=args.duration)
    session = Session(options, control)
    out = sys.stdout.buffer if args.file == "-" else open(args.file, "wb")
    if not args.quiet:
        print(f"kestrel: recording {', '.join(options.families)} events to {args.file}"
              + (f" for {args.duration:g}s" if args.duration else "; Ctrl-C to stop"), file=sys.stderr)
    try:  # about twice as fast as msgpack's Packer on these events
        import ormsgpack

        pack = ormsgpack.packb
    except ImportError:  # pragma: no cover - ormsgpack is a dependency, but optional at run time
        pack = msgpack.Packer().pack
    old = _live_signals(control, args.stats)
    n = 0
    try:
        for batch in session.batches():
            out.write(b"".join([pack(e) for e in batch]))
            n += len(batch)
            if args.max_events and n >= args.max_events:
                control.stop()
    finally:
        _restore_signals(old)
        session.close()
        if out is not sys.stdout.buffer:
            out.close()
        else:
            out.flush()
    if not args.quiet:
        print("kestrel: " + format_counters(session.counters()), file=sys.stderr)
        print(f"kestrel: {n} events written to {args.file}; replay them with `kestrel replay {args.file}`", file=sys.stderr)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    """Benchmarks live in kestrel.bench (eql, the peer, is imported there
    lazily and only if installed)."""
    from .bench.runner import run_from_args

    return run_from_args(args)


# -- parser --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kestrel",
        description="Kestrel: runtime security detection with EQL rules compiled to a native fast path.",
        epilog="Exit codes: 0 ok, 1 ran with problems (rule errors, failed checks or tests), 2 could not run, 130 interrupted.",
    )
    p.add_argument("--version", action="version", version=f"kestrel {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("replay", help="run rules over recorded events", description="Run rules over recorded events (JSON lines, JSON arrays or msgpack streams; '-' reads stdin). Alerts go to stdout as JSON lines; a summary goes to stderr.")
    r.add_argument("files", nargs="*", metavar="FILE", help="event files ('-' for stdin; default: the bundled sample events)")
    r.add_argument("-r", "--rules", action="append", metavar="PATH", help="rule file or directory (repeatable; default: the bundled rules)")
    r.add_argument("-o", "--output", action="append", metavar="TARGET", help="alert output: '-' for stdout or a file path (repeatable; default: stdout)")
    r.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    add_schema_options(r)
    r.set_defaults(func=cmd_replay)

    q = sub.add_parser("query", help="hunt: run one EQL query over recorded events", description="Run one ad-hoc EQL query over recorded events; each match is printed as one JSON line in the alert format.")
    q.add_argument("query", help="the EQL query")
    q.add_argument("files", nargs="+", metavar="FILE", help="event files ('-' for stdin)")
    q.add_argument("-o", "--output", action="append", metavar="TARGET", help="'-' for stdout or a file path")
    q.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    add_schema_options(q)
    q.set_defaults(func=cmd_query)

    lv = sub.add_parser("run", help="watch this host live (eBPF) and alert",
                        description="Watch this host through eBPF (process, file, network and kernel events) and run rules on "
                                    "the events as they happen; alerts go to stdout as JSON lines, counters to stderr. Needs root, "
                                    "a kernel with BTF, and the BPF programs built by `make setup`. SIGINT/SIGTERM stop cleanly "
                                    "(programs detached, summary printed); SIGUSR1 prints the counters.")
    src = lv.add_mutually_exclusive_group()
    src.add_argument("-r", "--rules", action="append", metavar="PATH", help="rule file or directory (repeatable; default: the bundled rules)")
    src.add_argument("--query", metavar="EQL", help="a one-off live hunt: print every event (or sequence) matching this EQL query")
    lv.add_argument("-o", "--output", action="append", metavar="TARGET", help="alert output: '-' for stdout or a file path (repeatable; default: stdout)")
    _live_options(lv)
    lv.add_argument("--config", metavar="FILE", help="TOML settings file (rules, outputs, max_partials, dry_run, allow)")
    lv.add_argument("--dry-run", dest="dry_run", action="store_true",
                    help="audit mode: rules' kill/block actions are reported in the alerts, never carried out")
    lv.add_argument("--allow", action="append", metavar="PATH",
                    help="an executable that no action may kill or block (repeatable)")
    lv.add_argument("--max-partials", dest="max_partials", type=int, metavar="N", help="bound on live partial matches per sequence rule (default: 10000)")
    lv.add_argument("--all-opens", dest="all_opens", action="store_true", help="report read-only opens even when no rule reads them")
    lv.set_defaults(func=cmd_run)

    rec = sub.add_parser("record", help="save this host's live events (eBPF) for replay",
                         description="Record this host's normalized events (the events `kestrel run` sees) as a msgpack stream that `kestrel replay` reads.")
    rec.add_argument("file", metavar="FILE", help="output file ('-' for stdout)")
    _live_options(rec)
    rec.add_argument("--max-events", dest="max_events", type=int, metavar="N", help="stop after about N events")
    rec.set_defaults(func=cmd_record)

    rules = sub.add_parser("rules", help="check, test or build rule files", description="Validate rule files, run their embedded test cases, or build Wasm rules.")
    rsub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    c = rsub.add_parser("check", help="validate rules; exit 1 listing every error", description="Parse and compile every rule; list every error with file, line and column.")
    c.add_argument("paths", nargs="+", metavar="PATH", help="rule files or directories")
    add_schema_options(c)
    c.set_defaults(func=cmd_rules_check)
    t = rsub.add_parser("test", help="run the test cases embedded in rules", description="Run each rule's embedded test cases on a fresh engine and report like pytest.")
    t.add_argument("paths", nargs="+", metavar="PATH", help="rule files or directories")
    t.add_argument("-V", "--verbose-cases", dest="verbose", action="store_true", help="one line per test case")
    add_schema_options(t)
    t.set_defaults(func=cmd_rules_test)
    bl = rsub.add_parser("build", help="build Wasm rules from their sources",
                         description="Build SDK-based Wasm rules (directories holding wasm-rule.toml, found under each PATH) into build/rule.wasm "
                                     "with the manifest embedded. Rust, AssemblyScript and C sources; the toolchains come from `make setup`.")
    bl.add_argument("paths", nargs="+", metavar="PATH", help="rule directories or directories containing them")
    bl.add_argument("--force", action="store_true", help="rebuild even when the module is newer than its sources")
    bl.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    bl.set_defaults(func=cmd_rules_build)
    rules.set_defaults(func=lambda a: _help(rules))

    b = sub.add_parser("bench", help="measure throughput, latency and memory, side by side with eql",
                       description="Run the benchmark scenarios (docs/performance.md) on a generated Linux event stream, each in a fresh process; "
                                   "with eql installed, run the same rules through eql on a prefix of the stream and compare matches. "
                                   "Exits 1 if a scenario failed or the matches differ.")
    b.add_argument("--scenario", action="append", metavar="NAME", help="run only this scenario (repeatable): single-1, single-100, single-1000, seq-10, seq-100, replay-msgpack, flood, wasm-10, lua-10")
    b.add_argument("--events", type=int, metavar="N", help="events in the stream (default: 200000; --quick: 20000)")
    b.add_argument("--peer-events", dest="peer_events", type=int, metavar="N", help="events eql sees in every scenario (default: sized per scenario)")
    b.add_argument("--no-peer", dest="no_peer", action="store_true", help="do not run eql")
    b.add_argument("--quick", action="store_true", help="a smoke run of about 20 seconds")
    b.add_argument("--repeat", type=int, metavar="N", help="at most N timed passes per scenario, best kept; passes stop once 2s were timed (default: 3; --quick: 1)")
    b.add_argument("--seed", type=int, default=1, help="workload seed (default: 1)")
    b.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    b.set_defaults(func=cmd_bench)
    return p


def _live_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: until SIGINT/SIGTERM)")
    p.add_argument("--stats", type=float, metavar="SECONDS", help="print the counters every SECONDS")
    p.add_argument("--families", metavar="LIST", help="event families to watch: process,file,network,kernel (default: what the rules read; record: all)")
    p.add_argument("--failed", action="store_true", help="also report failed file operations and refused connections")
    p.add_argument("--ring-mb", dest="ring_mb", type=int, metavar="MB", help="ring buffer size in MiB, a power of two (default: 16)")
    p.add_argument("-q", "--quiet", action="store_true", help="no start line or summary on stderr")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2), format="kestrel: %(levelname)s: %(message)s", stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from .io.readers import EventReadError

    try:
        return int(args.func(args))
    except (UsageError, EventReadError) as exc:
        print(f"kestrel: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an output that cannot be opened, a full disk, ...
        where = f" {exc.filename!r}" if exc.filename else ""
        print(f"kestrel: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kestrel: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `kestrel ... | head`: the reader left; that is not an error.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
