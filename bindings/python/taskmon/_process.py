# SPDX-License-Identifier: LGPL-2.1-or-later
"""Process and the functions beside it: psutil's process API, answered by
the kernel module where it measures, by psutil where it does not.

Code written for psutil runs with one changed import::

    import taskmon as psutil        # instead of: import psutil

    for p in psutil.process_iter(["pid", "name", "cpu_percent", "memory_info"]):
        print(p.info)               # one TM_LIST and batched TM_STATS in all
    p = psutil.Process(pid)
    with p.oneshot():               # one TM_STATS for everything below
        p.name(), p.cpu_times().user, p.memory_info().rss, p.status()
    except psutil.NoSuchProcess: ...

What the module measures (name, ppid, status, threads, ids, CPU times,
memory, context switches, start time) comes from the module, for every
process the kernel runs, those hidden from /proc included; the rest
(cmdline(), exe(), open_files(), io_counters(), ...) is psutil's answer,
read from /proc, when psutil (Debian's python3-psutil) can be imported, and
PsutilNotInstalledError otherwise.  docs/python-psutil.md has the table.

A field psutil has but taskmon cannot fill honestly is left out rather than
set to a made-up 0 (``cpu_times()`` has no ``children_*`` nor ``iowait``;
``memory_info()`` has ``rss``, ``vms`` and ``shared``, not ``text``,
``lib``, ``data``, ``dirty``), so code that needs one fails loudly with
AttributeError.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import pwd
import signal
import threading
import time
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from . import _ext
from ._device import Monitor, StrPath, _pid
from ._errors import (AccessDenied, InvalidArgumentError, NoSuchProcess, NoSuchProcessError,
                      PsutilNotInstalledError, TimeoutExpired, ZombieProcess)
from ._errors import _psutil_module  # noqa: F401  (psutil, or None)
from ._stats import Fields, Stats

__all__ = ["Process", "NoSuchProcess", "ZombieProcess", "AccessDenied", "TimeoutExpired",
           "PsutilNotInstalledError", "pcputimes", "pmem", "pctxsw", "puids", "pgids",
           "process_iter", "pids", "pid_exists", "wait_procs", "boot_time", "cpu_count",
           "close_shared_devices",
           "STATUS_RUNNING", "STATUS_SLEEPING", "STATUS_DISK_SLEEP", "STATUS_STOPPED",
           "STATUS_TRACING_STOP", "STATUS_ZOMBIE", "STATUS_DEAD", "STATUS_WAKE_KILL",
           "STATUS_WAKING", "STATUS_IDLE", "STATUS_LOCKED", "STATUS_WAITING",
           "STATUS_SUSPENDED", "STATUS_PARKED",
           "LINUX", "POSIX", "WINDOWS", "MACOS", "OSX", "BSD", "FREEBSD", "OPENBSD",
           "NETBSD", "SUNOS", "AIX", "PROCFS_PATH"]

_T = TypeVar("_T")

#: psutil's status strings (the values of psutil.STATUS_*).
STATUS_RUNNING = "running"
STATUS_SLEEPING = "sleeping"
STATUS_DISK_SLEEP = "disk-sleep"
STATUS_STOPPED = "stopped"
STATUS_TRACING_STOP = "tracing-stop"
STATUS_ZOMBIE = "zombie"
STATUS_DEAD = "dead"
STATUS_WAKE_KILL = "wake-kill"
STATUS_WAKING = "waking"
STATUS_IDLE = "idle"
STATUS_LOCKED = "locked"
STATUS_WAITING = "waiting"
STATUS_SUSPENDED = "suspended"
STATUS_PARKED = "parked"

#: psutil's platform constants: taskmon runs on Linux only.
LINUX = POSIX = True
WINDOWS = MACOS = OSX = BSD = FREEBSD = OPENBSD = NETBSD = SUNOS = AIX = False

#: psutil's setting of where procfs is.  psutil reads it from
#: sys.modules["psutil"], which is taskmon when a program does
#: ``sys.modules["psutil"] = taskmon``: what taskmon asks psutil still works.
PROCFS_PATH = "/proc"

# psutil's status strings for the letters of /proc/PID/stat.
_STATUS = {
    "R": STATUS_RUNNING, "S": STATUS_SLEEPING, "D": STATUS_DISK_SLEEP, "T": STATUS_STOPPED,
    "t": STATUS_TRACING_STOP, "Z": STATUS_ZOMBIE, "X": STATUS_DEAD, "x": STATUS_DEAD,
    "K": STATUS_WAKE_KILL, "W": STATUS_WAKING, "I": STATUS_IDLE, "P": STATUS_PARKED,
}

_PID_MIN = -(2 ** 31)
_PID_MAX = 2 ** 31 - 1
_DEFAULT_PATH = Monitor.DEFAULT_PATH
_DEFAULT_DEVICE = os.fsencode(_DEFAULT_PATH)
#: /proc/PID/stat counts start times in clock ticks of 1/USER_HZ (100) s.
_NS_PER_TICK = 10_000_000
_TICKS_PER_S = 100


class pcputimes(typing.NamedTuple):
    """Process.cpu_times(): CPU seconds, as psutil's fields of the same names."""
    user: float
    system: float


class pmem(typing.NamedTuple):
    """Process.memory_info(): bytes, as psutil's fields of the same names on Linux.

    rss: resident memory (anon + file + shmem); vms: virtual memory size;
    shared: resident memory that may be shared (file + shmem), as psutil
    reads from /proc/PID/statm.
    """
    rss: int
    vms: int
    shared: int


class pctxsw(typing.NamedTuple):
    """Process.num_ctx_switches(): context switches, as psutil's fields."""
    voluntary: int
    involuntary: int


class puids(typing.NamedTuple):
    """Process.uids(): real, effective and saved user ids, as psutil."""
    real: int
    effective: int
    saved: int


class pgids(typing.NamedTuple):
    """Process.gids(): real, effective and saved group ids, as psutil."""
    real: int
    effective: int
    saved: int


_boot_time: Optional[float] = None


def boot_time() -> float:
    """psutil.boot_time(): when the system booted, in seconds since the
    epoch, as /proc/stat's ``btime`` says it (whole seconds).  Read once per
    interpreter, so that create_time() is the same at every call."""
    global _boot_time
    if _boot_time is None:
        value: Optional[float] = None
        try:
            with open("/proc/stat", "rb") as f:
                for line in f:
                    if line.startswith(b"btime "):
                        value = float(int(line.split()[1]))
                        break
        except OSError:
            pass
        if value is None:  # no procfs: the same figure from the clocks
            value = float(round(time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)))
        _boot_time = value
    return _boot_time


def cpu_count() -> int:
    """psutil.cpu_count(): the number of logical CPUs (1 if unknown)."""
    return os.cpu_count() or 1


def _create_time(start_time_ns: int) -> float:
    """psutil's create_time() of a process that started *start_time_ns*
    after boot: boot_time() plus the start in whole clock ticks, as psutil
    computes it from /proc/stat and /proc/PID/stat (equal figures)."""
    return boot_time() + (start_time_ns // _NS_PER_TICK) / _TICKS_PER_S


_total_memory: Optional[int] = None


def _total_phymem() -> int:
    """The total physical memory, bytes (MemTotal; psutil.virtual_memory().total)."""
    global _total_memory
    if _total_memory is None:
        _total_memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return _total_memory


def _sys_timer() -> float:
    """psutil's cpu_percent() timer: seconds, times the number of CPUs."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) * cpu_count()


# ---- the figures the module measures, from one TM_STATS answer -------------
# (the extension's dict of taskmon.Stats fields; one function per psutil
# method, shared by the methods and process_iter's fast path)

_Raw = typing.Mapping[str, Any]


def _need(value: Optional[_T], what: str) -> _T:
    """A figure the module did not fill: an error, not a made-up value."""
    if value is None:
        raise NotImplementedError(f"the loaded taskmonitor module does not report {what}()")
    return value


def _get_name(d: _Raw) -> str:
    return typing.cast(str, _need(d["comm"], "name"))


def _get_ppid(d: _Raw) -> int:
    return typing.cast(int, _need(d["ppid"], "ppid"))


def _get_status(d: _Raw) -> str:
    state = typing.cast(str, _need(d["state"], "status"))
    return _STATUS.get(state, state)


def _get_num_threads(d: _Raw) -> int:
    return typing.cast(int, _need(d["threads"], "num_threads"))


def _get_create_time(d: _Raw) -> float:
    return _create_time(_need(d["start_time_ns"], "create_time"))


def _get_cpu_times(d: _Raw) -> pcputimes:
    user, system = d["user_ns"], d["system_ns"]
    if user is None or system is None:
        _need(None, "cpu_times")
    return pcputimes(user / 1e9, system / 1e9)


def _get_memory_info(d: _Raw) -> pmem:
    anon, vsize = d["rss_anon_bytes"], d["vsize_bytes"]
    if anon is None or vsize is None:  # a kernel thread: 0, as psutil says
        return pmem(0, 0, 0)
    shared = (d["rss_file_bytes"] or 0) + (d["rss_shmem_bytes"] or 0)
    return pmem(anon + shared, vsize, shared)


def _get_num_ctx_switches(d: _Raw) -> pctxsw:
    return pctxsw(_need(d["voluntary_ctxsw"], "num_ctx_switches"),
                  _need(d["involuntary_ctxsw"], "num_ctx_switches"))


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # as psutil: the number, when no user has it
        return str(uid)


def _get_username(d: _Raw) -> str:
    return _user_name(_need(d["uid"], "username"))


#: The psutil methods answered from one TM_STATS answer alone.
_FROM_STATS: Dict[str, Callable[[_Raw], Any]] = {
    "name": _get_name, "ppid": _get_ppid, "status": _get_status,
    "num_threads": _get_num_threads, "create_time": _get_create_time,
    "cpu_times": _get_cpu_times, "memory_info": _get_memory_info,
    "num_ctx_switches": _get_num_ctx_switches, "username": _get_username,
}

#: The groups of fields (TM_STATS's request mask) each method the module
#: answers needs, so that a call asks the kernel for no more: name(),
#: ppid(), uids() ... cost it neither the walk over the threads (CPU,
#: FAULTS, CTXSW) nor the per-CPU memory sums (RSS).  START_TIME comes with
#: every answer (the check that the pid was not reused), as it costs nothing.
_FIELDS_OF: Dict[str, Fields] = {
    "pid": Fields.IDS, "name": Fields.COMM, "ppid": Fields.PPID, "status": Fields.STATE,
    "num_threads": Fields.THREADS, "create_time": Fields.START_TIME,
    "cpu_times": Fields.CPU, "memory_info": Fields.RSS | Fields.VSIZE,
    "num_ctx_switches": Fields.CTXSW, "username": Fields.CREDS, "uids": Fields.CREDS,
    "gids": Fields.CREDS, "cpu_percent": Fields.CPU | Fields.SAMPLE_TIME,
    "memory_percent": Fields.RSS | Fields.VSIZE, "nice": Fields.IDS,
}

#: What a request that only checks the process is still the same asks for.
_CHECK = Fields.IDS | Fields.START_TIME


def _fields_for(names: typing.Iterable[str]) -> int:
    """The request mask for the methods *names* (the others need none)."""
    fields = _CHECK
    for name in names:
        fields |= _FIELDS_OF.get(name, _CHECK)
    return int(fields)


#: What psutil answers (from /proc) and the module does not measure.
_FROM_PSUTIL = ("cmdline", "connections", "cpu_affinity", "cpu_num", "cwd", "environ",
                "exe", "io_counters", "ionice", "memory_full_info", "memory_maps",
                "num_fds", "open_files", "terminal", "threads")

#: psutil's names for as_dict() and process_iter(attrs) (psutil 5.9 on Linux).
_AS_DICT_NAMES = frozenset(_FROM_STATS) | frozenset(_FROM_PSUTIL) | frozenset(
    ("pid", "cpu_percent", "memory_percent", "nice", "uids", "gids"))

_PSUTIL_MISSING = ("{what}() is read by psutil, which cannot be imported: install "
                   "python3-psutil (Debian) or psutil; the taskmon module does not "
                   "measure it")


def _psutil() -> Any:
    """The psutil module, or PsutilNotInstalledError."""
    if _psutil_module is None:
        raise PsutilNotInstalledError(_PSUTIL_MISSING.format(what="this"))
    return _psutil_module


def _from_psutil(what: str, doc: str) -> Callable[..., Any]:
    """A Process method that psutil.Process answers (see Process._delegate)."""
    def method(self: Process, *args: Any, **kwargs: Any) -> Any:
        return self._delegate(what, *args, **kwargs)
    method.__name__ = method.__qualname__ = what
    method.__doc__ = (f"{doc} (psutil.Process.{what}(), read from /proc by psutil; "
                      "PsutilNotInstalledError without psutil).")
    return method


class Process:
    """One process, as psutil.Process, read through /dev/taskmonitor.

    ``Process()`` is the calling process.  Creating one checks that the
    process exists (NoSuchProcess otherwise) and records its start time:
    every later call raises NoSuchProcess once that process has exited,
    even if its pid was reused.  Each call of a method the module answers
    makes one request (TM_STATS); inside ``with p.oneshot():`` one request
    answers them all.  The module's target is never read nor changed.

    Every Process of the interpreter shares one read-only descriptor of the
    device (per *path*), opened by the first call and kept until
    :func:`close_shared_devices` or exit: creating a Process and reading it
    costs two ioctl(2)s, no open(2).  It may be used from several threads at
    once; a forked child opens its own.  While it is open the module cannot
    be unloaded (rmmod says it is in use): call close_shared_devices() first.
    """

    __slots__ = ("_pid", "_device", "_start_time_ns", "_cache", "_oneshot_depth",
                 "_last_sys", "_last_proc", "_psutil", "_exitcode", "info", "returncode",
                 "__weakref__")

    _pid: int
    _device: bytes
    _start_time_ns: Optional[int]
    _cache: Optional[_Raw]
    _oneshot_depth: int
    _last_sys: Optional[float]
    _last_proc: Optional[pcputimes]
    _psutil: Any
    _exitcode: Any
    #: What process_iter(attrs) read for this process (psutil's ``info``).
    info: Dict[str, Any]
    #: Set by wait_procs() on the processes that terminated (psutil's).
    returncode: Optional[int]

    def __init__(self, pid: Optional[int] = None, *,
                 path: StrPath = _DEFAULT_PATH) -> None:
        if pid is None:
            pid = os.getpid()
        elif type(pid) is not int:
            pid = _pid(pid)
        if not _PID_MIN <= pid <= _PID_MAX:
            raise _out_of_range(pid, path)
        self._setup(pid, _DEFAULT_DEVICE if path is _DEFAULT_PATH else os.fsencode(path))
        try:
            self._start_time_ns = _ext._shared_start(self._device, pid)
        except NoSuchProcessError as e:
            if isinstance(e, NoSuchProcess):
                raise
            raise NoSuchProcess(pid, msg=f"process PID not found ({e})") from None

    def _setup(self, pid: int, device: bytes) -> None:
        self._pid = pid
        self._device = device
        self._start_time_ns = None
        self._cache = None
        self._oneshot_depth = 0
        self._last_sys = None
        self._last_proc = None
        self._psutil = None
        self._exitcode: Any = _NOT_WAITED

    @classmethod
    def _listed(cls, pid: int, start_time_ns: int, device: bytes) -> Process:
        """A Process for a pid of TM_LIST, without a request."""
        p = cls.__new__(cls)
        p._setup(pid, device)
        p._start_time_ns = start_time_ns
        return p

    @property
    def pid(self) -> int:
        """The process id."""
        return self._pid

    # ---- the module's figures -------------------------------------------

    def _raw(self, fields: Fields = Fields.ALL) -> _Raw:
        """This process's TM_STATS answer: the one oneshot() keeps, or a new
        one of the groups *fields* (every group inside oneshot(), whose
        answer serves every later call)."""
        cache = self._cache
        if cache is not None:
            return cache
        if self._oneshot_depth:
            self._cache = self._fetch(Fields.ALL)
            return self._cache
        return self._fetch(fields)

    def _fetch(self, fields: Fields) -> _Raw:
        """A new TM_STATS answer of the groups *fields*, of this very process
        (NoSuchProcess if it exited or its pid names another one now)."""
        try:
            d = _ext._shared_stats(self._device, self._pid, int(fields | _CHECK))
        except NoSuchProcessError as e:
            raise self._gone(e) from None
        start = self._start_time_ns
        if start is not None and d["start_time_ns"] is not None and d["start_time_ns"] != start:
            raise self._reused()
        return d

    def _read(self) -> Stats:
        return Stats._from_ext(self._raw())

    def _gone(self, error: Optional[BaseException] = None) -> NoSuchProcess:
        if isinstance(error, NoSuchProcess):
            return error
        return NoSuchProcess(self._pid, msg="process no longer exists")

    def _reused(self) -> NoSuchProcess:
        return NoSuchProcess(
            self._pid, msg=f"process {self._pid} has exited (its pid now names another process)")

    def stats(self) -> Stats:
        """Every figure at once, as taskmon.Stats (integer ns and bytes)."""
        return self._read()

    @contextlib.contextmanager
    def oneshot(self) -> typing.Iterator[None]:
        """psutil's oneshot(): inside the ``with``, every method the module
        answers reads one TM_STATS answer, made by the first of them (and
        psutil's own oneshot() is entered for the methods psutil answers).
        May be nested."""
        self._oneshot_depth += 1
        try:
            if self._psutil is not None:
                with self._psutil.oneshot():
                    yield
            else:
                yield
        finally:
            self._oneshot_depth -= 1
            if not self._oneshot_depth:
                self._cache = None

    def is_running(self) -> bool:
        """True while the process exists, zombie or not (and its pid was not reused)."""
        if self._exitcode is not _NOT_WAITED:
            return False
        try:
            d = _ext._shared_stats(self._device, self._pid, int(_CHECK))
        except NoSuchProcessError:
            return False
        start = self._start_time_ns
        return start is None or d["start_time_ns"] is None or d["start_time_ns"] == start

    def name(self) -> str:
        """The command name, as the kernel keeps it (at most 15 characters,
        ps's ``comm``).  psutil completes a name of 15 characters from the
        command line, which the process itself may rewrite; taskmon gives
        the kernel's, without reading /proc (cmdline() has the rest)."""
        return _get_name(self._raw(Fields.COMM))

    def ppid(self) -> int:
        """The parent's pid (0 when the parent is outside this pid namespace)."""
        return _get_ppid(self._raw(Fields.PPID))

    def status(self) -> str:
        """psutil's status string: "running", "sleeping", "zombie", ... (STATUS_*)."""
        return _get_status(self._raw(Fields.STATE))

    def num_threads(self) -> int:
        """The number of threads."""
        return _get_num_threads(self._raw(Fields.THREADS))

    def create_time(self) -> float:
        """When the process started, in seconds since the epoch, as psutil
        says it: boot_time() (read once) plus the start in clock ticks, the
        same float at every call."""
        return _get_create_time(self._raw(Fields.START_TIME))

    def cpu_times(self) -> pcputimes:
        """CPU seconds in user and kernel mode, summed over every thread."""
        if self._cache is not None or self._oneshot_depth:
            return _get_cpu_times(self._raw(Fields.CPU))
        # The extension reads only these figures and builds the pcputimes
        # itself (no taskmon.Stats): this is the call to make cheap.
        try:
            times = _ext._shared_cpu_times(self._device, self._pid, self._start_time_ns)
        except NoSuchProcessError as e:
            raise self._gone(e) from None
        if times is None:
            raise self._reused()
        return times  # type: ignore[return-value]  # a pcputimes (_shared_set_types)

    def memory_info(self) -> pmem:
        """Resident and virtual memory in bytes: rss = anon + file + shmem,
        vms, shared = file + shmem.  A kernel thread has no memory: all 0, as
        psutil reports it (taskmon.Stats says None)."""
        if self._cache is not None or self._oneshot_depth:
            return _get_memory_info(self._raw(Fields.RSS | Fields.VSIZE))
        try:
            mem = _ext._shared_memory_info(self._device, self._pid, self._start_time_ns)
        except NoSuchProcessError as e:
            raise self._gone(e) from None
        if mem is None:
            raise self._reused()
        return mem  # type: ignore[return-value]  # a pmem (_shared_set_types)

    def num_ctx_switches(self) -> pctxsw:
        """Voluntary and involuntary context switches, summed over every thread."""
        return _get_num_ctx_switches(self._raw(Fields.CTXSW))

    def username(self) -> str:
        """The name of the real user (the uid as a string when no user has it)."""
        return _get_username(self._raw(Fields.CREDS))

    def uids(self) -> puids:
        """Real, effective and saved user ids: the first two from the
        module, the saved one from /proc/PID/status (AccessDenied when /proc
        does not show the process)."""
        d = self._raw(Fields.CREDS)
        return puids(_need(d["uid"], "uids"), _need(d["euid"], "uids"), self._saved_id("Uid:"))

    def gids(self) -> pgids:
        """Real, effective and saved group ids, as uids()."""
        d = self._raw(Fields.CREDS)
        return pgids(_need(d["gid"], "gids"), _need(d["egid"], "gids"), self._saved_id("Gid:"))

    def _saved_id(self, field: str) -> int:
        prefix = field.encode()
        try:
            with open(f"/proc/{self._pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(prefix):
                        return int(line.split()[3])
        except OSError:
            pass
        self._fetch(_CHECK)  # NoSuchProcess if it has exited
        raise AccessDenied(self._pid, msg=f"/proc/{self._pid}/status cannot be read "
                           "(a process hidden from /proc? see taskmon.hidden())")

    def nice(self, value: Optional[int] = None) -> Optional[int]:
        """Get (no argument) or set the nice value, by getpriority(2) and
        setpriority(2), as psutil does."""
        try:
            if value is None:
                return os.getpriority(os.PRIO_PROCESS, self._pid)
            self._check_same()
            os.setpriority(os.PRIO_PROCESS, self._pid, value)
            return None
        except ProcessLookupError:
            raise self._gone() from None
        except PermissionError as e:
            raise AccessDenied(self._pid, msg=str(e)) from None

    def cpu_percent(self, interval: Optional[float] = None) -> float:
        """psutil's cpu_percent(): the CPU use in percent of one CPU (busy
        on two CPUs: 200.0), rounded to 0.1.  With *interval* > 0 it
        compares two readings that far apart (blocking); without, it
        compares with the previous call, and the first call returns 0.0."""
        if interval is not None and interval < 0:
            raise ValueError(f"interval is not positive (got {interval!r})")
        ncpus = cpu_count()
        if interval is not None and interval > 0.0:
            st1: Optional[float] = _sys_timer()
            pt1: Optional[pcputimes] = self.cpu_times()
            time.sleep(interval)
            st2, pt2 = _sys_timer(), self.cpu_times()
        else:
            st1, pt1 = self._last_sys, self._last_proc
            st2, pt2 = self._cpu_sample()
        if st1 is None or pt1 is None:
            self._last_sys, self._last_proc = st2, pt2
            return 0.0
        self._last_sys, self._last_proc = st2, pt2
        delta_proc = (pt2.user - pt1.user) + (pt2.system - pt1.system)
        delta_time = st2 - st1
        if delta_time <= 0:
            return 0.0
        return round(delta_proc / delta_time * 100 * ncpus, 1)

    def _cpu_sample(self) -> Tuple[float, pcputimes]:
        """(the timer, cpu_times()) at the moment of the reading: the
        kernel's sample time when one TM_STATS answer is kept."""
        d = self._cache
        if d is not None and d.get("sample_time_ns") is not None:
            return float(d["sample_time_ns"]) / 1e9 * cpu_count(), _get_cpu_times(d)
        times = self.cpu_times()
        return _sys_timer(), times

    def memory_percent(self, memtype: str = "rss") -> float:
        """psutil's memory_percent(): memory_info().*memtype* in percent of
        the physical memory."""
        if memtype not in pmem._fields:
            raise ValueError(f"invalid memtype {memtype!r}; valid types are {pmem._fields!r}")
        value: int = getattr(self.memory_info(), memtype)
        return value / float(_total_phymem()) * 100

    # ---- relations ------------------------------------------------------

    def parent(self) -> Optional[Process]:
        """The parent as a Process, or None (no parent, or one that started
        after this process: the real parent has exited)."""
        ppid = self.ppid()
        if not ppid:
            return None
        ctime = self.create_time()
        try:
            parent = Process(ppid, path=os.fsdecode(self._device))
            if parent.create_time() <= ctime:
                return parent
        except NoSuchProcessError:
            pass
        return None

    def parents(self) -> List[Process]:
        """The parent, its parent, ... up to the first process."""
        out: List[Process] = []
        proc = self.parent()
        while proc is not None:
            out.append(proc)
            proc = proc.parent()
        return out

    def children(self, recursive: bool = False) -> List[Process]:
        """The children (every descendant with *recursive*), from the
        module's list of processes: hidden ones included.  One TM_LIST and
        one batched TM_STATS."""
        self._check_same()
        table = _table(self._device, int(Fields.PPID))
        by_parent: Dict[int, List[Tuple[int, int, _Raw]]] = {}
        for pid, start, d in table:
            if d["ppid"] is not None:
                by_parent.setdefault(d["ppid"], []).append((pid, start, d))
        mine = self._start_time_ns or 0
        out: List[Process] = []
        todo = [self._pid]
        seen = {self._pid}
        while todo:
            parent = todo.pop(0)
            for pid, start, _ in by_parent.get(parent, ()):
                if pid in seen or start < mine:
                    continue
                seen.add(pid)
                out.append(Process._listed(pid, start, self._device))
                if recursive:
                    todo.append(pid)
        return out

    # ---- signals and waiting --------------------------------------------

    def _check_same(self) -> None:
        """NoSuchProcess unless the pid still names this process."""
        self._fetch(_CHECK)

    def send_signal(self, sig: int) -> None:
        """Send signal *sig*, after checking that the pid still names this process."""
        self._check_same()
        try:
            os.kill(self._pid, sig)
        except ProcessLookupError:
            raise self._gone() from None
        except PermissionError as e:
            raise AccessDenied(self._pid, msg=str(e)) from None

    def suspend(self) -> None:
        """SIGSTOP."""
        self.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT."""
        self.send_signal(signal.SIGCONT)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """psutil's wait(): wait for the process to end and return its exit
        status (-N when killed by signal N) if it is a child of this
        process, else None; TimeoutExpired after *timeout* seconds."""
        if self._pid == 0:
            raise ValueError("can't wait for PID 0")
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be a positive number (got {timeout!r})")
        if self._exitcode is not _NOT_WAITED:
            return typing.cast(Optional[int], self._exitcode)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0001
        while True:
            try:
                pid, status = os.waitpid(self._pid, os.WNOHANG)
            except ChildProcessError:  # not our child: wait until it is gone
                pid, status = 0, None
                if not self.is_running():
                    self._exitcode = None
                    return None
            except InterruptedError:
                continue
            if pid == self._pid and status is not None:
                code = (os.WEXITSTATUS(status) if os.WIFEXITED(status)
                        else -os.WTERMSIG(status) if os.WIFSIGNALED(status) else status)
                self._exitcode = code
                return code
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutExpired(typing.cast(float, timeout), self._pid)
            time.sleep(delay if deadline is None else
                       max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 0.04)

    # ---- as_dict ---------------------------------------------------------

    def as_dict(self, attrs: Optional[typing.Sequence[str]] = None,
                ad_value: Any = None) -> Dict[str, Any]:
        """psutil's as_dict(): {name: method()} for *attrs* (None or empty:
        all of as_dict's names), read in one oneshot().  AccessDenied and
        ZombieProcess give *ad_value*; a name only psutil answers, without
        psutil, is left out when *attrs* is None, and raises
        PsutilNotInstalledError when asked for."""
        names = _check_attrs(attrs)
        out: Dict[str, Any] = {}
        with self.oneshot():
            for name in names:
                try:
                    if name == "pid":
                        out[name] = self._pid
                    else:
                        out[name] = getattr(self, name)()
                except (AccessDenied, ZombieProcess):
                    out[name] = ad_value
                except NotImplementedError:
                    if attrs:
                        raise
        return out

    # ---- what psutil answers ---------------------------------------------

    def _psutil_process(self) -> Any:
        """The psutil.Process of this very process (made once)."""
        if self._psutil is None:
            ps = _psutil()
            try:
                proc = ps.Process(self._pid)
            except ps.NoSuchProcess:
                self._check_same()
                raise AccessDenied(self._pid, msg=f"/proc does not show process {self._pid}, "
                                   "which the kernel runs (hidden? see taskmon.hidden())") from None
            except ps.AccessDenied as e:
                raise AccessDenied(self._pid, e.name, e.msg) from None
            self._check_same()  # psutil's Process is of this process, not a reused pid
            self._psutil = proc
        return self._psutil

    def _delegate(self, what: str, *args: Any, **kwargs: Any) -> Any:
        """psutil.Process.*what*(...) for this process, its errors made taskmon's."""
        if _psutil_module is None:
            raise PsutilNotInstalledError(_PSUTIL_MISSING.format(what=what))
        ps = _psutil_module
        proc = self._psutil_process()
        try:
            value = getattr(proc, what)(*args, **kwargs)
        except ps.ZombieProcess as e:
            raise ZombieProcess(self._pid, e.name, e.ppid, e.msg) from None
        except ps.NoSuchProcess:
            self._check_same()
            raise AccessDenied(self._pid, msg=f"/proc no longer shows process {self._pid}, "
                               "which the kernel runs (hidden? see taskmon.hidden())") from None
        except ps.AccessDenied as e:
            raise AccessDenied(self._pid, e.name, e.msg) from None
        if not self._oneshot_depth:
            self._check_same()  # what psutil read was of this process
        return value

    exe = _from_psutil("exe", "The executable's absolute path")
    cmdline = _from_psutil("cmdline", "The command line, a list of strings")
    cwd = _from_psutil("cwd", "The current working directory")
    environ = _from_psutil("environ", "The environment, a dict")
    terminal = _from_psutil("terminal", "The controlling terminal, or None")
    open_files = _from_psutil("open_files", "The regular files open")
    connections = _from_psutil("connections", "The socket connections")
    io_counters = _from_psutil("io_counters", "The I/O counters")
    num_fds = _from_psutil("num_fds", "The number of open file descriptors")
    cpu_affinity = _from_psutil("cpu_affinity", "Get or set the CPU affinity")
    cpu_num = _from_psutil("cpu_num", "The CPU the process last ran on")
    ionice = _from_psutil("ionice", "Get or set the I/O priority")
    rlimit = _from_psutil("rlimit", "Get or set a resource limit")
    memory_full_info = _from_psutil("memory_full_info", "memory_info() with uss, pss, swap")
    memory_maps = _from_psutil("memory_maps", "The memory mappings")
    threads = _from_psutil("threads", "The threads, with their CPU times")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Process):
            return NotImplemented
        return (self._pid, self._start_time_ns) == (other._pid, other._start_time_ns)

    def __hash__(self) -> int:
        return hash((self._pid, self._start_time_ns))

    def __repr__(self) -> str:
        return f"taskmon.Process(pid={self._pid})"


_NOT_WAITED = object()


def _check_attrs(attrs: Optional[typing.Sequence[str]]) -> typing.Sequence[str]:
    """as_dict()'s names: *attrs* checked, or all of them."""
    if attrs is None:
        return sorted(_AS_DICT_NAMES)
    if not isinstance(attrs, (list, tuple, set, frozenset)):
        raise TypeError(f"invalid attrs type {type(attrs)!r}")
    invalid = set(attrs) - _AS_DICT_NAMES
    if invalid:
        raise ValueError(f"invalid attr name{'s' if len(invalid) > 1 else ''} "
                         f"{', '.join(map(repr, sorted(invalid)))}")
    return list(attrs) if attrs else sorted(_AS_DICT_NAMES)


# ---- the whole process table: one TM_LIST, batched TM_STATS ----------------

def _table(device: bytes, fields: int) -> List[Tuple[int, int, _Raw]]:
    """(pid, start_time_ns, TM_STATS answer of the groups *fields*) of every
    process the kernel runs, hidden ones included; the processes that
    exited in between are left out."""
    monitor = _ext.Monitor(device, False)
    try:
        listed = monitor.processes()
        answers = monitor.stats_many([pid for pid, _ in listed], False, fields | int(_CHECK))
    finally:
        monitor.close()
    out = []
    for (pid, start), d in zip(listed, answers):
        if isinstance(d, BaseException):
            continue
        d = typing.cast(_Raw, d)
        if d["start_time_ns"] is not None and d["start_time_ns"] != start:
            continue  # the pid was reused in between
        out.append((pid, start, d))
    return out


#: process_iter()'s Process of each (pid, start time), kept between calls
#: (as psutil does) so that cpu_percent() compares with the previous call.
_pmap: Dict[Tuple[int, int], Process] = {}
_pmap_lock = threading.Lock()


def process_iter(attrs: Optional[typing.Sequence[str]] = None,
                 ad_value: Any = None) -> typing.Iterator[Process]:
    """psutil's process_iter(): a Process for every process the kernel
    runs, those hidden from /proc included, in ascending pid.  The Process
    objects are kept between calls (so cpu_percent() works).  With
    *attrs*, each gets ``info``: as_dict(attrs, ad_value), the module's
    figures taken from one TM_LIST and batched TM_STATS for the whole
    table (no request per process), which asks the kernel only for the
    groups of fields those names need (``attrs=['pid', 'name',
    'username']`` costs it no walk over each process's threads)."""
    names = None if attrs is None else _check_attrs(attrs)
    quiet = not attrs  # None or empty: names without an answer are left out
    table = _table(_DEFAULT_DEVICE, _fields_for(names or ()))
    with _pmap_lock:
        old = dict(_pmap)
        _pmap.clear()
        procs = []
        for pid, start, d in table:
            p = old.get((pid, start))
            if p is None:
                p = Process._listed(pid, start, _DEFAULT_DEVICE)
            _pmap[(pid, start)] = p
            procs.append((p, d))
    fast = [] if names is None else [(n, _FROM_STATS.get(n)) for n in names]
    for p, d in procs:
        if names is not None:
            try:
                p.info = _info(p, d, fast, ad_value, quiet)
            except NoSuchProcess:  # exited meanwhile: left out, as psutil does
                continue
        yield p


def _info(p: Process, d: _Raw, fast: List[Tuple[str, Optional[Callable[[_Raw], Any]]]],
          ad_value: Any, quiet: bool) -> Dict[str, Any]:
    """p.as_dict() with *d*, the table's TM_STATS answer, as oneshot()'s."""
    out: Dict[str, Any] = {}
    p._oneshot_depth += 1
    p._cache = d
    try:
        for name, get in fast:
            try:
                if get is not None:
                    out[name] = get(d)
                elif name == "pid":
                    out[name] = p._pid
                else:
                    out[name] = getattr(p, name)()
            except (AccessDenied, ZombieProcess):
                out[name] = ad_value
            except NotImplementedError:
                if not quiet:
                    raise
    finally:
        p._oneshot_depth -= 1
        if not p._oneshot_depth:
            p._cache = None
    return out


def pids() -> List[int]:
    """psutil's pids(): every pid the kernel runs (TM_LIST: hidden ones
    included), ascending."""
    monitor = _ext.Monitor(_DEFAULT_DEVICE, False)
    try:
        return [pid for pid, _ in monitor.processes()]
    finally:
        monitor.close()


def pid_exists(pid: int) -> bool:
    """psutil's pid_exists(): whether a process (not a thread) has this pid,
    asked of the module (TM_STATS), so a process hidden from /proc exists."""
    pid = _pid(pid)
    if pid <= 0 or pid > _PID_MAX:
        return False
    try:
        d = _ext._shared_stats(_DEFAULT_DEVICE, pid, int(Fields.IDS))
    except NoSuchProcessError:
        return False
    return d.get("tgid") in (None, pid)


def wait_procs(procs: typing.Sequence[Process], timeout: Optional[float] = None,
               callback: Optional[Callable[[Process], Any]] = None
               ) -> Tuple[List[Process], List[Process]]:
    """psutil's wait_procs(): wait for *procs* to end, at most *timeout*
    seconds; returns (gone, alive).  Each gone Process gets ``returncode``
    (wait()'s answer), and *callback* is called with it."""
    if timeout is not None and not timeout >= 0:
        raise ValueError(f"timeout must be a positive number (got {timeout!r})")
    gone: List[Process] = []
    alive = list(procs)
    deadline = None if timeout is None else time.monotonic() + timeout

    def check(proc: Process, wait_for: float) -> None:
        try:
            code = proc.wait(wait_for)
        except TimeoutExpired:
            return
        proc.returncode = code
        gone.append(proc)
        if callback is not None:
            callback(proc)

    while alive:
        if deadline is not None and time.monotonic() >= deadline:
            break
        for proc in alive:
            wait_for = 1.0 / max(len(alive), 1)
            if deadline is not None:
                wait_for = min(wait_for, max(0.0, deadline - time.monotonic()))
            check(proc, min(wait_for, 0.01))
        alive = [p for p in alive if p not in gone]
    if alive:  # a last look, without waiting
        for proc in alive:
            check(proc, 0)
        alive = [p for p in alive if p not in gone]
    return gone, alive


def close_shared_devices() -> None:
    """Close the device files that every :class:`Process` shares (also done
    at exit), e.g. before unloading the module; the next call reopens them.
    Waits for the calls other threads are making on them."""
    _ext._shared_close()


atexit.register(close_shared_devices)
_ext._shared_set_types(pcputimes, pmem)


def _out_of_range(pid: int, path: StrPath) -> InvalidArgumentError:
    """The error of a pid that does not fit a pid_t, as Monitor.stats() says it."""
    device = os.fsdecode(path)
    return InvalidArgumentError(
        errno.EINVAL,
        f"stats on {device}: a pid must fit a C pid_t (32 bits), and {pid} does not "
        "(checked in Python, without asking the kernel)", device, operation="stats")
