"""The built-in actions: ``alert`` (the default), ``kill``, ``kill_tree``
and ``block`` (docs/actions.md).

``kill`` and ``kill_tree`` act from user space on the process of a match's
last event (for a sequence, the process that completed it), like Elastic
Endpoint's kill_process. ``block`` prevents execution in the kernel: at
start-up every executable a block rule names literally is denied by inode,
and when a block rule matches an exec, that binary is denied from then on
and the process that got through is killed. Safety rules (kestrel/respond.py)
apply to all of them, and ``--dry-run`` turns them into reports.
"""

from __future__ import annotations

import logging
from typing import Any

from ..alerts import Alert
from ..config import Config
from ..hookspecs import hookimpl
from ..respond import Safety, block_event, kill_process, literal_executables

log = logging.getLogger("kestrel.respond")


class AlertAction:
    name = "alert"

    def execute(self, alert: Alert, dry_run: bool) -> str:
        return "alerted"


class _Response:
    """Shared by the enforcing actions: the safety rules, read from the
    config once (``config.extra["response"]``: allow list)."""

    def __init__(self, config: Config) -> None:
        opts = config.extra.get("response") or {}
        self.safety: Safety = opts.get("safety") or Safety(opts.get("allow", ()))


class KillAction(_Response):
    name = "kill"
    tree = False

    def execute(self, alert: Alert, dry_run: bool) -> str:
        if not alert.events:
            return "refused: the alert has no event"
        return kill_process(alert.events[-1], self.safety, dry_run, tree=self.tree)


class KillTreeAction(KillAction):
    name = "kill_tree"
    tree = True


class BlockAction(_Response):
    """Deny exec of binaries in the kernel (kestrel/enforce.py)."""

    name = "block"

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.config = config
        self.enforcer: Any = None
        self.engine: Any = None
        self.dry_run = bool((config.extra.get("response") or {}).get("dry_run"))

    def start(self, engine: Any) -> None:
        """Load the enforcement programs if a rule blocks; deny the
        executables block rules name literally."""
        from ..enforce import Enforcer

        self.engine = engine
        rules = [r for r in engine.rules if "block" in r.meta.actions]
        if not rules:
            return
        self.enforcer = Enforcer(dry_run=self.dry_run)
        self.enforcer.start()
        for rule in rules:
            for path in literal_executables(rule.parsed):
                why = self.safety.refuse_path(path)
                if why:
                    log.warning("rule %s: not blocking %s: %s", rule.id, path, why)
                    continue
                try:
                    self.enforcer.deny(path, rule.id)
                    log.info("rule %s: exec of %s is %s", rule.id, path, "audited" if self.dry_run else "blocked")
                except OSError as exc:
                    log.warning("rule %s: cannot block %s: %s", rule.id, path, exc)

    @property
    def mode(self) -> str:
        return self.enforcer.mode if self.enforcer is not None else "off"

    def execute(self, alert: Alert, dry_run: bool) -> str:
        event = alert.events[-1] if alert.events else {}
        proc = event.get("process") if isinstance(event.get("process"), dict) else {}
        exe = proc.get("executable")
        parts = []
        if isinstance(exe, str) and exe:
            why = self.safety.refuse_path(exe)
            if why:
                return f"refused: {why}"
            if self.enforcer is None:
                parts.append("no enforcement loaded (live agent only)")
            elif dry_run:
                parts.append(f"dry-run: would deny exec of {exe}")
            else:
                try:
                    self.enforcer.deny(exe, alert.rule.id)
                    parts.append(f"exec of {exe} denied from now on")
                except OSError as exc:
                    parts.append(f"cannot deny {exe}: {exc}")
        # The matched exec already happened: stop the process that got through.
        parts.append(kill_process(event, self.safety, dry_run))
        return "; ".join(parts)

    def poll(self) -> list[Alert]:
        if self.enforcer is None or self.engine is None:
            return []
        out = []
        for b in self.enforcer.poll(0):
            rid = self.enforcer.rule_id(b.rule)
            try:
                meta = self.engine.rule(rid).meta
            except KeyError:
                continue
            out.append(block_event(meta, b, self.enforcer.path_of(b.dev, b.ino)))
        return out

    def close(self) -> None:
        if self.enforcer is not None:
            self.enforcer.close()
            self.enforcer = None


@hookimpl
def kestrel_actions(config: Config) -> list:
    return [AlertAction(), KillAction(config), KillTreeAction(config), BlockAction(config)]
