# SPDX-License-Identifier: GPL-2.0-only
"""The Python API without a kernel module: errors, closing, Sample."""
import dataclasses
import errno
import os
import pathlib
import pickle
import re
import stat
import warnings

import pytest

import taskmon

MISSING = "/nonexistent/taskmonitor"

# errno -> (taskmon class, the built-in OSError subclass it also is, or None)
ERROR_CLASSES = [
    (errno.ENOENT, taskmon.DeviceNotFoundError, FileNotFoundError),
    (errno.ENODEV, taskmon.DeviceNotFoundError, FileNotFoundError),
    (errno.ENXIO, taskmon.DeviceNotFoundError, FileNotFoundError),
    (errno.EACCES, taskmon.PermissionDeniedError, PermissionError),
    (errno.EPERM, taskmon.PermissionDeniedError, PermissionError),
    (errno.ESRCH, taskmon.NoSuchProcessError, ProcessLookupError),
    (errno.ENODATA, taskmon.NoTargetError, None),
    (errno.ENOTTY, taskmon.NotSupportedError, None),
    (errno.EINVAL, taskmon.InvalidArgumentError, ValueError),
]


# ---- the exception classes ---------------------------------------------------

@pytest.mark.parametrize("num, cls, builtin", ERROR_CLASSES)
def test_error_classes_are_oserrors_and_the_builtin_ones(num, cls, builtin):
    assert issubclass(cls, taskmon.Error)
    assert issubclass(cls, OSError)
    if builtin is not None:
        assert issubclass(cls, builtin)
    e = cls(num, "the whole message", "/dev/x")
    assert e.errno == num
    assert e.strerror == os.strerror(num)
    assert e.filename == "/dev/x"
    assert str(e) == "the whole message"
    assert e.device == "/dev/x"
    assert e.operation is None and e.pid is None
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is cls
    assert (copy.errno, copy.filename, str(copy)) == (num, "/dev/x", "the whole message")


def test_errors_carry_operation_and_pid_and_pickle_them():
    e = taskmon.PermissionDeniedError(errno.EBADF, "read-only", "/dev/taskmonitor",
                                      operation="TM_PID", pid=42)
    assert (e.errno, e.operation, e.pid, e.device) == (errno.EBADF, "TM_PID", 42,
                                                       "/dev/taskmonitor")
    assert isinstance(e, PermissionError)
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is taskmon.PermissionDeniedError
    assert (copy.errno, copy.operation, copy.pid, str(copy)) == (errno.EBADF, "TM_PID", 42,
                                                                 "read-only")


def test_error_defaults():
    e = taskmon.Error(errno.EIO)
    assert (e.errno, e.strerror, e.filename, str(e)) == (
        errno.EIO, os.strerror(errno.EIO), None, os.strerror(errno.EIO))
    assert not isinstance(e, (FileNotFoundError, ProcessLookupError, ValueError))


def test_no_such_process_carries_the_pid():
    e = taskmon.NoSuchProcessError(errno.ESRCH, "gone", "/dev/taskmonitor", pid=4242)
    assert e.pid == 4242
    assert pickle.loads(pickle.dumps(e)).pid == 4242
    assert taskmon.NoSuchProcessError().errno == errno.ESRCH
    assert taskmon.NoSuchProcessError().pid is None
    with pytest.raises(ProcessLookupError):
        raise e
    with pytest.raises(taskmon.Error):
        raise e


# ---- opening -----------------------------------------------------------------------

def test_missing_device_is_file_not_found_saying_why():
    with pytest.raises(FileNotFoundError) as exc:
        taskmon.Monitor(MISSING)
    e = exc.value
    assert isinstance(e, taskmon.DeviceNotFoundError)
    assert e.errno == errno.ENOENT
    assert e.filename == MISSING
    assert e.strerror == os.strerror(errno.ENOENT)
    assert e.operation == "open" and e.pid is None
    message = str(e)
    assert message == (f"cannot open {MISSING}: No such file or directory (the taskmonitor "
                       f"kernel module, which creates {MISSING}, is probably not loaded)")


def test_missing_hello_device_names_its_module():
    with pytest.raises(taskmon.DeviceNotFoundError) as exc:
        taskmon.Hello("/nonexistent/hello")
    assert "the helloioctl kernel module" in str(exc.value)


def test_default_paths():
    assert taskmon.Monitor.DEFAULT_PATH == "/dev/taskmonitor"
    assert taskmon.Hello.DEFAULT_PATH == "/dev/hello"


@pytest.mark.parametrize("path", ["/", "/etc/hostname", "/proc/self/stat"])
def test_not_a_character_device(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    with pytest.raises(taskmon.NotSupportedError) as exc:
        taskmon.Monitor(path)
    assert exc.value.errno == errno.ENOTTY
    assert "not a character device" in str(exc.value)


def test_a_path_through_a_file_is_a_plain_error():
    with pytest.raises(taskmon.Error) as exc:
        taskmon.Monitor("/etc/hostname/taskmonitor")
    assert exc.value.errno == errno.ENOTDIR
    assert type(exc.value) is taskmon.Error
    assert "must be the character device the taskmonitor module creates" in str(exc.value)


@pytest.mark.parametrize("mode, steer, reason", [
    (0o640, False, "reading needs membership of its group {group}"),
    (0o640, True, "opening it for steering (read-write) needs to be its owner {owner}"),
    (0o600, False, "reading needs to be its owner {owner}"),
])
def test_permission_denied_names_the_device_permissions(mode, steer, reason):
    import grp
    import pwd
    import shutil
    import tempfile
    # Not pytest's tmp_path: its parent is 0700, so nobody could not even
    # reach (nor stat) the file.
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="taskmon-perm-", dir="/tmp"))
    device = tmp_path / "taskmonitor"
    device.write_text("")
    device.chmod(mode)
    st = device.stat()
    owner, group = pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name
    if os.geteuid() == 0:  # root opens anything: be nobody for the open
        tmp_path.chmod(0o755)
        os.setegid(65534)
        os.seteuid(65534)
    try:
        with pytest.raises(PermissionError) as exc:
            taskmon.Monitor(device, steer=steer)
    finally:
        if os.getuid() == 0:
            os.seteuid(0)
            os.setegid(0)
        shutil.rmtree(tmp_path, ignore_errors=True)
    e = exc.value
    if os.getuid() != 0 and st.st_uid == os.getuid() and not steer:
        pytest.skip("the owner may read its own file")
    assert isinstance(e, taskmon.PermissionDeniedError)
    assert e.errno == errno.EACCES
    assert e.operation == "open"
    what = f"cannot open {device}{' for steering' if steer else ''}: Permission denied"
    assert str(e) == (f"{what} (the device is {owner}:{group} {mode:04o}: "
                      f"{reason.format(owner=owner, group=group)})")


def test_path_like_and_bad_paths(null_monitor):
    with taskmon.Monitor(pathlib.Path("/dev/null")) as m:
        assert m.path == "/dev/null"
    assert null_monitor.path == "/dev/null"
    with pytest.raises(TypeError):
        taskmon.Monitor(3)  # type: ignore[arg-type]


def test_descriptor_is_a_close_on_exec_character_device(null_monitor):
    fd = null_monitor.fileno()
    assert stat.S_ISCHR(os.fstat(fd).st_mode)
    assert os.fstat(fd).st_rdev == os.stat("/dev/null").st_rdev
    assert not os.get_inheritable(fd)


# ---- requests on a device that is not a taskmonitor ---------------------------

@pytest.mark.parametrize("request_name, call", [
    ("TM_GET", lambda m: m.sample()),
    ("TM_GET_TEXT", lambda m: m.sample_text()),
    ("TM_START", lambda m: m.start()),
    ("TM_STOP", lambda m: m.stop()),
    ("TM_PID", lambda m: m.target()),
    ("TM_PID", lambda m: m.set_target(1)),
])
def test_ioctl_on_dev_null_is_not_supported(null_request_fails, request_name, call):
    e = null_request_fails(call, request_name)
    assert "not a taskmonitor device" in str(e)


def test_hello_on_dev_null_is_not_supported():
    with taskmon.Hello("/dev/null") as hello:
        with pytest.raises(taskmon.NotSupportedError) as exc:
            hello.message()
    assert "not a helloioctl device" in str(exc.value)


@pytest.mark.parametrize("pid", [0, -1, -2**31])
def test_target_that_is_not_a_pid_is_einval_before_the_kernel(null_monitor, pid):
    # /dev/null would answer ENOTTY: EINVAL proves the kernel was not asked.
    with pytest.raises(ValueError) as exc:
        null_monitor.set_target(pid)
    e = exc.value
    assert isinstance(e, taskmon.InvalidArgumentError)
    assert e.errno == errno.EINVAL
    assert (e.operation, e.pid) == ("set_target", pid or None)
    assert "without asking the kernel" in str(e)
    assert f"a target pid must be a positive process id, not {pid}" in str(e)


@pytest.mark.parametrize("pid", [2**31, 2**40, -2**31 - 1])
def test_target_out_of_pid_t_is_einval_from_python(null_monitor, pid):
    with pytest.raises(taskmon.InvalidArgumentError) as exc:
        null_monitor.set_target(pid)
    assert exc.value.errno == errno.EINVAL
    assert exc.value.operation == "set_target"
    assert f"{pid} does not" in str(exc.value)
    assert "without asking the kernel" in str(exc.value)


@pytest.mark.parametrize("value", [True, 1.0, "12", None])
def test_target_must_be_an_int(null_monitor, value):
    with pytest.raises(TypeError):
        null_monitor.set_target(value)


def test_target_accepts_index_types(null_monitor):
    class Pid:
        def __index__(self):
            return 1
    with pytest.raises(taskmon.NotSupportedError):  # reached the ioctl
        null_monitor.set_target(Pid())  # type: ignore[arg-type]


def test_target_is_a_method_so_hasattr_never_asks_the_kernel(null_monitor):
    # On /dev/null a property would raise NotSupportedError inside hasattr().
    assert hasattr(null_monitor, "target")
    assert callable(null_monitor.target)
    with pytest.raises(AttributeError):
        null_monitor.target = 1  # type: ignore[method-assign]


# ---- the open mode (docs/security.md) ---------------------------------------------

def test_monitor_opens_read_only_unless_asked_to_steer():
    import fcntl
    with taskmon.Monitor("/dev/null") as reader:
        assert reader.steer is False
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
    with taskmon.Monitor("/dev/null", steer=True) as steerer:
        assert steerer.steer is True
        assert fcntl.fcntl(steerer.fileno(), fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
    with pytest.raises(TypeError):
        taskmon.Monitor("/dev/null", True)  # type: ignore[misc]  # keyword only


def test_no_attribute_raises_anything_but_attribute_error():
    """hasattr() and debuggers read every attribute: none may ask the kernel
    or raise, open or closed."""
    for closed in (False, True):
        m = taskmon.Monitor("/dev/null", steer=True)
        if closed:
            m.close()
        for name in dir(m):
            getattr(m, name)  # ValueError or OSError here would fail the test
        assert m.steer is True and hasattr(m, "target") and hasattr(m, "closed")
        m.close()


# ---- ResourceWarning ---------------------------------------------------------------

def test_unclosed_objects_warn_as_files_do():
    import gc
    for make in (lambda: taskmon.Monitor("/dev/null"), lambda: taskmon.Hello("/dev/null")):
        obj = make()
        fd = obj.fileno()
        text = repr(obj)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del obj
            gc.collect()
        assert [str(w.message) for w in caught if w.category is ResourceWarning] == [
            f"unclosed {text}"]
        with pytest.raises(OSError):
            os.fstat(fd)  # closed after the warning


def test_closed_objects_do_not_warn():
    import gc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with taskmon.Monitor("/dev/null"):
            pass
        m = taskmon.Monitor("/dev/null")
        m.close()
        del m
        try:
            taskmon.Monitor("/nonexistent/taskmonitor")  # never opened
        except taskmon.DeviceNotFoundError:
            pass
        gc.collect()
    assert not [w for w in caught if w.category is ResourceWarning]


# ---- closing -----------------------------------------------------------------------

CALLS = {
    "sample": lambda m: m.sample(),
    "sample_text": lambda m: m.sample_text(),
    "start": lambda m: m.start(),
    "stop": lambda m: m.stop(),
    "target": lambda m: m.target(),
    "set_target": lambda m: m.set_target(1),
    "fileno": lambda m: m.fileno(),
}


@pytest.mark.parametrize("name", CALLS)
def test_closed_monitor_raises_value_error(name):
    m = taskmon.Monitor("/dev/null")
    m.close()
    with pytest.raises(ValueError, match="^I/O operation on closed monitor$"):
        CALLS[name](m)


def test_close_is_idempotent_and_closes_the_descriptor():
    m = taskmon.Monitor("/dev/null")
    fd = m.fileno()
    assert not m.closed
    m.close()
    assert m.closed
    m.close()
    assert m.closed
    with pytest.raises(OSError) as exc:
        os.fstat(fd)
    assert exc.value.errno == errno.EBADF


def test_context_manager_closes_even_on_error():
    with pytest.raises(taskmon.NotSupportedError):
        with taskmon.Monitor("/dev/null") as m:
            assert not m.closed
            m.sample()
    assert m.closed
    with pytest.raises(ValueError, match="closed monitor"):
        with m:
            pass


def test_closed_hello_raises_value_error():
    with taskmon.Hello("/dev/null") as h:
        assert h.fileno() >= 0
    assert h.closed
    with pytest.raises(ValueError, match="^I/O operation on closed hello device$"):
        h.message()


def test_repr():
    m = taskmon.Monitor("/dev/null")
    assert repr(m) == f"<taskmon.Monitor path='/dev/null' fd={m.fileno()}>"
    m.close()
    assert repr(m) == "<taskmon.Monitor path='/dev/null' closed>"


def test_monitor_cannot_be_pickled(null_monitor):
    with pytest.raises(TypeError):
        pickle.dumps(null_monitor)


# ---- Sample --------------------------------------------------------------------------

def test_sample_repr_fields_and_total():
    s = taskmon.Sample(user_ns=36181127855, system_ns=28725434471)
    assert repr(s) == "Sample(user_ns=36181127855, system_ns=28725434471)"
    assert (s.user_ns, s.system_ns, s.total_ns) == (36181127855, 28725434471, 64906562326)
    assert (s.user, s.system) == (36.181127855, 28.725434471)
    assert s.total == 64906562326 / 1e9
    assert isinstance(s.user, float)


def test_sample_unpacks_like_a_named_tuple():
    user_ns, system_ns = taskmon.Sample(3, 4)
    assert (user_ns, system_ns) == (3, 4)
    assert tuple(taskmon.Sample(5, 6)) == (5, 6)
    assert len(taskmon.Sample(5, 6)) == 2


def test_cpu_percent():
    earlier = taskmon.Sample(1_000_000_000, 1_000_000_000)
    later = taskmon.Sample(1_750_000_000, 1_250_000_000)
    assert taskmon.cpu_percent(earlier, later, 2.0) == 50.0
    assert taskmon.cpu_percent(earlier, earlier + taskmon.Sample(2_000_000_000, 0), 1.0) == 200.0
    assert taskmon.cpu_percent(earlier, later, 0) == 0.0
    assert taskmon.cpu_percent(later, earlier, 1.0) < 0


def test_sample_is_immutable_hashable_and_compares_by_value():
    s = taskmon.Sample(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.user_ns = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.total = 5  # type: ignore[misc]
    assert s == taskmon.Sample(1, 2)
    assert s != taskmon.Sample(2, 1)
    assert s != (1, 2)
    assert len({s, taskmon.Sample(1, 2), taskmon.Sample(2, 1)}) == 2
    assert pickle.loads(pickle.dumps(s)) == s


def test_sample_arithmetic():
    later, earlier = taskmon.Sample(10, 7), taskmon.Sample(4, 2)
    assert later - earlier == taskmon.Sample(6, 5)
    assert earlier + taskmon.Sample(6, 5) == later
    with pytest.raises(TypeError):
        later - (1, 1)  # type: ignore[operator]


# ---- the package ---------------------------------------------------------------------

def project_version() -> str:
    """The version as its one source says: project(taskmon VERSION X.Y.Z) in
    the top-level CMakeLists.txt, read from the text itself (not through the
    build, whose figures are the ones under test)."""
    text = (pathlib.Path(__file__).resolve().parents[2] / "CMakeLists.txt").read_text()
    match = re.search(r"project\(\s*taskmon\s[^)]*VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", text)
    assert match, "no project(taskmon VERSION X.Y.Z) in CMakeLists.txt"
    return match.group(1)


def test_versions():
    expected = project_version()
    assert taskmon.__version__ == expected
    assert taskmon._ext.__version__ == expected
    assert taskmon.library_version() == expected


def test_public_names():
    for name in taskmon.__all__:
        assert hasattr(taskmon, name), name
    assert {"Monitor", "Hello", "Sample", "Error", "NoSuchProcessError", "NoTargetError",
            "NotSupportedError"} <= set(taskmon.__all__)


def test_py_typed_and_stubs_ship_with_the_package():
    here = pathlib.Path(taskmon.__file__).parent
    assert (here / "py.typed").exists()
    assert (here / "_ext.pyi").exists()
