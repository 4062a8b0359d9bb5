# SPDX-License-Identifier: GPL-2.0-only
"""Monitor.stream() against the loaded taskmonitor.ko (marked vm): records
of busy processes at the asked period, exit records and the end of the
iteration, several pids, the target by default, lost records, the GIL
released while a reader waits, close() from another thread, selectors and
the README's asyncio example (run as written)."""
import errno
import os
import pathlib
import re
import selectors
import statistics
import subprocess
import sys
import threading
import time

import pytest

import taskmon
import taskmon_testlib as lib

pytestmark = pytest.mark.vm

README = pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python" / "README.md"


@pytest.fixture
def monitor():
    with taskmon.Monitor() as m:  # read-only: subscribing is reading
        yield m


def test_records_at_the_period_until_the_exit(monitor, busy):
    proc = busy()
    period = 0.05
    with monitor.stream([proc.pid], period=period) as stream:
        assert stream.pids == [proc.pid] and stream.period == period
        records = [stream.read(timeout=30) for _ in range(10)]
        lib.kill(proc)
        rest = list(stream)
    assert stream.closed and stream.ended, "the iteration ends with the exit record, and closes"
    assert [r.seq for r in records] == list(range(10))
    assert all(r.pid == proc.pid and not r.exited and r.lost == 0 for r in records)
    totals = [r.total_ns for r in records]
    assert totals == sorted(totals) and totals[-1] > totals[0], "a busy process's CPU time grows"
    gaps = [(b.timestamp_ns - a.timestamp_ns) / 1e9 for a, b in zip(records, records[1:])]
    # Reported, not asserted as a bound beyond a generous ceiling (TCG).
    print(f"period {period}: mean gap {statistics.mean(gaps):.4f} s, max {max(gaps):.4f} s")
    assert statistics.mean(gaps) < period * 4
    assert rest and rest[-1].exited and all(not r.exited for r in rest[:-1])
    assert rest[-1].total_ns >= totals[-1]
    boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    assert 0 < records[0].timestamp_ns <= boot


def test_several_pids_each_ends_with_its_exit_record(monitor, busy):
    a, b = busy(), busy()
    seen = {a.pid: [], b.pid: []}
    with monitor.stream([a.pid, b.pid], period=0.02) as stream:
        for record in stream:
            seen[record.pid].append(record)
            if len(seen[a.pid]) == 3 and a.returncode is None:
                lib.kill(a)
            if seen[a.pid] and seen[a.pid][-1].exited and b.returncode is None:
                lib.kill(b)
    for pid, records in seen.items():
        assert records[-1].exited, pid
        assert sum(r.exited for r in records) == 1
    seqs = [r.seq for rs in seen.values() for r in rs]
    assert sorted(seqs) == list(range(len(seqs))), "one numbering per stream"


def test_none_is_the_target_as_it_was(busy):
    proc, other = busy(), busy()
    with taskmon.Monitor(steer=True) as steer:
        steer.set_target(proc.pid)
        with steer.stream(period=0.02) as stream:
            steer.set_target(other.pid)  # later changes of target: not followed
            assert stream.pids == [0]
            assert {stream.read(timeout=30).pid for _ in range(3)} == {proc.pid}


def test_a_missing_pid_is_no_such_process(monitor):
    pid = lib.unused_pid()
    with pytest.raises(taskmon.NoSuchProcessError) as info:
        monitor.stream([os.getpid(), pid])
    assert info.value.pid == pid and str(pid) in str(info.value)


LIMIT = pathlib.Path("/sys/module/taskmonitor/parameters/max_user_subscriptions")


def test_the_per_user_limit_says_which_parameter_to_raise(monitor):
    """Past max_user_subscriptions the module answers EDQUOT; the message
    names the parameter to raise (root is counted like any user)."""
    old = LIMIT.read_text()
    LIMIT.write_text("1\n")
    try:
        with monitor.stream([os.getpid()]):
            with pytest.raises(taskmon.Error) as info:
                monitor.stream([os.getpid()])
    finally:
        LIMIT.write_text(old)
    assert info.value.errno == errno.EDQUOT
    assert info.value.operation == "TM_SUBSCRIBE"
    assert "max_user_subscriptions" in str(info.value), str(info.value)


def test_a_process_named_twice_is_invalid(monitor):
    with pytest.raises(taskmon.InvalidArgumentError) as info:
        monitor.stream([os.getpid(), os.getpid()])
    assert "named once" in str(info.value), str(info.value)


def test_a_slow_reader_loses_the_oldest_and_is_told(monitor, busy):
    proc = busy()
    # 0.5 s is about 50 records for a ring of 4 on a quiet host; a loaded
    # emulated one may sample far fewer (late ticks skip periods), so wait
    # longer, up to 8 s, until the ring has overflowed.
    pause = 0.5
    while True:
        stream = monitor.stream(proc.pid, period=0.01, ring=4)
        time.sleep(pause)
        records = [stream.try_next() for _ in range(4)]
        if (records[0] and records[0].lost > 0) or pause >= 8:
            break
        stream.close()
        pause *= 2
    with stream:
        assert all(records)
        assert records[0].lost > 0
        assert records[0].seq == records[0].lost, "the first record numbers the lost ones"
        # Exact accounting, whatever the sampler does meanwhile: each gap
        # in the numbers is the next record's lost.
        for a, b in zip(records, records[1:]):
            assert b.seq - a.seq - 1 == b.lost
        assert stream.lost == sum(r.lost for r in records)


def test_try_next_does_not_wait(monitor, busy):
    proc = busy()
    with monitor.stream(proc.pid, period=2) as stream:
        assert stream.read(timeout=30).seq == 0  # the first sample comes at once
        start = time.monotonic()
        assert stream.try_next() is None and not stream.ended
        assert time.monotonic() - start < 0.5
        with pytest.raises(TimeoutError):
            stream.read(timeout=0.05)


def test_the_gil_is_released_while_a_reader_waits(monitor, busy):
    proc = busy()
    with monitor.stream(proc.pid, period=0.5) as stream:
        stream.read(timeout=30)  # the first is at once; the second is a period away
        ran_inside, duration, raised = lib.python_ran_during(lambda: stream.read(timeout=30))
    assert raised is None
    assert duration > 0.1, "the read did not wait"
    assert ran_inside > 0, f"no other Python thread ran during a {duration:.3f} s wait"


def test_close_from_another_thread_wakes_the_reader(monitor, busy):
    proc = busy()
    stream = monitor.stream(proc.pid, period=3600)
    stream.read(timeout=30)
    outcome = []

    def reader():
        try:
            stream.read()
            outcome.append("returned")
        except ValueError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive(), "the reader did not wait"
    stream.close()
    thread.join(10)
    assert not thread.is_alive(), "close() did not wake the reader"
    assert isinstance(outcome[0], ValueError) and "closed stream" in str(outcome[0])
    with pytest.raises(ValueError):
        stream.fileno()


def test_selectors_see_records_and_the_end(monitor):
    child = subprocess.Popen(["sleep", "0.3"])
    records = []
    with monitor.stream(child.pid, period=0.02) as stream, selectors.DefaultSelector() as sel:
        sel.register(stream.fileno(), selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while not stream.ended and time.monotonic() < deadline:
            assert sel.select(timeout=30), "no readiness within 30 s"
            while (r := stream.try_next()) is not None:
                records.append(r)
        sel.unregister(stream.fileno())
    child.wait()
    assert stream.ended and records and records[-1].exited
    assert not records[-1].reaped, "a zombie's exit is seen with its final times"


def test_the_readme_asyncio_example_runs():
    code = re.search(r"<!-- asyncio-example -->\n```python\n(.*?)```",
                     README.read_text(), re.S).group(1)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=lib.child_env())
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) >= 2, out.stdout
    assert lines[-1].endswith("exited") and all(not line.endswith("exited") for line in lines[:-1])
    assert len({line.split()[0] for line in lines}) == 1
