# SPDX-License-Identifier: GPL-2.0-only
"""Every call and every error of the bindings against the real modules.

These run as root inside the test VM (tests/run-guest-suites), with
taskmonitor.ko and helloioctl.ko loaded.  The target and the thread are
state of the module, shared with whatever ran before: each test sets its own
target and puts the thread back as it found it.
"""
import errno
import gc
import os
import pathlib
import re
import stat
import subprocess
import time

import pytest

import taskmon
import taskmon_testlib as lib

pytestmark = pytest.mark.vm

TEXT = re.compile(r"pid (\d+) usr (\d+) sys (\d+)\n")


@pytest.fixture
def thread_restored():
    """Puts the module's thread back in the state it was in (running or not)."""
    was_running = bool(lib.monitor_kthreads())
    yield was_running
    with taskmon.Monitor(steer=True) as m:
        (m.start if was_running else m.stop)()


def test_sample_of_a_busy_process_grows(monitor, busy):
    proc = busy()
    monitor.set_target(proc.pid)
    assert monitor.target() == proc.pid
    first = monitor.sample()
    assert isinstance(first, taskmon.Sample)
    assert isinstance(first.user_ns, int) and isinstance(first.system_ns, int)
    assert first.user_ns >= 0 and first.system_ns >= 0
    assert first.user == first.user_ns / 1e9
    user_ns, system_ns = first
    assert (user_ns, system_ns) == (first.user_ns, first.system_ns)
    time.sleep(0.5)
    second = monitor.sample()
    assert second.user_ns > first.user_ns, "a busy loop spends its time in user mode"
    assert second.system_ns >= first.system_ns
    assert second.total_ns > first.total_ns
    used = second - first
    assert 0 < used.total_ns < 10 * 1_000_000_000


def test_sample_counts_every_thread(monitor, busy):
    proc = busy(threads=3)
    monitor.set_target(proc.pid)
    time.sleep(0.5)
    start, t0 = monitor.sample(), time.monotonic()
    time.sleep(1.0)
    used, wall = (monitor.sample() - start).total_ns, time.monotonic() - t0
    # With one CPU the three threads share it; with more they add up.  Either
    # way the process used most of at least one CPU.
    assert used > 0.3 * wall * 1e9


def test_sample_text_format_and_values(monitor, busy):
    proc = busy()
    monitor.set_target(proc.pid)
    before = monitor.sample()
    line = monitor.sample_text()
    after = monitor.sample()
    match = TEXT.fullmatch(line)
    assert match, repr(line)
    pid, usr, sys_ = (int(g) for g in match.groups())
    assert pid == proc.pid
    assert before.user_ns <= usr <= after.user_ns
    assert before.system_ns <= sys_ <= after.system_ns


def test_set_target_switches(monitor, busy):
    first, second = busy(), busy()
    monitor.set_target(first.pid)
    monitor.set_target(second.pid)
    assert monitor.target() == second.pid
    assert monitor.sample_text().startswith(f"pid {second.pid} ")


def test_target_is_shared_by_every_open_file(monitor, busy):
    proc = busy()
    monitor.set_target(proc.pid)
    with taskmon.Monitor() as other:
        assert other.target() == proc.pid


def test_exited_target_raises_process_lookup_error(monitor, busy):
    proc = busy()
    monitor.set_target(proc.pid)
    monitor.sample()
    lib.kill(proc)
    for call in (monitor.sample, monitor.sample_text):
        with pytest.raises(ProcessLookupError) as exc:
            call()
        e = exc.value
        assert isinstance(e, taskmon.NoSuchProcessError)
        assert e.errno == errno.ESRCH
        assert e.pid == proc.pid
        assert e.filename == "/dev/taskmonitor"
        assert f"the monitored process (pid {proc.pid}) has exited" in str(e)
    # Reaped, its number may name another process: the target is still the
    # exited one, but reading it raises, naming the pid this Monitor set.
    with pytest.raises(ProcessLookupError) as exc:
        monitor.target()
    assert isinstance(exc.value, taskmon.NoSuchProcessError)
    assert (exc.value.errno, exc.value.pid) == (errno.ESRCH, proc.pid)
    assert "has exited and been reaped" in str(exc.value)
    with taskmon.Monitor() as other, pytest.raises(ProcessLookupError) as exc:
        other.target()
    assert exc.value.pid is None, "a Monitor that never saw the target cannot name it"
    assert "has exited and been reaped" in str(exc.value)


def test_missing_pid_raises_and_keeps_the_target(monitor, busy):
    proc = busy()
    monitor.set_target(proc.pid)
    missing = lib.unused_pid()
    with pytest.raises(ProcessLookupError) as exc:
        monitor.set_target(missing)
    e = exc.value
    assert isinstance(e, taskmon.NoSuchProcessError)
    assert (e.errno, e.pid) == (errno.ESRCH, missing)
    assert f"there is no process {missing} visible in this pid namespace" in str(e)
    assert "the target is unchanged" in str(e)
    assert monitor.target() == proc.pid
    monitor.sample()


@pytest.mark.parametrize("pid", [0, -1])
def test_pid_that_is_not_positive_raises_einval_and_keeps_the_target(monitor, busy, pid):
    proc = busy()
    monitor.set_target(proc.pid)
    with pytest.raises(ValueError) as exc:
        monitor.set_target(pid)
    assert isinstance(exc.value, taskmon.InvalidArgumentError)
    assert exc.value.errno == errno.EINVAL
    assert monitor.target() == proc.pid


def test_a_read_only_monitor_cannot_steer_and_changes_nothing(monitor, busy, thread_restored):
    """docs/security.md: steering through a file opened read-only is EBADF,
    a PermissionDeniedError that says so, and the target stays."""
    first, second = busy(), busy()
    monitor.set_target(first.pid)
    monitor.start()
    with taskmon.Monitor() as reader:
        assert reader.steer is False
        with pytest.raises(PermissionError) as exc:
            reader.set_target(second.pid)
        e = exc.value
        assert isinstance(e, taskmon.PermissionDeniedError)
        assert (e.errno, e.operation, e.pid) == (errno.EBADF, "TM_PID", second.pid)
        assert "opened read-only" in str(e)
        assert "taskmon.Monitor(steer=True)" in str(e), "the Python layer's own advice"
        assert reader.target() == first.pid
        for call in (reader.stop, reader.start):
            with pytest.raises(taskmon.PermissionDeniedError) as exc:
                call()
            assert exc.value.errno == errno.EBADF
        assert len(lib.monitor_kthreads()) == 1, "a refused TM_STOP stopped the thread"
        reader.sample()  # reading needs no more
        reader.stats(first.pid)


def test_a_zombie_target_counts_as_exited(monitor, busy):
    proc = busy()
    monitor.set_target(proc.pid)
    lib.kill(proc, reap=False)
    assert lib.wait_until(lambda: lib.state(proc.pid) == "Z"), "never became a zombie"
    with pytest.raises(taskmon.NoSuchProcessError) as exc:
        monitor.sample()
    assert exc.value.pid == proc.pid
    with taskmon.Monitor() as other:
        assert other.target() == proc.pid, "a zombie keeps its pid: the target reads it"
    proc.wait()


def _taskmonitor_ko():
    """taskmonitor.ko for the running kernel: under $TASKMON_KO_DIR, or where
    scripts/build-modules puts it (build/kernel/KVER/src/kernel)."""
    root = pathlib.Path(__file__).resolve().parent.parent.parent
    dirs = [os.environ.get("TASKMON_KO_DIR"), root / "build/kernel" / os.uname().release]
    for d in filter(None, dirs):
        found = sorted(pathlib.Path(d).rglob("taskmonitor.ko"))
        if found:
            return found[0]
    return None


@pytest.fixture
def fresh_module():
    """A Monitor on a taskmonitor.ko that has no target yet.

    The suites before this one have set one, and nothing can unset it: in
    the test VM the module is reloaded (never on a developer's host), and
    then a target is a failure; elsewhere a module with a target skips the
    test, saying so."""
    ko = _taskmonitor_ko()
    if lib.IN_VM and ko is None:
        pytest.fail("TASKMON_IN_VM=1 but taskmonitor.ko was not found to reload: set "
                    "TASKMON_KO_DIR to the folder holding it", pytrace=False)
    if lib.IN_VM:
        gc.collect()  # close the descriptors of unreferenced Monitors
        taskmon.close_shared_devices()  # and the one every taskmon.Process shares
        subprocess.run(["rmmod", "taskmonitor"], check=True)
        subprocess.run(["insmod", str(ko)], check=True)
        assert lib.wait_until(lambda: os.path.exists("/dev/taskmonitor"))
    with taskmon.Monitor(steer=True) as m:
        try:
            target = m.target()
        except taskmon.NoTargetError:
            yield m
            return
    if lib.IN_VM:
        pytest.fail(f"taskmonitor.ko was just reloaded, yet it has a target (pid {target})",
                    pytrace=False)
    pytest.skip(f"the module already has a target (pid {target}, set earlier) and is "
                "reloaded only in the test VM (TASKMON_IN_VM=1)")


def test_no_target_raises_no_target_error(fresh_module):
    for call in (lambda: fresh_module.target(), fresh_module.sample, fresh_module.sample_text):
        with pytest.raises(taskmon.NoTargetError) as exc:
            call()
        assert exc.value.errno == errno.ENODATA
        assert isinstance(exc.value, taskmon.Error)
        assert "no target process is set" in str(exc.value)


def test_start_and_stop_are_idempotent(monitor, thread_restored):
    monitor.stop()
    monitor.stop()
    assert lib.wait_until(lambda: not lib.monitor_kthreads())
    monitor.start()
    monitor.start()
    assert lib.wait_until(lambda: len(lib.monitor_kthreads()) == 1)
    time.sleep(0.2)
    assert len(lib.monitor_kthreads()) == 1, "a second start made a second thread"
    monitor.stop()
    assert lib.wait_until(lambda: not lib.monitor_kthreads())


def test_start_stop_without_target(thread_restored, fresh_module):
    """The thread needs no target to run (it has nothing to log): start and
    stop work on a module that never had one, and leave it without one."""
    fresh_module.stop()
    assert lib.wait_until(lambda: not lib.monitor_kthreads())
    fresh_module.start()
    assert lib.wait_until(lambda: len(lib.monitor_kthreads()) == 1)
    fresh_module.stop()
    assert lib.wait_until(lambda: not lib.monitor_kthreads())
    with pytest.raises(taskmon.NoTargetError):
        fresh_module.target()


def test_fileno_is_the_device(monitor):
    st = os.fstat(monitor.fileno())
    assert stat.S_ISCHR(st.st_mode)
    assert st.st_rdev == os.stat("/dev/taskmonitor").st_rdev


def test_closed_real_monitor(busy):
    m = taskmon.Monitor()
    m.close()
    with pytest.raises(ValueError, match="closed monitor"):
        m.sample()


def test_permission_denied_for_an_unprivileged_user():
    mode = os.stat("/dev/taskmonitor").st_mode
    if mode & 0o006:
        pytest.skip("/dev/taskmonitor is world-accessible here (a udev rule?)")
    os.seteuid(65534)
    try:
        with pytest.raises(PermissionError) as exc:
            taskmon.Monitor()
    finally:
        os.seteuid(0)
    assert isinstance(exc.value, taskmon.PermissionDeniedError)
    assert exc.value.errno == errno.EACCES
    import grp
    import pwd
    st = os.stat("/dev/taskmonitor")
    owner, group = pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name
    who = (f"membership of its group {group}" if st.st_mode & 0o040
           else f"to be its owner {owner}")
    assert str(exc.value) == (
        f"cannot open /dev/taskmonitor: Permission denied (the device is {owner}:{group} "
        f"{stat.S_IMODE(st.st_mode):04o}: reading needs {who})")


def test_many_calls_in_a_row(monitor, busy):
    proc = busy()
    monitor.set_target(proc.pid)
    previous = monitor.sample()
    for _ in range(2000):
        current = monitor.sample()
        assert current.user_ns >= previous.user_ns and current.system_ns >= previous.system_ns
        previous = current


# ---- /dev/hello ----------------------------------------------------------------------

def test_hello_message():
    with taskmon.Hello() as hello:
        assert hello.message() == "Hello ioctl!"
        assert hello.message() == "Hello ioctl!"
        fd = hello.fileno()
        assert stat.S_ISCHR(os.fstat(fd).st_mode)
    assert hello.closed


def test_hello_device_is_not_a_taskmonitor():
    with taskmon.Monitor("/dev/hello") as m:
        with pytest.raises(taskmon.NotSupportedError):
            m.sample()


def test_taskmonitor_is_not_a_hello_device():
    with taskmon.Hello("/dev/taskmonitor") as h:
        with pytest.raises(taskmon.NotSupportedError):
            h.message()
