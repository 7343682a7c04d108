"""Every construct class found in Elastic's public Linux EQL rules, on our own queries.

The shapes below were surveyed from the Linux rules of elastic/detection-rules
and the Linux behavior rules of elastic/protections-artifacts (sequences with
per-step and composite keys, runs, aliases with arithmetic, descendant of,
missing steps, sample, regex, cidrmatch, optional fields, the ~ functions...).
The queries themselves are written for this file: same constructs, different
fields, literals and logic, so nothing here is a copy of a real rule.

Each construct here once failed or was at risk (one-step `with runs`, lineage
on odd entity ids, dotted keys inside nested objects) and is now fixed.
"""

from __future__ import annotations

import pytest

from kestrel import Config, Engine

from conftest import matches, proc

# ---------------------------------------------------------------------------
# 1. Everything here must compile in the default (Elasticsearch) dialect.
# ---------------------------------------------------------------------------

COMPILES = {
    # --- event queries: comparisons, sets, null tests -----------------------
    "eq_in_not": 'process where event.type == "start" and process.name in ("vi", "nano") and not process.args == "-R"',
    "not_in_list": 'process where process.name == "tar" and not process.parent.name in ("make", "rpmbuild", "dpkg")',
    "null_tests": 'network where destination.ip != null and not (source.port == null or destination.port == 0)',
    "numeric_ops": "process where process.args_count >= 3 and process.parent.args_count < 2 and process.pid != 1",
    "float_compare": 'file where file.Ext.entropy >= 6.5 and file.size <= 1048576',
    "int_set": "process where process.Ext.ptrace.request in (16, 17, 4200)",
    "bool_literal": 'process where process.interactive == true and process.parent.interactive == false',
    "field_to_field": "process where process.user.id != process.real_user.id",
    "deep_parens": 'process where (((process.name == "a" or (process.name == "b" and not (process.args == "c")))))',
    # --- insensitive / wildcard / pattern operators --------------------------
    "colon_single": 'process where process.name : "rsync"',
    "colon_list": 'process where process.executable : ("/opt/*/bin/*", "/srv/*")',
    "colon_list_no_spaces": 'process where host.os.type:("linux","freebsd") and event.type == "start"',
    "like_list": 'file where file.path like ("/etc/profile.d/*.sh", "/etc/rc?.d/*")',
    "like_tilde": 'process where process.command_line like~ ("*--Insecure*", "*-k *")',
    "in_tilde": 'process where process.name in~ ("Socat", "NCAT")',
    "regex_raw": 'process where process.command_line regex """.*/dev/(tcp|udp)/[0-9.]+/[0-9]{2,5}.*"""',
    "regex_tilde_raw": 'dns where dns.question.name regex~ """[a-z0-9]{32,}\\.example\\.(net|org)"""',
    "regex_plain_escapes": 'process where process.command_line regex ".*[0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}.*"',
    "wildcard_escaped_backslash": 'process where process.command_line : "*\\\\u00*\\\\u00*"',
    "trailing_space_pattern": 'process where process.name : "* "',
    # --- functions, in the spellings real rules use ---------------------------
    "cidrmatch_lower": 'network where not cidrmatch(destination.ip, "10.0.0.0/8", "100.64.0.0/10", "fd00::/8", "::1")',
    "cidrmatch_camel": 'network where cidrMatch(source.ip, "192.0.2.0/24")',
    "startswith_tilde_alias_free": 'process where startswith~(process.executable, "/HOME/")',
    "stringcontains_tilde": 'process where stringcontains~(process.command_line, "Base64")',
    "endswith_upper": 'process where ENDSWITH(process.name, ".so")',
    "length_fn": "process where length(process.command_line) > 2048",
    # --- lexical odds and ends ---------------------------------------------------
    "optional_field": 'process where ?process.working_directory like "/srv/app*" and ?process.parent.name != "init"',
    "backtick_field": 'any where `labels.app.kubernetes.io/name` == "web" and event.dataset == "k8s.audit"',
    "raw_string_with_quotes": 'process where process.command_line like """perl -e print "*" x 3*"""',
    "backtick_and_pipe_inside_string": 'process where process.command_line in ("sh -c `id` | tee /tmp/o", "a|b")',
    "comments_and_blank_lines": (
        "process where\n\n  // a line comment\n  process.name == \"dd\" and /* inline */\n"
        '  process.args : "of=/dev/*" // trailing\n'
    ),
    "any_where": 'any where event.dataset == "endpoint.alerts"',
    "where_true": "process where true",
    # --- sequences -----------------------------------------------------------
    "seq_maxspan": 'sequence with maxspan=30s [process where process.name == "wget"] [file where file.extension == "elf"]',
    "seq_composite_by": (
        "sequence by host.id, user.name with maxspan=2m\n"
        '  [process where process.name == "su"]\n  [network where destination.port == 4444]'
    ),
    "seq_per_step_by": (
        "sequence with maxspan=5s\n"
        '  [process where process.name == "php-fpm"] by process.entity_id\n'
        "  [network where true] by process.parent.entity_id"
    ),
    "seq_top_and_step_by": (
        "sequence by host.id with maxspan=1m\n"
        '  [process where event.action == "end"] by process.entity_id\n'
        '  [process where process.parent.name == "ftpd"] by process.parent.entity_id'
    ),
    "seq_step_by_multi_valued_field": (
        "sequence by host.id with maxspan=1m\n"
        '  [process where process.name == "clang"] by process.args\n'
        '  [file where process.name == "ld"] by file.name'
    ),
    "seq_four_steps": (
        "sequence by process.entity_id with maxspan=2m\n"
        '  [process where event.action == "session_id_change"]\n'
        '  [network where event.action == "connection_accepted"]\n'
        '  [file where file.path == "/dev/pts/ptmx"]\n'
        '  [process where event.action == "end"]'
    ),
    "seq_runs_then_step": (
        "sequence by host.id, source.ip with maxspan=20s\n"
        '  [authentication where event.outcome == "failure"] with runs=12\n'
        '  [authentication where event.outcome == "success"]'
    ),
    "seq_runs_spaced": (
        "sequence by host.id with maxspan=2s\n"
        '  [file where event.action == "rename"] with runs = 40\n'
        '  [file where file.name : "*decrypt*"]'
    ),
    "seq_pipe_tail": (
        "sequence by host.id with maxspan=5s\n"
        '  [authentication where event.outcome == "failure"] with runs=4\n'
        '  [authentication where event.outcome == "success"] | tail 1'
    ),
    "seq_pipe_head": 'sequence [process where true] [file where true] | head 3',
    "seq_alias_in_function": (
        "sequence by process.parent.entity_id with maxspan=20s\n"
        '  [file where event.type == "creation"] as drop\n'
        "  [process where stringcontains~(process.executable, drop.file.name)]"
    ),
    "seq_alias_arithmetic": (
        "sequence by process.entity_id with maxspan=2s\n"
        "  [process where process.Ext.ptrace.addr > 0] as first\n"
        "  [process where (process.Ext.ptrace.addr - first.process.Ext.ptrace.addr) in (8, 16)] as second\n"
        "  [process where (process.Ext.ptrace.addr - second.process.Ext.ptrace.addr) in (8, 16)]"
    ),
    "seq_alias_negated_function": (
        "sequence by process.parent.entity_id with maxspan=5s\n"
        '  [process where process.name == "grep"] as g0\n'
        '  [process where process.name == "grep" and not startswith~(process.command_line, g0.process.command_line)]'
    ),
    "seq_until": (
        "sequence by process.entity_id\n"
        '  [process where process.name == "bash"]\n  [network where true]\n'
        '  until [process where event.type == "end"]'
    ),
    "seq_missing_trailing": (
        "sequence by host.id with maxspan=3m\n"
        '  [any where event.kind == "alert"]\n  ![any where event.category in ("process", "network")]'
    ),
    "seq_missing_middle": (
        "sequence by user.name with maxspan=1h\n"
        '  [authentication where event.outcome == "success"]\n'
        '  ![process where process.name == "sudo"]\n'
        '  [file where file.path == "/etc/sudoers"]'
    ),
    "seq_maxspan_units": 'sequence with maxspan=500ms [process where true] [process where true]',
    "seq_maxspan_hours": 'sequence with maxspan=2h [process where true] [process where true]',
    # --- sample and lineage ----------------------------------------------------
    "sample_composite_by": (
        "sample by host.id, process.pid\n"
        '  [process where event.action == "executed"]\n'
        '  [process where auditd.data.syscall == "socket"]\n'
        '  [network where network.direction == "egress"]'
    ),
    "descendant_of": (
        'network where event.type == "start" and descendant of '
        '[process where process.name == "xxd" and process.args : "-r*"]'
    ),
    "child_of": 'process where child of [process where process.name == "cupsd"]',
    "event_of": 'file where event of [process where process.name == "shred"]',
}


@pytest.mark.parametrize("query", list(COMPILES.values()), ids=list(COMPILES))
def test_compiles(query: str) -> None:
    Engine(Config()).add_query(query)


@pytest.mark.parametrize(
    "query",
    [
        'sequence with maxspan=30s [authentication where event.outcome == "failure"] with runs=15',
        'sequence by host.id, source.ip [authentication where event.outcome == "failure"] with runs = 5',
    ],
    ids=["single_step_runs", "single_step_runs_by"],
)
def test_single_step_sequence_with_runs_compiles(query: str) -> None:
    Engine(Config()).add_query(query)


# ---------------------------------------------------------------------------
# 2. A few constructs run against small synthetic events.
# ---------------------------------------------------------------------------


def test_colon_is_case_insensitive_and_any_of_array() -> None:
    q = 'process where process.args : ("--SOCKS5*", "-x")'
    evs = [
        proc(1, process__args=["curl", "--socks5-hostname", "h:1080"]),
        proc(2, process__args=["curl", "-o", "out"]),
    ]
    assert matches(q, evs) == [[1]]


def test_regex_matches_the_whole_value() -> None:
    q = 'process where process.args regex "-[A-Z][a-z]*"'
    evs = [proc(1, process__args=["ssh", "-Rab"]), proc(2, process__args=["ssh", "x-Rab"]), proc(3, process__args=["-r"])]
    assert matches(q, evs) == [[1]]


def test_cidrmatch_excludes_private_ranges() -> None:
    q = 'network where destination.ip != null and not cidrmatch(destination.ip, "10.0.0.0/8", "fe80::/10")'
    evs = [
        proc(1, category="network", destination__ip="10.9.8.7"),
        proc(2, category="network", destination__ip="fe80::abcd"),
        proc(3, category="network", destination__ip="203.0.113.9"),
        proc(4, category="network"),
    ]
    assert matches(q, evs) == [[3]]


def test_runs_then_success() -> None:
    q = (
        "sequence by source.ip with maxspan=30s\n"
        '  [authentication where event.outcome == "failure"] with runs=3\n'
        '  [authentication where event.outcome == "success"]'
    )

    def auth(n: int, outcome: str, ip: str) -> dict:
        return proc(n, category="authentication", event__outcome=outcome, source__ip=ip)

    evs = [
        auth(1, "failure", "198.51.100.1"), auth(2, "failure", "198.51.100.1"), auth(3, "failure", "198.51.100.2"),
        auth(4, "failure", "198.51.100.1"), auth(5, "success", "198.51.100.2"), auth(6, "success", "198.51.100.1"),
    ]
    assert matches(q, evs) == [[1, 2, 4, 6]]


def test_alias_arithmetic_chain() -> None:
    q = (
        "sequence by process.entity_id with maxspan=1s\n"
        "  [process where process.Ext.ptrace.addr >= 4096] as a\n"
        "  [process where (process.Ext.ptrace.addr - a.process.Ext.ptrace.addr) in (8, 16)] as b\n"
        "  [process where (process.Ext.ptrace.addr - b.process.Ext.ptrace.addr) in (8, 16)]"
    )

    def pt(n: int, addr: int, eid: str) -> dict:
        return proc(n, t=n / 10, process__entity_id=eid, process__Ext={"ptrace": {"addr": addr}})

    hit = [pt(1, 8192, "p"), pt(2, 8200, "p"), pt(3, 8216, "p")]
    miss = [pt(4, 8192, "q"), pt(5, 8200, "q"), pt(6, 8300, "q")]
    assert matches(q, hit + miss) == [[1, 2, 3]]


def test_alias_in_case_insensitive_function() -> None:
    q = (
        "sequence with maxspan=10s\n"
        "  [file where true] as f\n"
        "  [dns where startswith~(process.executable, f.file.path)]"
    )
    evs = [
        proc(1, category="file", file__path="/tmp/Stage2"),
        proc(2, category="dns", process__executable="/opt/other"),
        proc(3, category="dns", process__executable="/TMP/stage2"),
    ]
    assert matches(q, evs) == [[1, 3]]


def test_missing_trailing_step() -> None:
    q = (
        "sequence by host.id with maxspan=1m\n"
        '  [any where event.kind == "alert"]\n  ![any where event.category == "process"]'
    )
    quiet = [proc(1, t=0, category="intrusion_detection", event__kind="alert", host__id="h1")]
    noisy = [
        proc(2, t=0, category="intrusion_detection", event__kind="alert", host__id="h2"),
        proc(3, t=5, category="process", host__id="h2"),
    ]
    assert matches(q, quiet + noisy) == [[1]]


def test_descendant_of_reaches_grandchildren() -> None:
    q = 'network where descendant of [process where process.name == "xxd"]'

    def start(n: int, eid: str, parent: str, name: str) -> dict:
        return proc(n, event__type="start", process__entity_id=eid, process__parent__entity_id=parent, process__name=name)

    evs = [
        start(1, "root", "init", "xxd"),
        start(2, "kid", "root", "sh"),
        start(3, "grandkid", "kid", "curl"),
        start(4, "other", "init", "sshd"),
        proc(5, category="network", process__entity_id="grandkid"),
        proc(6, category="network", process__entity_id="other"),
    ]
    assert matches(q, evs) == [[5]]


def test_sample_ignores_time_order_within_key() -> None:
    # A sample joins on the key whatever the arrival order; its events come back in step order.
    q = "sample by host.id [process where process.name == \"nc\"] [network where destination.port == 9001]"
    evs = [
        proc(1, category="network", host__id="h1", destination__port=9001),
        proc(2, host__id="h2", process__name="nc"),
        proc(3, host__id="h1", process__name="nc"),
    ]
    assert matches(q, evs) == [[3, 1]]


def test_lineage_survives_unhashable_entity_ids() -> None:
    engine = Engine(Config())
    engine.add_query('network where descendant of [process where process.name == "xxd"]', id="lineage")
    event = proc(1, event__type="start", process__name="xxd", process__entity_id=["a"], process__parent__entity_id="p")
    engine.process(event)
    assert engine.stats.rule_errors <= 1


def test_backtick_field_under_nested_object_with_dotted_key() -> None:
    q = 'any where `labels.app.kubernetes.io/name` == "web"'
    ev = proc(1, category="iam", labels={"app.kubernetes.io/name": "web"})
    assert matches(q, [ev]) == [[1]]


def test_term_coercion_in_elasticsearch_dialect() -> None:
    """`user.id == 0` finds the ECS keyword "0" and `port == "443"` the number
    443, as an Elasticsearch term query would; the index must agree."""
    from kestrel import Config, Engine

    e = Engine(Config())
    e.add_query("process where user.id == 0", id="root-eq")
    e.add_query('process where user.id in (0, 1000)', id="root-in")
    e.add_query('network where destination.port == "443"', id="port-str")
    ev = {"event": {"category": "process"}, "user": {"id": "0"}}
    assert sorted(a.rule.id for a in e.process(ev)) == ["root-eq", "root-in"]
    assert [a.rule.id for a in e.process({"event": {"category": "network"}, "destination": {"port": 443}})] == ["port-str"]
    assert e.process({"event": {"category": "process"}, "user": {"id": "01"}}) == []
    eg = Engine(Config(dialect="endgame"))
    eg.add_query("process where user_id == 0", id="eg")
    assert eg.process({"event_type": "process", "user_id": "0"}) == []
