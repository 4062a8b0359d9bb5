# SPDX-License-Identifier: GPL-2.0-only
"""The single group: one process read per call, psutil against taskmon.

Every figure is of one sleeping child that the bench forked (sleeper.py).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Dict, List

from timing import Plan, Result, measure, unavailable


def run(plan: Plan) -> List[Result]:
    from sleeper import sleeper
    with sleeper() as pid:
        return _run(plan, pid)


def _run(plan: Plan, pid: int) -> List[Result]:
    results = [measure("py/floor/getppid", "getppid()", plan, env={"getppid": os.getppid})]
    try:
        import psutil
    except ImportError as e:
        psutil = None
        missing = f"psutil cannot be imported ({e}): apt-get install python3-psutil"
    env: Dict[str, Any] = {"pid": pid}
    if psutil is not None:
        env["psutil"] = psutil
        env["kept"] = psutil.Process(pid)
        results += [
            measure("py/psutil/cpu_times", "psutil.Process(pid).cpu_times()", plan, env=env),
            measure("py/psutil/memory_info", "psutil.Process(pid).memory_info()", plan, env=env),
            measure("py/psutil/kept_cpu_times", "kept.cpu_times()", plan, env=env),
        ]
    else:
        results += [unavailable(n, missing) for n in (
            "py/psutil/cpu_times", "py/psutil/memory_info", "py/psutil/kept_cpu_times")]
    results += _taskmon(plan, pid)
    order = ["py/floor/getppid", "py/psutil/cpu_times", "py/taskmon/cpu_times",
             "py/psutil/memory_info", "py/taskmon/memory_info", "py/psutil/kept_cpu_times",
             "py/taskmon/kept_cpu_times", "py/taskmon/sample", "py/taskmon/stats"]
    return sorted(results, key=lambda r: order.index(r.name))


def _taskmon(plan: Plan, pid: int) -> List[Result]:
    names = ["py/taskmon/cpu_times", "py/taskmon/memory_info", "py/taskmon/kept_cpu_times",
             "py/taskmon/sample", "py/taskmon/stats"]
    try:
        import taskmon
        monitor = taskmon.Monitor()
    except (ImportError, OSError) as e:
        return [unavailable(n, f"taskmon unavailable: {e}") for n in names]
    with contextlib.ExitStack() as stack:
        stack.enter_context(monitor)
        env = {"taskmon": taskmon, "pid": pid, "monitor": monitor,
               "kept": taskmon.Process(pid)}
        results = [
            measure("py/taskmon/cpu_times", "taskmon.Process(pid).cpu_times()", plan, env=env),
            measure("py/taskmon/memory_info", "taskmon.Process(pid).memory_info()", plan,
                    env=env),
            measure("py/taskmon/kept_cpu_times", "kept.cpu_times()", plan, env=env),
        ]
        try:
            # Monitor.sample() reads the module's target: the sleeper, set
            # through a steering handle (root); the figures come from a
            # read-only Monitor, as a reader's would.
            with taskmon.Monitor(steer=True) as steer:
                steer.set_target(pid)
            results.append(measure("py/taskmon/sample", "monitor.sample()", plan, env=env))
        except OSError as e:
            results.append(unavailable("py/taskmon/sample", f"cannot set the target: {e}"))
        results.append(measure("py/taskmon/stats", "monitor.stats(pid)", plan, env=env))
        return results
