"""taskmonitor's access= parameter (docs/security.md, "Reading other
processes"): its values, and access=ptrace's table, cell by cell.

Under access=ptrace, reading a process other than the caller's own needs
ptrace_may_access(PTRACE_MODE_READ_FSCREDS) with the opener's credentials.
The table's cells run as test_access.py's callers (as_caller.py) against
the real module.  Each group member's answer is also compared with the
kernel's own answer to the same question, following /proc/PID/ns/mnt,
with Yama's ptrace_scope at 0 and 2 (and 3, irreversible until reboot,
only when TASKMON_YAMA_SCOPE3=1 asks: run it in a VM of its own, last).
Landlock confines a caller to show a security module deciding, with the
credentials of whoever opened the file.
"""
import ctypes
import errno
import fcntl
import os
import signal
import threading

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

PARAM = "/sys/module/taskmonitor/parameters/access"
YAMA = "/proc/sys/kernel/yama/ptrace_scope"
CALLERS = ("root", "group", "user")
OPERATIONS = ("stats-own", "stats-sibling", "stats-other", "batch-other", "subscribe-other",
              "stats-target", "get", "list", "landlock-after-open", "landlock-before-open")
TABLE = "access-table-ptrace"


# ---- the parameter -----------------------------------------------------------

def test_default_is_group(load):
    load("taskmonitor")
    assert open(PARAM).read() == "group\n"


@pytest.mark.parametrize("value", ["ptrace", "group"])
def test_valid_values_load(load, value):
    load("taskmonitor", f"access={value}")
    assert open(PARAM).read() == value + "\n"


@pytest.mark.parametrize("value", ["", "bogus", "PTRACE", "group,ptrace", "1", "ptrace2"])
def test_invalid_value_fails_the_load(value, kmsg):
    with pytest.raises(OSError) as err:
        kmod.load(module_path("taskmonitor"), f"access={value}")
    assert err.value.errno == errno.EINVAL, err.value
    assert not kmod.is_loaded("taskmonitor")
    kmsg.wait_for(r"access=.*: give group .* or ptrace")


def test_runtime_writes(load):
    load("taskmonitor")
    for value, expected in (("ptrace", "ptrace"), ("group\n", "group"), ("ptrace\n", "ptrace")):
        with open(PARAM, "w") as f:
            f.write(value)
        assert open(PARAM).read() == expected + "\n"
    for bad in ("bogus", "groupx", "ptrace\n\n", "group ptrace"):
        fd = os.open(PARAM, os.O_WRONLY)
        try:
            with pytest.raises(OSError) as err:
                os.write(fd, bad.encode())
            assert err.value.errno == errno.EINVAL, bad
        finally:
            os.close(fd)
        assert open(PARAM).read() == "ptrace\n", f"a refused {bad!r} changed the mode"


def test_runtime_write_needs_root(load):
    load("taskmonitor")

    def write():
        try:
            with open(PARAM, "w") as f:
                f.write("ptrace")
            return 0
        except OSError as e:
            return e.errno
    assert as_caller.run("group", write) == errno.EACCES
    assert as_caller.run("userns-root", write) in (errno.EACCES, errno.EPERM)
    assert open(PARAM).read() == "group\n"


def test_mode_switch_applies_to_the_next_request(load, busy):
    """A file opened under access=group is refused the next request once
    root switched to ptrace, and answered again once back to group."""
    other = busy()
    load("taskmonitor")
    os.chown(tmdev.DEV, 0, as_caller.GROUP)
    os.chmod(tmdev.DEV, 0o640)
    asked_r, asked_w = os.pipe()
    switched_r, switched_w = os.pipe()

    def run():
        fd = _open()
        try:
            answers = [_outcome(lambda: stats_uapi.stats(fd, other.pid).pid)["errno"]]
            os.write(asked_w, b"1")
            os.read(switched_r, 1)
            answers.append(_outcome(lambda: stats_uapi.stats(fd, other.pid).pid)["errno"])
            return answers
        finally:
            os.close(fd)

    def switch():
        os.read(asked_r, 1)
        with open(PARAM, "w") as f:
            f.write("ptrace")
        os.write(switched_w, b"1")

    switcher = threading.Thread(target=switch, daemon=True)
    switcher.start()
    answers = as_caller.run("group", run)
    switcher.join(10)
    for fd in (asked_r, asked_w, switched_r, switched_w):
        os.close(fd)
    assert answers == [0, errno.EACCES], answers
    with open(PARAM, "w") as f:
        f.write("group")

    def again():
        fd = _open()
        try:
            return _outcome(lambda: stats_uapi.stats(fd, other.pid).pid)["errno"]
        finally:
            os.close(fd)
    assert as_caller.run("group", again) == 0


# ---- Landlock ----------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_RESTRICT_SELF = 446
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_LANDLOCK_ACCESS_FS_EXECUTE = 1


def landlock_available() -> bool:
    abi = _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(1))  # LANDLOCK_CREATE_RULESET_VERSION
    return abi >= 1


def landlock_confine() -> None:
    """Confine this process in a Landlock domain of its own (executing
    files refused; nothing this test does needs it)."""
    attr = ctypes.c_uint64(_LANDLOCK_ACCESS_FS_EXECUTE)
    fd = _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr),
                       ctypes.c_size_t(8), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if _libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, fd, ctypes.c_uint32(0)):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(fd)


# ---- the table ---------------------------------------------------------------

def _table():
    try:
        return access_table.read(name=TABLE)
    except access_table.TableError as e:
        pytest.fail(f"docs/security.md's ptrace table cannot be read: {e}", pytrace=False)


def test_the_ptrace_table_has_exactly_the_operations_and_callers_tested_here():
    callers, table = _table()
    assert list(callers) == list(CALLERS)
    assert sorted(table) == sorted(OPERATIONS)


@pytest.fixture(autouse=True)
def no_module_left_loaded(request):
    """Each test starts with none of the modules loaded, but the tests of
    the module-scoped `ptrace_monitor`, which keeps one load for all the
    table's cells."""
    if "ptrace_monitor" not in request.fixturenames:
        for name in MODULES:
            kmod.unload_if_loaded(name)
    yield


@pytest.fixture(scope="module")
def ptrace_monitor():
    for name in MODULES:
        kmod.unload_if_loaded(name)
    root_busy = procs.spawn_busy()
    try:
        kmod.load(module_path("taskmonitor"), f"target={root_busy.pid} access=ptrace")
        os.chown(tmdev.DEV, 0, as_caller.GROUP)
        os.chmod(tmdev.DEV, 0o640)
        yield root_busy.pid
    finally:
        for name in MODULES:
            kmod.unload_if_loaded(name)
        procs.kill(root_busy)


def _sibling():
    """A child of the caller, of the caller's user, sleeping.  Dumpable, as
    a process its user started is: the caller dropped root with
    setresuid(), which left it (and would leave its child) non-dumpable,
    that is readable by root only, with ptrace's rules and /proc's."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
            os.write(ready_w, b"1")
            signal.pause()
        finally:
            os._exit(0)
    os.read(ready_r, 1)
    os.close(ready_r)
    os.close(ready_w)
    return pid


def _end(pid):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _outcome(call):
    try:
        value = call()
        return {"errno": 0, "value": value}
    except OSError as e:
        return {"errno": e.errno}


def _open():
    return os.open(tmdev.DEV, os.O_RDONLY | os.O_CLOEXEC)


def _batch(fd, pid):
    records, _ = stats_uapi.batch(fd, [pid])
    if records[0].error:
        raise OSError(-records[0].error, os.strerror(-records[0].error))
    return records[0].pid


def _subscribe(fd, pid):
    stream_uapi.subscribe(fd, [pid], period_ns=stream_uapi.PERIOD_MAX_NS)
    return stream_uapi.read_records(fd, 1)[0].pid


def _get(fd):
    sample = uapi.TaskSample()
    fcntl.ioctl(fd, uapi.TM_GET, sample)
    return sample.utime


def _operation(operation, other):
    """The function a caller runs for the row: {'stage', 'errno', ...}."""
    def run():
        sibling = _sibling() if operation in ("stats-sibling", "landlock-after-open",
                                              "landlock-before-open") else None
        try:
            if operation == "landlock-before-open":
                landlock_confine()
            try:
                fd = _open()
            except OSError as e:
                return {"stage": "open", "errno": e.errno}
            try:
                if operation == "landlock-after-open":
                    landlock_confine()
                calls = {
                    "stats-own": lambda: stats_uapi.stats(fd, os.getpid()).pid,
                    "stats-sibling": lambda: stats_uapi.stats(fd, sibling).pid,
                    "landlock-after-open": lambda: stats_uapi.stats(fd, sibling).pid,
                    "landlock-before-open": lambda: stats_uapi.stats(fd, sibling).pid,
                    "stats-other": lambda: stats_uapi.stats(fd, other).pid,
                    "stats-target": lambda: stats_uapi.stats(fd, 0).pid,
                    "batch-other": lambda: _batch(fd, other),
                    "subscribe-other": lambda: _subscribe(fd, other),
                    "get": lambda: _get(fd),
                    "list": lambda: other in [p for p, _ in list_uapi.processes(fd)],
                }
                out = _outcome(calls[operation])
                out["stage"] = "op"
                out["expected_pid"] = {"stats-own": os.getpid(), "stats-other": other,
                                       "stats-target": other, "batch-other": other,
                                       "subscribe-other": other}.get(operation, sibling)
                return out
            finally:
                os.close(fd)
        finally:
            if sibling:
                _end(sibling)
    return run


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_ptrace_cell(ptrace_monitor, operation, caller):
    callers, table = _table()
    expected = table[operation][caller]
    if operation.startswith("landlock") and not landlock_available():
        pytest.skip("Landlock is not enabled in this kernel")
    outcome = as_caller.run(caller, _operation(operation, ptrace_monitor))
    said = f"docs/security.md says {operation} as {caller} is {expected!r} under " \
           f"access=ptrace; the kernel gave {outcome}"
    if expected == access_table.UNREACHABLE:
        assert outcome["stage"] == "open" and outcome["errno"], said
        return
    assert outcome["stage"] == "op", said
    if expected == access_table.OK:
        assert outcome["errno"] == 0, said
        value = outcome["value"]
        if operation == "list":
            assert value is True, "TM_LIST does not list root's process"
        elif operation == "get":
            assert value > 0
        elif operation != "list":
            assert value == outcome["expected_pid"], said
    else:
        assert outcome["errno"] == getattr(errno, expected), said


# ---- the same answers as /proc -----------------------------------------------

def _verdicts(other):
    """As the caller: for its own process, a sibling and root's process,
    whether TM_STATS answers and whether /proc/PID/ns/mnt may be followed."""
    def run():
        sibling = _sibling()
        try:
            fd = _open()
            try:
                out = {}
                for name, pid in (("own", os.getpid()), ("sibling", sibling), ("other", other)):
                    module = _outcome(lambda: stats_uapi.stats(fd, pid).pid)["errno"]
                    proc = _outcome(lambda: os.stat(f"/proc/{pid}/ns/mnt"))["errno"]
                    out[name] = [module, proc]
                return out
            finally:
                os.close(fd)
        finally:
            _end(sibling)
    return run


def _with_yama(scope):
    if not os.path.exists(YAMA):
        pytest.skip("this kernel has no Yama")
    before = int(open(YAMA).read())
    if before == 3 and scope != 3:
        pytest.skip("ptrace_scope is 3 (set by an earlier test): it cannot be lowered")
    with open(YAMA, "w") as f:
        f.write(str(scope))
    return before


@pytest.mark.parametrize("scope", [0, 2, 3])
def test_verdicts_are_procs_under_yama(ptrace_monitor, scope):
    """A group member's TM_STATS answers exactly when its /proc/PID/ns/mnt
    may be followed; Yama (attach only) changes neither."""
    if scope == 3 and os.environ.get("TASKMON_YAMA_SCOPE3") != "1":
        pytest.skip("ptrace_scope=3 cannot be lowered until reboot: set TASKMON_YAMA_SCOPE3=1 "
                    "to run it (last, in a VM of its own)")
    before = _with_yama(scope)
    try:
        verdicts = as_caller.run("group", _verdicts(ptrace_monitor))
    finally:
        if scope != 3:
            with open(YAMA, "w") as f:
                f.write(str(before))
    print(f"ptrace_scope={scope}: {verdicts}")
    for name, (module, proc) in verdicts.items():
        module_ok, proc_ok = module == 0, proc == 0
        assert module_ok == proc_ok, f"{name}: module errno {module}, /proc errno {proc}"
        if not module_ok:
            assert module == errno.EACCES, f"{name}: {module}"
    assert verdicts["own"][0] == 0 and verdicts["sibling"][0] == 0
    assert verdicts["other"][0] == errno.EACCES


def test_landlocked_verdicts_are_procs(ptrace_monitor):
    """Confined by Landlock before opening, the group member is refused
    what its /proc refuses it: its own user's sibling, outside its domain."""
    if not landlock_available():
        pytest.skip("Landlock is not enabled in this kernel")

    def run():
        sibling = _sibling()
        try:
            landlock_confine()
            fd = _open()
            try:
                module = _outcome(lambda: stats_uapi.stats(fd, sibling).pid)["errno"]
                proc = _outcome(lambda: os.stat(f"/proc/{sibling}/ns/mnt"))["errno"]
                return [module, proc]
            finally:
                os.close(fd)
        finally:
            _end(sibling)
    module, proc = as_caller.run("group", run)
    assert proc == errno.EACCES, f"/proc allowed a Landlock-confined caller: {proc}"
    assert module == errno.EACCES, module


def test_group_mode_asks_nothing(load, busy):
    """The default reads another user's process, even Landlock-confined."""
    other = busy()
    load("taskmonitor")
    os.chown(tmdev.DEV, 0, as_caller.GROUP)
    os.chmod(tmdev.DEV, 0o640)

    def run():
        if landlock_available():
            landlock_confine()
        fd = _open()
        try:
            return _outcome(lambda: stats_uapi.stats(fd, other.pid).uid)
        finally:
            os.close(fd)
    assert as_caller.run("group", run) == {"errno": 0, "value": 0}
