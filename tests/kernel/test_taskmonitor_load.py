"""taskmonitor: the target= parameter, loading and unloading."""
import errno
import os
import pathlib

import pytest

import kmod
import procs
import tmdev


def test_loads_with_a_target_and_samples_it(load, busy):
    proc = busy()
    load("taskmonitor", f"target={proc.pid}")
    pid, utime, stime = tmdev.parse_line(tmdev.sysfs_read())
    assert pid == proc.pid
    assert pathlib.Path("/sys/module/taskmonitor/parameters/target").read_text() == f"{proc.pid}\n"


def test_missing_target_fails_the_load_with_esrch(load, kmsg):
    missing = procs.unused_pid()
    with pytest.raises(OSError) as exc:
        load("taskmonitor", f"target={missing}")
    assert exc.value.errno == errno.ESRCH
    assert kmsg.matching(rf"taskmonitor: target={missing}: no such process$")
    ours = [line for line in kmsg.matching("taskmonitor:") if "taint" not in line]
    assert len(ours) == 1, ours
    assert not kmod.is_loaded("taskmonitor")
    assert not tmdev.SYSFS.exists() and not tmdev.DEV.exists()


@pytest.mark.parametrize("value", ["-1", "abc", "99999999999999999999", "12x", ""])
def test_bad_target_value_fails_the_load_with_einval(load, kmsg, value):
    with pytest.raises(OSError) as exc:
        load("taskmonitor", f"target={value}")
    assert exc.value.errno == errno.EINVAL
    assert kmsg.matching("taskmonitor: target=.* is not a pid")
    assert not kmod.is_loaded("taskmonitor")


def test_loads_idle_without_target(load):
    load("taskmonitor")
    with pytest.raises(OSError) as exc:
        tmdev.sysfs_read()
    assert exc.value.errno == errno.ENODATA
    with tmdev.Device() as dev:
        for call in (dev.get, dev.get_text, lambda: dev.pid(-1)):
            with pytest.raises(OSError) as exc:
                call()
            assert exc.value.errno == errno.ENODATA


def test_everything_goes_with_the_module(load, busy):
    proc = busy()
    load("taskmonitor", f"target={proc.pid}")
    assert procs.monitor_kthreads()
    kmod.unload("taskmonitor")
    assert not tmdev.SYSFS.exists()
    assert not tmdev.DEV.exists()
    assert "taskmonitor" not in pathlib.Path("/proc/devices").read_text()
    assert procs.monitor_kthreads() == []


def test_unload_refused_while_device_open(load, busy):
    proc = busy()
    load("taskmonitor", f"target={proc.pid}")
    with tmdev.Device() as dev:
        with pytest.raises(OSError) as exc:
            kmod.unload("taskmonitor")
        assert exc.value.errno == errno.EWOULDBLOCK
        assert dev.pid(-1) == proc.pid
    kmod.unload("taskmonitor")


def test_repeated_load_unload_cycles(load, busy, kmsg):
    proc = busy()
    for i in range(25):
        params = f"target={proc.pid}" if i % 2 else ""
        load("taskmonitor", params)
        if i % 3 == 0:
            tmdev.sysfs_write(b"stop")
        if i % 2:
            assert tmdev.parse_line(tmdev.sysfs_read())[0] == proc.pid
        kmod.unload("taskmonitor")
        assert procs.monitor_kthreads() == []
    starts = kmsg.matching("taskmonitor: starting monitor thread$")
    halts = kmsg.matching("taskmonitor: halting monitor thread$")
    assert len(starts) == len(halts) == 25


def test_all_three_modules_together(load, busy):
    proc = busy()
    load("hellosysfs")
    load("helloioctl")
    load("taskmonitor", f"target={proc.pid}")
    assert pathlib.Path("/sys/kernel/hello").read_text() == "Hello sysfs!\n"
    assert tmdev.parse_line(tmdev.sysfs_read())[0] == proc.pid
    assert os.path.exists("/dev/hello") and os.path.exists("/dev/taskmonitor")
