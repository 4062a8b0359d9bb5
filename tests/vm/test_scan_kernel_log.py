# SPDX-License-Identifier: GPL-2.0-only
"""tests/vm/scan-kernel-log on fixture logs (tests/vm/fixtures): every kind
of kernel report fails a run, and nothing else does.  A host test
(harness.host)."""
import pathlib
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SCAN = HERE / "scan-kernel-log"
FIXTURES = HERE / "fixtures"


def scan(*logs):
    return subprocess.run([str(SCAN), *map(str, logs)], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("log, line", [
    ("warning.log", "WARNING: CPU: 1 PID: 290 at kernel/kthread.c:659"),
    ("slub-double-free.log", "BUG kmalloc-64 (Tainted: G           OE     ): Object already free"),
    ("lockdep-non-static-key.log", "INFO: trying to register non-static key."),
    ("call-trace.log", "Call Trace:"),
])
def test_a_report_is_found(log, line):
    out = scan(FIXTURES / log)
    assert out.returncode == 0, out.stdout + out.stderr
    assert line in out.stdout


def test_a_clean_log_is_clean():
    """User-space output and the command line hold the same words, without
    a kernel time stamp or in the echoed command line: not reports."""
    out = scan(FIXTURES / "clean.log")
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout == ""


def test_each_report_line_once_in_order(tmp_path):
    twice = tmp_path / "dmesg.log"
    twice.write_text((FIXTURES / "warning.log").read_text() * 2)
    out = scan(twice, FIXTURES / "clean.log")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert len(lines) == 2, lines
    assert "WARNING:" in lines[0] and "Call Trace:" in lines[1]


def test_no_readable_log_is_status_2(tmp_path):
    out = scan(tmp_path / "missing.log")
    assert out.returncode == 2
    assert "cannot read" in out.stderr


def test_the_squatters_provoked_stack_dump_is_not_a_report():
    """tests/reliability's squatter holds taskmonitor's class name on
    purpose: sysfs_warn_dup()'s stack dump of the failing load is expected."""
    out = scan(FIXTURES / "squatter-duplicate.log")
    assert out.returncode == 1, out.stdout


def test_a_provoked_dump_with_another_cpus_line_before_it_is_not_a_report():
    """On 6.12 (a Tainted: line more in the dump) the monitor thread's first
    sample came between the duplicate line and the dump: still the
    provoked one (a real run's log)."""
    out = scan(FIXTURES / "squatter-duplicate-interleaved.log")
    assert out.returncode == 1, out.stdout


def test_a_second_dump_after_one_duplicate_is_a_report(tmp_path):
    """One duplicate line excuses one dump, not the next."""
    lines = (FIXTURES / "squatter-duplicate-interleaved.log").read_text().splitlines(True)
    dump = [line for line in lines if "CPU: 1 UID" in line or "Call Trace:" in line]
    log = tmp_path / "dmesg.log"
    log.write_text("".join(lines[:-1] + dump + lines[-1:]))
    out = scan(log)
    assert out.returncode == 0
    assert "Call Trace:" in out.stdout


def test_a_duplicate_without_the_squatter_is_a_report(tmp_path):
    log = tmp_path / "dmesg.log"
    log.write_text("".join(line for line in
                           (FIXTURES / "squatter-duplicate.log").read_text().splitlines(True)
                           if "squatter: took" not in line))
    out = scan(log)
    assert out.returncode == 0
    assert "Call Trace:" in out.stdout
