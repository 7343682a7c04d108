"""Load rule files and directories through whichever rule host claims them.

A broken rule is reported (file, line, column, caret) and skipped; every
other rule still loads. That is the contract operators rely on: one bad
rule in a directory never blinds the agent.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from .model import LoadError, LoadReport


def expand(paths: Iterable[str], hosts: list[Any] = ()) -> tuple[list[str], list[str]]:  # type: ignore[assignment]
    """Files named, plus the files under directories (sorted, recursive);
    returns (files, missing paths). A directory a host claims as one rule
    (a Wasm rule's source tree) is listed whole and not walked."""
    files: list[str] = []
    missing: list[str] = []

    def claimed(d: str) -> bool:
        return any(getattr(h, "claims_dir", None) and h.claims_dir(d) for h in hosts)

    for p in paths:
        if os.path.isdir(p):
            if claimed(p):
                files.append(p)
                continue
            for root, dirs, names in os.walk(p):
                keep = []
                for d in sorted(dirs):
                    if d.startswith(".") or d == "node_modules":
                        continue
                    if claimed(os.path.join(root, d)):
                        files.append(os.path.join(root, d))
                    else:
                        keep.append(d)
                dirs[:] = keep
                for n in sorted(names):
                    if not n.startswith("."):
                        files.append(os.path.join(root, n))
        elif os.path.exists(p):
            files.append(p)
        else:
            missing.append(p)
    return files, missing


def load_paths(engine: Any, paths: Iterable[str], hosts: list[Any]) -> LoadReport:
    report = LoadReport()
    paths = list(paths)
    files, missing = expand(paths, hosts)
    for m in missing:
        report.errors.append(LoadError(m, 0, 0, "no such file or directory"))
    named = {os.path.normpath(p) for p in paths}
    chosen = []
    for f in files:
        if os.path.isdir(f):
            host = next((h for h in hosts if getattr(h, "claims_dir", None) and h.claims_dir(f)), None)
        else:
            host = next((h for h in hosts if h.claims(f)), None)
        chosen.append((f, host))
    # Hosts that contribute EQL-callable functions (Wasm, Lua) load first,
    # so that queries calling them compile whatever the file order.
    chosen.sort(key=lambda fh: getattr(fh[1], "load_order", 50) if fh[1] is not None else 50)
    for f, host in chosen:
        if host is None:
            if os.path.normpath(f) in named:
                report.errors.append(LoadError(f, 0, 0, "no rule host loads this kind of file (known: .toml, .eql, .lua, .wasm, Wasm rule directories)"))
            continue
        report.files += 1
        try:
            host.load(f, engine, report)
        except Exception as exc:  # a host bug must not stop the other files
            report.errors.append(LoadError(f, 0, 0, f"{host.name} host failed: {type(exc).__name__}: {exc}"))
    return report
