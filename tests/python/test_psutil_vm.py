# SPDX-License-Identifier: GPL-2.0-only
"""psutil-written code on the real module (in the test VM, as root).

The programs of psutil_programs/ import psutil; each is run three ways,
unchanged: with psutil, with taskmon standing in for it (``import taskmon
as psutil``: sys.modules["psutil"] is taskmon), and with taskmon while
psutil cannot be imported.  Their output is compared, allowing for the time
that passes between the runs.
"""
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import pytest

import taskmon
import taskmon_testlib as lib

psutil = pytest.importorskip("psutil", reason="psutil is not installed (apt-get install "
                             "python3-psutil)")

pytestmark = pytest.mark.vm

PROGRAMS = pathlib.Path(__file__).resolve().parent / "psutil_programs"
BUILD = pathlib.Path(taskmon.__file__).resolve().parents[3]

RUNNER = """
import runpy, sys
mode, program, *args = sys.argv[1:]
if mode == "taskmon-without-psutil":
    sys.modules["psutil"] = None  # psutil cannot be imported
if mode != "psutil":
    import taskmon
    sys.modules["psutil"] = taskmon  # import taskmon as psutil
sys.argv = [program, *args]
runpy.run_path(program, run_name="__main__")
"""
MODES = ("psutil", "taskmon", "taskmon-without-psutil")


def run(mode, program, *args, env=None, check=True):
    out = subprocess.run([sys.executable, "-c", RUNNER, mode, str(PROGRAMS / program), *args],
                         capture_output=True, text=True, timeout=600,
                         env=env or lib.child_env())
    if check:
        assert out.returncode == 0, f"{mode} {program}: {out.stderr}"
    return out


def kernel_thread(row):
    return "2" in (row["PID"], row["PPID"])


def ps_rows(text):
    lines = text.splitlines()
    head = lines[0].split("\t")
    return {int(r["PID"]): r for r in (dict(zip(head, line.split("\t", len(head) - 1)))
                                       for line in lines[1:])}


def test_ps_aux_prints_what_psutil_prints():
    t0 = time.monotonic()
    theirs = ps_rows(run("psutil", "ps_aux.py").stdout)
    ours = ps_rows(run("taskmon", "ps_aux.py").stdout)
    # CPU time only grows, by at most every CPU's worth of the time between.
    grown = (time.monotonic() - t0) * (os.cpu_count() or 1) + 0.02
    common = set(ours) & set(theirs)
    assert len(common) >= 0.9 * len(theirs) and len(common) > 20
    for pid in common:
        a, b = ours[pid], theirs[pid]
        for col in ("USER", "PPID", "NICE", "START", "UID"):
            assert a[col] == b[col], (pid, col, a, b)
        if pid != os.getpid():  # pytest's own may grow meanwhile
            assert a["VSZ"] == b["VSZ"], (pid, a, b)
        if not kernel_thread(b):  # a kworker's name says what it works on now
            assert a["CMD"] == b["CMD"], (pid, a, b)
            # the kernel's name; psutil's may be completed from the command line
            assert a["NAME"] == b["NAME"] or (len(a["NAME"]) == 15 and
                                              b["NAME"].startswith(a["NAME"])), (pid, a, b)
        assert -0.02 <= float(a["TIME"]) - float(b["TIME"]) <= grown, (pid, a, b)
        assert abs(int(a["RSS"]) - int(b["RSS"])) <= max(0.2 * int(b["RSS"]), 1 << 20), (pid, a, b)


def test_ps_aux_without_psutil_gives_the_documented_error():
    out = run("taskmon-without-psutil", "ps_aux.py", check=False)
    assert out.returncode != 0
    assert "PsutilNotInstalledError: cmdline() is read by psutil" in out.stderr
    assert "python3-psutil" in out.stderr


@pytest.mark.parametrize("mode", MODES)
def test_top_loop_finds_the_busy_process(mode):
    busy = lib.spawn_busy()
    try:
        out = run(mode, "top_loop.py", "3").stdout.splitlines()
    finally:
        lib.kill(busy)
    pid, name, cpu, status, threads = out[0].split("\t")
    assert int(pid) == busy.pid, out
    assert float(cpu) > 40.0, out
    assert threads == "1"
    top = out[-1].split()
    assert top[1:] == [str(os.getpid()), str(os.getpid()), "0", "True", "True"], out


def test_monitoring_code_gives_psutils_answers():
    answers = {mode: json.loads(run(mode, "monitor.py").stdout) for mode in MODES}
    theirs = answers["psutil"]
    assert (theirs["gone"], theirs["alive"], theirs["codes"]) == (2, 1, [-15, -15])
    assert theirs["gone_error"] == "NoSuchProcess"
    for mode in MODES[1:]:
        ours = answers[mode]
        assert abs(ours.pop("count") - theirs["count"]) <= 5, mode
        assert abs(ours.pop("mine") - theirs["mine"]) <= 5, mode
        assert set(ours.pop("statuses")) <= set(taskmon._process._STATUS.values())
        expected = {k: v for k, v in theirs.items() if k not in ("count", "mine", "statuses")}
        ours["me"]["gids"] = tuple(ours["me"]["gids"])
        expected["me"]["gids"] = tuple(expected["me"]["gids"])
        assert ours == expected, mode


def test_create_time_is_psutils_for_every_process():
    ours = {p.pid: p.info["create_time"] for p in taskmon.process_iter(["create_time"])}
    checked = 0
    for pid, ctime in ours.items():
        try:
            theirs = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:
            continue
        assert ctime == theirs == taskmon.Process(pid).create_time(), pid
        checked += 1
    assert checked > 20


def test_no_such_process_is_caught_as_psutils():
    gone = lib.unused_pid()
    with pytest.raises(psutil.NoSuchProcess) as exc:
        taskmon.Process(gone)
    assert exc.value.pid == gone and isinstance(exc.value, ProcessLookupError)
    assert not taskmon.pid_exists(gone)


def test_process_iter_includes_a_process_hidden_from_proc():
    """A readdir filter (LD_PRELOAD, tests/hidden) hides a sleeper from this
    process's listing of /proc: psutil does not see it, taskmon does, and
    psutil still answers cmdline() for it."""
    preload = os.environ.get("TASKMON_READDIR_FILTER") or str(
        BUILD / "tests/libtaskmon/vm/libtaskmon-test-readdir-filter.so")
    assert os.path.exists(preload), f"no readdir filter at {preload}"
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        code = textwrap.dedent(f"""
            import json, psutil, taskmon
            pid = {sleeper.pid}
            seen = {{p.pid: p.info for p in taskmon.process_iter(["name", "cmdline", "ppid"])}}
            print(json.dumps([pid in psutil.pids(), pid in taskmon.pids(), seen.get(pid)]))
        """)
        env = lib.child_env()
        env.update(LD_PRELOAD=preload, TASKMON_TEST_HIDE_PIDS=str(sleeper.pid))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        in_psutil, in_taskmon, info = json.loads(out.stdout)
        assert (in_psutil, in_taskmon) == (False, True)
        assert info == {"name": "sleep", "cmdline": ["sleep", "600"], "ppid": os.getpid()}
    finally:
        sleeper.kill()
        sleeper.wait()
