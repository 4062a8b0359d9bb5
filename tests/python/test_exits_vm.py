# SPDX-License-Identifier: GPL-2.0-only
"""Monitor.exits() against the loaded taskmonitor.ko (marked vm): a record
for each child this test runs, with the status, ids, name and times its
parent's wait4() sees; lost records of a tiny ring; iteration, fileno()
with selectors, read() with a timeout, close() from another thread."""
import os
import selectors
import signal
import threading
import time

import pytest

import taskmon

pytestmark = pytest.mark.vm


@pytest.fixture
def monitor():
    with taskmon.Monitor() as m:  # read-only: subscribing is reading
        yield m


def _child(name, code=0, sig=None, burn=0.0):
    """Fork a child named *name* that burns *burn* s of CPU, then exits
    with *code* (or kills itself with *sig*); its pid, status and rusage."""
    pid = os.fork()
    if pid == 0:
        try:
            with open("/proc/self/comm", "w") as comm:
                comm.write(name)
            end = time.process_time() + burn
            while time.process_time() < end:
                pass
            if sig is not None:
                signal.signal(sig, signal.SIG_DFL)
                os.kill(os.getpid(), sig)
        finally:
            os._exit(code)
    _, status, rusage = os.wait4(pid, 0)
    return pid, status, rusage


def _collect(exits, pids, timeout=10.0):
    """Records of *pids* from *exits*, waiting up to *timeout* seconds."""
    got = {}
    deadline = time.monotonic() + timeout
    while len(got) < len(pids) and time.monotonic() < deadline:
        try:
            record = exits.read(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            break
        if record.pid in pids:
            got[record.pid] = record
    return got


def test_a_childs_record_has_its_status_ids_name_and_times(monitor):
    with monitor.exits() as exits:
        assert isinstance(exits, taskmon.Exits) and exits.ring == 0
        before = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        done, done_status, done_usage = _child("tm-py-exit", code=9, burn=0.03)
        killed, killed_status, _ = _child("tm-py-kill", sig=signal.SIGTERM)
        after = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        got = _collect(exits, {done, killed})
    assert set(got) == {done, killed}
    r = got[done]
    assert isinstance(r, taskmon.ExitRecord)
    assert r.status == done_status and r.exited and r.exit_code == 9 and not r.signaled
    assert r.comm == "tm-py-exit" and r.ppid == os.getpid() and r.uid == os.getuid()
    assert before <= r.start_time_ns < r.exit_time_ns <= after
    assert r.lifetime_ns == r.exit_time_ns - r.start_time_ns
    tick = 10_000_000
    # The total: the record has the final figures (completed after the
    # child's last switch), wait4()'s the same unless the parent reaped the
    # zombie just before that switch (then a moment less).
    later = round((done_usage.ru_utime + done_usage.ru_stime) * 1e9) - (
        r.total_ns + r.children_user_ns + r.children_system_ns)
    assert -tick <= later <= tick
    assert r.max_rss_bytes == done_usage.ru_maxrss * 1024
    assert r.minor_faults == done_usage.ru_minflt
    k = got[killed]
    assert k.status == killed_status and k.signaled and k.term_signal == signal.SIGTERM
    assert not k.exited and k.comm == "tm-py-kill"
    assert r.seq < k.seq and exits.lost == 0


def test_a_tiny_ring_loses_the_oldest_and_says_how_many(monitor):
    with monitor.exits(ring=4) as exits:
        for _ in range(20):
            _child("tm-py-lost")
        time.sleep(1)  # a record is completed a jiffy or so after the exit
        records = []
        while (record := exits.try_next()) is not None:
            records.append(record)
    assert len(records) == 4
    assert records[0].lost >= 16 and records[0].seq == records[0].lost
    assert [r.seq for r in records] == list(range(records[0].seq, records[0].seq + 4))
    assert exits.lost == records[0].lost


def test_iteration_and_selectors(monitor):
    with monitor.exits() as exits, selectors.DefaultSelector() as sel:
        while exits.try_next() is not None:
            pass
        sel.register(exits, selectors.EVENT_READ)
        assert sel.select(timeout=0) == []
        pid, _, _ = _child("tm-py-sel", code=4)
        assert sel.select(timeout=10), "fileno() is readable once a process exited"
        for record in exits:
            if record.pid == pid:
                assert record.exit_code == 4
                break


def test_read_times_out_and_close_wakes_a_reader(monitor):
    exits = monitor.exits()
    while exits.try_next() is not None:
        pass
    errors = []

    def reader():
        try:
            while True:
                exits.read()
        except ValueError as e:
            errors.append(e)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.3)
    exits.close()
    thread.join(10)
    assert not thread.is_alive() and errors, "close() wakes a reader, which raises ValueError"
    assert exits.closed
    with pytest.raises(ValueError):
        exits.fileno()


def test_read_with_a_timeout_raises_timeout_error():
    with taskmon.Exits(ring=1) as exits:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            # The VM is quiet; a process exiting meanwhile just ends the wait early.
            while time.monotonic() - start < 5:
                exits.read(timeout=0.2)
