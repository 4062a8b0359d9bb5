# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stats: the statistics of one process (or thread), as TM_STATS reads them."""

from __future__ import annotations

import dataclasses
import enum
import operator
import typing
from typing import Any, Optional

__all__ = ["Stats", "Fields"]


class Fields(enum.IntFlag):
    """Groups of :class:`Stats` fields, to ask the kernel only for some::

        monitor.stats(pid, fields=taskmon.Fields.COMM | taskmon.Fields.CREDS)

    The values are the TM_STATS_* bits of the uapi header.  The kernel
    always fills the groups that cost it nothing (IDS, PPID, STATE,
    THREADS, COMM, CREDS, VSIZE, START_TIME, SAMPLE_TIME), asked for or
    not; two kinds of work it does only when asked: one walk over the
    process's threads for CPU, FAULTS and CTXSW (any of the three gives all
    three) and the sums of per-CPU counters for RSS.  A field of a group
    not filled is None.  ``Fields.ALL``, every group, is the default;
    ``Fields(0)`` asks for the groups that cost nothing only.
    """

    #: tgid (pid is always set)
    IDS = 1 << 0
    #: ppid
    PPID = 1 << 1
    #: state
    STATE = 1 << 2
    #: threads
    THREADS = 1 << 3
    #: comm
    COMM = 1 << 4
    #: uid, euid, gid, egid
    CREDS = 1 << 5
    #: user_ns, system_ns (the walk over the threads)
    CPU = 1 << 6
    #: minor_faults, major_faults (the walk over the threads)
    FAULTS = 1 << 7
    #: voluntary_ctxsw, involuntary_ctxsw (the walk over the threads)
    CTXSW = 1 << 8
    #: rss_anon_bytes, rss_file_bytes, rss_shmem_bytes (per-CPU sums)
    RSS = 1 << 9
    #: vsize_bytes
    VSIZE = 1 << 10
    #: start_time_ns
    START_TIME = 1 << 11
    #: sample_time_ns
    SAMPLE_TIME = 1 << 12
    #: every group
    ALL = (1 << 13) - 1


def _fields_bits(fields: typing.Union[Fields, int]) -> int:
    """*fields* as the TM_STATS_* bits the extension takes; TypeError for a
    non-integer, ValueError for bits that are no group."""
    if isinstance(fields, bool):
        raise TypeError("fields is a taskmon.Fields, not a bool")
    try:
        bits = operator.index(fields)
    except TypeError:
        raise TypeError(f"fields is a taskmon.Fields (e.g. Fields.COMM | Fields.CREDS), "
                        f"not {type(fields).__name__}") from None
    every = int(Fields.ALL)
    if bits < 0 or bits & ~every:
        raise ValueError(f"fields {bits:#x} has bits that are no group of taskmon.Fields "
                         f"(the groups are {every:#x}: Fields.IDS ... Fields.SAMPLE_TIME)")
    return bits


_NS_PER_S = 1_000_000_000


def _seconds(ns: Optional[int]) -> Optional[float]:
    return None if ns is None else ns / _NS_PER_S


@dataclasses.dataclass(frozen=True)
class Stats:
    """Statistics of one process (or thread), read by the kernel in one step.

    Times are integer nanoseconds (``*_ns``), memory integer bytes
    (``*_bytes``).  A field the kernel did not fill is None, never a zero
    pretending to be measured: a kernel thread has no memory, so its
    ``rss_*_bytes`` and ``vsize_bytes`` are None.  ``start_time_ns`` and
    ``sample_time_ns`` count from boot (CLOCK_BOOTTIME): a reused pid has
    a different ``start_time_ns``.  The properties with the plain names
    (``user``, ``system``, ``cpu``, ``start_time``, ``sample_time``) are the
    same times as float seconds, as ``os.stat_result`` pairs ``st_mtime``
    with ``st_mtime_ns``.

    In process scope (the default) CPU time, faults and context switches
    are summed over every thread, as in /proc/PID/stat; in thread scope
    (``threads=True``) they are the one thread's.  The fields of the groups
    not asked for (``fields=``, see :class:`Fields`) and not filled anyway
    are None.  Immutable and hashable.
    """

    #: The pid (or thread id, in thread scope) the figures are of.
    pid: int
    #: The thread group (process) id.
    tgid: Optional[int] = None
    #: The parent's pid; 0 when the parent is not visible in this pid namespace.
    ppid: Optional[int] = None
    #: The command name (at most 15 characters, as /proc/PID/comm).
    comm: Optional[str] = None
    #: Number of threads of the process.
    threads: Optional[int] = None
    #: The state letter of /proc/PID/stat: "R", "S", "D", "Z", "T", "I", ...
    state: Optional[str] = None
    #: Real and effective user ids, real and effective group ids.
    uid: Optional[int] = None
    euid: Optional[int] = None
    gid: Optional[int] = None
    egid: Optional[int] = None
    #: CPU time in user mode, nanoseconds.
    user_ns: Optional[int] = None
    #: CPU time in kernel mode, nanoseconds.
    system_ns: Optional[int] = None
    #: Page faults served without I/O, and those that needed I/O.
    minor_faults: Optional[int] = None
    major_faults: Optional[int] = None
    #: Context switches the task asked for (it slept), and forced ones.
    voluntary_ctxsw: Optional[int] = None
    involuntary_ctxsw: Optional[int] = None
    #: Resident memory: anonymous, file-backed, shared (shmem/tmpfs), bytes.
    rss_anon_bytes: Optional[int] = None
    rss_file_bytes: Optional[int] = None
    rss_shmem_bytes: Optional[int] = None
    #: Virtual memory size, bytes.
    vsize_bytes: Optional[int] = None
    #: When the process (or thread) started, nanoseconds since boot.
    start_time_ns: Optional[int] = None
    #: When these figures were read, nanoseconds since boot.
    sample_time_ns: Optional[int] = None

    @classmethod
    def _from_ext(cls, fields: typing.Mapping[str, Any]) -> Stats:
        # The extension gives every field: filled in at once, as unpickling
        # does, rather than by the frozen __init__'s 22 object.__setattr__
        # calls (a whole process table is thousands of Stats).
        stats = object.__new__(cls)
        stats.__dict__.update(fields)
        return stats

    @property
    def cpu_ns(self) -> Optional[int]:
        """user_ns + system_ns, or None if either is unknown."""
        if self.user_ns is None or self.system_ns is None:
            return None
        return self.user_ns + self.system_ns

    @property
    def rss_bytes(self) -> Optional[int]:
        """Resident memory in all: anon + file + shmem, or None if unknown."""
        # Plain arithmetic, no generator: a process table asks it per process.
        anon, file, shmem = self.rss_anon_bytes, self.rss_file_bytes, self.rss_shmem_bytes
        if anon is None or file is None or shmem is None:
            return None
        return anon + file + shmem

    @property
    def user(self) -> Optional[float]:
        """user_ns in seconds (float)."""
        return _seconds(self.user_ns)

    @property
    def system(self) -> Optional[float]:
        """system_ns in seconds (float)."""
        return _seconds(self.system_ns)

    @property
    def cpu(self) -> Optional[float]:
        """cpu_ns in seconds (float)."""
        return _seconds(self.cpu_ns)

    @property
    def start_time(self) -> Optional[float]:
        """start_time_ns in seconds since boot (float)."""
        return _seconds(self.start_time_ns)

    @property
    def sample_time(self) -> Optional[float]:
        """sample_time_ns in seconds since boot (float)."""
        return _seconds(self.sample_time_ns)
