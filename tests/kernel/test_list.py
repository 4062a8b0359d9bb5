"""taskmonitor: TM_LIST, the kernel's list of processes, against /proc."""
import errno
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

import list_uapi as lu

TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture
def fd(load):
    load("taskmonitor")
    # Reading, not steering: a read-only file is enough.
    fd = os.open("/dev/taskmonitor", os.O_RDONLY | os.O_CLOEXEC)
    yield fd
    os.close(fd)


def proc_pids():
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def proc_start_ticks(pid: int):
    """/proc/PID/stat's starttime (clock ticks), None once it is gone."""
    try:
        raw = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(raw[raw.rindex(")") + 2:].split()[19])


def errno_of(call, fd) -> int:
    try:
        call(fd)
    except OSError as e:
        return e.errno
    raise AssertionError("the call succeeded")


@pytest.fixture
def threaded():
    """A process with 3 extra threads; yields (pid, [tids])."""
    code = ("import threading, sys\n"
            "ev = threading.Event()\n"
            "for _ in range(3): threading.Thread(target=ev.wait, daemon=True).start()\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    tids = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid)
    assert len(tids) == 3
    yield proc.pid, tids
    proc.kill()
    proc.wait()


def test_every_proc_pid_is_listed_and_no_thread(fd, threaded):
    pid, tids = threaded
    before = proc_pids()
    listed = lu.processes(fd)
    after = proc_pids()
    pids = [p for p, _ in listed]
    assert pids == sorted(set(pids)), "ascending, no pid twice"
    assert all(p > 0 for p in pids)
    # Whatever /proc showed both before and after existed during the call.
    assert before & after <= set(pids)
    # Whatever the kernel listed that /proc still shows was shown before or after.
    assert set(pids) & proc_pids() <= before | after
    assert pid in pids and 1 in pids and os.getpid() in pids
    assert not set(tids) & set(pids), "threads are not processes"


def test_start_times_are_those_of_proc_pid_stat(fd, threaded):
    listed = lu.processes(fd)
    checked = 0
    for pid, start_ns in listed:
        ticks = proc_start_ticks(pid)
        if ticks is None:
            continue
        # /proc/PID/stat: nsec_to_clock_t() of the same boottime-based figure.
        assert start_ns // TICK_NS == ticks, f"pid {pid}"
        checked += 1
    assert checked >= 10
    own = dict(listed)[os.getpid()]
    assert 0 < own <= time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def test_count_zero_returns_the_number_needed(fd):
    call = lu.Call(0, entries=0)
    n = call(fd)
    assert n == call.arg.total
    assert abs(n - len(proc_pids())) < 16
    assert 0 < call.arg.time_ns <= time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def test_too_small_is_erange_with_the_count_needed(fd):
    call = lu.Call(2, fill=0xAB)
    assert errno_of(call, fd) == errno.ERANGE
    assert call.arg.total > 2
    # The first entries are written: pid 1 first.
    assert call.entry(0).pid == 1 and call.entry(1).pid > 1
    # Enough room (with a margin): all of them, and nothing past them.
    big = lu.Call(call.arg.total + 64, fill=0xAB)
    n = big(fd)
    assert n == big.arg.total
    assert big.entry_bytes(n) == b"\xab" * lu.PROC_SIZE_VER0
    assert [p.pid for p in big.entries(n)] == sorted({p.pid for p in big.entries(n)})


def test_exact_fit_succeeds(fd):
    # Retry until no process came or went between the two calls.
    for _ in range(20):
        need = lu.Call(0, entries=0)(fd)
        call = lu.Call(need)
        try:
            assert call(fd) == need
            return
        except OSError as e:
            assert e.errno == errno.ERANGE
    pytest.fail("never an exact fit")


PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("entry_size", [24, 32, 264, PAGE])
def test_larger_entries_get_zeroed_tails(fd, entry_size):
    """Entries larger than the module's, up to a page: the bytes it does
    not know are cleared, nothing past the last entry is written."""
    room = min(4096, (4 << 20) // entry_size)
    call = lu.Call(room, entry_size=entry_size, fill=0xFF, guard=64)
    try:
        n = call(fd)
    except OSError as e:
        assert e.errno == errno.ERANGE and entry_size == PAGE
        n = room
    assert n > 0
    for i in range(n):
        raw = call.entry_bytes(i)
        assert raw[lu.PROC_SIZE_VER0:] == bytes(entry_size - lu.PROC_SIZE_VER0), f"entry {i}"
        assert call.entry(i).reserved == 0 and call.entry(i).pid > 0
    assert call.entry(0).pid == 1
    if n < room:
        # The entries past the n written are untouched.
        assert call.entry_bytes(n) == b"\xff" * entry_size
    assert call.guard_intact()


@pytest.mark.parametrize("kwargs, expected", [
    ({"size": lu.LIST_SIZE_VER0 - 8}, errno.EINVAL),
    ({"size": lu.LIST_SIZE_VER0 + 4}, errno.EINVAL),
    ({"size": PAGE + 8}, errno.E2BIG),
    ({"size": 8192}, errno.E2BIG),
    ({"flags": 1}, errno.EINVAL),
    ({"reserved": 1}, errno.EINVAL),
    ({"entry_size": 8}, errno.EINVAL),
    ({"entry_size": 20}, errno.EINVAL),
    ({"entry_size": 268}, errno.EINVAL),
    ({"entry_size": PAGE + 8}, errno.E2BIG),
    ({"entries": 8}, errno.EFAULT),
])
def test_bad_requests(fd, kwargs, expected):
    assert errno_of(lu.Call(16, **kwargs), fd) == expected


def test_count_above_the_maximum_is_e2big(fd):
    call = lu.Call(1)
    call.arg.count = lu.LIST_MAX + 1
    assert errno_of(call, fd) == errno.E2BIG


@pytest.mark.parametrize("size", [lu.LIST_SIZE_VER0 + 8, lu.LIST_SIZE_VER0 + 24, PAGE])
def test_larger_struct_gets_its_tail_cleared(fd, size):
    """A caller's struct larger than the module's: the bytes past it are
    outputs the module does not know, set to zero whatever they held (not
    refused), and nothing past @size is written."""
    for tail in (b"", b"\x01", b"\xff" * (size - lu.LIST_SIZE_VER0)):
        call = lu.Call(4096, size=size, tail=tail, guard=64)
        assert call(fd) == call.arg.total
        assert call.arg.size == size and call.arg.time_ns > 0
        assert call.tail_bytes() == bytes(size - lu.LIST_SIZE_VER0), (size, tail[:1])
        assert call.guard_intact()


_MANY_THREADS = r"""
import sys, threading
threading.stack_size(64 << 10)
ev = threading.Event()
threads = [threading.Thread(target=ev.wait, daemon=True) for _ in range(int(sys.argv[1]))]
for t in threads:
    t.start()
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_namespace_full_of_threads_lists_exactly_its_processes(fd):
    """2,000 threads of one process between pids of processes: the walk,
    which looks up and skips each thread's pid (bounded lookups per RCU
    read section), still lists every process and no thread: the list is
    /proc's, and the process forked after the threads is in it."""
    n = 2000
    proc = subprocess.Popen([sys.executable, "-c", _MANY_THREADS, str(n)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    after = None
    try:
        assert proc.stdout.readline() == "ready\n"
        tids = {int(t) for t in os.listdir(f"/proc/{proc.pid}/task")} - {proc.pid}
        assert len(tids) == n
        # A process whose pid comes after the threads' (pids only go up
        # until they wrap, which a fresh VM does not reach).
        after = subprocess.Popen(["sleep", "600"])
        assert after.pid > max(tids) or after.pid < min(tids)
        for _ in range(5):
            before = proc_pids()
            listed = [p for p, _ in lu.processes(fd)]
            if before == proc_pids():
                break
        assert listed == sorted(set(listed)), "ascending, no pid twice"
        assert not tids & set(listed), "threads are not processes"
        assert proc.pid in listed and after.pid in listed and 1 in listed
        # /proc did not change around the call: the list is exactly /proc's.
        assert set(listed) == before, (sorted(set(listed) - before), sorted(before - set(listed)))
        # The count alone (count 0) agrees.
        assert lu.Call(0, entries=0)(fd) == len(listed)
    finally:
        if after is not None:
            after.kill()
            after.wait()
        proc.kill()
        proc.wait()


def test_a_child_pid_namespace_sees_only_its_own(fd):
    """In a new pid namespace the list is that namespace's /proc."""
    script = HERE / "list_uapi.py"
    out = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
         "import os, subprocess, sys\n"
         "listed = subprocess.run([sys.executable, sys.argv[1]], check=True,\n"
         "                        capture_output=True, text=True).stdout\n"
         "print(sorted(int(n) for n in os.listdir('/proc') if n.isdigit()))\n"
         "print(listed, end='')\n", str(script)],
        check=True, capture_output=True, text=True, timeout=60).stdout.splitlines()
    proc_view = eval(out[0])  # noqa: S307 - our own output
    listed = [tuple(int(x) for x in line.split()) for line in out[1:]]
    pids = [p for p, _ in listed]
    # pid 1 (the python above) and the lister; nothing of the parent namespace.
    assert pids[0] == 1
    assert set(pids) <= {1, 2, 3, 4}
    assert set(proc_view) <= set(pids) | {2, 3, 4}
    assert len(pids) <= 3


def _churn(stop: threading.Event, errors: list):
    """Forks and threads that live for microseconds, from several parents."""
    code = ("import os, threading, time, sys\n"
            "end = time.monotonic() + float(sys.argv[1])\n"
            "while time.monotonic() < end:\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
            "        os._exit(0)\n"
            "    os.waitpid(pid, 0)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, "4"]) for _ in range(4)]
    for p in procs:
        if p.wait() != 0:
            errors.append(f"churner exited {p.returncode}")
    stop.set()


def test_concurrent_fork_and_exit(fd):
    stop = threading.Event()
    errors = []
    churn = threading.Thread(target=_churn, args=(stop, errors))
    churn.start()
    calls = 0
    try:
        while not stop.is_set():
            listed = lu.processes(fd, margin=256)
            pids = [p for p, _ in listed]
            assert pids == sorted(set(pids)), "no pid twice, ascending"
            assert all(p > 0 for p in pids)
            assert all(s > 0 for _, s in listed)
            assert 1 in pids and os.getpid() in pids
            calls += 1
    finally:
        stop.wait(60)
        churn.join()
    assert not errors
    assert calls >= 5


def test_fuzz(fd):
    """Random sizes, tails, flags, entry sizes, counts and pointers: only
    the documented answers, and a correct list afterwards."""
    import ctypes
    import random
    rng = random.Random(int(os.environ.get("TASKMON_SEED", "12")))
    allowed = {errno.EINVAL, errno.E2BIG, errno.EFAULT, errno.ERANGE}
    seen = set()
    for _ in range(int(os.environ.get("TASKMON_FUZZ_LIST_CALLS", "2000"))):
        size = rng.choice([0, 8, lu.LIST_SIZE_VER0 - 1, lu.LIST_SIZE_VER0, lu.LIST_SIZE_VER0 + 8,
                           4096, 4097, rng.randrange(0, 5000)])
        entry_size = rng.choice([0, 8, 16, 24, 32, 256, 264, 4096 - 8, 4096, 4096 + 8,
                                 rng.randrange(0, 300)])
        count = rng.choice([0, 1, 2, 64, 4096, lu.LIST_MAX, lu.LIST_MAX + 1, rng.randrange(0, 1 << 32)])
        room = min(count, 4096 if entry_size <= 264 else 256)
        call = lu.Call(room, entry_size=max(entry_size, 1), size=max(size, lu.LIST_SIZE_VER0),
                       flags=rng.choice([0, 0, 0, 1, 1 << 31]),
                       tail=rng.choice([b"", b"\0" * 8, b"\1", b"\xff" * 64]),
                       reserved=rng.choice([0, 0, 0, 1]),
                       entries=rng.choice([None, None, 0, 8, 1 << 47, (1 << 64) - 4096]))
        call.arg.size, call.arg.entry_size = size, entry_size
        # The count may exceed the room only where the kernel must not write:
        # an error is certain (bad pointer, bad field) or the count is 0.
        if count > room and call.arg.entries == ctypes.addressof(call.buf):
            count = room
        call.arg.count = count & 0xFFFFFFFF
        try:
            n = call(fd)
            assert n == call.arg.total
            assert call.tail_bytes() == bytes(len(call.tail_bytes())), "the tail was not cleared"
            seen.add(0)
        except OSError as e:
            assert e.errno in allowed, (size, entry_size, count, e)
            seen.add(e.errno)
    assert {0, errno.EINVAL, errno.EFAULT} <= seen
    listed = lu.processes(fd)
    assert listed[0][0] == 1 and os.getpid() in dict(listed)
