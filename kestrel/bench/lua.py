"""The ``lua-10`` scenario: ten Lua rules behind EQL prefilters.

Ten small rules (and an eleventh that takes every event and does nothing, the delivery floor) of the kind detection engineers write in Lua (an entropy
threshold, globs over paths, a CIDR check, a bounded per-process counter),
written here so the scenario does not move when the bundled examples do.
Reported like ``wasm-10``: the stream's events/s, the same with only the
prefilters, events handed to Lua, and the host's cost per event delivered
(the issue's target is ≤ 2 µs).
"""

from __future__ import annotations

import os
from typing import Sequence

RULES = r'''
local k = kestrel
local function r(id, prefilter, fields, match)
  rule { id = id, name = id, severity = "low", tags = {"bench"}, prefilter = prefilter, fields = fields, match = match }
end

r("bench-lua-01-entropy", [[process where event.type == "start"]], {"process.command_line"}, function(e)
  local c = e["process.command_line"]
  return c ~= nil and #c > 40 and k.entropy(c) > 5.0
end)
r("bench-lua-02-shell-from-tmp", [[process where event.type == "start"]], {"process.executable", "process.name"}, function(e)
  local x = e["process.executable"]
  return x ~= nil and k.glob_any(x, {"/tmp/*", "/dev/shm/*", "/var/tmp/*"})
end)
r("bench-lua-03-curl-pipe", [[process where event.type == "start" and process.name : ("bash", "sh", "dash")]], {"process.command_line"}, function(e)
  local c = e["process.command_line"]
  return c ~= nil and (k.contains(c, "curl") or k.contains(c, "wget")) and k.contains(c, "|")
end)
r("bench-lua-04-public-dest", [[network where event.type == "connection"]], {"destination.ip", "destination.port", "process.name"}, function(e)
  local ip, port = e["destination.ip"], e["destination.port"]
  return ip ~= nil and not k.is_private_ip(ip) and port ~= 443 and port ~= 80 and port ~= 53
end)
r("bench-lua-05-ssh-files", [[file where true]], {"file.path"}, function(e)
  local p = e["file.path"]
  return p ~= nil and k.contains(p, "/.ssh/") and k.basename(p) ~= "known_hosts"
end)
r("bench-lua-06-hidden-exec", [[process where event.type == "start"]], {"process.executable"}, function(e)
  local b = k.basename(e["process.executable"] or "")
  return b ~= nil and k.startswith(b, ".")
end)
r("bench-lua-07-etc-writes", [[file where event.type in ("creation", "change")]], {"file.path", "process.name"}, function(e)
  local p = e["file.path"]
  return p ~= nil and k.under(p, "/etc") and e["process.name"] ~= "dpkg"
end)
local seen, n = {}, 0
r("bench-lua-08-fanout", [[process where event.type == "start"]], {"process.parent.entity_id"}, function(e)
  local p = e["process.parent.entity_id"]
  if p == nil then return false end
  local c = (seen[p] or 0) + 1
  if seen[p] == nil then
    n = n + 1
    if n > 4096 then seen, n = {}, 1 end
  end
  seen[p] = c
  return c == 50
end)
r("bench-lua-09-args", [[process where event.type == "start"]], {"process.args"}, function(e)
  local a = e["process.args"]
  if a == nil then return false end
  for i = 1, #a do if a[i] == "-e" or a[i] == "--exec" then return true end end
  return false
end)
r("bench-lua-11-floor", [[any where true]], {"event.category"}, function(e) return false end)
r("bench-lua-10-ext", [[file where true]], {"file.path"}, function(e)
  local x = k.extension(e["file.path"] or "")
  return x == "sh" or x == "py" or x == "elf"
end)
'''


def measure(events: Sequence[dict], workdir: str, warmup: int = 2_000) -> dict:
    from ..config import Config
    from ..engine import Engine
    from ..hosts.lua_sandbox import runtime_name
    from .measure import prefilter_rate, stream_pass

    path = os.path.join(workdir, "bench.lua")
    with open(path, "w") as f:
        f.write(RULES)
    warmup = min(warmup, len(events) // 10)
    timed = events[warmup:]
    engine = Engine(Config())
    engine.batch_latency = float("inf")  # as `kestrel replay` runs files
    report = engine.load_rules(path)
    if report.errors or len(report.rules) != 11:
        raise RuntimeError("the bench's Lua rules did not load: " + "; ".join(str(e) for e in report.errors))
    engine.prepare()
    # Rule 11 takes every event and does nothing: what delivery itself costs.
    floor = engine.rule("bench-lua-11-floor").stage
    stages = [r.stage for r in engine.rules if r.id != "bench-lua-11-floor"]

    def zero() -> None:
        for s in stages + [floor]:
            s.delivered, s.seconds = 0, 0.0

    seconds, alerts = stream_pass(engine, events, warmup, zero)
    delivered = sum(s.delivered for s in stages)
    in_lua = sum(s.seconds for s in stages)
    # The floor's `any where true` is included, as in the timed pass.
    base_rate = prefilter_rate([(r.id, r.query) for r in engine.rules], events, warmup)
    n = len(timed)
    return {
        "events": n,
        "events_per_s": n / seconds if seconds else 0.0,
        "alerts": alerts,
        "lua_runtime": runtime_name(),
        "lua_delivered": delivered,
        "lua_us_per_event": in_lua / delivered * 1e6 if delivered else None,
        "lua_faults": sum(s.fault_count for s in stages),
        "lua_floor_us_per_event": floor.seconds / floor.delivered * 1e6 if floor.delivered else None,
        "prefilter_events_per_s": base_rate,
    }
