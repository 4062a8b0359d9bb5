# SPDX-License-Identifier: LGPL-2.1-or-later
"""Monitor (/dev/taskmonitor), Hello (/dev/hello) and Sample."""

from __future__ import annotations

import dataclasses
import operator
import os
import typing
from types import TracebackType
from typing import Any, ClassVar, List, Optional, Type, TypeVar, Union, cast

from . import _ext
from ._errors import Error
from ._stats import Stats

__all__ = ["Sample", "Monitor", "Hello", "StrPath", "stats"]

#: A device path: a str or an os.PathLike such as pathlib.Path.
StrPath = Union[str, "os.PathLike[str]"]

_Self = TypeVar("_Self", bound="_Device")


@dataclasses.dataclass(frozen=True)
class Sample:
    """CPU time consumed by the monitored process, summed over all its
    threads (as in /proc/PID/stat), in integer nanoseconds.

    Immutable and hashable.  ``later - earlier`` is the CPU time used in
    between (field by field); ``total`` is ``user + system``.
    """

    #: Time spent in user mode, in nanoseconds.
    user: int
    #: Time spent in kernel mode, in nanoseconds.
    system: int

    @property
    def total(self) -> int:
        """user + system, in nanoseconds."""
        return self.user + self.system

    def __add__(self, other: Sample) -> Sample:
        if not isinstance(other, Sample):
            return NotImplemented
        return Sample(self.user + other.user, self.system + other.system)

    def __sub__(self, other: Sample) -> Sample:
        if not isinstance(other, Sample):
            return NotImplemented
        return Sample(self.user - other.user, self.system - other.system)


class _Device:
    """What Monitor and Hello share: the open file, closing, context manager."""

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


class Monitor(_Device):
    """An open /dev/taskmonitor (taskmonitor.ko): read the CPU time of the
    monitored process (the *target*), choose the target, start and stop the
    module's monitoring thread::

        with taskmon.Monitor() as monitor:
            monitor.target = pid
            sample = monitor.sample()
            print(sample.user, sample.system)   # nanoseconds

    The target, and whether the thread runs, are state of the kernel module,
    shared by every process that opens the device; a Monitor is a handle on
    it.  Every method may be called from several threads at once; each is one
    ioctl(2), made without holding the GIL.  A closed Monitor raises
    ValueError.  Failures raise taskmon.Error subclasses (OSError).
    """

    #: The device file taskmonitor.ko creates.
    DEFAULT_PATH: ClassVar[str] = _ext.DEFAULT_MONITOR_PATH
    _kind: ClassVar[str] = "monitor"
    _dev: _ext.Monitor

    def __init__(self, path: StrPath = DEFAULT_PATH) -> None:
        """Open the device (read-only, close-on-exec).

        Raises DeviceNotFoundError (FileNotFoundError) when it does not
        exist, i.e. the module is not loaded; PermissionDeniedError; or
        NotSupportedError when the file is not a character device.
        """
        self._path = os.fspath(path)
        self._dev = _ext.Monitor(self._path)

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
        """Start the module's monitoring thread (TM_START); a no-op if it runs."""
        self._dev.start()

    def stop(self) -> None:
        """Stop the module's monitoring thread (TM_STOP); a no-op if stopped."""
        self._dev.stop()

    @property
    def target(self) -> int:
        """The pid of the monitored process, in this process's pid namespace.

        Reading raises NoTargetError when none is set, and NoSuchProcessError
        (ProcessLookupError) once the target has exited and been reaped; its
        ``.pid`` is the target this Monitor last set or read, else None.
        Assigning a pid
        monitors that process from now on; it raises NoSuchProcessError
        (ProcessLookupError, with ``.pid``) if there is no such process, and
        the target is then unchanged, or InvalidArgumentError (ValueError,
        errno EINVAL) for a pid that is not positive.
        """
        return self._dev.target()

    @target.setter
    def target(self, pid: int) -> None:
        self._dev.set_target(_pid(pid))

    def stats(self, pid: Optional[int] = None, *, threads: bool = False) -> Stats:
        """Statistics of process *pid* (TM_STATS), or of the target when
        *pid* is None: then the pid and the figures are read in one step,
        so they cannot belong to two different targets.  Asking about a pid
        neither reads nor changes the target.

        With ``threads=True`` *pid* names one thread (a TID) and the figures
        are that thread's own.

        Raises NoSuchProcessError (ProcessLookupError, with ``.pid``) if
        there is no such visible process; InvalidArgumentError (ValueError)
        for a pid that is not a positive pid_t; NoTargetError for pid None
        without a target; NotSupportedError (ENOTTY) if the loaded module
        predates TM_STATS.
        """
        if pid is None:
            return Stats._from_ext(self._dev.target_stats(bool(threads)))
        return Stats._from_ext(self._dev.stats(_pid(pid), bool(threads)))

    def stats_many(self, pids: typing.Iterable[int], *,
                   threads: bool = False) -> List[Union[Stats, Error]]:
        """Statistics of many processes, in as few calls as possible
        (TM_STATS_BATCH): one entry per pid asked, in the same order.  The
        entry of a pid that could not be read is its error, not raised: a
        NoSuchProcessError (with ``.pid``) for one that exited, an
        InvalidArgumentError for one that is not a positive pid.

        Any number of pids is accepted; more than the kernel takes at once
        (4096) are read in several calls.  Raises only for the call itself
        (e.g. NotSupportedError on a module without TM_STATS_BATCH).
        """
        asked = [_pid(pid) for pid in pids]
        return [entry if isinstance(entry, Error)
                else Stats._from_ext(cast("typing.Mapping[str, Any]", entry))
                for entry in self._dev.stats_many(asked, bool(threads))]


def _pid(pid: int) -> int:
    """A pid as an int (anything with __index__ but bool); TypeError otherwise."""
    if isinstance(pid, bool):
        raise TypeError("a pid is an int, not a bool")
    return operator.index(pid)


def stats(pid: Optional[int] = None, *, threads: bool = False,
          path: StrPath = Monitor.DEFAULT_PATH) -> Stats:
    """Monitor(path).stats(pid, threads=threads), opening and closing the device."""
    with Monitor(path) as monitor:
        return monitor.stats(pid, threads=threads)


class Hello(_Device):
    """An open /dev/hello (helloioctl.ko), whose one request returns a greeting::

        with taskmon.Hello() as hello:
            print(hello.message())   # Hello ioctl!
    """

    #: The device file helloioctl.ko creates.
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
