# SPDX-License-Identifier: GPL-2.0-only
"""Tests of the Python bindings (bindings/python).

    PYTHONPATH=build/host/bindings/python /usr/bin/python3 -m pytest tests/python

Markers:
  vm    needs the modules loaded (/dev/taskmonitor and /dev/hello) and root.
        Skipped when they are missing, unless TASKMON_IN_VM=1 (set by the test
        VM, tests/vm/run-vm), where a missing device fails the test instead:
        a VM run that skipped them would prove nothing.
  lint  style checks of the Python sources (pyflakes, pycodestyle); CTest runs
        them as python.lint, apart from the functional tests.
"""
import os
import subprocess
import sys

import pytest

try:
    import taskmon
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise pytest.UsageError(
        f"cannot import taskmon ({exc}): build it (cmake --build build/host) and run with "
        "PYTHONPATH=build/host/bindings/python /usr/bin/python3 -m pytest tests/python")

import taskmon_testlib as lib

IN_VM = lib.IN_VM
DEVICES = (taskmon.Monitor.DEFAULT_PATH, taskmon.Hello.DEFAULT_PATH)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "vm: needs taskmonitor.ko and helloioctl.ko loaded, as root (the test VM)")
    config.addinivalue_line("markers", "lint: style checks of the Python sources")


def _devices_problem():
    """Why the in-VM tests cannot run here, or None if they can."""
    missing = [d for d in DEVICES if not os.path.exists(d)]
    if missing:
        return (f"{' and '.join(missing)} missing: the taskmonitor/helloioctl modules are not "
                "loaded (these tests run in the test VM, see tests/run-guest-suites)")
    if os.geteuid() != 0:
        return "needs root (sets the module's target, starts and stops its thread)"
    return None


def pytest_collection_modifyitems(config, items):
    problem = _devices_problem()
    if problem is None or IN_VM:
        return
    skip = pytest.mark.skip(reason=problem)
    for item in items:
        if "vm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _vm_devices_present(request):
    """In the VM (TASKMON_IN_VM=1), an in-VM test without its devices fails."""
    if "vm" in request.keywords and IN_VM:
        problem = _devices_problem()
        if problem is not None:
            pytest.fail(f"TASKMON_IN_VM=1 but {problem}", pytrace=False)


@pytest.fixture(autouse=True)
def _no_test_delay():
    """Every test starts and ends without the extension's test delay."""
    taskmon._ext._set_test_delay(0)
    yield
    taskmon._ext._set_test_delay(0)


@pytest.fixture
def null_monitor():
    """A Monitor on /dev/null: a character device that answers ENOTTY."""
    with taskmon.Monitor("/dev/null") as monitor:
        yield monitor


@pytest.fixture
def monitor():
    """The real /dev/taskmonitor, opened for steering (vm tests only, as root)."""
    with taskmon.Monitor(steer=True) as m:
        yield m


# busy(threads=1): a CPU-bound child process, killed after the test; the
# fixture of every Python suite (tests/pylib/procs.py).
busy = lib.procs.busy


@pytest.fixture
def run_cli():
    """run_cli(*args): python3 -m taskmon ARGS → CompletedProcess (text)."""
    def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "taskmon", *args], capture_output=True,
                              text=True, timeout=timeout, env=lib.child_env())
    return _run


@pytest.fixture
def null_request_fails(null_monitor):
    """null_request_fails(call, request_name): call(null_monitor) fails as on a
    device without that request (NotSupportedError, ENOTTY, a message that starts
    with "REQUEST on /dev/null failed: ", or "... for pid N failed: "); returns the
    error for further checks."""
    import errno  # here: this file is only appended to
    import re

    def _check(call, request_name: str) -> taskmon.NotSupportedError:
        with pytest.raises(taskmon.NotSupportedError) as exc:
            call(null_monitor)
        e = exc.value
        assert e.errno == errno.ENOTTY
        assert e.filename == "/dev/null"
        assert re.match(rf"{request_name} on /dev/null( for pid \d+)? failed: ", str(e)), str(e)
        assert e.operation == request_name
        return e
    return _check
