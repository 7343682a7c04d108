-- kestrel.lua: the helper library of Kestrel Lua rules.
--
-- The host loads this file into every Lua rule's sandbox before the rule
-- file, installs the table it returns as the global `kestrel` and adds
-- `kestrel.log(level, msg)` itself. Reference: docs/lua.md.
--
-- Constraints this file is written to:
--   * runs unchanged on LuaJIT 2.1 (JIT off) and on Lua 5.4: Lua 5.1 syntax,
--     no bit operators, no `//`, no utf8, no integer/float distinctions;
--   * uses only the sandbox's globals: string, table, math, pairs, ipairs,
--     select, type, tonumber, error;
--   * cheap under the host's instruction budget, which counts VM
--     instructions: work is pushed into single C calls (plain finds, one
--     gmatch per scan, gsub with lookup tables for decoding) rather than Lua
--     loops over bytes;
--   * linear on untrusted input, and safe under the host's pattern guard:
--     searches are plain finds (string.find(s, x, i, true)); the Lua
--     patterns used have at most one repetition and cannot backtrack;
--   * allocation-light: scratch tables are reused, and compiled globs and
--     parsed CIDRs are kept in small bounded caches.

local M = {}

M.version = "1.0"

local type, tonumber, pairs, ipairs, select = type, tonumber, pairs, ipairs, select
local sbyte, schar, sfind, ssub, slower, sformat, sgsub, sgmatch, srep =
  string.byte, string.char, string.find, string.sub, string.lower, string.format, string.gsub,
  string.gmatch, string.rep
local tconcat = table.concat
local floor, mlog = math.floor, math.log

local SLASH = 47 -- "/"

-- A bounded cache: a plain table that is emptied when it holds `limit` keys.
-- Rules call the helpers with a handful of constant globs and CIDRs, so a
-- reset is rare; an attacker-controlled stream of distinct keys can only
-- make it reset more often, never grow past `limit`.
local function new_cache(limit)
  return { n = 0, limit = limit, t = {} }
end
local function cache_get(c, k)
  return c.t[k]
end
local function cache_put(c, k, v)
  if c.n >= c.limit then
    c.t = {}
    c.n = 0
  end
  c.t[k] = v
  c.n = c.n + 1
  return v
end

------------------------------------------------------------------------
-- Strings
------------------------------------------------------------------------

--- startswith(s, prefix): true when string s begins with prefix.
function M.startswith(s, prefix)
  if type(s) ~= "string" or type(prefix) ~= "string" then return false end
  local n = #prefix
  if n == 0 then return true end
  if n > #s then return false end
  return ssub(s, 1, n) == prefix
end

--- endswith(s, suffix): true when string s ends with suffix.
function M.endswith(s, suffix)
  if type(s) ~= "string" or type(suffix) ~= "string" then return false end
  local n = #suffix
  if n == 0 then return true end
  if n > #s then return false end
  return ssub(s, -n) == suffix
end

--- contains(s, needle): plain (not a pattern) substring test.
function M.contains(s, needle)
  if type(s) ~= "string" or type(needle) ~= "string" then return false end
  return sfind(s, needle, 1, true) ~= nil
end

--- icontains(s, needle): contains, ignoring ASCII case.
function M.icontains(s, needle)
  if type(s) ~= "string" or type(needle) ~= "string" then return false end
  return sfind(slower(s), slower(needle), 1, true) ~= nil
end

--- lower(s): ASCII lower case; nil for a non-string.
function M.lower(s)
  if type(s) ~= "string" then return nil end
  return slower(s)
end

--- split(s, sep): the fields of s between occurrences of the plain separator
--- sep (empty fields kept: split("a,,b", ",") is {"a", "", "b"}). Without sep,
--- splits on runs of whitespace and drops empty fields, like Python's
--- str.split(). A non-string s gives {}.
function M.split(s, sep)
  local out = {}
  if type(s) ~= "string" then return out end
  if sep == nil then
    local n = 0
    for w in sgmatch(s, "[^ \t\r\n\v\f]+") do
      n = n + 1
      out[n] = w
    end
    return out
  end
  if type(sep) ~= "string" or sep == "" then
    error("kestrel.split: separator must be a non-empty string", 2)
  end
  local n, i, w = 0, 1, #sep
  while true do
    local a = sfind(s, sep, i, true)
    n = n + 1
    if not a then
      out[n] = ssub(s, i)
      return out
    end
    out[n] = ssub(s, i, a - 1)
    i = a + w
  end
end

--- shell_words(s): the words of a shell command line, roughly as sh splits
--- them: whitespace separates words; '...' and "..." quote (the quotes are
--- removed; in "..." a backslash escapes " \ $ `); a backslash outside
--- quotes escapes the next character. The operators ";", "|", "||", "&",
--- "&&" are words of their own, and a newline is a ";" (consecutive ";"
--- collapse into one); "&" inside a redirection ("2>&1", "&>", "<&3") stays
--- in its word, "|&" is "|". Expansions ($x, $(..), `..`) are kept as text.
--- Note: ECS process.command_line joins argv with spaces, so the quoting of
--- the outer command is already gone; the inner script's quotes remain.
--- Cost: about 10 VM instructions per word for a line without quotes or
--- backslashes, about 25 per special character otherwise: cap long input.
local function words_plain(s, out)
  -- No quotes or backslashes: the operators are padded with spaces by
  -- gsub (in C) and the words read with one gmatch.
  s = sgsub(s, ">&", ">\1")
  s = sgsub(s, "<&", "<\1")
  s = sgsub(s, "&>", "\1>")
  s = sgsub(s, "|&", "|")
  s = sgsub(s, "&&", " \2 ")
  s = sgsub(s, "||", " \3 ")
  s = sgsub(s, "\n", " ; ")
  s = sgsub(s, "[;|&]", " %0 ")
  s = sgsub(s, "\1", "&")
  local n = 0
  for w in sgmatch(s, "[^ \t\r\n\v\f]+") do
    if w == ";" then
      if n > 0 and out[n] ~= ";" then n = n + 1; out[n] = w end
    else
      if w == "\2" then w = "&&" elseif w == "\3" then w = "||" end
      n = n + 1
      out[n] = w
    end
  end
  return out
end

function M.shell_words(s)
  local out, n = {}, 0
  if type(s) ~= "string" then return out end
  if not sfind(s, "['\"\\\1\2\3]") then return words_plain(s, out) end
  local buf, nb = {}, 0
  local inword = false
  local i, len = 1, #s
  local function flush()
    if inword then
      n = n + 1
      out[n] = tconcat(buf, "", 1, nb)
      nb = 0
      inword = false
    end
  end
  local function op(o)
    if o == ";" and (n == 0 or out[n] == ";") then return end
    n = n + 1
    out[n] = o
  end
  -- One pass of gmatch over the special bytes (one pattern check for the
  -- whole string); those inside quotes, already consumed, are skipped.
  for a in sgmatch(s, "()[%s'\"\\;|&]") do
    if a >= i then
      if a > i then nb = nb + 1; buf[nb] = ssub(s, i, a - 1); inword = true end
      local c = sbyte(s, a)
      if c == 32 or c == 9 then -- blank
        flush()
        i = a + 1
      elseif c == 39 then -- '...'
        local e = sfind(s, "'", a + 1, true) or (len + 1)
        nb = nb + 1; buf[nb] = ssub(s, a + 1, e - 1); inword = true
        i = e + 1
      elseif c == 34 then -- "..."
        local j = a + 1
        local bs = sfind(s, "\\", j, true)
        inword = true
        while true do
          local e = sfind(s, '"', j, true)
          if bs and bs < j then bs = sfind(s, "\\", j, true) end
          if bs and (not e or bs < e) then
            if bs > j then nb = nb + 1; buf[nb] = ssub(s, j, bs - 1) end
            local x = sbyte(s, bs + 1)
            if x == 34 or x == 92 or x == 36 or x == 96 then
              nb = nb + 1; buf[nb] = schar(x); j = bs + 2
            else
              nb = nb + 1; buf[nb] = "\\"; j = bs + 1
            end
          elseif e then
            if e > j then nb = nb + 1; buf[nb] = ssub(s, j, e - 1) end
            i = e + 1
            break
          else -- unterminated: to the end
            nb = nb + 1; buf[nb] = ssub(s, j); i = len + 1
            break
          end
        end
      elseif c == 92 then -- backslash
        nb = nb + 1; buf[nb] = ssub(s, a + 1, a + 1); inword = true
        i = a + 2
      elseif c == 59 or c == 124 or c == 38 then -- ; | &
        local prev = a > 1 and sbyte(s, a - 1) or 0
        local nxt = sbyte(s, a + 1)
        if c == 38 and (prev == 62 or prev == 60 or nxt == 62) then
          nb = nb + 1; buf[nb] = "&"; inword = true
          i = a + 1
        else
          flush()
          i = a + 1
          if c == 59 then
            op(";")
          elseif nxt == c then
            op(c == 124 and "||" or "&&"); i = a + 2
          elseif c == 124 and nxt == 38 then
            op("|"); i = a + 2 -- |& pipes stderr too
          else
            op(c == 124 and "|" or "&")
          end
        end
      else -- other whitespace; a newline separates commands
        flush()
        if c == 10 then op(";") end
        i = a + 1
      end
    end
  end
  if i <= len then nb = nb + 1; buf[nb] = ssub(s, i); inword = true end
  flush()
  return out
end

local SHELL_OPS = { [";"] = true, ["|"] = true, ["||"] = true, ["&"] = true, ["&&"] = true }

--- shell_commands(s): the simple commands of a shell command line, each an
--- array of its words (shell_words split at the operators, which are
--- dropped): "cd /tmp; curl -O x && ./x" -> {{"cd", "/tmp"}, {"curl",
--- "-O", "x"}, {"./x"}}.
function M.shell_commands(s)
  local out, n = {}, 0
  local cur, nc = nil, 0
  local words = M.shell_words(s)
  for k = 1, #words do
    local w = words[k]
    if SHELL_OPS[w] then
      cur = nil
    else
      if not cur then
        cur, nc = {}, 0
        n = n + 1
        out[n] = cur
      end
      nc = nc + 1
      cur[nc] = w
    end
  end
  return out
end

------------------------------------------------------------------------
-- Paths (POSIX, lexical: nothing is resolved on disk)
------------------------------------------------------------------------

-- Position of the last byte b in s at or before position `limit`, or nil:
-- a byte loop over the last 32 bytes (cheap for the usual short names), then
-- one pattern search in C (patterns "/[^/]*$", "%.[^.]*$": linear).
local function last_byte(s, limit, b, tail_pattern)
  local stop = limit > 32 and limit - 31 or 1
  for i = limit, stop, -1 do
    if sbyte(s, i) == b then return i end
  end
  if stop == 1 then return nil end
  local head = ssub(s, 1, stop - 1)
  if not sfind(head, schar(b), 1, true) then return nil end
  return (sfind(head, tail_pattern))
end

local function last_slash(s, limit)
  return last_byte(s, limit, SLASH, "/[^/]*$")
end

-- Length of s without its trailing slashes (but "/" stays "/").
local function strip_trailing(s)
  local e = #s
  while e > 1 and sbyte(s, e) == SLASH do e = e - 1 end
  return e
end

--- basename(p): the last component, as the basename utility gives it:
--- "/usr/bin/python3" -> "python3", "/usr/lib/" -> "lib", "/" -> "/",
--- "name" -> "name", "" -> "". nil for a non-string.
function M.basename(p)
  if type(p) ~= "string" then return nil end
  if p == "" then return "" end
  local e = strip_trailing(p)
  if e == 1 and sbyte(p, 1) == SLASH then return "/" end
  local k = last_slash(p, e)
  if not k then return ssub(p, 1, e) end
  return ssub(p, k + 1, e)
end

--- dirname(p): everything before the last component, as the dirname
--- utility gives it: "/usr/bin/python3" -> "/usr/bin", "/usr/lib/" -> "/usr",
--- "/bin" -> "/", "name" -> ".", "/" -> "/". nil for a non-string.
function M.dirname(p)
  if type(p) ~= "string" then return nil end
  if p == "" then return "." end
  local e = strip_trailing(p)
  if e == 1 and sbyte(p, 1) == SLASH then return "/" end
  local k = last_slash(p, e)
  if not k then return "." end
  while k > 1 and sbyte(p, k - 1) == SLASH do k = k - 1 end
  if k == 1 then return "/" end
  return ssub(p, 1, k - 1)
end

--- extension(p): the last component's extension, lower-cased, without the
--- dot: "/tmp/x.SH" -> "sh", "a.tar.gz" -> "gz". nil when there is none:
--- "Makefile", ".bashrc" (a leading dot starts a name, not an extension),
--- "file." (empty).
function M.extension(p)
  local b = M.basename(p)
  if b == nil or b == "/" then return nil end
  local n = #b
  local i = last_byte(b, n, 46, "%.[^.]*$")
  if not i or i == n then return nil end
  -- only dots before it: ".bashrc", "..x" -> no extension
  local j = i - 1
  while j >= 1 and sbyte(b, j) == 46 do j = j - 1 end
  if j == 0 then return nil end
  return slower(ssub(b, i + 1))
end

--- normpath(p): lexical normalisation: collapses "//", "/./" and "dir/.."
--- ("/var/tmp/../tmp//x" -> "/tmp/x"); ".." above the root stays at the
--- root. Relative paths stay relative. nil for a non-string.
function M.normpath(p)
  if type(p) ~= "string" then return nil end
  if p == "" then return "." end
  local abs = sbyte(p, 1) == SLASH
  local parts, n = {}, 0
  local i, len = 1, #p
  while i <= len do
    local k = sfind(p, "/", i, true) or (len + 1)
    if k > i then
      local c = ssub(p, i, k - 1)
      if c == ".." then
        if n > 0 and parts[n] ~= ".." then
          parts[n] = nil
          n = n - 1
        elseif not abs then
          n = n + 1
          parts[n] = c
        end
      elseif c ~= "." then
        n = n + 1
        parts[n] = c
      end
    end
    i = k + 1
  end
  local body = tconcat(parts, "/")
  if abs then return "/" .. body end
  if body == "" then return "." end
  return body
end

-- Does path need normpath before a prefix comparison?
local function needs_norm(p)
  return sfind(p, "//", 1, true) or sfind(p, "/.", 1, true) or ssub(p, 1, 2) == "./"
    or p == "." or p == ".."
end

--- under(path, dir): true when path is dir or lies inside it, on component
--- boundaries: under("/tmp/x", "/tmp") and under("/tmp", "/tmp/") are true,
--- under("/tmpfoo/x", "/tmp") is false. Both sides are normalised
--- lexically first, so "/var/tmp/../tmp/x" and "/tmp//./x" are under "/tmp".
--- Case-sensitive. nil-safe (false).
function M.under(path, dir)
  if type(path) ~= "string" or type(dir) ~= "string" or path == "" or dir == "" then
    return false
  end
  if needs_norm(path) then path = M.normpath(path) end
  if needs_norm(dir) then dir = M.normpath(dir) end
  local e = strip_trailing(dir)
  if e < #dir then dir = ssub(dir, 1, e) end
  if dir == "/" then return sbyte(path, 1) == SLASH end
  local n = #dir
  if #path < n or ssub(path, 1, n) ~= dir then return false end
  if #path == n then return true end
  return sbyte(path, n + 1) == SLASH
end

------------------------------------------------------------------------
-- Glob: EQL wildcards, "*" any run of bytes, "?" exactly one byte
------------------------------------------------------------------------
--
-- A pattern is compiled once into its "*"-separated segments; a segment
-- without "?" is searched with a plain string.find, one with "?" through its
-- longest literal piece. The first segment is anchored at the start, the last
-- at the end, and the middle ones are found leftmost-first, which is exact for
-- "*" globs. No recursion, no backtracking: the work is a few plain finds per
-- segment, done in C.

local glob_cache = new_cache(256)

local function compile_segment(text)
  local seg = { text = text, len = #text }
  if not sfind(text, "?", 1, true) then
    seg.plain = true
    return seg
  end
  -- literal pieces between "?" with their offsets in the segment
  local pieces, n, i, len = {}, 0, 1, #text
  local best, bestlen = nil, 0
  while i <= len do
    local q = sfind(text, "?", i, true) or (len + 1)
    if q > i then
      n = n + 1
      local piece = { off = i - 1, text = ssub(text, i, q - 1) }
      pieces[n] = piece
      if #piece.text > bestlen then best, bestlen = piece, #piece.text end
    end
    i = q + 1
  end
  seg.pieces = pieces
  seg.anchor = best
  return seg
end

local function compile_glob(pattern)
  local segs, n, i, len = {}, 0, 1, #pattern
  local minlen = 0
  while true do
    local a = sfind(pattern, "*", i, true)
    local text = ssub(pattern, i, (a or (len + 1)) - 1)
    n = n + 1
    segs[n] = compile_segment(text)
    minlen = minlen + #text
    if not a then break end
    i = a + 1
  end
  return { segs = segs, n = n, minlen = minlen }
end

-- Does segment seg match s at position p (the whole segment fits)?
local function seg_at(s, p, seg)
  if p + seg.len - 1 > #s then return false end
  if seg.plain then
    return seg.len == 0 or ssub(s, p, p + seg.len - 1) == seg.text
  end
  local pieces = seg.pieces
  for k = 1, #pieces do
    local pc = pieces[k]
    local a = p + pc.off
    if ssub(s, a, a + #pc.text - 1) ~= pc.text then return false end
  end
  return true
end

-- Leftmost position >= init where seg matches and ends at or before `last`.
local function seg_find(s, init, last, seg)
  local len = seg.len
  if len == 0 then return init end
  if init + len - 1 > last then return nil end
  if seg.plain then
    local a = sfind(s, seg.text, init, true)
    if a and a + len - 1 <= last then return a end
    return nil
  end
  local anchor = seg.anchor
  if not anchor then return init end -- only "?": any position with room
  local off = anchor.off
  local from = init + off
  while true do
    local a = sfind(s, anchor.text, from, true)
    if not a then return nil end
    local p = a - off
    if p + len - 1 > last then return nil end
    if seg_at(s, p, seg) then return p end
    from = a + 1
  end
end

local function glob_compiled(s, g)
  local n, segs, slen = g.n, g.segs, #s
  if slen < g.minlen then return false end
  if n == 1 then
    return slen == segs[1].len and seg_at(s, 1, segs[1])
  end
  local first, last = segs[1], segs[n]
  if not seg_at(s, 1, first) then return false end
  local pos = first.len + 1
  local last_start = slen - last.len + 1
  for k = 2, n - 1 do
    local seg = segs[k]
    if seg.len > 0 then
      local p = seg_find(s, pos, last_start - 1, seg)
      if not p then return false end
      pos = p + seg.len
    end
  end
  return last_start >= pos and seg_at(s, last_start, last)
end

local function get_glob(pattern, ci)
  local key = ci and ("\1" .. pattern) or pattern
  local g = cache_get(glob_cache, key)
  if not g then
    g = cache_put(glob_cache, key, compile_glob(ci and slower(pattern) or pattern))
  end
  return g
end

--- glob(s, pattern [, case_insensitive]): EQL wildcard match of the whole
--- string: "*" matches any run of bytes (also empty), "?" exactly one byte;
--- every other byte matches itself. False for a non-string s.
function M.glob(s, pattern, ci)
  if type(s) ~= "string" or type(pattern) ~= "string" then return false end
  if ci then s = slower(s) end
  return glob_compiled(s, get_glob(pattern, ci))
end

--- glob_any(s, patterns [, case_insensitive]): true when s matches one of
--- the patterns in the array; the second result is the pattern that matched.
function M.glob_any(s, patterns, ci)
  if type(s) ~= "string" or type(patterns) ~= "table" then return false end
  if ci then s = slower(s) end
  for _, pattern in ipairs(patterns) do
    if glob_compiled(s, get_glob(pattern, ci)) then return true, pattern end
  end
  return false
end

------------------------------------------------------------------------
-- IP addresses
------------------------------------------------------------------------
--
-- Parsed form: { v = 4, [1..4] octets } or { v = 6, [1..8] 16-bit groups }.

local function is_digit(b) return b >= 48 and b <= 57 end

-- Dotted quad between positions i and j of s into t[k..k+3]; true on success.
-- Strict: four decimal octets 0-255 without leading zeros ("010.0.0.1" is
-- refused, as Python's ipaddress does: inet_aton would read it as octal).
local function parse_v4_into(s, i, j, t, k)
  local octet, digits, count = 0, 0, 0
  local first = 0
  for p = i, j do
    local b = sbyte(s, p)
    if b == 46 then
      if digits == 0 then return false end
      count = count + 1
      if count > 3 then return false end
      t[k + count - 1] = octet
      octet, digits = 0, 0
    elseif is_digit(b) then
      if digits == 0 then first = b elseif first == 48 then return false end
      digits = digits + 1
      if digits > 3 then return false end
      octet = octet * 10 + (b - 48)
      if octet > 255 then return false end
    else
      return false
    end
  end
  if digits == 0 or count ~= 3 then return false end
  t[k + 3] = octet
  return true
end

local HEX = {}
for b = 48, 57 do HEX[b] = b - 48 end
for b = 97, 102 do HEX[b] = b - 87 end
for b = 65, 70 do HEX[b] = b - 55 end

local quad = {}

-- The ":"-separated fields of s[i..j] into t[k..k+maxn-1]. A field is 1-4 hex
-- digits; the last one may be a dotted quad when allow_v4 (two groups).
-- Returns the number of groups written, or nil.
local function parse_groups(s, i, j, t, k, maxn, allow_v4)
  if i > j then return 0 end
  local n, p = 0, i
  while true do
    local c = sfind(s, ":", p, true)
    if c and c > j then c = nil end
    local e = c and (c - 1) or j
    if e < p then return nil end -- empty field
    if not c and allow_v4 then
      local dot = sfind(s, ".", p, true)
      if dot and dot <= e then
        if n + 2 > maxn or not parse_v4_into(s, p, e, quad, 1) then return nil end
        t[k + n] = quad[1] * 256 + quad[2]
        t[k + n + 1] = quad[3] * 256 + quad[4]
        return n + 2
      end
    end
    if e - p > 3 or n + 1 > maxn then return nil end
    local v = 0
    for q = p, e do
      local h = HEX[sbyte(s, q)]
      if not h then return nil end
      v = v * 16 + h
    end
    t[k + n] = v
    n = n + 1
    if not c then return n end
    p = c + 1
  end
end

local tail_groups = {}

-- Parse s into t (a fresh or scratch table); returns t or nil.
local function parse_ip(s, t)
  if type(s) ~= "string" then return nil end
  local len = #s
  if len < 2 or len > 100 then return nil end
  if not sfind(s, ":", 1, true) then
    if len > 15 or not parse_v4_into(s, 1, len, t, 1) then return nil end
    t.v = 4
    return t
  end
  -- IPv6; a zone ("fe80::1%eth0") is accepted and dropped
  local z = sfind(s, "%", 1, true)
  if z then
    if z == len then return nil end
    len = z - 1
  end
  if len > 45 then return nil end
  local dc = sfind(s, "::", 1, true)
  if dc and dc + 1 > len then dc = nil end
  if dc then
    local again = sfind(s, "::", dc + 1, true)
    if again and again + 1 <= len then return nil end
    local head = parse_groups(s, 1, dc - 1, t, 1, 7, false)
    if not head then return nil end
    local tail = parse_groups(s, dc + 2, len, tail_groups, 1, 7 - head, true)
    if not tail then return nil end
    for q = head + 1, 8 - tail do t[q] = 0 end
    for q = 1, tail do t[8 - tail + q] = tail_groups[q] end
  else
    if parse_groups(s, 1, len, t, 1, 8, true) ~= 8 then return nil end
  end
  t.v = 6
  return t
end

local function v4_string(a, b, c, d)
  return sformat("%d.%d.%d.%d", a, b, c, d)
end

local function format_ip(t)
  if t.v == 4 then return v4_string(t[1], t[2], t[3], t[4]) end
  -- IPv4-mapped: RFC 5952 section 5 mixed notation
  if t[1] == 0 and t[2] == 0 and t[3] == 0 and t[4] == 0 and t[5] == 0 and t[6] == 65535 then
    return "::ffff:" .. v4_string(floor(t[7] / 256), t[7] % 256, floor(t[8] / 256), t[8] % 256)
  end
  -- longest run of two or more zero groups (the first one on a tie)
  local best_s, best_n, run_s, run_n = 0, 0, 0, 0
  for i = 1, 8 do
    if t[i] == 0 then
      if run_n == 0 then run_s = i end
      run_n = run_n + 1
      if run_n > best_n then best_s, best_n = run_s, run_n end
    else
      run_n = 0
    end
  end
  local out = {}
  if best_n < 2 then
    for i = 1, 8 do out[i] = sformat("%x", t[i]) end
    return tconcat(out, ":")
  end
  local n = 0
  for i = 1, best_s - 1 do n = n + 1; out[n] = sformat("%x", t[i]) end
  local left = tconcat(out, ":")
  out = {}
  n = 0
  for i = best_s + best_n, 8 do n = n + 1; out[n] = sformat("%x", t[i]) end
  return left .. "::" .. tconcat(out, ":")
end

--- ip_parse(s): the normalised text of an IP address and its version (4 or
--- 6), or nil. IPv4: dotted quad ("10.0.0.1"; leading zeros refused). IPv6:
--- RFC 5952 form (lower case, zeros compressed: "2001:db8::1"), IPv4-mapped
--- addresses as "::ffff:a.b.c.d"; a zone ("%eth0") is dropped.
function M.ip_parse(s)
  local t = parse_ip(s, {})
  if not t then return nil end
  return format_ip(t), t.v
end

local cidr_cache = new_cache(512)

-- Parsed network: { v = 4|6, bits = prefix length, [units...] } or false.
local function parse_cidr(c)
  if type(c) ~= "string" then return false end
  local hit = cache_get(cidr_cache, c)
  if hit ~= nil then return hit end
  local net = false
  do
    local slash = sfind(c, "/", 1, true)
    local addr = slash and ssub(c, 1, slash - 1) or c
    local t = parse_ip(addr, {})
    if t then
      local max = (t.v == 4) and 32 or 128
      local bits = max
      if slash then
        local ls = ssub(c, slash + 1)
        if #ls >= 1 and #ls <= 3 and not sfind(ls, "[^0-9]") then
          bits = tonumber(ls)
        else
          bits = nil
        end
      end
      if bits and bits <= max then
        t.bits = bits
        net = t
      end
    end
  end
  return cache_put(cidr_cache, c, net)
end

-- Do the first `bits` bits of units a and b agree (unit width w bits)?
local function prefix_equal(a, b, bits, w)
  local full = floor(bits / w)
  for i = 1, full do
    if a[i] ~= b[i] then return false end
  end
  local rest = bits - full * w
  if rest == 0 then return true end
  local div = 2 ^ (w - rest)
  return floor(a[full + 1] / div) == floor(b[full + 1] / div)
end

local scratch_ip = {}
local mapped_v4 = { v = 4 }

local function match_net(ip, mapped, net)
  if not net then return false end
  if net.v == ip.v then
    return prefix_equal(ip, net, net.bits, ip.v == 4 and 8 or 16)
  end
  if mapped and net.v == 4 then
    return prefix_equal(mapped, net, net.bits, 8)
  end
  return false
end

local function cidr_match_list(ip, mapped, list)
  for _, c in ipairs(list) do
    if match_net(ip, mapped, parse_cidr(c)) then return true end
  end
  return false
end

--- cidr_match(ip, cidr1, cidr2, ...): true when the address lies in one of
--- the networks ("10.0.0.0/8", "fd00::/8", or a bare address for one host;
--- an argument may also be an array of them). An IPv4-mapped IPv6 address
--- (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 peer) also
--- matches the IPv4 networks holding a.b.c.d. False for an unparsable or nil
--- address; unparsable networks never match.
function M.cidr_match(ip, ...)
  local t = parse_ip(ip, scratch_ip)
  if not t then return false end
  local mapped = nil
  if t.v == 6 and t[1] == 0 and t[2] == 0 and t[3] == 0 and t[4] == 0 and t[5] == 0
    and t[6] == 65535 then
    mapped = mapped_v4
    mapped[1], mapped[2] = floor(t[7] / 256), t[7] % 256
    mapped[3], mapped[4] = floor(t[8] / 256), t[8] % 256
  end
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    if type(c) == "table" then
      if cidr_match_list(t, mapped, c) then return true end
    elseif match_net(t, mapped, parse_cidr(c)) then
      return true
    end
  end
  return false
end

M.PRIVATE_NETWORKS = {
  "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", -- RFC 1918
  "127.0.0.0/8",                                   -- loopback
  "169.254.0.0/16",                                -- link-local
  "100.64.0.0/10",                                 -- CGNAT (RFC 6598)
  "0.0.0.0/8",                                     -- "this network" (0.0.0.0 reaches the host itself)
  "fc00::/7",                                      -- unique local (ULA)
  "fe80::/10",                                     -- link-local
  "::1/128",                                       -- loopback
  "::/128",                                        -- unspecified
}

--- is_private_ip(ip): true for addresses that are not reachable on the
--- public Internet: RFC 1918, loopback, link-local, CGNAT 100.64.0.0/10,
--- 0.0.0.0/8, ULA fc00::/7, fe80::/10, ::1 and ::; IPv4-mapped IPv6 forms
--- of those IPv4 ranges too. False for an unparsable or nil address (so
--- "not private" does not mean "public": check ip_parse(ip) too).
function M.is_private_ip(ip)
  return M.cidr_match(ip, M.PRIVATE_NETWORKS)
end

------------------------------------------------------------------------
-- Encodings
------------------------------------------------------------------------

-- Decoding runs in C: string.gsub with a lookup table maps each base64
-- character to its six bits written as "0"/"1" text, then each group of
-- eight such characters to its byte. A few VM instructions per call
-- whatever the input's size (the instruction budget counts VM
-- instructions), for a transient string six times the input's length.
local B64BITS, BITBYTE = {}, {}
do
  local function bits(v, width)
    local t = {}
    for k = width, 1, -1 do
      t[k] = (v % 2 == 1) and "1" or "0"
      v = floor(v / 2)
    end
    return tconcat(t)
  end
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, 64 do B64BITS[ssub(alphabet, i, i)] = bits(i - 1, 6) end
  B64BITS["-"] = B64BITS["+"] -- URL-safe alphabet
  B64BITS["_"] = B64BITS["/"]
  for v = 0, 255 do BITBYTE[bits(v, 8)] = schar(v) end
end

--- base64_decode(s): the decoded bytes, or nil when s is not base64. Takes
--- the standard ("+/") and URL-safe ("-_") alphabets, with or without "="
--- padding (padding, when present, must complete the last quantum). No
--- whitespace is skipped. Unused low bits of the last character are ignored.
function M.base64_decode(s)
  if type(s) ~= "string" then return nil end
  local len = #s
  local pad = 0
  while len > 0 and pad < 3 and sbyte(s, len) == 61 do len = len - 1; pad = pad + 1 end
  if pad > 2 then return nil end
  if pad > 0 and (len + pad) % 4 ~= 0 then return nil end
  if len % 4 == 1 then return nil end
  if len == 0 then return "" end
  local body = pad > 0 and ssub(s, 1, len) or s
  local bitstr = sgsub(body, ".", B64BITS)
  -- a byte outside both alphabets stays itself (one character, not six)
  if #bitstr ~= len * 6 then return nil end
  local nbytes = floor(len * 6 / 8)
  local out = sgsub(bitstr, "........", BITBYTE)
  if #out ~= nbytes then out = ssub(out, 1, nbytes) end
  return out
end

local B64CLASS = "[%w%+/_%-]"
local run_patterns = {}

--- base64_runs(s [, min_len [, max_runs]]): the runs of base64 characters
--- (either alphabet, with their "=" padding) of at least min_len characters
--- (default 16) in s, in order, as an array of at most max_runs strings
--- (default: all). Candidates only: decode each with base64_decode and judge
--- the result (printable_ratio). Shorter runs are skipped in C, so the cost
--- is a few VM instructions per run returned.
function M.base64_runs(s, min_len, max_runs)
  local out = {}
  if type(s) ~= "string" then return out end
  min_len = min_len or 16
  if min_len < 1 then min_len = 1 end
  max_runs = max_runs or #s
  -- "()" .. class x k .. class* .. "()": runs shorter than k never reach Lua
  local k = min_len > 16 and 16 or min_len
  local pat = run_patterns[k]
  if not pat then
    pat = "()" .. srep(B64CLASS, k) .. B64CLASS .. "*()"
    run_patterns[k] = pat
  end
  local n, len = 0, #s
  for a, b in sgmatch(s, pat) do
    local e = b - 1
    while e < len and e - b < 1 and sbyte(s, e + 1) == 61 do e = e + 1 end
    if e - a + 1 >= min_len then
      n = n + 1
      out[n] = ssub(s, a, e)
      if n >= max_runs then break end
    end
  end
  return out
end

local HEXPAIR = {}
do
  local digits = "0123456789abcdefABCDEF"
  for i = 1, 22 do
    local hi = ssub(digits, i, i)
    local h = HEX[sbyte(hi)]
    for j = 1, 22 do
      local lo = ssub(digits, j, j)
      HEXPAIR[hi .. lo] = schar(h * 16 + HEX[sbyte(lo)])
    end
  end
end

--- hex_decode(s): the bytes of an even-length string of hex digits (either
--- case), or nil. An optional "0x" prefix is accepted.
function M.hex_decode(s)
  if type(s) ~= "string" then return nil end
  local len = #s
  if len >= 2 and sbyte(s, 1) == 48 and (sbyte(s, 2) == 120 or sbyte(s, 2) == 88) then
    s = ssub(s, 3)
    len = len - 2
  end
  if len % 2 ~= 0 then return nil end
  if len == 0 then return "" end
  if sfind(s, "[^%x]") then return nil end
  return (sgsub(s, "..", HEXPAIR))
end

local LN2 = mlog(2)
local counts, seen = {}, {}
for b = 0, 255 do counts[b] = 0 end

--- entropy(s): Shannon entropy of the bytes of s in bits per byte (0 to 8);
--- 0 for an empty or non-string s. Random base64 reaches about 5.9-6,
--- random hex about 3.9-4, English text about 4-4.5 (on long strings:
--- a string of n bytes cannot exceed log2(n)).
function M.entropy(s)
  if type(s) ~= "string" then return 0 end
  local n = #s
  if n == 0 then return 0 end
  local c = counts
  local sum = 0
  if n <= 128 then
    -- short strings: remember the distinct bytes instead of scanning 256
    local d, nd = seen, 0
    for i = 1, n do
      local b = sbyte(s, i)
      local k = c[b]
      if k == 0 then nd = nd + 1; d[nd] = b end
      c[b] = k + 1
    end
    for i = 1, nd do
      local b = d[i]
      local k = c[b]
      sum = sum + k * mlog(k)
      c[b] = 0
    end
  else
    -- long strings: eight bytes per string.byte call
    local i, last8 = 1, n - 7
    while i <= last8 do
      local b1, b2, b3, b4, b5, b6, b7, b8 = sbyte(s, i, i + 7)
      c[b1] = c[b1] + 1; c[b2] = c[b2] + 1; c[b3] = c[b3] + 1; c[b4] = c[b4] + 1
      c[b5] = c[b5] + 1; c[b6] = c[b6] + 1; c[b7] = c[b7] + 1; c[b8] = c[b8] + 1
      i = i + 8
    end
    while i <= n do
      local b = sbyte(s, i)
      c[b] = c[b] + 1
      i = i + 1
    end
    for b = 0, 255 do
      local k = c[b]
      if k > 0 then
        sum = sum + k * mlog(k)
        c[b] = 0
      end
    end
  end
  local h = (mlog(n) - sum / n) / LN2
  if h < 0 then h = 0 end -- rounding on single-symbol strings
  return h
end

--- printable_ratio(s): the fraction (0..1) of bytes of s that are printable
--- ASCII (space to "~") or tab, newline, carriage return; 0 for an empty or
--- non-string s.
function M.printable_ratio(s)
  if type(s) ~= "string" then return 0 end
  local n = #s
  if n == 0 then return 0 end
  local _, bad = sgsub(s, "[^\t\n\r\32-\126]", "")
  return (n - bad) / n
end

------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------

--- any(t, pred): true when an element of the array t satisfies pred: a
--- function called with (value, index), or any other value compared with
--- ==. The second result is the first element that did. nil t: false.
function M.any(t, pred)
  if type(t) ~= "table" then return false end
  if type(pred) == "function" then
    for i, v in ipairs(t) do
      if pred(v, i) then return true, v end
    end
  else
    for _, v in ipairs(t) do
      if v == pred then return true, v end
    end
  end
  return false
end

--- count(t): the number of entries of t (all keys, not only the array
--- part); 0 for nil or a non-table.
function M.count(t)
  if type(t) ~= "table" then return 0 end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

--- set(list): a lookup table { [v] = true } of the array's values, for
--- membership tests: local SHELLS = kestrel.set{"bash", "sh"}; SHELLS[name].
function M.set(list)
  local s = {}
  if type(list) == "table" then
    for _, v in ipairs(list) do s[v] = true end
  end
  return s
end

return M
