# SPDX-License-Identifier: LGPL-2.1-or-later
"""The exceptions of taskmon: OSError subclasses, with ``errno`` set.

Every failed operation on a device raises a :class:`taskmon.Error`, an
:class:`OSError`.  The common cases are also the built-in exceptions Python
programs already catch::

    errno                   taskmon class            also a
    ENOENT, ENODEV, ENXIO   DeviceNotFoundError      FileNotFoundError
    EACCES, EPERM           PermissionDeniedError    PermissionError
    EBADF (steering)        PermissionDeniedError    PermissionError
    ESRCH                   NoSuchProcessError       ProcessLookupError
    ENODATA                 NoTargetError            -
    ENOTTY                  NotSupportedError        -
    EINVAL                  InvalidArgumentError     ValueError
    anything else           Error                    -

(EDQUOT from Monitor.stream(): the user holds max_user_subscriptions
streams already, see docs/streaming.md; ENOMEM: the ring does not fit in
the caller's memory cgroup.  Both are a plain Error whose message says
what to do.)

so ``except ProcessLookupError`` and ``except taskmon.Error`` both work.
``str(error)`` is libtaskmon's complete message (what failed and why);
``strerror`` is the C library's short text for ``errno``, ``filename``
(also ``device``) the device file, ``operation`` what failed ("open", an
ioctl such as "TM_PID", or the library call for a check made without
asking the kernel) and ``pid`` the process concerned (None if none).

PermissionDeniedError covers the access model of docs/security.md: the
device's permissions refused opening it (EACCES), a steering call was made
through a Monitor not opened with ``steer=True`` (EBADF), or the caller
lacks CAP_SYS_ADMIN to steer (EPERM).

This module imports nothing from the extension: the extension imports it.
"""

from __future__ import annotations

import errno as _errno
import os
import typing
from typing import Any, Optional

__all__ = [
    "Error",
    "DeviceNotFoundError",
    "PermissionDeniedError",
    "NoSuchProcessError",
    "NoTargetError",
    "NotSupportedError",
    "InvalidArgumentError",
]


class Error(OSError):
    """Base class of the errors taskmon raises for a failed operation.

    ``Error(errno, message=None, filename=None, *, operation=None,
    pid=None)``: ``message`` is the full text ``str()`` returns (default:
    ``os.strerror(errno)``); ``filename`` is the device file involved, if
    any; ``operation`` what failed; ``pid`` the process concerned.
    """

    message: str
    #: What failed: "open", an ioctl request ("TM_GET", "TM_PID", ...), or
    #: the library call ("set_target", "stats") for a check made without
    #: asking the kernel; None if unknown.
    operation: Optional[str]
    #: The process concerned (the pid asked for, or the monitored process
    #: that exited), None if none or unknown.
    pid: Optional[int]

    def __init__(self, errno: int, message: Optional[str] = None,
                 filename: Optional[str] = None, *, operation: Optional[str] = None,
                 pid: Optional[int] = None) -> None:
        strerror = os.strerror(errno)
        if filename is None:
            super().__init__(errno, strerror)
        else:
            super().__init__(errno, strerror, filename)
        self.message = strerror if message is None else message
        self.operation = operation
        self.pid = pid

    @property
    def device(self) -> Optional[str]:
        """The device file involved (the same as ``filename``), or None."""
        return typing.cast(Optional[str], self.filename)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.errno, self.message, self.filename,
                           self.operation, self.pid))


class DeviceNotFoundError(Error, FileNotFoundError):
    """The device file does not exist: the kernel module is most likely not
    loaded (ENOENT, ENODEV, ENXIO).  The message says how to load it."""


class PermissionDeniedError(Error, PermissionError):
    """The caller may not open the device or make the request: EACCES (the
    device's permissions refused opening it), EBADF (steering through a
    Monitor opened without ``steer=True``), EPERM (steering needs
    CAP_SYS_ADMIN).  The message names the rule that refused."""


def _rebuild(cls: type[Error], errno: int, message: Optional[str], filename: Optional[str],
             operation: Optional[str], pid: Optional[int]) -> Error:
    """Unpickles an Error (keyword arguments do not survive __reduce__'s tuple)."""
    return cls(errno, message, filename, operation=operation, pid=pid)


class NoSuchProcessError(Error, ProcessLookupError):
    """The process does not exist, or the monitored process has exited (ESRCH).

    ``pid`` is the process concerned: the pid given as the new target, or
    the monitored process that exited; None when the kernel no longer says
    which one it was.
    """

    def __init__(self, errno: int = _errno.ESRCH, message: Optional[str] = None,
                 filename: Optional[str] = None, *, operation: Optional[str] = None,
                 pid: Optional[int] = None) -> None:
        super().__init__(errno, message, filename, operation=operation, pid=pid)


class NoTargetError(Error):
    """No target process is set (ENODATA): set one with ``Monitor.set_target(pid)``."""


class NotSupportedError(Error):
    """The file does not understand the request (ENOTTY): it is not a taskmon
    device, or the loaded module is older than the library."""


class InvalidArgumentError(Error, ValueError):
    """An argument was refused (EINVAL), e.g. a target pid that is not positive."""


# ---- psutil's exceptions (taskmon.Process and the functions beside it) ------
#
# psutil's names with psutil's signatures, which taskmon.Process and
# process_iter() raise.  They are taskmon errors too (OSError with errno,
# ``pid``), and, when psutil can be imported, psutil's own classes as well:
# ``except psutil.NoSuchProcess`` catches taskmon.NoSuchProcess, so code
# mixing both packages works.  Defined here, at the end, so that the classes
# above keep their order.

_psutil_module: Any
try:  # psutil is optional (Debian's python3-psutil)
    _psutil_module = __import__("psutil")
except ImportError:  # pragma: no cover - depends on the machine
    _psutil_module = None


class _NoPsutilBase(Exception):
    """Stands for a psutil class when psutil cannot be imported."""


def _psutil_class(name: str) -> type:
    """psutil's exception class *name*, or a placeholder base without psutil."""
    if _psutil_module is None:
        return _NoPsutilBase
    return typing.cast(type, getattr(_psutil_module, name))


_PsutilNoSuchProcess = _psutil_class("NoSuchProcess")
_PsutilZombieProcess = _psutil_class("ZombieProcess")
_PsutilAccessDenied = _psutil_class("AccessDenied")
_PsutilTimeoutExpired = _psutil_class("TimeoutExpired")


def _psutil_text(msg: str, **info: Any) -> str:
    """The text psutil's exceptions give: "msg (pid=1, name='x')"."""
    details = ", ".join(f"{k}={v!r}" for k, v in info.items() if v or (k == "pid" and v == 0))
    return " ".join(x for x in (msg, f"({details})" if details else "") if x)


class NoSuchProcess(NoSuchProcessError, _PsutilNoSuchProcess):  # type: ignore[misc,valid-type]
    """psutil.NoSuchProcess: process *pid* does not exist, or no longer does.

    ``NoSuchProcess(pid, name=None, msg=None)`` as psutil; also a
    taskmon.NoSuchProcessError (ProcessLookupError, errno ESRCH) and, when
    psutil is installed, a psutil.NoSuchProcess.
    """

    name: Optional[str]
    msg: str

    def __init__(self, pid: int, name: Optional[str] = None, msg: Optional[str] = None) -> None:
        text = msg or "process no longer exists"
        Error.__init__(self, _errno.ESRCH, _psutil_text(text, pid=pid, name=name), pid=pid)
        self.name = name
        self.msg = text

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.pid, self.name, self.msg))


class ZombieProcess(NoSuchProcess, _PsutilZombieProcess):  # type: ignore[misc,valid-type]
    """psutil.ZombieProcess: the process exists but is a zombie, so what
    /proc would tell of it is gone.  ``ZombieProcess(pid, name=None,
    ppid=None, msg=None)`` as psutil; a NoSuchProcess."""

    ppid: Optional[int]

    def __init__(self, pid: int, name: Optional[str] = None, ppid: Optional[int] = None,
                 msg: Optional[str] = None) -> None:
        text = msg or "PID still exists but it's a zombie"
        Error.__init__(self, _errno.ESRCH, _psutil_text(text, pid=pid, ppid=ppid, name=name),
                       pid=pid)
        self.name = name
        self.ppid = ppid
        self.msg = text

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.pid, self.name, self.ppid, self.msg))


class AccessDenied(PermissionDeniedError, _PsutilAccessDenied):  # type: ignore[misc,valid-type]
    """psutil.AccessDenied: the caller may not read or act on the process.

    ``AccessDenied(pid=None, name=None, msg=None)`` as psutil; also a
    taskmon.PermissionDeniedError (PermissionError, errno EACCES).
    """

    name: Optional[str]
    msg: str

    def __init__(self, pid: Optional[int] = None, name: Optional[str] = None,
                 msg: Optional[str] = None) -> None:
        text = msg or ""
        Error.__init__(self, _errno.EACCES, _psutil_text(text, pid=pid, name=name) or
                       "access denied", pid=pid)
        self.name = name
        self.msg = text

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.pid, self.name, self.msg))


class TimeoutExpired(Error, TimeoutError, _PsutilTimeoutExpired):  # type: ignore[misc,valid-type]
    """psutil.TimeoutExpired: Process.wait(timeout) or wait_procs() gave up.

    ``TimeoutExpired(seconds, pid=None, name=None)`` as psutil; also a
    TimeoutError (errno ETIMEDOUT).
    """

    seconds: float
    name: Optional[str]
    msg: str

    def __init__(self, seconds: float, pid: Optional[int] = None,
                 name: Optional[str] = None) -> None:
        text = f"timeout after {seconds} seconds"
        Error.__init__(self, _errno.ETIMEDOUT, _psutil_text(text, pid=pid, name=name), pid=pid)
        self.seconds = seconds
        self.name = name
        self.msg = text

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.seconds, self.pid, self.name))


class PsutilNotInstalledError(NotImplementedError):
    """What the kernel module does not measure (a command line, the
    executable, open files, I/O counters, ...) taskmon.Process asks psutil
    for; this is raised when psutil cannot be imported.  The message names
    the package to install (Debian: python3-psutil)."""
