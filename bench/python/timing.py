# SPDX-License-Identifier: GPL-2.0-only
"""The repeat-and-take-the-median harness of bench.py.

measure() times a statement as timeit does (compiled into the loop, so no
extra Python call per iteration; garbage collection off while timing):
R repeats of a loop of K calls, K sized so that one loop lasts about
*target* seconds; the result is the median ns per call.  A call slower than
SLOW_S seconds (psutil's whole table at thousands of processes under TCG
emulation takes tens of seconds) is timed once per repeat, three repeats.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
import timeit
from typing import Any, Dict, List, Optional

#: Seconds above which one call is timed alone, three times.
SLOW_S = 1.0
SLOW_REPEATS = 3


@dataclasses.dataclass
class Result:
    """One benchmark: median ns per call over *repeats* loops of *calls* calls."""
    name: str
    ns: Optional[float]
    repeats: int = 0
    calls: int = 0
    processes: Optional[int] = None
    note: Optional[str] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"name": self.name, "ns": self.ns, "repeats": self.repeats,
                               "calls": self.calls}
        if self.processes is not None:
            out["processes"] = self.processes
        if self.note:
            out["note"] = self.note
        out.update(self.extra)
        return out


@dataclasses.dataclass
class Plan:
    """How long to time: *repeats* loops of about *target* seconds each."""
    repeats: int
    target: float

    @classmethod
    def for_mode(cls, smoke: bool) -> Plan:
        return cls(repeats=3, target=0.02) if smoke else cls(repeats=7, target=0.2)


def measure(name: str, stmt: str, plan: Plan, *, setup: str = "pass",
            env: Optional[Dict[str, Any]] = None, note: Optional[str] = None) -> Result:
    """Times *stmt* (Python source, run in *env*) as described above."""
    timer = timeit.Timer(stmt, setup, timer=time.perf_counter_ns, globals=env or {})
    first = timer.timeit(1)  # also the warm-up (imports, caches, first open)
    if first > SLOW_S * 1e9:
        loops = [first] + [timer.timeit(1) for _ in range(SLOW_REPEATS - 1)]
        return Result(name, float(statistics.median(loops)), SLOW_REPEATS, 1, note=note)
    calls = _calls(timer, plan.target)
    loops = [timer.timeit(calls) for _ in range(plan.repeats)]
    per_call = [t / calls for t in loops]
    return Result(name, float(statistics.median(per_call)), plan.repeats, calls, note=note)


def _calls(timer: timeit.Timer, target: float) -> int:
    """The number of calls that makes one loop last about *target* seconds."""
    calls = 1
    while True:
        took = timer.timeit(calls)
        # Grow by ten until a loop lasts a tenth of the target, then scale:
        # a single call's time is too noisy to size from.
        if took >= target * 1e9 / 10 or calls >= 10_000_000:
            return max(1, math.ceil(calls * target * 1e9 / max(took, 1)))
        calls *= 10


def wall_median(name: str, run: Any, repeats: int = 3, note: Optional[str] = None) -> Result:
    """The median wall time (ns) of *repeats* calls of run(), one call each."""
    times: List[int] = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        run()
        times.append(time.perf_counter_ns() - start)
    return Result(name, float(statistics.median(times)), repeats, 1, note=note)


def unavailable(name: str, why: str) -> Result:
    """A benchmark that could not run: ns null, and why."""
    return Result(name, None, note=why)
