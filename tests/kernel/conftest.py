"""Fixtures for the kernel-behaviour tests.

These tests run as root inside the test VM (tests/vm/run-vm) against the
real modules, built for the VM's kernel; TASKMON_KO_DIR names the folder
holding them (searched recursively for NAME.ko).
"""
import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
# This suite's helpers (kmod, kmsg, tmdev, uapi), and tests/pylib's procs,
# shared by every Python suite.
sys.path.insert(0, str(HERE.parent / "pylib"))
sys.path.insert(0, str(HERE))

import kmod  # noqa: E402
import procs  # noqa: E402
from kmsg import Kmsg  # noqa: E402

MODULES = ("hellosysfs", "helloioctl", "taskmonitor")


def pytest_configure(config):
    if os.geteuid() != 0 or "TASKMON_KO_DIR" not in os.environ:
        raise pytest.UsageError(
            "the kernel tests load modules: run them as root inside the test VM, "
            "with TASKMON_KO_DIR set to the built modules (see tests/README.md)")


def module_path(name: str) -> pathlib.Path:
    root = pathlib.Path(os.environ["TASKMON_KO_DIR"])
    found = sorted(root.rglob(f"{name}.ko"))
    if not found:
        raise FileNotFoundError(f"{name}.ko not found under {root}: build the modules first")
    return found[0]


@pytest.fixture(autouse=True)
def no_module_left_loaded():
    """Each test starts and ends with none of our modules loaded."""
    for name in MODULES:
        kmod.unload_if_loaded(name)
    yield
    for name in MODULES:
        kmod.unload_if_loaded(name)


@pytest.fixture
def kmsg():
    log = Kmsg()
    yield log
    log.close()


@pytest.fixture
def load():
    """load(name, params="") loads one of our modules for this test."""
    def _load(name: str, params: str = "") -> None:
        kmod.load(module_path(name), params)
    return _load


# busy(threads=1): a CPU-bound process, the fixture of every Python suite.
busy = procs.busy
