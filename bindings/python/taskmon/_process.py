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

import atexit
import errno
import os
import time
import typing
from typing import Optional, TypeVar

from . import _ext
from ._device import Monitor, StrPath, _pid
from ._errors import InvalidArgumentError, NoSuchProcessError, PermissionDeniedError
from ._stats import Stats

__all__ = ["Process", "NoSuchProcess", "AccessDenied", "pcputimes", "pmem", "pctxsw",
           "close_shared_devices"]

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

_PID_MIN = -(2 ** 31)
_PID_MAX = 2 ** 31 - 1
_DEFAULT_PATH = Monitor.DEFAULT_PATH
_DEFAULT_DEVICE = os.fsencode(_DEFAULT_PATH)


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
    even if its pid was reused.  Each call makes one request (TM_STATS); the
    module's target is never read nor changed.

    Every Process of the interpreter shares one read-only descriptor of the
    device (per *path*), opened by the first call and kept until
    :func:`close_shared_devices` or exit: creating a Process and reading it
    costs two ioctl(2)s, no open(2).  It may be used from several threads at
    once; a forked child opens its own.  While it is open the module cannot
    be unloaded (rmmod says it is in use): call close_shared_devices() first.
    """

    __slots__ = ("_pid", "_device", "_start_time_ns", "__weakref__")

    def __init__(self, pid: Optional[int] = None, *,
                 path: StrPath = _DEFAULT_PATH) -> None:
        if pid is None:
            pid = os.getpid()
        elif type(pid) is not int:
            pid = _pid(pid)
        if not _PID_MIN <= pid <= _PID_MAX:
            raise _out_of_range(pid, path)
        self._pid = pid
        self._device = _DEFAULT_DEVICE if path is _DEFAULT_PATH else os.fsencode(path)
        self._start_time_ns = _ext._shared_start(self._device, pid)

    @property
    def pid(self) -> int:
        """The process id."""
        return self._pid

    def _read(self) -> Stats:
        s = Stats._from_ext(_ext._shared_stats(self._device, self._pid))
        start = self._start_time_ns
        if start is not None and s.start_time_ns is not None and s.start_time_ns != start:
            raise self._reused()
        return s

    def _reused(self) -> NoSuchProcessError:
        return NoSuchProcessError(
            message=f"process {self._pid} has exited (its pid now names another process)",
            pid=self._pid)

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
        # The extension reads only these figures and builds the pcputimes
        # itself (no taskmon.Stats): this is the call to make cheap.
        times = _ext._shared_cpu_times(self._device, self._pid, self._start_time_ns)
        if times is None:
            raise self._reused()
        return times  # type: ignore[return-value]  # a pcputimes (_shared_set_types)

    def memory_info(self) -> pmem:
        """Resident and virtual memory in bytes: rss = anon + file + shmem,
        vms, shared = file + shmem.  A kernel thread has no memory: all 0, as
        psutil reports it (taskmon.Stats says None)."""
        mem = _ext._shared_memory_info(self._device, self._pid, self._start_time_ns)
        if mem is None:
            raise self._reused()
        return mem  # type: ignore[return-value]  # a pmem (_shared_set_types)

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


def close_shared_devices() -> None:
    """Close the device files that every :class:`Process` shares (also done
    at exit), e.g. before unloading the module; the next call reopens them.
    Waits for the calls other threads are making on them."""
    _ext._shared_close()


atexit.register(close_shared_devices)
_ext._shared_set_types(pcputimes, pmem)


def _out_of_range(pid: int, path: StrPath) -> InvalidArgumentError:
    """The error of a pid that does not fit a pid_t, as Monitor.stats() says it."""
    device = os.fsdecode(path)
    return InvalidArgumentError(
        errno.EINVAL,
        f"stats on {device}: a pid must fit a C pid_t (32 bits), and {pid} does not "
        "(checked in Python, without asking the kernel)", device, operation="stats")


def _need(value: Optional[_T], what: str) -> _T:
    """A figure the module did not fill: an error, not a made-up value."""
    if value is None:
        raise NotImplementedError(f"the loaded taskmonitor module does not report {what}()")
    return value
