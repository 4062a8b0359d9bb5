# SPDX-License-Identifier: GPL-2.0-only
"""Per-process statistics in Python without a kernel module.

/dev/null answers every ioctl with ENOTTY, as a module without TM_STATS
does; the checks that must happen before the kernel is asked (pid range,
types) show as errors other than ENOTTY.  The figures themselves are tested
against the module in the VM (test_stats_vm.py); the psutil facade's
arithmetic is tested here on Stats values fed in place of the device.
"""
import dataclasses
import errno
import os
import pickle
import re
import threading
import time

import pytest

import taskmon
import taskmon._process
import taskmon_procfake as procfake
import taskmon_testlib as lib

FIELDS = ["pid", "tgid", "ppid", "comm", "threads", "state", "uid", "euid", "gid", "egid",
          "user_ns", "system_ns", "minor_faults", "major_faults", "voluntary_ctxsw",
          "involuntary_ctxsw", "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes",
          "vsize_bytes", "start_time_ns", "sample_time_ns"]


def full_stats(pid=42, **changes):
    values = dict(pid=pid, tgid=pid, ppid=1, comm="bash", threads=3, state="S", uid=1000,
                  euid=1000, gid=100, egid=100, user_ns=1_500_000_000, system_ns=250_000_000,
                  minor_faults=10, major_faults=1, voluntary_ctxsw=7, involuntary_ctxsw=2,
                  rss_anon_bytes=40960, rss_file_bytes=81920, rss_shmem_bytes=4096,
                  vsize_bytes=1 << 24, start_time_ns=5_000_000_000, sample_time_ns=9_000_000_000)
    values.update(changes)
    return taskmon.Stats(**values)


# ---- Stats -------------------------------------------------------------------------

def test_stats_fields_are_exactly_the_documented_ones():
    assert [f.name for f in dataclasses.fields(taskmon.Stats)] == FIELDS


def test_stats_from_the_extension_equals_the_constructed_one():
    fields = dataclasses.asdict(full_stats(42))
    made = taskmon.Stats._from_ext(fields)
    assert made == full_stats(42) and hash(made) == hash(full_stats(42))
    assert repr(made) == repr(full_stats(42))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.pid = 1  # type: ignore[misc]
    fields["pid"] = 7
    assert made.pid == 42, "the extension's dict is copied, not kept"


def test_stats_is_frozen_hashable_picklable_and_defaults_to_none():
    s = taskmon.Stats(pid=7)
    assert all(getattr(s, name) is None for name in FIELDS[1:])
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.pid = 8  # type: ignore[misc]
    assert len({s, taskmon.Stats(pid=7), taskmon.Stats(pid=8)}) == 2
    assert pickle.loads(pickle.dumps(full_stats())) == full_stats()


def test_stats_seconds_and_totals():
    s = full_stats()
    assert s.cpu_ns == 1_750_000_000
    assert s.user == 1.5
    assert s.system == 0.25
    assert s.cpu == 1.75
    assert s.start_time == 5.0
    assert s.sample_time == 9.0
    assert s.rss_bytes == 40960 + 81920 + 4096
    bare = taskmon.Stats(pid=2)
    assert bare.cpu_ns is None and bare.cpu is None and bare.rss_bytes is None
    assert bare.user is None and bare.start_time is None


# ---- Monitor.stats on a device without TM_STATS ---------------------------------

@pytest.mark.parametrize("call, request_name", [
    (lambda m: m.stats(1), "TM_STATS"),
    (lambda m: m.stats(), "TM_STATS"),
    (lambda m: m.stats(1, threads=True), "TM_STATS"),
    (lambda m: m.stats_many([1, 2]), "TM_STATS_BATCH"),
])
def test_old_module_is_not_supported_with_a_clear_message(null_request_fails, call, request_name):
    e = null_request_fails(call, request_name)
    assert "lacks the per-process statistics requests" in str(e)


def _dev_null_fds():
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == "/dev/null"
               for fd in os.listdir("/proc/self/fd"))


def test_module_level_stats_opens_and_closes(tmp_path):
    before = _dev_null_fds()
    with pytest.raises(taskmon.NotSupportedError):
        taskmon.stats(1, path="/dev/null")
    with pytest.raises(taskmon.NotSupportedError):
        taskmon.stats(path="/dev/null")
    with pytest.raises(taskmon.DeviceNotFoundError):
        taskmon.stats(1, path=tmp_path / "missing")
    assert _dev_null_fds() == before, "a descriptor was left open"


@pytest.mark.parametrize("pid", [0, -1, -2**31, 2**31, 2**63, -2**63 - 1, 10**30])
def test_pid_that_is_not_a_pid_is_value_error_before_the_kernel(null_monitor, pid):
    # /dev/null would answer ENOTTY: EINVAL proves the kernel was not asked.
    with pytest.raises(ValueError) as exc:
        null_monitor.stats(pid)
    e = exc.value
    assert isinstance(e, taskmon.InvalidArgumentError)
    assert e.errno == errno.EINVAL
    assert e.operation == "stats"
    assert "without asking the kernel" in str(e)
    if -2**31 <= pid < 2**31:  # libtaskmon's check
        assert f"a pid must be a positive process id, not {pid}" in str(e)
    else:  # the Python layer's: it does not fit a pid_t
        assert f"a pid must fit a C pid_t (32 bits), and {pid} does not" in str(e)
    assert "TypeError" not in str(e) and "_ext" not in str(e)


@pytest.mark.parametrize("pid", [2**63, -2**63 - 1, 2**64, 10**30])
def test_target_out_of_range_is_value_error_not_type_error(null_monitor, pid):
    with pytest.raises(taskmon.InvalidArgumentError) as exc:
        null_monitor.set_target(pid)
    assert f"a target pid must fit a C pid_t (32 bits), and {pid} does not" in str(exc.value)


@pytest.mark.parametrize("value", [True, 1.0, "12", None, [1]])
def test_stats_pid_must_be_an_int(null_monitor, value):
    if value is None:
        pytest.skip("None means the target")
    with pytest.raises(TypeError):
        null_monitor.stats(value)
    with pytest.raises(TypeError):
        null_monitor.stats_many([1, value])


def test_stats_many_invalid_pids_are_entries_not_exceptions(null_monitor):
    # No valid pid: nothing reaches the kernel, so no ENOTTY either.
    entries = null_monitor.stats_many([0, 2**63, -3])
    assert len(entries) == 3
    for entry, pid in zip(entries, [0, 2**63, -3]):
        assert isinstance(entry, taskmon.InvalidArgumentError)
        assert isinstance(entry, ValueError)
        assert entry.errno == errno.EINVAL
        assert str(pid) in str(entry)
        assert "without asking the kernel" in str(entry)
    assert null_monitor.stats_many([]) == []
    assert null_monitor.stats_many(iter([])) == []


def test_fields_are_the_uapi_groups():
    header = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                               "include", "uapi", "linux", "taskmon.h")).read()
    bits = {m.group(1): 1 << int(m.group(2)) for m in
            re.finditer(r"#define TM_STATS_([A-Z_]+)\s+\(1ULL << (\d+)\)", header)}
    bits.pop("_RESERVED")
    assert {f.name: f.value for f in taskmon.Fields if f.name != "ALL"} == bits
    assert taskmon.Fields.ALL == sum(bits.values())


@pytest.mark.parametrize("fields, error", [(1.5, TypeError), ("COMM", TypeError),
                                           (True, TypeError), (-1, ValueError),
                                           (1 << 13, ValueError), (1 << 63, ValueError)])
def test_fields_that_are_no_groups_are_refused_before_the_kernel(null_monitor, fields, error):
    with pytest.raises(error, match="fields"):
        null_monitor.stats(1, fields=fields)
    with pytest.raises(error, match="fields"):
        null_monitor.stats_many([1], fields=fields)
    with pytest.raises(error, match="fields"):
        null_monitor.stats(fields=fields)


@pytest.mark.parametrize("fields", [taskmon.Fields.COMM | taskmon.Fields.CREDS,
                                    taskmon.Fields(0), taskmon.Fields.ALL, 0x30])
def test_valid_fields_reach_the_kernel(null_monitor, fields):
    # /dev/null's ENOTTY: the request was made.
    with pytest.raises(taskmon.NotSupportedError):
        null_monitor.stats(1, fields=fields)


def test_process_stats_has_none_for_the_groups_not_filled(fake_ext):
    fake_ext.answers[42] = full_stats(42)
    p = taskmon.Process(42)
    assert p.name() == "bash" and fake_ext.masks[-1] & taskmon.Fields.COMM
    assert not fake_ext.masks[-1] & taskmon.Fields.CPU
    assert p.stats() == full_stats(42) and fake_ext.masks[-1] == taskmon.Fields.ALL


def test_stats_on_a_closed_monitor_is_value_error():
    m = taskmon.Monitor("/dev/null")
    m.close()
    for call in (lambda: m.stats(1), lambda: m.stats(), lambda: m.stats_many([1])):
        with pytest.raises(ValueError, match="closed"):
            call()


@pytest.mark.parametrize("call", [
    lambda m: m.stats(os.getpid()),
    lambda m: m.stats(),
    lambda m: m.stats_many([os.getpid(), 1]),
])
def test_stats_releases_the_gil(call):
    with taskmon.Monitor("/dev/null") as m:
        lib.assert_gil_released(lambda: call(m), expect=taskmon.NotSupportedError)


# ---- the psutil facade -----------------------------------------------------------

class FakeExt:
    """Stands for taskmon._ext in taskmon._process: its _shared_* entries answer
    from a dict of Stats as the extension's answer from the kernel (their own
    figures are checked against /proc in test_stats_vm.py)."""

    def __init__(self):
        self.answers = {}
        self.devices = set()
        #: The request mask of every _shared_stats(), in order.
        self.masks = []

    def _read(self, path, pid):
        assert isinstance(path, bytes)
        self.devices.add(path)
        answer = self.answers.get(pid)
        if answer is None:
            raise taskmon.NoSuchProcessError(errno.ESRCH, f"no process {pid}", pid=pid)
        return answer

    @staticmethod
    def _reused(s, start):
        return start is not None and s.start_time_ns is not None and s.start_time_ns != start

    def _shared_start(self, path, pid):
        return self._read(path, pid).start_time_ns

    def _shared_stats(self, path, pid, fields):
        self.masks.append(taskmon.Fields(fields))
        return procfake.answer(dataclasses.asdict(self._read(path, pid)), fields)

    def _shared_cpu_times(self, path, pid, start):
        s = self._read(path, pid)
        if self._reused(s, start):
            return None
        if s.user_ns is None or s.system_ns is None:
            raise NotImplementedError("the loaded taskmonitor module does not report cpu_times()")
        return taskmon.pcputimes(s.user_ns / 1e9, s.system_ns / 1e9)

    def _shared_memory_info(self, path, pid, start):
        s = self._read(path, pid)
        if self._reused(s, start):
            return None
        if s.rss_anon_bytes is None or s.vsize_bytes is None:
            return taskmon.pmem(0, 0, 0)
        shared = (s.rss_file_bytes or 0) + (s.rss_shmem_bytes or 0)
        return taskmon.pmem(s.rss_anon_bytes + shared, s.vsize_bytes, shared)


@pytest.fixture
def fake_ext(monkeypatch):
    ext = FakeExt()
    monkeypatch.setattr(taskmon._process, "_ext", ext)
    return ext


@pytest.fixture
def fake(fake_ext):
    return fake_ext.answers


def test_process_cpu_times_and_memory_info_have_psutils_names_and_units(fake):
    fake[42] = full_stats(42)
    p = taskmon.Process(42)
    assert p.pid == 42
    times = p.cpu_times()
    assert times._fields == ("user", "system")
    assert times == (1.5, 0.25) and times.user == 1.5 and times.system == 0.25
    assert sum(times[:2]) == 1.75
    mem = p.memory_info()
    assert mem._fields == ("rss", "vms", "shared")
    assert mem.rss == 40960 + 81920 + 4096
    assert mem.vms == 1 << 24
    assert mem.shared == 81920 + 4096
    assert p.num_ctx_switches() == (7, 2)
    assert p.num_ctx_switches()._fields == ("voluntary", "involuntary")
    assert p.name() == "bash"
    assert p.ppid() == 1
    assert p.num_threads() == 3
    assert p.status() == "sleeping"
    assert p.is_running()
    assert p.stats() == full_stats(42)
    assert repr(p) == "taskmon.Process(pid=42)"


def test_process_default_is_the_caller(fake):
    fake[os.getpid()] = full_stats(os.getpid())
    assert taskmon.Process().pid == os.getpid()


def test_process_of_a_kernel_thread_has_zero_memory_as_psutil(fake):
    fake[2] = full_stats(2, rss_anon_bytes=None, rss_file_bytes=None, rss_shmem_bytes=None,
                         vsize_bytes=None)
    assert taskmon.Process(2).memory_info() == (0, 0, 0)


def test_process_create_time_is_epoch_seconds(fake):
    boot_ns = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    fake[42] = full_stats(42, start_time_ns=boot_ns - 10_000_000_000)
    assert abs(taskmon.Process(42).create_time() - (time.time() - 10)) < 1


def test_missing_process_is_no_such_process_naming_the_pid(fake):
    with pytest.raises(taskmon.NoSuchProcess) as exc:
        taskmon.Process(999)
    assert isinstance(exc.value, ProcessLookupError)
    assert exc.value.pid == 999
    # psutil's classes, which are taskmon's errors too (test_psutil_host.py)
    assert issubclass(taskmon.NoSuchProcess, taskmon.NoSuchProcessError)
    assert issubclass(taskmon.AccessDenied, taskmon.PermissionDeniedError)


def test_process_that_exits_or_whose_pid_is_reused_is_no_such_process(fake):
    fake[42] = full_stats(42)
    p = taskmon.Process(42)
    fake[42] = full_stats(42, start_time_ns=6_000_000_000)  # another process, same pid
    assert not p.is_running()
    with pytest.raises(taskmon.NoSuchProcess) as exc:
        p.cpu_times()
    assert exc.value.pid == 42
    del fake[42]
    with pytest.raises(ProcessLookupError):
        p.memory_info()


def test_process_equality_follows_pid_and_start_time(fake):
    fake[42] = full_stats(42)
    fake[43] = full_stats(43)
    assert taskmon.Process(42) == taskmon.Process(42)
    assert taskmon.Process(42) != taskmon.Process(43)
    assert len({taskmon.Process(42), taskmon.Process(42)}) == 1


def test_process_figures_the_module_did_not_fill_are_an_error_not_zero(fake):
    fake[42] = taskmon.Stats(pid=42, start_time_ns=1)
    p = taskmon.Process(42)
    with pytest.raises(NotImplementedError, match="cpu_times"):
        p.cpu_times()


def test_process_on_an_old_module_is_not_supported():
    with pytest.raises(taskmon.NotSupportedError) as exc:
        taskmon.Process(1, path="/dev/null")
    assert exc.value.operation == "TM_STATS" and exc.value.filename == "/dev/null"
    taskmon.close_shared_devices()


def test_process_default_device_and_paths_as_bytes(fake_ext, tmp_path):
    fake_ext.answers[42] = full_stats(42)
    taskmon.Process(42)
    taskmon.Process(42, path=tmp_path / "dev")
    assert fake_ext.devices == {b"/dev/taskmonitor", os.fsencode(tmp_path / "dev")}


@pytest.mark.parametrize("pid", [2**31, -2**31 - 1, 10**30])
def test_process_pid_outside_pid_t_is_value_error_before_the_kernel(pid):
    with pytest.raises(taskmon.InvalidArgumentError) as exc:
        taskmon.Process(pid, path="/dev/null")
    assert exc.value.errno == errno.EINVAL and "pid_t" in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_process_pid_must_be_an_int():
    with pytest.raises(TypeError):
        taskmon.Process("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        taskmon.Process(True)


def test_threads_do_not_share_state(fake):
    # Process objects are plain values over a shared stateless device: usable from threads.
    fake[42] = full_stats(42)
    results = []
    threads = [threading.Thread(target=lambda: results.append(taskmon.Process(42).cpu_times()))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(1.5, 0.25)] * 8
