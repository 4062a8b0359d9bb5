"""Streams bounded and charged to their caller (docs/streaming.md, "Bounds").

Every subscriber here is a member of the device's group (as_caller.GROUP
standing for `taskmon`), not root: the per-user limit on subscriptions
(max_user_subscriptions, EDQUOT beyond), the rings charged to the
subscriber's memory cgroup (ENOMEM at its memory.max, nobody OOM-killed),
duplicate pids refused (EINVAL), subscribe/close cycles that leave nothing
behind, and a late tick that skips the periods it missed (TM_RECORD_GAP).
"""
import errno
import json
import os
import pathlib
import select
import shutil
import signal
import subprocess
import time
import traceback

import pytest

import as_caller
import kmod
import procs
import stream_uapi as su
import tmdev

MS = 1_000_000
PARAM = pathlib.Path("/sys/module/taskmonitor/parameters/max_user_subscriptions")
CGROUP_ROOT = pathlib.Path("/sys/fs/cgroup")
OTHER_UID = as_caller.UID + 5       # a second member of the group
RING_BYTES = su.RING_MAX * su.RECORD_SIZE    # a maximal ring: 3 MiB


@pytest.fixture
def monitor(load, busy):
    """taskmonitor loaded with a busy target, the device root:GROUP 0640 as
    debian/taskmon-dkms.udev makes it."""
    target = busy()
    load("taskmonitor", f"target={target.pid}")
    udevadm = shutil.which("udevadm")
    if udevadm and os.path.exists("/run/udev/control"):
        subprocess.run([udevadm, "settle", "--timeout=60"], check=False)
    os.chown(tmdev.DEV, 0, as_caller.GROUP)
    os.chmod(tmdev.DEV, 0o640)
    yield target
    if PARAM.exists():
        PARAM.write_text("128\n")


def set_limit(n: int) -> None:
    PARAM.write_text(f"{n}\n")
    assert int(PARAM.read_text()) == n


def open_dev() -> int:
    return os.open(tmdev.DEV, os.O_RDONLY | os.O_CLOEXEC)


class Caller:
    """`with Caller(fn, uid=..., cgroup=...) as c:` runs fn() in a child that
    joins the cgroup (as root), then becomes uid with the device's group
    and no capability; c.result is what fn returned.  The child, and the
    files it opened, live until the block ends."""

    def __init__(self, fn, uid: int = as_caller.UID, cgroup=None, timeout: float = 300.0):
        self.fn, self.uid, self.cgroup, self.timeout = fn, uid, cgroup, timeout
        self.result = None

    def _child(self, res_w: int, go_r: int) -> None:
        try:
            if self.cgroup is not None:
                (self.cgroup / "cgroup.procs").write_text(f"{os.getpid()}\n")
            os.setgroups([as_caller.GROUP])
            os.setresgid(as_caller.GID, as_caller.GID, as_caller.GID)
            os.setresuid(self.uid, self.uid, self.uid)
            message = {"result": self.fn()}
        except BaseException:  # noqa: B902 - the child must never return into pytest
            message = {"error": traceback.format_exc()[-3000:]}
        os.write(res_w, (json.dumps(message) + "\n").encode())
        while os.read(go_r, 64):
            pass

    def __enter__(self):
        res_r, res_w = os.pipe()
        go_r, self._go_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(res_r)
                os.close(self._go_w)
                self._child(res_w, go_r)
            finally:
                os._exit(0)
        os.close(res_w)
        os.close(go_r)
        buf = b""
        try:
            while not buf.endswith(b"\n"):
                ready, _, _ = select.select([res_r], [], [], self.timeout)
                assert ready, f"no answer from uid {self.uid} within {self.timeout} s"
                chunk = os.read(res_r, 1 << 20)
                assert chunk, f"uid {self.uid}'s child died without an answer: {buf!r}"
                buf += chunk
        except BaseException:
            os.kill(self.pid, signal.SIGKILL)
            self.__exit__(None)
            raise
        finally:
            os.close(res_r)
        message = json.loads(buf)
        if "error" in message:
            self.__exit__(None)
            raise AssertionError(f"uid {self.uid}'s child failed:\n{message['error']}")
        self.result = message["result"]
        return self

    def __exit__(self, *exc):
        os.close(self._go_w)
        os.waitpid(self.pid, 0)


def run_as(fn, **kwargs):
    with Caller(fn, **kwargs) as c:
        return c.result


def subscribe_until_refused(pid: int, ring: int = 0, most: int = 10_000, held=None):
    """Open files and subscribe each to pid until TM_SUBSCRIBE fails: how
    many succeeded and the errno of the failure.  The files stay open (in
    held, if given)."""
    held = [] if held is None else held
    for _ in range(most):
        fd = open_dev()
        try:
            su.subscribe(fd, [pid], period_ns=su.PERIOD_MAX_NS, ring=ring)
        except OSError as e:
            os.close(fd)
            return {"subscribed": len(held), "errno": e.errno}
        held.append(fd)
    return {"subscribed": len(held), "errno": 0}


def subscribe_once(pids, **kwargs) -> int:
    """0 or the errno of one TM_SUBSCRIBE of a fresh file (closed again)."""
    fd = open_dev()
    try:
        su.subscribe(fd, pids, **kwargs)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


# ---- the per-user limit ---------------------------------------------------

def test_default_limit_is_128_and_only_root_may_change_it(monitor):
    assert int(PARAM.read_text()) == 128
    assert PARAM.stat().st_mode & 0o777 == 0o644

    def write():
        try:
            PARAM.write_text("100000\n")
        except PermissionError:
            return "EACCES"
        return "written"
    assert run_as(write) == "EACCES"
    assert int(PARAM.read_text()) == 128


def test_the_per_user_limit_gives_edquot_and_spares_other_users(monitor):
    set_limit(6)
    pid = monitor.pid
    with Caller(lambda: subscribe_until_refused(pid)) as first:
        assert first.result == {"subscribed": 6, "errno": errno.EDQUOT}
        # Another user, and root, are counted on their own.
        assert run_as(lambda: subscribe_until_refused(pid), uid=OTHER_UID) == \
            {"subscribed": 6, "errno": errno.EDQUOT}
        assert subscribe_once([pid]) == 0
        # The same user from another process is still at its limit ...
        assert run_as(lambda: subscribe_once([pid])) == errno.EDQUOT
        # ... until root raises the limit.
        set_limit(7)
        assert run_as(lambda: subscribe_once([pid])) == 0
        set_limit(6)
    # Closing the files gave the subscriptions back.
    assert run_as(lambda: subscribe_until_refused(pid)) == {"subscribed": 6, "errno": errno.EDQUOT}


def test_root_is_counted_too(monitor):
    set_limit(3)
    held = []
    try:
        got = subscribe_until_refused(monitor.pid, held=held)
        assert got == {"subscribed": 3, "errno": errno.EDQUOT}
    finally:
        for fd in held:
            os.close(fd)


# ---- memory charged to the caller's cgroup ----------------------------------

def _kernel_has_memcg() -> bool:
    """Whether the kernel was built with the memory controller (CONFIG_MEMCG):
    kallsyms then names its subsystem, or at least one of its functions when
    data symbols are not listed (kallsyms lists names whatever kptr_restrict
    hides)."""
    names = {"memory_cgrp_subsys", "mem_cgroup_from_task"}
    with open("/proc/kallsyms", encoding="ascii", errors="replace") as syms:
        return any(line.split()[2] in names for line in syms if line.count(" ") >= 2)


NO_MEMCG = ("this kernel has no memory cgroup controller (CONFIG_MEMCG is off, as in the "
            "sanitizer kernel): the vm step runs it on Debian's kernels")


@pytest.fixture
def cgroup_if_any():
    """The cgroup of `cgroup`, or None on a kernel without the memory
    controller (the sanitizer kernel, where kmemleak still judges)."""
    if not _kernel_has_memcg():
        yield None
        return
    yield from _memory_cgroup()


@pytest.fixture
def cgroup():
    """A fresh cgroup v2 with the memory controller and memory.max 64 MiB,
    no swap; removed afterwards (its processes are gone by then)."""
    if not _kernel_has_memcg():
        pytest.skip(NO_MEMCG)
    yield from _memory_cgroup()


def _memory_cgroup():
    if not (CGROUP_ROOT / "cgroup.controllers").exists():
        pytest.fail("no cgroup2 at /sys/fs/cgroup: tests/vm/init mounts it")
    assert "memory" in (CGROUP_ROOT / "cgroup.controllers").read_text().split()
    (CGROUP_ROOT / "cgroup.subtree_control").write_text("+memory\n")
    path = CGROUP_ROOT / f"taskmon-limits-{os.getpid()}"
    path.mkdir()
    try:
        (path / "memory.max").write_text(f"{64 << 20}\n")
        swap = path / "memory.swap.max"
        if swap.exists():
            swap.write_text("0\n")
        yield path
    finally:
        for _ in range(50):
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _events(cg: pathlib.Path) -> dict:
    lines = (cg / "memory.events").read_text().splitlines()
    return {k: int(v) for k, v in (line.split() for line in lines)}


def test_rings_are_charged_to_the_callers_cgroup_and_fail_with_enomem(monitor, cgroup):
    pid = monitor.pid
    outsider = procs.spawn_busy()   # outside the cgroup: must survive

    def fill():
        current = cgroup / "memory.current"
        before = int(current.read_text())
        got = subscribe_until_refused(pid, ring=su.RING_MAX, most=100)
        got["charged"] = int(current.read_text()) - before
        return got

    try:
        with Caller(fill, cgroup=cgroup) as c:
            got = c.result
            print(f"memory.max 64 MiB: {got['subscribed']} maximal rings, then errno "
                  f"{got['errno']}; memory.current grew {got['charged'] >> 10} KiB")
            assert got["errno"] == errno.ENOMEM, got
            # The rings were charged: 64 MiB holds some 3 MiB rings, not 100.
            assert 1 <= got["subscribed"] <= 21
            assert got["charged"] >= got["subscribed"] * RING_BYTES * 9 // 10
            assert _events(cgroup)["oom_kill"] == 0
        assert procs.state(outsider.pid) not in (None, "Z"), "a process outside was killed"
        # Nothing of the closed streams stays charged.
        assert int((cgroup / "memory.current").read_text()) < 8 << 20
    finally:
        procs.kill(outsider)


# ---- duplicates -----------------------------------------------------------

def test_duplicate_pids_are_refused_with_einval(monitor, busy):
    target, other = monitor.pid, busy().pid

    def calls():
        fd = open_dev()
        try:
            out = {}
            for name, pids in (("twice", [other, target, other]),
                               ("target and 0", [target, 0]),
                               ("0 and target", [other, 0, target])):
                try:
                    su.subscribe(fd, pids, period_ns=su.PERIOD_MAX_NS)
                    out[name] = 0
                except OSError as e:
                    out[name] = e.errno
            # The refused requests left the file unsubscribed: this works.
            su.subscribe(fd, [target, other], period_ns=su.PERIOD_MAX_NS)
            records = su.read_records(fd, 2)
            out["distinct"] = sorted(r.pid for r in records)
            return out
        finally:
            os.close(fd)

    assert run_as(calls) == {"twice": errno.EINVAL, "target and 0": errno.EINVAL,
                             "0 and target": errno.EINVAL,
                             "distinct": sorted([target, other])}


# ---- nothing left behind ----------------------------------------------------

def test_ten_thousand_subscribe_close_cycles_leave_nothing(monitor, cgroup_if_any):
    """Run in a cgroup, where every stream's memory is charged: after the
    cycles the cgroup holds what it held before, and the per-user count is
    back to zero.  On a kernel without the memory controller (the sanitizer
    kernel) the cycles run all the same, without the cgroup's figures:
    kmemleak's scan after the suite judges what they left."""
    cgroup = cgroup_if_any
    set_limit(100)
    pid = monitor.pid
    pool = [subprocess.Popen(["sleep", "600"]) for _ in range(3)]
    pids = [pid] + [p.pid for p in pool]

    def cycles():
        current = cgroup / "memory.current" if cgroup is not None else None

        def charged() -> int:
            return int(current.read_text()) if current is not None else 0

        for _ in range(200):        # warm up the caches and the Python heap
            fd = open_dev()
            su.subscribe(fd, pids, period_ns=su.PERIOD_MIN_NS)
            os.close(fd)
        before = charged()
        # 100 held at once are visible in memory.current: the check can see.
        held = []
        for _ in range(100):
            held.append(open_dev())
            su.subscribe(held[-1], pids, period_ns=su.PERIOD_MIN_NS, ring=1024)
        holding = charged() - before
        refused = subscribe_once(pids)
        for fd in held:
            os.close(fd)
        errors = {}
        for i in range(10_000):
            fd = open_dev()
            try:
                if i % 10 == 9:     # the error paths, too
                    su.subscribe(fd, pids + [pids[0]], period_ns=su.PERIOD_MIN_NS)
                else:
                    su.subscribe(fd, pids, period_ns=su.PERIOD_MIN_NS, ring=1 + i % 512)
                    if i % 7 == 0:
                        su.read_records(fd)
            except OSError as e:
                errors[e.errno] = errors.get(e.errno, 0) + 1
            finally:
                os.close(fd)
        time.sleep(0.5)
        after = charged() - before
        again = subscribe_until_refused(pid)
        return {"holding": holding, "refused": refused, "after": after,
                "errors": errors, "again": again}

    try:
        got = run_as(cycles, cgroup=cgroup, timeout=1200)
    finally:
        for p in pool:
            procs.kill(p)
    print(f"100 streams held: {got['holding'] >> 10} KiB; after 10,000 cycles: "
          f"{got['after'] >> 10} KiB more than before")
    if cgroup is not None:
        assert got["holding"] >= 100 * 1024 * su.RECORD_SIZE
    assert got["refused"] == errno.EDQUOT
    assert got["errors"] == {str(errno.EINVAL): 1000}
    assert got["after"] < 1 << 20, "subscribe/close cycles left memory charged"
    # The per-user count went back to zero: the full limit is available.
    assert got["again"] == {"subscribed": 100, "errno": errno.EDQUOT}
    kmod.unload("taskmonitor")      # and no stream holds the module


# ---- a late tick --------------------------------------------------------------

def _hog(cpu: int, start: float, end: float) -> int:
    """A child that is a SCHED_FIFO busy loop on one CPU from start to end
    (monotonic); its pid."""
    pid = os.fork()
    if pid:
        return pid
    try:
        os.sched_setaffinity(0, {cpu})
        time.sleep(max(0.0, start - time.monotonic()))
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
        while time.monotonic() < end:
            pass
    finally:
        os._exit(0)


def test_a_late_tick_skips_the_missed_periods_and_flags_the_gap(monitor):
    """Real-time busy loops on every CPU starve the sampling kworker for
    0.6 s: the stream skips the periods it missed, flags the next records
    TM_RECORD_GAP, counts nothing as lost and does not catch up."""
    period = 20 * MS
    pid = monitor.pid
    now = time.monotonic()
    start, end = now + 3.0, now + 3.6
    hogs = [_hog(cpu, start, end) for cpu in sorted(os.sched_getaffinity(0))]

    def watch():
        fd = open_dev()
        try:
            su.subscribe(fd, [pid], period_ns=period, ring=4096)
            time.sleep(max(0.0, end + 1.0 - time.monotonic()))
            records = su.read_records(fd, 4096)
        finally:
            os.close(fd)
        return [(r.seq, r.timestamp_ns, r.flags, r.lost) for r in records]

    try:
        records = run_as(watch)
    finally:
        for hog in hogs:
            os.waitpid(hog, 0)
    assert [r[0] for r in records] == list(range(len(records))), "records were dropped"
    assert all(r[3] == 0 for r in records), "skipped periods are not lost records"
    gaps = [(b[1] - a[1], b[2]) for a, b in zip(records, records[1:])]
    flagged = [d for d, flags in gaps if flags & su.GAP]
    print(f"period 20 ms: {len(records)} records, gaps flagged: "
          f"{[round(d / MS) for d in flagged]} ms")
    assert any(d >= 300 * MS for d in flagged), "the starved tick flagged no gap"
    # A record not flagged comes less than two periods after the one before
    # (plus the time a tick takes): whatever is longer is a flagged gap.
    slack = 15 * MS
    assert all(d < 2 * period + slack for d, flags in gaps if not flags & su.GAP), gaps
    assert all(flags & ~su.GAP == 0 for _, flags in gaps)
