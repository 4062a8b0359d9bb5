# SPDX-License-Identifier: GPL-2.0-only
"""psutil's process API on taskmon (taskmon._process), on the host.

The module's answers come from taskmon_procfake (this machine's /proc
standing in for TM_LIST and TM_STATS), so that psutil-written code can be
run on taskmon here and compared with psutil for the same processes, and
the requests each call makes can be counted.  The same programs run
against the real module in test_psutil_vm.py.
"""
import errno
import os
import pickle
import subprocess
import sys
import textwrap
import time

import pytest

import taskmon
import taskmon_procfake
import taskmon_testlib as lib

psutil = pytest.importorskip("psutil", reason="psutil is not installed (apt-get install "
                             "python3-psutil)")

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_ATTRS = ["pid", "name", "ppid", "status", "username", "create_time", "num_threads",
                "cpu_times", "memory_info", "num_ctx_switches", "uids", "gids", "nice"]


@pytest.fixture
def fake(monkeypatch):
    ext = taskmon_procfake.ProcExt()
    monkeypatch.setattr(taskmon._process, "_ext", ext)
    monkeypatch.setattr(taskmon._process, "_pmap", {})
    return ext


@pytest.fixture
def child():
    # Without the sanitizer run's LD_PRELOAD of libasan: its run-time would
    # still be mapping memory while the two answers are compared.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    proc = subprocess.Popen(["sleep", "30"], env=env)
    assert lib.wait_until(lambda: psutil.Process(proc.pid).cmdline() == ["sleep", "30"])
    yield proc
    proc.kill()
    proc.wait()


# ---- exceptions --------------------------------------------------------------

def test_no_such_process_has_psutils_signature_and_stays_a_taskmon_error():
    e = taskmon.NoSuchProcess(1234)
    assert (e.pid, e.name, e.errno) == (1234, None, errno.ESRCH)
    assert e.msg == "process no longer exists"
    assert str(e) == "process no longer exists (pid=1234)" == str(psutil.NoSuchProcess(1234))
    e = taskmon.NoSuchProcess(7, "bash", "gone")
    assert (e.pid, e.name, e.msg, str(e)) == (7, "bash", "gone", "gone (pid=7, name='bash')")
    for cls in (taskmon.NoSuchProcessError, ProcessLookupError, OSError, taskmon.Error,
                psutil.NoSuchProcess, psutil.Error):
        assert isinstance(e, cls)
    # taskmon's own errors keep their OSError signature
    assert taskmon.NoSuchProcessError().errno == errno.ESRCH
    assert taskmon.NoSuchProcessError(errno.ESRCH, "x", pid=5).pid == 5


def test_zombie_access_denied_timeout_are_psutils_too():
    z = taskmon.ZombieProcess(5, "x", 1)
    assert (z.pid, z.name, z.ppid) == (5, "x", 1)
    assert isinstance(z, taskmon.NoSuchProcess) and isinstance(z, psutil.ZombieProcess)
    assert str(z) == str(psutil.ZombieProcess(5, "x", 1))
    a = taskmon.AccessDenied(3, "x")
    assert isinstance(a, psutil.AccessDenied) and isinstance(a, PermissionError)
    assert a.errno == errno.EACCES and str(a) == str(psutil.AccessDenied(3, "x"))
    t = taskmon.TimeoutExpired(2.5, 7)
    assert isinstance(t, psutil.TimeoutExpired) and isinstance(t, TimeoutError)
    assert t.seconds == 2.5 and str(t) == str(psutil.TimeoutExpired(2.5, 7))
    for e in (taskmon.NoSuchProcess(1, "a", "m"), z, a, t):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e)


def test_mixed_code_catches_taskmon_errors_as_psutils(fake):
    with pytest.raises(psutil.NoSuchProcess) as exc:
        taskmon.Process(lib.unused_pid())
    assert isinstance(exc.value, taskmon.NoSuchProcess)


def test_status_constants_are_psutils():
    names = [n for n in dir(psutil) if n.startswith("STATUS_")]
    for name in names:
        assert getattr(taskmon, name) == getattr(psutil, name), name


# ---- the same answers as psutil ------------------------------------------------

def _same(ours, theirs, name):
    if name == "memory_info":
        return ours == theirs[:3] and ours._fields == theirs._fields[:3]
    if name == "cpu_times":
        return ours == theirs[:2]
    if name == "name":
        return same_name(ours, theirs)
    return ours == theirs


def same_name(ours, theirs):
    """taskmon's name() is the kernel's (15 characters at most), psutil's
    may be completed from the command line (docs/python-psutil.md)."""
    return ours == theirs or (len(ours) == 15 and theirs.startswith(ours))


def test_process_answers_as_psutil_for_the_same_process(fake, child):
    p, q = taskmon.Process(child.pid), psutil.Process(child.pid)
    for name in MODULE_ATTRS[1:] + ["exe", "cmdline", "cwd", "terminal", "num_fds"]:
        assert _same(getattr(p, name)(), getattr(q, name)(), name), name
    assert p.create_time() == q.create_time() == p.create_time()
    assert p.memory_percent() == pytest.approx(q.memory_percent())
    assert p.parent() == taskmon.Process(os.getpid())
    assert [x.pid for x in p.parents()] == [x.pid for x in q.parents()]
    me = taskmon.Process()
    assert child.pid in [c.pid for c in me.children()]
    assert {c.pid for c in me.children(recursive=True)} == \
        {c.pid for c in psutil.Process().children(recursive=True)}


def test_process_iter_attrs_gives_psutils_info(fake):
    ours = {p.pid: p.info for p in taskmon.process_iter(MODULE_ATTRS + ["cmdline"])}
    theirs = {p.pid: p.info for p in psutil.process_iter(MODULE_ATTRS + ["cmdline"])}
    common = set(ours) & set(theirs)
    assert len(common) > 0.9 * len(theirs)
    for pid in common:
        for name in MODULE_ATTRS + ["cmdline"]:
            if name == "name" and 2 in (pid, theirs[pid]["ppid"]):
                continue  # a kworker's name says what it works on now
            assert _close(ours[pid][name], theirs[pid][name], name), (pid, name)


def _close(ours, theirs, name):
    """_same(), allowing for the time between the two readings."""
    if name in ("status", "num_ctx_switches"):
        return type(ours) is type(theirs) or isinstance(ours, tuple)
    if name == "cpu_times":
        return all(abs(a - b) <= 1.0 for a, b in zip(ours, theirs[:2]))
    if name == "memory_info":
        return ours._fields == theirs._fields[:3]  # compilers grow meanwhile
    return _same(ours, theirs, name)


def test_process_iter_is_one_list_and_one_batch(fake):
    procs = list(taskmon.process_iter(["pid", "name", "cpu_times", "memory_info", "status",
                                       "num_threads", "cpu_percent", "memory_percent"]))
    assert len(procs) > 10
    assert fake.calls == {"open": 1, "TM_LIST": 1, "TM_STATS_BATCH": 1}
    assert [p.pid for p in procs] == sorted(p.pid for p in procs)


def test_process_iter_keeps_processes_so_cpu_percent_works(fake):
    first = {p.pid: p for p in taskmon.process_iter(["cpu_percent"])}
    assert all(p.info["cpu_percent"] == 0.0 for p in first.values())
    second = {p.pid: p for p in taskmon.process_iter(["cpu_percent"])}
    assert any(second[pid] is first[pid] for pid in second if pid in first)


def test_process_iter_includes_what_the_kernel_lists_and_proc_does_not(monkeypatch):
    """A pid the kernel lists that os.listdir("/proc") does not (here this
    very process, added to a fake listing without it) is iterated."""
    ext = taskmon_procfake.ProcExt()
    monkeypatch.setattr(taskmon._process, "_ext", ext)
    monkeypatch.setattr(taskmon._process, "_pmap", {})
    ext.listdir = lambda path: [x for x in os.listdir(path) if x != str(os.getpid())]
    assert os.getpid() not in [pid for pid, _ in ext.Monitor("", False).processes()]
    ext.extra_pids.add(os.getpid())
    assert os.getpid() in [p.pid for p in taskmon.process_iter()]
    assert os.getpid() in taskmon.pids()


def test_oneshot_is_one_request(fake, child):
    p = taskmon.Process(child.pid)
    fake.calls.clear()
    with p.oneshot():
        p.name(), p.ppid(), p.status(), p.cpu_times(), p.memory_info(), p.num_threads()
        p.create_time(), p.username(), p.num_ctx_switches(), p.memory_percent()
        with p.oneshot():
            p.cpu_times()
    assert fake.calls == {"TM_STATS": 1}
    p.name()
    assert fake.calls == {"TM_STATS": 2}


# ---- only the groups of fields each call needs (TM_STATS's request mask) ------

F = taskmon.Fields
COSTLY = F.CPU | F.FAULTS | F.CTXSW | F.RSS


def test_names_and_ids_ask_neither_the_thread_walk_nor_the_memory_sums(fake, child):
    p = taskmon.Process(child.pid)
    for call, group in [(p.name, F.COMM), (p.ppid, F.PPID), (p.uids, F.CREDS),
                        (p.gids, F.CREDS), (p.username, F.CREDS), (p.status, F.STATE),
                        (p.num_threads, F.THREADS), (p.create_time, F.START_TIME),
                        (p.is_running, F.START_TIME), (p.parent, F.PPID)]:
        fake.masks.clear()
        call()
        assert fake.masks and all(not m & COSTLY for m in fake.masks), (call, fake.masks)
        assert any(m & group for m in fake.masks), (call, fake.masks)
    fake.masks.clear()
    assert taskmon.pid_exists(child.pid)
    assert fake.masks == [F.IDS]


def test_the_figures_that_cost_ask_only_for_their_group(fake, child):
    p = taskmon.Process(child.pid)
    fake.masks.clear()
    p.num_ctx_switches()
    assert fake.masks[-1] & F.CTXSW and not fake.masks[-1] & F.RSS
    p.cpu_times()
    assert fake.masks[-1] & F.CPU and not fake.masks[-1] & F.RSS
    p.memory_info()
    assert fake.masks[-1] & F.RSS and not fake.masks[-1] & F.CPU
    assert p.stats().user_ns is not None and fake.masks[-1] == F.ALL


def test_oneshot_asks_for_every_group_once(fake, child):
    p = taskmon.Process(child.pid)
    fake.masks.clear()
    with p.oneshot():
        p.name()
        assert p.cpu_times() == p.cpu_times()
        p.memory_info()
    assert fake.masks == [F.ALL]


def test_process_iter_asks_only_for_the_groups_of_its_attrs(fake):
    procs = list(taskmon.process_iter(["pid", "name", "username"]))
    assert len(procs) > 10 and all(p.info["name"] for p in procs)
    assert len(fake.masks) == 1 and not fake.masks[0] & COSTLY, fake.masks
    assert fake.masks[0] & F.COMM and fake.masks[0] & F.CREDS
    fake.masks.clear()
    list(taskmon.process_iter())
    assert len(fake.masks) == 1 and not fake.masks[0] & COSTLY, fake.masks
    for attrs, group in [(["cpu_times"], F.CPU), (["memory_info"], F.RSS),
                         (["cpu_percent"], F.CPU), (["memory_percent"], F.RSS),
                         (["num_ctx_switches"], F.CTXSW), ([], F.CPU | F.CTXSW | F.RSS)]:
        fake.masks.clear()
        procs = list(taskmon.process_iter(attrs))
        assert fake.masks[0] & group == group, (attrs, fake.masks)
    # What the narrower table answers is what the full one answers.
    me = [p for p in taskmon.process_iter(["pid", "name", "uids", "ppid"]) if p.pid == os.getpid()]
    assert me[0].info == {"pid": os.getpid(), "name": psutil.Process().name()[:15],
                          "uids": tuple(psutil.Process().uids()), "ppid": os.getppid()}


def test_children_ask_only_for_the_parents(fake):
    me = taskmon.Process()
    fake.masks.clear()
    me.children()
    assert fake.masks and all(not m & COSTLY for m in fake.masks), fake.masks


def test_as_dict_is_psutils(fake):
    p = taskmon.Process()
    d = p.as_dict()
    assert set(d) == set(psutil.Process().as_dict())
    assert p.as_dict(["pid", "name"]) == {"pid": os.getpid(), "name": p.name()}
    with pytest.raises(ValueError, match="invalid attr name"):
        p.as_dict(["nonsense"])
    with pytest.raises(TypeError):
        p.as_dict("name")


def test_create_time_is_stable_and_psutils(fake):
    p = taskmon.Process()
    times = {p.create_time() for _ in range(50)}
    assert times == {psutil.Process().create_time()}
    assert taskmon.boot_time() == psutil.boot_time()


def _busy_threads(n):
    code = ("import threading\n"
            "def spin():\n    while True: pass\n"
            f"[threading.Thread(target=spin, daemon=True).start() for _ in range({n} - 1)]\n"
            "spin()\n")
    return subprocess.Popen([sys.executable, "-c", code])


def test_cpu_percent_follows_psutils_rules(fake):
    """The first call 0.0, then the use since the previous call, or over a
    blocking interval, in percent of one CPU: what psutil says of the same
    process over the same time (this machine may be loaded: compared, not
    asserted as an absolute)."""
    busy = _busy_threads(2)
    try:
        p, q = taskmon.Process(busy.pid), psutil.Process(busy.pid)
        assert p.cpu_percent() == 0.0 == q.cpu_percent()
        time.sleep(1.0)
        ours, theirs = p.cpu_percent(), q.cpu_percent()
        assert ours > 0 and abs(ours - theirs) <= 5 + 0.1 * theirs, (ours, theirs)
        assert round(ours, 1) == ours
        t0 = time.monotonic()
        assert p.cpu_percent(interval=0.3) > 0
        assert time.monotonic() - t0 >= 0.3
        with pytest.raises(ValueError):
            p.cpu_percent(-1)
    finally:
        busy.kill()
        busy.wait()


def test_cpu_percent_is_in_percent_of_one_cpu(fake, monkeypatch):
    """Two CPUs' worth of CPU time in one second of wall time is 200.0."""
    p = taskmon.Process()
    times = iter([taskmon.pcputimes(1.0, 0.0), taskmon.pcputimes(2.5, 0.5)])
    clock = iter([10.0, 11.0])
    monkeypatch.setattr(taskmon._process, "cpu_count", lambda: 4)
    monkeypatch.setattr(taskmon._process.time, "clock_gettime", lambda clk: next(clock))
    monkeypatch.setattr(taskmon.Process, "cpu_times", lambda self: next(times))
    assert p.cpu_percent() == 0.0
    assert p.cpu_percent() == 200.0


def test_pids_and_pid_exists(fake, child):
    assert child.pid in taskmon.pids()
    assert taskmon.pid_exists(child.pid) and taskmon.pid_exists(os.getpid())
    assert not taskmon.pid_exists(lib.unused_pid())
    assert not taskmon.pid_exists(-1) and not taskmon.pid_exists(0)
    import threading
    tids = []
    t = threading.Thread(target=lambda: (tids.append(threading.get_native_id()),
                                         time.sleep(0.3)))
    t.start()
    while not tids:
        time.sleep(0.01)
    assert not taskmon.pid_exists(tids[0]) and not psutil.pid_exists(tids[0])
    t.join()


def test_signals_wait_and_wait_procs(fake):
    a = subprocess.Popen(["sleep", "30"])
    b = subprocess.Popen(["sh", "-c", "exit 3"])
    pa, pb = taskmon.Process(a.pid), taskmon.Process(b.pid)
    with pytest.raises(taskmon.TimeoutExpired):
        pa.wait(0.05)
    assert pb.wait(5) == 3 and pb.wait() == 3
    pa.terminate()
    gone, alive = taskmon.wait_procs([pa], timeout=5, callback=lambda p: None)
    assert gone == [pa] and alive == [] and pa.returncode == -15
    assert not pa.is_running()
    with pytest.raises(taskmon.NoSuchProcess):
        pa.name()
    with pytest.raises(ValueError):
        taskmon.wait_procs([pa], timeout=-1)


def test_a_reused_pid_is_no_such_process(fake, child):
    p = taskmon.Process(child.pid)
    assert p.cmdline() == ["sleep", "30"]  # psutil's Process is made and kept
    object.__setattr__(p, "_start_time_ns", p._start_time_ns - 10)
    assert not p.is_running()
    for call in (p.name, p.cpu_times, p.memory_info, p.cmdline, p.terminate):
        with pytest.raises(taskmon.NoSuchProcess, match="now names another process"):
            call()


# ---- with and without psutil --------------------------------------------------

def _run_without_psutil(code):
    prelude = ("import sys\nsys.modules['psutil'] = None  # as if not installed\n"
               f"sys.path.insert(0, {HERE!r})\n"
               "import taskmon, taskmon_procfake\ntaskmon_procfake.install()\n")
    env = lib.child_env()
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_psutil_answers_when_taskmon_stands_in_for_it_in_sys_modules():
    """psutil reads sys.modules["psutil"].PROCFS_PATH: with taskmon there
    (a program's ``sys.modules["psutil"] = taskmon``), psutil still works."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {HERE!r})
        import taskmon, taskmon_procfake
        taskmon_procfake.install()
        sys.modules["psutil"] = taskmon
        import psutil
        print(psutil.Process().cmdline()[:2])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=lib.child_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{[sys.executable, '-c']}\n"


def test_without_psutil_the_module_answers_and_the_rest_names_the_package():
    out = _run_without_psutil("""
        import os
        p = taskmon.Process()
        print(p.name(), p.ppid() == os.getppid(), p.cpu_times().user >= 0)
        try:
            p.cmdline()
        except taskmon.PsutilNotInstalledError as e:
            print("error:", e)
        d = p.as_dict()
        print("cmdline" in d, "name" in d)
        try:
            p.as_dict(["exe"])
        except NotImplementedError as e:
            print("explicit:", type(e).__name__)
        infos = [q.info for q in taskmon.process_iter(["pid", "name", "memory_info"])]
        print(len(infos) > 5)
        e = taskmon.NoSuchProcess(1)
        print(isinstance(e, ProcessLookupError), e.errno, taskmon._errors._psutil_module)
    """)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "python3 True True"
    assert lines[1].startswith("error: cmdline() is read by psutil")
    assert "python3-psutil" in lines[1]
    assert lines[2:] == ["False True", "explicit: PsutilNotInstalledError", "True", "True 3 None"]
