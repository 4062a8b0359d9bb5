# SPDX-License-Identifier: GPL-2.0-only
"""taskmon.Process's shared device, without a kernel module.

Every Process shares one read-only descriptor per device path, kept open
(bindings/python/src/shared.hpp).  /dev/null stands for the device: it
answers TM_STATS with ENOTTY (NotSupportedError), after the open that these
tests count.
"""
import os
import threading
import time

import pytest

import taskmon
import taskmon_testlib as lib

NULL = "/dev/null"


def null_fds():
    """The descriptors of this process open on /dev/null."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == NULL:
                found.add(int(fd))
        except FileNotFoundError:  # the descriptor listdir itself used
            pass
    return found


def read_null():
    with pytest.raises(taskmon.NotSupportedError):
        taskmon.Process(1, path=NULL)


@pytest.fixture(autouse=True)
def _closed():
    taskmon.close_shared_devices()
    yield
    taskmon.close_shared_devices()


def test_one_descriptor_kept_and_shared_until_closed():
    before = null_fds()
    read_null()
    kept = null_fds() - before
    assert len(kept) == 1, "the first call opens one descriptor and keeps it"
    for _ in range(20):
        read_null()
    assert null_fds() - before == kept, "later calls reuse it"
    taskmon.close_shared_devices()
    assert null_fds() == before
    taskmon.close_shared_devices()  # idempotent
    read_null()  # reopens
    assert len(null_fds() - before) == 1


def test_a_missing_device_is_not_kept(tmp_path):
    with pytest.raises(taskmon.DeviceNotFoundError):
        taskmon.Process(1, path=tmp_path / "missing")
    with pytest.raises(taskmon.DeviceNotFoundError):
        taskmon.Process(1, path=tmp_path / "missing")


def _fork_and_check(child_body):
    """Runs child_body() in a forked child; its exit status must be 0 within 20 s."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            taskmon._ext._set_test_delay(0)
            status = child_body()
        finally:
            os._exit(status)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung (a lock inherited from the parent?)")


def test_a_forked_child_opens_its_own_descriptor():
    read_null()
    parent_fds = null_fds()

    def child():
        inherited = parent_fds - null_fds()
        if len(inherited) != 1:
            return 2  # the shared descriptor was not closed in the child
        try:
            taskmon.Process(1, path=NULL)
        except taskmon.NotSupportedError:
            pass
        if len(null_fds() - (parent_fds - inherited)) != 1:
            return 3  # not reopened
        taskmon.close_shared_devices()
        return 0

    _fork_and_check(child)
    assert null_fds() == parent_fds, "the parent keeps its descriptor"


def test_fork_during_a_call_in_another_thread_does_not_hang_the_child():
    # The thread holds the registry's lock while the fork happens; the
    # child, where that thread does not exist, must not wait for it.
    read_null()
    taskmon._ext._set_test_delay(1.0)
    thread = threading.Thread(target=lambda: pytest.raises(taskmon.NotSupportedError,
                                                           taskmon.Process, 1, path=NULL))
    thread.start()
    try:
        time.sleep(0.3)

        def child():
            taskmon.close_shared_devices()
            try:
                taskmon.Process(1, path=NULL)
            except taskmon.NotSupportedError:
                return 0
            return 4

        _fork_and_check(child)
    finally:
        thread.join()
        taskmon._ext._set_test_delay(0)


def test_threads_racing_close():
    errors = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                taskmon.Process(1, path=NULL)
            except taskmon.NotSupportedError:
                pass
            except Exception as e:  # anything else is a bug
                errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(200):
        taskmon.close_shared_devices()
    stop.set()
    for t in threads:
        t.join()
    assert errors == []


def test_process_releases_the_gil():
    read_null()
    lib.assert_gil_released(lambda: taskmon.Process(1, path=NULL),
                            expect=taskmon.NotSupportedError)


def test_process_is_slotted():
    with pytest.raises(AttributeError):
        taskmon.Process.__new__(taskmon.Process).anything = 1
