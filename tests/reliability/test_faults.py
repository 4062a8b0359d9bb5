"""Faults: targets that exit at every moment, pid reuse, unloads under load,
load failures injected at each init step, and the init races.

Each fault is counted in the figures ("faults injected"); each test checks
that the modules answer as documented and that nothing is left behind (the
autouse fixture of conftest.py checks /sys, /dev, /proc/devices and the
kthreads after every test).
"""
import ctypes
import errno
import json
import mmap
import os
import pathlib
import random
import shutil
import signal
import struct
import subprocess
import time

import pytest

import harness
from harness import kmod, tmdev, uapi
from worker import OPS

CHURN_SECONDS = float(os.environ.get("TASKMON_CHURN_SECONDS", "15"))
UNLOAD_CYCLES = int(os.environ.get("TASKMON_UNLOAD_CYCLES", "10"))
RACE_ITERATIONS = int(os.environ.get("TASKMON_RACE_ITERATIONS", "50"))


def _retry_unload(name: str, figures=None) -> int:
    """Unload, retrying while the module is in use; return the refusals."""
    refused = 0
    deadline = time.monotonic() + harness.DEADLINE
    while True:
        try:
            harness.call_with_deadline(kmod.unload, name, what=f"unloading {name}")
            return refused
        except OSError as e:
            if e.errno != errno.EAGAIN or time.monotonic() > deadline:
                raise
            refused += 1
            time.sleep(0.005)


def _collect_all(workers, timeout):
    return [harness.collect(w, timeout) for w in workers]


def _tally(figures, suite, reports):
    total = 0
    for report in reports:
        for op, outcomes in report["counts"].items():
            for outcome, count in outcomes.items():
                figures.add(suite, f"{op}: {outcome}", count)
                total += count
        for key, count in report.get("extra", {}).items():
            figures.add(suite, f"{key}:", count)
    figures.add(suite, "operations", total)
    problems = [p for r in reports for p in r["problems"]]
    return total, problems


# ---- targets exiting at every moment ----

def test_targets_exit_at_every_moment(load, kmsg, figures, seed):
    """Targets that exit at once, spin, exit thread by thread, get killed or
    stay zombies, pointed at with TM_PID at any moment of their lives while
    samplers read through every interface and the kthread logs."""
    load("taskmonitor")
    with tmdev.Device() as dev:
        dev.start()
    slots = harness.Slots(f"/dev/shm/taskmon-churn-{os.getpid()}", 4)
    common = {"slots": slots.path, "seconds": CHURN_SECONDS}
    workers = [harness.spawn_worker("churn", json.dumps(
        dict(common, first_slot=0, seed=f"{seed}:churn")))]
    workers.append(harness.spawn_worker("sample", json.dumps(
        dict(common, first_slot=1, threads=3, seed=f"{seed}:sample"))))
    with harness.Watcher(slots, OPS, kmsg) as watch:
        reports = _collect_all(workers, CHURN_SECONDS + 2 * harness.DEADLINE + 60)
    os.unlink(slots.path)
    total, problems = _tally(figures, "faults", reports)
    spawned = reports[0]["extra"].get("targets spawned", 0)
    figures.add("faults", "faults injected", spawned)
    figures.add("faults", "failures", len(problems) + len(watch.violations))
    print(f"churn: {spawned} targets exited at random moments, {total} calls")
    assert watch.violations == []
    assert problems == []
    assert spawned > 10, "the churner hardly ran"
    # The monitor still works afterwards, on a live target.
    with subprocess.Popen(["sleep", "600"]) as proc, tmdev.Device() as dev:
        assert dev.pid(proc.pid) == proc.pid
        dev.get()
        proc.kill()


# ---- pid reuse ----

def _spawn_with_pid(pid: int, attempts: int = 20):
    """A sleeping process that has the given (free) pid, through ns_last_pid."""
    last = pathlib.Path("/proc/sys/kernel/ns_last_pid")
    for _ in range(attempts):
        last.write_text(str(pid - 1))
        proc = subprocess.Popen(["sleep", "600"])
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
    pytest.fail(f"could not get pid {pid} again in {attempts} attempts")


def test_pid_reuse_is_not_the_old_target(load, kmsg, figures):
    """The target exits; a new process gets its pid: the module must answer
    ESRCH for the old target (it holds a struct pid, not a number), never
    the new process's times, until the pid is set again."""
    if not os.path.exists("/proc/sys/kernel/ns_last_pid"):
        pytest.skip("no /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE)")
    old = subprocess.Popen(["sleep", "600"])
    load("taskmonitor", f"target={old.pid}")
    with tmdev.Device() as dev:
        dev.start()
        kmsg.wait_for(rf"taskmonitor: pid {old.pid} usr \d+ sys \d+$", timeout=harness.DEADLINE)
        old.kill()
        old.wait()
        new = _spawn_with_pid(old.pid)
        try:
            figures.add("faults", "faults injected", 1)
            mark = len(kmsg.lines())
            for call in (dev.get, dev.get_text, tmdev.sysfs_read):
                with pytest.raises(OSError) as e:
                    call()
                assert e.value.errno == errno.ESRCH, call
            # The old target stays the target, but reaped, its number now
            # names another process: TM_PID reads ESRCH, not that number.
            with pytest.raises(OSError) as e:
                dev.pid(-1)
            assert e.value.errno == errno.ESRCH
            time.sleep(2.5)  # two periods of the kthread: it must keep quiet
            assert [line for line in kmsg.lines()[mark:]
                    if line.startswith(f"taskmonitor: pid {old.pid} ")] == []
            # Set again, the pid now names the new process.
            assert dev.pid(new.pid) == new.pid
            assert tmdev.parse_line(dev.get_text())[0] == new.pid
        finally:
            new.kill()
            new.wait()


# ---- unloading ----

@pytest.mark.parametrize("module,path", [("taskmonitor", tmdev.DEV),
                                         ("helloioctl", harness.HELLO_DEV)])
def test_unload_refused_while_device_open(load, figures, module, path):
    """delete_module() answers EAGAIN (EWOULDBLOCK) while a file of the
    device is open, the device keeps working, and unload works once closed."""
    load(module)
    before = harness.snapshot()
    fd = os.open(path, os.O_RDWR)
    try:
        for _ in range(3):
            with pytest.raises(OSError) as e:
                kmod.unload(module)
            assert e.value.errno == errno.EAGAIN
            figures.add("faults", "faults injected", 1)
        assert harness.snapshot() == before
        if module == "taskmonitor":
            fcntl_ioctl(fd, uapi.TM_STOP)
        else:
            fcntl_ioctl(fd, uapi.HELLO, bytearray(uapi.HELLO_MSG_LEN))
    finally:
        os.close(fd)
    kmod.unload(module)


def fcntl_ioctl(fd, request, arg=0):
    import fcntl
    return fcntl.ioctl(fd, request, arg)


@pytest.mark.parametrize("module,path", [("taskmonitor", tmdev.SYSFS),
                                         ("hellosysfs", harness.HELLO_SYSFS)])
def test_unload_with_sysfs_file_open(load, figures, module, path):
    """An open sysfs file does not hold the module: the unload goes ahead,
    and the file answers ENODEV afterwards instead of calling freed code."""
    load(module)
    fd = os.open(path, os.O_RDWR)
    try:
        os.pread(fd, 4096, 0) if module == "hellosysfs" else None
        kmod.unload(module)
        figures.add("faults", "faults injected", 1)
        for call in (lambda: os.pread(fd, 4096, 0), lambda: os.pwrite(fd, b"stop", 0)):
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == errno.ENODEV
    finally:
        os.close(fd)


def test_unload_while_kthread_runs(load, busy, kmsg, figures, seed):
    """Unload at random moments of the kthread's period: it is stopped and
    gone, with its halt logged, every time."""
    rng = random.Random(seed)
    target = busy()
    for cycle in range(UNLOAD_CYCLES):
        load("taskmonitor", f"target={target.pid}")
        assert len(harness.live_monitor_kthreads()) == 1
        if cycle % 3 == 0:
            kmsg.wait_for(rf"taskmonitor: pid {target.pid} usr", timeout=harness.DEADLINE)
        time.sleep(rng.uniform(0, 1.2))
        kmod.unload("taskmonitor")
        figures.add("faults", "faults injected", 1)
        assert harness.snapshot() == harness.NOTHING_LEFT
    starts = len(kmsg.matching(r"taskmonitor: starting monitor thread$"))
    halts = len(kmsg.matching(r"taskmonitor: halting monitor thread$"))
    assert starts == halts == UNLOAD_CYCLES


def test_unload_while_callers_loop(load, busy, kmsg, figures, seed):
    """Load and unload all three modules again and again while workers open
    the devices, make requests and close them, and read and write the sysfs
    files (some through descriptors held across the unloads)."""
    rng = random.Random(seed)
    target = busy()
    stop = f"/dev/shm/taskmon-stop-{os.getpid()}"
    if os.path.exists(stop):
        os.unlink(stop)
    slots = harness.Slots(f"/dev/shm/taskmon-unload-{os.getpid()}", 6)
    workers = []
    for i, mode in enumerate(["devloop", "sysfs"]):
        workers.append(harness.spawn_worker(mode, json.dumps(
            {"slots": slots.path, "first_slot": 3 * i, "threads": 3, "stop_file": stop,
             "seed": f"{seed}:{mode}"})))
    refused = 0
    try:
        with harness.Watcher(slots, OPS, kmsg) as watch:
            for _ in range(UNLOAD_CYCLES):
                load("hellosysfs")
                load("helloioctl")
                load("taskmonitor", f"target={target.pid}")
                time.sleep(rng.uniform(0.05, 0.5))
                for name in ("taskmonitor", "helloioctl", "hellosysfs"):
                    refused += _retry_unload(name)
                    figures.add("faults", "faults injected", 1)
                time.sleep(rng.uniform(0, 0.1))
            pathlib.Path(stop).touch()
            reports = _collect_all(workers, 2 * harness.DEADLINE + 60)
    finally:
        pathlib.Path(stop).touch()
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        os.unlink(stop)
        os.unlink(slots.path)
    total, problems = _tally(figures, "faults", reports)
    figures.add("faults", "unloads refused while a device was open (EAGAIN)", refused)
    figures.add("faults", "failures", len(problems) + len(watch.violations))
    print(f"unload under load: {UNLOAD_CYCLES} cycles, {refused} refusals (EAGAIN), "
          f"{total} calls from the workers")
    assert watch.violations == []
    assert problems == []


# ---- load failures injected at each init step ----

# squat=WHAT -> the errno taskmonitor's load must fail with (None: it loads),
# and the log line its init prints.
SQUATS = {
    "sysfs": (errno.EEXIST, r"taskmonitor: cannot create /sys/kernel/taskmonitor: -17"),
    "class": (errno.EEXIST, r"taskmonitor: cannot create device class: -17"),
    "majors": (errno.EBUSY, r"taskmonitor: cannot register character device: -16"),
    "chrdev": (None, r"taskmonitor: registered /dev/taskmonitor with major \d+"),
}


@pytest.mark.parametrize("squat", sorted(SQUATS))
def test_load_failure_unwinds(load, busy, kmsg, figures, squat):
    """A second module holds what one init step of taskmonitor needs: the
    load fails with that step's error and a clear log line, leaves nothing
    behind (no file, device, class, major or kthread, the target released),
    and the module loads again once the name is free."""
    target = busy()
    load("squatter", f"squat={squat}")
    before = harness.snapshot()
    expected, line = SQUATS[squat]
    for attempt in range(3):
        figures.add("faults", "load failures injected", 1)
        params = f"target={target.pid}" if attempt % 2 == 0 else ""
        if expected is None:
            load("taskmonitor", params)
            with tmdev.Device() as dev:
                dev.stop()
                dev.start()
            kmod.unload("taskmonitor")
        else:
            with pytest.raises(OSError) as e:
                load("taskmonitor", params)
            assert e.value.errno == expected
        kmsg.wait_for(line, timeout=harness.DEADLINE)
        assert harness.snapshot() == before
    if squat == "majors":  # helloioctl's init fails at the same step
        with pytest.raises(OSError) as e:
            load("helloioctl")
        assert e.value.errno == errno.EBUSY
        assert harness.snapshot() == before
    kmod.unload("squatter")
    assert harness.snapshot() == harness.NOTHING_LEFT
    load("taskmonitor", f"target={target.pid}")
    with tmdev.Device() as dev:
        assert dev.pid(-1) == target.pid
    kmod.unload("taskmonitor")


# ---- the init races ----

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_finit_module = 313


def _finit(path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        ret = _libc.syscall(_SYS_finit_module, fd, b"", 0)
        return 0 if ret == 0 else ctypes.get_errno()
    finally:
        os.close(fd)


def _major(name):
    for line in pathlib.Path("/proc/devices").read_text().split("Block")[0].splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == name:
            return int(parts[0])
    return None


# Reads "coming" from the moment the module's sysfs directory exists until
# init has returned: the load is then past every step before init, and init
# is about to run or running.
_INITSTATE = "/sys/module/taskmonitor/initstate"


def _initstate():
    """The module's state (b"coming", b"live", b"going"), or None while it has none."""
    try:
        fd = os.open(_INITSTATE, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 16).strip()
    except OSError:
        return None
    finally:
        os.close(fd)


def _kill_when_coming(child, deadline) -> bool:
    """SIGKILL the loading child as soon as the module reads "coming".

    A SIGKILL that arrives then, or is already pending when init reaches
    kthread_run(), makes kthread_run() fail with EINTR: the kill lands
    inside init unless init got past kthread_run() first.  Returns True if
    the child was reaped here (its load ended before "coming" was seen)."""
    while time.monotonic() < deadline:
        if _initstate() == b"coming":
            os.kill(child, signal.SIGKILL)
            return False
        if os.waitpid(child, os.WNOHANG)[0] == child:
            return True
    os.kill(child, signal.SIGKILL)
    return False


def _opener(node, shared, index):
    """Open the node as fast as possible, hold the file, ioctl, close."""
    buf = bytearray(struct.pack("i", -1))
    while True:
        shared[1 + index] = 1  # set before looking at the pause flag
        if shared[0]:
            shared[1 + index] = 0
            time.sleep(0.001)
            continue
        try:
            fd = os.open(node, os.O_RDONLY)
        except OSError:
            shared[1 + index] = 0
            continue
        time.sleep(0.02)  # long enough for a failed init to be freed
        try:
            fcntl_ioctl(fd, uapi.TM_PID, buf)
        except OSError:
            pass
        os.close(fd)
        shared[1 + index] = 0


def test_init_killed_while_device_opened(kmsg, figures, seed):
    """The loading process is SIGKILLed during finit_module() (inside init,
    kthread_run() then fails with EINTR) while other processes open the
    device through a node made with its major.  A file must never outlive
    a failed init (open() is refused until init can no longer fail), and
    no kthread may survive it.  Before the fix this oopsed in
    __x64_sys_ioctl within a few dozen iterations.

    Half the kills come at timed moments around init, half the moment the
    module reads "coming" in sysfs.  Only a kill that lands inside init
    exercises the race: the kernel log tells those (init failed with
    EINTR) from the others, and if none landed the test is skipped, saying
    so, instead of passing without having tested anything."""
    rng = random.Random(seed)
    # On tmpfs: a read from 9p would be interrupted by the SIGKILL itself.
    ko = pathlib.Path(f"/dev/shm/taskmonitor-{os.getpid()}.ko")
    shutil.copy(harness.ko_path("taskmonitor"), ko)
    started = time.monotonic()
    assert _finit(ko) == 0
    load_time = time.monotonic() - started
    major = _major("taskmonitor")
    kmod.unload("taskmonitor")
    node = f"/dev/shm/taskmonitor-node-{os.getpid()}"
    os.mknod(node, 0o600 | 0o020000, os.makedev(major, 0))
    shared = mmap.mmap(-1, 64)
    openers = []
    for index in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                _opener(node, shared, index)
            finally:
                os._exit(0)
        openers.append(pid)
    outcomes = {}
    # When to kill: around the moment init runs, found as we go.  A kill
    # that lands before init moves it later, a load that completes moves it
    # earlier, so most kills land near the window (on a KASAN kernel most
    # of a load happens before init).
    boundary = 0.8 * load_time
    landed = 0  # kills inside init: inits failed with EINTR
    try:
        for iteration in range(RACE_ITERATIONS):
            aimed = iteration % 2 == 1
            child = os.fork()
            if child == 0:
                os._exit(_finit(ko))
            reaped = False
            if aimed:
                reaped = _kill_when_coming(child, time.monotonic() + harness.DEADLINE)
            else:
                time.sleep(boundary * rng.uniform(0.7, 1.3))
                os.kill(child, signal.SIGKILL)
            if not reaped:
                os.waitpid(child, 0)
            # The loader dies of the signal either way: the kernel log tells
            # an init that failed (kthread_run() interrupted) from a load
            # killed before init ran.
            failed = len(kmsg.matching(r"taskmonitor: cannot start monitor thread: -4$"))
            if kmod.is_loaded("taskmonitor"):
                key = "loaded"
            elif failed > landed:
                key = "init failed (EINTR)"
                landed = failed
            else:
                key = "killed before init"
            how = "when coming" if aimed else "timed"
            outcomes[f"{how}, {key}"] = outcomes.get(f"{how}, {key}", 0) + 1
            if not aimed and key == "loaded":
                boundary *= 0.9
            elif not aimed and key == "killed before init":
                boundary *= 1.1
            # Pause the openers: a file opened during a failed init is used
            # and closed here.
            shared[0] = 1
            deadline = time.monotonic() + harness.DEADLINE
            while any(shared[1 + i] for i in range(len(openers))):
                assert time.monotonic() < deadline, "an opener never closed its file"
                time.sleep(0.001)
            if kmod.is_loaded("taskmonitor"):
                _retry_unload("taskmonitor")
            assert harness.live_monitor_kthreads() == []
            assert _major("taskmonitor") is None
            shared[0] = 0
    finally:
        for pid in openers:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.unlink(node)
        ko.unlink()
    figures.add("faults", "faults injected", RACE_ITERATIONS)
    figures.add("faults", "loader killed inside init (EINTR)", landed)
    for key, count in outcomes.items():
        figures.add("faults", f"loader killed {key}:", count)
    print(f"loader killed {RACE_ITERATIONS} times, {landed} inside init: {outcomes}")
    if landed == 0:
        pytest.skip(f"none of the {RACE_ITERATIONS} kills landed inside init (no "
                    f"'cannot start monitor thread: -4' in the log; {outcomes}): the race "
                    "of a file opened during a failing init was not exercised")


def test_sysfs_start_during_failing_init(load, figures):
    """"start" written to /sys/kernel/taskmonitor while an init that then
    fails (squat=class: the class name is taken) is running: no kthread may
    outlive the failed load.  Before the fix one started in the window ran
    on in freed module text.

    The file exists only inside the failing inits (between the sysfs step
    and the device step that fails), so every open of it that succeeds is
    a writer inside the window: the writers count them (and the writes
    that got through).  If none got in, the race was not exercised and the
    test is skipped, saying so, as test_init_killed_while_device_opened
    does."""
    load("squatter", "squat=class")
    # Per writer: opens that succeeded, writes that succeeded (u64 each).
    shared = mmap.mmap(-1, 64)
    writers = []
    for index in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                opened = written = 0
                while True:
                    try:
                        fd = os.open(tmdev.SYSFS, os.O_WRONLY)
                    except OSError:
                        continue
                    opened += 1
                    try:
                        os.write(fd, b"start")
                        written += 1
                    except OSError:
                        pass
                    os.close(fd)
                    struct.pack_into("QQ", shared, 16 * index, opened, written)
            finally:
                os._exit(0)
        writers.append(pid)
    failures = 0
    try:
        for _ in range(RACE_ITERATIONS):
            with pytest.raises(OSError) as e:
                kmod.load(harness.ko_path("taskmonitor"))
            assert e.value.errno == errno.EEXIST
            failures += 1
            assert not kmod.is_loaded("taskmonitor")
            assert harness.live_monitor_kthreads() == []
    finally:
        for pid in writers:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    counts = [struct.unpack_from("QQ", shared, 16 * i) for i in range(len(writers))]
    opened = sum(c[0] for c in counts)
    written = sum(c[1] for c in counts)
    figures.add("faults", "load failures injected", failures)
    figures.add("faults", "sysfs opened during a failing init", opened)
    figures.add("faults", "sysfs start written during a failing init", written)
    print(f"{failures} failed loads; the writers opened the sysfs file {opened} times "
          f"inside them and wrote \"start\" {written} times")
    time.sleep(1.5)  # an orphan kthread would wake up in freed memory by now
    assert harness.live_monitor_kthreads() == []
    kmod.unload("squatter")
    if opened == 0:
        pytest.skip(f"no writer opened {tmdev.SYSFS} during any of the {failures} failing "
                    "inits: the race of a \"start\" during a failing init was not exercised")
