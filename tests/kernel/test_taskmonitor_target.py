"""taskmonitor: choosing the target (TM_PID), and targets that exit."""
import errno
import os
import struct
import subprocess
import sys
import time

import pytest

import procs
import tmdev
import uapi


@pytest.fixture
def dev(load):
    load("taskmonitor")
    with tmdev.Device() as device:
        yield device


def test_pid_sets_and_reads_the_target(dev, busy):
    proc = busy()
    assert dev.pid(proc.pid) == proc.pid
    assert dev.pid(-1) == proc.pid
    assert dev.pid(-12345) == proc.pid
    assert tmdev.parse_line(dev.get_text())[0] == proc.pid


def test_pid_into_read_only_memory_gives_efault_and_keeps_target(dev, busy):
    """TM_PID writes its answer back: a buffer it cannot write to fails
    with EFAULT before the target changes."""
    first, second = busy(), busy()
    dev.pid(first.pid)
    with uapi.ReadOnlyPage(struct.pack("i", second.pid)) as page:
        with pytest.raises(OSError) as exc:
            uapi.raw_ioctl(dev.fd, uapi.TM_PID, page.address)
    assert exc.value.errno == errno.EFAULT
    assert dev.pid(-1) == first.pid


def test_pid_switches_target(dev, busy):
    first, second = busy(), busy()
    dev.pid(first.pid)
    dev.pid(second.pid)
    assert dev.pid(-1) == second.pid
    assert tmdev.parse_line(tmdev.sysfs_read())[0] == second.pid


def test_missing_pid_gives_esrch_and_keeps_target(dev, busy):
    proc = busy()
    dev.pid(proc.pid)
    with pytest.raises(OSError) as exc:
        dev.pid(procs.unused_pid())
    assert exc.value.errno == errno.ESRCH
    assert dev.pid(-1) == proc.pid


def test_pid_zero_gives_einval(dev, busy):
    proc = busy()
    dev.pid(proc.pid)
    with pytest.raises(OSError) as exc:
        dev.pid(0)
    assert exc.value.errno == errno.EINVAL
    assert dev.pid(-1) == proc.pid


def test_exited_target_gives_esrch_never_stale_numbers(dev, busy):
    proc = busy()
    dev.pid(proc.pid)
    dev.get()
    procs.kill(proc)
    for call in (dev.get, dev.get_text, tmdev.sysfs_read):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.errno == errno.ESRCH
    # Reaped, its number may belong to another process already: ESRCH,
    # not the number.
    with pytest.raises(OSError) as exc:
        dev.pid(-1)
    assert exc.value.errno == errno.ESRCH


def _kill_to_zombie(proc):
    """Kill proc without reaping it; return once it is a zombie."""
    procs.kill(proc, reap=False)
    deadline = time.monotonic() + 10
    while procs.state(proc.pid) != "Z":
        assert time.monotonic() < deadline, "the killed process never became a zombie"
        time.sleep(0.05)


def test_zombie_target_still_answers_its_pid(dev, busy):
    proc = busy()
    dev.pid(proc.pid)
    _kill_to_zombie(proc)
    # Not reaped, the number is still its own: TM_PID gives it.
    assert dev.pid(-1) == proc.pid
    proc.wait()
    with pytest.raises(OSError) as exc:
        dev.pid(-1)
    assert exc.value.errno == errno.ESRCH


def test_zombie_target_counts_as_exited(dev, busy):
    proc = busy()
    dev.pid(proc.pid)
    _kill_to_zombie(proc)
    with pytest.raises(OSError) as exc:
        dev.get()
    assert exc.value.errno == errno.ESRCH
    proc.wait()


def test_cannot_target_an_exited_process(dev):
    proc = subprocess.Popen(["true"])
    proc.wait()
    with pytest.raises(OSError) as exc:
        dev.pid(proc.pid)
    assert exc.value.errno == errno.ESRCH


def test_target_switch_after_exit_resumes(dev, busy):
    first = busy()
    dev.pid(first.pid)
    procs.kill(first)
    second = busy()
    dev.pid(second.pid)
    assert tmdev.parse_line(tmdev.sysfs_read())[0] == second.pid


_IN_NAMESPACE = r"""
import fcntl, os, struct, subprocess, sys
sys.path.insert(0, sys.argv[1])
import tmdev
child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
with tmdev.Device() as dev:
    assert dev.pid(child.pid) == child.pid
    print(child.pid, dev.pid(-1), tmdev.parse_line(dev.get_text())[0], flush=True)
    sys.stdin.read()
child.kill()
"""


def test_pids_are_in_the_callers_namespace(dev):
    """A process in a new pid namespace sets and reads pids as it sees them."""
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc",
                             sys.executable, "-c", _IN_NAMESPACE, here],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        inner_pid, read_back, line_pid = map(int, proc.stdout.readline().split())
        assert inner_pid < 10, "the child should have a small pid in its new namespace"
        assert read_back == inner_pid and line_pid == inner_pid
        # Seen from the initial namespace, the same target has its global pid.
        global_pid = dev.pid(-1)
        assert global_pid != inner_pid
        with open(f"/proc/{global_pid}/status") as status:
            nspid = [line for line in status if line.startswith("NSpid:")][0].split()
        assert nspid[1:] == [str(global_pid), str(inner_pid)]
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
