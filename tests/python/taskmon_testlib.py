# SPDX-License-Identifier: GPL-2.0-only
"""Helpers of the Python binding tests: processes, pids, threads, paths."""
import os
import pathlib
import sys
import threading
import time
from typing import Callable, Optional

import taskmon

#: Set by the test VM (tests/vm/run-vm).
IN_VM = os.environ.get("TASKMON_IN_VM") == "1"

# Busy processes, pids and the monitor's kthreads: tests/pylib/procs.py, the
# one copy shared with tests/kernel and tests/reliability.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "pylib"))
import procs  # noqa: E402

spawn_busy = procs.spawn_busy
kill = procs.kill
state = procs.state
unused_pid = procs.unused_pid
monitor_kthreads = procs.monitor_kthreads


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


def assert_gil_released(call: Callable[[], object], *, expect: Optional[type] = None,
                        delay: float = 0.3, attempts: int = 3) -> None:
    """Asserts that call() releases the GIL: with the extension's test delay
    set (every call into the kernel then lasts `delay` s), another Python
    thread must run during the call (python_ran_during).  `expect`: the
    error the call must raise (None: none).  A loaded machine may not
    schedule the other thread within one window; a held GIL fails every
    attempt, so `attempts` are allowed."""
    ran_inside, duration = 0, 0.0
    for _ in range(attempts):
        taskmon._ext._set_test_delay(delay)
        try:
            ran_inside, duration, raised = python_ran_during(call)
        finally:
            taskmon._ext._set_test_delay(0)
        if expect is None:
            assert raised is None, f"the call failed: {raised!r}"
        else:
            assert isinstance(raised, expect), f"unexpected outcome: {raised!r}"
        assert duration >= delay, "the test delay did not apply: the call was not measured"
        if ran_inside > 0:
            return
    raise AssertionError(f"no other Python thread ran during a {duration:.3f} s call "
                         f"({attempts} tries): the GIL was held")


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
