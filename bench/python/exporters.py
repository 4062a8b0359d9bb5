# SPDX-License-Identifier: GPL-2.0-only
"""The exporters group (issue #23): the CPU one scrape costs taskmon-exporter
and Debian's prometheus-process-exporter, both serving the groups of the
configuration Debian ships (all.yaml: every process with a command line,
grouped by its comm), over the processes that exist (the runner starts
taskmon-bench-population N first).

Each exporter runs alone on 127.0.0.1; after two warm-up scrapes (the first
names every process), scrapes are fetched one after the other, up to K of
them or for about BUDGET_S seconds (at least three), and the exporter's CPU
time over them (utime + stime of /proc/PID/stat: every thread, the exited
ones too; clock ticks of 10 ms, many of them) divided by their number is
the figure, in ns per scrape. Cases:

  exporter/process_exporter          Debian's defaults (-threads and
                                     -gather-smaps on: per-thread series,
                                     proportional memory)
  exporter/process_exporter_lean     -threads=false -gather-smaps=false: no
                                     more than the series taskmon serves
  exporter/taskmon                   --no-hidden: the groups only
  exporter/taskmon_hidden            the default, with the hidden-process
                                     scan at every scrape

process-exporter is the copy tests/exporter/prometheus-tools unpacks
(never installed), TASKMON_PROCESS_EXPORTER overrides it; the extras say
the wall time per scrape and the size of one scrape's output.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import List, Optional

from timing import Result, unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PE_ROOT = os.path.join(os.environ.get("TASKMON_CACHE", "/var/cache/taskmon"),
                        "prometheus-process-exporter", "current")
PROCESS_EXPORTER = os.environ.get("TASKMON_PROCESS_EXPORTER", os.path.join(
    _PE_ROOT, "usr", "bin", "prometheus-process-exporter"))
ALL_YAML = os.path.join(_PE_ROOT, "usr", "share", "doc", "prometheus-process-exporter",
                        "examples", "all.yaml")
TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")
#: Seconds of scraping per case at most (once three scrapes are done).
BUDGET_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_ns(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_NS  # utime, stime


def _scrape(url: str) -> int:
    with urllib.request.urlopen(url, timeout=600) as reply:
        return len(reply.read())


def measure_exporter(name: str, argv: List[str], scrapes: int,
                     env: Optional[dict] = None) -> Result:
    """Starts argv (which must listen on the port substituted for {port}),
    scrapes it, and returns its CPU per scrape."""
    port = _free_port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            end = time.monotonic() + 120
            while True:
                try:
                    _scrape(url)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > end:
                        log.seek(0)
                        why = log.read().decode(errors="replace")[-500:]
                        return unavailable(name, f"{argv[0]} did not serve: {why}")
                    time.sleep(0.2)
            size = _scrape(url)  # the second warm-up: steady state from here
            before, start = _cpu_ns(proc.pid), time.perf_counter_ns()
            done = 0
            while done < scrapes and (done < 3 or time.perf_counter_ns() - start < BUDGET_S * 1e9):
                _scrape(url)
                done += 1
            wall = time.perf_counter_ns() - start
            cpu = _cpu_ns(proc.pid) - before
            scrapes = done
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    r = Result(name, cpu / scrapes, 1, scrapes)
    r.extra = {"wall_ns": wall / scrapes, "bytes": size, "cpu_ticks": round(cpu / TICK_NS)}
    return r


def run(scrapes: int) -> List[Result]:
    names = ["exporter/process_exporter", "exporter/process_exporter_lean",
             "exporter/taskmon", "exporter/taskmon_hidden"]
    if not os.access(PROCESS_EXPORTER, os.X_OK) or not os.path.exists(ALL_YAML):
        why = f"{PROCESS_EXPORTER} or {ALL_YAML} missing: run tests/exporter/prometheus-tools"
        return [unavailable(n, why) for n in names]
    listen = "127.0.0.1:{port}"
    pe = [PROCESS_EXPORTER, "-config.path", ALL_YAML, "-web.listen-address", listen]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(ROOT, "exporter")] +
        [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    tm = [sys.executable, os.path.join(ROOT, "exporter", "taskmon-exporter"),
          "--groups.config", ALL_YAML, "--web.listen-address", listen, "--log-level", "warning"]
    results = [
        measure_exporter(names[0], pe, scrapes),
        measure_exporter(names[1], pe + ["-threads=false", "-gather-smaps=false"], scrapes),
        measure_exporter(names[2], tm + ["--no-hidden"], scrapes, env),
        measure_exporter(names[3], tm, scrapes, env),
    ]
    processes = len([d for d in os.listdir("/proc") if d.isdigit()])
    for r in results:
        r.processes = processes
    return results
