# SPDX-License-Identifier: LGPL-2.1-or-later
"""Process: a psutil-shaped view of one process, read through taskmon.

Code written for psutil switches by changing one import::

    import taskmon as psutil        # instead of: import psutil

    p = psutil.Process(pid)
    p.cpu_times().user              # seconds, float
    p.memory_info().rss             # bytes
    except psutil.NoSuchProcess: ...

Only what the kernel module measures is offered, with psutil's names and
units: a field psutil has but taskmon cannot fill honestly is left out
rather than set to a made-up 0 (``cpu_times()`` has no ``children_*`` nor
``iowait``; ``memory_info()`` has ``rss``, ``vms`` and ``shared``, not
``text``, ``lib``, ``data``, ``dirty``), so code that needs one fails loudly
with AttributeError.
"""

from __future__ import annotations

import os
import time
import typing
from typing import Optional, TypeVar

from ._device import Monitor, StrPath, _pid
from ._errors import NoSuchProcessError, PermissionDeniedError
from ._stats import Stats

__all__ = ["Process", "NoSuchProcess", "AccessDenied", "pcputimes", "pmem", "pctxsw"]

#: psutil's name for the error of a process that does not exist (or exited):
#: taskmon.NoSuchProcessError, a ProcessLookupError whose ``pid`` is set.
NoSuchProcess = NoSuchProcessError
#: psutil's name for a refused request: taskmon.PermissionDeniedError.
AccessDenied = PermissionDeniedError

_T = TypeVar("_T")

# psutil's status strings (psutil.STATUS_*) for the letters of /proc/PID/stat.
_STATUS = {
    "R": "running", "S": "sleeping", "D": "disk-sleep", "T": "stopped",
    "t": "tracing-stop", "Z": "zombie", "X": "dead", "x": "dead", "K": "wake-kill",
    "W": "waking", "I": "idle", "P": "parked",
}


class pcputimes(typing.NamedTuple):
    """Process.cpu_times(): CPU seconds, as psutil's fields of the same names."""
    user: float
    system: float


class pmem(typing.NamedTuple):
    """Process.memory_info(): bytes, as psutil's fields of the same names on Linux.

    rss: resident memory (anon + file + shmem); vms: virtual memory size;
    shared: resident memory that may be shared (file + shmem), as psutil
    reads from /proc/PID/statm.
    """
    rss: int
    vms: int
    shared: int


class pctxsw(typing.NamedTuple):
    """Process.num_ctx_switches(): context switches, as psutil's fields."""
    voluntary: int
    involuntary: int


def _boot_time() -> float:
    """The epoch time of boot, as CLOCK_BOOTTIME counts it."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


class Process:
    """One process, as psutil.Process, read through /dev/taskmonitor.

    ``Process()`` is the calling process.  Creating one checks that the
    process exists (NoSuchProcess otherwise) and records its start time:
    every later call raises NoSuchProcess once that process has exited,
    even if its pid was reused.  Each call opens the device, makes one
    request and closes it; the module's target is never read nor changed.
    """

    def __init__(self, pid: Optional[int] = None, *,
                 path: StrPath = Monitor.DEFAULT_PATH) -> None:
        self._pid = os.getpid() if pid is None else _pid(pid)
        self._path = path
        self._start_time_ns = self._read().start_time_ns

    @property
    def pid(self) -> int:
        """The process id."""
        return self._pid

    def _read(self) -> Stats:
        with Monitor(self._path) as monitor:
            s = monitor.stats(self._pid)
        start = getattr(self, "_start_time_ns", None)
        if start is not None and s.start_time_ns is not None and s.start_time_ns != start:
            raise NoSuchProcessError(
                message=f"process {self._pid} has exited (its pid now names another process)",
                pid=self._pid)
        return s

    def stats(self) -> Stats:
        """Every figure at once, as taskmon.Stats (integer ns and bytes)."""
        return self._read()

    def is_running(self) -> bool:
        """True while the process exists (and its pid was not reused)."""
        try:
            self._read()
        except NoSuchProcessError:
            return False
        return True

    def name(self) -> str:
        """The command name (/proc/PID/comm)."""
        return _need(self._read().comm, "name")

    def ppid(self) -> int:
        """The parent's pid (0 when the parent is outside this pid namespace)."""
        return _need(self._read().ppid, "ppid")

    def status(self) -> str:
        """psutil's status string: "running", "sleeping", "zombie", ..."""
        state = _need(self._read().state, "status")
        return _STATUS.get(state, state)

    def num_threads(self) -> int:
        """The number of threads."""
        return _need(self._read().threads, "num_threads")

    def create_time(self) -> float:
        """When the process started, in seconds since the epoch (as psutil)."""
        start = _need(self._read().start_time_ns, "create_time")
        return _boot_time() + start / 1e9

    def cpu_times(self) -> pcputimes:
        """CPU seconds in user and kernel mode, summed over every thread."""
        s = self._read()
        return pcputimes(_need(s.user_ns, "cpu_times") / 1e9,
                         _need(s.system_ns, "cpu_times") / 1e9)

    def memory_info(self) -> pmem:
        """Resident and virtual memory in bytes.  A kernel thread has no
        memory: all 0, as psutil reports it (taskmon.Stats says None)."""
        s = self._read()
        if s.rss_anon_bytes is None or s.vsize_bytes is None:
            return pmem(0, 0, 0)
        file_shmem = (s.rss_file_bytes or 0) + (s.rss_shmem_bytes or 0)
        return pmem(s.rss_anon_bytes + file_shmem, s.vsize_bytes, file_shmem)

    def num_ctx_switches(self) -> pctxsw:
        """Voluntary and involuntary context switches, summed over every thread."""
        s = self._read()
        return pctxsw(_need(s.voluntary_ctxsw, "num_ctx_switches"),
                      _need(s.involuntary_ctxsw, "num_ctx_switches"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Process):
            return NotImplemented
        return (self._pid, self._start_time_ns) == (other._pid, other._start_time_ns)

    def __hash__(self) -> int:
        return hash((self._pid, self._start_time_ns))

    def __repr__(self) -> str:
        return f"taskmon.Process(pid={self._pid})"


def _need(value: Optional[_T], what: str) -> _T:
    """A figure the module did not fill: an error, not a made-up value."""
    if value is None:
        raise NotImplementedError(f"the loaded taskmonitor module does not report {what}()")
    return value
