# SPDX-License-Identifier: GPL-2.0-only
"""taskmon.processes() and taskmon.hidden() without the module: the records,
the checks made in Python, the errors of a device without TM_LIST, and the
GIL released during the scan.  Against the real module: test_hidden_vm.py."""
import dataclasses
import errno
import math
import warnings

import pytest

import taskmon
import taskmon_testlib as lib

REASONS = ("getdents64", "readdir", "open", "stat")


def hidden_record(**changes):
    fields = dict(pid=42, comm="sleep", start_time_ns=12_340_000_000, reasons=("readdir",),
                  uid=0, detail="in getdents64 but not in readdir of /proc")
    fields.update(changes)
    return taskmon.HiddenProcess(**fields)


def test_exported():
    for name in ("processes", "hidden", "ProcessEntry", "HiddenProcess", "HIDDEN_REASONS"):
        assert name in taskmon.__all__
        assert hasattr(taskmon, name)
    assert taskmon.HIDDEN_REASONS == REASONS == taskmon.HiddenProcess.REASONS


def test_process_entry():
    e = taskmon.ProcessEntry(pid=7, start_time_ns=1_500_000_000)
    assert (e.pid, e.start_time_ns, e.start_time) == (7, 1_500_000_000, 1.5)
    pid, start_ns = e
    assert (pid, start_ns) == (7, 1_500_000_000) and len(e) == 2
    assert e == taskmon.ProcessEntry(7, 1_500_000_000) and len({e, taskmon.ProcessEntry(7, 1)}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.pid = 8
    assert "pid=7" in repr(e)


def test_hidden_process():
    h = hidden_record()
    assert h.start_time == 12.34
    assert h.has("readdir") and not h.has("getdents64")
    with pytest.raises(ValueError, match="the reasons are getdents64, readdir, open, stat"):
        h.has("getdents")
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.reasons = ()
    assert hash(h) == hash(hidden_record())
    assert str(h) == ("pid 42 comm sleep uid 0 start 12.340000000 s: readdir "
                      "(in getdents64 but not in readdir of /proc)")
    assert str(hidden_record(uid=None, comm="", detail="", reasons=("getdents64", "open"))) == (
        "pid 42 comm - uid - start 12.340000000 s: getdents64,open")


def test_without_tm_list(null_request_fails):
    null_request_fails(lambda m: m.processes(), "TM_LIST")
    null_request_fails(lambda m: m.hidden(), "TM_LIST")
    null_request_fails(lambda m: m.hidden("/proc", 0), "TM_LIST")


def test_module_level_functions_open_and_close(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with pytest.raises(taskmon.NotSupportedError):
            taskmon.processes(path="/dev/null")
        with pytest.raises(taskmon.NotSupportedError):
            taskmon.hidden(path="/dev/null")
        with pytest.raises(taskmon.DeviceNotFoundError) as exc:
            taskmon.hidden(settle=0, path="/nonexistent/taskmonitor")
        assert isinstance(exc.value, FileNotFoundError)


@pytest.mark.parametrize("settle", [-0.001, 3600.5, math.nan, math.inf, -math.inf])
def test_settle_out_of_range_is_checked_first(null_monitor, settle):
    with pytest.raises(taskmon.InvalidArgumentError) as exc:
        null_monitor.hidden(settle=settle)
    e = exc.value
    assert isinstance(e, ValueError) and e.errno == errno.EINVAL
    assert e.operation == "find_hidden"
    assert "settle must be from 0 to 3600 seconds" in str(e)


@pytest.mark.parametrize("settle", [True, "0.2", None])
def test_settle_of_the_wrong_type(null_monitor, settle):
    with pytest.raises(TypeError):
        null_monitor.hidden(settle=settle)


def test_settle_in_range_reaches_the_kernel(null_monitor):
    for settle in (0, 0.0001, 1, 3600):
        with pytest.raises(taskmon.NotSupportedError):
            null_monitor.hidden("/proc", settle)
    with pytest.raises(TypeError):
        null_monitor.hidden(42)


def test_a_proc_that_is_no_procfs_is_an_oserror(null_monitor, tmp_path):
    """The procfs is checked first (its "self" must be this process): a
    taskmon.Error (OSError) with errno, the folder as filename."""
    with pytest.raises(taskmon.Error) as exc:
        null_monitor.hidden(tmp_path, 0)
    e = exc.value
    assert isinstance(e, OSError)
    assert e.errno == errno.ENOENT
    assert e.filename == str(tmp_path)
    assert e.operation == "find_hidden"
    assert str(e).startswith(f"cannot read {tmp_path}/self: ")


def test_closed_monitor():
    m = taskmon.Monitor("/dev/null")
    m.close()
    for call in (m.processes, m.hidden):
        with pytest.raises(ValueError, match="closed monitor"):
            call()


@pytest.mark.parametrize("call", [lambda m: m.processes(), lambda m: m.hidden(settle=0)])
def test_gil_released(null_monitor, call):
    lib.assert_gil_released(lambda: call(null_monitor), expect=taskmon.NotSupportedError)
