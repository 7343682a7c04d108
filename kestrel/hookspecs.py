"""Hook specifications: the only seams through which Kestrel is extended.

Like pytest, every built-in feature (the EQL rule host, the file replay
source, the stdout/file alert sinks, the alert action) is a plugin that
implements these hooks, and third parties add their own through the
``kestrel`` entry-point group. pluggy is used at start-up only: each hook
returns plain objects whose methods the engine then calls directly, because
a pluggy hook call costs microseconds and the per-event path cannot pay that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config
    from .plugin_types import Action, AlertSink, EventSource, RuleHost

hookspec = pluggy.HookspecMarker("kestrel")
hookimpl = pluggy.HookimplMarker("kestrel")


@hookspec
def kestrel_event_sources(config: "Config") -> "list[EventSource]":
    """Return event sources this plugin offers (e.g. file replay, live eBPF).

    A source is picked by ``EventSource.accepts(spec)`` for each input the
    user names (a path, ``-`` for stdin, ``ebpf:``...)."""


@hookspec
def kestrel_rule_hosts(config: "Config") -> "list[RuleHost]":
    """Return rule hosts: loaders that turn rule files they claim (by file
    name) into rules of the engine. The EQL host claims ``.toml`` and
    ``.eql`` files; Wasm and Lua hosts claim their own."""


@hookspec
def kestrel_alert_sinks(config: "Config", options: "dict[str, Any]") -> "list[AlertSink]":
    """Return alert sinks wanted by ``options`` (e.g. ``{"output": "-"}``)."""


@hookspec
def kestrel_actions(config: "Config") -> "list[Action]":
    """Return actions that rules may request by name (``alert``, ``kill``...)."""
