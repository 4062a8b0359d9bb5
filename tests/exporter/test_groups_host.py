# SPDX-License-Identifier: GPL-2.0-only
"""process-exporter's groups (exporter/taskmon_exporter/groups.py) on the
host: its configuration read unchanged (comm, exe and cmdline matchers,
name templates, first match wins), the namedprocess_namegroup_* series
with its names, label names and types (compared with Debian's
prometheus-process-exporter when it is installed), counters that never go
backwards when members exit, children joining their parent's group.
The figures come from a fake stats source and a fake /proc (command lines,
VmSwap, btime); tests/exporter/test_e2e_vm.py has the real module.

    PYTHONPATH=exporter /usr/bin/python3 -m pytest tests/exporter/test_groups_host.py
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import types
import urllib.request

import pytest

pytest.importorskip("prometheus_client", reason="python3-prometheus-client is not installed "
                    "(apt-get install python3-prometheus-client, or scripts/setup-host)")
pytest.importorskip("yaml", reason="python3-yaml is not installed (apt-get install python3-yaml)")

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from taskmon_exporter.collector import HiddenScanner, TaskmonCollector  # noqa: E402
from taskmon_exporter.config import ConfigError, parse  # noqa: E402
from taskmon_exporter.groups import GroupError, GroupTracker, parse_process_names  # noqa: E402
import required  # noqa: E402 - tests/pylib (conftest.py puts it on sys.path)
from promvm import PROCESS_EXPORTER as PROCESS_EXPORTER_BINARY  # noqa: E402
from test_shipped_files import tool  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(ROOT, "exporter", "taskmon-exporter")
BTIME = 1_700_000_000
SEC = 1_000_000_000

#: process-exporter 0.7's families, as Debian's prometheus-process-exporter
#: serves them: (name in the text format, type, label names).
PROCESS_EXPORTER = {
    ("namedprocess_namegroup_num_procs", "gauge", ("groupname",)),
    ("namedprocess_namegroup_cpu_seconds_total", "counter", ("groupname", "mode")),
    ("namedprocess_namegroup_memory_bytes", "gauge", ("groupname", "memtype")),
    ("namedprocess_namegroup_num_threads", "gauge", ("groupname",)),
    ("namedprocess_namegroup_states", "gauge", ("groupname", "state")),
    ("namedprocess_namegroup_context_switches_total", "counter",
     ("ctxswitchtype", "groupname")),
    ("namedprocess_namegroup_major_page_faults_total", "counter", ("groupname",)),
    ("namedprocess_namegroup_minor_page_faults_total", "counter", ("groupname",)),
    ("namedprocess_namegroup_oldest_start_time_seconds", "gauge", ("groupname",)),
}


def proc_stats(pid, comm, start=100, ppid=1, state="S", uid=0, cpu=(1, 0), faults=(10, 1),
               ctxsw=(5, 2), rss=(4096, 0, 0), vsize=1 << 20, threads=1, sample=1000):
    return types.SimpleNamespace(
        pid=pid, comm=comm, ppid=ppid, state=state, uid=uid, threads=threads,
        user_ns=cpu[0] * SEC, system_ns=cpu[1] * SEC, minor_faults=faults[0],
        major_faults=faults[1], voluntary_ctxsw=ctxsw[0], involuntary_ctxsw=ctxsw[1],
        rss_anon_bytes=rss[0], rss_file_bytes=rss[1], rss_shmem_bytes=rss[2],
        vsize_bytes=vsize, start_time_ns=start * SEC, sample_time_ns=sample * SEC)


@pytest.fixture
def fakeproc(tmp_path):
    """A /proc with btime and, per process, cmdline and status files."""
    root = tmp_path / "proc"
    root.mkdir()
    (root / "stat").write_text(f"cpu 1 2 3\nbtime {BTIME}\n")

    def add(pid, *argv, swap_kb=0):
        d = root / str(pid)
        d.mkdir(exist_ok=True)
        (d / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in argv))
        (d / "status").write_text(f"Name:\tx\nVmSwap:\t{swap_kb} kB\n")
    add.root = str(root)
    return add


RULES = r"""
process_names:
  - name: "{{.Comm}}"
    comm: [bash]
  - name: "exe:{{.ExeBase}}:{{.ExeFull}}"
    exe: [/usr/sbin/nginx, postgres]
  - name: "prom:{{.Matches.cfg}} {{ .Username }}/{{.PID}}"
    cmdline: ['prometheus\s+--config.file=(?P<cfg>\S+)', 'web']
  - comm: [late]
  - name: "never"
    comm: [bash]
"""


def names(rules, fakeproc, *procs):
    tracker = GroupTracker(rules, fakeproc.root)
    return {name: g.procs for name, g in tracker.update({p.pid: p for p in procs}).items()}


def test_matchers_and_templates(fakeproc):
    rules = parse_process_names(RULES, "all.yaml")
    fakeproc(10, "bash", "-l")
    fakeproc(11, "/usr/sbin/nginx", "-g", "daemon off;")
    fakeproc(12, "/opt/nginx/nginx")                     # not the path asked for
    fakeproc(13, "/usr/lib/postgresql/15/bin/postgres")  # any path: no "/" in the rule
    fakeproc(14, "/usr/bin/prometheus", "--config.file=/etc/p.yml", "--web.enable-lifecycle")
    fakeproc(15, "/usr/bin/prometheus", "--config.file=/etc/q.yml")  # no "web": all must match
    fakeproc(16, "/usr/local/bin/late-runner")
    got = names(rules, fakeproc,
                proc_stats(10, "bash"), proc_stats(11, "nginx"), proc_stats(12, "nginx"),
                proc_stats(13, "postgres"), proc_stats(14, "prometheus"),
                proc_stats(15, "prometheus"), proc_stats(16, "late"), proc_stats(17, "kworker/0"))
    assert got == {
        "bash": 1,                                   # the first rule that matches wins
        "exe:nginx:/usr/sbin/nginx": 1,
        "exe:postgres:/usr/lib/postgresql/15/bin/postgres": 1,
        "prom:/etc/p.yml root/14": 1,
        "late-runner": 1,                            # default name: {{.ExeBase}}
    }


def test_exe_base_without_command_line(fakeproc):
    """A kernel thread has no command line: .ExeBase is its comm, and an
    exe rule does not match it (as in process-exporter)."""
    rules = parse_process_names("process_names:\n  - comm: [kthreadd]\n"
                                "  - exe: [kworker]\n", "k.yaml")
    fakeproc(2)
    fakeproc(3)
    assert names(rules, fakeproc, proc_stats(2, "kthreadd"), proc_stats(3, "kworker")) \
        == {"kthreadd": 1}


@pytest.mark.parametrize("text, message", [
    ("process_names: [", "not valid YAML"),
    ("names: []", "expected process-exporter's format"),
    ("process_names:\n  - name: x\n", "process_names[0]: no matchers provided"),
    ("process_names:\n  - comm: bash\n", "process_names[0].comm must be a list of strings"),
    ("process_names:\n  - cmdline: ['(']\n", "process_names[0].cmdline[0]: bad regular"),
    ("process_names:\n  - comm: [a]\n  - name: '{{.StartTime}}'\n    comm: [b]\n",
     "process_names[1].name: template action {{.StartTime}} is not supported"),
    ("process_names:\n  - name: '{{if .Comm}}x{{end}}'\n    comm: [b]\n", "is not supported"),
    ("process_names:\n  - name: '{{.Comm'\n    comm: [b]\n", "unbalanced"),
])
def test_bad_process_names(text, message):
    with pytest.raises(GroupError) as info:
        parse_process_names(text, "pe.yaml")
    assert message in str(info.value) and str(info.value).startswith("pe.yaml: ")


def test_unknown_rule_key_is_ignored_as_process_exporter_does(caplog):
    rules = parse_process_names("process_names:\n  - comm: [a]\n    comment: hi\n", "pe.yaml")
    assert len(rules) == 1
    assert "unknown key(s) ignored: comment" in caplog.text


def test_counters_never_go_backwards(fakeproc):
    """First scrape: a baseline (what the processes did before is not the
    group's, as in process-exporter); then each member's progress; an
    exited member's share stays; a pid reused by a new process is a new
    member; the group without members is still served, its counters kept."""
    rules = parse_process_names("process_names:\n  - name: w\n    comm: [w]\n", "w.yaml")
    for pid in (20, 21, 22):
        fakeproc(pid, "w")
    tracker = GroupTracker(rules, fakeproc.root)
    first = tracker.update({20: proc_stats(20, "w", cpu=(5, 1)),
                            21: proc_stats(21, "w", cpu=(7, 0))})
    assert first["w"].counters[:2] == [0, 0] and first["w"].procs == 2
    second = tracker.update({20: proc_stats(20, "w", cpu=(6, 1), sample=1010),
                             21: proc_stats(21, "w", cpu=(9, 1), sample=1010)})
    assert second["w"].counters[:2] == [3 * SEC, 1 * SEC]
    # 21 exits; 22 started after the last scrape: all it did counts.
    third = tracker.update({20: proc_stats(20, "w", cpu=(6, 1), sample=1020),
                            22: proc_stats(22, "w", cpu=(2, 0), start=1015, sample=1020)})
    assert third["w"].counters[:2] == [5 * SEC, 1 * SEC] and third["w"].procs == 2
    # pid 20 reused by a new process (another start time) with less CPU:
    # a new member, not a counter going down.
    fourth = tracker.update({20: proc_stats(20, "w", cpu=(1, 0), start=1025, sample=1030),
                             22: proc_stats(22, "w", cpu=(2, 0), start=1015, sample=1030)})
    assert fourth["w"].counters[:2] == [6 * SEC, 1 * SEC]
    empty = tracker.update({})
    assert empty["w"].procs == 0 and empty["w"].counters[:2] == [6 * SEC, 1 * SEC]


def exit_record(pid, comm, start, cpu=(1, 0), faults=(10, 1), ctxsw=(5, 2), ppid=1, uid=0,
                lost=0):
    """A stand-in for taskmon.ExitRecord: the final figures of *pid*."""
    return types.SimpleNamespace(
        pid=pid, comm=comm, ppid=ppid, uid=uid, start_time_ns=start * SEC,
        user_ns=cpu[0] * SEC, system_ns=cpu[1] * SEC, minor_faults=faults[0],
        major_faults=faults[1], voluntary_ctxsw=ctxsw[0], involuntary_ctxsw=ctxsw[1], lost=lost)


def exits_tracker(fakeproc, rules="process_names:\n  - name: w\n    comm: [w]\n"):
    tracker = GroupTracker(parse_process_names(rules, "w.yaml"), fakeproc.root)
    tracker.follow_exits = True
    return tracker


def test_exit_records_count_a_members_last_figures(fakeproc):
    """A member's figures between its last scrape and its exit count (its
    exit record minus the last scrape's), whether the record comes at the
    next scrape or one later; a record of a reused pid (another start
    time) is not mistaken for the member."""
    fakeproc(20, "w")
    fakeproc(21, "w")
    tracker = exits_tracker(fakeproc)
    tracker.update({20: proc_stats(20, "w", cpu=(5, 1)), 21: proc_stats(21, "w", cpu=(7, 0))})
    second = tracker.update({20: proc_stats(20, "w", cpu=(6, 1), faults=(12, 1), sample=1010),
                             21: proc_stats(21, "w", cpu=(8, 0), sample=1010)})
    assert second["w"].counters == [2 * SEC, 0, 2, 0, 0, 0]
    # 20 exits with 3 s more user time, 1 s more system, 8 more faults;
    # its record comes now.  21 exits too, its record only one scrape later.
    third = tracker.update({}, [exit_record(20, "w", 100, cpu=(9, 2), faults=(20, 2),
                                            ctxsw=(6, 4))])
    assert third["w"].counters == [5 * SEC, 1 * SEC, 10, 1, 1, 2] and third["w"].procs == 0
    fourth = tracker.update({}, [exit_record(21, "w", 999, cpu=(50, 0)),    # pid reused, died
                                 exit_record(21, "w", 100, cpu=(10, 0))])
    # 21's own record adds 2 s; the reused pid started before the first
    # scrape (the baseline) and is not counted.
    assert fourth["w"].counters[:2] == [7 * SEC, 1 * SEC]
    assert tracker.exits_read == 3


def test_exit_record_of_a_zombie_still_listed(fakeproc):
    """A member whose record comes while it is still listed (a zombie its
    parent has not reaped): its final figures count once, not again at the
    scrapes that still list it, nor when it leaves the list; it stays in
    its group (as a zombie: its command line is gone, it is not named
    again)."""
    fakeproc(20, "w", "--serve")
    tracker = exits_tracker(fakeproc, "process_names:\n  - name: w\n    cmdline: [serve]\n")
    tracker.update({20: proc_stats(20, "w", cpu=(5, 1))})
    got = tracker.update({20: proc_stats(20, "w", cpu=(6, 1), sample=1010)},
                         [exit_record(20, "w", 100, cpu=(8, 1))])
    assert got["w"].counters[:2] == [3 * SEC, 0] and got["w"].procs == 1
    fakeproc(20)                                  # a zombie's command line is empty
    got = tracker.update({20: proc_stats(20, "w", cpu=(8, 1), state="Z", sample=1020)})
    assert got["w"].counters[:2] == [3 * SEC, 0]
    assert got["w"].procs == 1 and got["w"].states["Zombie"] == 1
    for _ in range(GroupTracker.DEPARTED_SCRAPES + 1):
        got = tracker.update({})
    assert got["w"].counters[:2] == [3 * SEC, 0] and got["w"].procs == 0


def test_exit_records_count_processes_no_scrape_saw(fakeproc):
    """A process that started after the first scrape and exited before the
    next is counted whole, in the group its comm rule names (a rule with an
    exe or cmdline matcher cannot be decided: it stops the rules) or its
    parent's (a member, or a process of the same records); one that
    started before the first scrape is the baseline, not counted."""
    rules = ("process_names:\n"
             "  - name: 'cmd:{{.Comm}}'\n    cmdline: ['--tag']\n"
             "  - name: '{{.Comm}}-{{.ExeBase}}'\n    comm: [w]\n")
    fakeproc(30, "make", "--tag")
    tracker = exits_tracker(fakeproc, rules)
    tracker.update({30: proc_stats(30, "make", start=50, sample=1000)})
    got = tracker.update({30: proc_stats(30, "make", start=50, sample=1010)}, [
        exit_record(40, "w", 1001, cpu=(3, 1)),                    # the comm rule is reached?
        exit_record(41, "cc", 1002, cpu=(2, 2), ppid=30),           # child of a member
        exit_record(42, "sh", 1003, cpu=(1, 0), ppid=1),
        exit_record(43, "as", 1004, cpu=(4, 0), ppid=42),           # grandchild: no group
        exit_record(44, "w", 900, cpu=(9, 9)),                      # before the first scrape
        exit_record(45, "ld", 1005, cpu=(1, 1), ppid=41),           # child of a short-lived
    ])
    # 40: the cmdline rule comes first and cannot be decided: no rule
    # names it, and its parent (1) is in no group.
    assert "w-w" not in got
    assert got["cmd:make"].counters == [3 * SEC, 3 * SEC, 20, 2, 10, 4]
    assert got["cmd:make"].procs == 1
    assert sorted(got) == ["cmd:make"]
    comm_first = exits_tracker(fakeproc, "process_names:\n  - name: '{{.Comm}}-{{.ExeBase}}'\n"
                               "    comm: [w]\n  - cmdline: ['x']\n")
    comm_first.update({30: proc_stats(30, "make", start=50, sample=1000)})
    got = comm_first.update({}, [exit_record(40, "w", 1001, cpu=(3, 1))])
    assert got["w-w"].counters[:2] == [3 * SEC, 1 * SEC]


def test_exit_records_unused_without_subscription(fakeproc):
    """Without the subscription (follow_exits False) records are not
    looked at: today's counting, a member's last figures lost."""
    fakeproc(20, "w")
    tracker = exits_tracker(fakeproc)
    tracker.follow_exits = False
    tracker.update({20: proc_stats(20, "w", cpu=(5, 1))})
    got = tracker.update({}, [exit_record(20, "w", 100, cpu=(9, 2)),
                              exit_record(21, "w", 1005, cpu=(9, 2))])
    assert got["w"].counters[:2] == [0, 0]


def test_children_join_their_parents_group(fakeproc):
    rules = parse_process_names("process_names:\n  - name: web\n    comm: [nginx]\n", "n.yaml")
    fakeproc(30, "nginx")
    fakeproc(31, "sh", "-c", "x")
    fakeproc(32, "sleep", "9")
    fakeproc(33, "other")
    procs = {30: proc_stats(30, "nginx", start=10), 31: proc_stats(31, "sh", start=11, ppid=30),
             32: proc_stats(32, "sleep", start=12, ppid=31), 33: proc_stats(33, "other", start=13)}
    assert GroupTracker(rules, fakeproc.root).update(procs)["web"].procs == 3
    alone = GroupTracker(rules, fakeproc.root, children=False).update(procs)
    assert alone["web"].procs == 1


def test_gauges(fakeproc):
    rules = parse_process_names("process_names:\n  - name: g\n    comm: [a, b, c]\n", "g.yaml")
    fakeproc(40, "a", swap_kb=8)
    fakeproc(41, "b")
    fakeproc(42, "c")
    group = GroupTracker(rules, fakeproc.root).update({
        40: proc_stats(40, "a", state="R", start=50, threads=3, rss=(4096, 8192, 0)),
        41: proc_stats(41, "b", state="D", start=20, vsize=100),
        42: proc_stats(42, "c", state="I", start=70)})["g"]
    assert group.procs == 3 and group.threads == 5
    assert group.resident == 4096 + 8192 + 4096 * 2
    assert group.virtual == (1 << 20) * 2 + 100
    assert group.swapped == 8 * 1024
    assert group.states == {"Running": 1, "Sleeping": 0, "Waiting": 1, "Zombie": 0, "Other": 1}
    assert group.oldest_start == BTIME + 20


class Source:
    """The fake stats source of the collector (test_exporter_host's kind)."""

    def __init__(self, procs):
        self.procs = procs
        self.device = "/dev/fake"

    def module(self):
        return True, "1.0"

    def scrape(self):
        import contextlib
        source = self

        class Reader:
            def all_pids(self):
                return sorted(source.procs)

            def stats(self, pids):
                return {p: source.procs[p] for p in pids if p in source.procs}

            def hidden(self, settle):
                return None
        return contextlib.nullcontext(Reader())


class Exits:
    """A fake exit-record subscription: the records queued in *queue*."""

    def __init__(self, queue):
        self.queue = queue
        self.closed = False

    def try_next(self):
        return self.queue.pop(0) if self.queue else None

    def close(self):
        self.closed = True


def served(collector):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry).decode()


def shape(text):
    """{(name, type, label names)} of the namedprocess families in *text*."""
    out = set()
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("namedprocess_namegroup_"):
            continue
        for sample in family.samples:
            out.add((sample.name, family.type, tuple(sorted(sample.labels))))
    return out


def test_collector_serves_process_exporter_series(fakeproc, tmp_path):
    path = tmp_path / "pe.yaml"
    path.write_text("process_names:\n  - name: '{{.Comm}}'\n    cmdline: ['.+']\n")
    fakeproc(50, "bash")
    fakeproc(51, "bash")
    source = Source({50: proc_stats(50, "bash"), 51: proc_stats(51, "bash")})
    config = parse(f'proc = "{fakeproc.root}"\nhidden = false\n'
                   f'[groups]\nconfig = "{path}"\n', "c.toml")
    from taskmon_exporter.groups import load_process_names
    config.group_rules = load_process_names(config.groups_config)
    collector = TaskmonCollector(config, source)
    served(collector)
    source.procs[50] = proc_stats(50, "bash", cpu=(3, 1), sample=1010)
    text = served(collector)
    assert shape(text) == PROCESS_EXPORTER
    assert 'namedprocess_namegroup_cpu_seconds_total{groupname="bash",mode="user"} 2.0' in text
    assert 'namedprocess_namegroup_num_procs{groupname="bash"} 2.0' in text
    assert 'namedprocess_namegroup_context_switches_total{ctxswitchtype="nonvoluntary",' \
        'groupname="bash"} 0.0' in text
    assert 'namedprocess_namegroup_memory_bytes{groupname="bash",memtype="resident"} 8192.0' \
        in text
    result = subprocess.run([tool("promtool", "prometheus"), "check", "metrics"], input=text,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), \
        result.stdout + result.stderr


def test_same_shape_as_prometheus_process_exporter(tmp_path):
    """Debian's prometheus-process-exporter, run on this host's /proc as
    this user, serves these families with these types and label names."""
    # The copy tests/exporter/prometheus-tools unpacks (scripts/test's
    # setup), or an installed one.
    binary = (PROCESS_EXPORTER_BINARY if os.access(PROCESS_EXPORTER_BINARY, os.X_OK)
              else shutil.which("prometheus-process-exporter"))
    if binary is None:
        required.tool(False, "prometheus-process-exporter is not unpacked "
                      "(run tests/exporter/prometheus-tools)")
    path = tmp_path / "pe.yaml"
    path.write_text("process_names:\n  - name: '{{.Comm}}'\n    cmdline: ['.+']\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([binary, "-config.path", str(path), "-threads=false",
                             "-web.listen-address", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=10) as reply:
                    text = reply.read().decode()
                break
            except OSError:
                if time.monotonic() > end or proc.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    theirs = shape(text)
    # What they serve beyond these (I/O bytes, file descriptors, wchans,
    # proportional memory) needs ptrace access: docs/exporter.md.
    assert PROCESS_EXPORTER <= theirs, PROCESS_EXPORTER - theirs
    memtypes = {s.labels["memtype"] for f in text_string_to_metric_families(text)
                if f.name == "namedprocess_namegroup_memory_bytes" for s in f.samples}
    assert {"resident", "virtual", "swapped"} <= memtypes


def test_groups_config_errors_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("process_names:\n  - name: x\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "exporter"))
    for args, message in ((["--groups.config", str(bad)], "no matchers provided"),
                          (["--groups.config", "/nonexistent.yaml"], "cannot read")):
        result = subprocess.run([sys.executable, LAUNCHER, *args], capture_output=True,
                                text=True, env=env, timeout=60)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    with pytest.raises(ConfigError, match=r"unknown key\(s\) in \[groups\]: conf"):
        parse("[groups]\nconf = 'x'\n", "c.toml")


def test_collector_counts_exit_records(fakeproc, tmp_path, caplog):
    """The collector subscribes at its start, drains the records at each
    scrape and serves the subscription's state and the lost records; a
    source without exit records is logged once and served as 0."""
    path = tmp_path / "pe.yaml"
    path.write_text("process_names:\n  - name: '{{.Comm}}'\n    comm: [bash]\n")
    fakeproc(50, "bash")
    source = Source({50: proc_stats(50, "bash")})
    queue = []
    source.exits = lambda: Exits(queue)
    config = parse(f'proc = "{fakeproc.root}"\nhidden = false\n'
                   f'[groups]\nconfig = "{path}"\n', "c.toml")
    from taskmon_exporter.groups import load_process_names
    config.group_rules = load_process_names(config.groups_config)
    collector = TaskmonCollector(config, source)
    text = served(collector)
    assert "taskmon_exporter_exit_records 1.0" in text
    del source.procs[50]
    queue.append(exit_record(50, "bash", 100, cpu=(4, 0), lost=3))
    text = served(collector)
    assert 'namedprocess_namegroup_cpu_seconds_total{groupname="bash",mode="user"} 3.0' in text
    assert "taskmon_exporter_exit_records_lost_total 3.0" in text
    # A failed read ends the subscription alone (the next scrape
    # subscribes again); the hidden-process scan's thread goes on.
    failing = collector._exits

    def broken():
        raise OSError(5, "Input/output error")
    failing.try_next = broken
    scanner = collector._hidden = HiddenScanner(source, 0, 3600, lambda what, exc: None)
    scanner.start()
    text = served(collector)
    assert failing.closed and scanner.running
    assert "taskmon_exporter_exit_records 0.0" in text
    text = served(collector)
    assert "taskmon_exporter_exit_records 1.0" in text
    exits = collector._exits
    collector.close()
    assert exits.closed and not scanner.running

    del source.exits
    caplog.set_level("INFO")
    collector = TaskmonCollector(config, source)
    for _ in range(2):
        text = served(collector)
        assert "taskmon_exporter_exit_records 0.0" in text
    assert caplog.text.count("groups: no exit records") == 1
