# SPDX-License-Identifier: GPL-2.0-only
"""One Monitor shared by many threads, and close() racing with their calls."""
import os
import threading
import time

import pytest

import taskmon
import taskmon_testlib as lib

THREADS = 8


def _run_threads(target, count=THREADS):
    errors = []

    def wrapped(index):
        try:
            target(index)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a thread hung"
    assert not errors, errors


def test_concurrent_calls_then_close_race_without_harm():
    """Threads hammer one monitor while the main thread closes it: a call
    that began after close() returned sees ValueError; nothing else breaks."""
    monitor = taskmon.Monitor("/dev/null")
    closed = threading.Event()
    outcomes = [[] for _ in range(THREADS)]

    def hammer(index):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            was_closed = closed.is_set()
            try:
                monitor.sample()
                outcomes[index].append((was_closed, "ok"))
            except taskmon.NotSupportedError:
                outcomes[index].append((was_closed, "ENOTTY"))
            except ValueError:
                outcomes[index].append((was_closed, "closed"))
                if was_closed:
                    return

    threads = threading.Thread(target=_run_threads, args=(hammer,))
    threads.start()
    time.sleep(0.2)
    monitor.close()
    closed.set()
    # Reuse descriptor numbers at once: a racing ioctl would now hit these.
    reused = [os.open("/proc/self/stat", os.O_RDONLY) for _ in range(4)]
    threads.join(60)
    for fd in reused:
        os.close(fd)
    flat = [o for per_thread in outcomes for o in per_thread]
    assert any(result == "ENOTTY" for _, result in flat), "no call ran before close()"
    assert all(result == "closed" for was_closed, result in flat if was_closed)
    assert all(per_thread and per_thread[-1] == (True, "closed") for per_thread in outcomes)
    assert not any(result == "ok" for _, result in flat)


def test_close_waits_for_the_calls_in_flight():
    """close() waits until the calls in flight have made their ioctl on the
    descriptor they started with.  The test delay holds each call inside the
    device's shared lock, just before its ioctl: close() must wait for them,
    and they must end with /dev/null's ENOTTY, not with EBADF (or worse, an
    ioctl on a reused descriptor number) as they would if close() did not
    wait."""
    monitor = taskmon.Monitor("/dev/null")
    taskmon._ext._set_test_delay(1.0)
    results = []
    calling = [threading.Event() for _ in range(4)]

    def call(index):
        calling[index].set()
        try:
            monitor.sample()
            results.append("ok")
        except taskmon.NotSupportedError:
            results.append("ENOTTY")
        except Exception as exc:
            results.append(repr(exc))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for event in calling:
        assert event.wait(30)
    time.sleep(0.3)  # from there to the pause inside the lock takes microseconds
    taskmon._ext._set_test_delay(0)
    start = time.monotonic()
    monitor.close()
    waited = time.monotonic() - start
    for t in threads:
        t.join(10)
    assert results == ["ENOTTY"] * 4
    assert waited >= 0.1, f"close() returned after {waited:.3f} s, before the calls in flight"


def test_many_monitors_from_many_threads():
    def open_use_close(index):
        for _ in range(200):
            with taskmon.Monitor("/dev/null") as m:
                with pytest.raises(taskmon.NotSupportedError):
                    m.target()
    _run_threads(open_use_close)


@pytest.mark.vm
def test_threads_share_one_monitor(busy):
    """Samplers in several threads on one Monitor, while another thread
    starts and stops the module's thread: every call succeeds and each
    thread sees the busy target's CPU time never go back."""
    proc = busy()
    with taskmon.Monitor(steer=True) as monitor:
        monitor.set_target(proc.pid)
        was_running = bool(lib.monitor_kthreads())
        stop = threading.Event()
        counts = [0] * THREADS

        def sampler(index):
            previous = monitor.sample()
            while not stop.is_set():
                assert monitor.target() == proc.pid
                current = monitor.sample()
                assert current.user_ns >= previous.user_ns
                assert current.system_ns >= previous.system_ns
                line = monitor.sample_text()
                assert line.startswith(f"pid {proc.pid} usr ")
                previous = current
                counts[index] += 1

        def toggler(index):
            while not stop.is_set():
                monitor.start()
                monitor.stop()

        def body(index):
            (toggler if index == 0 else sampler)(index)

        timer = threading.Timer(2.0, stop.set)
        timer.start()
        try:
            _run_threads(body)
        finally:
            stop.set()
            timer.cancel()
            (monitor.start if was_running else monitor.stop)()
        assert all(counts[1:]), f"a sampler made no call: {counts}"
        final = monitor.sample()
        assert final.total > 0


@pytest.mark.vm
def test_threads_switching_the_target(busy):
    """Threads set different targets concurrently: each set succeeds and the
    final target is one of them."""
    procs = [busy() for _ in range(4)]
    with taskmon.Monitor(steer=True) as monitor:
        def switcher(index):
            for _ in range(200):
                monitor.set_target(procs[index % len(procs)].pid)
                monitor.sample()
        _run_threads(switcher)
        assert monitor.target() in {p.pid for p in procs}
