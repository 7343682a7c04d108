"""Load rule files and directories through whichever rule host claims them.

A broken rule is reported (file, line, column, caret) and skipped; every
other rule still loads. That is the contract operators rely on: one bad
rule in a directory never blinds the agent.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from .model import LoadError, LoadReport


def expand(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """Files named, plus the files under directories (sorted, recursive);
    returns (files, missing paths)."""
    files: list[str] = []
    missing: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
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
    files, missing = expand(paths)
    for m in missing:
        report.errors.append(LoadError(m, 0, 0, "no such file or directory"))
    named = {os.path.normpath(p) for p in paths}
    for f in files:
        host = next((h for h in hosts if h.claims(f)), None)
        if host is None:
            if os.path.normpath(f) in named:
                report.errors.append(LoadError(f, 0, 0, "no rule host loads this kind of file (known: .toml, .eql)"))
            continue
        report.files += 1
        try:
            host.load(f, engine, report)
        except Exception as exc:  # a host bug must not stop the other files
            report.errors.append(LoadError(f, 0, 0, f"{host.name} host failed: {type(exc).__name__}: {exc}"))
    return report
