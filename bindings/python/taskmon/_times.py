# SPDX-License-Identifier: LGPL-2.1-or-later
"""Float-second views of integer-nanosecond CPU times, shared by Sample and
Record (a module of its own: _device and _stream import each other's
classes)."""
from __future__ import annotations

_NS_PER_S = 1_000_000_000


class CpuTimes:
    """The float-second views of integer-nanosecond CPU times: for the
    classes with fields ``user_ns`` and ``system_ns`` (Sample, Record)."""

    user_ns: int
    system_ns: int

    @property
    def total_ns(self) -> int:
        """user_ns + system_ns."""
        return self.user_ns + self.system_ns

    @property
    def user(self) -> float:
        """Time spent in user mode, in seconds."""
        return self.user_ns / _NS_PER_S

    @property
    def system(self) -> float:
        """Time spent in kernel mode, in seconds."""
        return self.system_ns / _NS_PER_S

    @property
    def total(self) -> float:
        """user + system, in seconds."""
        return self.total_ns / _NS_PER_S
