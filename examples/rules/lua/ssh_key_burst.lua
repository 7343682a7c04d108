-- One process reading the SSH files of several users within a short window:
-- a small, bounded state machine keyed by process.entity_id.
local K = kestrel

local THRESHOLD = 3               -- distinct users ...
local WINDOW_NS = 30 * 1e9        -- ... within this many nanoseconds (30 s)
local MAX_PROCESSES = 512         -- processes tracked at once; the oldest is evicted

-- State: procs[entity_id] = { users = { [user] = last_ts }, n = distinct users
-- in the table, alerted = bool }. `order` is a ring of the entity ids in the
-- order they were first seen: when MAX_PROCESSES are tracked, the next new
-- process evicts the oldest. Memory stays bounded: at most MAX_PROCESSES
-- entries, each with fewer than THRESHOLD users (a process is reduced to a
-- bare "alerted" marker once it alerts).
local procs, tracked = {}, 0
local order, head = {}, 1

local function track(id)
  local st = procs[id]
  if st then return st end
  if tracked >= MAX_PROCESSES then
    local old = order[head]
    procs[old] = nil
    tracked = tracked - 1
  end
  st = { users = {}, n = 0, alerted = false }
  procs[id] = st
  order[head] = id
  head = head % MAX_PROCESSES + 1
  tracked = tracked + 1
  return st
end

-- The account whose ~/.ssh the path is in: /root/.ssh/x -> root,
-- /home/alice/.ssh/x -> alice; nil otherwise.
local function ssh_owner(path)
  if type(path) ~= "string" then return nil end
  if K.startswith(path, "/root/.ssh/") then return "root" end
  if not K.startswith(path, "/home/") then return nil end
  local slash = string.find(path, "/", 7, true)
  if not slash or slash == 7 then return nil end
  if string.sub(path, slash, slash + 5) ~= "/.ssh/" then return nil end
  return string.sub(path, 7, slash - 1)
end

local function file_open(entity, name, path, ts)
  return {
    ["@timestamp"] = ts,
    event = { category = "file", type = "access", action = "open" },
    process = { entity_id = entity, name = name, pid = 4711, executable = "/usr/bin/" .. name },
    file = { path = path, name = K.basename(path), directory = K.dirname(path) },
    user = { name = "www-data" },
  }
end

-- Noise for the eviction test: n processes that each read one key, all
-- within the same second (10:00:00.000001 onwards). Kept to the fields the
-- prefilter and match read: the host reads a file's tests as plain data,
-- with a cap on their size.
local function noise(n)
  local ev = {}
  for i = 1, n do
    ev[i] = {
      ["@timestamp"] = string.format("2026-01-01T10:00:00.%06dZ", i),
      event = { category = "file", action = "open" },
      process = { entity_id = "noise-" .. i },
      file = { path = "/home/u" .. i .. "/.ssh/id_ed25519" },
    }
  end
  return ev
end

local function concat(...)
  local out = {}
  for _, list in ipairs({ ... }) do
    for _, x in ipairs(list) do out[#out + 1] = x end
  end
  return out
end

rule {
  id = "kestrel-lua-ssh-key-burst",
  name = "One process reading several users' SSH keys",
  severity = "high",
  tags = { "attack.credential_access", "attack.t1552.004", "attack.discovery", "attack.t1083",
    "attack.lateral_movement", "attack.t1021.004" },
  description = [[
A single process (process.entity_id) opened the SSH files (private keys,
authorized_keys, known_hosts) of at least three different accounts
(/home/<user>/.ssh/, /root/.ssh/) within 30 seconds: a credential stealer
or a worm collecting keys and known hosts to move laterally (TeamTNT and
Kinsing scripts, `find / -name id_rsa`, infostealing packages). ssh itself
reads only its own user's files, and sshd checks one user per connection.
The rule alerts once per process. State is bounded: at most 512 processes
are tracked (the oldest is forgotten first), each with fewer than three
users until it alerts.
The prefilter names the files literally (case-sensitive `like`), so the
live eBPF source can still drop other read-only opens in the kernel.
False positives: backup agents and file indexers walking /home, and
configuration management (Puppet, Ansible, Chef) managing authorized_keys
of many accounts; exclude them by process.executable in the prefilter.
]],
  prefilter = [[
file where event.action == "open" and file.path like (
  "/home/*/.ssh/id_rsa", "/home/*/.ssh/id_dsa", "/home/*/.ssh/id_ecdsa", "/home/*/.ssh/id_ed25519",
  "/home/*/.ssh/id_ecdsa_sk", "/home/*/.ssh/id_ed25519_sk", "/home/*/.ssh/authorized_keys",
  "/home/*/.ssh/authorized_keys2", "/home/*/.ssh/known_hosts",
  "/root/.ssh/id_rsa", "/root/.ssh/id_dsa", "/root/.ssh/id_ecdsa", "/root/.ssh/id_ed25519",
  "/root/.ssh/id_ecdsa_sk", "/root/.ssh/id_ed25519_sk", "/root/.ssh/authorized_keys",
  "/root/.ssh/authorized_keys2", "/root/.ssh/known_hosts")
]],
  fields = { "process.entity_id", "process.name", "process.executable", "file.path", "@timestamp" },
  match = function(e)
    local id, ts = e["process.entity_id"], tonumber(e["@timestamp"])
    local owner = ssh_owner(e["file.path"])
    if id == nil or ts == nil or owner == nil then return false end
    local st = track(id)
    if st.alerted then return false end
    local users = st.users
    if users[owner] == nil then
      -- forget users read longer ago than the window
      local cutoff = ts - WINDOW_NS
      for u, t in pairs(users) do
        if t < cutoff then users[u] = nil; st.n = st.n - 1 end
      end
      st.n = st.n + 1
    end
    users[owner] = ts
    if st.n < THRESHOLD then return false end
    local names = {}
    for u in pairs(users) do names[#names + 1] = u end
    table.sort(names)
    st.alerted, st.users, st.n = true, {}, 0
    return {
      reason = tostring(e["process.name"]) .. " read the SSH files of " .. #names
        .. " users within 30 s: " .. table.concat(names, ", "),
      data = { users = names, last_file = e["file.path"], executable = e["process.executable"] },
    }
  end,
  tests = {
    { name = "a process reading three users' keys alerts", expect = 1, events = {
      file_open("sweep-1", "python3", "/home/alice/.ssh/id_rsa"),
      file_open("sweep-1", "python3", "/home/bob/.ssh/id_ed25519"),
      file_open("sweep-1", "python3", "/root/.ssh/id_rsa"),
    } },
    { name = "six users read by one process alert once", expect = 1, events = {
      file_open("sweep-2", "sh", "/home/alice/.ssh/id_rsa"),
      file_open("sweep-2", "sh", "/home/alice/.ssh/known_hosts"),
      file_open("sweep-2", "sh", "/home/bob/.ssh/id_rsa"),
      file_open("sweep-2", "sh", "/home/carol/.ssh/id_ecdsa"),
      file_open("sweep-2", "sh", "/home/dave/.ssh/id_rsa"),
      file_open("sweep-2", "sh", "/root/.ssh/authorized_keys"),
      file_open("sweep-2", "sh", "/root/.ssh/known_hosts"),
    } },
    { name = "one user's files read many times do not alert", expect = 0, events = {
      file_open("ssh-1", "ssh", "/home/alice/.ssh/id_ed25519"),
      file_open("ssh-1", "ssh", "/home/alice/.ssh/known_hosts"),
      file_open("ssh-1", "ssh", "/home/alice/.ssh/id_rsa"),
      file_open("ssh-1", "ssh", "/home/alice/.ssh/known_hosts"),
      file_open("ssh-1", "ssh", "/home/alice/.ssh/id_ed25519"),
    } },
    { name = "three users read by three processes do not alert", expect = 0, events = {
      file_open("sshd-1", "sshd", "/home/alice/.ssh/authorized_keys"),
      file_open("sshd-2", "sshd", "/home/bob/.ssh/authorized_keys"),
      file_open("sshd-3", "sshd", "/root/.ssh/authorized_keys"),
    } },
    { name = "three users spread over 80 s do not alert", expect = 0, events = {
      file_open("slow-1", "rsync", "/home/alice/.ssh/id_rsa", "2026-01-01T10:00:00Z"),
      file_open("slow-1", "rsync", "/home/bob/.ssh/id_rsa", "2026-01-01T10:00:40Z"),
      file_open("slow-1", "rsync", "/home/carol/.ssh/id_rsa", "2026-01-01T10:01:20Z"),
    } },
    { name = "three users within 25 s alert", expect = 1, events = {
      file_open("tar-1", "tar", "/home/alice/.ssh/id_rsa", "2026-01-01T10:00:00Z"),
      file_open("tar-1", "tar", "/home/bob/.ssh/id_rsa", "2026-01-01T10:00:10Z"),
      file_open("tar-1", "tar", "/home/carol/.ssh/id_rsa", "2026-01-01T10:00:25Z"),
    } },
    { name = "files outside ~/.ssh do not count", expect = 0, events = {
      file_open("find-1", "find", "/home/alice/.ssh/id_rsa"),
      file_open("find-1", "find", "/home/bob/backup/.ssh/id_rsa"),
      file_open("find-1", "find", "/home/carol/id_rsa"),
    } },
    { name = "a process evicted by 520 newer ones starts over; a new sweep is still caught", expect = 1,
      events = concat({ file_open("old-1", "perl", "/home/alice/.ssh/id_rsa", "2026-01-01T10:00:00Z") },
        noise(520), {
          file_open("old-1", "perl", "/home/bob/.ssh/id_rsa", "2026-01-01T10:00:01Z"),
          file_open("old-1", "perl", "/root/.ssh/id_rsa", "2026-01-01T10:00:02Z"),
          file_open("late-1", "curl", "/home/alice/.ssh/id_rsa", "2026-01-01T10:00:03Z"),
          file_open("late-1", "curl", "/home/bob/.ssh/id_rsa", "2026-01-01T10:00:04Z"),
          file_open("late-1", "curl", "/root/.ssh/id_ed25519", "2026-01-01T10:00:05Z"),
        }) },
    { name = "without the noise the same reads alert", expect = 1, events = {
      file_open("old-2", "perl", "/home/alice/.ssh/id_rsa", "2026-01-01T10:00:00Z"),
      file_open("old-2", "perl", "/home/bob/.ssh/id_rsa", "2026-01-01T10:00:01Z"),
      file_open("old-2", "perl", "/root/.ssh/id_rsa", "2026-01-01T10:00:02Z"),
    } },
  },
}
