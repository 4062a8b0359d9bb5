"""taskmonitor answers a caller compiled against the VER0 structure sizes.

tests/abi/ver0-caller.c declares its own copies of ABI 1.0's first
published structures and computes the request codes from their sizes (it
does not include taskmon.h): TM_STATS, TM_STATS_BATCH, TM_LIST and
TM_SUBSCRIBE + read() must answer it, whatever the module's structures have
grown to.  The binary is built by CMake (target taskmon-abi-ver0) into
build/host/tests/abi/, as scripts/test's build step makes build/host;
TASKMON_ABI_VER0 names another, TASKMON_BUILD_DIR another build tree.
"""
import os
import pathlib
import subprocess

import required

ROOT = pathlib.Path(__file__).resolve().parents[2]


def ver0_caller() -> pathlib.Path:
    if os.environ.get("TASKMON_ABI_VER0"):
        return pathlib.Path(os.environ["TASKMON_ABI_VER0"])
    build = pathlib.Path(os.environ.get("TASKMON_BUILD_DIR", ROOT / "build/host"))
    return build / "tests/abi/taskmon-abi-ver0"


def test_a_ver0_caller_is_answered(load):
    program = ver0_caller()
    required.tool(os.access(program, os.X_OK),
                  f"no {program}: build it (cmake --build build/host --target taskmon-abi-ver0)")
    load("taskmonitor")
    out = subprocess.run([str(program)], capture_output=True, text=True, timeout=120)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "not ok" not in out.stdout
    # Every part ran: the last line counts the checks.
    lines = out.stdout.splitlines()
    oks = [line for line in lines if line.startswith("ok ")]
    assert f"1..{len(oks)}" in lines and len(oks) >= 21, out.stdout


def test_a_ver0_caller_is_refused_without_the_module():
    """The check can fail: without /dev/taskmonitor the program bails out."""
    program = ver0_caller()
    required.tool(os.access(program, os.X_OK),
                  f"no {program}: build it (cmake --build build/host --target taskmon-abi-ver0)")
    out = subprocess.run([str(program)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout.startswith("Bail out!"), out.stdout
