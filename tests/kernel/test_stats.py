"""taskmonitor: TM_STATS, every field against /proc, for several kinds of process."""
import ctypes
import errno
import os
import pathlib
import subprocess
import sys
import time

import pytest

import procs
import stats_uapi as su
import tmdev
import uapi

TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def dev(load):
    load("taskmonitor")
    with tmdev.Device() as device:
        yield device


def proc_stat(path: str):
    """/proc/.../stat as (comm, [fields after the comm])."""
    raw = pathlib.Path(path, "stat").read_text()
    return raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()


def proc_status(path: str) -> dict:
    out = {}
    for line in pathlib.Path(path, "status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.split()
    return out


def kb(status: dict, key: str) -> int:
    return int(status[key][0]) * 1024


def proc_cpu_ns(path: str) -> int:
    rest = proc_stat(path)[1]
    return (int(rest[11]) + int(rest[12])) * TICK_NS


# A process that maps anonymous, file and shared memory, then sleeps.
_SLEEPER = r"""
import mmap, os, sys
anon = bytearray(24 << 20)
for i in range(0, len(anon), 4096):
    anon[i] = 1
fd = os.open("/dev/shm/taskmon-stats-%d" % os.getpid(), os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(fd, 8 << 20)
shm = mmap.mmap(fd, 8 << 20)
os.unlink("/dev/shm/taskmon-stats-%d" % os.getpid())
for i in range(0, 8 << 20, 4096):
    shm[i] = 1
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", _SLEEPER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    deadline = time.monotonic() + 10
    while procs.state(proc.pid) != "S":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield proc
    procs.kill(proc)


def test_sleeping_process_every_field(dev, sleeper):
    path = f"/proc/{sleeper.pid}"
    before = su.boottime_ns()
    s = su.stats(dev.fd, sleeper.pid)
    after = su.boottime_ns()
    comm, rest = proc_stat(path)
    status = proc_status(path)
    statm = [int(x) for x in pathlib.Path(path, "statm").read_text().split()]

    assert s.mask == su.MASK_ALL
    assert s.size == su.SIZE_VER0 and s.flags == 0 and s.error == 0
    assert s.pid == sleeper.pid and s.tgid == sleeper.pid
    assert s.ppid == os.getpid() == int(rest[1])
    assert s.state_char == rest[0] == "S"
    assert s.threads == int(rest[17]) == int(status["Threads"][0])
    assert s.comm.decode() == comm == pathlib.Path(path, "comm").read_text().strip()
    assert [s.uid, s.euid] == [int(x) for x in status["Uid"][:2]]
    assert [s.gid, s.egid] == [int(x) for x in status["Gid"][:2]]
    # A sleeping process's figures do not move: /proc's are in ticks.
    assert abs(s.cpu_ns - proc_cpu_ns(path)) <= 2 * TICK_NS
    assert s.minor_faults == int(rest[7]) and s.major_faults == int(rest[9])
    assert s.minor_faults > (24 << 20) // PAGE // 2
    assert s.voluntary_ctxsw == int(status["voluntary_ctxt_switches"][0])
    assert s.involuntary_ctxsw == int(status["nonvoluntary_ctxt_switches"][0])
    # The RSS counters are per-CPU counters (6.2 on): where /proc reads the
    # approximation and the module the exact sum, or the other way round,
    # they differ by at most the per-CPU batch, max(32, 2 * CPUs) pages per
    # CPU (seen once on 7.3: 10 pages).
    cpus = os.cpu_count() or 1
    slack = cpus * max(32, 2 * cpus) * PAGE
    assert abs(s.rss_anon_bytes - kb(status, "RssAnon")) <= slack
    assert s.rss_anon_bytes >= 23 << 20
    assert abs(s.rss_file_bytes - kb(status, "RssFile")) <= slack and s.rss_file_bytes > 0
    assert abs(s.rss_shmem_bytes - kb(status, "RssShmem")) <= slack
    assert s.rss_shmem_bytes >= 7 << 20
    rss = s.rss_anon_bytes + s.rss_file_bytes + s.rss_shmem_bytes
    assert abs(rss - statm[1] * PAGE) <= 3 * slack
    assert s.vsize_bytes == int(rest[20]) == statm[0] * PAGE
    assert abs(s.start_time_ns - int(rest[19]) * TICK_NS) < TICK_NS
    assert before <= s.sample_time_ns <= after
    assert s.start_time_ns < s.sample_time_ns


def test_thread_scope_of_a_single_thread_process_is_the_process(dev, sleeper):
    s = su.stats(dev.fd, sleeper.pid, flags=su.TM_STATS_THREAD)
    assert s.mask == su.MASK_ALL and s.flags == su.TM_STATS_THREAD
    assert s.pid == s.tgid == sleeper.pid and s.threads == 1
    whole = su.stats(dev.fd, sleeper.pid)
    assert s.rss_anon_bytes == whole.rss_anon_bytes
    assert s.minor_faults == whole.minor_faults
    assert s.start_time_ns == whole.start_time_ns


def _tids(pid: int):
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))


def _wait_threads(pid: int, n: int):
    deadline = time.monotonic() + 30
    while len(_tids(pid)) < n:
        assert time.monotonic() < deadline, "the busy threads never started"
        time.sleep(0.05)


def test_busy_multithreaded_process(dev, busy):
    proc = busy(threads=4)
    _wait_threads(proc.pid, 4)
    time.sleep(1)
    path = f"/proc/{proc.pid}"
    status = proc_status(path)
    proc_before = proc_cpu_ns(path)
    s = su.stats(dev.fd, proc.pid)
    proc_after = proc_cpu_ns(path)
    assert s.mask == su.MASK_ALL
    assert s.pid == s.tgid == proc.pid and s.threads == 4
    assert s.state_char in "RS"
    assert s.user_ns > 0
    slack = 4 * TICK_NS
    assert proc_before - slack <= s.cpu_ns <= proc_after + slack + TICK_NS
    assert s.rss_anon_bytes == pytest.approx(kb(status, "RssAnon"), rel=0.05, abs=1 << 20)
    # Process scope sums the threads' switches; status shows the leader's.
    assert s.voluntary_ctxsw >= int(status["voluntary_ctxt_switches"][0])

    # Thread scope: each TID, against its own /proc/PID/task/TID/stat.
    total = 0
    for tid in _tids(proc.pid):
        tpath = f"{path}/task/{tid}"
        status_before = proc_status(tpath)
        t_before = proc_cpu_ns(tpath)
        t = su.stats(dev.fd, tid, flags=su.TM_STATS_THREAD)
        t_after = proc_cpu_ns(tpath)
        status_after = proc_status(tpath)
        assert t.pid == tid and t.tgid == proc.pid and t.threads == 4
        assert t.mask == su.MASK_ALL
        assert t_before - TICK_NS <= t.cpu_ns <= t_after + 2 * TICK_NS
        for key, value in (("voluntary_ctxt_switches", t.voluntary_ctxsw),
                           ("nonvoluntary_ctxt_switches", t.involuntary_ctxsw)):
            assert int(status_before[key][0]) <= value <= int(status_after[key][0])
        assert t.start_time_ns >= s.start_time_ns
        total += t.cpu_ns
    assert total <= su.stats(dev.fd, proc.pid).cpu_ns + TICK_NS

    # Process scope with a TID: its whole process.
    other = _tids(proc.pid)[-1]
    assert other != proc.pid
    w = su.stats(dev.fd, other)
    assert w.pid == other and w.tgid == proc.pid and w.threads == 4
    assert w.cpu_ns >= s.cpu_ns


def test_many_threaded_totals_agree_with_proc_stat(dev, busy):
    """Each live thread counts with task_cputime_adjusted(), /proc/PID/stat
    adjusts the group's sum once: both add up to the scheduler's runtime,
    so they agree within a tick per thread (the tick-based split) plus the
    time that passes between the reads."""
    n = 8
    proc = busy(threads=n)
    _wait_threads(proc.pid, n)
    time.sleep(2)
    path = f"/proc/{proc.pid}"
    for _ in range(5):
        before = proc_cpu_ns(path)
        t0 = time.monotonic_ns()
        s = su.stats(dev.fd, proc.pid)
        after = proc_cpu_ns(path)
        elapsed = time.monotonic_ns() - t0
        slack = n * TICK_NS
        assert before - slack <= s.cpu_ns <= after + slack, (before, s.cpu_ns, after, elapsed)
        time.sleep(0.2)


def test_kernel_thread_has_no_memory(dev):
    kthreadd = su.stats(dev.fd, 2)
    comm, rest = proc_stat("/proc/2")
    assert kthreadd.comm.decode() == comm == "kthreadd"
    assert kthreadd.ppid == 0 and kthreadd.tgid == 2
    assert not kthreadd.mask & su.MEMORY_BITS
    assert kthreadd.mask == su.MASK_ALL & ~su.MEMORY_BITS
    assert kthreadd.rss_anon_bytes == kthreadd.rss_file_bytes == kthreadd.rss_shmem_bytes == 0
    assert kthreadd.vsize_bytes == 0
    assert kthreadd.state_char == rest[0]

    (monitor,) = procs.monitor_kthreads()
    s = su.stats(dev.fd, monitor)
    assert s.comm == b"taskmonitor" and s.ppid == 2
    assert not s.mask & su.MEMORY_BITS
    t = su.stats(dev.fd, monitor, flags=su.TM_STATS_THREAD)
    assert not t.mask & su.MEMORY_BITS


def test_zombie(dev, busy):
    proc = busy(threads=2)
    _wait_threads(proc.pid, 2)
    time.sleep(0.5)
    procs.kill(proc, reap=False)
    deadline = time.monotonic() + 10
    while procs.state(proc.pid) != "Z" or len(_tids(proc.pid)) != 1:
        assert time.monotonic() < deadline, "the killed process never became a zombie"
        time.sleep(0.05)
    path = f"/proc/{proc.pid}"
    s = su.stats(dev.fd, proc.pid)
    comm, rest = proc_stat(path)
    assert s.state_char == "Z" == rest[0]
    assert s.pid == s.tgid == proc.pid and s.ppid == os.getpid()
    assert not s.mask & su.MEMORY_BITS
    assert s.mask == su.MASK_ALL & ~su.MEMORY_BITS
    assert abs(s.cpu_ns - proc_cpu_ns(path)) <= 2 * TICK_NS + s.cpu_ns // 20
    assert s.cpu_ns > 0 and s.threads == int(rest[17])
    proc.wait()
    assert su.errno_of(su.stats, dev.fd, proc.pid) == errno.ESRCH


def test_missing_and_invalid_pids(dev):
    assert su.errno_of(su.stats, dev.fd, procs.unused_pid()) == errno.ESRCH
    assert su.errno_of(su.stats, dev.fd, -1) == errno.EINVAL
    assert su.errno_of(su.stats, dev.fd, -2**31) == errno.EINVAL
    assert su.errno_of(su.stats, dev.fd, 2**31 - 1) == errno.ESRCH


def test_pid_zero_is_the_target_read_with_its_figures(dev, busy):
    assert su.errno_of(su.stats, dev.fd, 0) == errno.ENODATA
    first, second = busy(), busy()
    dev.pid(first.pid)
    s = su.stats(dev.fd, 0)
    assert s.pid == s.tgid == first.pid and s.mask == su.MASK_ALL
    dev.pid(second.pid)
    s = su.stats(dev.fd, 0)
    assert s.pid == second.pid
    t = su.stats(dev.fd, 0, flags=su.TM_STATS_THREAD)
    assert t.pid == t.tgid == second.pid
    procs.kill(second)
    assert su.errno_of(su.stats, dev.fd, 0) == errno.ESRCH


def test_explicit_pid_leaves_the_target_alone(dev, busy):
    target, other = busy(), busy()
    dev.pid(target.pid)
    assert su.stats(dev.fd, other.pid).pid == other.pid
    assert dev.pid(-1) == target.pid
    assert tmdev.parse_line(dev.get_text())[0] == target.pid


# ---- size negotiation, flags and pointers ----

def test_size_negotiation(dev, sleeper):
    """The rule of every size (test_size_rule.py has the table over all of
    them): a multiple of 8 from TM_STATS_SIZE_VER0 to a page; a caller's
    larger struct gets its bytes past the module's cleared, never refused."""
    fd, pid = dev.fd, sleeper.pid
    for size in (0, 8, su.SIZE_VER0 - 8, su.SIZE_VER0 - 1, su.SIZE_VER0 + 1, su.SIZE_VER0 + 4):
        assert su.errno_of(su.stats, fd, pid, size=size) == errno.EINVAL, size
    assert su.errno_of(su.stats, fd, pid, size=PAGE + 8) == errno.E2BIG
    # A size far above a page: refused before anything past it is touched.
    huge = su.make_record(pid)
    ctypes.c_uint32.from_buffer(huge, 0).value = 2**32 - 8
    assert su.errno_of(uapi.raw_ioctl, fd, su.TM_STATS, ctypes.addressof(huge)) == errno.E2BIG
    assert su.stats(fd, pid).mask == su.MASK_ALL
    for size in (su.SIZE_VER0 + 8, su.SIZE_VER0 + 16, PAGE):
        for tail in (b"", b"\1", bytes(7) + b"\x80", b"\xff" * (size - su.SIZE_VER0)):
            buf = su.make_record(pid, size=size, tail=tail, guard=64)
            uapi.raw_ioctl(fd, su.TM_STATS, ctypes.addressof(buf))
            s = su.Stats.from_buffer_copy(buf[:su.SIZE_VER0])
            assert s.pid == pid and s.mask == su.MASK_ALL and s.size == size
            assert bytes(buf[su.SIZE_VER0:size]) == bytes(size - su.SIZE_VER0), \
                f"size {size}: the tail was not cleared"
            assert su.guard_intact(buf, size), f"size {size}: written past @size"


def test_unknown_flags_give_einval(dev, sleeper):
    for flags in (2, 1 << 31, 0xffffffff):
        assert su.errno_of(su.stats, dev.fd, sleeper.pid, flags=flags) == errno.EINVAL


@pytest.mark.parametrize("address", [0, 1, 0xffff888000000000], ids=["null", "low", "kernel"])
def test_bad_pointers_give_efault(dev, address):
    assert su.errno_of(uapi.raw_ioctl, dev.fd, su.TM_STATS, address) == errno.EFAULT
    assert su.errno_of(uapi.raw_ioctl, dev.fd, su.TM_STATS_BATCH, address) == errno.EFAULT


def test_read_only_struct_gives_efault(dev, sleeper):
    buf = su.make_record(sleeper.pid)
    with uapi.ReadOnlyPage(bytes(buf)) as page:
        assert su.errno_of(uapi.raw_ioctl, dev.fd, su.TM_STATS, page.address) == errno.EFAULT


# ---- the request mask ----

B = su.BITS
NAME_AND_IDS = (B["TM_STATS_IDS"] | B["TM_STATS_COMM"] | B["TM_STATS_CREDS"] |
                B["TM_STATS_PPID"] | B["TM_STATS_STATE"])
WALK_FIELDS = ("user_ns", "system_ns", "minor_faults", "major_faults",
               "voluntary_ctxsw", "involuntary_ctxsw")
RSS_FIELDS = ("rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes")


def test_mask_name_and_ids_query_skips_the_costly_groups(dev, sleeper):
    """A query for the name and ids does neither the thread walk nor the
    per-CPU sums: no CPU, FAULTS, CTXSW nor RSS in @mask, those fields
    zero; what it asked for is filled and right."""
    path = f"/proc/{sleeper.pid}"
    for flags in (0, su.TM_STATS_THREAD):
        s = su.stats(dev.fd, sleeper.pid, flags=flags, mask=NAME_AND_IDS)
        comm, rest = proc_stat(path)
        status = proc_status(path)
        assert s.mask & NAME_AND_IDS == NAME_AND_IDS, hex(s.mask)
        assert not s.mask & (su.WALK_BITS | B["TM_STATS_RSS"]), hex(s.mask)
        assert not s.mask & ~su.MASK_ALL, hex(s.mask)
        assert [getattr(s, f) for f in WALK_FIELDS + RSS_FIELDS] == [0] * 9
        assert s.pid == s.tgid == sleeper.pid and s.ppid == os.getpid() == int(rest[1])
        assert s.comm.decode() == comm and s.state_char == rest[0] == "S"
        assert [s.uid, s.euid] == [int(x) for x in status["Uid"][:2]]
        assert [s.gid, s.egid] == [int(x) for x in status["Gid"][:2]]
    # The same process asked for everything has those groups, non-zero.
    full = su.stats(dev.fd, sleeper.pid)
    assert full.mask == su.MASK_ALL and full.minor_faults > 0 and full.rss_anon_bytes > 0


def test_mask_zero_and_all_are_every_group(dev, sleeper):
    for mask in (0, su.MASK_ALL):
        s = su.stats(dev.fd, sleeper.pid, mask=mask)
        assert s.mask == su.MASK_ALL, (hex(mask), hex(s.mask))
        assert s.minor_faults > 0 and s.rss_anon_bytes > 0 and s.vsize_bytes > 0


def test_mask_unknown_bits_are_ignored(dev, sleeper):
    """Bits this header does not define (but 63) are ignored: a query with
    them answers as one without them, and @mask out has none of them."""
    for unknown in (1 << 13, 1 << 40, 1 << 62, ((1 << 63) - 1) & ~su.MASK_ALL):
        for asked in (NAME_AND_IDS, B["TM_STATS_CPU"], B["TM_STATS_RSS"], su.MASK_ALL):
            s = su.stats(dev.fd, sleeper.pid, mask=asked | unknown)
            plain = su.stats(dev.fd, sleeper.pid, mask=asked)
            assert s.mask == plain.mask, (hex(asked), hex(unknown), hex(s.mask), hex(plain.mask))
        # Alone: not 0 (every group) but no group the module knows
        # (taskmon.h): the groups that cost nothing, and nothing unknown.
        s = su.stats(dev.fd, sleeper.pid, mask=unknown)
        assert s.mask == su.CHEAP_BITS, (hex(unknown), hex(s.mask))


def test_mask_reserved_bit_is_einval(dev, sleeper):
    for mask in (su.RESERVED, su.RESERVED | su.MASK_ALL, su.RESERVED | B["TM_STATS_IDS"],
                 (1 << 64) - 1):
        assert su.errno_of(su.stats, dev.fd, sleeper.pid, mask=mask) == errno.EINVAL, hex(mask)
        assert su.errno_of(su.stats, dev.fd, sleeper.pid, flags=su.TM_STATS_THREAD,
                           mask=mask) == errno.EINVAL, hex(mask)


def test_mask_any_walk_group_fills_all_three(dev, busy):
    """CPU, FAULTS and CTXSW come from one walk over the threads: asking
    for any of them fills all three (and not RSS, which was not asked)."""
    proc = busy(threads=2)
    _wait_threads(proc.pid, 2)
    time.sleep(0.5)
    for name in ("TM_STATS_CPU", "TM_STATS_FAULTS", "TM_STATS_CTXSW"):
        for flags in (0, su.TM_STATS_THREAD):
            s = su.stats(dev.fd, proc.pid, flags=flags, mask=B[name])
            assert s.mask & su.WALK_BITS == su.WALK_BITS, (name, hex(s.mask))
            assert not s.mask & B["TM_STATS_RSS"], (name, hex(s.mask))
            assert s.mask & su.CHEAP_BITS == su.CHEAP_BITS
            assert s.cpu_ns > 0 and s.minor_faults > 0, name
            assert s.voluntary_ctxsw + s.involuntary_ctxsw > 0, name
            assert s.rss_anon_bytes == s.rss_file_bytes == s.rss_shmem_bytes == 0
    # RSS alone: the per-CPU sums, no walk.
    s = su.stats(dev.fd, proc.pid, mask=B["TM_STATS_RSS"])
    assert s.mask & B["TM_STATS_RSS"] and not s.mask & su.WALK_BITS, hex(s.mask)
    assert s.rss_anon_bytes > 0 and s.cpu_ns == 0 and s.minor_faults == 0


def test_batch_records_carry_their_own_masks(dev, sleeper):
    """Each record of a batch is asked by its own @mask; TM_STATS__RESERVED
    fails that record (-EINVAL) and not the others."""
    masks = [NAME_AND_IDS, su.RESERVED | B["TM_STATS_CPU"], B["TM_STATS_CPU"],
             B["TM_STATS_RSS"], 0, 1 << 40 | NAME_AND_IDS]
    pids = [sleeper.pid] * len(masks)
    records, _ = su.batch(dev.fd, pids, masks=masks)
    assert [r.error for r in records] == [0, -errno.EINVAL, 0, 0, 0, 0]
    names, bad, cpu, rss, every, unknown = records
    assert not names.mask & (su.WALK_BITS | B["TM_STATS_RSS"]) and names.comm == every.comm
    assert names.mask & NAME_AND_IDS == NAME_AND_IDS
    assert [getattr(names, f) for f in WALK_FIELDS + RSS_FIELDS] == [0] * 9
    assert bad.mask == 0 and bad.pid == sleeper.pid and bad.tgid == 0 and bad.comm == b""
    assert cpu.mask & su.WALK_BITS == su.WALK_BITS and not cpu.mask & B["TM_STATS_RSS"]
    assert cpu.minor_faults > 0 and cpu.rss_anon_bytes == 0
    assert rss.mask & B["TM_STATS_RSS"] and not rss.mask & su.WALK_BITS
    assert rss.rss_anon_bytes > 0 and rss.minor_faults == 0
    assert every.mask == su.MASK_ALL
    assert unknown.mask == names.mask


# ---- batches ----

def test_batch_mixed_pids(dev, busy, sleeper):
    live = busy()
    dev.pid(live.pid)
    exited = subprocess.Popen(["true"])
    exited.wait()
    pids = [live.pid, exited.pid, -5, 0, 2, sleeper.pid, procs.unused_pid()]
    records, _ = su.batch(dev.fd, pids)
    errors = [r.error for r in records]
    assert errors == [0, -errno.ESRCH, -errno.EINVAL, 0, 0, 0, -errno.ESRCH]
    assert [r.pid for r in records] == [live.pid, exited.pid, -5, live.pid, 2,
                                        sleeper.pid, pids[-1]]
    for r in records:
        if r.error:
            assert r.mask == 0 and r.tgid == 0 and r.user_ns == 0
    assert records[0].mask == su.MASK_ALL and records[0].tgid == live.pid
    assert records[4].mask == su.MASK_ALL & ~su.MEMORY_BITS
    single = su.stats(dev.fd, sleeper.pid)
    assert records[5].rss_anon_bytes == single.rss_anon_bytes
    assert records[5].minor_faults == single.minor_faults


def test_batch_without_target_answers_enodata_per_record(dev, sleeper):
    records, _ = su.batch(dev.fd, [0, sleeper.pid])
    assert [r.error for r in records] == [-errno.ENODATA, 0]


def test_batch_thread_scope(dev, busy):
    proc = busy(threads=3)
    _wait_threads(proc.pid, 3)
    tids = _tids(proc.pid)
    records, _ = su.batch(dev.fd, tids, flags=su.TM_STATS_THREAD)
    assert [r.pid for r in records] == tids
    assert all(r.error == 0 and r.tgid == proc.pid and r.flags == su.TM_STATS_THREAD
               for r in records)


def test_batch_at_the_bound_and_beyond(dev, sleeper):
    pids = [sleeper.pid, 2, procs.unused_pid()] * (su.BATCH_MAX // 3) + \
        [sleeper.pid] * (su.BATCH_MAX % 3)
    assert len(pids) == su.BATCH_MAX
    records, _ = su.batch(dev.fd, pids)
    assert [r.error for r in records[:3]] == [0, 0, -errno.ESRCH]
    assert records[-1].error == 0 and records[-1].pid == sleeper.pid
    assert sum(1 for r in records if r.error) == su.BATCH_MAX // 3
    assert su.errno_of(su.batch, dev.fd, pids + [sleeper.pid]) == errno.E2BIG
    assert su.errno_of(su.batch, dev.fd, [sleeper.pid], count=2**32 - 1) == errno.E2BIG
    assert su.errno_of(su.batch, dev.fd, [sleeper.pid], count=0) == errno.EINVAL


def test_batch_bad_arguments(dev, sleeper):
    fd, pid = dev.fd, sleeper.pid
    assert su.errno_of(su.batch, fd, [pid], reserved=1) == errno.EINVAL
    assert su.errno_of(su.batch, fd, [pid], flags=4) == errno.EINVAL
    assert su.errno_of(su.batch, fd, [pid, pid], size=su.SIZE_VER0 - 8) == errno.EINVAL
    assert su.errno_of(su.batch, fd, [pid], records_address=0) == errno.EFAULT
    # A count past the end of the records: the records that fit are written,
    # the call fails at the first one it cannot read.
    assert su.errno_of(su.batch, fd, [pid], records_address=1) == errno.EFAULT


def test_batch_larger_records(dev, sleeper):
    """Records larger than the module's struct: every record's bytes past
    it are cleared, whatever they held, and nothing past the last record
    is written."""
    size = su.SIZE_VER0 + 16
    pids = [sleeper.pid, sleeper.pid, 2, procs.unused_pid()]
    records, buf = su.batch(dev.fd, pids, size=size,
                            tails=[None, b"\0" * 8 + b"\1" + bytes(7), b"\xff" * 16, b"\xff" * 16])
    assert [r.error for r in records] == [0, 0, 0, -errno.ESRCH]
    assert records[0].size == size and records[0].mask == su.MASK_ALL
    assert records[1].mask == su.MASK_ALL and records[1].pid == sleeper.pid
    assert records[2].pid == 2 and records[2].comm == b"kthreadd"
    for i in range(len(pids)):
        assert bytes(buf[i * size + su.SIZE_VER0:(i + 1) * size]) == bytes(16), f"record {i}"
    assert su.guard_intact(buf, len(pids) * size)


# ---- pid namespaces ----

_IN_NAMESPACE = r"""
import errno, os, sys
sys.path.insert(0, sys.argv[1])
import stats_uapi as su, tmdev
outside = int(sys.argv[2])
dev = tmdev.Device()
me = su.stats(dev.fd, os.getpid())
results = [me.pid, me.tgid, me.ppid]
results.append(su.errno_of(su.stats, dev.fd, 0))
results.append(su.errno_of(dev.get))
results.append(su.errno_of(dev.get_text))
results.append(su.errno_of(tmdev.sysfs_read))
results.append(su.errno_of(dev.pid, -1))
records, _ = su.batch(dev.fd, [0, os.getpid(), outside])
results += [r.error for r in records]
# A pid of the namespace that names another process than `outside` there
# (or none) must not show the outside process.
try:
    s = su.stats(dev.fd, outside)
    results.append(s.tgid != outside or s.start_time_ns != int(sys.argv[3]))
except OSError as e:
    results.append(e.errno == errno.ESRCH)
print(*map(int, results), flush=True)
"""


def test_pid_outside_the_callers_namespace_is_esrch(dev, busy):
    """A target or a pid that the caller's pid namespace cannot see is
    ESRCH, for TM_STATS and for every older interface; inside, pids are
    the namespace's own."""
    target = busy()
    dev.pid(target.pid)
    start = su.stats(dev.fd, target.pid).start_time_ns
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(["unshare", "--pid", "--fork", sys.executable, "-c",
                          _IN_NAMESPACE, here, str(target.pid), str(start)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    values = [int(v) for v in out.stdout.split()]
    me_pid, me_tgid, me_ppid = values[:3]
    assert me_pid == me_tgid == 1 and me_ppid == 0
    assert values[3:8] == [errno.ESRCH] * 5, "target visible from another namespace"
    assert values[8] == -errno.ESRCH and values[9] == 0
    assert values[10] in (0, -errno.ESRCH)
    assert values[11] == 1
    # Seen from here, the target is still there.
    assert dev.pid(-1) == target.pid


# ---- small fixes ----

def test_target_parameter_is_decimal(load, kmsg):
    if not os.path.exists("/proc/10") or procs.state(10) is None:
        pytest.skip("no process 10 in this VM")
    load("taskmonitor", "target=010")
    assert pathlib.Path("/sys/module/taskmonitor/parameters/target").read_text() == "10\n"
    with tmdev.Device() as dev:
        assert dev.pid(-1) == 10


def test_hex_target_parameter_is_refused(load):
    with pytest.raises(OSError) as exc:
        load("taskmonitor", "target=0x10")
    assert exc.value.errno == errno.EINVAL


def test_target_parameter_shows_the_load_time_value(load, busy):
    first, second = busy(), busy()
    load("taskmonitor", f"target={first.pid}")
    with tmdev.Device() as dev:
        dev.pid(second.pid)
    assert pathlib.Path("/sys/module/taskmonitor/parameters/target").read_text() == \
        f"{first.pid}\n"
