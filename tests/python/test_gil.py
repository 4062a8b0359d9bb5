# SPDX-License-Identifier: GPL-2.0-only
"""The GIL is released during every call into the kernel.

A real ioctl takes microseconds, too short to see another thread run during
it.  Two honest ways around that:

1. taskmon._ext._set_test_delay(S) makes every call pause S seconds at the
   point where it makes its system call: after releasing the GIL and taking
   the device's lock, right before the ioctl (or close).  If another Python
   thread runs while the calling thread is inside that pause, the GIL was
   released around the system call.  If the GIL were held, no Python code of
   any thread could run during the pause (a thread inside a C function never
   gives the GIL up on its own), so these tests would fail.  The controls
   below show that the measurement tells the two cases apart, with a C
   function that sleeps holding the GIL (ctypes.PyDLL) and one that releases
   it (ctypes.CDLL).
2. No test hook: opening a FIFO blocks in open(2) until a writer comes; a
   Python thread of the same process is the writer.  If the constructor held
   the GIL while blocked, that thread could never run and the process would
   hang: the child process is then killed and the test fails.
"""
import ctypes
import os
import subprocess
import sys
import textwrap

import pytest

import taskmon
import taskmon_testlib as lib

DELAY = 0.3

MONITOR_CALLS = {
    "sample": lambda m: m.sample(),
    "sample_text": lambda m: m.sample_text(),
    "start": lambda m: m.start(),
    "stop": lambda m: m.stop(),
    "target (read)": lambda m: m.target(),
    "target (set)": lambda m: m.set_target(os.getpid()),
    "fileno": lambda m: m.fileno(),
    "close": lambda m: m.close(),
}


def _check_released(call, expect_error=None):
    lib.assert_gil_released(call, expect=expect_error, delay=DELAY)


# ---- controls: the measurement itself ------------------------------------------

def test_control_a_c_call_holding_the_gil_lets_no_thread_run():
    usleep = ctypes.PyDLL(None).usleep  # PyDLL: called with the GIL held
    # On a loaded machine the other thread may take the GIL between the
    # start stamp and the call, and the OS may then stall it past the
    # margin: stamps "inside" that came before the call.  A call holding
    # the GIL shows none in at least one of three tries; a call that
    # releases it shows some in all of them.
    counts = []
    for _ in range(3):
        ran_inside, duration, raised = lib.python_ran_during(lambda: usleep(int(DELAY * 1e6)))
        assert raised is None and duration >= DELAY
        counts.append(ran_inside)
        if ran_inside == 0:
            break
    assert min(counts) == 0, counts


def test_control_a_c_call_releasing_the_gil_lets_threads_run():
    usleep = ctypes.CDLL(None).usleep  # CDLL: the GIL is released
    ran_inside, duration, raised = lib.python_ran_during(lambda: usleep(int(DELAY * 1e6)))
    assert raised is None and duration >= DELAY
    assert ran_inside > 0


# ---- every call, without a kernel module (/dev/null answers ENOTTY) -----------

@pytest.mark.parametrize("name", MONITOR_CALLS)
def test_monitor_calls_release_the_gil(name):
    monitor = taskmon.Monitor("/dev/null")
    error = None if name in ("fileno", "close") else taskmon.NotSupportedError
    _check_released(lambda: MONITOR_CALLS[name](monitor), error)
    monitor.close()


def test_hello_message_releases_the_gil():
    with taskmon.Hello("/dev/null") as hello:
        _check_released(hello.message, taskmon.NotSupportedError)


def test_close_waits_for_calls_in_flight_without_the_gil():
    """close() blocks until a call in another thread returns; meanwhile a
    third thread (the measuring one) still runs Python."""
    import threading
    monitor = taskmon.Monitor("/dev/null")
    taskmon._ext._set_test_delay(DELAY)
    started = threading.Event()

    def in_flight():
        started.set()
        try:
            monitor.sample()
        except (taskmon.NotSupportedError, ValueError):
            pass
    worker = threading.Thread(target=in_flight)
    worker.start()
    started.wait()
    ran_inside, duration, raised = lib.python_ran_during(monitor.close)
    worker.join()
    taskmon._ext._set_test_delay(0)
    assert raised is None
    assert monitor.closed
    assert ran_inside > 0


# ---- no test hook: a constructor blocked in open(2) ------------------------------

_FIFO_CHILD = textwrap.dedent("""
    import os, sys, threading, time
    import taskmon
    fifo, kind = sys.argv[1], sys.argv[2]
    ticks = []

    def writer():
        # Runs only if the main thread released the GIL inside open(2).
        for _ in range(20):
            ticks.append(time.monotonic())
            time.sleep(0.01)
        fd = os.open(fifo, os.O_WRONLY)  # unblocks the reader's open
        os.close(fd)

    threading.Thread(target=writer, daemon=True).start()
    time.sleep(0.05)  # let the writer start: it is now sleeping, the GIL is free
    cls = taskmon.Monitor if kind == "monitor" else taskmon.Hello
    start = time.monotonic()
    try:
        cls(fifo)
        print("opened")
    except taskmon.NotSupportedError as e:  # a FIFO is no character device
        print("ENOTTY" if "not a character device" in str(e) else repr(e))
    print(sum(1 for t in ticks if t > start))
""")


@pytest.mark.parametrize("kind", ["monitor", "hello"])
def test_open_blocked_in_the_kernel_releases_the_gil(tmp_path, kind):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    try:
        out = subprocess.run([sys.executable, "-c", _FIFO_CHILD, str(fifo), kind],
                             capture_output=True, text=True, timeout=20, env=lib.child_env())
    except subprocess.TimeoutExpired:
        pytest.fail("taskmon.%s(FIFO) hung: open(2) blocked while holding the GIL, so the "
                    "thread that would open the FIFO's other end never ran" % kind.title())
    assert out.returncode == 0, out.stderr
    verdict, ticks = out.stdout.split()
    assert verdict == "ENOTTY"
    assert int(ticks) > 0, "the writer thread made no progress while open(2) was blocked"


# ---- the same against the real module (in the VM) --------------------------------

@pytest.mark.vm
@pytest.mark.parametrize("name", MONITOR_CALLS)
def test_monitor_calls_on_the_real_device_release_the_gil(name, busy):
    proc = busy()
    with taskmon.Monitor(steer=True) as monitor:
        monitor.set_target(proc.pid)
        was_running = bool(lib.monitor_kthreads())
        if name == "target (set)":
            call = (lambda m: m.set_target(proc.pid))
        else:
            call = MONITOR_CALLS[name]
        try:
            _check_released(lambda: call(monitor))
        finally:
            if not monitor.closed:
                (monitor.start if was_running else monitor.stop)()


@pytest.mark.vm
def test_hello_on_the_real_device_releases_the_gil():
    with taskmon.Hello() as hello:
        _check_released(hello.message)
