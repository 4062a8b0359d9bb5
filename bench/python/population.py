# SPDX-License-Identifier: GPL-2.0-only
"""The population group: the whole process table, and listing every task.

It measures whatever processes exist: the runner starts
taskmon-bench-population N first (bench.md), and each entry says how many
processes it saw ("processes").
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Dict, List, Optional

from timing import Plan, Result, measure, unavailable, wall_median

#: What Glances asks psutil for, per process.
ATTRS = ["cpu_times", "memory_info", "name", "status", "num_threads"]

# bpftrace programs: every task the BPF task iterator visits (threads too,
# as TM_LIST does not: the count is of distinct tgids), and an empty program
# (bpftrace's own start-up: BTF parsing, program load).
BPF_LIST = 'iter:task { printf("%d\\n", ctx->task->tgid); }'
BPF_STARTUP = "BEGIN { exit(); }"
BPF_TIMEOUT_S = 600


def run(plan: Plan) -> List[Result]:
    return [_psutil_table(plan), _taskmon_table(plan), _taskmon_iter(plan), *_bpftrace()]


def _psutil_table(plan: Plan) -> Result:
    name = "py/table/psutil"
    try:
        import psutil
    except ImportError as e:
        return unavailable(name, f"psutil cannot be imported ({e})")
    env = {"psutil": psutil, "attrs": ATTRS}
    # process_iter() keeps its Process objects between calls (as Glances
    # calls it, every refresh): the median is the steady state.
    r = measure(name, "list(psutil.process_iter(attrs=attrs))", plan, env=env)
    r.processes = len(list(psutil.process_iter(attrs=["pid"])))
    return r


def taskmon_table(taskmon: Any, monitor: Any) -> List[Dict[str, Any]]:
    """The same five attributes per process as psutil's table, from TM_LIST
    and one TM_STATS_BATCH (several above 4096 pids), psutil's units and names."""
    table = []
    pids = [p.pid for p in monitor.processes()]
    status = taskmon._process._STATUS
    for s in monitor.stats_many(pids):
        if isinstance(s, Exception):  # exited between the list and the batch
            continue
        table.append({
            "pid": s.pid,
            "cpu_times": taskmon.pcputimes(s.user_ns / 1e9, s.system_ns / 1e9),
            "memory_info": taskmon.pmem(s.rss_bytes or 0, s.vsize_bytes or 0,
                                        (s.rss_file_bytes or 0) + (s.rss_shmem_bytes or 0)),
            "name": s.comm,
            "status": status.get(s.state, s.state),
            "num_threads": s.threads,
        })
    return table


def _taskmon_table(plan: Plan) -> Result:
    name = "py/table/taskmon"
    try:
        import taskmon
        monitor = taskmon.Monitor()
    except (ImportError, OSError) as e:
        return unavailable(name, f"taskmon unavailable: {e}")
    with monitor:
        env = {"table": taskmon_table, "taskmon": taskmon, "monitor": monitor}
        r = measure(name, "table(taskmon, monitor)", plan, env=env)
        r.processes = len(monitor.processes())
        return r


def _taskmon_iter(plan: Plan) -> Result:
    """psutil's own call, process_iter(attrs=ATTRS), on taskmon: the same
    code as py/table/psutil with ``import taskmon as psutil``."""
    name = "py/table/taskmon_iter"
    try:
        import taskmon
        taskmon.pids()
    except (ImportError, OSError) as e:
        return unavailable(name, f"taskmon unavailable: {e}")
    env = {"psutil": taskmon, "attrs": ATTRS}
    # As psutil's: the Process objects are kept between calls (the steady state).
    r = measure(name, "list(psutil.process_iter(attrs=attrs))", plan, env=env)
    r.processes = len(taskmon.pids())
    return r


def _bpftrace() -> List[Result]:
    names = ("list/bpftrace", "list/bpftrace_startup")
    exe = shutil.which("bpftrace")
    if exe is None:
        return [unavailable(n, "bpftrace is not installed (apt-get install bpftrace)")
                for n in names]
    refused = _bpftrace_refused(exe, BPF_STARTUP)
    if refused is not None:
        return [unavailable(n, refused) for n in names]
    seen: List[Optional[int]] = [None]

    def listing() -> None:
        out = _bpftrace_run(exe, BPF_LIST)
        if out.returncode != 0:
            raise RuntimeError(_why(out))
        seen[0] = len({line for line in out.stdout.splitlines() if line.strip().isdigit()})

    results = []
    try:
        r = wall_median(names[0], listing, note="wall time of one bpftrace run, start-up included")
        r.processes = seen[0]
        results.append(r)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        results.append(unavailable(names[0], f"bpftrace iter:task failed: {e}"))
    results.append(wall_median(names[1], lambda: _bpftrace_run(exe, BPF_STARTUP),
                               note="wall time of bpftrace -e 'BEGIN { exit(); }'"))
    return results


def _bpftrace_run(exe: str, program: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "-e", program], capture_output=True, text=True,
                          timeout=BPF_TIMEOUT_S)


def _bpftrace_refused(exe: str, program: str) -> Optional[str]:
    """Why bpftrace cannot run here (no BPF, no BTF, not root), or None."""
    try:
        out = _bpftrace_run(exe, program)
    except subprocess.TimeoutExpired:
        return "bpftrace did not finish"
    if out.returncode != 0:
        return f"bpftrace refused (exit {out.returncode}): {_why(out)}"
    return None


def _why(out: subprocess.CompletedProcess) -> str:
    """bpftrace's error lines (its last line is often a caret marker)."""
    lines = out.stderr.strip().splitlines()
    errors = [line for line in lines if "ERROR" in line]
    return "; ".join(errors or lines[-1:] or ["no message"])
