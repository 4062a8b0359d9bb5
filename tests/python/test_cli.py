# SPDX-License-Identifier: LGPL-2.1-or-later
"""python3 -m taskmon: the Python API example (bindings/python/taskmon/__main__.py).

The command-line tool is the C++ taskmon, tested by tests/cli and
tests/libtaskmon/vm/test_cli.cpp; this only checks that the example runs.
"""

import os
import re

import pytest

import taskmon


def test_the_example_is_not_a_second_command_line(run_cli):
    for option in ("--help", "-h"):
        out = run_cli(option)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("usage: python3 -m taskmon [COUNT]\n")
        assert "the C++ 'taskmon'" in out.stdout
        assert out.stderr == ""
    out = run_cli("--frobnicate")
    assert out.returncode == 2
    assert "the command is 'taskmon'" in out.stderr
    assert out.stdout == ""
    assert not hasattr(taskmon, "cli")


def test_the_example_reports_a_missing_device(run_cli):
    if os.path.exists(taskmon.Monitor.DEFAULT_PATH):
        pytest.skip("/dev/taskmonitor exists here")
    out = run_cli("1")
    assert out.returncode == 1
    assert out.stderr.startswith("python3 -m taskmon: cannot open /dev/taskmonitor"), out.stderr
    assert out.stdout == ""


@pytest.mark.vm
def test_vm_the_example_reads_the_target(run_cli, busy):
    proc = busy()
    with taskmon.Monitor(steer=True) as m:
        m.set_target(proc.pid)
    out = run_cli("2")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"pid {proc.pid}"
    assert len(lines) == 3
    for line in lines[1:]:
        assert re.fullmatch(r"user \d+\.\d{3} s, system \d+\.\d{3} s, cpu \d+\.\d %", line), line
