# SPDX-License-Identifier: GPL-2.0-only
"""taskmon-exporter beside the real process-exporter (issue #23), in the
test VM: Debian's prometheus-process-exporter (unpacked by
tests/exporter/prometheus-tools, never installed) and taskmon-exporter run
with the same process-exporter configuration over the same processes,
and a real Prometheus scrapes both every 2 s. Two configurations:

- "all": the one Debian ships (examples/all.yaml: every process with a
  command line, grouped by {{.Comm}}); process-exporter without its
  per-thread and smaps series (-threads=false -gather-smaps=false: taskmon
  does not serve them, and they cost it more than a scrape interval
  under TCG), the rest as Debian runs it;
- "rules": comm, exe (base name and full path) and cmdline matchers, the
  name templates {{.Comm}}, {{.ExeBase}} (the default), {{.ExeFull}},
  {{.Matches.NAME}} and {{.Username}}, a rule that first match wins
  leaves empty, and children that match no rule joining their parent's
  group.

The processes: two spinners burning CPU (user and system), idle
sleepers, and a forker that spawns short-lived children (3.5 s each,
more than a scrape interval: both see every one alive). They are started
and exec'd before the exporters (a process is named once, when first
seen, and before its exec it has pytest's comm and command line), idle
until both exporters have scraped once; then they go, so both count
everything they do from the same baseline. Once the forker's children
are gone, the spinners are stopped (SIGSTOP) and the figures settle;
then, for every group, asked from Prometheus's HTTP API (the last
sample of each series):

- num_procs is equal (every group of both configurations), and the
  forker's group counted its children while they ran;
- CPU seconds (each mode), memory (resident, virtual, swapped), threads,
  states, page faults, context switches and the oldest start time agree
  within the tolerances below; while the spinners ran, their CPU agreed
  too, within the CPU they burn during the two scrapes;
- every series name process-exporter serves exists in taskmon's output
  with the same label names and label values, except the ones taskmon
  does not serve for want of the data (NOT_SERVED, docs/exporter.md).

Tolerances (per group; n = the processes the group ever had):

- CPU, settled: 20 ms per process and mode either way: process-exporter
  reads /proc/PID/stat, in clock ticks (USER_HZ 100: 10 ms, truncated),
  taskmon nanoseconds. Plus, taskmon above, 100 ms per process that
  exited: what it did after the last scrape that saw it (its exit, tens
  of ms under TCG) process-exporter never sees, and taskmon may (a zombie
  not yet reaped, the module's exit records).
- CPU, live (the spinners): both series are interpolated at the same
  instants (the sample times of taskmon's), then the difference must stay
  within 10 ms per process and mode plus what the group burns during the
  two scrapes (the CPU rate times the sum of both scrape durations, which
  Prometheus records): a scrape's figures are read somewhere between its
  start, the sample's timestamp, and its end.
- Resident memory: 3 x 64 pages per process. Since 6.2 the RSS counters
  are per CPU and /proc/PID/stat reads an approximation
  (percpu_counter_read, up to batch 32 x CPUs pages off for each of file,
  anon and shmem) where taskmon sums them exactly; 6.1 caches up to 64
  events per thread. Virtual memory and swap: equal.
- Oldest start time: process-exporter serves whole seconds (truncated),
  taskmon the fraction too: within [0, 1 s + 20 ms) above it (/proc's
  start time is in clock ticks). A group without members:
  process-exporter serves Go's zero time (-62135596800), taskmon 0
  (docs/exporter.md); not compared.
- Counters besides CPU (faults, context switches): 2 per process either
  way, plus, taskmon above, 5 per process that exited (its last
  switches).

Run in the guest as root with the module loaded (tests/run-guest-suites
--suites exporter, or as test_e2e_vm.py says); skipped elsewhere, a
failure with TASKMON_IN_VM=1. About 50 s in the guest under TCG, on a
loaded host.
"""
import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import sys
import time

import pytest

from promvm import (PROCESS_EXPORTER, PROCESS_EXPORTER_ALL_YAML, PROMETHEUS, api, free_port,
                    require, start_prometheus, stop, wait_port, wait_ready)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORTER = os.path.join(ROOT, "exporter")
#: Prometheus's scrape interval and time-out: each exporter takes up to a
#: second or so a scrape under TCG on a loaded host; a failed scrape is
#: only a missing sample.
SCRAPE_S = 2.0
#: The forker's children: how many, one every PERIOD s, each living LIFE s
#: (more than a scrape interval: both exporters see every one alive).
CHILDREN, PERIOD, LIFE = 4, 0.5, 3.5
#: process-exporter's series that taskmon-exporter does not serve: I/O
#: bytes, file descriptors, wait channels and per-thread series need
#: ptrace access to every process; its scrape counters are its own
#: (docs/exporter.md). Everything else must be there, alike.
NOT_SERVED = {"namedprocess_namegroup_read_bytes_total",
              "namedprocess_namegroup_write_bytes_total",
              "namedprocess_namegroup_open_filedesc", "namedprocess_namegroup_worst_fd_ratio",
              "namedprocess_namegroup_threads_wchan", "namedprocess_scrape_errors",
              "namedprocess_scrape_partial_errors", "namedprocess_scrape_procread_errors"}
NOT_SERVED_PREFIX = "namedprocess_namegroup_thread_"
#: memtype values taskmon does not serve (smaps_rollup, ptrace access).
NOT_SERVED_MEMTYPES = {"proportionalResident", "proportionalSwapped"}
PAGE = os.sysconf("SC_PAGE_SIZE")
CPU_TICKS_S = 0.010
CPU_SETTLED_S = 0.020
#: What a process that exited may do after the last scrape that saw it
#: (its exit: unmapping its memory, the last switches), which taskmon
#: counts from its exit record and process-exporter cannot: a fork, exec
#: and exit of /bin/true costs tens of ms under TCG (docs/performance.md);
#: on the VM's 9p root, exit() closes each file by a round trip to the
#: host, a voluntary switch each: a `sleep` child switched 13 to 16 times
#: between the middle of its sleep and its exit record (6.12).
EXIT_CPU_S = 0.100
EXIT_EVENTS = 30
RSS_PAGES = 3 * 64
START_S = 0.020
EVENTS = 2
#: In "all", a child first seen between its fork and its exec is named by
#: its parent's comm (sbs-forker) for good, by either exporter (both name
#: a process once): their counters are compared summed.
MERGED = {"sbs-forker": "sbs-forker+sbs-child", "sbs-child": "sbs-forker+sbs-child"}

pytestmark = pytest.mark.vm

# Each Python process blocks SIGUSR1, says it is ready (a file) and waits
# for SIGUSR1 before it does anything: both exporters first see it idle.
WORKLOAD = r'''
import os, signal, sys, time
mode, args = sys.argv[1], sys.argv[2:]
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
if mode == "spin":  # spin READY BURN REST: burn BURN s (user and system), rest REST s
    ready, burn, rest = args[0], float(args[1]), float(args[2])
else:  # forker --tag=TAG READY CHILD COUNT PERIOD LIFE DONE
    ready, child, count, period, life, done = args[1:7]
open(ready, "w").close()
signal.sigwait({signal.SIGUSR1})
if mode == "spin":
    while True:
        end = time.monotonic() + burn
        while time.monotonic() < end:
            os.getppid()
        time.sleep(rest)
kids = set()


def reap():
    for pid in list(kids):
        if os.waitpid(pid, os.WNOHANG)[0]:
            kids.discard(pid)


for _ in range(int(count)):
    kids.add(os.posix_spawn(child, [child, life], os.environ))
    end = time.monotonic() + float(period)
    while time.monotonic() < end:
        reap()
        time.sleep(0.05)
while kids:
    reap()
    time.sleep(0.05)
open(done, "w").close()
while True:
    signal.pause()
'''


def _problem():
    if not os.path.exists("/dev/taskmonitor"):
        return "/dev/taskmonitor missing: taskmonitor.ko is not loaded (run in the test VM)"
    for path, what in ((PROMETHEUS, "prometheus"), (PROCESS_EXPORTER, "process-exporter"),
                       (PROCESS_EXPORTER_ALL_YAML, "process-exporter's all.yaml")):
        if not os.path.exists(path):
            return f"{path} missing ({what}: run tests/exporter/prometheus-tools)"
    try:
        import taskmon
        import yaml
        del taskmon, yaml
    except ImportError as exc:
        return f"{exc.name} cannot be imported ({exc}): set PYTHONPATH to a build"
    return None


@pytest.fixture(scope="module", autouse=True)
def _requirements():
    require(_problem())


def rules_yaml(bin_dir):
    return f"""\
process_names:
  - name: "comm:{{{{.Comm}}}}"
    comm: [sbs-idle]
  - exe: [sbs-spin]
  - name: "full:{{{{.ExeFull}}}}"
    exe: [{bin_dir}/sbs-solo]
  - name: "forker:{{{{.Matches.tag}}}}:{{{{.Username}}}}"
    cmdline: ['workload\\.py forker --tag=(?P<tag>\\w+)']
  - name: never
    comm: [sbs-spin, sbs-solo]
"""


def expected_groups(bin_dir, user):
    """(config, group) -> (processes at the end, processes it ever had)."""
    return {
        ("all", "sbs-spin"): (2, 2), ("all", "sbs-idle"): (2, 2), ("all", "sbs-solo"): (1, 1),
        ("all", "sbs-forker"): (1, 1), ("all", "sbs-child"): (0, CHILDREN),
        ("all", "sbs-forker+sbs-child"): (1, 1 + CHILDREN),
        ("rules", "sbs-spin"): (2, 2), ("rules", "comm:sbs-idle"): (2, 2),
        ("rules", f"full:{bin_dir}/sbs-solo"): (1, 1),
        ("rules", f"forker:alpha:{user}"): (1, 1 + CHILDREN),
    }


def instant(base, query, at):
    """{(job, groupname, extra label value): value} of *query* at *at*."""
    out = {}
    for r in api(base, "query", query=query, time=f"{at:.3f}")["result"]:
        m = r["metric"]
        extra = next((v for k, v in m.items()
                      if k not in ("__name__", "job", "instance", "groupname")), "")
        out[(m["job"], m.get("groupname", ""), extra)] = float(r["value"][1])
    return out


def samples(base, selector, start, end):
    """[(time, value)] of the one series *selector* between start and end
    (the scrapes that worked)."""
    data = api(base, "query", query=f"{selector}[{int(end - start) + 1}s]", time=f"{end:.3f}")
    result = data["result"]
    assert len(result) == 1, (selector, result)
    return [(float(t), float(v)) for t, v in result[0]["values"] if float(t) >= start]


def scrapes_since(base, since):
    """The fewest scrapes that worked of any of the four targets since *since*."""
    result = api(base, "query", query="up[60s]")["result"]
    counts = [len([t for t, v in r["values"] if float(t) > since and v == "1"])
              for r in result]
    return min(counts) if len(counts) == 4 else 0


def interpolate(points, at):
    """The value at *at* between the samples around it, and their times."""
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= at <= t1:
            return v0 + (v1 - v0) * (at - t0) / (t1 - t0), (t0, t1)
    return None, None


def _wait(check, what, work, timeout=90):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)
    logs = "".join(f"--- {log.name}:\n{log.read_text()[-2000:]}\n"
                   for log in sorted(work.glob("*.log")))
    pytest.fail(f"{what}: not in {timeout} s\n{logs}")


@pytest.fixture(scope="module")
def sbs(tmp_path_factory):
    """The processes (idle), both exporters twice (configurations all and
    rules), Prometheus scraping them; then the processes go; returns once
    the figures have settled."""
    work = tmp_path_factory.mktemp("side-by-side")
    bin_dir = work / "bin"
    bin_dir.mkdir()
    # The processes' names: comm is the base name of what is executed.
    for name in ("sbs-spin", "sbs-forker"):
        os.symlink(os.path.realpath(sys.executable), bin_dir / name)
    for name in ("sbs-idle", "sbs-solo", "sbs-child"):
        os.symlink(shutil.which("sleep"), bin_dir / name)
    script = work / "workload.py"
    script.write_text(WORKLOAD)
    configs = {"all": PROCESS_EXPORTER_ALL_YAML, "rules": work / "rules.yaml"}
    configs["rules"].write_text(rules_yaml(bin_dir))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [EXPORTER] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    procs, workload = [], []
    try:
        # Prometheus starts (slowly) with nothing to scrape while the rest
        # is set up; its targets come with a reload (SIGHUP).
        global_config = (f"global:\n  scrape_interval: {SCRAPE_S:g}s\n"
                         f"  scrape_timeout: {SCRAPE_S:g}s\n")
        prom = start_prometheus(work, global_config, procs, ready=False)
        prometheus = procs[-1]

        # The processes first, and each exec'd before any exporter looks:
        # a process is named when first seen, and before its exec it
        # still has pytest's comm and command line.
        def spawn(name, *args):
            workload.append(subprocess.Popen([str(bin_dir / name), *map(str, args)]))
            return workload[-1]

        ready = [work / f"ready-{i}" for i in range(3)]
        done = work / "forker.done"
        busy = [spawn("sbs-spin", script, "spin", ready[0], 0.03, 0.07),
                spawn("sbs-spin", script, "spin", ready[1], 0.03, 0.07),
                spawn("sbs-forker", script, "forker", "--tag=alpha", ready[2],
                      bin_dir / "sbs-child", CHILDREN, PERIOD, LIFE, done)]
        spawn("sbs-idle", 3600)
        spawn("sbs-idle", 3600)
        spawn("sbs-solo", 3600)
        _wait(lambda: all(r.exists() for r in ready) and all(
            pathlib.Path(f"/proc/{w.pid}/comm").read_text().startswith("sbs-")
            for w in workload),
            "the processes started", work)

        targets = {}
        for config, path in configs.items():
            port = free_port()
            log = open(work / f"pe-{config}.log", "w")
            # All of process-exporter's series, as Debian runs it, for
            # "rules" (few processes); "all" without the per-thread and
            # smaps series (which taskmon does not serve), which cost it
            # more than a scrape interval under TCG.
            lean = ["-threads=false", "-gather-smaps=false"] if config == "all" else []
            procs.append(subprocess.Popen(
                [PROCESS_EXPORTER, "-config.path", str(path),
                 "-web.listen-address", f"127.0.0.1:{port}", *lean],
                stdout=log, stderr=subprocess.STDOUT))
            wait_port(port, procs[-1], f"process-exporter ({config})")
            targets[f"pe-{config}"] = port
            port = free_port()
            log = open(work / f"tm-{config}.log", "w")
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(EXPORTER, "taskmon-exporter"), "--no-hidden",
                 "--groups.config", str(path), "--web.listen-address", f"127.0.0.1:{port}"],
                env=env, stdout=log, stderr=subprocess.STDOUT))
            wait_port(port, procs[-1], f"taskmon-exporter ({config})")
            targets[f"tm-{config}"] = port
        wait_port(int(prom.rsplit(":", 1)[1]), prometheus, "prometheus", timeout=120)
        wait_ready(prom, prometheus)
        (work / "prometheus.yml").write_text(global_config + "scrape_configs:\n" + "".join(
            f"  - job_name: {job}\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{port}']\n" for job, port in targets.items()))
        prometheus.send_signal(signal.SIGHUP)
        _wait(lambda: scrapes_since(prom, 0) >= 1, "a scrape of every exporter", work)

        # Both have looked: what the processes do from now on, both count.
        t_begin = time.time()
        for proc in busy:
            proc.send_signal(signal.SIGUSR1)
        _wait(done.exists, "the forker's children spawned and reaped", work)
        time.sleep(2 * SCRAPE_S)
        t_stop = time.time()
        for proc in busy[:2]:
            proc.send_signal(signal.SIGSTOP)
        # Every exporter scraped twice more: each has the settled figures.
        _wait(lambda: scrapes_since(prom, t_stop) >= 2,
              "two scrapes of every exporter after the spinners stopped", work)
        yield dict(prom=prom, work=work, begin=t_begin, stop=t_stop, end=time.time(),
                   groups=expected_groups(bin_dir, pwd.getpwuid(os.getuid()).pw_name))
    finally:
        for proc in workload:
            proc.kill()
            proc.wait()
        for proc in reversed(procs):
            stop(proc)


def _pairs(sbs, query, merge=False):
    """{(config, group, label): [process-exporter's, taskmon's]}: the last
    value of each series after the spinners stopped (with *merge*, MERGED's
    groups of "all" summed)."""
    window = int(sbs["end"] - sbs["stop"]) + 1
    values = instant(sbs["prom"], f"last_over_time({query}[{window}s])", sbs["end"])
    out = {}
    for (job, group, extra), value in values.items():
        kind, config = job.split("-", 1)
        if merge and config == "all" and group in MERGED:
            group = MERGED[group]
        pair = out.setdefault((config, group, extra), [None, None])
        i = 0 if kind == "pe" else 1
        pair[i] = value if pair[i] is None else pair[i] + value
    return out


def _compare(sbs, query, tolerance, merge=False):
    """Both exporters' values of every label set of *query* for our
    groups, within tolerance(config, group, label, (now, ever)) of each
    other: one bound, or (below, above) for taskmon's minus
    process-exporter's (None: not compared)."""
    pairs = _pairs(sbs, query, merge)
    checked, bad = 0, []
    for (config, group, extra), (theirs, ours) in sorted(pairs.items()):
        counts = sbs["groups"].get((config, group))
        if counts is None or (merge and group in MERGED):
            continue
        allowed = tolerance(config, group, extra, counts)
        if allowed is None:
            continue
        below, above = allowed if isinstance(allowed, tuple) else (allowed, allowed)
        checked += 1
        if theirs is None or ours is None or not -below <= ours - theirs <= above:
            bad.append(f"{config}/{group}/{extra}: process-exporter {theirs}, taskmon {ours}, "
                       f"allowed taskmon - process-exporter in [{-below:g}, {above:g}]")
    assert checked, f"nothing compared for {query}"
    assert not bad, f"{query}:\n" + "\n".join(bad)
    return pairs


def test_num_procs_equal_for_every_group(sbs):
    pairs = _pairs(sbs, "namedprocess_namegroup_num_procs")
    # Every group of both configurations, the VM's own processes too in
    # "all" (init, bash, python3, prometheus, the exporters).
    unequal = {k: v for k, v in pairs.items() if v[0] != v[1]}
    assert not unequal, f"(config, group): [process-exporter, taskmon]: {unequal}"
    for (config, group), (now, _) in sbs["groups"].items():
        if "+" not in group:
            assert pairs.get((config, group, "")) == [now, now], (config, group, pairs)
    assert not [k for k in pairs if k[1] == "never"], "first match wins: no group never"
    assert not [k for k in pairs if k[0] == "rules" and k[1] == "sbs-child"], \
        "children matching no rule join their parent's group"


def test_forker_group_counted_its_children(sbs):
    """While the children ran, both counted them: in "all" in their own
    group (their comm), in "rules" in their parent's (no rule matches
    them)."""
    window = f"[{int(sbs['stop'] - sbs['begin']) + 1}s]"
    forker = next(g for c, g in sbs["groups"] if g.startswith("forker:"))
    for group, low in (("sbs-child", 1), (forker, 2)):
        most = instant(sbs["prom"], "max_over_time(namedprocess_namegroup_num_procs"
                       f'{{groupname="{group}"}}{window})', sbs["stop"])
        assert len(most) == 2, most
        for (job, _, _), value in most.items():
            assert low <= value <= 1 + CHILDREN, (job, group, value)


def test_cpu_seconds_settled(sbs):
    def tolerance(config, group, mode, counts):
        now, ever = counts
        return (CPU_SETTLED_S * ever, CPU_SETTLED_S * ever + EXIT_CPU_S * (ever - now))
    pairs = _compare(sbs, "namedprocess_namegroup_cpu_seconds_total", tolerance, merge=True)
    # The spinners burnt something in each mode: the comparison means something.
    for config in ("all", "rules"):
        for mode in ("user", "system"):
            assert pairs[(config, "sbs-spin", mode)][0] > 0.1, (config, mode, pairs)


def test_cpu_seconds_live(sbs):
    """While the spinners burnt CPU: at each of taskmon's samples, against
    process-exporter's interpolated."""
    base, begin, stop_at = sbs["prom"], sbs["begin"], sbs["stop"]
    checked = 0
    for config in ("all", "rules"):
        theirs = _sum_modes(base, f"pe-{config}", begin, stop_at)
        ours = _sum_modes(base, f"tm-{config}", begin, stop_at)
        took = {job: dict(samples(base, f'scrape_duration_seconds{{job="{job}"}}',
                                  begin, stop_at)) for job in (f"pe-{config}", f"tm-{config}")}
        for i, (at, value) in enumerate(ours):
            other, around = interpolate(theirs, at)
            if other is None:
                continue
            # The CPU rate around this instant, the faster of the two
            # series' (taskmon's: from its neighbours).
            t0, t1 = around
            rates = [(dict(theirs)[t1] - dict(theirs)[t0]) / (t1 - t0)]
            if 0 < i < len(ours) - 1:
                rates.append((ours[i + 1][1] - ours[i - 1][1]) / (ours[i + 1][0] - ours[i - 1][0]))
            during = took[f"tm-{config}"][at] + max(took[f"pe-{config}"][t0],
                                                    took[f"pe-{config}"][t1])
            allowed = 2 * 2 * CPU_TICKS_S + max(rates) * during
            checked += 1
            assert abs(other - value) <= allowed, (
                f"{config}: {at - begin:.2f} s after the start: process-exporter "
                f"{other:.3f}, taskmon {value:.3f}, allowed {allowed:.3f} (CPU rate "
                f"{max(rates):.3f}, scrape durations {during:.3f} s)")
    assert checked >= 4, f"only {checked} instants compared"


def _sum_modes(base, job, start, end):
    """[(time, user + system)] of the spinners' group of *job*."""
    by_mode = [dict(samples(base, f'namedprocess_namegroup_cpu_seconds_total'
                                  f'{{job="{job}",groupname="sbs-spin",mode="{mode}"}}',
                            start, end)) for mode in ("user", "system")]
    return sorted((t, v + by_mode[1][t]) for t, v in by_mode[0].items() if t in by_mode[1])


def test_memory(sbs):
    def tolerance(config, group, memtype, counts):
        if memtype in NOT_SERVED_MEMTYPES:
            return None
        return RSS_PAGES * PAGE * counts[0] if memtype == "resident" else 0
    pairs = _compare(sbs, "namedprocess_namegroup_memory_bytes", tolerance)
    assert pairs[("all", "sbs-spin", "resident")][0] > 1 << 20, pairs


def test_threads_states_and_start_times(sbs):
    _compare(sbs, "namedprocess_namegroup_num_threads", lambda *args: 0)
    pairs = _compare(sbs, "namedprocess_namegroup_states", lambda *args: 0)
    # Stopped (T): process-exporter's Other; the idle ones Sleeping.
    assert pairs[("rules", "sbs-spin", "Other")] == [2, 2], pairs
    assert pairs[("rules", "comm:sbs-idle", "Sleeping")] == [2, 2], pairs
    # process-exporter serves whole seconds (Go's Time.Unix()), taskmon
    # the fraction too: process-exporter's is taskmon's, truncated.
    pairs = _compare(sbs, "namedprocess_namegroup_oldest_start_time_seconds",
                     lambda config, group, extra, counts: 1 + START_S if counts[0] else None)
    for (config, group), (now, _) in sbs["groups"].items():
        if now and "+" not in group:
            theirs, ours = pairs[(config, group, "")]
            assert theirs == int(theirs) and -START_S <= ours - theirs < 1 + START_S, \
                (config, group, theirs, ours)


def test_faults_and_context_switches(sbs):
    def tolerance(config, group, extra, counts):
        now, ever = counts
        return EVENTS * ever, EVENTS * ever + EXIT_EVENTS * (ever - now)
    for name in ("minor_page_faults_total", "major_page_faults_total",
                 "context_switches_total"):
        _compare(sbs, f"namedprocess_namegroup_{name}", tolerance, merge=True)


def test_same_series_and_labels(sbs):
    """Every series name process-exporter serves that the data allows is
    in taskmon's output, with the same label names and values."""
    base = sbs["prom"]
    for config in ("all", "rules"):
        shapes = {}
        for kind in ("pe", "tm"):
            series = api(base, "series", **{"match[]": f'{{__name__=~"namedprocess_.+",'
                                                       f'job="{kind}-{config}"}}',
                                            "start": f"{sbs['begin']:.3f}",
                                            "end": f"{sbs['end']:.3f}"})
            shape = {}
            for s in series:
                labels = {k: v for k, v in s.items()
                          if k not in ("__name__", "job", "instance", "groupname")}
                entry = shape.setdefault(s["__name__"], {"names": set(), "values": set()})
                entry["names"].add(tuple(sorted(labels)) + ("groupname",))
                entry["values"] |= set(labels.items())
            shapes[kind] = shape
        theirs, ours = shapes["pe"], shapes["tm"]
        wanted = {n for n in theirs
                  if n not in NOT_SERVED and not n.startswith(NOT_SERVED_PREFIX)}
        assert len(wanted) >= 9, sorted(theirs)
        assert wanted <= set(ours), f"{config}: missing in taskmon's: {wanted - set(ours)}"
        for name in sorted(wanted):
            values = {(k, v) for k, v in theirs[name]["values"]
                      if not (k == "memtype" and v in NOT_SERVED_MEMTYPES)}
            assert theirs[name]["names"] == ours[name]["names"], (config, name)
            assert values == ours[name]["values"], (config, name)
