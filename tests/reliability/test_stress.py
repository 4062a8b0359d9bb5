"""Stress: every request of every interface at once, with invariants checked beside.

Worker processes (worker.py stress), each with several threads, pick
requests at random for a bounded time: start/stop over sysfs and ioctl,
target switches (TM_PID), samples (TM_GET, TM_GET_TEXT, sysfs reads),
/sys/kernel/hello writes and reads, HELLO.  Meanwhile the test process
checks that there is never more than one live monitor kthread, that no
call stays in the kernel past the deadline, and reads the kernel log so
that the start/halt lines can be counted.  Once quiet, the state must be
consistent across every interface.
"""
import json
import os
import re
import subprocess
import time

import harness
from harness import tmdev
from worker import OPS, STRESS_OPS

SECONDS = float(os.environ.get("TASKMON_STRESS_SECONDS", "30"))
PROCESSES = int(os.environ.get("TASKMON_STRESS_PROCESSES", "4"))
THREADS = int(os.environ.get("TASKMON_STRESS_THREADS", "3"))
NAMES = ["dude", "x", "a" * 64, "stress-test", "Zürich", "tab\there"]


def test_every_request_at_once(load, busy, kmsg, figures, seed, tmp_path):
    # Targets: one that burns CPU (its samples move), two that sleep.
    pool = [busy()] + [subprocess.Popen(["sleep", "600"]) for _ in range(2)]
    try:
        _stress(load, kmsg, figures, seed, [p.pid for p in pool])
    finally:
        for proc in pool:
            harness.procs.kill(proc)


def _stress(load, kmsg, figures, seed, pool):
    dead = harness.procs.unused_pid()
    load("hellosysfs")
    load("helloioctl")
    load("taskmonitor", f"target={pool[0]}")

    slots = harness.Slots(f"/dev/shm/taskmon-stress-{os.getpid()}", PROCESSES * THREADS)
    workers = [harness.spawn_worker("stress", _config(slots, i, seed, pool, dead))
               for i in range(PROCESSES)]
    started = time.monotonic()
    with harness.Watcher(slots, OPS, kmsg) as watch:
        reports = [harness.collect(w, SECONDS + 2 * harness.DEADLINE + 60) for w in workers]
    elapsed = time.monotonic() - started
    os.unlink(slots.path)

    total = 0
    for report in reports:
        for op, outcomes in report["counts"].items():
            for outcome, count in outcomes.items():
                figures.add("stress", f"{op}: {outcome}", count)
                total += count
    problems = [p for r in reports for p in r["problems"]]
    problem_count = sum(r["problem_count"] for r in reports)
    figures.add("stress", "operations", total)
    figures.add("stress", "worker processes x threads", PROCESSES * THREADS)
    figures.add("stress", "seconds", round(elapsed))
    figures.add("stress", "invariant checks (kthreads, deadlines)", watch.checks)
    figures.add("stress", "failures", problem_count + len(watch.violations))
    print(f"stress: {total} operations in {elapsed:.0f} s from {PROCESSES} processes x "
          f"{THREADS} threads, {watch.checks} invariant checks, "
          f"{problem_count + len(watch.violations)} failures")

    assert watch.violations == []
    assert problems == [], f"{problem_count} problems, the first ones: {problems}"
    assert all(set(r["counts"]) <= set(STRESS_OPS) for r in reports)
    assert total > 100 * PROCESSES, "the workers hardly ran"
    _check_quiescent_state(kmsg, pool)


def _config(slots, index, seed, pool, dead):
    return json.dumps({"slots": slots.path, "first_slot": index * THREADS, "threads": THREADS,
                       "seconds": SECONDS, "seed": f"{seed}:stress:{index}", "pool": pool,
                       "dead_pid": dead, "names": NAMES})


def _check_quiescent_state(kmsg, pool):
    """Every interface tells the same story once the callers are gone."""
    assert kmsg.lost == 0, "the kernel log overflowed: the start/halt counts would be wrong"
    starts = len(kmsg.matching(r"taskmonitor: starting monitor thread$"))
    halts = len(kmsg.matching(r"taskmonitor: halting monitor thread$"))
    running = harness.live_monitor_kthreads()
    assert len(running) in (0, 1)
    assert starts - halts == len(running), (starts, halts, running)

    with tmdev.Device() as dev:
        target = dev.pid(-1)
        assert target in pool
        assert tmdev.parse_line(dev.get_text())[0] == target
        assert tmdev.parse_line(tmdev.sysfs_read())[0] == target
        dev.get()
        if running:
            kmsg.wait_for(rf"taskmonitor: pid {target} usr \d+ sys \d+$", timeout=harness.DEADLINE)
        dev.stop()
        assert harness.live_monitor_kthreads() == []
        dev.start()
        assert len(harness.live_monitor_kthreads()) == 1

    hello = harness.HELLO_SYSFS.read_bytes()
    assert re.fullmatch(rb"Hello (.*)!\n", hello, re.S), hello
    assert hello[6:-2].decode() in NAMES + ["sysfs"]
    harness.HELLO_SYSFS.write_bytes(b"after\n")
    assert harness.HELLO_SYSFS.read_bytes() == b"Hello after!\n"
