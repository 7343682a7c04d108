"""The Wasm rule host: sandboxed, compiled rule modules behind EQL prefilters.

A Wasm rule is a module plus its manifest (docs/wasm-abi.md). The host
compiles the module once, runs it in a store of its own (fuel, memory cap,
epoch deadline; :mod:`.wasm_sandbox`), and gives the engine an ordinary
EQL rule, the manifest's prefilter, whose matches feed a batching stage
instead of raising alerts. At flush the stage writes the declared fields
of its events into the module as one msgpack array and turns the indices
that come back into alerts. Modules may also export functions that EQL
queries call (``wasm.<module>.<fn>(...)``), answered in batches too.

A module that faults is reported, replaced by a fresh instance, and
quarantined after ``limits.max_faults`` faults; the engine and every other
rule go on.
"""

from __future__ import annotations

import logging
import os
from time import perf_counter
from typing import Any

import ormsgpack

from ..alerts import Alert, RuleMeta
from ..config import Config
from ..eql import ast
from ..eql.errors import EqlError
from ..eql.parser import parse_query
from ..events import make_getter, parse_field_path, to_ns
from ..hookspecs import hookimpl
from ..rules.model import LoadError, LoadReport, RuleSpec, read_rule_text
from ..stages import ANSWER_TYPES, BatchStage, MatchExtras, fault_line
from .wasm_manifest import MANIFEST_FILE, SECTION_NAME, Manifest, custom_sections, parse_manifest
from .wasm_errors import Fault, ModuleRefused

log = logging.getLogger("kestrel.wasm")

BUILT_NAME = os.path.join("build", "rule.wasm")


class ModuleHandle:
    """One loaded module: its live sandbox and its fault record.

    The instance is created lazily and thrown away after a fault, since a
    trap can leave the guest's own heap half-updated."""

    def __init__(self, runtime: Any, module: Any, manifest: Manifest, label: str, exports: tuple[str, ...]) -> None:
        self.runtime = runtime
        self.module = module
        self.manifest = manifest
        self.label = label
        self.exports = exports
        self.config = ormsgpack.packb(manifest.config)
        self.sandbox: Any = None
        self.faults: dict[str, int] = {}
        self.fault_count = 0
        self.quarantined = False
        self.instances = 0
        self.calls = 0
        self.items = 0
        self.dropped = 0  # events or calls lost to faults and quarantine

    def start(self) -> None:
        """Instantiate now (load time): a refused module never gets a rule."""
        from .wasm_sandbox import Sandbox

        self.sandbox = Sandbox(self.runtime, self.module, self.manifest.limits, self.label, self.config, self.exports)
        self.instances += 1

    def call(self, export: str, payload: bytes, count: int, fuel: int) -> bytes | None:
        if self.quarantined:
            self.dropped += count
            return None
        try:
            if self.sandbox is None:
                self.start()
            assert self.sandbox is not None
            self.calls += 1
            self.items += count
            return self.sandbox.call_batch(export, payload, count, fuel)
        except Fault as f:
            self.fault(f.kind, f.message, count)
        except ModuleRefused as exc:  # re-instantiation failed (init refused...)
            self.fault("instantiate", str(exc), count)
        return None

    def fault(self, kind: str, message: str, lost: int) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1
        self.fault_count += 1
        self.dropped += lost
        self.sandbox = None
        limit = self.manifest.limits.max_faults
        if self.fault_count >= limit:
            self.quarantined = True
            log.error("wasm %s: fault %d (%s: %s); quarantined after %d faults, it gets no more events",
                      self.label, self.fault_count, kind, message, limit)
        else:
            log.warning("wasm %s: fault (%s: %s); %d event(s) dropped, re-instantiating (%d/%d faults)",
                        self.label, kind, message, lost, self.fault_count, limit)

    def health(self) -> str | None:
        return fault_line(f"wasm {self.label}", self.faults, self.dropped, self.quarantined)

    def stats(self) -> dict[str, Any]:
        return {
            "module": self.label,
            "calls": self.calls,
            "items": self.items,
            "faults": dict(self.faults),
            "dropped": self.dropped,
            "quarantined": self.quarantined,
            "instances": self.instances,
            "memory_bytes": self.sandbox.memory_bytes() if self.sandbox is not None else 0,
        }


def make_projector(fields: tuple[str, ...], time_field: str, unit: str) -> Any:
    """A generated function taking an event to the flat map a module sees.

    This runs for every event delivered, so it is compiled per rule into one
    dict display: fields under the same parent object share one lookup
    (``process.name`` and ``process.pid`` read ``e["process"]`` once) and a
    missing field is sent as nil, which the ABI lets modules read as absent.
    Events of another shape (flat dotted keys, a parent that is not an
    object) take the generic getters, which leave missing fields out."""
    ns: dict[str, Any] = {"_to_ns": to_ns, "_unit": unit}
    parents: dict[str, str] = {}
    items: list[str] = []
    getters: list[tuple[str, str, bool]] = []
    for i, f in enumerate(fields):
        g = ns[f"_g{i}"] = make_getter(parse_field_path(f))
        del g
        is_time = f == time_field
        getters.append((f, f"_g{i}", is_time))
        parts = f.split(".")
        if len(parts) == 2 and all(parts) and not is_time:
            var = parents.setdefault(parts[0], f"o{len(parents)}")
            expr = f"{var}.get({parts[1]!r})"
        elif len(parts) == 1 and not is_time:
            expr = f"e.get({f!r})"
        else:
            expr = f"_g{i}(e)"
        if is_time:
            conv = "v if v.__class__ is int else _to_ns(v, _unit)" if unit == "auto" else "_to_ns(v, _unit)"
            expr = f"(None if (v := {expr}) is None else ({conv}))"
        items.append(f"{f!r}: {expr}")
    lines = ["def project(e):"]
    for parent, var in parents.items():
        lines.append(f"    {var} = e.get({parent!r})")
    cond = " and ".join(f"{var}.__class__ is dict" for var in parents.values()) or "True"
    lines.append(f"    if {cond}:")
    lines.append("        return {" + ", ".join(items) + "}")
    lines.append("    m = {}")
    for name, g, is_time in getters:
        lines.append(f"    v = {g}(e)")
        val = "_to_ns(v, _unit)" if is_time else "v"
        lines.append(f"    if v is not None: m[{name!r}] = {val}")
    lines.append("    return m")
    exec(compile("\n".join(lines) + "\n", "<wasm projector>", "exec"), ns)
    return ns["project"]


class WasmRuleStage(BatchStage):
    """Batches a Wasm rule's prefiltered events into calls of ``kestrel_match``."""

    def __init__(self, engine: Any, handle: ModuleHandle, meta: RuleMeta, fields: tuple[str, ...], config: Config) -> None:
        limits = handle.manifest.limits
        super().__init__(engine, meta.id, limits.batch, limits.latency_ms / 1000.0)
        self.handle = handle
        self.meta = meta
        self.fuel = limits.fuel
        self.extras = MatchExtras(handle.manifest.rule.actions if handle.manifest.rule else ("alert",), f"wasm {handle.label}")
        self.bad_results = 0
        self.call_seconds = 0.0  # of the flush time, inside the module call
        self.rule: Any = None
        time_field = config.time_field or "@timestamp"
        self._time_get = make_getter(parse_field_path(time_field))
        self._unit = config.time_unit or "auto"
        self.project = make_projector(fields, time_field, self._unit)

    def encode(self, events: list[dict]) -> bytes:
        """The batch as the module sees it: declared fields only, flat keys."""
        project = self.project
        out = [project(e) for e in events]
        try:
            return ormsgpack.packb(out)
        except (TypeError, ormsgpack.MsgpackEncodeError):
            # Values msgpack cannot carry (huge integers, odd types) go as text.
            return ormsgpack.packb(out, default=str, option=ormsgpack.OPT_NON_STR_KEYS)

    def run(self, events: list[dict]) -> None:
        try:
            payload = self.encode(events)
        except Exception as exc:
            self.handle.fault("encode", f"{type(exc).__name__}: {exc}", len(events))
            return
        t0 = perf_counter()
        raw = self.handle.call("kestrel_match", payload, len(events), self.fuel * len(events))
        self.call_seconds += perf_counter() - t0
        if raw is None:
            return
        try:
            matches = ormsgpack.unpackb(raw)
        except Exception:
            self.handle.fault("output", "kestrel_match returned invalid msgpack", len(events))
            return
        if not isinstance(matches, list):
            self.handle.fault("output", "kestrel_match must return a msgpack array", len(events))
            return
        self._alerts(events, matches)

    def _alerts(self, events: list[dict], matches: list) -> None:
        n = len(events)
        seen: set[int] = set()
        emit = self.engine.emit_alert
        for m in matches:
            if isinstance(m, dict):
                i = m.get("i")
                extra = self.extras.extra(m.get("msg"), m.get("data"), m.get("actions"))
            else:
                i, extra = m, {}
            if i.__class__ is not int or not 0 <= i < n or i in seen:
                self.bad_results += 1
                if self.bad_results <= 3:
                    log.warning("wasm %s: result names event %r of a batch of %d; ignored", self.handle.label, i, n)
                continue
            seen.add(i)
            e = events[i]
            if self.rule is not None:
                self.rule.stats.alerts += 1
            emit(Alert(self.meta, [e], to_ns(self._time_get(e), self._unit), extra))

    @property
    def refused_actions(self) -> dict[str, int]:
        return self.extras.refused


class WasmFunction:
    """An EQL-callable function exported by a module, answered in batches."""

    batched = True

    def __init__(self, handle: ModuleHandle, module_name: str, fname: str, arity: int) -> None:
        self.handle = handle
        self.name = f"wasm.{module_name}.{fname}"
        self.export = f"kestrel_fn_{fname}"
        self.arity = arity
        limits = handle.manifest.limits
        self.batch = limits.batch
        self.latency_ms = limits.latency_ms
        self.fuel = limits.fuel

    def call_batch(self, calls: list[tuple]) -> list[Any]:
        n = len(calls)
        if not n:
            return []
        try:
            payload = ormsgpack.packb([list(c) for c in calls])
        except (TypeError, ormsgpack.MsgpackEncodeError):
            payload = ormsgpack.packb([list(c) for c in calls], default=str)
        raw = self.handle.call(self.export, payload, n, self.fuel * n)
        if raw is None:
            return [None] * n
        try:
            answers = ormsgpack.unpackb(raw)
        except Exception:
            answers = None
        if not isinstance(answers, list) or len(answers) != n:
            self.handle.fault("output", f"{self.export} must return an array of {n} answers", n)
            return [None] * n
        return [a if a is None or a.__class__ in ANSWER_TYPES else None for a in answers]

    def __call__(self, *args: Any) -> Any:
        """One call, unbatched (for contexts that cannot wait, e.g. pipes)."""
        return self.call_batch([args])[0]


def read_module(path: str) -> tuple[bytes | None, str | None, str, LoadError | None]:
    """(wasm bytes, manifest text, manifest path, error) for a rule path:
    a Wasm rule directory (its manifest and built module) or a ``.wasm``."""
    if os.path.isdir(path):
        mpath = os.path.join(path, MANIFEST_FILE)
        text, error = read_rule_text(mpath)
        if text is None:
            return None, None, mpath, error
        wpath = os.path.join(path, BUILT_NAME)
        if not os.path.exists(wpath):
            return None, text, mpath, LoadError(mpath, 1, 1, f"the module is not built: run `kestrel rules build {path}`")
        with open(wpath, "rb") as f:
            return f.read(), text, mpath, None
    try:
        with open(path, "rb") as f:
            wasm = f.read()
        section = custom_sections(wasm).get(SECTION_NAME)
    except (OSError, ValueError) as exc:
        return None, None, path, LoadError(path, 0, 0, f"cannot read a WebAssembly module: {exc}")
    if section is None:
        return None, None, path, LoadError(path, 0, 0, f"the module has no '{SECTION_NAME}' custom section; build it with `kestrel rules build`")
    return wasm, section.decode("utf-8", "replace"), path, None


class WasmRuleHost:
    name = "wasm"
    load_order = 10  # before EQL files, whose queries may call wasm.* functions

    def __init__(self, runtime: Any = None) -> None:
        self._runtime = runtime
        self._modules: dict[bytes, Any] = {}

    @property
    def runtime(self) -> Any:
        if self._runtime is None:
            from .wasm_sandbox import get_runtime

            self._runtime = get_runtime()
        return self._runtime

    def claims(self, path: str) -> bool:
        return path.endswith(".wasm")

    def claims_dir(self, path: str) -> bool:
        return os.path.isfile(os.path.join(path, MANIFEST_FILE))

    def load(self, path: str, engine: Any, report: LoadReport) -> None:
        wasm, text, mpath, error = read_module(path)
        if error is not None:
            report.errors.append(error)
            return
        assert wasm is not None and text is not None
        manifest, errors = parse_manifest(text, mpath)
        if manifest is None:
            report.errors.extend(errors)
            return
        rid = manifest.rule.id if manifest.rule else None
        label = f"{manifest.name} ({rid})" if rid else manifest.name

        def refuse(msg: str, line: int = 1) -> None:
            report.errors.append(LoadError(mpath, line, 1, f"wasm module {manifest.name!r}: {msg}", rid))

        taken = [n for n in manifest.functions if getattr(engine.functions.get(f"wasm.{manifest.name}.{n}"), "origin", mpath) != mpath]
        if taken:
            refuse(f"another module already provides wasm.{manifest.name}.{taken[0]}(); module names must be unique")
            return
        try:
            module = self._compile(wasm)
            exports = tuple(f"kestrel_fn_{n}" for n in manifest.functions)
            if manifest.rule is not None:
                exports = ("kestrel_match",) + exports
            handle = ModuleHandle(self.runtime, module, manifest, label, exports)
            handle.start()
        except ModuleRefused as exc:
            refuse(str(exc))
            return
        except Fault as exc:
            refuse(f"faulted while starting ({exc.kind}: {exc.message})")
            return
        handle.origin = mpath  # type: ignore[attr-defined]
        modules = engine.__dict__.setdefault("wasm_modules", [])
        modules.append(handle)
        engine.plugin_health.append(handle)
        for fname, arity in manifest.functions.items():
            fn = WasmFunction(handle, manifest.name, fname, arity)
            fn.origin = mpath  # type: ignore[attr-defined]
            engine.functions[fn.name] = fn
        if manifest.rule is None:
            return
        r = manifest.rule
        meta = RuleMeta(r.id, r.name, r.severity, r.tags, r.description, r.actions)
        stage = WasmRuleStage(engine, handle, meta, r.fields, engine.config)
        try:
            parsed = parse_query(r.prefilter)
            if not isinstance(parsed.base, ast.EventQuery) or parsed.pipes:
                raise EqlError("a Wasm rule's prefilter must be a single-event query without pipes", r.prefilter, 0, len(r.prefilter.rstrip()))
            rule = engine.add_rule(meta, r.prefilter, origin=mpath, line_offset=r.prefilter_line,
                                   col_offset=r.prefilter_col, dialect=r.dialect, sink=stage.add)
        except EqlError as exc:
            exc = exc.located(mpath, r.prefilter_line, r.prefilter_col)
            report.errors.append(LoadError(mpath, exc.line, exc.column, f"prefilter: {exc.message}", r.id, exc.snippet()))
            return
        except ValueError as exc:
            report.errors.append(LoadError(mpath, 1, 1, str(exc), r.id))
            return
        stage.rule = rule
        rule.stage = stage  # type: ignore[attr-defined]
        rule.wasm = handle  # type: ignore[attr-defined]
        engine.add_stage(stage)
        spec = RuleSpec(id=r.id, name=r.name, query=r.prefilter, description=r.description, severity=r.severity,
                        tags=r.tags, actions=r.actions, dialect=r.dialect, tests=manifest.tests, origin=mpath, line=1)
        spec.install = lambda eng, rep, _p=path: self.load(_p, eng, rep)
        rule.spec = spec  # type: ignore[attr-defined]
        report.rules.append(rule)
        report.specs.append(spec)

    def _compile(self, wasm: bytes) -> Any:
        import hashlib

        from .wasm_sandbox import load_module

        key = hashlib.sha256(wasm).digest()
        module = self._modules.get(key)
        if module is None:
            module = self._modules[key] = load_module(self.runtime, wasm)
        return module


@hookimpl
def kestrel_rule_hosts(config: Config) -> list:
    return [WasmRuleHost()]
