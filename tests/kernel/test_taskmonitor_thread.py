"""taskmonitor: the monitor kthread, its log, and start/stop."""
import errno
import os
import random
import subprocess
import sys
import threading
import time

import pytest

import procs
import tmdev

SAMPLE_LOG = r"taskmonitor: pid {} usr \d+ sys \d+$"


@pytest.fixture
def target(kmsg, load, busy):
    proc = busy()
    load("taskmonitor", f"target={proc.pid}")
    return proc


def test_thread_started_at_load_logs_every_second(target, kmsg):
    """One line a second: the test waits (up to a deadline, not a fixed
    window: the emulated VM on a loaded host may run late) until four lines
    came, and no two of them came less than a second apart (by the kernel
    log's own timestamps; 0.1 s of slack for the jiffy rounding)."""
    kmsg.wait_for("taskmonitor: starting monitor thread$")
    assert len(procs.monitor_kthreads()) == 1
    pattern = SAMPLE_LOG.format(target.pid)
    deadline = time.monotonic() + 60
    while len(kmsg.matching(pattern)) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    timed = kmsg.timed(pattern)
    assert len(timed) >= 4, f"{len(timed)} sample lines in 60 s: {timed}"
    gaps = [b[0] - a[0] for a, b in zip(timed, timed[1:])]
    print(f"gaps between sample lines: {', '.join(f'{g:.3f}' for g in gaps)} s")
    assert min(gaps) >= 0.9, f"two lines in one second: {gaps}"
    usr = [int(line.split()[4]) for _, line in timed]
    assert usr == sorted(usr) and usr[-1] > usr[0]


@pytest.mark.parametrize("stop,start", [(b"stop", b"start"), (b"stop\n", b"start\n")],
                         ids=["echo-n", "echo"])
def test_sysfs_stop_and_start(target, kmsg, stop, start):
    tmdev.sysfs_write(stop)
    kmsg.wait_for("taskmonitor: halting monitor thread$")
    assert procs.monitor_kthreads() == []
    logged = len(kmsg.matching(SAMPLE_LOG.format(target.pid)))
    time.sleep(2.2)
    assert len(kmsg.matching(SAMPLE_LOG.format(target.pid))) == logged, "stopped thread logged"
    tmdev.sysfs_write(start)
    assert len(procs.monitor_kthreads()) == 1
    kmsg.wait_for(SAMPLE_LOG.format(target.pid))


@pytest.mark.parametrize("data", [b"go", b"starts", b"STOP", b"start stop", b"\n", b"stopp\n"])
def test_sysfs_rejects_other_words(target, data):
    with pytest.raises(OSError) as exc:
        tmdev.sysfs_write(data)
    assert exc.value.errno == errno.EINVAL
    assert len(procs.monitor_kthreads()) == 1


def test_ioctl_start_stop_are_idempotent(target, kmsg):
    with tmdev.Device() as dev:
        dev.start()
        dev.start()
        assert len(procs.monitor_kthreads()) == 1
        dev.stop()
        dev.stop()
        assert procs.monitor_kthreads() == []
        dev.start()
        assert len(procs.monitor_kthreads()) == 1
    assert len(kmsg.matching("starting monitor thread$")) == 2
    assert len(kmsg.matching("halting monitor thread$")) == 1


def test_thread_is_quiet_while_target_is_gone(target, kmsg, busy):
    kmsg.wait_for(SAMPLE_LOG.format(target.pid))
    procs.kill(target)
    time.sleep(1.2)  # a sample in flight when the target died may still land
    quiet_from = len(kmsg.matching("taskmonitor:"))
    time.sleep(2.5)
    assert kmsg.matching("taskmonitor:")[quiet_from:] == []
    assert len(procs.monitor_kthreads()) == 1
    second = busy()
    with tmdev.Device() as dev:
        dev.pid(second.pid)
    kmsg.wait_for(SAMPLE_LOG.format(second.pid))


def test_idle_module_thread_is_quiet(load, kmsg):
    load("taskmonitor")
    assert len(procs.monitor_kthreads()) == 1
    time.sleep(2.5)
    assert kmsg.matching(r"taskmonitor: pid ") == []


def test_start_stop_storm_never_two_threads(target, kmsg):
    """Many callers start and stop over sysfs and ioctl at once."""
    stop = threading.Event()
    violations, counts, errors = [], [0], []

    def checker():
        while not stop.is_set():
            threads = procs.monitor_kthreads()
            if len(threads) > 1:
                violations.append(threads)
            kmsg.lines()  # drain the log before the storm overwrites it

    def caller(seed):
        rng = random.Random(seed)
        try:
            with tmdev.Device() as dev:
                while not stop.is_set():
                    action = rng.randrange(5)
                    if action == 0:
                        dev.start()
                    elif action == 1:
                        dev.stop()
                    elif action == 2:
                        tmdev.sysfs_write(b"start\n")
                    elif action == 3:
                        tmdev.sysfs_write(b"stop")
                    else:
                        dev.get()
                    counts[0] += 1
        except OSError as e:  # any failure is a bug: report it
            errors.append(e)

    workers = [threading.Thread(target=checker)] + [
        threading.Thread(target=caller, args=(seed,)) for seed in range(6)]
    for w in workers:
        w.start()
    stop.wait(8)
    stop.set()
    for w in workers:
        w.join(30)
        assert not w.is_alive(), "a caller hung"
    assert errors == []
    assert violations == []
    assert counts[0] > 200
    assert kmsg.lost == 0, "the kernel log overflowed: the counts below would be wrong"
    starts = len(kmsg.matching("starting monitor thread$"))
    halts = len(kmsg.matching("halting monitor thread$"))
    running = len(procs.monitor_kthreads())
    assert running in (0, 1) and starts - halts == running
    with tmdev.Device() as dev:
        dev.start()
        assert len(procs.monitor_kthreads()) == 1
        dev.stop()
        assert procs.monitor_kthreads() == []


# ---- the kthread's period: the parameter period_ms ----

PERIOD = "/sys/module/taskmonitor/parameters/period_ms"


def read_period() -> int:
    with open(PERIOD) as f:
        return int(f.read())


def write_period(value: bytes) -> None:
    fd = os.open(PERIOD, os.O_WRONLY)
    try:
        os.write(fd, value)
    finally:
        os.close(fd)


def test_period_defaults_to_a_second(target):
    assert read_period() == 1000


def test_period_set_at_load(kmsg, load, busy):
    proc = busy()
    load("taskmonitor", f"target={proc.pid} period_ms=250")
    assert read_period() == 250
    kmsg.wait_for(SAMPLE_LOG.format(proc.pid))
    time.sleep(2.6)
    lines = kmsg.matching(SAMPLE_LOG.format(proc.pid))
    # About ten lines: more than a one-second period could ever give.
    assert len(lines) >= 5, lines


@pytest.mark.parametrize("value", ["99", "3600001", "0", "-1", "abc", "1000x", "0x100"])
def test_period_out_of_bounds_at_load_fails_the_load(load, value):
    with pytest.raises(OSError) as exc:
        load("taskmonitor", f"period_ms={value}")
    assert exc.value.errno == errno.EINVAL


@pytest.mark.parametrize("value", [b"99", b"3600001", b"abc", b"\n"])
def test_period_refuses_values_out_of_bounds(target, value):
    write_period(b"300")
    with pytest.raises(OSError) as exc:
        write_period(value)
    assert exc.value.errno == errno.EINVAL
    assert read_period() == 300


def test_period_change_takes_effect_after_the_current_wait(target, kmsg):
    kmsg.wait_for(SAMPLE_LOG.format(target.pid))
    write_period(b"100\n")
    assert read_period() == 100
    time.sleep(1.0)             # the current wait (a second) ends meanwhile
    logged = len(kmsg.matching(SAMPLE_LOG.format(target.pid)))
    time.sleep(2.0)
    lines = kmsg.matching(SAMPLE_LOG.format(target.pid))[logged:]
    assert len(lines) >= 6, lines   # about twenty; a one-second period gives two


def test_period_is_root_only_in_the_initial_user_namespace(target):
    """Root of a new user namespace owns the file (uid 0 maps to root) but
    lacks CAP_SYS_ADMIN in the initial namespace: EPERM, value unchanged."""
    if not os.path.exists("/proc/self/ns/user"):
        pytest.skip("this kernel has no user namespaces (CONFIG_USER_NS is not set)")
    write_period(b"700")
    # Python, not the shell: dash's echo says "I/O error" whatever the errno.
    write = ("import os, sys\n"
             f"fd = os.open({PERIOD!r}, os.O_WRONLY)\n"
             "try:\n"
             "    os.write(fd, b'200')\n"
             "except OSError as e:\n"
             "    sys.exit(e.errno)\n")
    done = subprocess.run(["unshare", "--user", "--map-root-user", sys.executable, "-c", write],
                          capture_output=True, text=True)
    assert done.returncode == errno.EPERM, (done.returncode, done.stderr)
    assert read_period() == 700
