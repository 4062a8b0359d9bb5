# SPDX-License-Identifier: GPL-2.0-only
"""Per-process statistics against the real module (in the test VM, as root).

Monitor.stats(), Monitor.stats_many(), taskmon.stats() and the psutil-shaped
taskmon.Process, checked against /proc; and that none of them reads or moves
the module's target.
"""
import dataclasses
import errno
import json
import os
import pathlib
import resource
import subprocess
import sys
import threading
import time

import pytest

import taskmon
import taskmon_testlib as lib
import required

pytestmark = pytest.mark.vm

TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
PAGE = resource.getpagesize()


def proc_stat(pid):
    raw = pathlib.Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2:].split()


def status_bytes(pid, key):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def test_fields_ask_only_for_some_groups(monitor):
    F = taskmon.Fields
    s = monitor.stats(os.getpid(), fields=F.COMM | F.CREDS)
    assert s.comm == pathlib.Path("/proc/self/comm").read_text().rstrip("\n")
    assert (s.uid, s.euid) == (os.getuid(), os.geteuid())
    assert s.start_time_ns is not None and s.ppid == os.getppid()  # free
    assert (s.user_ns, s.minor_faults, s.voluntary_ctxsw, s.rss_anon_bytes) == (None,) * 4
    full = monitor.stats(os.getpid())
    assert full.user_ns is not None and full.rss_anon_bytes is not None
    entries = monitor.stats_many([os.getpid(), 1], fields=F.RSS)
    assert all(e.rss_anon_bytes is not None and e.user_ns is None for e in entries)
    cpu = taskmon.stats(os.getpid(), fields=F.CPU)
    assert cpu.user_ns is not None and cpu.rss_anon_bytes is None
    p = taskmon.Process()
    assert p.name() == s.comm and p.uids()[:2] == (os.getuid(), os.geteuid())
    assert p.cpu_times().user >= 0 and p.memory_info().rss > 0


def test_self_agrees_with_proc(monitor):
    before = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    s = monitor.stats(os.getpid())
    after = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    f = proc_stat(os.getpid())
    assert isinstance(s, taskmon.Stats)
    assert (s.pid, s.tgid, s.ppid) == (os.getpid(), os.getpid(), os.getppid())
    assert s.comm == pathlib.Path("/proc/self/comm").read_text().rstrip("\n")
    assert s.state == "R"
    assert s.threads == int(f[17])
    assert (s.uid, s.euid, s.gid, s.egid) == (os.getuid(), os.geteuid(), os.getgid(),
                                              os.getegid())
    for name in ("user_ns", "system_ns", "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes",
                 "vsize_bytes", "start_time_ns", "sample_time_ns", "minor_faults"):
        assert isinstance(getattr(s, name), int), name
    slack = 8 << 20
    assert abs(s.rss_anon_bytes - status_bytes(os.getpid(), "RssAnon")) < slack
    assert abs(s.rss_file_bytes - status_bytes(os.getpid(), "RssFile")) < slack
    assert abs(s.rss_shmem_bytes - status_bytes(os.getpid(), "RssShmem")) < slack
    assert abs(s.vsize_bytes - int(f[20])) < (64 << 20)
    assert abs(s.start_time_ns - int(f[19]) * TICK_NS) <= TICK_NS
    assert before <= s.sample_time_ns <= after
    assert s.user == s.user_ns / 1e9


def test_busy_process_and_target_untouched(monitor, busy):
    target, other = busy(), busy(threads=2)
    monitor.set_target(target.pid)
    # The second thread starts once Python is up (slow under TCG).
    assert lib.wait_until(lambda: proc_stat(other.pid)[17] == "2")
    time.sleep(0.3)
    before = sum(int(x) for x in proc_stat(other.pid)[11:13]) * TICK_NS
    s = monitor.stats(other.pid)
    after = sum(int(x) for x in proc_stat(other.pid)[11:13]) * TICK_NS
    assert s.pid == other.pid and s.ppid == os.getpid()
    assert s.threads == 2  # busy(threads=2): the main thread and one more
    assert before - 3 * TICK_NS <= s.cpu_ns <= after + 3 * TICK_NS
    assert monitor.target() == target.pid, "stats(pid) must not move the target"
    t = monitor.stats()
    assert t.pid == target.pid, "stats() is the target's, with its pid"
    assert monitor.target() == target.pid


def test_thread_scope(monitor):
    tids = []
    done = threading.Event()
    worker = threading.Thread(target=lambda: (tids.append(threading.get_native_id()),
                                              done.wait()))
    worker.start()
    try:
        while not tids:
            time.sleep(0.01)
        t = monitor.stats(tids[0], threads=True)
        assert t.pid == tids[0] and t.tgid == os.getpid()
    finally:
        done.set()
        worker.join()


def test_kernel_thread_has_no_memory(monitor):
    s = monitor.stats(2)
    assert s.comm == "kthreadd"
    assert s.rss_anon_bytes is None and s.vsize_bytes is None and s.rss_bytes is None
    assert s.user_ns is not None
    assert taskmon.Process(2).memory_info() == (0, 0, 0)


def test_exited_pid_is_process_lookup_error_naming_it(monitor, busy):
    proc = busy()
    pid = proc.pid
    lib.kill(proc)
    with pytest.raises(ProcessLookupError) as exc:
        monitor.stats(pid)
    assert isinstance(exc.value, taskmon.NoSuchProcessError)
    assert exc.value.pid == pid and exc.value.errno == errno.ESRCH
    assert str(pid) in str(exc.value)
    with pytest.raises(taskmon.NoSuchProcess):
        taskmon.Process(pid)


def test_process_that_exits_after_creation_is_no_such_process(busy):
    proc = busy()
    p = taskmon.Process(proc.pid)
    assert p.cpu_times().user >= 0
    lib.kill(proc)
    for call in (p.cpu_times, p.memory_info, p.name):
        with pytest.raises(taskmon.NoSuchProcess) as exc:
            call()
        assert exc.value.pid == proc.pid
    assert not p.is_running()


def test_process_lean_entries_check_the_start_time():
    # What a reused pid looks like to the extension: another start time.
    p = taskmon.Process()
    for entry in (taskmon._ext._shared_cpu_times, taskmon._ext._shared_memory_info):
        assert entry(p._device, p.pid, p._start_time_ns + 1) is None
        assert entry(p._device, p.pid, p._start_time_ns) is not None
        assert entry(p._device, p.pid, None) is not None
    with pytest.raises(taskmon.NoSuchProcess, match="now names another process"):
        p._start_time_ns += 1
        p.cpu_times()


def test_process_cpu_times_and_memory_info_agree_with_stats(monitor):
    p = taskmon.Process()
    before = monitor.stats(p.pid)
    times = p.cpu_times()
    mem = p.memory_info()
    after = monitor.stats(p.pid)
    assert type(times) is taskmon.pcputimes and type(mem) is taskmon.pmem
    assert before.user <= times.user <= after.user
    assert before.system <= times.system <= after.system
    assert mem.vms == after.vsize_bytes
    assert mem.rss == pytest.approx(after.rss_bytes, abs=4 << 20)
    assert mem.shared == pytest.approx(after.rss_file_bytes + after.rss_shmem_bytes, abs=4 << 20)


def _device_fds():
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == taskmon.Monitor.DEFAULT_PATH:
                found.add(fd)
        except FileNotFoundError:
            pass
    return found


def test_every_process_shares_one_kept_descriptor():
    # Kept open, it also keeps the module loaded: test_vm_monitor.py's
    # fresh_module closes it before reloading the module.
    taskmon.close_shared_devices()
    before = _device_fds()
    for pid in (os.getpid(), 1, 2, os.getpid()):
        taskmon.Process(pid).cpu_times()
    assert len(_device_fds() - before) == 1
    taskmon.close_shared_devices()
    assert _device_fds() == before


def test_stats_many_in_order_with_errors_as_entries(monitor, busy):
    gone = busy()
    gone_pid = gone.pid
    lib.kill(gone)
    pids = [os.getpid(), gone_pid, 1, lib.unused_pid(), 0, 2]
    entries = monitor.stats_many(pids)
    assert len(entries) == len(pids)
    assert isinstance(entries[0], taskmon.Stats) and entries[0].pid == os.getpid()
    assert isinstance(entries[1], taskmon.NoSuchProcessError) and entries[1].pid == gone_pid
    assert isinstance(entries[2], taskmon.Stats) and entries[2].pid == 1
    assert isinstance(entries[3], ProcessLookupError)
    assert isinstance(entries[4], taskmon.InvalidArgumentError)
    assert isinstance(entries[5], taskmon.Stats) and entries[5].rss_anon_bytes is None


def test_stats_many_above_the_kernel_bound(monitor):
    entries = monitor.stats_many([os.getpid()] * 5000)
    assert len(entries) == 5000
    assert all(isinstance(e, taskmon.Stats) and e.pid == os.getpid() for e in entries)


def test_module_level_stats_and_process_facade():
    s = taskmon.stats(os.getpid())
    assert s.pid == os.getpid()
    p = taskmon.Process()
    assert p.pid == os.getpid()
    times = p.cpu_times()
    assert times.user >= 0 and times.system >= 0
    mem = p.memory_info()
    assert mem.rss == pytest.approx(status_bytes(os.getpid(), "VmRSS"), abs=8 << 20)
    assert mem.vms == pytest.approx(status_bytes(os.getpid(), "VmSize"), abs=64 << 20)
    assert p.name() == s.comm
    assert p.ppid() == os.getppid()
    assert p.status() == "running"
    assert p.is_running()
    assert abs(p.create_time() - (time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME)
                                                 - s.start_time_ns / 1e9))) < 1


def test_one_liner_from_the_issue():
    out = subprocess.run(
        [sys.executable, "-c", "import taskmon; print(taskmon.Process(1).memory_info())"],
        env=lib.child_env(), capture_output=True, text=True, check=True).stdout
    assert out.startswith("pmem(rss=")


def test_cli_json_stats_parses():
    cli = lib.cpp_cli()
    required.tool(cli is not None, "no C++ taskmon built (cmake --build build/host)")
    bogus = lib.unused_pid()
    r = subprocess.run([cli, "--json", "stats", str(os.getpid()), "1", str(bogus)],
                       capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    assert str(bogus) in r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["pid"] for o in objs] == [os.getpid(), 1, bogus]
    fields = {f.name for f in dataclasses.fields(taskmon.Stats)}
    assert set(objs[0]) == fields
    assert objs[0]["comm"] == taskmon.stats(os.getpid()).comm
    assert objs[1]["rss_anon_bytes"] is not None  # init has memory
    assert objs[2]["error"] == "ESRCH"
