# SPDX-License-Identifier: LGPL-2.1-or-later
"""The kernel's list of processes (TM_LIST) and the processes that /proc
does not show truthfully (docs/hidden.md): ProcessEntry, HiddenProcess,
processes() and hidden()."""

from __future__ import annotations

import dataclasses
import errno
import math
import numbers
import os
import typing
from typing import ClassVar, List, Optional, Tuple, Union

from . import _ext
from ._errors import InvalidArgumentError

__all__ = ["ProcessEntry", "HiddenProcess", "HIDDEN_REASONS", "processes", "hidden"]

_NS_PER_S = 1_000_000_000
#: The longest settle hidden() accepts, in seconds.
_SETTLE_MAX = 3600.0

#: The reasons HiddenProcess.reasons may hold, in this order (docs/hidden.md):
#: missing from the getdents64 system call's listing of /proc (a kernel
#: module lies), missing from libc's readdir() only (user space in this
#: process lies, e.g. an LD_PRELOAD library), /proc/PID or /proc/PID/stat
#: cannot be opened (e.g. a mount over it), /proc/PID/stat describes another
#: process (another folder bound over it).
HIDDEN_REASONS: Tuple[str, ...] = ("getdents64", "readdir", "open", "stat")


@dataclasses.dataclass(frozen=True)
class ProcessEntry:
    """One process as the kernel lists it (TM_LIST): its pid and when it
    started, in nanoseconds since boot (CLOCK_BOOTTIME, /proc/PID/stat's
    starttime at full resolution), which tells a reused pid from the process
    that had it before.  Unpacks as ``pid, start_time_ns``.  Immutable and
    hashable."""

    #: The process id (thread group id) in the caller's pid namespace.
    pid: int
    #: When it started, nanoseconds since boot (CLOCK_BOOTTIME).
    start_time_ns: int

    @property
    def start_time(self) -> float:
        """start_time_ns in seconds since boot."""
        return self.start_time_ns / _NS_PER_S

    def __iter__(self) -> typing.Iterator[int]:
        return iter((self.pid, self.start_time_ns))

    def __len__(self) -> int:
        return 2


@dataclasses.dataclass(frozen=True)
class HiddenProcess:
    """A process the kernel runs but /proc does not show truthfully, as
    found by :func:`hidden` (both looks, before and after the settle,
    agree).  ``comm``, ``uid`` and the start time come from the kernel, not
    from /proc.  Immutable and hashable."""

    #: Its pid, in the caller's pid namespace.
    pid: int
    #: Its command name, from the kernel; empty if unknown.
    comm: str
    #: When it started, nanoseconds since boot (CLOCK_BOOTTIME).
    start_time_ns: int
    #: Which checks failed: names of :data:`HIDDEN_REASONS`, in that order.
    reasons: Tuple[str, ...]
    #: Its real user id, from the kernel; None if unknown.
    uid: Optional[int]
    #: What was seen, for people, e.g. "/proc/42/stat names pid 7".
    detail: str = ""

    #: Every reason there is, in the order ``reasons`` lists them.
    REASONS: ClassVar[Tuple[str, ...]] = HIDDEN_REASONS

    @property
    def start_time(self) -> float:
        """start_time_ns in seconds since boot."""
        return self.start_time_ns / _NS_PER_S

    def has(self, reason: str) -> bool:
        """Whether *reason* (one of :data:`HIDDEN_REASONS`) is among
        ``reasons``; ValueError for a name that is no reason."""
        if reason not in HIDDEN_REASONS:
            raise ValueError(f"{reason!r} is not a reason; the reasons are "
                             f"{', '.join(HIDDEN_REASONS)}")
        return reason in self.reasons

    def __str__(self) -> str:
        uid = "-" if self.uid is None else str(self.uid)
        text = (f"pid {self.pid} comm {self.comm or '-'} uid {uid} start "
                f"{self.start_time_ns // _NS_PER_S}.{self.start_time_ns % _NS_PER_S:09d} s: "
                f"{','.join(self.reasons)}")
        return f"{text} ({self.detail})" if self.detail else text


def _entries(raw: List[Tuple[int, int]]) -> List[ProcessEntry]:
    return [ProcessEntry(pid, start_ns) for pid, start_ns in raw]


def _records(raw: List[object]) -> List[HiddenProcess]:
    out = []
    for item in raw:
        pid, comm, start_ns, reasons, uid, detail = typing.cast(
            Tuple[int, str, int, List[str], Optional[int], str], item)
        out.append(HiddenProcess(pid=pid, comm=comm, start_time_ns=start_ns,
                                 reasons=tuple(reasons), uid=uid, detail=detail))
    return out


def _settle_ns(settle: float, proc: str) -> int:
    """*settle* seconds (0 to 3600) as integer nanoseconds."""
    if isinstance(settle, bool) or not isinstance(settle, numbers.Real):
        raise TypeError(f"settle is a number of seconds, not {type(settle).__name__}")
    seconds = float(settle)
    if math.isnan(seconds) or not 0.0 <= seconds <= _SETTLE_MAX:
        raise InvalidArgumentError(
            errno.EINVAL, f"hidden: the settle must be from 0 to {_SETTLE_MAX:g} seconds, not "
                          f"{settle!r} (checked in Python, without asking the kernel)",
            proc, operation="find_hidden")
    return round(seconds * _NS_PER_S)


def _list(dev: _ext.Monitor) -> List[ProcessEntry]:
    """Monitor.processes() on the extension's monitor."""
    return _entries(dev.processes())


def _scan(dev: _ext.Monitor, proc: Union[str, "os.PathLike[str]"],
          settle: float) -> List[HiddenProcess]:
    """Monitor.hidden() on the extension's monitor."""
    path = os.fspath(proc)
    return _records(dev.hidden(path, _settle_ns(settle, path)))


def processes(*, path: Union[str, "os.PathLike[str]"] = _ext.DEFAULT_MONITOR_PATH
              ) -> List[ProcessEntry]:
    """``Monitor(path).processes()``, opening the device read-only and closing it."""
    from ._device import Monitor  # _device imports this module
    with Monitor(path) as monitor:
        return monitor.processes()


def hidden(proc: Union[str, "os.PathLike[str]"] = "/proc", settle: float = 0.2, *,
           path: Union[str, "os.PathLike[str]"] = _ext.DEFAULT_MONITOR_PATH
           ) -> List[HiddenProcess]:
    """``Monitor(path).hidden(proc, settle)``, opening the device read-only
    and closing it."""
    from ._device import Monitor  # _device imports this module
    with Monitor(path) as monitor:
        return monitor.hidden(proc, settle)
