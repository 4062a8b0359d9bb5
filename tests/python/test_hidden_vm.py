# SPDX-License-Identifier: GPL-2.0-only
"""taskmon.processes() and taskmon.hidden() against the real module and a
real /proc (in the test VM, as root), with the test-only hiding techniques
of tests/hidden on a real process: an LD_PRELOAD readdir filter in the
scanning process, a tmpfs mounted over /proc/PID, and pidhider.ko
filtering getdents64.  Each is found with exactly its reason and nothing
else; an honest system reports nothing.

A libprocesshider-like filter (by name: it opens /proc/PID/stat inside
readdir()) beside a fork/exit storm finds exactly the hidden process in
every scan, and never fails (issue #26).

Environment: TASKMON_READDIR_FILTER (the preload library; default: the one
of the build tree holding this taskmon), TASKMON_TEST_CHURN (the churn
program, likewise), TASKMON_PIDHIDER_KO (default
$TASKMON_KO_DIR/pidhider/pidhider.ko; the pidhider test skips without it),
TASKMON_VM_HIDDEN_SCANS (the scans of each churn test, default 200).
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import required  # tests/pylib (conftest.py puts it on sys.path)

import taskmon
import taskmon_testlib as lib

pytestmark = pytest.mark.vm

TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
BUILD = pathlib.Path(taskmon.__file__).resolve().parents[3]


def stat_start_ticks(pid):
    raw = pathlib.Path(f"/proc/{pid}/stat").read_text()
    return int(raw[raw.rindex(")") + 2:].split()[19])


@pytest.fixture
def sleeper():
    """A child that sleeps until the test ends."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def readdir_filter():
    preload = os.environ.get("TASKMON_READDIR_FILTER") or str(
        BUILD / "tests/libtaskmon/vm/libtaskmon-test-readdir-filter.so")
    assert os.path.exists(preload), f"no readdir filter at {preload}"
    return preload


@pytest.fixture
def churn():
    """taskmon-test-churn (tests/hidden/churn.c) with one forking parent,
    in its own process group, until the test calls the fixture's value: it
    ends the churn and returns the number of children forked."""
    program = os.environ.get("TASKMON_TEST_CHURN") or str(
        BUILD / "tests/libtaskmon/vm/taskmon-test-churn")
    assert os.path.exists(program), f"no churn program at {program}"
    proc = subprocess.Popen([program, "0", "1"], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)

    def stop():
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, f"the churn ended with status {proc.returncode}"
        return int(out)

    try:
        yield stop
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def named_sleeper(tmp_path):
    """A child that sleeps until the test ends, named taskmon-hideme (it
    execs sleep through a symlink of that name)."""
    link = tmp_path / "taskmon-hideme"
    link.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(link), "600"])
    try:
        comm = pathlib.Path(f"/proc/{proc.pid}/comm")
        deadline = time.monotonic() + 10
        while comm.read_text() != "taskmon-hideme\n" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert comm.read_text() == "taskmon-hideme\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def hidden_scans():
    return int(os.environ.get("TASKMON_VM_HIDDEN_SCANS", "200"))


def only(found, pid, reasons):
    assert [(h.pid, h.reasons) for h in found] == [(pid, reasons)], found
    h = found[0]
    assert isinstance(h, taskmon.HiddenProcess)
    assert h.comm == "sleep"
    assert h.uid == os.getuid()
    assert h.start_time_ns // TICK_NS == stat_start_ticks(pid)
    assert h.detail
    return h


def test_processes_is_the_kernels_list():
    with taskmon.Monitor() as monitor:
        listed = monitor.processes()
    assert os.getpid() in {e.pid for e in taskmon.processes()}
    pids = [e.pid for e in listed]
    assert pids == sorted(set(pids)), "ascending, no pid twice"
    assert pids[0] == 1
    own = next(e for e in listed if e.pid == os.getpid())
    assert isinstance(own, taskmon.ProcessEntry)
    assert own.start_time_ns // TICK_NS == stat_start_ticks(os.getpid())
    assert own.start_time == own.start_time_ns / 1e9
    proc_pids = {int(p) for p in os.listdir("/proc") if p.isdigit()}
    assert os.getpid() in proc_pids and 1 in proc_pids


def test_threads_are_not_processes():
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        pids = {e.pid for e in taskmon.processes()}
        tids = {int(t) for t in os.listdir("/proc/self/task")}
        assert tids - {os.getpid()}, "a second thread exists"
        assert not (tids - {os.getpid()}) & pids
    finally:
        stop.set()
        t.join()


def test_nothing_on_an_honest_system():
    assert taskmon.hidden() == []
    with taskmon.Monitor() as monitor:
        assert monitor.hidden("/proc", settle=0) == []


def test_readdir_filter_in_the_scanning_process_is_readdir(sleeper):
    preload = readdir_filter()
    script = textwrap.dedent("""
        import dataclasses, json, os, taskmon
        print(json.dumps([dataclasses.asdict(h) for h in taskmon.hidden()]))
    """)
    env = lib.child_env()
    env.update(LD_PRELOAD=preload, TASKMON_TEST_HIDE_PIDS=str(sleeper.pid))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    found = [taskmon.HiddenProcess(**{**d, "reasons": tuple(d["reasons"])})
             for d in json.loads(out.stdout)]
    only(found, sleeper.pid, ("readdir",))
    # The same process, without the preload: nothing.
    assert taskmon.hidden() == []


def test_a_name_filter_that_opens_stat_beside_churn_is_readdir_in_every_scan(
        named_sleeper, churn):
    """The filter, preloaded into a Python that calls taskmon.hidden() again
    and again, opens /proc/PID/stat inside readdir(): a process that exits
    between readdir's listing and that open leaves ENOENT in errno although
    readdir() returned an entry.  Every scan finds exactly the hidden
    process, for readdir; none raises ("readdir of /proc: No such file or
    directory" before issue #26 was fixed)."""
    scans = hidden_scans()
    script = textwrap.dedent("""
        import dataclasses, json, sys, taskmon
        for _ in range(int(sys.argv[1])):
            try:
                found = [dataclasses.asdict(h) for h in taskmon.hidden(settle=0.1)]
                print(json.dumps({"found": found}), flush=True)
            except Exception as e:  # every scan is counted, the errors too
                print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
    """)
    env = lib.child_env()
    env.update(LD_PRELOAD=readdir_filter(), TASKMON_TEST_HIDE_COMM="taskmon-hideme")
    out = subprocess.run([sys.executable, "-c", script, str(scans)], capture_output=True,
                         text=True, env=env, timeout=60 + 5 * scans)
    forks = churn()
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(results) == scans, out.stdout
    errors = [r["error"] for r in results if "error" in r]
    wrong = [r["found"] for r in results if "found" in r and
             [(h["pid"], h["comm"], h["reasons"]) for h in r["found"]] !=
             [(named_sleeper.pid, "taskmon-hideme", ["readdir"])]]
    print(f"readdir filter beside churn: {scans - len(errors) - len(wrong)} of {scans} scans "
          f"right, {len(errors)} errors, {forks} children forked")
    assert not errors, f"{len(errors)} of {scans} scans failed, e.g. {errors[:3]}"
    assert not wrong, f"{len(wrong)} of {scans} scans found another set, e.g. {wrong[:3]}"
    assert forks >= scans, "the churn did not churn"
    assert named_sleeper.poll() is None, "the hidden process lived through the scans"


def test_churn_without_a_filter_is_nothing_in_every_scan(churn):
    scans = hidden_scans()
    found = []
    with taskmon.Monitor() as monitor:
        for _ in range(scans):
            result = monitor.hidden(settle=0.1)
            if result:
                found.append(result)
    forks = churn()
    print(f"churn without a filter: {scans - len(found)} of {scans} scans right, "
          f"{forks} children forked")
    assert not found, f"{len(found)} of {scans} scans found something, e.g. {found[:3]}"
    assert forks >= scans, "the churn did not churn"


def test_tmpfs_over_proc_pid_is_open(sleeper):
    target = f"/proc/{sleeper.pid}"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "none", target], check=True)
    try:
        found = taskmon.hidden()
    finally:
        subprocess.run(["umount", "-l", target], check=True)
    h = only(found, sleeper.pid, ("open",))
    assert h.has("open") and not h.has("readdir")
    assert taskmon.hidden() == []


def test_pidhider_is_getdents64(sleeper):
    ko = os.environ.get("TASKMON_PIDHIDER_KO") or os.path.join(
        os.environ.get("TASKMON_KO_DIR", "/nonexistent"), "pidhider", "pidhider.ko")
    required.tool(os.path.exists(ko), f"no pidhider.ko at {ko} (tests/hidden/build-pidhider)")
    subprocess.run(["insmod", ko, f"pid={sleeper.pid}"], check=True)
    try:
        listed = str(sleeper.pid) in os.listdir("/proc")
        found = taskmon.hidden()
    finally:
        subprocess.run(["rmmod", "pidhider"], check=True)
    assert not listed, "pidhider did not hide the pid from os.listdir"
    only(found, sleeper.pid, ("getdents64",))
    assert taskmon.hidden() == []


def test_a_process_that_exits_during_the_settle_is_not_reported():
    """A candidate that is gone at the second look is dropped: the tmpfs
    hides the victim, which is killed during the settle."""
    victim = subprocess.Popen(["sleep", "600"])
    target = f"/proc/{victim.pid}"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "none", target], check=True)
    try:
        killer = threading.Timer(0.3, lambda: (victim.kill(), victim.wait()))
        killer.start()
        began = time.monotonic()
        found = taskmon.hidden(settle=2)
        assert time.monotonic() - began >= 2, "a candidate makes the scan wait the settle"
        killer.join()
    finally:
        victim.kill()
        victim.wait()
        subprocess.run(["umount", "-l", target], check=False)
    assert victim.pid not in [h.pid for h in found]


def test_a_proc_that_is_not_a_procfs():
    with pytest.raises(taskmon.Error) as exc:
        taskmon.hidden(proc="/nonexistent/proc")
    assert isinstance(exc.value, OSError) and exc.value.filename == "/nonexistent/proc"
