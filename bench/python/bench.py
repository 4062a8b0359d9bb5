#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The Python benchmarks of taskmon (issue 16; interface: bench/README.md).

    bench.py --group single|population|load|exporters --out FILE.json [--population N]
             [--smoke]

Groups:
  single      one process per call: psutil.Process(pid).cpu_times() and
              .memory_info() against taskmon.Process, Monitor.sample() and
              Monitor.stats(), beside the getppid() floor;
  population  the whole process table (psutil.process_iter as Glances asks
              for it, against taskmon.processes() + Monitor.stats_many()) and
              bpftrace's task iterator; it measures the processes that exist
              (the runner starts taskmon-bench-population N first);
  load        the module's kthread CPU at the default period, and a stream
              of 100 pids at 10 ms;
  exporters   the CPU one scrape costs taskmon-exporter and Debian's
              process-exporter with the same configuration (exporters.py),
              over the processes that exist; up to 20 scrapes each (3 with --smoke).

Each figure is the median of R repeats (7; 3 with --smoke) of a loop of K
calls sized to last about 0.2 s (0.02 s with --smoke), in ns per call.
Run as root in the VM with PYTHONPATH naming the built bindings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import Plan, Result  # noqa: E402

GROUPS = ("single", "population", "load", "exporters")


def _psutil_version() -> Optional[str]:
    try:
        import psutil
    except ImportError:
        return None
    return str(psutil.__version__)


def context(population: Optional[int]) -> Dict[str, Any]:
    return {"kernel": platform.release(), "python": platform.python_version(),
            "psutil": _psutil_version(), "population": population}


def run_group(group: str, smoke: bool) -> List[Result]:
    plan = Plan.for_mode(smoke)
    if group == "single":
        import single
        return single.run(plan)
    if group == "population":
        import population
        return population.run(plan)
    if group == "exporters":
        import exporters
        return exporters.run(scrapes=3 if smoke else 20)
    import load
    return load.run(plan, window=3.0 if smoke else 60.0)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--group", choices=GROUPS, required=True)
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--population", type=int, default=None,
                        help="the population the runner set up (recorded in the context)")
    parser.add_argument("--smoke", action="store_true",
                        help="short loops and windows: proves the bench runs, not the figures")
    args = parser.parse_args(argv)
    results = run_group(args.group, args.smoke)
    doc = {"context": context(args.population),
           "benchmarks": [r.to_json() for r in results]}
    tmp = f"{args.out}.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    for r in results:
        figure = "-" if r.ns is None else f"{r.ns:,.0f} ns"
        extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in r.extra.items())
        print(f"{r.name:28} {figure:>16} {extra} {r.note or ''}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
