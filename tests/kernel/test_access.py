"""Who may read and who may steer: docs/security.md's table, cell by cell.

The table is read from the doc (access_table.py); each cell is one test
that runs the row's operation as the column's caller (as_caller.py) in a
child process against the real module, and compares the errno with the
cell.  Before each cell the module is in a known state, set by root: the
target is a busy process of root's outside any new namespace (also the
"other" process of the stats rows) and the kthread runs.  After each
operation root reads the state back: a refused call must have changed
nothing (target, kthread running or not); a reading call never changes
anything; an allowed steering call did what it asked, and root puts the
state back.  The hidepid row first checks that the caller's /proc is the
hidepid=2 mount and hides root's process from every caller but root, so
that a mount that did nothing fails the cell rather than passing it.  On
a kernel without user namespaces (CONFIG_USER_NS unset: the sanitizer
kernel's configuration) the userns-root cells are skipped, saying so.

The device and /sys/kernel/taskmonitor get what the taskmon-dkms udev
rule gives them (root:GROUP 0640, GROUP standing for `taskmon`) for the
whole file, and root:root 0600 again at its end.  One load of the module
for the whole file: loading it for each of the 85 cells would cost
minutes under TCG.
"""
import errno
import fcntl
import os
import shutil
import struct
import subprocess

import pytest

import access_table
import as_caller
import kmod
import list_uapi
import procs
import stats_uapi
import stream_uapi
import tmdev
import uapi
from conftest import MODULES, module_path

OPERATIONS = ("open-read", "open-write", "get", "get-text", "pid-read", "stats-own",
              "stats-other", "batch-other", "stats-other-hidepid", "steer-read-only",
              "pid-set", "start-stop", "sysfs-read", "sysfs-write", "subscribe-other",
              "list", "period-write")
CALLERS = as_caller.CALLERS
DEVICE_MODE = 0o640
SYSFS = str(tmdev.SYSFS)


def _table():
    try:
        return access_table.read()
    except access_table.TableError as e:
        pytest.fail(f"docs/security.md's access table cannot be read: {e}", pytrace=False)


def test_the_doc_table_has_exactly_the_operations_and_callers_tested_here():
    callers, table = _table()
    missing_ops = [op for op in OPERATIONS if op not in table]
    unknown_ops = [op for op in table if op not in OPERATIONS]
    missing_callers = [c for c in CALLERS if c not in callers]
    unknown_callers = [c for c in callers if c not in CALLERS]
    problems = []
    if missing_ops:
        problems.append(f"operations missing from the table: {missing_ops}")
    if unknown_ops:
        problems.append(f"operations test_access.py does not know (add them here): {unknown_ops}")
    if missing_callers:
        problems.append(f"callers missing from the table: {missing_callers}")
    if unknown_callers:
        problems.append(f"callers test_access.py does not know (add them here): {unknown_callers}")
    assert not problems, "docs/security.md's access table: " + "; ".join(problems)


def _cell(operation: str, caller: str) -> str:
    callers, table = _table()
    if operation not in table:
        pytest.fail(f"docs/security.md's access table has no row {operation!r}", pytrace=False)
    if caller not in callers:
        pytest.fail(f"docs/security.md's access table has no column {caller!r}", pytrace=False)
    return table[operation][caller]


# ---- the module, its known state ----------------------------------------

@pytest.fixture(autouse=True)
def no_module_left_loaded():
    """conftest.py's fixture of the same name unloads the modules around
    every test; here `monitor` loads taskmonitor once for the file and
    unloads everything before the first cell and after the last."""
    yield


def _udev_settle() -> None:
    """Wait for udevd's queue to empty, if a udevd runs (the DKMS step's
    guest may have started one)."""
    udevadm = shutil.which("udevadm")
    if udevadm and os.path.exists("/run/udev/control"):
        subprocess.run([udevadm, "settle", "--timeout=60"], check=False)


def _set_perms(group: int, mode: int) -> None:
    for path in (tmdev.DEV, tmdev.SYSFS):
        os.chown(path, 0, group)
        os.chmod(path, mode)


class Monitor:
    def __init__(self, busy):
        self.busy = busy
        self.target = busy.pid

    def load(self):
        kmod.load(module_path("taskmonitor"), f"target={self.target}")
        # Where taskmon-dkms is installed and udevd runs, its rule gives the
        # files the real group taskmon when the device appears: let it be
        # done first, or it would undo what follows.
        _udev_settle()
        # What debian/taskmon-dkms.udev does with the group taskmon.
        _set_perms(as_caller.GROUP, DEVICE_MODE)

    def state(self):
        """(target pid as root reads it, whether the kthread runs)."""
        with tmdev.Device() as dev:
            target = dev.pid(-1)
        return target, len(procs.monitor_kthreads()) == 1

    def set_state(self, target=None, running=True):
        with tmdev.Device() as dev:
            dev.pid(self.target if target is None else target)
            if running:
                dev.start()
            else:
                dev.stop()
        assert self.state() == (self.target if target is None else target, running)


@pytest.fixture(scope="module")
def monitor():
    for name in MODULES:
        kmod.unload_if_loaded(name)
    busy = procs.spawn_busy()
    mon = Monitor(busy)
    try:
        mon.load()
        yield mon
    finally:
        if kmod.is_loaded("taskmonitor"):
            _set_perms(0, 0o600)
        for name in MODULES:
            kmod.unload_if_loaded(name)
        procs.kill(busy)


@pytest.fixture
def mon(monitor):
    """The known state: target the busy process, the kthread running."""
    if not kmod.is_loaded("taskmonitor"):  # an earlier cell went badly wrong
        monitor.load()
    monitor.set_state()
    return monitor


# ---- what the callers do (these run in the child) ------------------------

def _on_device(flags: int, op):
    """Open the device with flags and run op(fd): which stage failed, with
    which errno, or op's value."""
    def run():
        try:
            fd = os.open(tmdev.DEV, flags | os.O_CLOEXEC)
        except OSError as e:
            return {"stage": "open", "errno": e.errno}
        try:
            return {"stage": "op", "errno": 0, "value": op(fd)}
        except OSError as e:
            return {"stage": "op", "errno": e.errno}
        finally:
            os.close(fd)
    return run


def _on_sysfs(flags: int, data: bytes = b""):
    def run():
        try:
            fd = os.open(SYSFS, flags | os.O_CLOEXEC)
        except OSError as e:
            return {"stage": "open", "errno": e.errno}
        try:
            if flags == os.O_RDONLY:
                return {"stage": "op", "errno": 0, "value": os.read(fd, 4096).decode()}
            os.write(fd, data)
            return {"stage": "op", "errno": 0}
        except OSError as e:
            return {"stage": "op", "errno": e.errno}
        finally:
            os.close(fd)
    return run


def _tm_get(fd):
    sample = uapi.TaskSample()
    fcntl.ioctl(fd, uapi.TM_GET, sample)
    return [sample.utime, sample.stime]


def _tm_get_text(fd):
    buf = bytearray(uapi.TM_TEXT_LEN)
    fcntl.ioctl(fd, uapi.TM_GET_TEXT, buf)
    return buf.split(b"\0", 1)[0].decode()


def _tm_pid(fd, nr):
    buf = bytearray(struct.pack("i", nr))
    fcntl.ioctl(fd, uapi.TM_PID, buf)
    return struct.unpack("i", buf)[0]


def _stats(fd, pid):
    rec = stats_uapi.stats(fd, pid)
    return {"asked": pid, "pid": rec.pid, "uid": rec.uid}


def _batch(fd, pid):
    records, _ = stats_uapi.batch(fd, [pid])
    if records[0].error:
        raise OSError(-records[0].error, os.strerror(-records[0].error))
    return {"asked": pid, "pid": records[0].pid, "uid": records[0].uid}


def _subscribe(fd, pid):
    stream_uapi.subscribe(fd, [pid], period_ns=stream_uapi.PERIOD_MAX_NS)
    record = stream_uapi.read_records(fd, 1)[0]
    return {"asked": pid, "pid": record.pid, "uid": 0}


def _list(fd):
    return [pid for pid, _ in list_uapi.processes(fd)]


def _hidepid_view(pid: int) -> dict:
    """What this caller's /proc is and whether it shows pid."""
    with open("/proc/self/mountinfo") as f:
        proc = [line.split(" - ", 1)[1] for line in f if line.split()[4] == "/proc"]
    return {"proc": proc[-1] if proc else None, "shown": os.path.exists(f"/proc/{pid}")}


# ---- comparing with the cell ---------------------------------------------

def _describe(outcome: dict) -> str:
    if outcome["errno"] == 0:
        return f"ok ({outcome.get('value')!r})"
    name = errno.errorcode.get(outcome["errno"], str(outcome["errno"]))
    return f"{name} (from {'opening' if outcome['stage'] == 'open' else 'the operation'})"


def _expect(outcome: dict, expected: str, what: str, after_open: bool = True) -> None:
    """The outcome is the cell: ok; the errno (from the operation, not the
    open, when after_open); or '-', the open failed."""
    said = f"docs/security.md says {what} is {expected!r}; the kernel gave {_describe(outcome)}"
    if expected == access_table.UNREACHABLE:
        assert outcome["stage"] == "open" and outcome["errno"] != 0, said
    elif expected == access_table.OK:
        assert outcome["errno"] == 0, said
    else:
        assert outcome["errno"] == getattr(errno, expected), said
        if after_open:
            assert outcome["stage"] == "op", said


# ---- the rows --------------------------------------------------------------

def _open_rows(mon, caller, expected, operation):
    flags = os.O_RDONLY if operation == "open-read" else os.O_RDWR
    outcome = as_caller.run(caller, _on_device(flags, lambda fd: None))
    _expect(outcome, expected, f"{operation} as {caller}", after_open=False)
    assert mon.state() == (mon.target, True)


_READS = {
    "get": lambda mon: _tm_get,
    "get-text": lambda mon: _tm_get_text,
    "pid-read": lambda mon: lambda fd: _tm_pid(fd, -1),
    "stats-own": lambda mon: lambda fd: _stats(fd, os.getpid()),
    "stats-other": lambda mon: lambda fd: _stats(fd, mon.target),
    "batch-other": lambda mon: lambda fd: _batch(fd, mon.target),
    "stats-other-hidepid": lambda mon: lambda fd: _stats(fd, mon.target),
    "subscribe-other": lambda mon: lambda fd: _subscribe(fd, mon.target),
    "list": lambda mon: _list,
}


def _read_rows(mon, caller, expected, operation):
    op = _READS[operation](mon)
    hidepid = operation == "stats-other-hidepid"
    target = mon.target

    def run():
        view = _hidepid_view(target) if hidepid else None
        outcome = _on_device(os.O_RDONLY, op)()
        outcome["view"] = view
        return outcome

    with as_caller.Run(caller, run, hidepid=hidepid) as child:
        outcome = child.result
        if hidepid:
            # The caller's /proc is the hidepid=2 mount, and it hides root's
            # process from every caller but root itself (root may ptrace
            # it; pidns-root's /proc has only its own namespace).
            view = outcome["view"]
            hidepid_2 = any(f"hidepid={v}" in (view["proc"] or "") for v in ("2", "invisible"))
            assert hidepid_2, \
                f"the {caller}'s /proc is not the hidepid=2 mount: {view['proc']!r}"
            shown = "shows" if view["shown"] else "hides"
            assert view["shown"] == (caller == "root"), \
                f"the hidepid=2 /proc {shown} /proc/{target} to {caller}"
        _expect(outcome, expected, f"{operation} as {caller}")
        if outcome["errno"] == 0:
            value = outcome["value"]
            if operation == "get":
                assert value[0] > 0, f"TM_GET gave no user time for a busy target: {value}"
            elif operation == "get-text":
                assert tmdev.parse_line(value + "\n")[0] == mon.target
            elif operation == "pid-read":
                assert value == mon.target
            elif operation == "stats-own":
                assert value["pid"] == value["asked"], value
            elif operation == "list":
                # The caller's namespace: the host's processes, or in a new
                # pid namespace its own few, never the host's target.
                if caller == "pidns-root":
                    assert 1 in value and len(value) < 10, value
                else:
                    assert mon.target in value and os.getpid() in value, value
            else:
                assert value["pid"] == mon.target and value["uid"] == 0, value
    assert mon.state() == (mon.target, True), f"{operation} as {caller} changed the state"


def _steer(mon, caller, expected, operation, what, make_op, start_running, flags=None):
    """One steering step, `what` (pid, stop or start): from the state
    (busy target, kthread running if start_running) the caller runs
    make_op(); while it is alive (the target may be the caller), root reads
    the state: unchanged after a refusal, changed as asked after an ok.
    The caller (the row) puts the known state back after its last step."""
    mon.set_state(running=start_running)
    with as_caller.Run(caller, make_op) as child:
        outcome = child.result
        state = mon.state()
        _expect(outcome, expected, f"{operation} ({what}) as {caller}",
                after_open=flags is not None)
        if outcome["errno"] == 0:
            after = {"pid": (child.hostpid, start_running),
                     "stop": (mon.target, False), "start": (mon.target, True)}[what]
            assert state == after, \
                f"{operation} ({what}) as {caller} was ok but the state is {state}, not {after}"
        else:
            assert state == (mon.target, start_running), \
                f"a refused {operation} ({what}) as {caller} changed the state: {state}"


def _device_steering(flags, what):
    ops = {"pid": lambda fd: _tm_pid(fd, os.getpid()),
           "stop": lambda fd: fcntl.ioctl(fd, uapi.TM_STOP) and None,
           "start": lambda fd: fcntl.ioctl(fd, uapi.TM_START) and None}
    return _on_device(flags, ops[what])


def _steer_rows(mon, caller, expected, operation):
    flags = os.O_RDONLY if operation == "steer-read-only" else os.O_RDWR
    steps = {"steer-read-only": ("pid", "stop", "start"), "pid-set": ("pid",),
             "start-stop": ("stop", "start")}[operation]
    for what in steps:
        _steer(mon, caller, expected, operation, what, _device_steering(flags, what),
               start_running=what != "start", flags=flags)
    mon.set_state()


def _sysfs_read(mon, caller, expected, operation):
    outcome = as_caller.run(caller, _on_sysfs(os.O_RDONLY))
    _expect(outcome, expected, f"{operation} as {caller}", after_open=False)
    if outcome["errno"] == 0:
        assert tmdev.parse_line(outcome["value"])[0] == mon.target
    assert mon.state() == (mon.target, True)


def _sysfs_write(mon, caller, expected, operation):
    for what in ("stop", "start"):
        _steer(mon, caller, expected, operation, what, _on_sysfs(os.O_WRONLY, what.encode()),
               start_running=what == "stop")
    mon.set_state()


PERIOD = "/sys/module/taskmonitor/parameters/period_ms"


def _period() -> int:
    with open(PERIOD) as f:
        return int(f.read())


def _period_write(mon, caller, expected, operation):
    def run():
        try:
            fd = os.open(PERIOD, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as e:
            return {"stage": "open", "errno": e.errno}
        try:
            os.write(fd, b"500")
            return {"stage": "op", "errno": 0}
        except OSError as e:
            return {"stage": "op", "errno": e.errno}
        finally:
            os.close(fd)

    before = _period()
    outcome = as_caller.run(caller, run)
    after = _period()
    _expect(outcome, expected, f"{operation} as {caller}", after_open=False)
    if outcome["errno"] == 0:
        assert after == 500, f"{operation} as {caller} was ok but the period is {after}"
        with open(PERIOD, "w") as f:
            f.write(str(before))
    else:
        assert after == before, f"a refused {operation} as {caller} changed the period to {after}"
    assert mon.state() == (mon.target, True)


ROWS = {
    "open-read": _open_rows, "open-write": _open_rows,
    **{op: _read_rows for op in _READS},
    "steer-read-only": _steer_rows, "pid-set": _steer_rows, "start-stop": _steer_rows,
    "sysfs-read": _sysfs_read, "sysfs-write": _sysfs_write,
    "subscribe-other": _read_rows, "list": _read_rows, "period-write": _period_write,
}
assert set(ROWS) == set(OPERATIONS)


CELLS = [(operation, caller) for operation in OPERATIONS for caller in CALLERS]


@pytest.mark.parametrize("operation,caller", CELLS, ids=[f"{o}:{c}" for o, c in CELLS])
def test_cell(mon, operation, caller):
    if caller == "userns-root" and not os.path.exists("/proc/self/ns/user"):
        pytest.skip("this kernel has no user namespaces (CONFIG_USER_NS is not set): "
                    "there is no root in a user namespace to run the cell as")
    ROWS[operation](mon, caller, _cell(operation, caller), operation)
