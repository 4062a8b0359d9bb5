#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn one benchmark run into a table, a JSON file and a plot.

    bench/report.py RUN_DIR [--json FILE] [--markdown FILE] [--plot FILE]
                            [--junit FILE] [--smoke]

RUN_DIR holds what bench/run-guest wrote in one VM boot: cpp-*.json
(Google Benchmark's JSON) and py-*.json (bench/python/bench.py's).  Every
figure of the table comes from that one run, and so does every ratio: the
ratios are the result, since absolute times under emulation mean little
(docs/performance.md).

--junit writes one test case per benchmark the suite must produce: failed
when it is missing or reported an error, skipped when it depends on
something the kernel may not offer (taskstats, bpftrace) and said so.  The
bench suite of the test run (tests/run-guest-suites) uses it with --smoke,
where only the presence of each figure counts, not its value.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# Every benchmark a run must produce: (name, population stage or None).
# A population of None means the single-process stage.
SINGLE = [
    "floor/enotty", "floor/getppid", "target/tm_get", "target/tm_get_text",
    "target/sysfs_read", "stats/tm_stats", "proc/stat_kept", "proc/stat_statm_kept",
    "proc/stat_statm_open", "proc/status_kept", "taskstats/netlink", "stream/record",
    "py/floor/getppid", "py/psutil/cpu_times", "py/taskmon/cpu_times",
    "py/psutil/memory_info", "py/taskmon/memory_info", "py/psutil/kept_cpu_times",
    "py/taskmon/kept_cpu_times", "py/taskmon/sample", "py/taskmon/stats",
]
BATCH = [f"stats/tm_stats_{kind}/{n}" for n in (1, 10, 100, 1000)
         for kind in ("batch", "each", "batch_names")
         if (kind, n) not in (("each", 1), ("batch_names", 1))]
POPULATION = [
    "list/tm_list", "list/proc_scan", "list/proc_scan_stat", "list/bpf_iter", "table/cpp_taskmon",
    "table/cpp_proc", "py/table/psutil", "py/table/taskmon", "py/table/taskmon_iter",
    "list/bpftrace", "list/bpftrace_startup", "ps/procps", "ps/taskmon", "ps/taskmon_hidden",
    "ps/procps_startup", "ps/taskmon_startup",
]
# CPU per scrape of taskmon-exporter and process-exporter (bench/python/exporters.py).
EXPORTERS = ["exporter/process_exporter", "exporter/process_exporter_lean", "exporter/taskmon",
             "exporter/taskmon_hidden"]
POPULATION += EXPORTERS
LOAD = ["load/kthread_cpu", "load/stream_10ms_100"]
# What the kernel or the machine may lack: a stated reason is a skip, not a
# failure (process-exporter: unpacked by tests/exporter/prometheus-tools).
OPTIONAL_PREFIXES = ("taskstats/", "list/bpftrace", "list/bpf_iter", "exporter/")


@dataclass
class Result:
    """One benchmark's figure: ns per call (None for the load measurements)."""
    name: str
    population: Optional[int]
    ns: Optional[float]
    source: str
    error: Optional[str] = None
    extra: Dict[str, object] = field(default_factory=dict)


def _gbench_ns(entry: dict, key: str) -> float:
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[entry.get("time_unit", "ns")]
    return float(entry[key]) * scale


def load_cpp(path: str) -> Tuple[dict, List[Result]]:
    """Google Benchmark's JSON: the median of the repetitions, else the one run."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    context = doc.get("context", {})
    population = int(context["population"]) if "population" in context else None
    by_name: Dict[str, dict] = {}
    for entry in doc.get("benchmarks", []):
        name = entry.get("run_name", entry["name"])
        # UseManualTime()/UseRealTime() add a suffix to the name (cpp/ps.cpp).
        for suffix in ("/manual_time", "/real_time"):
            if name.endswith(suffix):
                name = name[:-len(suffix)]
        if entry.get("run_type") == "aggregate":
            if entry.get("aggregate_name") == "median":
                by_name[name] = entry
        else:
            by_name.setdefault(name, entry)
    results = []
    for name, entry in by_name.items():
        if entry.get("error_occurred"):
            results.append(Result(name, population, None, "cpp",
                                  error=entry.get("error_message", "error")))
            continue
        extra = {k: v for k, v in entry.items()
                 if k not in ("name", "run_name", "run_type", "aggregate_name", "family_index",
                              "per_family_instance_index", "repetitions", "repetition_index",
                              "threads", "iterations", "real_time", "cpu_time", "time_unit")}
        extra["cpu_ns"] = _gbench_ns(entry, "cpu_time")
        extra["iterations"] = entry.get("iterations")
        results.append(Result(name, population, _gbench_ns(entry, "real_time"), "cpp",
                              extra=extra))
    return context, results


def load_python(path: str) -> Tuple[dict, List[Result]]:
    """bench/python/bench.py's JSON."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    context = doc.get("context", {})
    population = context.get("population")
    results = []
    for entry in doc.get("benchmarks", []):
        name = entry["name"]
        extra = {k: v for k, v in entry.items() if k not in ("name", "ns", "error")}
        error = entry.get("error")
        # The harness gives a case it could not run no figure, and says why
        # in its note; a load measurement has no ns but a percentage.
        measured = "percent" in entry if name in LOAD else entry.get("ns") is not None
        if error is None and not measured:
            error = entry.get("note") or "no figure"
        results.append(Result(name, population, entry.get("ns"), "python",
                              error=error, extra=extra))
    return context, results


class Run:
    """Every result of one run, by (name, population)."""

    def __init__(self, run_dir: str) -> None:
        self.contexts: Dict[str, dict] = {}
        self.results: List[Result] = []
        for path in sorted(glob.glob(os.path.join(run_dir, "cpp-*.json"))):
            context, results = load_cpp(path)
            self.contexts[os.path.basename(path)] = context
            self.results += results
        for path in sorted(glob.glob(os.path.join(run_dir, "py-*.json"))):
            context, results = load_python(path)
            self.contexts[os.path.basename(path)] = context
            self.results += results
        if not self.results:
            raise SystemExit(f"report: no cpp-*.json nor py-*.json in {run_dir}: "
                             "run the benchmarks first (scripts/bench)")
        kernels = {c.get("kernel") for c in self.contexts.values() if c.get("kernel")}
        self.kernel = ", ".join(sorted(kernels)) or "unknown"

    def get(self, name: str, population: Optional[int] = None) -> Optional[Result]:
        for r in self.results:
            if r.name == name and (population is None or r.population == population):
                return r
        return None

    def ns(self, name: str, population: Optional[int] = None) -> Optional[float]:
        r = self.get(name, population)
        return r.ns if r is not None and r.error is None else None

    def populations(self) -> List[int]:
        return sorted({r.population for r in self.results
                       if r.population is not None and r.name in POPULATION})


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def bpftrace_net(run: Run, population: int) -> Optional[float]:
    """The iterator's own cost: bpftrace's run minus its start-up (compiling)."""
    total, start = run.ns("list/bpftrace", population), run.ns("list/bpftrace_startup", population)
    if total is None or start is None:
        return None
    return max(total - start, 0.0)


@dataclass
class Target:
    """One target of issue #16: a ratio from this run and the bound it must meet."""
    what: str
    ratio: Optional[float]
    bound: float
    at_most: bool  # True: ratio <= bound; False: ratio >= bound

    @property
    def met(self) -> Optional[bool]:
        if self.ratio is None:
            return None
        return self.ratio <= self.bound if self.at_most else self.ratio >= self.bound


def _per_pid(run: Run, name: str, pids: int) -> Optional[float]:
    ns = run.ns(name)
    return ns / pids if ns is not None else None


def targets(run: Run) -> List[Target]:
    pops = run.populations()
    big = 5000 if 5000 in pops else (pops[-1] if pops else None)
    mid = 1000 if 1000 in pops else (pops[-1] if pops else None)
    kthread = run.get("load/kthread_cpu")
    kthread_pct = kthread.extra.get("percent") if kthread and not kthread.error else None
    out = [
        Target("TM_GET / ENOTTY floor", _ratio(run.ns("target/tm_get"), run.ns("floor/enotty")),
               1.2, True),
        Target("/proc stat+statm (kept fd) / TM_STATS",
               _ratio(run.ns("proc/stat_statm_kept"), run.ns("stats/tm_stats")), 20, False),
        Target("/proc stat+statm (open each time) / TM_STATS",
               _ratio(run.ns("proc/stat_statm_open"), run.ns("stats/tm_stats")), 20, False),
        Target("psutil / taskmon Process(pid).cpu_times()",
               _ratio(run.ns("py/psutil/cpu_times"), run.ns("py/taskmon/cpu_times")), 20, False),
        Target("100 TM_STATS / one TM_STATS_BATCH of the same 100, per pid",
               _ratio(_per_pid(run, "stats/tm_stats_each/100", 100),
                      _per_pid(run, "stats/tm_stats_batch/100", 100)), 3, False),
        Target("TM_STATS_BATCH of 100, every group / names and ids only",
               _ratio(run.ns("stats/tm_stats_batch/100"), run.ns("stats/tm_stats_batch_names/100")),
               1.1, False),
        Target(f"/proc scan / TM_LIST at {mid} processes",
               _ratio(run.ns("list/proc_scan", mid), run.ns("list/tm_list", mid)), 50, False),
    ]
    for n in pops:
        out.append(Target(f"BPF task iterator (pinned, read) / TM_LIST at {n}",
                          _ratio(run.ns("list/bpf_iter", n), run.ns("list/tm_list", n)), 1, False))
    out += [
        Target(f"psutil process_iter / taskmon table (Python) at {big}",
               _ratio(run.ns("py/table/psutil", big), run.ns("py/table/taskmon", big)), 10, False),
        Target(f"psutil process_iter / taskmon process_iter (same code) at {big}",
               _ratio(run.ns("py/table/psutil", big), run.ns("py/table/taskmon_iter", big)),
               10, False),
        Target(f"psutil process_iter / taskmon table (C++) at {big}",
               _ratio(run.ns("py/table/psutil", big), run.ns("table/cpp_taskmon", big)), 10, False),
        Target(f"procps ps -e -o pid,ppid,user,rss,vsz,time,comm / taskmon ps (same columns) "
               f"at {big}", _ratio(run.ns("ps/procps", big), run.ns("ps/taskmon", big)), 20, False),
        Target(f"procps ps / taskmon ps with its default columns (hidden check) at {big}",
               _ratio(run.ns("ps/procps", big), run.ns("ps/taskmon_hidden", big)), 20, False),
        Target("fork+exec+exit+wait with an exit subscriber that never reads / without one",
               _ratio(run.ns("exits/spawn/subscribed"), run.ns("exits/spawn/none")),
               1 / 0.97, True),
        Target("fork+exec+exit+wait with an exit subscriber reading every record / without",
               _ratio(run.ns("exits/spawn/read"), run.ns("exits/spawn/none")), 1 / 0.97, True),
        Target("kthread CPU at the default period, % of one CPU",
               float(kthread_pct) if kthread_pct is not None else None, 0.1, True),
    ]
    # Issue #23: taskmon-exporter cheaper per scrape than process-exporter
    # with the same configuration (Debian's all.yaml), by a wide margin.
    for n in pops:
        for theirs, how in (("exporter/process_exporter", "Debian's defaults"),
                            ("exporter/process_exporter_lean",
                             "-threads=false -gather-smaps=false")):
            out.append(Target(f"process-exporter ({how}) / taskmon-exporter, per scrape at {n}",
                              _ratio(run.ns(theirs, n), run.ns("exporter/taskmon", n)), 2, False))
    return out


def _fmt_ns(ns: Optional[float]) -> str:
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _fmt_ratio(r: Optional[float]) -> str:
    return "-" if r is None else f"{r:.3g}×"


def markdown(run: Run, smoke: bool) -> str:
    floor = run.ns("floor/enotty")
    lines = [f"Kernel {run.kernel}{' (smoke run: figures meaningless)' if smoke else ''}.", "",
             "| benchmark | per call | × ENOTTY floor | note |", "|---|---|---|---|"]
    for name in SINGLE + BATCH:
        r = run.get(name)
        if r is None:
            continue
        note = r.error or ""
        if name.startswith("stats/tm_stats_") and r.ns is not None:
            pids = int(name.rsplit("/", 1)[1])
            note = f"{_fmt_ns(r.ns / pids)} per pid"
        if name == "stream/record" and r.error is None:
            note = f"reader's CPU {_fmt_ns(r.extra.get('cpu_ns'))} per record"
        lines.append(f"| {name} | {_fmt_ns(r.ns)} | {_fmt_ratio(_ratio(r.ns, floor))} | {note} |")
    pops = run.populations()
    if pops:
        lines += ["", "| per listing or table | " + " | ".join(f"{n} processes" for n in pops)
                  + " |", "|---" * (len(pops) + 1) + "|"]
        for name in POPULATION + ["list/bpftrace (net)"]:
            cells = []
            for n in pops:
                if name == "list/bpftrace (net)":
                    cells.append(_fmt_ns(bpftrace_net(run, n)))
                    continue
                r = run.get(name, n)
                cells.append("-" if r is None else (f"error: {r.error}" if r.error
                                                    else _fmt_ns(r.ns)))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    load = [run.get(n) for n in LOAD]
    if any(load):
        lines += ["", "| load | figures |", "|---|---|"]
        for r in load:
            if r is not None:
                figures = r.error or ", ".join(
                    f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in r.extra.items() if k not in ("repeats", "calls"))
                lines.append(f"| {r.name} | {figures} |")
    lines += ["", "| target | ratio | bound | met |", "|---|---|---|---|"]
    for t in targets(run):
        bound = ("≤ " if t.at_most else "≥ ") + f"{t.bound:g}"
        met = {True: "yes", False: "**no**", None: "not measured"}[t.met]
        ratio = _fmt_ratio(t.ratio) if "CPU" not in t.what else (
            "-" if t.ratio is None else f"{t.ratio:.3g} %")
        lines.append(f"| {t.what} | {ratio} | {bound} | {met} |")
    return "\n".join(lines) + "\n"


def to_json(run: Run, smoke: bool) -> dict:
    return {
        "kernel": run.kernel,
        "smoke": smoke,
        "contexts": run.contexts,
        "benchmarks": [{"name": r.name, "population": r.population, "ns": r.ns,
                        "source": r.source, "error": r.error, **r.extra} for r in run.results],
        "targets": [{"what": t.what, "ratio": t.ratio, "bound": t.bound,
                     "at_most": t.at_most, "met": t.met} for t in targets(run)],
    }


def plot(run: Run, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")  # no display in the VM nor in CI
    import matplotlib.pyplot as plt

    pops = run.populations()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    series = {
        "TM_LIST": lambda n: run.ns("list/tm_list", n),
        "/proc scan (readdir)": lambda n: run.ns("list/proc_scan", n),
        "/proc scan + stat": lambda n: run.ns("list/proc_scan_stat", n),
        "BPF task iterator (pinned)": lambda n: run.ns("list/bpf_iter", n),
    }
    for ax, title, lines in (
            (left, "Listing every process", series),
            (right, "The whole process table", {
                "taskmon (C++)": lambda n: run.ns("table/cpp_taskmon", n),
                "/proc (C++)": lambda n: run.ns("table/cpp_proc", n),
                "taskmon (Python)": lambda n: run.ns("py/table/taskmon", n),
                "taskmon.process_iter": lambda n: run.ns("py/table/taskmon_iter", n),
                "psutil.process_iter": lambda n: run.ns("py/table/psutil", n)})):
        for label, get in lines.items():
            points = [(n, get(n)) for n in pops]
            points = [(n, v / 1e3) for n, v in points if v is not None and v > 0]
            if points:
                ax.plot(*zip(*points), marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("processes")
        ax.set_ylabel("µs per call")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"taskmon benchmarks, kernel {run.kernel} (QEMU TCG)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def junit(run: Run, path: str, smoke: bool) -> int:
    """One test case per expected benchmark; returns the number of failures."""
    pops = run.populations() or [None]
    expected: List[Tuple[str, Optional[int]]] = [(n, None) for n in SINGLE + LOAD]
    expected += [(n, None) for n in BATCH]
    expected += [(n, p) for p in pops for n in POPULATION]
    tools_required = os.environ.get("TASKMON_REQUIRE_TOOLS") == "1"
    suite = ET.Element("testsuite", name="bench")
    failures = skipped = 0
    for name, population in expected:
        case = ET.SubElement(suite, "testcase", classname="bench",
                             name=name + (f"@{population}" if population else ""))
        r = run.get(name, population)
        # The tools of the optional ones (bpftrace, its task iterator,
        # taskstats) must work under TASKMON_REQUIRE_TOOLS=1 (scripts/test).
        optional = (name.startswith(OPTIONAL_PREFIXES) and not tools_required) or (
            smoke and name.endswith("/1000"))
        if r is None:
            why = "not produced by this run"
        elif r.error:
            why = r.error
        elif r.ns is not None and not math.isfinite(r.ns):
            why = "no figure"
        else:
            continue
        if optional:
            ET.SubElement(case, "skipped", message=why)
            skipped += 1
        else:
            ET.SubElement(case, "failure", message=why)
            failures += 1
    suite.set("tests", str(len(expected)))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return failures


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--json", help="write the results and ratios as JSON")
    parser.add_argument("--markdown", help="write the table (Markdown) to this file too")
    parser.add_argument("--plot", help="write the plot of cost against processes (PNG)")
    parser.add_argument("--junit", help="write JUnit XML: one case per expected benchmark")
    parser.add_argument("--smoke", action="store_true", help="a smoke run: presence, not values")
    args = parser.parse_args(argv)
    run = Run(args.run_dir)
    table = markdown(run, args.smoke)
    sys.stdout.write(table)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(table)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(to_json(run, args.smoke), f, indent=1)
    if args.plot:
        plot(run, args.plot)
    if args.junit:
        return 1 if junit(run, args.junit, args.smoke) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
