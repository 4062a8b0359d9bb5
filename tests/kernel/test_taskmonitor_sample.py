"""taskmonitor: samples through sysfs and ioctl, and what they measure."""
import errno
import subprocess
import sys
import time

import pytest

import procs
import tmdev
import uapi


@pytest.fixture
def target(load, busy):
    proc = busy()
    load("taskmonitor", f"target={proc.pid}")
    return proc


def test_sysfs_line_names_the_target(target):
    pid, utime, stime = tmdev.parse_line(tmdev.sysfs_read())
    assert pid == target.pid
    assert utime + stime > 0


def test_samples_grow_while_the_target_runs(target):
    with tmdev.Device() as dev:
        u1, s1 = dev.get()
        time.sleep(1.5)
        u2, s2 = dev.get()
    assert u2 >= u1 and s2 >= s1
    assert u2 - u1 > 100_000_000, "a busy process should gain user time"


def test_ioctl_and_sysfs_agree(target):
    with tmdev.Device() as dev:
        before = dev.get()
        _, su, ss = tmdev.parse_line(tmdev.sysfs_read())
        text = dev.get_text()
        after = dev.get()
    assert before[0] <= su <= after[0] and before[1] <= ss <= after[1]
    pid, tu, ts = tmdev.parse_line(text)
    assert pid == target.pid
    assert su <= tu <= after[0] and ss <= ts <= after[1]


def test_unit_is_nanoseconds_like_proc(load, busy):
    """The module's sum over all threads is in the unit of /proc, in ns.

    They cannot agree exactly: the module reports utime and stime as the
    scheduler tick sampled them, while /proc/PID/stat scales the pair so
    that it adds up to the precise sum_exec_runtime (cputime_adjust() in
    kernel/sched/cputime.c).  Under emulation ticks are lost or bunched, and
    the two differ by up to several times (4x was seen on 6.12 under load);
    a wrong unit would differ by 1000x (microseconds) or 10^7x (ticks).  So:
    within a factor of ten.
    """
    proc = busy(threads=2)
    load("taskmonitor", f"target={proc.pid}")
    time.sleep(2)
    with tmdev.Device() as dev:
        before = sum(dev.get())
        proc_total = sum(procs.proc_cputime_ns(proc.pid))
        after = sum(dev.get())
    assert proc_total > 0 and before > 0, (before, proc_total, after)
    assert before / 10 <= proc_total <= after * 10, (before, proc_total, after)


def test_threads_that_exited_still_count(load):
    """Time of finished threads stays in the process's total.  The thread
    spins until it has used a second of CPU (by its own clock, however long
    that takes on a loaded host, up to a deadline), not for a second of
    wall time."""
    script = ("import threading, time, sys\n"
              "def spin(deadline):\n"
              "    while time.thread_time() < 1.0 and time.monotonic() < deadline: pass\n"
              "    spun.append(time.thread_time())\n"
              "spun = []\n"
              "t = threading.Thread(target=spin, args=(time.monotonic() + 120,))\n"
              "t.start(); t.join()\n"
              "print('joined', spun[0], flush=True); sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        word, spun = proc.stdout.readline().split()
        assert word == "joined"
        assert float(spun) >= 1.0, f"the thread got {spun} s of CPU in 120 s"
        load("taskmonitor", f"target={proc.pid}")
        with tmdev.Device() as dev:
            utime, stime = dev.get()
        # utime and stime are sampled at the tick, the thread's clock is
        # exact: they differ by a few ticks, more on an emulated CPU.
        assert utime + stime >= 700_000_000, \
            f"the joined thread's second of CPU is missing: {utime + stime} ns"
    finally:
        proc.kill()
        proc.wait()


def test_sysfs_read_works_while_stopped(target):
    tmdev.sysfs_write(b"stop")
    assert tmdev.parse_line(tmdev.sysfs_read())[0] == target.pid
    with tmdev.Device() as dev:
        assert dev.get()[0] > 0


@pytest.mark.parametrize("request_code", [
    uapi.request("_IO", 0x10),
    uapi.request("_IOR", 0x10, 8),           # TM_GET's number with another size
    uapi.request("_IOR", 0x15, 16),          # the next free number
    uapi.request("_IO", 0x3f),
    uapi.HELLO,
    0x5401,
], ids=["get-no-size", "get-bad-size", "next-nr", "last-nr", "hello", "tcgets"])
def test_unknown_requests_give_enotty(target, request_code):
    with tmdev.Device() as dev:
        with pytest.raises(OSError) as exc:
            uapi.raw_ioctl(dev.fd, request_code, 0)
        assert exc.value.errno == errno.ENOTTY


@pytest.mark.parametrize("name", ["TM_GET", "TM_GET_TEXT", "TM_PID"])
@pytest.mark.parametrize("address", [0, 1, 0xffff888000000000], ids=["null", "low", "kernel"])
def test_bad_pointers_give_efault(target, name, address):
    with tmdev.Device() as dev:
        with pytest.raises(OSError) as exc:
            uapi.raw_ioctl(dev.fd, uapi.REQUESTS[name], address)
        assert exc.value.errno == errno.EFAULT
        assert dev.pid(-1) == target.pid
