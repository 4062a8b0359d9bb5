# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stream and Record: samples the kernel takes on time and queues for one
reader (TM_SUBSCRIBE, read(), poll(); docs/streaming.md)."""

from __future__ import annotations

import dataclasses
import errno
import math
import operator
import os
import typing
import warnings
from types import TracebackType
from typing import ClassVar, List, Optional, Tuple, Type, Union

from . import _device, _ext
from ._errors import InvalidArgumentError
from ._times import CpuTimes

__all__ = ["Record", "Stream"]

_NS_PER_S = 1_000_000_000
_PID_MAX = 2 ** 31 - 1
#: The kernel's bounds (include/uapi/linux/taskmon.h).
_PERIOD_MIN_NS = 10_000_000
_PERIOD_MAX_NS = 3_600 * _NS_PER_S
_PIDS_MAX = 1024
_RING_MAX = 65536


@dataclasses.dataclass(frozen=True)
class Record(CpuTimes):
    """One sample of one subscribed process, as the kernel queued it.

    Integer nanoseconds end in ``_ns`` (``timestamp_ns`` is CLOCK_BOOTTIME,
    as ``time.clock_gettime_ns(time.CLOCK_BOOTTIME)``); the plain names
    are float seconds.  ``exited`` marks a process's last record, with its
    final CPU times; ``reaped`` says the process was reaped before the
    module saw it exit, so those times are the last sample's.  ``lost``
    counts the records the kernel dropped just before this one because the
    reader fell behind.  Immutable and hashable.
    """

    #: The process, as the subscriber named it (the target's pid for 0).
    pid: int
    #: The record's number in its stream, from 0; a gap is lost records.
    seq: int
    #: When the sample was taken, nanoseconds since boot (CLOCK_BOOTTIME).
    timestamp_ns: int
    #: CPU time in user mode so far, nanoseconds.
    user_ns: int
    #: CPU time in kernel mode so far, nanoseconds.
    system_ns: int
    #: Records lost just before this one.
    lost: int = 0
    #: The raw TM_RECORD_* bits (EXIT, REAPED, GAP).
    flags: int = 0

    #: ``flags``: the process exited; this is its last record.
    EXIT: ClassVar[int] = 1
    #: ``flags``, with EXIT: reaped before the module saw the exit.
    REAPED: ClassVar[int] = 2
    #: ``flags``: periods were skipped just before this record (the module's
    #: sampling ran a period or more late); not counted in ``lost``.
    GAP: ClassVar[int] = 4

    @classmethod
    def _from_ext(cls, raw: object) -> Record:
        """From the extension's tuple (seq, timestamp_ns, pid, flags,
        user_ns, system_ns, lost)."""
        seq, timestamp_ns, pid, flags, user_ns, system_ns, lost = typing.cast(
            Tuple[int, int, int, int, int, int, int], raw)
        return cls(pid=pid, seq=seq, timestamp_ns=timestamp_ns, user_ns=user_ns,
                   system_ns=system_ns, lost=lost, flags=flags)

    @property
    def exited(self) -> bool:
        """True for the last record of a process: it exited."""
        return bool(self.flags & self.EXIT)

    @property
    def reaped(self) -> bool:
        """True when the exit was seen only after the reap (last sample's times)."""
        return bool(self.flags & self.REAPED)

    @property
    def gap(self) -> bool:
        """True when periods were skipped just before this record."""
        return bool(self.flags & self.GAP)

    @property
    def timestamp(self) -> float:
        """timestamp_ns in seconds since boot."""
        return self.timestamp_ns / _NS_PER_S

    @property
    def sample(self) -> _device.Sample:
        """The CPU figures as a :class:`Sample` (for ``-`` and cpu_percent())."""
        return _device.Sample(self.user_ns, self.system_ns)


class Stream:
    """A subscription to samples of some processes, made by
    :meth:`Monitor.stream`: the kernel samples them every period, on time,
    and queues one :class:`Record` per process and period for this reader
    alone, in its own read-only file of the device::

        with monitor.stream([pid1, pid2], period=0.1) as stream:
            for record in stream:           # blocks, without the GIL
                print(record.pid, record.user, record.exited)

    Iterating ends after the exit record of the last subscribed process,
    and the stream then closes itself.  :meth:`read` waits with a timeout,
    :meth:`try_next` does not wait.  For ``selectors`` or asyncio's
    ``loop.add_reader()``, :meth:`fileno` is non-blocking and becomes
    readable while records wait (and at the end): call :meth:`try_next`
    until it returns None, then look at :attr:`ended`.

    Several threads may read one stream (each record goes to one of them);
    :meth:`close` from another thread wakes them (they raise ValueError).
    Close it (or use ``with``): one collected while open warns with
    ResourceWarning, as files do.
    """

    __slots__ = ("_dev", "_path", "_pids", "_period", "__weakref__")

    _dev: _ext.Stream

    def __init__(self, path: Union[str, "os.PathLike[str]"],
                 pids: Union[None, int, typing.Iterable[int]] = None,
                 period: float = 1.0, *, ring: int = 0) -> None:
        """Open *path* read-only and subscribe to *pids* (None: the
        module's target, pid 0) every *period* seconds (0.01 to 3600);
        *ring* is how many records the kernel keeps for this reader before
        dropping the oldest (0: its default, 256).  Monitor.stream() is
        the usual way.

        Raises InvalidArgumentError (ValueError) for arguments out of
        bounds, NoSuchProcessError for a pid that is not a live process,
        NoTargetError for the target without one, NotSupportedError for a
        module without streams, and what Monitor() raises.
        """
        self._path = os.fspath(path)
        self._pids = _pid_list(pids, self._path)
        self._period = _period_ns(period, self._path)
        if isinstance(ring, bool) or not 0 <= operator.index(ring) <= _RING_MAX:
            raise _invalid(self._path, f"ring must be 0 (the default) to {_RING_MAX} records, "
                                       f"not {ring!r}")
        self._dev = _ext.Stream(self._path, self._pids, self._period, operator.index(ring))

    @property
    def path(self) -> str:
        """The device file."""
        return self._path

    @property
    def pids(self) -> List[int]:
        """The pids subscribed, as asked (0: the target)."""
        return list(self._pids)

    @property
    def period(self) -> float:
        """The sampling period, in seconds."""
        return self._period / _NS_PER_S

    @property
    def closed(self) -> bool:
        """True once closed (by close(), ``with``, or the end of iteration)."""
        return self._dev.closed

    @property
    def ended(self) -> bool:
        """True once every process's exit record was returned: nothing follows."""
        return self._dev.ended

    @property
    def lost(self) -> int:
        """Records lost so far, in all (the sum of the records' ``lost``)."""
        return self._dev.lost

    def fileno(self) -> int:
        """The file descriptor (non-blocking), still owned by the stream;
        ValueError once closed."""
        return self._dev.fileno()

    def read(self, timeout: Optional[float] = None) -> Optional[Record]:
        """The next record, waiting for it without holding the GIL; None at
        the end of the stream; TimeoutError after *timeout* seconds."""
        raw = self._dev.next(timeout)
        return None if raw is None else Record._from_ext(raw)

    def try_next(self) -> Optional[Record]:
        """The next record if one is queued, else None at once
        (:attr:`ended` tells the end from an empty queue)."""
        raw = self._dev.try_next()
        return None if raw is None else Record._from_ext(raw)

    def close(self) -> None:
        """End the subscription; idempotent.  Threads waiting in read() or
        iteration wake and raise ValueError."""
        self._dev.close()

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Record:
        if self.closed and self.ended:
            raise StopIteration
        raw = self._dev.next(None)
        if raw is None:
            self.close()
            raise StopIteration
        return Record._from_ext(raw)

    def __enter__(self) -> Stream:
        if self.closed:
            raise ValueError("I/O operation on closed stream")
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self.fileno()}"
        return (f"<taskmon.Stream path={self._path!r} pids={self._pids!r} "
                f"period={self.period!r} {state}>")

    def __del__(self) -> None:
        dev = getattr(self, "_dev", None)
        if dev is not None and not dev.closed:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            dev.close()


def _invalid(path: str, why: str, pid: Optional[int] = None) -> InvalidArgumentError:
    return InvalidArgumentError(
        errno.EINVAL, f"stream on {path}: {why} (checked in Python, without asking the kernel)",
        path, operation="stream", pid=pid)


def _pid_list(pids: Union[None, int, typing.Iterable[int]], path: str) -> List[int]:
    """*pids* as a list of ints in 0..pid_t's maximum; None is [0]."""
    if pids is None:
        return [0]
    if isinstance(pids, bool):
        raise TypeError("pids is an int or an iterable of ints, not a bool")
    items = [pids] if not hasattr(pids, "__iter__") else list(pids)
    out = []
    for pid in items:
        if isinstance(pid, bool):
            raise TypeError("a pid is an int, not a bool")
        value = operator.index(pid)
        if not 0 <= value <= _PID_MAX:
            raise _invalid(path, f"a pid must be a process id, or 0 for the target, not {value}",
                           value)
        out.append(value)
    if not out:
        raise _invalid(path, "no pid to follow: give at least one (None or 0 for the target)")
    if len(out) > _PIDS_MAX:
        raise _invalid(path, f"{len(out)} pids, more than the {_PIDS_MAX} one stream follows")
    return out


def _period_ns(period: float, path: str) -> int:
    """*period* seconds as integer nanoseconds within the kernel's bounds."""
    if isinstance(period, bool):
        raise TypeError("period is a number of seconds, not a bool")
    seconds = float(period)
    if math.isnan(seconds) or not (_PERIOD_MIN_NS <= seconds * _NS_PER_S <= _PERIOD_MAX_NS):
        raise _invalid(path, f"the period must be from 0.01 to 3600 seconds, not {period!r}")
    return round(seconds * _NS_PER_S)
