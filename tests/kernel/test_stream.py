"""Streams of samples: TM_SUBSCRIBE, read() and poll() on /dev/taskmonitor.

Each open file subscribes to its own processes and period and drains its
own ring; the lab's target and kthread are not touched.  Timing figures
(mean and worst lateness of the records) are printed, not asserted beyond
a generous ceiling: the VM is emulated and shares the host.
"""
import contextlib
import ctypes
import errno
import fcntl
import os
import random
import select
import signal
import statistics
import subprocess
import threading
import time

import pytest

import cprog
import kmod
import procs
import stats_uapi
import stream_uapi as su
import tmdev
from tmdev import errno_of, open_dev
import uapi

MS = 1_000_000
PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def monitor(load):
    """taskmonitor loaded without a target."""
    load("taskmonitor")


def read_n(fd: int, n: int, timeout: float = 60.0):
    """Exactly n records (fewer only if the stream ends)."""
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < n:
        assert time.monotonic() < deadline, f"only {len(records)} of {n} records in {timeout} s"
        got = su.read_records(fd, n - len(records))
        if not got:
            break
        records += got
    return records


def sleeper() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "600"])


def test_records_arrive_at_the_period_in_order(monitor, busy):
    proc = busy()
    fd = open_dev()
    try:
        period = 50 * MS
        subscribed = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        su.subscribe(fd, [proc.pid], period_ns=period)
        records = read_n(fd, 21)
    finally:
        os.close(fd)
    assert [r.seq for r in records] == list(range(21))
    # A period the sampler skipped (TM_RECORD_GAP) is no failure here.
    assert all(r.pid == proc.pid and r.flags & ~su.GAP == 0 and r.lost == 0 for r in records)
    cpu = [r.user_ns + r.system_ns for r in records]
    assert cpu == sorted(cpu) and cpu[-1] > cpu[0], "a busy process's CPU time must grow"
    # The n-th record is due n periods after the subscription: never
    # earlier, and lateness does not add up (a tick a period or more late
    # skips the due times that passed, so it only ever moves later).
    late = [(r.timestamp_ns - subscribed - i * period) / MS for i, r in enumerate(records)]
    gaps = [(b.timestamp_ns - a.timestamp_ns) / MS for a, b in zip(records, records[1:])]
    print(f"period 50 ms: mean gap {statistics.mean(gaps):.1f} ms, worst gap {max(gaps):.1f} ms, "
          f"lateness mean {statistics.mean(late):.1f} ms, worst {max(late):.1f} ms")
    assert min(late) >= 0, f"a record came before it was due: {late}"
    # A generous ceiling: the VM is emulated and shares a busy host.
    assert max(late) < 10_000


def test_figures_match_tm_stats(monitor, busy):
    """A record's CPU time is TM_STATS's figure, taken between two calls."""
    proc = busy()
    with tmdev.Device() as dev:
        before = stats_uapi.stats(dev.fd, proc.pid)
        fd = open_dev()
        try:
            su.subscribe(fd, [proc.pid], period_ns=su.PERIOD_MAX_NS)
            record = read_n(fd, 1)[0]
        finally:
            os.close(fd)
        after = stats_uapi.stats(dev.fd, proc.pid)
    assert before.user_ns <= record.user_ns <= after.user_ns
    assert before.system_ns <= record.system_ns <= after.system_ns
    assert before.sample_time_ns <= record.timestamp_ns <= after.sample_time_ns


def test_several_processes_one_record_each_per_period(monitor, busy):
    pool = [busy(), sleeper(), sleeper()]
    fd = open_dev()
    try:
        su.subscribe(fd, [p.pid for p in pool], period_ns=20 * MS)
        records = read_n(fd, 30)
    finally:
        os.close(fd)
        for p in pool:
            procs.kill(p)
    assert [r.seq for r in records] == list(range(30))
    # Each period yields one record per process, in subscription order.
    assert [r.pid for r in records] == [p.pid for p in pool] * 10


def _assert_each_gap_counted(records):
    """A stream's records, from its first: each one's @lost is exactly the
    gap in the numbers before it (an unsigned count, so the numbers rise).
    read() hands out the ring a few records per round (TM_READ_BYTES), and
    on a slow host the producer may add and drop records between two
    rounds of one read(): gaps and more records than the ring holds are
    allowed, an uncounted gap is not."""
    previous = -1
    for r in records:
        assert r.lost == r.seq - previous - 1, records
        previous = r.seq


def test_a_slow_reader_loses_the_oldest_records_and_is_told_how_many(monitor):
    """A ring of 4 read after a pause of about 50 periods.  On a loaded
    emulated host fewer than 5 ticks may run in that pause: then nothing
    was lost yet, and the test tries again on a new file with a pause twice
    as long (up to a deadline) instead of failing."""
    proc = sleeper()
    try:
        pause = 50 * su.PERIOD_MIN_NS / 1e9
        deadline = time.monotonic() + 60
        while True:
            fd = open_dev()
            try:
                su.subscribe(fd, [proc.pid], period_ns=su.PERIOD_MIN_NS, ring=4)
                time.sleep(pause)
                records = su.read_records(fd, 64)
                if records[0].seq > 0 or time.monotonic() > deadline:
                    more = read_n(fd, 2)
                    break
            finally:
                os.close(fd)
            pause *= 2
    finally:
        procs.kill(proc)
    assert records, records
    # Only the newest survive, and the first record says exactly how many
    # were dropped before it.
    assert records[0].lost == records[0].seq > 0, records
    # Within one read and across reads.
    _assert_each_gap_counted(records + more)


def test_eight_fast_readers_lose_nothing(monitor, busy):
    proc = busy()
    results, errors = {}, []

    def reader(i):
        try:
            fd = open_dev()
            try:
                su.subscribe(fd, [proc.pid], period_ns=su.PERIOD_MIN_NS)
                results[i] = read_n(fd, 100)
            finally:
                os.close(fd)
        except Exception as e:  # reported below, with the reader's number
            errors.append(f"reader {i}: {e!r}")

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(results) == 8
    for i, records in results.items():
        assert [r.seq for r in records] == list(range(100)), f"reader {i}"
        assert all(r.lost == 0 for r in records), f"reader {i} lost records"


def test_exit_record_of_a_zombie_has_its_final_times(monitor, busy):
    proc = busy()
    fd = open_dev()
    try:
        su.subscribe(fd, [proc.pid], period_ns=50 * MS)
        read_n(fd, 2)
        os.kill(proc.pid, signal.SIGKILL)
        while procs.state(proc.pid) != "Z":
            time.sleep(0.01)
        with tmdev.Device() as dev:
            final = stats_uapi.stats(dev.fd, proc.pid)
        records = []
        while True:
            got = su.read_records(fd)
            if not got:
                break       # end of stream: 0 from read()
            records += got
        assert select.select([fd], [], [], 0)[0] == [fd]
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(0) == [(fd, select.POLLHUP)]
    finally:
        os.close(fd)
        proc.wait()
    last = records[-1]
    assert last.flags == su.EXIT, records[-3:]
    assert all(r.flags == 0 for r in records[:-1])
    assert (last.user_ns, last.system_ns) == (final.user_ns, final.system_ns)


def test_exit_record_of_a_process_reaped_between_two_samples(monitor):
    proc = sleeper()
    fd = open_dev()
    try:
        su.subscribe(fd, [proc.pid], period_ns=300 * MS)
        first = read_n(fd, 1)[0]
        procs.kill(proc)            # killed and reaped before the next sample
        records = read_n(fd, 10)
    finally:
        os.close(fd)
    assert len(records) == 1, records
    assert records[0].flags == su.EXIT | su.REAPED
    assert (records[0].user_ns, records[0].system_ns) == (first.user_ns, first.system_ns)


def test_stream_follows_the_target_it_was_given(monitor, busy):
    first, second = busy(), sleeper()
    try:
        with tmdev.Device() as dev:
            assert errno_of(su.subscribe, dev.fd, [0]) == errno.ENODATA
            dev.pid(first.pid)
            kthreads = procs.monitor_kthreads()
            fd = open_dev()
            try:
                su.subscribe(fd, [0], period_ns=20 * MS)
                dev.pid(second.pid)     # a later target change does not move the stream
                records = read_n(fd, 5)
            finally:
                os.close(fd)
            # ... and subscribing did not change the lab's state.
            assert dev.pid(-1) == second.pid
            assert procs.monitor_kthreads() == kthreads
        assert {r.pid for r in records} == {first.pid}
    finally:
        procs.kill(second)


@pytest.mark.parametrize("kwargs, expected", [
    ({"flags": 1}, errno.EINVAL),
    ({"record_size": 1}, errno.EINVAL),
    ({"record_size": su.RECORD_SIZE_VER0 - 8}, errno.EINVAL),
    ({"record_size": su.RECORD_SIZE_VER0 + 4}, errno.EINVAL),
    ({"record_size": PAGE + 8}, errno.E2BIG),
    ({"record_size": 1 << 31}, errno.E2BIG),
    ({"count": 0}, errno.EINVAL),
    ({"period_ns": su.PERIOD_MIN_NS - 1}, errno.EINVAL),
    ({"period_ns": su.PERIOD_MAX_NS + 1}, errno.EINVAL),
    ({"ring": su.RING_MAX + 1}, errno.EINVAL),
])
def test_bad_requests_are_refused(monitor, kwargs, expected):
    fd = open_dev()
    try:
        assert errno_of(su.subscribe, fd, [os.getpid()], **kwargs) == expected
        # Refused: the file may still subscribe.
        su.subscribe(fd, [os.getpid()], period_ns=su.PERIOD_MAX_NS)
    finally:
        os.close(fd)


def read_into_guarded(fd: int, length: int, room: int):
    """read(fd, buffer, length) into `room` bytes of 0xff: (return value or
    -errno, the buffer's bytes)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    libc.read.restype = ctypes.c_ssize_t
    buf = ctypes.create_string_buffer(b"\xff" * room, room)
    ret = libc.read(fd, buf, length)
    return (ret if ret >= 0 else -ctypes.get_errno()), buf.raw[:room]


def test_record_size_zero_is_ver0_written_back(monitor):
    fd = open_dev()
    try:
        req = su.subscribe(fd, [os.getpid()], period_ns=su.PERIOD_MIN_NS, record_size=0)
        assert req.record_size == su.RECORD_SIZE_VER0
        ret, data = read_into_guarded(fd, 2 * su.RECORD_SIZE_VER0 + 7, 4 * su.RECORD_SIZE_VER0)
        assert ret in (su.RECORD_SIZE_VER0, 2 * su.RECORD_SIZE_VER0), ret
        assert data[ret:] == b"\xff" * (len(data) - ret), "written past the records"
        assert su.parse(data[:ret])[0].pid == os.getpid()
    finally:
        os.close(fd)


@pytest.mark.parametrize("record_size", [su.RECORD_SIZE_VER0, 64, PAGE])
def test_larger_record_size_gives_records_of_that_size(monitor, record_size):
    """A reader's record larger than the module's: @record_size written back
    as the bytes the module fills (48), each record read() returns takes
    the reader's size, its bytes past 48 cleared; a buffer smaller than one
    such record is EINVAL."""
    known = su.RECORD_SIZE_VER0
    fd = open_dev()
    try:
        req = su.subscribe(fd, [os.getpid()], period_ns=su.PERIOD_MIN_NS,
                           record_size=record_size)
        assert req.record_size == known, req.record_size
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(60_000) == [(fd, select.POLLIN)]
        # Records are waiting: a buffer of a VER0 record, or one byte short
        # of the agreed size, is too small.
        if record_size > known:
            assert read_into_guarded(fd, known, known)[0] == -errno.EINVAL
        assert read_into_guarded(fd, record_size - 1, record_size)[0] == -errno.EINVAL
        records = []
        while len(records) < 3:
            ret, data = read_into_guarded(fd, 2 * record_size + record_size - 8, 4 * record_size)
            assert ret > 0 and ret % record_size == 0, (ret, record_size)
            assert data[ret:] == b"\xff" * (len(data) - ret), "written past the records"
            for i in range(0, ret, record_size):
                assert data[i + known:i + record_size] == bytes(record_size - known), \
                    f"record at {i}: the bytes past the module's record are not cleared"
                records.append(su.Record.from_buffer_copy(data, i))
        assert [r.seq for r in records] == list(range(len(records)))
        assert all(r.pid == os.getpid() and r.lost == 0 for r in records)
    finally:
        os.close(fd)


def _tids(pid: int):
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))


def test_a_thread_id_subscribes_its_process(monitor, busy):
    """A TID names its whole process: the stream's records carry the
    process id, and CPU time is the process's (all its threads)."""
    proc = busy(threads=3)
    deadline = time.monotonic() + 30
    while len(_tids(proc.pid)) < 3:
        assert time.monotonic() < deadline, "the busy threads never started"
        time.sleep(0.05)
    tid = _tids(proc.pid)[-1]
    assert tid != proc.pid
    fd = open_dev()
    try:
        su.subscribe(fd, [tid], period_ns=50 * MS)
        records = read_n(fd, 3)
        with tmdev.Device() as dev:
            after = stats_uapi.stats(dev.fd, proc.pid)
            thread = stats_uapi.stats(dev.fd, tid, flags=stats_uapi.TM_STATS_THREAD)
    finally:
        os.close(fd)
    assert [r.pid for r in records] == [proc.pid] * 3, records
    # Three spinning threads: the process's time, more than the thread's.
    last = records[-1]
    assert last.user_ns + last.system_ns <= after.cpu_ns
    assert last.user_ns + last.system_ns > thread.cpu_ns


def test_a_thread_id_and_its_process_id_are_one_process_named_twice(monitor, busy):
    proc = busy(threads=3)
    deadline = time.monotonic() + 30
    while len(_tids(proc.pid)) < 3:
        assert time.monotonic() < deadline, "the busy threads never started"
        time.sleep(0.05)
    tids = [t for t in _tids(proc.pid) if t != proc.pid]
    fd = open_dev()
    try:
        for pids in ([tids[0], proc.pid], [proc.pid, tids[0]], tids,
                     [os.getpid(), tids[1], proc.pid]):
            assert errno_of(su.subscribe, fd, pids) == errno.EINVAL, pids
        with tmdev.Device() as dev:
            dev.pid(proc.pid)
            # 0 is the target: the same process as one of its threads.
            assert errno_of(su.subscribe, fd, [0, tids[1]]) == errno.EINVAL
        # Refused: the file may still subscribe, to a thread and another process.
        su.subscribe(fd, [tids[1], os.getpid()], period_ns=su.PERIOD_MAX_NS)
        records = read_n(fd, 2)
        assert [r.pid for r in records] == [proc.pid, os.getpid()]
    finally:
        os.close(fd)


# N processes that wait for EOF on their standard input, forked by a small
# C program: Python's fork() of the test process costs 26 ms a child under
# KASAN (107 s for the 4,095 below on the sanitizer kernel), a small
# program's a fraction of that.  It prints each child's pid, then "ready";
# closing its standard input ends them all, and it reaps them.
_WAITERS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void wait_for_eof(void)
{
	char c;

	while (read(0, &c, 1) > 0)
		;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			wait_for_eof();
			_exit(0);
		}
		printf("%d\n", pid);
	}
	printf("ready\n");
	fflush(stdout);
	wait_for_eof();
	while (wait(NULL) > 0)
		;
	return 0;
}
"""


@pytest.fixture(scope="module")
def waiters_binary(tmp_path_factory):
    return cprog.build(tmp_path_factory.mktemp("waiters"), "waiters", _WAITERS, "-O1")


@contextlib.contextmanager
def waiting_processes(binary, n: int):
    """N processes that wait until the block ends: their pids."""
    proc = subprocess.Popen([str(binary), str(n)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        pids = []
        for line in proc.stdout:
            if line == "ready\n":
                break
            pids.append(int(line))
        assert len(pids) == n, f"the forker made {len(pids)} of {n} processes"
        yield pids
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)


def test_bad_pids_and_sizes(monitor, waiters_binary):
    fd = open_dev()
    try:
        with waiting_processes(waiters_binary, su.PIDS_MAX - 1) as waiters:
            assert errno_of(su.subscribe, fd, [os.getpid(), -1]) == errno.EINVAL
            # A process named twice (docs/streaming.md: refused, not merged).
            assert errno_of(su.subscribe, fd,
                            [os.getpid(), waiters[0], os.getpid()]) == errno.EINVAL
            assert errno_of(su.subscribe, fd, [os.getpid(), procs.unused_pid()]) == errno.ESRCH
            assert errno_of(su.subscribe, fd, [os.getpid()] * (su.PIDS_MAX + 1)) == errno.E2BIG
            # A bad pid array pointer.
            req = su.Subscribe(count=1, pids=8)
            assert errno_of(uapi.raw_ioctl, fd, su.TM_SUBSCRIBE,
                            ctypes.addressof(req)) == errno.EFAULT
            assert errno_of(uapi.raw_ioctl, fd, su.TM_SUBSCRIBE, 8) == errno.EFAULT
            # Nothing subscribed yet: read() and poll() say so.
            assert errno_of(os.read, fd, su.RECORD_SIZE) == errno.EINVAL
            p = select.poll()
            p.register(fd, select.POLLIN)
            assert p.poll(0) == [(fd, select.POLLERR)]
            su.subscribe(fd, [os.getpid()] + waiters, period_ns=su.PERIOD_MAX_NS,
                         ring=su.PIDS_MAX)
            assert errno_of(su.subscribe, fd, [os.getpid()]) == errno.EBUSY
            assert errno_of(os.read, fd, su.RECORD_SIZE - 1) == errno.EINVAL
            assert len(read_n(fd, su.PIDS_MAX)) == su.PIDS_MAX
    finally:
        os.close(fd)


def test_bad_read_buffer_loses_nothing(monitor):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    fd = open_dev()
    try:
        su.subscribe(fd, [os.getpid()], period_ns=su.PERIOD_MAX_NS)
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(60_000) == [(fd, select.POLLIN)]
        assert libc.read(fd, 8, su.RECORD_SIZE) == -1
        assert ctypes.get_errno() == errno.EFAULT
        record = read_n(fd, 1)[0]
        assert (record.seq, record.lost) == (0, 0)
    finally:
        os.close(fd)


def test_nonblocking_read_and_poll(monitor):
    fd = open_dev(os.O_NONBLOCK)
    try:
        su.subscribe(fd, [os.getpid()], period_ns=su.PERIOD_MAX_NS)
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(60_000) == [(fd, select.POLLIN)]
        assert len(su.read_records(fd)) == 1
        assert p.poll(0) == []
        assert errno_of(os.read, fd, su.RECORD_SIZE) == errno.EAGAIN
    finally:
        os.close(fd)


def test_close_while_another_thread_blocks_in_read_and_poll(monitor):
    proc = sleeper()
    fd = open_dev()
    fd2 = open_dev()
    outcome = {}
    try:
        su.subscribe(fd, [proc.pid], period_ns=200 * MS)
        su.subscribe(fd2, [proc.pid], period_ns=200 * MS)
        read_n(fd, 1)
        read_n(fd2, 1)

        def blocked_read():
            try:
                outcome["read"] = su.read_records(fd)
            except OSError as e:
                outcome["read"] = e.errno

        def blocked_poll():
            p = select.poll()
            p.register(fd2, select.POLLIN)
            outcome["poll"] = p.poll(60_000)

        threads = [threading.Thread(target=blocked_read), threading.Thread(target=blocked_poll)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        os.close(fd)
        os.close(fd2)
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a blocked call never returned"
    finally:
        procs.kill(proc)
    # read() held its file: it completed with the next record.  poll()
    # looks its descriptors up again at each wake-up: the closed one is
    # POLLNVAL then (or POLLIN if the record won the race).
    assert isinstance(outcome["read"], list) and len(outcome["read"]) == 1
    assert outcome["poll"] and outcome["poll"][0][1] & (select.POLLIN | select.POLLNVAL)


def test_fork_after_subscribing_shares_one_stream(monitor):
    fd = open_dev()
    try:
        su.subscribe(fd, [os.getpid()], period_ns=su.PERIOD_MIN_NS)
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            try:
                seqs = [rec.seq for rec in read_n(fd, 30)]
                os.write(w, (",".join(map(str, seqs)) + "\n").encode())
            finally:
                os._exit(0)
        os.close(w)
        mine = [rec.seq for rec in read_n(fd, 30)]
        theirs = [int(s) for s in os.read(r, 1 << 16).decode().split(",")]
        os.waitpid(child, 0)
        os.close(r)
    finally:
        os.close(fd)
    # The two processes read the same file: each record went to one of them.
    assert not set(mine) & set(theirs)
    assert len(mine + theirs) == 60


def _module_refcnt() -> int:
    with open("/sys/module/taskmonitor/refcnt") as f:
        return int(f.read())


def _memory_in_use_kib() -> int:
    """MemTotal - MemAvailable, in KiB."""
    with open("/proc/meminfo") as f:
        info = {line.split(":")[0]: int(line.split()[1]) for line in f}
    return info["MemTotal"] - info["MemAvailable"]


def test_subscribe_close_cycles(monitor, kmsg):
    """Files opened, subscribed and closed over and over: each close gives
    back its module reference and frees its stream (rings of 3 MiB leave
    no memory behind), each new stream starts afresh (its first record is
    number 0, its records are of its own processes in subscription order,
    every gap counted in @lost), and the module unloads."""
    pool = [sleeper() for _ in range(4)]
    pids = [p.pid for p in pool]
    base = _module_refcnt()
    try:
        for i in range(300):
            ring = 1 + i % 64
            fd = open_dev()
            try:
                if i == 0:
                    # chrdev_open() takes two: the cdev's and the fops'.
                    assert _module_refcnt() > base, "an open file holds the module"
                su.subscribe(fd, pids, period_ns=su.PERIOD_MIN_NS, ring=ring)
                if i % 3 == 0:
                    records = su.read_records(fd)
                    assert records, (ring, records)
                    assert records[0].seq - records[0].lost == 0, \
                        f"cycle {i}: a new stream's first record is number 0: {records[0]}"
                    # A read can return more than the ring holds.
                    _assert_each_gap_counted(records)
                    assert [r.pid for r in records] == [pids[r.seq % 4] for r in records]
            finally:
                os.close(fd)
        assert _module_refcnt() == base, "every closed file gave its module reference back"
        # 40 streams with the largest ring, 3 MiB each: 120 MiB if each
        # close leaked its stream.
        before = _memory_in_use_kib()
        for i in range(40):
            fd = open_dev()
            try:
                su.subscribe(fd, pids, period_ns=su.PERIOD_MIN_NS, ring=su.RING_MAX)
                if i % 2 == 0:
                    assert su.read_records(fd)
            finally:
                os.close(fd)
        grown = _memory_in_use_kib() - before
        print(f"memory in use grew by {grown} KiB over 40 streams of "
              f"{su.RING_MAX * su.RECORD_SIZE // 1024} KiB")
        assert grown < 40 * 1024, f"memory in use grew by {grown} KiB"
        assert _module_refcnt() == base
    finally:
        for p in pool:
            procs.kill(p)
    kmod.unload("taskmonitor")      # every stream was freed with its file


def test_rmmod_is_refused_while_a_reader_blocks(monitor):
    proc = sleeper()
    fd = open_dev()
    result = {}

    def blocked():
        try:
            result["read"] = su.read_records(fd)
        except OSError as e:
            result["read"] = e.errno

    try:
        su.subscribe(fd, [proc.pid], period_ns=500 * MS)
        read_n(fd, 1)
        t = threading.Thread(target=blocked)
        t.start()
        time.sleep(0.05)
        # An open file holds the module: rmmod is refused, nothing waits.
        with pytest.raises(OSError) as refused:
            kmod.unload("taskmonitor")
        assert refused.value.errno in (errno.EBUSY, errno.EAGAIN)
        t.join(60)
        assert isinstance(result.get("read"), list), result
    finally:
        os.close(fd)
        procs.kill(proc)
    kmod.unload("taskmonitor")


def expected_subscribe(pids, kwargs, subscribed: bool, live) -> int:
    """The errno TM_SUBSCRIBE must give (taskmon.h): the request's fields
    first, then EBUSY, then each pid in order (0 is ENODATA: no target),
    a process named twice EINVAL."""
    count = len(pids) if kwargs["count"] is None else kwargs["count"]
    period, ring = kwargs["period_ns"], kwargs["ring"]
    record_size = kwargs["record_size"]
    if kwargs["flags"] or not count:
        return errno.EINVAL
    if record_size and record_size > PAGE:
        return errno.E2BIG
    if record_size and (record_size < su.RECORD_SIZE_VER0 or record_size % 8):
        return errno.EINVAL
    if count > su.PIDS_MAX:
        return errno.E2BIG
    if period and not su.PERIOD_MIN_NS <= period <= su.PERIOD_MAX_NS or ring > su.RING_MAX:
        return errno.EINVAL
    if subscribed:
        return errno.EBUSY
    seen = set()
    for nr in pids:
        if nr < 0:
            return errno.EINVAL
        if nr == 0:
            return errno.ENODATA
        if nr not in live:
            return errno.ESRCH
        if nr in seen:
            return errno.EINVAL
        seen.add(nr)
    return 0


def test_read_poll_and_subscribe_fuzz(monitor):
    """Random requests, read sizes, flags and offsets: only the documented
    errors, each TM_SUBSCRIBE's exactly as predicted (duplicate pids
    included), never a crash or a stuck call; the module unloads
    afterwards."""
    seed = int(os.environ.get("TASKMON_SEED", "0")) or random.randrange(1 << 30)
    rng = random.Random(seed)
    allowed_subscribe = {0, errno.EINVAL, errno.E2BIG, errno.ESRCH, errno.ENODATA,
                         errno.EFAULT, errno.EBUSY}
    allowed_read = {0, errno.EINVAL, errno.EAGAIN, errno.EFAULT, errno.ESPIPE}
    live = [sleeper() for _ in range(3)]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    libc.pread.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
    buf = ctypes.create_string_buffer(4 * PAGE)
    try:
        for _ in range(200):
            fd = open_dev(os.O_NONBLOCK if rng.random() < 0.7 else 0)
            subscribed = False
            record_size = su.RECORD_SIZE_VER0
            try:
                for _ in range(rng.randrange(1, 4)):
                    pids = [rng.choice([p.pid for p in live] + [0, -1, procs.unused_pid(), 1])
                            for _ in range(rng.randrange(0, 5))]
                    kwargs = {
                        "period_ns": rng.choice([0, su.PERIOD_MIN_NS, su.PERIOD_MIN_NS - 1,
                                                 rng.randrange(1 << 40), su.PERIOD_MAX_NS]),
                        "ring": rng.choice([0, 1, 2, su.RING_MAX, su.RING_MAX + 1,
                                            rng.randrange(1 << 32)]),
                        "flags": rng.choice([0, 0, 0, 1 << rng.randrange(32)]),
                        "record_size": rng.choice([0, 0, 0, su.RECORD_SIZE_VER0, 56, 64,
                                                   PAGE, PAGE + 8, su.RECORD_SIZE_VER0 - 8,
                                                   su.RECORD_SIZE_VER0 + 4, 1,
                                                   rng.randrange(1 << 32)]),
                        "count": rng.choice([None, None, 0, su.PIDS_MAX + 1, 1 << 31]),
                    }
                    req = None
                    try:
                        req = su.subscribe(fd, pids, **kwargs)
                        err = 0
                    except OSError as e:
                        err = e.errno
                    assert err in allowed_subscribe, (seed, pids, kwargs, err)
                    expected = expected_subscribe(pids, kwargs, subscribed,
                                                  {p.pid for p in live} | {1})
                    assert err == expected, (seed, pids, kwargs, err, expected)
                    if err == 0:
                        # Written back: the bytes of each record the module fills.
                        assert req.record_size == su.RECORD_SIZE_VER0, \
                            (seed, kwargs, req.record_size)
                        record_size = kwargs["record_size"] or su.RECORD_SIZE_VER0
                    subscribed = subscribed or err == 0
                for _ in range(rng.randrange(1, 4)):
                    size = rng.choice([0, 1, su.RECORD_SIZE - 1, su.RECORD_SIZE,
                                       su.RECORD_SIZE + 1, record_size - 1, record_size,
                                       3 * record_size + 7, len(buf)])
                    where = rng.choice([ctypes.addressof(buf), 0, 8, (1 << 47) - 4096])
                    # A blocking read only when it cannot block: records
                    # wait, the stream ended, or the file has none.
                    ready = select.poll()
                    ready.register(fd, select.POLLIN)
                    if fcntl_nonblock(fd) or ready.poll(0):
                        positioned = rng.random() < 0.2
                        if positioned:
                            ret = libc.pread(fd, where, size, rng.randrange(1 << 20))
                        else:
                            ret = libc.read(fd, where, size)
                        err = ctypes.get_errno() if ret < 0 else 0
                        assert err in allowed_read, (seed, size, where, err)
                        assert ret < 0 or ret % record_size == 0, (seed, size, record_size, ret)
                        if subscribed and 0 < size < record_size and not positioned and \
                                where == ctypes.addressof(buf):
                            # Smaller than one record of the agreed size (a
                            # buffer past the user address space is EFAULT
                            # first: the VFS's access_ok()).
                            assert err == errno.EINVAL, (seed, size, record_size, ret)
                    p = select.poll()
                    p.register(fd, select.POLLIN)
                    p.poll(0)
            finally:
                os.close(fd)
    finally:
        for p in live:
            procs.kill(p)
    print(f"stream fuzz: seed {seed}")
    kmod.unload("taskmonitor")


def fcntl_nonblock(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
