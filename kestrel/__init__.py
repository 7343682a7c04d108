"""Kestrel: host-based runtime security detection.

The Python API (see docs/api.md)::

    from kestrel import Engine, Config
    engine = Engine(Config(dialect="elasticsearch"))
    engine.add_query('process where process.name == "nc"', id="netcat")
    for alert in engine.process_many(events):
        print(alert.rule.id, alert.events)
"""

from .alerts import Alert, RuleMeta
from .config import Config
from .engine import Engine, Rule
from .eql.errors import EqlError, EqlSemanticError, EqlSyntaxError

__all__ = ["Alert", "Config", "Engine", "EqlError", "EqlSemanticError", "EqlSyntaxError", "Rule", "RuleMeta"]
__version__ = "0.1.0"
