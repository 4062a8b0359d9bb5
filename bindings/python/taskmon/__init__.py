# SPDX-License-Identifier: LGPL-2.1-or-later
"""taskmon: the CPU time of a process, measured by a Linux kernel module.

The taskmonitor kernel module (taskmonitor.ko) measures the CPU time of one
process, the *target*, from inside the kernel and serves it through
/dev/taskmonitor; helloioctl.ko serves /dev/hello.  This package reads them
through libtaskmon::

    import taskmon

    with taskmon.Monitor() as monitor:          # /dev/taskmonitor, read-only
        print(monitor.target())                 # NoTargetError if none
        user_ns, system_ns = monitor.sample()   # Sample(user_ns=..., system_ns=...)
        print(monitor.sample().user, "s in user mode")

    with taskmon.Monitor(steer=True) as monitor:    # read-write: steering
        monitor.set_target(pid)                 # needs CAP_SYS_ADMIN

- :class:`Monitor`: ``sample()``, ``sample_text()``, ``target()``,
  ``set_target(pid)``, ``start()``, ``stop()`` (the last three are
  *steering*: ``steer=True`` and CAP_SYS_ADMIN, see docs/security.md),
  ``close()``, ``fileno()``, ``closed``, ``steer``;
- :class:`Hello`: ``message()``;
- :class:`Sample`: ``user_ns``, ``system_ns``, ``total_ns`` (integer
  nanoseconds), ``user``, ``system``, ``total`` (float seconds); unpacks
  as ``user_ns, system_ns``; ``+``, ``-`` and :func:`cpu_percent`;
- statistics of any process, CPU and memory, without touching the target:
  ``Monitor.stats(pid)``, ``Monitor.stats()`` (the target, with its pid, in
  one read), ``Monitor.stats_many(pids)`` and ``taskmon.stats(pid)`` give
  :class:`Stats` (integer ``*_ns`` and ``*_bytes``, float seconds under the
  plain names, None where not measured); ``fields=`` (:class:`Fields`,
  e.g. ``Fields.COMM | Fields.CREDS``) asks only for some groups, which
  costs the kernel less;
- streams: ``Monitor.stream(pids, period)`` gives a :class:`Stream`, an
  iterator of :class:`Record` (``pid``, ``seq``, ``timestamp_ns``,
  ``user_ns``, ``system_ns``, ``lost``, ``exited``) that the kernel samples
  on time and that ends after the last process's exit record; ``fileno()``
  for selectors and asyncio (docs/streaming.md);
- exits: ``Monitor.exits()`` gives :class:`Exits`, a never-ending
  iterator of :class:`ExitRecord` (``pid``, ``ppid``, ``uid``,
  ``status``, ``exit_code``, ``term_signal``, ``comm``, final CPU times,
  ``max_rss_bytes``, faults, context switches, ``lost``), one for every
  process of the pid namespace that exits; ``fileno()`` for selectors
  and asyncio (docs/exits.md);
- hidden processes (docs/hidden.md): ``taskmon.processes()`` (or
  ``Monitor.processes()``) lists every process from the kernel as
  :class:`ProcessEntry` (``pid``, ``start_time_ns``); ``taskmon.hidden()``
  (or ``Monitor.hidden(proc, settle)``) gives a :class:`HiddenProcess`
  (``pid``, ``comm``, ``start_time_ns``, ``reasons``, ``uid``,
  ``detail``) for each process that /proc does not show truthfully;
- psutil's process API (docs/python-psutil.md): :class:`Process`,
  :func:`process_iter`, :func:`pids`, :func:`pid_exists`,
  :func:`wait_procs`, :class:`NoSuchProcess`, :class:`ZombieProcess`,
  :class:`AccessDenied`, :class:`TimeoutExpired`, ``STATUS_*``; what the
  module measures comes from it (hidden processes included), the rest from
  psutil when it is installed (:class:`PsutilNotInstalledError` otherwise).
  Every Process shares one read-only descriptor, kept open until
  :func:`close_shared_devices` or exit;
- errors: :class:`Error` (an OSError) and its subclasses, which are also
  FileNotFoundError, PermissionError, ProcessLookupError or ValueError where
  those apply, with ``errno``, ``operation``, ``device`` and ``pid``; a call
  on a closed object raises ValueError; an object collected while open
  warns with ResourceWarning, as files do.

The GIL is released during every call into the kernel.
"""

from ._errors import (
    DeviceNotFoundError,
    Error,
    InvalidArgumentError,
    NoSuchProcessError,
    NoTargetError,
    NotSupportedError,
    PermissionDeniedError,
)
from . import _ext
from ._device import Hello, Monitor, Sample, StrPath, cpu_percent, stats
from ._stats import Fields, Stats
from ._stream import Record, Stream
from ._exits import ExitRecord, Exits
from ._hidden import HIDDEN_REASONS, HiddenProcess, ProcessEntry, hidden, processes
from ._process import (
    AIX,
    BSD,
    FREEBSD,
    LINUX,
    MACOS,
    NETBSD,
    OPENBSD,
    OSX,
    POSIX,
    PROCFS_PATH,
    SUNOS,
    WINDOWS,
    STATUS_DEAD,
    STATUS_DISK_SLEEP,
    STATUS_IDLE,
    STATUS_LOCKED,
    STATUS_PARKED,
    STATUS_RUNNING,
    STATUS_SLEEPING,
    STATUS_STOPPED,
    STATUS_SUSPENDED,
    STATUS_TRACING_STOP,
    STATUS_WAITING,
    STATUS_WAKE_KILL,
    STATUS_WAKING,
    STATUS_ZOMBIE,
    AccessDenied,
    NoSuchProcess,
    Process,
    PsutilNotInstalledError,
    TimeoutExpired,
    ZombieProcess,
    boot_time,
    close_shared_devices,
    cpu_count,
    pcputimes,
    pctxsw,
    pgids,
    pid_exists,
    pids,
    pmem,
    process_iter,
    puids,
    wait_procs,
)

__all__ = [
    "Monitor",
    "Hello",
    "Sample",
    "cpu_percent",
    "Stats",
    "Fields",
    "stats",
    "Stream",
    "Record",
    "Exits",
    "ExitRecord",
    "processes",
    "ProcessEntry",
    "hidden",
    "HiddenProcess",
    "HIDDEN_REASONS",
    "Process",
    "process_iter",
    "pids",
    "pid_exists",
    "wait_procs",
    "boot_time",
    "cpu_count",
    "NoSuchProcess",
    "ZombieProcess",
    "AccessDenied",
    "TimeoutExpired",
    "PsutilNotInstalledError",
    "pcputimes",
    "pmem",
    "pctxsw",
    "puids",
    "pgids",
    "STATUS_RUNNING",
    "STATUS_SLEEPING",
    "STATUS_DISK_SLEEP",
    "STATUS_STOPPED",
    "STATUS_TRACING_STOP",
    "STATUS_ZOMBIE",
    "STATUS_DEAD",
    "STATUS_WAKE_KILL",
    "STATUS_WAKING",
    "STATUS_IDLE",
    "STATUS_LOCKED",
    "STATUS_WAITING",
    "STATUS_SUSPENDED",
    "STATUS_PARKED",
    "LINUX",
    "POSIX",
    "WINDOWS",
    "MACOS",
    "OSX",
    "BSD",
    "FREEBSD",
    "OPENBSD",
    "NETBSD",
    "SUNOS",
    "AIX",
    "PROCFS_PATH",
    "close_shared_devices",
    "StrPath",
    "Error",
    "DeviceNotFoundError",
    "PermissionDeniedError",
    "NoSuchProcessError",
    "NoTargetError",
    "NotSupportedError",
    "InvalidArgumentError",
    "library_version",
    "__version__",
]

#: The taskmon release these bindings were built from.
__version__: str = _ext.__version__


def library_version() -> str:
    """The version of the libtaskmon shared library in use, e.g. "0.1.0"."""
    return _ext.library_version()
