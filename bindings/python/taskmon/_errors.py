# SPDX-License-Identifier: LGPL-2.1-or-later
"""The exceptions of taskmon: OSError subclasses, with ``errno`` set.

Every failed operation on a device raises a :class:`taskmon.Error`, an
:class:`OSError`.  The common cases are also the built-in exceptions Python
programs already catch::

    errno                   taskmon class            also a
    ENOENT, ENODEV, ENXIO   DeviceNotFoundError      FileNotFoundError
    EACCES, EPERM           PermissionDeniedError    PermissionError
    ESRCH                   NoSuchProcessError       ProcessLookupError
    ENODATA                 NoTargetError            -
    ENOTTY                  NotSupportedError        -
    EINVAL                  InvalidArgumentError     ValueError
    anything else           Error                    -

so ``except ProcessLookupError`` and ``except taskmon.Error`` both work.
``str(error)`` is libtaskmon's complete message (what failed, why, and how
to fix it); ``strerror`` is the C library's short text for ``errno`` and
``filename`` the device file.

This module imports nothing from the extension: the extension imports it.
"""

from __future__ import annotations

import errno as _errno
import os
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

    ``Error(errno, message=None, filename=None)``: ``message`` is the full
    text ``str()`` returns (default: ``os.strerror(errno)``); ``filename``
    is the device file involved, if any.
    """

    message: str

    def __init__(self, errno: int, message: Optional[str] = None,
                 filename: Optional[str] = None) -> None:
        strerror = os.strerror(errno)
        if filename is None:
            super().__init__(errno, strerror)
        else:
            super().__init__(errno, strerror, filename)
        self.message = strerror if message is None else message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errno, self.message, self.filename))


class DeviceNotFoundError(Error, FileNotFoundError):
    """The device file does not exist: the kernel module is most likely not
    loaded (ENOENT, ENODEV, ENXIO).  The message says how to load it."""


class PermissionDeniedError(Error, PermissionError):
    """The caller may not open the device or make the request (EACCES, EPERM)."""


class NoSuchProcessError(Error, ProcessLookupError):
    """The process does not exist, or the monitored process has exited (ESRCH).

    ``pid`` is the process concerned: the pid given as the new target, or
    the monitored process that exited; None when the kernel no longer says
    which one it was.
    """

    pid: Optional[int]

    def __init__(self, errno: int = _errno.ESRCH, message: Optional[str] = None,
                 filename: Optional[str] = None, pid: Optional[int] = None) -> None:
        super().__init__(errno, message, filename)
        self.pid = pid

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errno, self.message, self.filename, self.pid))


class NoTargetError(Error):
    """No target process is set (ENODATA): set one with ``Monitor.target = pid``."""


class NotSupportedError(Error):
    """The file does not understand the request (ENOTTY): it is not a taskmon
    device, or the loaded module is older than the library."""


class InvalidArgumentError(Error, ValueError):
    """An argument was refused (EINVAL), e.g. a target pid that is not positive."""
