# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exits and ExitRecord: a record of every process of the caller's pid
namespace that exits (TM_SUBSCRIBE_EXITS, read(), poll(); docs/exits.md)."""

from __future__ import annotations

import dataclasses
import errno
import operator
import os
import typing
import warnings
from types import TracebackType
from typing import Optional, Tuple, Type, Union

from . import _ext
from ._errors import InvalidArgumentError
from ._times import CpuTimes

__all__ = ["ExitRecord", "Exits"]

_NS_PER_S = 1_000_000_000
#: The kernel's bounds (include/uapi/linux/taskmon.h).
_RING_DEFAULT = 4096
_RING_MAX = 65536


@dataclasses.dataclass(frozen=True)
class ExitRecord(CpuTimes):
    """The end of one process, as the kernel recorded it when its last
    thread exited (libtaskmon's taskmon::ExitRecord).

    Integer nanoseconds end in ``_ns`` (``start_time_ns`` and
    ``exit_time_ns`` are CLOCK_BOOTTIME, as
    ``time.clock_gettime_ns(time.CLOCK_BOOTTIME)``); the plain names
    (``user``, ``system``, ``lifetime``...) are float seconds.  ``status``
    is what the parent's wait4() gets: :attr:`exited`, :attr:`exit_code`,
    :attr:`signaled` and :attr:`term_signal` decode it as ``os.WIFEXITED``
    and the others do.  ``comm`` is the process's name, bytes that are not
    UTF-8 replaced (U+FFFD).  ``lost`` counts the records the kernel
    dropped just before this one because the reader fell behind.
    Immutable and hashable.
    """

    #: The process id, in the subscriber's pid namespace.
    pid: int
    #: Its parent's when it exited (0 if not visible there).
    ppid: int
    #: Its real user id, in the subscriber's user namespace.
    uid: int
    #: Its exit status as wait4() reports it.
    status: int
    #: Its name (the thread group leader's comm).
    comm: str
    #: When it started, nanoseconds since boot (CLOCK_BOOTTIME).
    start_time_ns: int
    #: When its last thread exited (the same clock).
    exit_time_ns: int
    #: Its final CPU time in user mode, every thread's, nanoseconds.
    user_ns: int
    #: Its final CPU time in kernel mode, nanoseconds.
    system_ns: int
    #: User time of its children that it waited for (wait4() adds both).
    children_user_ns: int = 0
    #: System time of its children that it waited for.
    children_system_ns: int = 0
    #: Its peak resident memory, bytes (getrusage()'s ru_maxrss in bytes).
    max_rss_bytes: int = 0
    #: Page faults without I/O, every thread's.
    minor_faults: int = 0
    #: Page faults with I/O.
    major_faults: int = 0
    #: Context switches by waiting, every thread's.
    voluntary_ctxsw: int = 0
    #: Context switches by preemption.
    involuntary_ctxsw: int = 0
    #: The record's number in its subscription, from 0; a gap is lost records.
    seq: int = 0
    #: Records lost just before this one.
    lost: int = 0

    @classmethod
    def _from_ext(cls, raw: object) -> ExitRecord:
        """From the extension's tuple (seq, lost, pid, ppid, uid, status,
        start_time_ns, exit_time_ns, user_ns, system_ns, children_user_ns,
        children_system_ns, max_rss_bytes, minor_faults, major_faults,
        voluntary_ctxsw, involuntary_ctxsw, comm)."""
        (seq, lost, pid, ppid, uid, status, start, end, user, system, c_user, c_system,
         rss, minflt, majflt, nvcsw, nivcsw, comm) = typing.cast(
            Tuple[int, int, int, int, int, int, int, int, int, int, int, int, int, int, int,
                  int, int, str], raw)
        return cls(pid=pid, ppid=ppid, uid=uid, status=status, comm=comm,
                   start_time_ns=start, exit_time_ns=end, user_ns=user, system_ns=system,
                   children_user_ns=c_user, children_system_ns=c_system,
                   max_rss_bytes=rss, minor_faults=minflt, major_faults=majflt,
                   voluntary_ctxsw=nvcsw, involuntary_ctxsw=nivcsw, seq=seq, lost=lost)

    @property
    def exited(self) -> bool:
        """True when it called exit() or returned from main (WIFEXITED)."""
        return os.WIFEXITED(self.status)

    @property
    def exit_code(self) -> int:
        """Its exit code (WEXITSTATUS); meaningful when :attr:`exited`."""
        return os.WEXITSTATUS(self.status)

    @property
    def signaled(self) -> bool:
        """True when a signal ended it (WIFSIGNALED)."""
        return os.WIFSIGNALED(self.status)

    @property
    def term_signal(self) -> int:
        """The signal that ended it (WTERMSIG); meaningful when :attr:`signaled`."""
        return os.WTERMSIG(self.status)

    @property
    def core_dumped(self) -> bool:
        """True when it dumped core (WCOREDUMP)."""
        return os.WCOREDUMP(self.status)

    @property
    def start_time(self) -> float:
        """start_time_ns in seconds since boot."""
        return self.start_time_ns / _NS_PER_S

    @property
    def exit_time(self) -> float:
        """exit_time_ns in seconds since boot."""
        return self.exit_time_ns / _NS_PER_S

    @property
    def lifetime_ns(self) -> int:
        """How long it lived: exit_time_ns - start_time_ns."""
        return self.exit_time_ns - self.start_time_ns

    @property
    def lifetime(self) -> float:
        """How long it lived, in seconds."""
        return self.lifetime_ns / _NS_PER_S

    @property
    def children_user(self) -> float:
        """children_user_ns in seconds."""
        return self.children_user_ns / _NS_PER_S

    @property
    def children_system(self) -> float:
        """children_system_ns in seconds."""
        return self.children_system_ns / _NS_PER_S


class Exits:
    """A subscription to the exit of every process of the caller's pid
    namespace, made by :meth:`Monitor.exits` or ``Exits(path)``: the
    kernel queues one :class:`ExitRecord` per process that exits from then
    on, short-lived ones included, for this reader alone, in its own
    read-only file of the device::

        with monitor.exits() as exits:
            for record in exits:            # blocks, without the GIL; never ends
                print(record.pid, record.comm, record.exit_code)

    Iteration never ends by itself: break out of it, or close the object
    from another thread.  :meth:`read` waits with a timeout,
    :meth:`try_next` does not wait.  For ``selectors`` or asyncio's
    ``loop.add_reader()``, :meth:`fileno` is non-blocking and becomes
    readable while records wait: call :meth:`try_next` until it returns
    None.

    Several threads may read one subscription (each record goes to one of
    them); :meth:`close` from another thread wakes them (they raise
    ValueError).  Close it (or use ``with``): one collected while open
    warns with ResourceWarning, as files do.
    """

    __slots__ = ("_dev", "_path", "_ring", "__weakref__")

    _dev: _ext.Exits

    #: The ring the kernel gives for 0.
    DEFAULT_RING = _RING_DEFAULT
    #: The largest ring, in records.
    MAX_RING = _RING_MAX

    def __init__(self, path: Union[str, "os.PathLike[str]"] = "/dev/taskmonitor", *,
                 ring: int = 0) -> None:
        """Open *path* read-only and subscribe to every exit; *ring* is how
        many records the kernel keeps for this reader before dropping the
        oldest (0: its default, 4096; at most 65536).

        Raises InvalidArgumentError (ValueError) for a ring out of bounds,
        NotSupportedError for a module (or kernel) without exit records,
        Error with EDQUOT when this user holds too many subscriptions, and
        what Monitor() raises.
        """
        self._path = os.fspath(path)
        if isinstance(ring, bool) or not 0 <= operator.index(ring) <= _RING_MAX:
            raise InvalidArgumentError(
                errno.EINVAL,
                f"exits on {self._path}: ring must be 0 (the default) to {_RING_MAX} records, "
                f"not {ring!r} (checked in Python, without asking the kernel)",
                self._path, operation="exits")
        self._ring = operator.index(ring)
        self._dev = _ext.Exits(self._path, self._ring)

    @property
    def path(self) -> str:
        """The device file."""
        return self._path

    @property
    def ring(self) -> int:
        """The ring size asked for (0: the kernel's default)."""
        return self._ring

    @property
    def closed(self) -> bool:
        """True once closed (by close() or ``with``)."""
        return self._dev.closed

    @property
    def lost(self) -> int:
        """Records lost so far, in all (the sum of the records' ``lost``)."""
        return self._dev.lost

    def fileno(self) -> int:
        """The file descriptor (non-blocking), still owned by this object;
        ValueError once closed."""
        return self._dev.fileno()

    def read(self, timeout: Optional[float] = None) -> ExitRecord:
        """The next record, waiting for it without holding the GIL;
        TimeoutError after *timeout* seconds (None: for ever)."""
        return ExitRecord._from_ext(self._dev.next(timeout))

    def try_next(self) -> Optional[ExitRecord]:
        """The next record if one is queued, else None at once."""
        raw = self._dev.try_next()
        return None if raw is None else ExitRecord._from_ext(raw)

    def close(self) -> None:
        """End the subscription; idempotent.  Threads waiting in read() or
        iteration wake and raise ValueError."""
        self._dev.close()

    def __iter__(self) -> Exits:
        return self

    def __next__(self) -> ExitRecord:
        return ExitRecord._from_ext(self._dev.next(None))

    def __enter__(self) -> Exits:
        if self.closed:
            raise ValueError("I/O operation on closed stream")
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self.fileno()}"
        return f"<taskmon.Exits path={self._path!r} ring={self._ring!r} {state}>"

    def __del__(self) -> None:
        dev = getattr(self, "_dev", None)
        if dev is not None and not dev.closed:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            dev.close()
