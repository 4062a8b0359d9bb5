"""Exit records of every process: TM_SUBSCRIBE_EXITS, read() and poll().

A subscribed file receives one record for each process of its pid
namespace that exits, short-lived ones included; the final figures are
those the parent's wait4() reads.  Timing is not asserted: the VM is
emulated.
"""
import errno
import os
import select
import signal
import subprocess
import threading
import time

import pytest

import as_caller
import exits_uapi as xu
import tmdev
from tmdev import errno_of, open_dev

PAGE = os.sysconf("SC_PAGE_SIZE")
# One tick as user space counts them (USER_HZ): the kernel's own is shorter.
TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


@pytest.fixture
def monitor(load):
    """taskmonitor loaded without a target."""
    load("taskmonitor")


def fork_children(n: int, body=None):
    """Fork n children that run body(i) (if any) and exit with status i % 256;
    reap each at once.  Returns {pid: (status, rusage)} in fork order."""
    out = {}
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                if body:
                    body(i)
            finally:
                os._exit(i % 256)
        _, status, rusage = os.wait4(pid, 0)
        out[pid] = (status, rusage)
    return out


def mine(records, parent: int):
    return [r for r in records if r.ppid == parent]


def collect(fd: int, pids, timeout: float = 30.0):
    """Every record read from the O_NONBLOCK fd until each of pids has one
    (a record is completed once its process has switched away for the last
    time, a moment after wait4() may have returned)."""
    records, missing = [], set(pids)
    deadline = time.monotonic() + timeout
    while missing:
        assert time.monotonic() < deadline, f"no record for {sorted(missing)[:10]} in {timeout} s"
        got = xu.drain(fd)
        records += got
        missing -= {r.pid for r in got}
        if missing:
            time.sleep(0.05)
    return records


def test_bad_requests_are_refused_and_subscribe_nothing(monitor):
    fd = open_dev()
    try:
        assert errno_of(xu.subscribe, fd, flags=1) == errno.EINVAL
        assert errno_of(xu.subscribe, fd, reserved=1) == errno.EINVAL
        assert errno_of(xu.subscribe, fd, ring=xu.RING_MAX + 1) == errno.EINVAL
        assert errno_of(xu.subscribe, fd, record_size=xu.EXIT_SIZE_VER0 - 8) == errno.EINVAL
        assert errno_of(xu.subscribe, fd, record_size=xu.EXIT_SIZE_VER0 + 4) == errno.EINVAL
        assert errno_of(xu.subscribe, fd, record_size=PAGE + 8) == errno.E2BIG
        # Nothing was subscribed: read() still says so.
        assert errno_of(os.read, fd, xu.EXIT_SIZE) == errno.EINVAL
        req = xu.subscribe(fd)
        assert req.record_size == xu.EXIT_SIZE_VER0
        # Once per file, whichever kind of subscription it holds.
        assert errno_of(xu.subscribe, fd) == errno.EBUSY
        assert errno_of(os.read, fd, xu.EXIT_SIZE - 1) == errno.EINVAL
    finally:
        os.close(fd)


def test_a_record_has_the_exit_status_ids_name_and_times_the_parent_sees(monitor):
    fd = open_dev(os.O_NONBLOCK)
    try:
        xu.subscribe(fd)
        before = time.clock_gettime_ns(time.CLOCK_BOOTTIME)

        def body(i):
            if i == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            end = time.process_time() + 0.05
            while time.process_time() < end:
                pass

        children = fork_children(3, body)
        after = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        got = {r.pid: r for r in mine(collect(fd, children), os.getpid())}
        assert set(got) == set(children), f"records {sorted(got)} for children {sorted(children)}"
        for pid, (status, rusage) in children.items():
            r = got[pid]
            assert r.status == status, f"{r}: wait4() said {status:#x}"
            assert r.uid == os.getuid() and r.ppid == os.getpid()
            assert r.comm == open(f"/proc/{os.getpid()}/comm", "rb").read().strip()
            assert before <= r.start_time_ns <= r.exit_time_ns <= after
            assert r.max_rss_bytes >= rusage.ru_maxrss * 1024 // 2 > 0
            # The record is completed once the child switched away for the
            # last time: its figures are final.  The parent may reap the
            # zombie on the other CPU just before that switch, and wait4()
            # then misses it: one switch more in the record, never less.
            assert (r.minor_faults, r.major_faults) == (rusage.ru_minflt, rusage.ru_majflt)
            switches = r.voluntary_ctxsw + r.involuntary_ctxsw
            assert 0 <= switches - (rusage.ru_nvcsw + rusage.ru_nivcsw) <= 1, r
        assert os.WIFSIGNALED(got[list(children)[1]].status)
        assert os.WEXITSTATUS(got[list(children)[2]].status) == 2
    finally:
        os.close(fd)


def test_final_times_match_the_parents_wait4_rusage_within_a_tick(monitor):
    """Children that burn user and system time in different shares; the
    record's times (its own plus its waited-for children's) against the
    rusage wait4() returned."""
    fd = open_dev(os.O_NONBLOCK)
    try:
        xu.subscribe(fd)

        def body(i):
            end = time.process_time() + 0.02 + 0.01 * (i % 4)
            zero = os.open("/dev/zero", os.O_RDONLY)
            while time.process_time() < end:
                if i % 2:
                    os.read(zero, 65536)  # system time
            os.close(zero)

        children = fork_children(24, body)
        got = {r.pid: r for r in mine(collect(fd, children), os.getpid())}
        worst = 0
        for pid, (_, rusage) in children.items():
            r = got[pid]
            user = r.user_ns + r.children_user_ns
            system = r.system_ns + r.children_system_ns
            ru_user = round(rusage.ru_utime * 1e9)
            ru_system = round(rusage.ru_stime * 1e9)
            for mine_ns, theirs in ((user, ru_user), (system, ru_system),
                                    (user + system, ru_user + ru_system)):
                worst = max(worst, abs(mine_ns - theirs))
                assert abs(mine_ns - theirs) <= TICK_NS, \
                    f"{r}: wait4() said user {ru_user} system {ru_system}"
        print(f"worst difference from wait4(): {worst / 1e6:.3f} ms")
    finally:
        os.close(fd)


def _kernel_has_kasan() -> bool:
    """Whether the kernel checks every memory access (KASAN, the sanitizer
    kernel): kallsyms names its report function."""
    with open("/proc/kallsyms", encoding="ascii", errors="replace") as syms:
        return any(line.split()[2] == "kasan_report" for line in syms if line.count(" ") >= 2)


def test_every_exit_of_a_fork_storm_is_delivered_exactly_once(monitor):
    """10,000 processes that exit at once, forked by two shells side by side
    (a small process forks fast; the test's own Python would take minutes).
    Under KASAN, where a fork costs several times more, 2,000: enough for
    lockdep and kmemleak to judge the hook, and the vm step forks 10,000
    on Debian's kernels."""
    n = 2_000 if _kernel_has_kasan() else 10_000
    shells = 2
    fd = open_dev(os.O_NONBLOCK)
    try:
        xu.subscribe(fd, ring=xu.RING_MAX)
        started = time.monotonic()
        loop = f'i=0; while [ $i -lt {n // shells} ]; do (exit 3); i=$((i + 1)); done'
        forkers = [subprocess.Popen(["sh", "-c", loop]) for _ in range(shells)]
        for forker in forkers:
            assert forker.wait() == 0
        elapsed = time.monotonic() - started
        pids = {forker.pid for forker in forkers}
        records = xu.drain(fd)
        while not pids <= {r.pid for r in records}:
            time.sleep(0.1)  # the shells' own records come last
            records += xu.drain(fd)
        assert sum(r.lost for r in records) == 0, "a ring of RING_MAX lost records"
        assert [r.seq for r in records] == list(range(len(records)))
        got = [r for r in records if r.ppid in pids]
        keys = [(r.pid, r.start_time_ns) for r in got]
        assert len(keys) == len(set(keys)), "a process reported twice"
        assert len(got) == n, f"{len(got)} records of the shells' {n} children"
        assert all(r.status == 3 << 8 for r in got)
        print(f"{n} forks by {shells} shells in {elapsed:.1f} s, {len(records)} records")
    finally:
        os.close(fd)


def test_a_process_whose_threads_exit_together_is_reported_once(monitor):
    """exit_group() with threads still running: every thread reaches the
    hook, one record."""
    fd = open_dev(os.O_NONBLOCK)
    try:
        xu.subscribe(fd)

        def body(_):
            stop = threading.Event()
            threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(7)]
            threads += [threading.Thread(target=lambda: [0 for _ in iter(int, 1)],
                                         daemon=True) for _ in range(2)]
            for t in threads:
                t.start()
            time.sleep(0.01)

        children = fork_children(60, body)
        time.sleep(1)  # a second record would come within that
        got = mine(collect(fd, children), os.getpid())
        pids = [r.pid for r in got]
        assert sorted(pids) == sorted(children), \
            f"{len(pids)} records for {len(children)} processes"
    finally:
        os.close(fd)


def test_a_reader_that_does_not_read_loses_counted_records(monitor):
    fd = open_dev(os.O_NONBLOCK)
    try:
        xu.subscribe(fd, ring=16)
        last = list(fork_children(100))[-1]
        deadline = time.monotonic() + 30
        records = []
        while last not in [r.pid for r in records]:
            assert time.monotonic() < deadline, "no record of the last child"
            time.sleep(0.2)  # the ring keeps the newest
            records = xu.drain(fd)
        assert len(records) == 16
        assert records[0].lost == records[0].seq >= 100 - 16
        assert all(r.lost == 0 for r in records[1:])
        assert records[-1].seq == records[0].seq + 15
    finally:
        os.close(fd)


def test_read_blocks_until_an_exit_and_poll_says_when(monitor):
    fd = open_dev()
    try:
        xu.subscribe(fd)
        p = select.poll()
        p.register(fd, select.POLLIN)
        while p.poll(0):
            xu.read_exits(fd)  # what exited since the subscription
        child = subprocess.Popen(["sleep", "0.3"])
        pids = []
        deadline = time.monotonic() + 30
        while child.pid not in pids:
            assert p.poll(int((deadline - time.monotonic()) * 1000)), \
                "no record of the child's exit within 30 s"
            pids += [r.pid for r in xu.read_exits(fd)]  # blocks no more: poll said so
        child.wait()
    finally:
        os.close(fd)


def test_a_larger_record_size_gets_a_zeroed_tail(monitor):
    fd = open_dev(os.O_NONBLOCK)
    try:
        size = xu.EXIT_SIZE_VER0 + 64
        req = xu.subscribe(fd, record_size=size)
        assert req.record_size == xu.EXIT_SIZE_VER0
        fork_children(3)
        time.sleep(0.5)
        data = os.read(fd, 3 * size)
        assert len(data) % size == 0 and data
        for i in range(0, len(data), size):
            assert data[i + xu.EXIT_SIZE_VER0:i + size] == bytes(64)
    finally:
        os.close(fd)


class Noise:
    """`with Noise():` root's own short processes (`true`) exit all along."""

    def __enter__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            subprocess.run(["true"], check=True)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_no_record_for_a_process_outside_the_callers_pid_namespace(monitor):
    """A subscriber in its own pid namespace sees its own children, by its
    namespace's numbers, and none of the processes outside it."""
    def inside():
        fd = open_dev(os.O_NONBLOCK)
        xu.subscribe(fd)
        children = fork_children(20)
        time.sleep(1)  # outside processes exit meanwhile (Noise)
        records = collect(fd, children)
        os.close(fd)
        return {"children": sorted(children),
                "records": [[r.pid, r.ppid, r.comm.decode()] for r in records]}

    with Noise():
        result = as_caller.run("pidns-root", inside)
    records = result["records"]
    assert all(comm != "true" for _, _, comm in records), records
    assert sorted(pid for pid, _, _ in records) == result["children"]
    assert all(ppid == 1 for _, ppid, _ in records)


def test_access_ptrace_delivers_a_user_only_the_exits_of_its_own_processes(load):
    load("taskmonitor", "access=ptrace")
    os.chown(tmdev.DEV, 0, as_caller.GROUP)
    os.chmod(tmdev.DEV, 0o640)

    def as_user():
        fd = open_dev(os.O_NONBLOCK)
        xu.subscribe(fd)
        children = fork_children(5)
        time.sleep(1.5)  # root's processes exit meanwhile (Noise)
        records = collect(fd, children)
        os.close(fd)
        return {"children": sorted(children),
                "records": [[r.pid, r.uid] for r in records]}

    with Noise():
        result = as_caller.run("group", as_user)
    records = result["records"]
    assert all(uid == as_caller.UID for _, uid in records), records
    assert set(result["children"]) <= {pid for pid, _ in records}


def test_subscribe_and_close_churn_under_fork_storms_then_unload(monitor, kmsg):
    """The hook is registered by the first subscriber and removed after the
    last: churn both while processes exit, then unload and keep exiting (a
    probe left behind would run freed code)."""
    stop = threading.Event()

    def storm():
        while not stop.is_set():
            fork_children(20)

    forker = threading.Thread(target=storm)
    forker.start()
    try:
        for i in range(300):
            fds = [open_dev(os.O_NONBLOCK) for _ in range(1 + i % 3)]
            for fd in fds:
                xu.subscribe(fd, ring=64)
            xu.drain(fds[0])
            for fd in fds:
                os.close(fd)
    finally:
        stop.set()
        forker.join()
    subprocess.run(["rmmod", "taskmonitor"], check=True)
    fork_children(200)
    assert not kmsg.matching(r"BUG|WARNING|Oops|Call Trace"), kmsg.lines()
