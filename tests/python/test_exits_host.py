# SPDX-License-Identifier: GPL-2.0-only
"""taskmon.Exits without the module (host): arguments checked in Python,
a device without TM_SUBSCRIBE_EXITS is NotSupportedError, a missing one
DeviceNotFoundError, a closed Monitor makes none, and ExitRecord decodes
a wait status as the os module does (test_exits_vm.py runs the rest)."""
import errno
import os
import signal

import pytest

import taskmon


@pytest.mark.parametrize("ring", [-1, taskmon.Exits.MAX_RING + 1, True])
def test_a_ring_out_of_bounds_is_refused_in_python(ring):
    with pytest.raises((taskmon.InvalidArgumentError, TypeError)) as info:
        taskmon.Exits("/dev/zero", ring=ring)
    if isinstance(info.value, taskmon.InvalidArgumentError):
        assert info.value.errno == errno.EINVAL and "65536" in str(info.value)


def test_a_device_without_exits_is_not_supported():
    # /dev/zero answers ENOTTY to every ioctl, as a module older than
    # TM_SUBSCRIBE_EXITS would.
    with pytest.raises(taskmon.NotSupportedError) as info:
        with taskmon.Monitor("/dev/zero") as monitor:
            monitor.exits()
    assert info.value.errno == errno.ENOTTY
    assert info.value.operation == "TM_SUBSCRIBE_EXITS"


def test_a_missing_device_is_device_not_found(tmp_path):
    with pytest.raises(taskmon.DeviceNotFoundError):
        taskmon.Exits(tmp_path / "taskmonitor")


def test_a_closed_monitor_makes_no_exits():
    monitor = taskmon.Monitor("/dev/zero")
    monitor.close()
    with pytest.raises(ValueError, match="closed monitor"):
        monitor.exits()


def _record(status):
    return taskmon.ExitRecord(pid=2, ppid=1, uid=0, status=status, comm="x",
                              start_time_ns=1_000_000_000, exit_time_ns=3_500_000_000,
                              user_ns=2_000_000, system_ns=1_000_000)


def test_an_exit_record_decodes_the_status_as_os_does():
    code = _record(7 << 8)
    assert code.exited and not code.signaled and code.exit_code == 7
    killed = _record(signal.SIGKILL)
    assert killed.signaled and not killed.exited and killed.term_signal == signal.SIGKILL
    assert not killed.core_dumped and _record(signal.SIGSEGV | 0x80).core_dumped
    assert code.lifetime_ns == 2_500_000_000 and code.lifetime == 2.5
    assert code.total_ns == 3_000_000 and code.user == 0.002
    assert hash(code) == hash(_record(7 << 8)), "frozen and hashable"
    assert os.WEXITSTATUS(code.status) == code.exit_code
