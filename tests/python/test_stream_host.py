# SPDX-License-Identifier: GPL-2.0-only
"""Monitor.stream() and taskmon.Record without the module: the records'
fields and properties, the argument checks made in Python, the errors of a
device that is not a taskmonitor, and the README's asyncio example as
text (test_stream_vm.py runs it)."""
import dataclasses
import errno
import os
import pathlib
import re

import pytest

import taskmon

README = pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python" / "README.md"


def _record(**kw):
    fields = dict(pid=42, seq=3, timestamp_ns=5_000_000_000, user_ns=1_500_000_000,
                  system_ns=250_000_000)
    fields.update(kw)
    return taskmon.Record(**fields)


def test_a_record_is_frozen_and_hashable():
    r = _record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.pid = 1
    assert hash(r) == hash(_record())
    assert r == _record()


def test_record_properties():
    r = _record(lost=2)
    assert (r.user, r.system, r.timestamp) == (1.5, 0.25, 5.0)
    assert r.total_ns == 1_750_000_000 and r.total == 1.75
    assert r.sample == taskmon.Sample(1_500_000_000, 250_000_000)
    assert not r.exited and not r.reaped and r.lost == 2
    assert _record(flags=taskmon.Record.EXIT).exited
    gone = _record(flags=taskmon.Record.EXIT | taskmon.Record.REAPED)
    assert gone.exited and gone.reaped and not gone.gap
    assert _record(flags=taskmon.Record.GAP).gap
    assert "pid=42" in repr(r)


@pytest.mark.parametrize("pids, why", [
    ([], "no pid"),
    ([-1], "not -1"),
    ([2 ** 31], "not 2147483648"),
    (list(range(1, 1026)), "1025 pids"),
])
def test_pids_are_checked_in_python(pids, why):
    with pytest.raises(taskmon.InvalidArgumentError) as info:
        taskmon.Stream("/dev/zero", pids)
    assert info.value.errno == errno.EINVAL
    assert why in str(info.value) and "checked in Python" in str(info.value)
    assert info.value.operation == "stream"


@pytest.mark.parametrize("period", [0, 0.009, 3601, float("nan"), float("inf"), -1])
def test_the_period_is_checked_in_python(period):
    with pytest.raises(taskmon.InvalidArgumentError, match="0.01 to 3600 seconds"):
        taskmon.Stream("/dev/zero", [1], period)


@pytest.mark.parametrize("ring", [-1, 65537])
def test_the_ring_is_checked_in_python(ring):
    with pytest.raises(taskmon.InvalidArgumentError, match="ring"):
        taskmon.Stream("/dev/zero", [1], ring=ring)


def test_bools_are_not_pids_nor_periods():
    with pytest.raises(TypeError):
        taskmon.Stream("/dev/zero", True)
    with pytest.raises(TypeError):
        taskmon.Stream("/dev/zero", [True])
    with pytest.raises(TypeError):
        taskmon.Stream("/dev/zero", [1], period=True)


def test_a_device_without_streams_is_not_supported():
    # /dev/zero is a character device that answers ENOTTY to every ioctl,
    # as a module older than TM_SUBSCRIBE would.
    with pytest.raises(taskmon.NotSupportedError) as info:
        with taskmon.Monitor("/dev/zero") as monitor:
            monitor.stream(os.getpid())
    assert info.value.errno == errno.ENOTTY
    assert info.value.operation == "TM_SUBSCRIBE"
    assert "TM_SUBSCRIBE" in str(info.value)


def test_a_missing_device_is_device_not_found(tmp_path):
    with pytest.raises(taskmon.DeviceNotFoundError):
        taskmon.Stream(tmp_path / "taskmonitor", None)


def test_a_closed_monitor_makes_no_stream():
    monitor = taskmon.Monitor("/dev/zero")
    monitor.close()
    with pytest.raises(ValueError, match="closed monitor"):
        monitor.stream()


def test_the_readme_has_the_asyncio_example():
    text = README.read_text()
    match = re.search(r"<!-- asyncio-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "bindings/python/README.md lost its asyncio example"
    code = match.group(1)
    assert "add_reader(stream.fileno()" in code and "try_next()" in code
    compile(code, str(README), "exec")
