"""The plugin manager: built-ins and third-party plugins, wired at start-up.

Built-in features register exactly like third-party ones (entry-point group
``kestrel``), so the core special-cases nothing. The manager's accessors
call each hook once and hand back plain objects; callers keep those objects
and never call a hook on the per-event path.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pluggy

from . import hookspecs
from .config import Config

log = logging.getLogger("kestrel.plugins")

BUILTIN_PLUGINS = (
    "kestrel.builtin.eql_host",
    "kestrel.hosts.wasm",
    "kestrel.hosts.lua",
    "kestrel.builtin.sources",
    "kestrel.builtin.sinks",
    "kestrel.builtin.actions",
    "kestrel.sources.ebpf",
)


class KestrelPlugins:
    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def _collect(self, results: list) -> list:
        out: list = []
        for r in results:
            if r:
                out.extend(r)
        return out

    def rule_hosts(self, config: Config) -> list[Any]:
        return self._collect(self.pm.hook.kestrel_rule_hosts(config=config))

    def event_sources(self, config: Config) -> list[Any]:
        return self._collect(self.pm.hook.kestrel_event_sources(config=config))

    def alert_sinks(self, config: Config, options: dict[str, Any]) -> list[Any]:
        return self._collect(self.pm.hook.kestrel_alert_sinks(config=config, options=options))

    def actions(self, config: Config) -> dict[str, Any]:
        return {a.name: a for a in self._collect(self.pm.hook.kestrel_actions(config=config))}

    def plugin_names(self) -> list[str]:
        return sorted(name for name, _ in self.pm.list_name_plugin())


_manager: KestrelPlugins | None = None


def get_plugin_manager(load_entrypoints: bool = True) -> KestrelPlugins:
    """The process-wide plugin manager (built-ins, then entry points)."""
    global _manager
    if _manager is not None:
        return _manager
    pm = pluggy.PluginManager("kestrel")
    pm.add_hookspecs(hookspecs)
    for modname in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(modname), name=modname)
    if load_entrypoints:
        try:
            pm.load_setuptools_entrypoints("kestrel")
        except Exception as exc:  # a broken third-party plugin must not stop Kestrel
            log.error("could not load a kestrel plugin: %s: %s", type(exc).__name__, exc)
    _manager = KestrelPlugins(pm)
    return _manager
