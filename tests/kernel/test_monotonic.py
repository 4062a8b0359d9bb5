"""taskmonitor: a process's CPU times never go backwards, on any interface,
even while its threads keep starting and exiting (issue #20, item 2).

The workload is a pool of short-lived threads, each briefly busy either in
user mode or in the kernel, so that threads with very different
user/system ratios keep exiting.  TM_STATS and its relatives once split
the live threads by their own ratio and the exited ones by their combined
ratio, recomputed on every call: an exit moved runtime from one split to
the other and user_ns or system_ns dropped (hundreds of times in 40,000
samples).  They now split the process's totals once, clamped so that
neither figure goes backwards, with the kernel's own state for it
(signal->prev_cputime, the one /proc/PID/stat uses).  The lab's requests
(TM_GET, TM_GET_TEXT, sysfs, the kthread's log) give the raw tick-sampled
sums, which only grow.

Each interface is sampled SAMPLES times (TASKMON_MONOTONIC_SAMPLES,
10,000; tests/sanitizer/run-guest asks for 2,000 under KASAN; the
kthread's log: one line a second for the whole test), and every
consecutive pair is compared: user, system and their sum.
"""
import os
import re
import select
import subprocess
import time

import pytest

import cprog
import stats_uapi as su
import stream_uapi as st
import tmdev

SAMPLES = int(os.environ.get("TASKMON_MONOTONIC_SAMPLES", "10000"))
# Subscriptions of the workload sampled at once, each every 10 ms.
STREAMS = 16

_POOL = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Busy for about 2 ms: in user mode, or in system calls. */
static void *worker(void *arg)
{
	long kind = (long)arg;
	double end = now() + 0.002;
	volatile unsigned long x = 0;

	while (now() < end) {
		if (kind) {
			syscall(SYS_getppid);
			syscall(SYS_getppid);
		} else {
			for (int i = 0; i < 1000; i++)
				x += i;
		}
	}
	return NULL;
}

/* argv[1], if given: exit after that many seconds. */
int main(int argc, char **argv)
{
	double end = argc > 1 ? now() + atof(argv[1]) : 0;
	pthread_attr_t attr;
	pthread_t t[SLOTS];
	unsigned long n = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 65536);
	printf("ready\n");
	fflush(stdout);
	while (!end || now() < end) {
		for (int i = 0; i < SLOTS; i++)
			pthread_create(&t[i], &attr, worker, (void *)((n++ / 3) % 2));
		for (int i = 0; i < SLOTS; i++)
			pthread_join(t[i], NULL);
	}
	return 0;
}
"""


@pytest.fixture(scope="module")
def pool_binary(tmp_path_factory):
    return cprog.build(tmp_path_factory.mktemp("pool"), "pool", _POOL, "-O1", "-pthread")


@pytest.fixture
def pool(pool_binary):
    proc = subprocess.Popen([str(pool_binary)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.5)  # some threads have exited already
        yield proc
    finally:
        proc.kill()
        proc.wait()


def decreases(samples):
    """How often user, system and their sum dropped between two
    consecutive samples, and the first drops seen."""
    counts = {"user": 0, "system": 0, "sum": 0}
    first = []
    for (u0, s0), (u1, s1) in zip(samples, samples[1:]):
        for name, before, after in (("user", u0, u1), ("system", s0, s1),
                                    ("sum", u0 + s0, u1 + s1)):
            if after < before:
                counts[name] += 1
                if len(first) < 5:
                    first.append((name, (u0, s0), (u1, s1)))
    return counts, first


def check(name, samples, minimum=SAMPLES):
    counts, first = decreases(samples)
    print(f"{name}: {len(samples)} samples, decreases {counts}")
    assert len(samples) >= minimum, f"{name}: only {len(samples)} samples"
    assert samples[-1][0] + samples[-1][1] > samples[0][0] + samples[0][1], \
        f"{name}: the workload used no CPU time"
    assert counts == {"user": 0, "system": 0, "sum": 0}, f"{name}: {counts}, first {first}"


def test_lab_requests_never_go_backwards(load, pool, kmsg):
    load("taskmonitor", f"target={pool.pid}")
    with tmdev.Device() as dev:
        check("TM_GET", [dev.get() for _ in range(SAMPLES)])
        check("TM_GET_TEXT", [tmdev.parse_line(dev.get_text())[1:] for _ in range(SAMPLES)])
        check("sysfs", [tmdev.parse_line(tmdev.sysfs_read())[1:] for _ in range(SAMPLES)])
    lines = [tmdev.parse_line(line.split(": ", 1)[1] + "\n")
             for line in kmsg.matching(r"^taskmonitor: pid ")]
    lines = [(u, s) for pid, u, s in lines if pid == pool.pid]
    check("kthread log", lines, minimum=5)


def test_tm_stats_never_goes_backwards(load, pool):
    load("taskmonitor")
    with tmdev.Device() as dev:
        samples = []
        for _ in range(SAMPLES):
            s = su.stats(dev.fd, pool.pid)
            samples.append((s.user_ns, s.system_ns))
        check("TM_STATS", samples)


def test_tm_stats_batch_never_goes_backwards(load, pool):
    """Records of one batch are read one after the other: every record,
    in order, is a sample."""
    load("taskmonitor")
    with tmdev.Device() as dev:
        samples = []
        while len(samples) < SAMPLES:
            records, _ = su.batch(dev.fd, [pool.pid] * 16)
            assert all(r.error == 0 for r in records)
            samples += [(r.user_ns, r.system_ns) for r in records]
        check("TM_STATS_BATCH", samples)


def test_stats_requests_agree_with_each_other(load, pool):
    """TM_STATS and TM_STATS_BATCH split with the same state: interleaved,
    they never go backwards either."""
    load("taskmonitor")
    with tmdev.Device() as dev:
        samples = []
        while len(samples) < SAMPLES:
            s = su.stats(dev.fd, pool.pid)
            samples.append((s.user_ns, s.system_ns))
            records, _ = su.batch(dev.fd, [pool.pid] * 3)
            samples += [(r.user_ns, r.system_ns) for r in records]
        check("TM_STATS + TM_STATS_BATCH", samples)


def test_stream_records_never_go_backwards(load, pool):
    load("taskmonitor")
    fds = [os.open(tmdev.DEV, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
           for _ in range(STREAMS)]
    try:
        for fd in fds:
            st.subscribe(fd, [pool.pid], period_ns=st.PERIOD_MIN_NS, ring=st.RING_MAX)
        per_fd = {fd: [] for fd in fds}
        deadline = time.monotonic() + 600
        while sum(map(len, per_fd.values())) < SAMPLES and time.monotonic() < deadline:
            ready, _, _ = select.select(fds, [], [], 1.0)
            for fd in ready:
                for rec in st.read_records(fd, 1024):
                    assert rec.lost == 0 and not rec.flags & st.EXIT, rec
                    per_fd[fd].append((rec.user_ns, rec.system_ns))
        total = []
        for fd, samples in per_fd.items():
            check(f"stream fd {fd}", samples, minimum=10)
            total += samples
        assert len(total) >= SAMPLES
    finally:
        for fd in fds:
            os.close(fd)


def test_interleaved_stats_and_proc_never_go_backwards(load, pool):
    """The split shares /proc's state: /proc/PID/stat (in clock ticks) read
    between two TM_STATS never shows more than the later one, nor less
    than the earlier one, beyond /proc's rounding down to a tick."""
    load("taskmonitor")
    tick = 10**9 // os.sysconf("SC_CLK_TCK")
    stat = f"/proc/{pool.pid}/stat"
    with tmdev.Device() as dev:
        prev = su.stats(dev.fd, pool.pid)
        for _ in range(SAMPLES // 10):
            fields = open(stat).read().rsplit(")", 1)[1].split()
            utime, stime = int(fields[11]) * tick, int(fields[12]) * tick
            cur = su.stats(dev.fd, pool.pid)
            assert prev.user_ns - tick < utime <= cur.user_ns, (prev.user_ns, utime, cur.user_ns)
            assert prev.system_ns - tick < stime <= cur.system_ns, \
                (prev.system_ns, stime, cur.system_ns)
            prev = cur


def config_hz() -> int:
    """The kernel's HZ, from its config (Debian's kernels: 250)."""
    try:
        text = open(f"/boot/config-{os.uname().release}").read()
    except OSError:
        return 250
    m = re.search(r"^CONFIG_HZ=(\d+)$", text, re.M)
    return int(m[1]) if m else 250


@pytest.mark.parametrize("run", range(5))
def test_exit_record_has_the_final_times(load, pool_binary, run):
    """A TM_RECORD_EXIT record carries the times the parent gets from
    wait4()'s rusage, within one tick (rusage is in microseconds).  The
    child is left a zombie (waitid() with WNOWAIT) until its exit record
    is read, so that the record is not one of a reaped process."""
    load("taskmonitor")
    tick_ns = 10**9 // config_hz()
    pid = os.posix_spawn(str(pool_binary), [str(pool_binary), str(0.3 + 0.1 * run)],
                         os.environ)
    reaped = False
    try:
        with open(tmdev.DEV, "rb", buffering=0) as dev:
            st.subscribe(dev.fileno(), [pid], period_ns=st.PERIOD_MIN_NS, ring=st.RING_MAX)
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            exit_rec = None
            while exit_rec is None:
                for rec in st.read_records(dev.fileno(), 1024):
                    if rec.flags & st.EXIT:
                        exit_rec = rec
            _, status, rusage = os.wait4(pid, 0)
            reaped = True
        assert os.waitstatus_to_exitcode(status) == 0
        # Not REAPED (the final times, not the last sample's); GAP may be
        # set too: a late tick on a loaded emulated host says so.
        assert exit_rec.flags & ~st.GAP == st.EXIT, exit_rec
        user_ns = round(rusage.ru_utime * 1e6) * 1000
        system_ns = round(rusage.ru_stime * 1e6) * 1000
        print(f"exit record user {exit_rec.user_ns} sys {exit_rec.system_ns}, "
              f"wait4 user {user_ns} sys {system_ns}")
        assert user_ns + system_ns > 0
        assert abs(exit_rec.user_ns - user_ns) <= tick_ns, (exit_rec, user_ns)
        assert abs(exit_rec.system_ns - system_ns) <= tick_ns, (exit_rec, system_ns)
    finally:
        if not reaped:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
