-- A shell or script interpreter connecting out to a public address on a
-- port outside a short allowlist.
local K = kestrel

-- Shells have no business opening sockets except through bash's /dev/tcp:
-- any public destination counts for them.
local SHELLS = K.set { "bash", "sh", "dash", "zsh", "ksh", "mksh", "ash" }
-- Ports interpreters reach routinely (package indexes, APIs, DNS, NTP).
local USUAL_PORTS = K.set { 53, 80, 123, 443, 853 }

local function net(proc_name, exe, ip, port, transport)
  return {
    event = { category = "network", type = { "connection", "start" }, action = "connection_attempted" },
    process = { name = proc_name, executable = exe, pid = 31337, entity_id = "h1-31337-1" },
    source = { ip = "10.20.0.14", port = 51514 },
    destination = { ip = ip, port = port },
    network = { transport = transport or "tcp", direction = "egress" },
  }
end

rule {
  id = "kestrel-lua-interpreter-connects-public-unusual-port",
  name = "Shell or interpreter connecting to a public address on an unusual port",
  severity = "medium",
  tags = { "attack.command_and_control", "attack.t1571", "attack.t1095", "attack.execution",
    "attack.t1059" },
  description = [[
A shell (bash, sh, zsh, ...) or a script interpreter (python, perl, php,
ruby, node, lua) attempted a connection to a public IP address. For shells
any port counts: the only way a shell opens a socket is bash's /dev/tcp,
which is how one-line reverse shells and download cradles work. For
interpreters, ports 53, 80, 123, 443 and 853 are allowed (package indexes,
web APIs, DNS, NTP) and any other port counts: 4444, 1337, 8080 and 9001
from python3 are typical reverse shells and implants.
"Public" means the address parses (IPv4, IPv6, IPv4-mapped IPv6) and is not
RFC 1918, loopback, link-local, CGNAT (100.64.0.0/10), 0.0.0.0/8, ULA
(fc00::/7), fe80::/10, ::1 or ::. Documentation ranges (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as public.
The EQL function lua.is_private_ip(ip) exposes the same test (null for a
missing or unparsable address).
False positives: scripts that talk to public databases, message brokers or
SSH (port 22) directly; allowlist them by process.executable or
destination in the prefilter.
]],
  prefilter = [[
network where event.action == "connection_attempted" and
  process.name : ("bash", "sh", "dash", "zsh", "ksh", "mksh", "ash",
                  "python*", "perl*", "php*", "ruby*", "node", "nodejs", "lua*") and
  not cidrMatch(destination.ip, "127.0.0.0/8", "::1/128")
]],
  fields = { "destination.ip", "destination.port", "process.name", "process.executable",
    "network.transport" },
  match = function(e)
    local ip = K.ip_parse(e["destination.ip"])
    if ip == nil or K.is_private_ip(ip) then return false end
    local name = e["process.name"] or ""
    local port = tonumber(e["destination.port"])
    local shell = SHELLS[name] ~= nil
    if not shell and (port == nil or USUAL_PORTS[port]) then return false end
    return {
      reason = name .. " connected to public " .. ip .. " port " .. tostring(port),
      data = {
        destination = ip, port = port, transport = e["network.transport"],
        executable = e["process.executable"], why = shell and "shell" or "unusual port",
      },
    }
  end,
  tests = {
    { name = "python3 to a public address on 4444 alerts", expect = 1, events = {
      net("python3", "/usr/bin/python3.11", "203.0.113.7", 4444),
    } },
    { name = "bash /dev/tcp to a public address on 443 alerts (shell: any port)", expect = 1, events = {
      net("bash", "/usr/bin/bash", "198.51.100.9", 443),
    } },
    { name = "perl to a public IPv6 address on 9001 alerts", expect = 1, events = {
      net("perl", "/usr/bin/perl", "2a01:4f8:c17:1234::2", 9001),
    } },
    { name = "node to an IPv4-mapped public address alerts", expect = 1, events = {
      net("node", "/usr/local/bin/node", "::ffff:203.0.113.50", 1337),
    } },
    { name = "python3 to PyPI on 443 does not alert", expect = 0, events = {
      net("python3", "/usr/bin/python3.11", "151.101.0.223", 443),
    } },
    { name = "python3 to a private database does not alert", expect = 0, events = {
      net("python3", "/usr/bin/python3.11", "10.20.0.5", 5432),
    } },
    { name = "ruby to a CGNAT (tailnet) address does not alert", expect = 0, events = {
      net("ruby", "/usr/bin/ruby3.1", "100.101.102.103", 8080),
    } },
    { name = "node to an IPv4-mapped private address does not alert", expect = 0, events = {
      net("node", "/usr/local/bin/node", "::ffff:192.168.1.10", 8080),
    } },
    { name = "php to a ULA IPv6 address does not alert", expect = 0, events = {
      net("php-fpm8.2", "/usr/sbin/php-fpm8.2", "fd00:ec2::254", 9000),
    } },
    { name = "an unparsable destination does not alert", expect = 0, events = {
      net("python3", "/usr/bin/python3.11", "not-an-address", 4444),
    } },
  },
}

func("is_private_ip", function(ip)
  if K.ip_parse(ip) == nil then return nil end
  return K.is_private_ip(ip)
end)
