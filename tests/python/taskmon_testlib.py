# SPDX-License-Identifier: GPL-2.0-only
"""Helpers of the Python binding tests: processes, pids, threads, paths."""
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

import taskmon

#: Set by the test VM (tests/vm/run-vm).
IN_VM = os.environ.get("TASKMON_IN_VM") == "1"
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
    return subprocess.Popen([sys.executable, "-c", _BUSY, str(threads)])


def kill(proc: subprocess.Popen, reap: bool = True) -> None:
    """SIGKILL; and reap, so that its pid names no process (not even a zombie)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    if reap:
        proc.wait()


def state(pid: int) -> Optional[str]:
    """The state letter of /proc/PID/stat (R, S, Z...), or None if no such process."""
    try:
        raw = pathlib.Path("/proc", str(pid), "stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2]


def unused_pid() -> int:
    """A pid that no process has now."""
    pid_max = int(pathlib.Path("/proc/sys/kernel/pid_max").read_text())
    for candidate in range(pid_max - 1, 300, -1):
        if not os.path.exists(f"/proc/{candidate}"):
            return candidate
    raise RuntimeError("no free pid")


def monitor_kthreads() -> list:
    """Pids of the running taskmonitor kthreads (comm taskmonitor, child of kthreadd)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = pathlib.Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        ppid = int(raw[raw.rindex(")") + 2:].split()[1])
        if comm == "taskmonitor" and ppid == 2:
            found.append(int(entry))
    return found


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def package_dir() -> str:
    """The directory that holds the imported taskmon package."""
    return str(pathlib.Path(taskmon.__file__).resolve().parent.parent)


def child_env() -> dict:
    """The environment for a child Python that must import the same taskmon."""
    env = dict(os.environ)
    paths = [package_dir()] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def cpp_cli() -> Optional[str]:
    """The C++ taskmon tool of the same build, if there is one: $TASKMON_CLI, or
    <build>/tools/taskmon/taskmon next to <build>/bindings/python/taskmon."""
    explicit = os.environ.get("TASKMON_CLI")
    if explicit:
        return explicit
    build = pathlib.Path(taskmon.__file__).resolve().parent.parent.parent.parent
    candidate = build / "tools" / "taskmon" / "taskmon"
    return str(candidate) if os.access(candidate, os.X_OK) else None


def python_ran_during(call: Callable[[], object], margin: float = 0.05) -> tuple:
    """Runs call() in this thread while another thread runs pure Python, and
    says whether that other thread ran *during* the call.

    The other thread notes each moment it runs.  If it ran at a moment well
    inside the call (more than `margin` after the call began and before it
    returned), this thread was then inside call() without holding the GIL:
    no Python code of any thread can run while a thread holds the GIL inside
    a C function.  The call must last longer than 2 * margin.

    Returns (ran_inside: int, duration: float, raised: exception or None).
    """
    stop = threading.Event()
    ready = threading.Event()
    stamps: list = []

    def other() -> None:
        ready.set()
        while not stop.is_set():
            now = time.monotonic()
            if not stamps or now - stamps[-1] > 0.001:
                stamps.append(now)

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    ready.wait()
    raised = None
    start = time.monotonic()
    try:
        call()
    except Exception as exc:  # the call's own error (e.g. ENOTTY) is not the point
        raised = exc
    end = time.monotonic()
    stop.set()
    thread.join()
    inside = [t for t in stamps if start + margin < t < end - margin]
    return len(inside), end - start, raised
