# SPDX-License-Identifier: LGPL-2.1-or-later
"""Monitor (/dev/taskmonitor), Hello (/dev/hello) and Sample."""

from __future__ import annotations

import dataclasses
import errno
import operator
import os
import typing
import warnings
from types import TracebackType
from typing import Any, ClassVar, List, Optional, Type, TypeVar, Union, cast

from . import _ext
from ._errors import Error, InvalidArgumentError, PermissionDeniedError
from ._hidden import HiddenProcess, ProcessEntry, _list, _scan
from ._stats import Fields, Stats, _fields_bits
from ._exits import Exits
from ._stream import Stream
from ._times import CpuTimes

__all__ = ["Sample", "Monitor", "Hello", "StrPath", "stats", "cpu_percent"]

#: A device path: a str or an os.PathLike such as pathlib.Path.
StrPath = Union[str, "os.PathLike[str]"]

_Self = TypeVar("_Self", bound="_Device")


_NS_PER_S = 1_000_000_000


@dataclasses.dataclass(frozen=True)
class Sample(CpuTimes):
    """CPU time consumed by the monitored process, summed over all its
    threads (as in /proc/PID/stat).

    The fields are integer nanoseconds (``user_ns``, ``system_ns``, as
    ``time.monotonic_ns()`` and ``os.stat_result.st_mtime_ns`` name them);
    the plain names are the same times as float seconds (``user``,
    ``system``, ``total``).  A sample unpacks into its fields, like
    psutil's named tuples::

        user_ns, system_ns = monitor.sample()

    Immutable and hashable.  ``later - earlier`` is the CPU time used in
    between, ``a + b`` the sum, field by field; :func:`cpu_percent` turns
    two samples into a percentage.
    """

    #: Time spent in user mode, in nanoseconds.
    user_ns: int
    #: Time spent in kernel mode, in nanoseconds.
    system_ns: int

    def __iter__(self) -> typing.Iterator[int]:
        return iter((self.user_ns, self.system_ns))

    def __len__(self) -> int:
        return 2

    def __add__(self, other: Sample) -> Sample:
        if not isinstance(other, Sample):
            return NotImplemented
        return Sample(self.user_ns + other.user_ns, self.system_ns + other.system_ns)

    def __sub__(self, other: Sample) -> Sample:
        if not isinstance(other, Sample):
            return NotImplemented
        return Sample(self.user_ns - other.user_ns, self.system_ns - other.system_ns)


def cpu_percent(earlier: Sample, later: Sample, wall: float) -> float:
    """The CPU use between two samples of one process, in percent of one
    CPU, as top(1) and psutil show it (busy on two CPUs: 200): ``(later -
    earlier).total / wall * 100``.  *wall* is the time between the samples
    in seconds (from ``time.monotonic()``); 0 when it is not positive.  The
    same formula as libtaskmon's ``taskmon::cpu_percent()``."""
    if wall <= 0:
        return 0.0
    return (later - earlier).total_ns / (wall * _NS_PER_S) * 100.0


class _Device:
    """What Monitor and Hello share: the open file, closing, context manager.

    Slotted: assigning an unknown attribute (``monitor.target = pid`` of an
    older API) raises AttributeError instead of silently doing nothing.
    """

    __slots__ = ("_dev", "_path", "__weakref__")

    _dev: Union[_ext.Monitor, _ext.Hello]
    _path: str

    @property
    def path(self) -> str:
        """The device file that was opened."""
        return self._path

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._dev.closed

    def fileno(self) -> int:
        """The file descriptor, still owned by this object (ValueError if closed)."""
        return self._dev.fileno()

    def close(self) -> None:
        """Close the device; idempotent.  Waits for the calls that other
        threads are making on it to return."""
        self._dev.close()

    def __enter__(self: _Self) -> _Self:
        if self.closed:
            raise ValueError(f"I/O operation on closed {self._kind}")
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    _kind: ClassVar[str] = "device"

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self.fileno()}"
        return f"<taskmon.{type(self).__name__} path={self._path!r} {state}>"

    def __del__(self) -> None:
        # As io's files do: an object collected while open warns (shown
        # with -X dev or -W default), then closes.
        dev = getattr(self, "_dev", None)
        if dev is not None and not dev.closed:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            dev.close()


class Monitor(_Device):
    """An open /dev/taskmonitor (taskmonitor.ko): read the CPU time of the
    monitored process (the *target*), choose the target, start and stop the
    module's monitoring thread::

        with taskmon.Monitor() as monitor:          # read-only
            print(monitor.target())
            user, system = monitor.sample()         # nanoseconds
            print(monitor.sample().user)            # seconds

        with taskmon.Monitor(steer=True) as monitor:    # read-write, root
            monitor.set_target(pid)

    The target, and whether the thread runs, are state of the kernel module,
    shared by every process that opens the device; a Monitor is a handle on
    it.  Reading needs only read access to the device; *steering* (choosing
    the target, starting and stopping) needs ``steer=True`` and
    CAP_SYS_ADMIN, as docs/security.md says.  Every method may be called from
    several threads at once; each is one ioctl(2), made without holding the
    GIL.  A closed Monitor raises ValueError.  Failures raise taskmon.Error
    subclasses (OSError).  Close it (or use ``with``): one left open warns
    with ResourceWarning when collected, as files do.

    The target is read with a method, ``target()``, not a property: reading
    it asks the kernel and may raise (no target, target exited), which
    ``hasattr()`` and debuggers must not trigger.
    """

    #: The device file taskmonitor.ko creates.
    __slots__ = ("_steer",)
    DEFAULT_PATH: ClassVar[str] = _ext.DEFAULT_MONITOR_PATH
    _kind: ClassVar[str] = "monitor"
    _dev: _ext.Monitor

    def __init__(self, path: StrPath = DEFAULT_PATH, *, steer: bool = False) -> None:
        """Open the device, close-on-exec: read-only, or read-write with
        ``steer=True`` (needed by set_target(), start() and stop()).

        Raises DeviceNotFoundError (FileNotFoundError) when it does not
        exist, i.e. the module is not loaded; PermissionDeniedError
        (PermissionError, EACCES) when the device's permissions refuse the
        access asked for (the message says which); or NotSupportedError
        when the file is not a character device.
        """
        self._path = os.fspath(path)
        self._steer = bool(steer)
        self._dev = _ext.Monitor(self._path, self._steer)

    @property
    def steer(self) -> bool:
        """True if opened for steering (``steer=True``: read-write), closed
        or not (so that ``hasattr()`` never raises)."""
        return self._steer

    def sample(self) -> Sample:
        """The target's CPU time (TM_GET).

        Raises NoTargetError if no target is set, NoSuchProcessError
        (ProcessLookupError) if the target has exited.
        """
        user, system = self._dev.sample()
        return Sample(user, system)

    def sample_text(self) -> str:
        """The line /sys/kernel/taskmonitor shows, ``"pid N usr U sys S\\n"``
        (TM_GET_TEXT); raises as sample() does."""
        return self._dev.sample_text()

    def start(self) -> None:
        """Start the module's monitoring thread (TM_START); a no-op if it
        runs.  Steering: raises PermissionDeniedError without ``steer=True``
        (EBADF) or without CAP_SYS_ADMIN (EPERM)."""
        with _steering():
            self._dev.start()

    def stop(self) -> None:
        """Stop the module's monitoring thread (TM_STOP); a no-op if
        stopped.  Steering: raises as start() does."""
        with _steering():
            self._dev.stop()

    def target(self) -> int:
        """The pid of the monitored process, in this process's pid namespace (TM_PID).

        Raises NoTargetError when none is set, and NoSuchProcessError
        (ProcessLookupError) once the target has exited and been reaped; its
        ``.pid`` is the target this Monitor last set or read, else None.
        """
        return self._dev.target()

    def set_target(self, pid: int) -> None:
        """Monitor process *pid* from now on (TM_PID).  Steering: needs
        ``steer=True`` and CAP_SYS_ADMIN (PermissionDeniedError, EBADF or
        EPERM, otherwise).

        Raises NoSuchProcessError (ProcessLookupError, with ``.pid``) if
        there is no such process, or InvalidArgumentError (ValueError,
        EINVAL) for a pid that is not a positive pid_t.  The target is
        unchanged whenever it raises.
        """
        checked = self._checked_pid(pid, "set_target", "a target pid")
        with _steering():
            self._dev.set_target(checked)

    def stats(self, pid: Optional[int] = None, *, threads: bool = False,
              fields: Union[Fields, int] = Fields.ALL) -> Stats:
        """Statistics of process *pid* (TM_STATS), or of the target when
        *pid* is None: then the pid and the figures are read in one step,
        so they cannot belong to two different targets.  Asking about a pid
        neither reads nor changes the target.

        With ``threads=True`` *pid* names one thread (a TID) and the figures
        are that thread's own.  *fields* (:class:`Fields`) are the groups
        asked for, every one by default: e.g. ``Fields.COMM | Fields.CREDS``
        costs the kernel neither the walk over the threads nor the per-CPU
        memory sums, and leaves the CPU and memory fields None.

        Raises NoSuchProcessError (ProcessLookupError, with ``.pid``) if
        there is no such visible process; InvalidArgumentError (ValueError)
        for a pid that is not a positive pid_t; NoTargetError for pid None
        without a target; NotSupportedError (ENOTTY) if the loaded module
        predates TM_STATS; TypeError or ValueError for *fields* that are
        not groups of :class:`Fields`.
        """
        bits = _fields_bits(fields)
        if pid is None:
            return Stats._from_ext(self._dev.target_stats(bool(threads), bits))
        checked = self._checked_pid(pid, "stats", "a pid")
        return Stats._from_ext(self._dev.stats(checked, bool(threads), bits))

    def stats_many(self, pids: typing.Iterable[int], *, threads: bool = False,
                   fields: Union[Fields, int] = Fields.ALL) -> List[Union[Stats, Error]]:
        """Statistics of many processes, in as few calls as possible
        (TM_STATS_BATCH): one entry per pid asked, in the same order.  The
        entry of a pid that could not be read is its error, not raised: a
        NoSuchProcessError (with ``.pid``) for one that exited, an
        InvalidArgumentError for one that is not a positive pid.

        Any number of pids is accepted; more than the kernel takes at once
        (4096) are read in several calls.  *fields* as in :meth:`stats`,
        for every pid.  Raises only for the call itself (e.g.
        NotSupportedError on a module without TM_STATS_BATCH).
        """
        bits = _fields_bits(fields)
        asked = [_pid(pid) for pid in pids]
        # A pid outside pid_t cannot be sent: its entry is its error, the
        # others go to the kernel (0 stands in, and its entry is replaced).
        refused = {i: self._range_error(pid, "stats", "a pid")
                   for i, pid in enumerate(asked) if not _in_pid_range(pid)}
        sent = [0 if i in refused else pid for i, pid in enumerate(asked)]
        entries = self._dev.stats_many(sent, bool(threads), bits)
        return [refused[i] if i in refused
                else entry if isinstance(entry, Error)
                else Stats._from_ext(cast("typing.Mapping[str, Any]", entry))
                for i, entry in enumerate(entries)]

    def stream(self, pids: Union[None, int, typing.Iterable[int]] = None,
               period: float = 1.0, *, ring: int = 0) -> Stream:
        """Subscribe to samples of *pids* (None: the target, as it is now)
        taken by the kernel every *period* seconds (0.01 to 3600), on time,
        and queued for this reader alone: a :class:`Stream` of
        :class:`Record` that ends after the last process's exit record::

            with monitor.stream([pid], period=0.05) as stream:
                for record in stream:
                    print(record.pid, record.user_ns, record.exited)

        The stream opens its own read-only file of this device (one
        subscription per file; subscribing is reading, not steering) and
        does not change the target.  *ring*: how many records the kernel
        keeps for this reader before dropping the oldest (0: 256).  Raises
        as :class:`Stream` does; ValueError if this Monitor is closed.
        """
        if self.closed:
            raise ValueError("I/O operation on closed monitor")
        return Stream(self._path, pids, period, ring=ring)

    def exits(self, ring: int = 0) -> Exits:
        """Subscribe to the exit of every process of this pid namespace
        from now on: an :class:`Exits` of :class:`ExitRecord` that never
        ends::

            with monitor.exits() as exits:
                for record in exits:
                    print(record.pid, record.comm, record.exit_code)

        It opens its own read-only file of this device (subscribing is
        reading, not steering).  *ring*: how many records the kernel keeps
        for this reader before dropping the oldest (0: 4096; at most
        65536).  Raises as :class:`Exits` does; ValueError if this Monitor
        is closed.
        """
        if self.closed:
            raise ValueError("I/O operation on closed monitor")
        return Exits(self._path, ring=ring)

    def processes(self) -> List[ProcessEntry]:
        """Every process the kernel runs that this pid namespace can see
        (TM_LIST), read from the kernel's own structures, not from /proc:
        one :class:`ProcessEntry` (``pid``, ``start_time_ns``) per process,
        zombies included, threads never, in ascending pid.  Not an atomic
        snapshot: a process that exits during the call may be listed, one
        forked during it may be missing.  Raises NotSupportedError on a
        module without TM_LIST."""
        return _list(self._dev)

    def hidden(self, proc: StrPath = "/proc", settle: float = 0.2) -> List[HiddenProcess]:
        """The processes the kernel runs that the procfs *proc* does not
        show truthfully (docs/hidden.md): a :class:`HiddenProcess` each,
        with the ``reasons`` that say which level lies ("getdents64",
        "readdir", "open", "stat").  Candidates are checked again after
        *settle* seconds (0 to 3600), so processes that start or exit
        during the scan are never reported; the call lasts at least that
        long when there is a candidate, without holding the GIL.

        Raises what processes() raises; InvalidArgumentError for a bad
        *settle*; taskmon.Error (an OSError, ``filename`` *proc*) when
        *proc* cannot be read, with EXDEV when it is not the procfs of this
        process's pid namespace."""
        return _scan(self._dev, proc, settle)

    def _checked_pid(self, pid: int, operation: str, what: str) -> int:
        """*pid* as an int within pid_t; InvalidArgumentError otherwise."""
        value = _pid(pid)
        if not _in_pid_range(value):
            raise self._range_error(value, operation, what)
        return value

    def _range_error(self, pid: int, operation: str, what: str) -> InvalidArgumentError:
        """The error of a pid that does not fit a pid_t, found in Python."""
        return InvalidArgumentError(
            errno.EINVAL,
            f"{operation} on {self._path}: {what} must fit a C pid_t (32 bits), "
            f"and {pid} does not (checked in Python, without asking the kernel)",
            self._path, operation=operation)


_PID_MIN = -(2 ** 31)
_PID_MAX = 2 ** 31 - 1


def _in_pid_range(pid: int) -> bool:
    return _PID_MIN <= pid <= _PID_MAX


class _steering:
    """Adds the Python call to a PermissionDeniedError for steering through
    a read-only Monitor (libtaskmon's message names no front end)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if isinstance(exc, PermissionDeniedError) and exc.errno == errno.EBADF:
            exc.message += "; open it with taskmon.Monitor(steer=True)"


def _pid(pid: int) -> int:
    """A pid as an int (anything with __index__ but bool); TypeError otherwise."""
    if isinstance(pid, bool):
        raise TypeError("a pid is an int, not a bool")
    return operator.index(pid)


def stats(pid: Optional[int] = None, *, threads: bool = False,
          fields: Union[Fields, int] = Fields.ALL,
          path: StrPath = Monitor.DEFAULT_PATH) -> Stats:
    """Monitor(path).stats(pid, threads=threads, fields=fields), opening and
    closing the device."""
    with Monitor(path) as monitor:
        return monitor.stats(pid, threads=threads, fields=fields)


class Hello(_Device):
    """An open /dev/hello (helloioctl.ko), whose one request returns a greeting::

        with taskmon.Hello() as hello:
            print(hello.message())   # Hello ioctl!
    """

    #: The device file helloioctl.ko creates.
    __slots__ = ()
    DEFAULT_PATH: ClassVar[str] = _ext.DEFAULT_HELLO_PATH
    _kind: ClassVar[str] = "hello device"
    _dev: _ext.Hello

    def __init__(self, path: StrPath = DEFAULT_PATH) -> None:
        """Open the device; raises as Monitor() does."""
        self._path = os.fspath(path)
        self._dev = _ext.Hello(self._path)

    def message(self) -> str:
        """The module's greeting, "Hello ioctl!" (the HELLO request)."""
        return self._dev.message()
