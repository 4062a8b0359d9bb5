# SPDX-License-Identifier: LGPL-2.1-or-later
"""taskmon: the CPU time of a process, measured by a Linux kernel module.

The taskmonitor kernel module (taskmonitor.ko) measures the CPU time of one
process, the *target*, from inside the kernel and serves it through
/dev/taskmonitor; helloioctl.ko serves /dev/hello.  This package reads them
through libtaskmon::

    import taskmon

    with taskmon.Monitor() as monitor:          # /dev/taskmonitor
        monitor.target = pid                    # ProcessLookupError if none
        s = monitor.sample()                    # Sample(user=..., system=...)
        print(s.user / 1e9, "s in user mode")

- :class:`Monitor`: ``sample()``, ``sample_text()``, ``target`` (property),
  ``start()``, ``stop()``, ``close()``, ``fileno()``, ``closed``;
- :class:`Hello`: ``message()``;
- :class:`Sample`: ``user``, ``system``, ``total`` (integer nanoseconds);
- statistics of any process, CPU and memory, without touching the target:
  ``Monitor.stats(pid)``, ``Monitor.stats()`` (the target, with its pid, in
  one read), ``Monitor.stats_many(pids)`` and ``taskmon.stats(pid)`` give
  :class:`Stats` (integer ``*_ns`` and ``*_bytes``, None where not measured);
- :class:`Process`: a psutil-shaped facade (``cpu_times()``,
  ``memory_info()``, ``pid``; :data:`NoSuchProcess`);
- errors: :class:`Error` (an OSError) and its subclasses, which are also
  FileNotFoundError, PermissionError, ProcessLookupError or ValueError where
  those apply; a call on a closed object raises ValueError.

The GIL is released during every call into the kernel.  ``python3 -m
taskmon`` is a command line like the ``taskmon`` tool.
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
from ._device import Hello, Monitor, Sample, StrPath, stats
from ._stats import Stats
from ._process import AccessDenied, NoSuchProcess, Process, pcputimes, pctxsw, pmem

__all__ = [
    "Monitor",
    "Hello",
    "Sample",
    "Stats",
    "stats",
    "Process",
    "NoSuchProcess",
    "AccessDenied",
    "pcputimes",
    "pmem",
    "pctxsw",
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
