"""Processes for the monitor to watch, and a view of its kthreads.

The one copy for every Python suite: tests/kernel, tests/reliability and
tests/python put this folder on sys.path (their conftest.py, or
tests/reliability/harness.py and tests/python/taskmon_testlib.py) and
import it as ``procs``.  Standard library and pytest only, so that it
works both on the host and in the test VM.
"""
import os
import pathlib
import signal
import subprocess
import sys
from typing import Optional

import pytest

# A process that burns CPU in user space; with threads=N, N threads do.
_BUSY = """
import sys, threading
def spin():
    while True:
        pass
for _ in range(int(sys.argv[1]) - 1):
    threading.Thread(target=spin, daemon=True).start()
spin()
"""


def spawn_busy(threads: int = 1) -> subprocess.Popen:
    """A process burning CPU in user space on `threads` threads, until killed."""
    return subprocess.Popen([sys.executable, "-c", _BUSY, str(threads)])


@pytest.fixture
def busy():
    """spawn(threads=1): a CPU-bound process, killed after the test.

    The fixture of every Python suite: each conftest.py binds it with
    ``busy = procs.busy``.
    """
    spawned = []

    def _spawn(threads: int = 1):
        proc = spawn_busy(threads)
        spawned.append(proc)
        return proc
    yield _spawn
    for proc in spawned:
        kill(proc)


def kill(proc: subprocess.Popen, reap: bool = True) -> None:
    """SIGKILL; and reap, so that its pid names no process (not even a zombie)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    if reap:
        proc.wait()


# PF_EXITING in the flags field of /proc/PID/stat (include/linux/sched.h).
_PF_EXITING = 0x00000004


def _stat_fields(pid: str):
    """(comm, ppid, utime_ticks, stime_ticks, flags) of /proc/PID/stat, or None."""
    try:
        raw = pathlib.Path("/proc", pid, "stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2:].split()
    return comm, int(rest[1]), int(rest[11]), int(rest[12]), int(rest[6])


def state(pid: int) -> Optional[str]:
    """The state letter of /proc/PID/stat (R, S, Z...), or None if no such process."""
    try:
        raw = pathlib.Path("/proc", str(pid), "stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2]


def monitor_kthreads():
    """Pids of the running taskmonitor kthreads (children of kthreadd).

    A thread that is exiting is left out: kthread_stop() returns as soon as
    the thread function has returned, and the thread may stay in /proc a
    little longer while do_exit() finishes -- stopped, but not yet gone.
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if (fields and fields[0] == "taskmonitor" and fields[1] == 2
                and not fields[4] & _PF_EXITING):
            found.append(int(entry))
    return found


def proc_cputime_ns(pid: int):
    """(utime, stime) of a process as /proc/PID/stat gives them, in ns."""
    fields = _stat_fields(str(pid))
    tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    return fields[2] * tick_ns, fields[3] * tick_ns


def unused_pid() -> int:
    """A pid no process can have while the test runs: pid_max itself.

    Pids are allocated below pid_max, so this one is never handed out.  A
    free pid below it is not good enough: a test that forks thousands of
    processes wraps the allocator round onto it (the stress test did, on
    pid_max - 1)."""
    return int(pathlib.Path("/proc/sys/kernel/pid_max").read_text())
