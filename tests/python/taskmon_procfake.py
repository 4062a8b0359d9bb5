# SPDX-License-Identifier: GPL-2.0-only
"""A stand-in for taskmon._ext in taskmon._process that answers TM_STATS,
TM_STATS_BATCH and TM_LIST from this machine's /proc, so that the host
tests can run psutil-written code on taskmon and compare with psutil for
the same processes.  It is NOT a test of the kernel: tests/python's vm
tests run the same code against the real module (test_psutil_vm.py).

It counts the requests, so that the tests can check how many each call makes.
"""
import collections
import os
import time

import taskmon

PAGE = os.sysconf("SC_PAGE_SIZE")
NS_PER_TICK = 10_000_000

F = taskmon.Fields
#: The groups taskmonitor.ko fills whatever the request mask asks.
FREE = (F.IDS | F.PPID | F.STATE | F.THREADS | F.COMM | F.CREDS | F.VSIZE | F.START_TIME
        | F.SAMPLE_TIME)
#: The fields of each group the kernel fills only when asked.
COSTLY = {F.CPU: ("user_ns", "system_ns"), F.FAULTS: ("minor_faults", "major_faults"),
          F.CTXSW: ("voluntary_ctxsw", "involuntary_ctxsw"),
          F.RSS: ("rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes")}
WALK = F.CPU | F.FAULTS | F.CTXSW


def filled(fields):
    """The groups the module fills for the request mask *fields* (0: all)."""
    want = F(fields & F.ALL) if fields else F.ALL
    return FREE | (WALK if want & WALK else F(0)) | (want & F.RSS)


def answer(d, fields):
    """*d* (every field) as the module answers a request of *fields*: the
    fields of the costly groups it did not fill are None."""
    keep = filled(fields)
    out = dict(d)
    for group, names in COSTLY.items():
        if not keep & group:
            for name in names:
                out[name] = None
    return out


def read_stats(pid):
    """The TM_STATS fields of *pid*, from /proc/PID/{stat,statm,status}."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open(f"/proc/{pid}/statm", "rb") as f:
            statm = [int(x) for x in f.read().split()]
        with open(f"/proc/{pid}/status", "rb") as f:
            status = {k.strip(): v.split() for k, _, v in
                      (line.partition(b":") for line in f.read().splitlines())}
    except (FileNotFoundError, ProcessLookupError):
        raise taskmon.NoSuchProcessError(pid=pid, message=f"no process {pid}") from None
    comm = stat[stat.index(b"(") + 1:stat.rindex(b")")].decode(errors="surrogateescape")
    rest = stat[stat.rindex(b")") + 2:].split()
    kernel_thread = statm[0] == 0
    return dict(
        pid=pid, tgid=int(status[b"Tgid"][0]), ppid=int(rest[1]), comm=comm,
        threads=int(rest[17]), state=rest[0].decode(),
        uid=int(status[b"Uid"][0]), euid=int(status[b"Uid"][1]),
        gid=int(status[b"Gid"][0]), egid=int(status[b"Gid"][1]),
        user_ns=int(rest[11]) * NS_PER_TICK, system_ns=int(rest[12]) * NS_PER_TICK,
        minor_faults=int(rest[7]), major_faults=int(rest[9]),
        voluntary_ctxsw=int(status[b"voluntary_ctxt_switches"][0]),
        involuntary_ctxsw=int(status[b"nonvoluntary_ctxt_switches"][0]),
        rss_anon_bytes=None if kernel_thread else (statm[1] - statm[2]) * PAGE,
        rss_file_bytes=None if kernel_thread else statm[2] * PAGE,
        rss_shmem_bytes=None if kernel_thread else 0,
        vsize_bytes=None if kernel_thread else statm[0] * PAGE,
        start_time_ns=int(rest[19]) * NS_PER_TICK,
        sample_time_ns=time.clock_gettime_ns(time.CLOCK_BOOTTIME))


class ProcExt:
    """taskmon._ext's entries that taskmon._process uses, from /proc."""

    DEFAULT_MONITOR_PATH = "/dev/taskmonitor"

    def __init__(self, hidden=()):
        self.calls = collections.Counter()
        #: The request mask of every TM_STATS and TM_STATS_BATCH, in order.
        self.masks = []
        #: pids the "kernel" lists although they are not in os.listdir("/proc").
        self.extra_pids = set(hidden)
        #: How the fake kernel sees /proc's listing (a test may filter it).
        self.listdir = os.listdir
        outer = self

        class Monitor:
            def __init__(self, path, steer):
                outer.calls["open"] += 1
                self.closed = False

            def processes(self):
                outer.calls["TM_LIST"] += 1
                listed = {int(x) for x in outer.listdir("/proc") if x.isdigit()} | outer.extra_pids
                out = []
                for pid in sorted(listed):
                    try:
                        out.append((pid, read_stats(pid)["start_time_ns"]))
                    except taskmon.NoSuchProcessError:
                        pass
                return out

            def stats_many(self, pids, threads, fields):
                outer.calls["TM_STATS_BATCH"] += 1
                outer.masks.append(F(fields))
                out = []
                for pid in pids:
                    try:
                        out.append(answer(read_stats(pid), fields))
                    except taskmon.NoSuchProcessError as e:
                        out.append(e)
                return out

            def close(self):
                self.closed = True

        self.Monitor = Monitor

    def _shared_stats(self, path, pid, fields):
        self.calls["TM_STATS"] += 1
        self.masks.append(F(fields))
        return answer(read_stats(pid), fields)

    def _shared_start(self, path, pid):
        return self._shared_stats(path, pid, F.START_TIME)["start_time_ns"]

    def _same(self, path, pid, start, fields):
        d = self._shared_stats(path, pid, fields | F.START_TIME)
        return None if start is not None and d["start_time_ns"] != start else d

    def _shared_cpu_times(self, path, pid, start):
        d = self._same(path, pid, start, F.CPU)
        return None if d is None else taskmon.pcputimes(d["user_ns"] / 1e9, d["system_ns"] / 1e9)

    def _shared_memory_info(self, path, pid, start):
        d = self._same(path, pid, start, F.RSS | F.VSIZE)
        if d is None:
            return None
        if d["vsize_bytes"] is None:
            return taskmon.pmem(0, 0, 0)
        shared = d["rss_file_bytes"] + d["rss_shmem_bytes"]
        return taskmon.pmem(d["rss_anon_bytes"] + shared, d["vsize_bytes"], shared)

    def _shared_close(self):
        pass


def install(hidden=()):
    """Makes taskmon._process ask /proc instead of the module; returns the fake."""
    ext = ProcExt(hidden)
    taskmon._process._ext = ext
    return ext
