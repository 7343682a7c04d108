"""The default action: raise an alert (delivered by the alert sinks)."""

from __future__ import annotations

from ..alerts import Alert
from ..config import Config
from ..hookspecs import hookimpl


class AlertAction:
    name = "alert"

    def execute(self, alert: Alert, dry_run: bool) -> str:
        return "alerted"


@hookimpl
def kestrel_actions(config: Config) -> list:
    return [AlertAction()]
