# SPDX-License-Identifier: GPL-2.0-only
"""The load group: what taskmon costs the system while it runs.

load/kthread_cpu      the module's kthread, started (TM_START) at the default
                      period, monitoring a sleeping child: its CPU time from
                      /proc/<kthread>/schedstat over a window.
load/stream_10ms_100  a stream of 100 pids at 10 ms read by a reader thread
                      (taskmon.Stream, its waiting done in C++ without the
                      GIL): system-wide CPU from /proc/stat during the window,
                      minus an idle window of the same length (tick-sampled);
                      and from the scheduler's exact run times, the reader's
                      own CPU (reader_percent) and the kworkers', where the
                      kernel's sampling work runs (kworkers_percent); and
                      both per 1,000 pid-samples (records read plus lost):
                      kworker_ns_per_1000_samples (what the module's
                      sampling costs, docs/streaming.md "Bounds") and
                      reader_ns_per_1000_samples.
Both put their figures in extra keys; "ns" is null.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from typing import Callable, Iterator, List, Optional, Tuple

from timing import Plan, Result, unavailable

KTHREAD_NAME = "taskmonitor"
PERIOD_PARAM = "/sys/module/taskmonitor/parameters/period_ms"
STREAM_PIDS = 100
STREAM_PERIOD_S = 0.01


def run(plan: Plan, window: float) -> List[Result]:
    try:
        import taskmon
    except ImportError as e:
        return [unavailable(n, f"taskmon cannot be imported: {e}")
                for n in ("load/kthread_cpu", "load/stream_10ms_100")]
    from sleeper import sleeper
    with sleeper() as pid:
        return [_kthread(taskmon, pid, window), _stream(taskmon, pid, window)]


def _kthread_pid() -> Optional[int]:
    """The lab kthread: a child of kthreadd (pid 2) named taskmonitor."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index(b"(") + 1:stat.rindex(b")")]
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        if comm == KTHREAD_NAME.encode() and ppid == 2:
            return int(name)
    return None


def _oncpu_ns(pid: int) -> int:
    """Nanoseconds the task ran: the first field of /proc/PID/schedstat."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def _kworkers_oncpu_ns() -> int:
    """Nanoseconds every kworker ran, summed: where the streams' sampling
    work (a delayed work item per stream) runs."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/comm") as f:
                if not f.read().startswith("kworker"):
                    continue
            total += _oncpu_ns(int(name))
        except (OSError, ValueError):
            continue  # exited meanwhile
    return total


def _kthread(taskmon, target: int, window: float) -> Result:
    name = "load/kthread_cpu"
    try:
        with taskmon.Monitor(steer=True) as monitor:
            monitor.set_target(target)
            monitor.start()
            try:
                time.sleep(0.1)  # the thread exists once TM_START returns; let it settle
                kthread = _kthread_pid()
                if kthread is None:
                    return unavailable(name, f"no kthread named {KTHREAD_NAME} after TM_START")
                before = _oncpu_ns(kthread)
                time.sleep(window)
                used = _oncpu_ns(kthread) - before
            finally:
                monitor.stop()
    except OSError as e:
        return unavailable(name, f"cannot start the module's thread: {e}")
    try:
        with open(PERIOD_PARAM) as f:
            period = f"{f.read().strip()} ms"
    except OSError:
        period = "unknown"
    r = Result(name, None, note=f"period {period}, window {window:g} s")
    r.extra = {"percent": used / (window * 1e9) * 100,
               "seconds_per_hour": used / 1e9 * 3600 / window,
               "window_s": window}
    return r


def _cpu_busy() -> Tuple[int, int]:
    """(busy, total) jiffies of every CPU, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _busy_percent(window: float) -> float:
    """System-wide CPU use during a sleep of *window* s, in percent of one CPU."""
    b0, t0 = _cpu_busy()
    time.sleep(window)
    b1, t1 = _cpu_busy()
    cpus = os.cpu_count() or 1
    return (b1 - b0) / max(t1 - t0, 1) * 100 * cpus


@contextlib.contextmanager
def _sleepers() -> Iterator[Callable[[int], List[int]]]:
    """A function that starts N idle processes (none for N <= 0) and gives
    their pids; they are killed and reaped on leaving."""
    procs: List[subprocess.Popen] = []

    def start(n: int) -> List[int]:
        new = [subprocess.Popen(["sleep", "3600"]) for _ in range(max(n, 0))]
        procs.extend(new)
        return [p.pid for p in new]

    try:
        yield start
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _stream(taskmon, child: int, window: float) -> Result:
    name = "load/stream_10ms_100"
    try:
        monitor = taskmon.Monitor()
    except OSError as e:
        return unavailable(name, f"cannot open the device: {e}")
    with monitor, _sleepers() as sleepers:
        others = [p.pid for p in monitor.processes() if p.pid not in (child, os.getpid())]
        # The population's count included passing processes (kworkers come
        # and go): make up what is missing with idle ones of our own.
        others += sleepers(STREAM_PIDS - 1 - len(others))
        # The last pids listed: user processes rather than early kernel threads.
        pids = [child] + others[-(STREAM_PIDS - 1):]
        idle = _busy_percent(window)
        try:
            stream = monitor.stream(pids, period=STREAM_PERIOD_S)
        except OSError as e:
            return unavailable(name, f"cannot subscribe: {e}")
        records = [0]
        stop = threading.Event()

        def reader() -> None:
            while not stop.is_set():
                try:
                    record = stream.read(timeout=0.1)
                except TimeoutError:
                    continue
                except ValueError:  # closed
                    return
                if record is None:
                    return
                records[0] += 1

        with stream:
            thread = threading.Thread(target=reader, daemon=True)
            thread.start()
            # The reader's own CPU (this process) and the kworkers' (the
            # kernel's sampling work), both from the scheduler's exact
            # run times, unlike the tick-sampled system-wide figure.
            cpu_before = time.process_time()
            kworkers_before = _kworkers_oncpu_ns()
            busy = _busy_percent(window)
            kworkers_ns = _kworkers_oncpu_ns() - kworkers_before
            reader_cpu = time.process_time() - cpu_before
            stop.set()
            thread.join()
            lost = stream.lost
    r = Result(name, None, note=f"{STREAM_PIDS} pids at {STREAM_PERIOD_S * 1000:g} ms, "
               f"window {window:g} s; percent = busy - idle ({idle:.2f} %) of one CPU")
    samples = max(records[0] + lost, 1)
    r.extra = {"percent": busy - idle, "reader_percent": reader_cpu / window * 100,
               "kworkers_percent": kworkers_ns / (window * 1e9) * 100,
               "kworker_ns_per_1000_samples": kworkers_ns * 1000 / samples,
               "reader_ns_per_1000_samples": reader_cpu * 1e9 * 1000 / samples,
               "records": records[0],
               "records_per_s": records[0] / window, "lost": lost, "window_s": window}
    return r
