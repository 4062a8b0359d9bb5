"""taskmonitor: a process that creates and exits threads without pause does
not stall the readers of its CPU time.

The sum over a process's threads is read in a seqlock read section of
signal_struct's stats_lock, which every exiting thread takes for writing.
A reader that retried its lockless pass without bound (as the module once
did, holding its global mutex meanwhile) could loop for as long as such a
process ran: with thousands of threads to walk and threads exiting faster
than the walk takes, no pass ever succeeds.  The reader now takes the lock
on its second pass, so each call ends in bounded time.

In the emulated test VM the old code did not stall either: there a thread
takes milliseconds to create and exit, far longer than a walk over a few
thousand threads, so lockless passes mostly succeed (measured on 6.1 with
the old module, 8000 idle threads and two churners: 12 calls, the longest
0.09 s).  These tests still bound every call under churn, and check that
the answers stay right while threads come and go.
"""
import os
import subprocess
import threading
import time

import pytest

import cprog
import stats_uapi as su
import tmdev

# Idle threads make the walk long; churning threads make threads that exit
# at once.  Raw clone() with static stacks, no pthread: thread creation and
# exit cost only their system calls, the fastest churn a process can make.
# A churning slot's stack is reused only once the kernel has cleared its
# tid (CLONE_CHILD_CLEARTID), that is once its last thread is gone.
_CHURNER = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STACK 8192
#define RING 64
#define CHURN_MAX 8
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
		      CLONE_THREAD | CLONE_SYSVSEM)

static char churn_stacks[CHURN_MAX][RING][STACK] __attribute__((aligned(16)));
static volatile pid_t churn_tids[CHURN_MAX][RING];

/* Threads share their creator's TLS: touch nothing, not even errno. */
static int quit(void *arg) { return 0; }
static int idle(void *arg) { for (;;) syscall(SYS_pause); return 0; }

static int churn(void *arg)
{
	long c = (long)arg;
	unsigned int i;

	for (i = 0;; i = (i + 1) % RING) {
		volatile pid_t *tid = &churn_tids[c][i];

		while (*tid)
			;
		clone(quit, churn_stacks[c][i] + STACK,
		      THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
		      NULL, tid, NULL, tid);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n_idle = atoi(argv[1]), n_churn = atoi(argv[2]), i;
	char *stacks = malloc((size_t)n_idle * STACK);
	static char churner_stacks[CHURN_MAX][65536] __attribute__((aligned(16)));

	if (!stacks || n_churn > CHURN_MAX)
		return 1;
	for (i = 0; i < n_idle; i++)
		if (clone(idle, stacks + (size_t)(i + 1) * STACK, THREAD_FLAGS, NULL) < 0)
			return 1;
	for (i = 0; i < n_churn; i++)
		if (clone(churn, churner_stacks[i] + 65536, THREAD_FLAGS, (void *)(long)i) < 0)
			return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
"""

IDLE_THREADS = int(os.environ.get("TASKMON_CHURN_IDLE", "4000"))
CHURN_THREADS = int(os.environ.get("TASKMON_CHURN_THREADS", "2"))
# Generous: a call takes milliseconds; under TCG on a busy host, let it
# take seconds.  A reader that never gets through takes forever.
CALL_BOUND_S = 20
CALLS = 10


@pytest.fixture(scope="module")
def churner_binary(tmp_path_factory):
    return cprog.build(tmp_path_factory.mktemp("churn"), "churn", _CHURNER, "-O2", "-pthread")


# One churner for the module: creating its threads takes long under TCG.
@pytest.fixture(scope="module")
def churner(churner_binary):
    proc = subprocess.Popen([str(churner_binary), str(IDLE_THREADS), str(CHURN_THREADS)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def timed_calls(calls, churner):
    """Run calls in a thread; if one does not end within the bound, kill
    the churner (which lets a stalled reader finish) and fail."""
    durations, errors = [], []

    def run():
        try:
            for call in calls:
                start = time.monotonic()
                call()
                durations.append(time.monotonic() - start)
        except Exception as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(2 * CALL_BOUND_S)
    stalled = worker.is_alive()
    if stalled:
        churner.kill()
        worker.join(60)
    print(f"{len(durations)} calls, longest {max(durations, default=0):.3f} s, "
          f"total {sum(durations):.3f} s")
    assert not stalled, f"readers stalled: {len(durations)} of {len(calls)} calls ended"
    assert not errors, errors
    assert max(durations) < CALL_BOUND_S, durations
    return durations


def test_churning_target_does_not_stall_tm_get_and_sysfs(load, churner):
    load("taskmonitor", f"target={churner.pid}")
    with tmdev.Device() as dev:
        calls = [dev.get, tmdev.sysfs_read, dev.get_text] * (CALLS // 3 + 1)
        timed_calls(calls, churner)
        assert dev.get()[0] >= 0
    assert churner.poll() is None


def test_churning_process_does_not_stall_tm_stats(load, churner):
    load("taskmonitor")
    with tmdev.Device() as dev:
        def one():
            s = su.stats(dev.fd, churner.pid)
            assert s.threads > IDLE_THREADS and s.mask == su.MASK_ALL

        def many():
            records, _ = su.batch(dev.fd, [churner.pid] * 8)
            assert all(r.error == 0 for r in records)
        timed_calls([one, many] * (CALLS // 2), churner)
    assert churner.poll() is None


def test_other_readers_are_not_held_up_by_a_churning_target(load, churner, busy):
    """A query for another pid takes no lock that a churning target's
    reader holds."""
    other = busy()
    load("taskmonitor", f"target={churner.pid}")
    with tmdev.Device() as dev:
        stop = threading.Event()
        calls = [0, 0]
        errors = []

        def hammer(index):
            try:
                with tmdev.Device() as d:
                    while not stop.is_set():
                        d.get()
                        calls[index] += 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        readers = [threading.Thread(target=hammer, args=(i,), daemon=True)
                   for i in range(len(calls))]
        for r in readers:
            r.start()
        try:
            # The hammers are at work before the timed calls begin.
            deadline = time.monotonic() + CALL_BOUND_S
            while not all(calls) and not errors and time.monotonic() < deadline:
                time.sleep(0.01)
            before = list(calls)
            timed_calls([lambda: su.stats(dev.fd, other.pid)] * CALLS, churner)
            # Still hammering when the timed calls ended (a hammer that
            # died left the others without competition).
            hammering = [r.is_alive() for r in readers]
            during = [n - b for n, b in zip(calls, before)]
        finally:
            stop.set()
            for r in readers:
                r.join(CALL_BOUND_S * 2)
        print(f"hammers: {calls} TM_GET calls in all, {during} during the timed calls")
        assert not [r for r in readers if r.is_alive()], "a hammer never ended"
        assert not errors, errors
        assert all(before), f"a hammer never got a TM_GET through: {before}"
        assert all(hammering), f"a hammer ended during the timed calls: {hammering}"
