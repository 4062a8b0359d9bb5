"""Machinery shared by the reliability suites (and their worker processes).

- the helpers of the kernel-behaviour suite (tests/kernel: kmod, kmsg,
  tmdev, uapi) and the shared procs (tests/pylib), put on sys.path here
  and re-exported;
- deadlines on calls: a call into the kernel that never returns is a bug
  we must report, not a test run that hangs until the VM's time-out;
- a snapshot of everything our modules create, to compare before and after
  a fault or a bad input.
"""
import contextlib
import ctypes
import errno
import json
import mmap
import os
import pathlib
import struct
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pylib"))
sys.path.insert(0, str(HERE.parent / "kernel"))

import kmod  # noqa: E402
import kmsg  # noqa: E402
import procs  # noqa: E402
import tmdev  # noqa: E402
import uapi  # noqa: E402

# The helpers of tests/kernel are used through this module.
__all__ = ["kmod", "kmsg", "procs", "tmdev", "uapi", "MODULES", "SQUATTER", "HELLO_SYSFS",
           "HELLO_DEV", "CLASS_DIR", "DEADLINE", "ko_path", "unload_all",
           "live_monitor_kthreads", "kernel_stack", "call_with_deadline", "Slots", "Watcher",
           "spawn_worker", "collect", "snapshot", "NOTHING_LEFT", "Pages", "PAGE"]

MODULES = ("hellosysfs", "helloioctl", "taskmonitor")
SQUATTER = "squatter"
HELLO_SYSFS = pathlib.Path("/sys/kernel/hello")
HELLO_DEV = pathlib.Path("/dev/hello")
CLASS_DIR = pathlib.Path("/sys/class/taskmonitor")
# Generous: under TCG with KASAN and lockdep a call is 20-50 times slower,
# and a hung call is not slow, it never returns.
DEADLINE = float(os.environ.get("TASKMON_CALL_DEADLINE", "30"))


def ko_path(name: str) -> pathlib.Path:
    """NAME.ko under TASKMON_KO_DIR (searched recursively, as tests/kernel does)."""
    root = pathlib.Path(os.environ["TASKMON_KO_DIR"])
    found = sorted(root.rglob(f"{name}.ko"))
    if not found:
        hint = (" (build it with tests/reliability/build-squatter KVER)"
                if name == SQUATTER else "")
        raise FileNotFoundError(f"{name}.ko not found under {root}{hint}")
    return found[0]


def unload_all():
    for name in (SQUATTER,) + MODULES:
        call_with_deadline(kmod.unload_if_loaded, name, what=f"unloading {name}")


# ---- the monitor kthreads ----

# The one count of live (not exiting) monitor kthreads, shared with
# tests/kernel: see procs.monitor_kthreads() for why exiting ones are left out.
live_monitor_kthreads = procs.monitor_kthreads


def kernel_stack(pid: int, tid: int = None) -> str:
    path = f"/proc/{pid}/task/{tid}/stack" if tid else f"/proc/{pid}/stack"
    try:
        return pathlib.Path(path).read_text()
    except OSError as e:
        return f"({path}: {e.strerror})"


# ---- deadlines ----

def call_with_deadline(fn, *args, what: str, timeout: float = DEADLINE):
    """fn(*args) in a thread; fail with its kernel stack if it does not return.

    A system call stuck in the kernel cannot be interrupted from Python: the
    thread is left behind, and the test fails saying which call hung where.
    """
    result, error, tid = [], [], []

    def run():
        tid.append(threading.get_native_id())
        try:
            result.append(fn(*args))
        except BaseException as e:  # handed to the caller as is
            error.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"{what} did not return within {timeout:.0f} s; kernel stack:\n"
                             + kernel_stack(os.getpid(), tid[0] if tid else None))
    if error:
        raise error[0]
    return result[0]


class Slots:
    """A table in shared memory where worker threads post the call they are in.

    Each slot is (operation index, start time in CLOCK_MONOTONIC ns, pid,
    tid, calls done); the operation is -1 between calls.  The start is
    written before the operation and only ever grows, so a watcher never
    sees an old start beside a new operation: no false time-outs.
    """
    FORMAT = "qqqqq"
    SIZE = struct.calcsize(FORMAT)

    def __init__(self, path: str, count: int = 0):
        self.path = path
        if count:
            with open(path, "wb") as f:
                f.write(struct.pack(self.FORMAT, -1, 0, 0, 0, 0) * count)
        self._fd = os.open(path, os.O_RDWR)
        self.count = os.fstat(self._fd).st_size // self.SIZE
        self._map = mmap.mmap(self._fd, self.count * self.SIZE)

    def close(self):
        self._map.close()
        os.close(self._fd)

    def _set(self, slot, index, value):
        struct.pack_into("q", self._map, slot * self.SIZE + 8 * index, value)

    @contextlib.contextmanager
    def call(self, slot: int, op: int):
        self._set(slot, 1, time.monotonic_ns())
        self._set(slot, 2, os.getpid())
        self._set(slot, 3, threading.get_native_id())
        self._set(slot, 0, op)
        try:
            yield
        finally:
            self._set(slot, 0, -1)
            done = struct.unpack_from("q", self._map, slot * self.SIZE + 32)[0]
            self._set(slot, 4, done + 1)

    def overdue(self, timeout: float):
        """[(slot, op, seconds, pid, tid)] of calls running for longer than timeout."""
        now = time.monotonic_ns()
        late = []
        for slot in range(self.count):
            op, start, pid, tid, _ = struct.unpack_from(self.FORMAT, self._map,
                                                        slot * self.SIZE)
            if op >= 0 and now - start > timeout * 1e9:
                late.append((slot, op, (now - start) / 1e9, pid, tid))
        return late

    def calls_done(self) -> int:
        return sum(struct.unpack_from(self.FORMAT, self._map, s * self.SIZE)[4]
                   for s in range(self.count))


class Watcher:
    """Checks invariants while workers run, from a thread of the test process.

    - no call posted in the slots runs past the deadline;
    - never more than one live monitor kthread;
    - the kernel log is read continuously so that none of it is lost.
    """

    def __init__(self, slots: Slots, ops, log, period: float = 0.05):
        self.slots, self.ops, self.log, self.period = slots, ops, log, period
        self.violations = []
        self.checks = 0
        self.max_threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(DEADLINE)

    def _run(self):
        reported = set()
        while not self._stop.wait(self.period):
            self.log.lines()
            threads = live_monitor_kthreads()
            self.checks += 1
            self.max_threads = max(self.max_threads, len(threads))
            if len(threads) > 1:
                self.violations.append(f"{len(threads)} live monitor kthreads: {threads}")
            for slot, op, secs, pid, tid in self.slots.overdue(DEADLINE):
                if (slot, pid, tid) not in reported:
                    reported.add((slot, pid, tid))
                    self.violations.append(
                        f"{self.ops[op]} (pid {pid} tid {tid}) has not returned after "
                        f"{secs:.0f} s; kernel stack:\n{kernel_stack(pid, tid)}")


def spawn_worker(*args) -> subprocess.Popen:
    """python3 tests/reliability/worker.py ARGS..., its JSON report on stdout."""
    return subprocess.Popen([sys.executable, str(HERE / "worker.py")] + [str(a) for a in args],
                            stdout=subprocess.PIPE, text=True)


def collect(proc: subprocess.Popen, timeout: float) -> dict:
    """The worker's report; kill it and fail if it does not finish in time."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stacks = "\n".join(f"tid {t}:\n{kernel_stack(proc.pid, int(t))}"
                           for t in os.listdir(f"/proc/{proc.pid}/task"))
        proc.kill()
        proc.communicate()
        raise AssertionError(f"worker {proc.args[2:]} did not finish within {timeout:.0f} s; "
                             f"kernel stacks:\n{stacks}")
    assert proc.returncode == 0, f"worker {proc.args[2:]} exited with {proc.returncode}"
    return json.loads(out)


# ---- the state of the modules ----

def _errno_of(fn):
    try:
        return fn()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def _proc_devices():
    text = pathlib.Path("/proc/devices").read_text().split("Block devices:")[0]
    return sorted(line.split()[1] for line in text.splitlines()[1:]
                  if line.split()[1:] and line.split()[1] in ("hello", "taskmonitor"))


def snapshot(hello_ioctl: bool = True) -> dict:
    """Everything our modules show: compared before and after a bad input."""
    state = {
        "loaded": sorted(n for n in MODULES + (SQUATTER,) if kmod.is_loaded(n)),
        "kthreads": len(live_monitor_kthreads()),
        "nodes": sorted(str(p) for p in (tmdev.DEV, tmdev.SYSFS, HELLO_SYSFS, HELLO_DEV,
                                         CLASS_DIR, pathlib.Path("/sys/class/hello"))
                        if os.path.lexists(p)),
        "chrdevs": _proc_devices(),
    }
    if tmdev.DEV.exists():
        def target():
            with tmdev.Device() as dev:
                return dev.pid(-1)
        state["target"] = _errno_of(target)
    if HELLO_SYSFS.exists():
        state["hello"] = _errno_of(HELLO_SYSFS.read_bytes)
    if hello_ioctl and HELLO_DEV.exists():
        def greeting():
            buf = bytearray(uapi.HELLO_MSG_LEN)
            fd = os.open(HELLO_DEV, os.O_RDONLY)
            try:
                import fcntl
                fcntl.ioctl(fd, uapi.HELLO, buf)
            finally:
                os.close(fd)
            return bytes(buf).rstrip(b"\0")
        state["greeting"] = _errno_of(greeting)
    return state


NOTHING_LEFT = {"loaded": [], "kthreads": 0, "nodes": [], "chrdevs": []}


# ---- raw memory for pointer arguments ----

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
PAGE = mmap.PAGESIZE


class Pages:
    """Three pages: read-write, read-only, and no access, in that order.

    Their addresses make the pointers that straddle a page end or point at
    memory the kernel may read but not write.
    """

    def __init__(self):
        addr = _libc.mmap(None, 3 * PAGE, mmap.PROT_READ | mmap.PROT_WRITE,
                          mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        self.rw, self.ro, self.none = addr, addr + PAGE, addr + 2 * PAGE
        _libc.mprotect(self.ro, PAGE, mmap.PROT_READ)
        _libc.mprotect(self.none, PAGE, 0)  # PROT_NONE (not in Python 3.11's mmap)

    def write(self, addr: int, data: bytes):
        """Write into the read-write and read-only pages (made writable meanwhile)."""
        assert self.rw <= addr and addr + len(data) <= self.none
        _libc.mprotect(self.ro, PAGE, mmap.PROT_READ | mmap.PROT_WRITE)
        ctypes.memmove(addr, data, len(data))
        _libc.mprotect(self.ro, PAGE, mmap.PROT_READ)

    def read(self, addr: int, size: int) -> bytes:
        return ctypes.string_at(addr, size)
