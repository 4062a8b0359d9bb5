"""Fixtures of the reliability suites (stress, faults, bad input, kmemleak).

They run as root inside the test VM (tests/reliability/run-guest), against
the real modules under TASKMON_KO_DIR, like tests/kernel.  Every test starts
and ends with none of our modules loaded, and ends with nothing of them
left: no file in /sys or /dev, no character device, no monitor kthread.

TASKMON_SEED replays a run (the seed is printed at the start);
TASKMON_FIGURES names the JSON file the figures are written to.
"""
import collections
import json
import os
import pathlib
import random
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import harness  # noqa: E402
from harness import kmod, kmsg as kmsg_mod, procs  # noqa: E402


def pytest_configure(config):
    if os.geteuid() != 0 or "TASKMON_KO_DIR" not in os.environ:
        raise pytest.UsageError(
            "the reliability suites load modules: run them as root inside the test VM "
            "(tests/reliability/run-guest), with TASKMON_KO_DIR set to the built modules")


class Figures:
    """What the suites did, by suite: counts are summed, other values kept."""

    def __init__(self):
        self.data = collections.defaultdict(dict)
        self.started = time.monotonic()

    def add(self, suite: str, key: str, value):
        table = self.data[suite]
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and isinstance(table.get(key), (int, float)):
            table[key] += value
        else:
            table[key] = value

    def dump(self, path):
        report = {"kernel": os.uname().release, "seed": SEED,
                  "seconds": round(time.monotonic() - self.started),
                  "suites": self.data}
        if path:
            pathlib.Path(path).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        return report


SEED = os.environ.get("TASKMON_SEED") or str(random.SystemRandom().randrange(1 << 32))
FIGURES = Figures()


def pytest_report_header(config):
    return f"reliability: TASKMON_SEED={SEED} replays this run"


def pytest_sessionfinish(session, exitstatus):
    report = FIGURES.dump(os.environ.get("TASKMON_FIGURES"))
    lines = [f"reliability figures on {report['kernel']} (seed {SEED}, "
             f"{report['seconds']} s):"]
    for suite in sorted(report["suites"]):
        for key, value in sorted(report["suites"][suite].items()):
            if ":" not in key:  # the totals; the details are in the JSON
                lines.append(f"  {suite:10} {key:45} {value}")
    print("\n" + "\n".join(lines), flush=True)


@pytest.fixture
def figures():
    return FIGURES


@pytest.fixture
def seed(request):
    """A seed of its own for each test, derived from the run's."""
    return f"{SEED}:{request.node.name}"


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """Each test starts and ends with none of our modules, and nothing of them."""
    harness.unload_all()
    yield
    harness.unload_all()
    deadline = time.monotonic() + harness.DEADLINE
    while True:  # a stopped kthread may take a moment to leave /proc
        state = harness.snapshot()
        if state == harness.NOTHING_LEFT or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert state == harness.NOTHING_LEFT, "left behind after the test"


@pytest.fixture
def kmsg():
    log = kmsg_mod.Kmsg()
    yield log
    log.close()


@pytest.fixture
def load():
    """load(name, params="") loads one of our modules (or the squatter)."""
    def _load(name: str, params: str = "") -> None:
        harness.call_with_deadline(kmod.load, harness.ko_path(name), params,
                                   what=f"loading {name} {params}")
    return _load


# busy(threads=1): a CPU-bound process, the fixture of every Python suite
# (tests/pylib/procs.py).
busy = procs.busy
