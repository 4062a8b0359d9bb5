# SPDX-License-Identifier: GPL-2.0-only
"""python3 -m taskmon: formatting, parsing, exit statuses, and the same
behaviour as the C++ taskmon tool (compared directly when it is built)."""
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import taskmon
import taskmon_testlib as lib
from taskmon import cli

S = 1_000_000_000
MS = 1_000_000


# ---- formatting: the C++ tool's unit-test values (tests/cli/test_format.cpp) -----

def test_format_seconds():
    assert cli.format_seconds(36_181_999_999) == "36.181 s"
    assert cli.format_seconds(0) == "0.000 s"
    assert cli.format_seconds(1 * MS) == "0.001 s"
    assert cli.format_seconds(999_999) == "0.000 s"
    assert cli.format_seconds(3600 * S) == "3600.000 s"
    assert cli.format_seconds(-1500 * MS) == "-1.500 s"
    assert cli.format_seconds(-1 * MS) == "-0.001 s"
    assert cli.format_seconds(1_234_567_891, 0) == "1 s"
    assert cli.format_seconds(1_234_567_891, 1) == "1.2 s"
    assert cli.format_seconds(1_234_567_891, 9) == "1.234567891 s"
    assert cli.format_seconds(1_234_567_891, 12) == "1.234567891 s"
    assert cli.format_seconds(1_234_567_891, -3) == "1 s"


def test_json_seconds():
    assert cli.json_seconds(36_181_000_001) == "36.181000001"
    assert cli.json_seconds(0) == "0.000000000"


def test_format_get():
    sample = taskmon.Sample(36_181 * MS, 512 * MS)
    assert cli.format_get(1234, sample, False) == (
        "pid     1234\nuser    36.181 s\nsystem  0.512 s\ntotal   36.693 s\n")
    line = cli.format_get(1234, taskmon.Sample(36_181 * MS, 512 * MS + 1), True)
    assert line == (
        '{"pid": 1234, "user_ns": 36181000000, "system_ns": 512000001, '
        '"total_ns": 36693000001, "user_s": 36.181000000, "system_s": 0.512000001, '
        '"total_s": 36.693000001}\n')
    assert json.loads(line)["total_ns"] == 36693000001


def test_format_pid_and_thread():
    assert cli.format_pid(42, False) == "42\n"
    assert cli.format_pid(42, True) == '{"pid": 42}\n'
    assert cli.format_set_pid(42, False) == "now monitoring pid 42\n"
    assert cli.format_set_pid(42, True) == '{"pid": 42}\n'
    assert cli.format_thread(True, False) == "monitoring thread started\n"
    assert cli.format_thread(False, False) == "monitoring thread stopped\n"
    assert cli.format_thread(True, True) == '{"thread": "started"}\n'
    assert cli.format_thread(False, True) == '{"thread": "stopped"}\n'


def test_cpu_percent():
    assert cli.cpu_percent(500 * MS, S) == 50.0
    assert cli.cpu_percent(2 * S, S) == 200.0
    assert cli.cpu_percent(0, S) == 0.0
    assert cli.cpu_percent(S, 0) is None
    assert cli.cpu_percent(S, -1) is None
    assert cli.cpu_percent(-1, S) is None


def test_watch_rows():
    before, after = taskmon.Sample(10 * S, 1 * S), taskmon.Sample(10_900 * MS, 1_050 * MS)
    row = cli.make_watch_row(2 * S, 7, after, 7, before, S)
    assert (row.elapsed_ns, row.pid, row.sample) == (2 * S, 7, after)
    assert row.user_cpu == pytest.approx(90.0)
    assert row.system_cpu == pytest.approx(5.0)
    assert row.cpu == pytest.approx(95.0)
    later = taskmon.Sample(11 * S, 1 * S)
    assert cli.make_watch_row(S, 8, later, 7, before, S).cpu is None, "pid changed"
    assert cli.make_watch_row(S, 7, before, 7, later, S).cpu is None, "time went back"
    assert cli.make_watch_row(S, 7, later, 7, before, 0).cpu is None, "no wall time"


def test_watch_text_and_json():
    assert cli.format_watch_header(7, 500 * MS, False) == (
        "pid 7, a sample every 0.500 s\n"
        "     elapsed            user          system       cpu      user    system\n")
    assert cli.format_watch_header(7, S, True) == ""
    row = cli.make_watch_row(S, 7, taskmon.Sample(36_181 * MS, 512 * MS), 7,
                             taskmon.Sample(35_181 * MS, 502 * MS), S)
    assert cli.format_watch_row(row, False) == (
        "     1.000 s        36.181 s         0.512 s   101.0 %   100.0 %     1.0 %\n")
    none = cli.make_watch_row(S, 8, taskmon.Sample(0, 0), 7, taskmon.Sample(0, 0), S)
    assert cli.format_watch_row(none, False).endswith("- %       - %       - %\n")
    row = cli.make_watch_row(S, 7, taskmon.Sample(36_181 * MS, 512 * MS), 7,
                             taskmon.Sample(35_681 * MS, 512 * MS), S)
    assert cli.format_watch_row(row, True) == (
        '{"elapsed_s": 1.000000000, "pid": 7, "user_ns": 36181000000, '
        '"system_ns": 512000000, "user_s": 36.181000000, "system_s": 0.512000000, '
        '"cpu_percent": 50.00, "user_percent": 50.00, "system_percent": 0.00}\n')
    assert '"cpu_percent": null' in cli.format_watch_row(none, True)


def test_ticks_skip_missed_deadlines_instead_of_bursting():
    now = [0]
    slept = []

    def clock():
        return now[0]

    def sleep(seconds):
        slept.append(seconds)
        now[0] += int(seconds * S)
    ticks = cli._ticks(S, 4, clock, sleep)
    assert next(ticks) == S
    now[0] += 5 * S  # a suspend: five intervals missed
    assert next(ticks) == 6 * S  # no sleep, and no burst of catch-up rows after it
    assert next(ticks) == 7 * S
    assert next(ticks) == 8 * S
    assert list(ticks) == []


# ---- parsing ------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["get"], dict(command="get")),
    (["--json", "get"], dict(command="get", json=True)),
    (["get", "-j"], dict(command="get", json=True)),
    (["-d", "/dev/x", "pid"], dict(command="pid", device="/dev/x", pid=None)),
    (["pid", "--device=/dev/x", "42"], dict(command="pid", device="/dev/x", pid=42)),
    (["watch", "-i", "0.5", "-n", "3"], dict(command="watch", interval_ns=S // 2, count=3)),
    (["--interval=2s", "watch"], dict(command="watch", interval_ns=2 * S, count=None)),
    (["watch", "--interval", ".01"], dict(command="watch", interval_ns=10 * MS)),
    (["watch", "--interval", "86400"], dict(command="watch", interval_ns=86400 * S)),
    (["start"], dict(command="start")),
    (["stop"], dict(command="stop")),
    (["help"], dict(command="help")),
    (["get", "--help"], dict(command="help")),
    (["bogus", "-V"], dict(command="version")),
])
def test_parse_args(args, expected):
    opts = cli.parse_args(args)
    for key, value in expected.items():
        assert getattr(opts, key) == value, key


@pytest.mark.parametrize("args, message", [
    ([], "no command given; the commands are get, watch, start, stop, pid and help"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["get", "extra"], "'get' takes no arguments (got 'extra')"),
    (["pid", "1", "2"], "'pid' takes at most one argument, the PID (got 2)"),
    (["pid", "0"], "invalid pid '0'"),
    (["pid", "-5"], "invalid pid '-5'"),
    (["pid", "12x"], "invalid pid '12x'"),
    (["pid", "2147483648"], "invalid pid '2147483648'"),
    (["watch", "-i", "0"], "invalid interval '0'"),
    (["watch", "-i", "0.009"], "invalid interval '0.009'"),
    (["watch", "-i", "86400.5"], "invalid interval '86400.5'"),
    (["watch", "-i", "1.0000000001"], "invalid interval '1.0000000001'"),
    (["watch", "-i", "abc"], "invalid interval 'abc'"),
    (["watch", "-n", "0"], "invalid count '0'"),
    (["get", "--count", "3"], "--interval and --count only apply to 'watch'"),
    (["--device=", "get"], "option --device needs a non-empty PATH"),
    (["get", "--bogus"], "--bogus"),
])
def test_usage_errors(args, message):
    with pytest.raises(cli.UsageError) as exc:
        cli.parse_args(args)
    assert message in str(exc.value)


def test_main_reports_usage_errors_with_status_2():
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["frobnicate"], out, err) == cli.EXIT_USAGE
    assert out.getvalue() == ""
    assert err.getvalue() == (
        "taskmon: unknown command 'frobnicate'; the commands are get, watch, start, stop, "
        "pid and help\nTry 'python3 -m taskmon --help' for more information.\n")


@pytest.mark.parametrize("error, status", [
    (taskmon.NoSuchProcessError(3, "x"), 3),
    (taskmon.NoTargetError(61, "x"), 4),
    (taskmon.DeviceNotFoundError(2, "x"), 5),
    (taskmon.PermissionDeniedError(13, "x"), 6),
    (taskmon.NotSupportedError(25, "x"), 7),
    (taskmon.InvalidArgumentError(22, "x"), 1),
    (taskmon.Error(5, "x"), 1),
    (cli.UsageError("x"), 2),
])
def test_exit_code_for(error, status):
    assert cli.exit_code_for(error) == status


# ---- the command, as a process ------------------------------------------------------

def test_help(run_cli):
    out = run_cli("--help")
    assert out.returncode == 0
    assert out.stdout.startswith("usage: python3 -m taskmon [OPTIONS] COMMAND [ARGS]")
    for text in ("get", "watch", "--interval", "--count", "start", "stop", "pid PID",
                 "--device", "--json", "--version", "Exit status:",
                 "  3  no such process", "  7  not a taskmonitor device"):
        assert text in out.stdout
    assert run_cli("help").stdout == out.stdout


def test_version(run_cli):
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout == f"taskmon {taskmon.__version__} (libtaskmon {taskmon.__version__})\n"


def test_missing_device(run_cli):
    out = run_cli("--device", "/nonexistent/taskmonitor", "get")
    assert out.returncode == 5
    assert out.stdout == ""
    assert out.stderr.startswith("taskmon: cannot open /nonexistent/taskmonitor: ")
    assert "sudo modprobe taskmonitor" in out.stderr


def test_not_a_taskmonitor(run_cli):
    out = run_cli("--device", "/dev/null", "--json", "get")
    assert out.returncode == 7
    assert "not a taskmonitor device" in out.stderr


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_closed_stdout_is_a_plain_error(args):
    """stdout is a pipe whose reader is gone before the command writes a
    byte: its first write fails with EPIPE (Python ignores SIGPIPE), and
    the command says so in one line and exits 1 -- no traceback, and no
    second error from the interpreter's final flush."""
    reader, writer = os.pipe()
    os.close(reader)  # closed before the command even starts
    try:
        proc = subprocess.run([sys.executable, "-m", "taskmon", *args], stdout=writer,
                              stderr=subprocess.PIPE, text=True, env=lib.child_env(),
                              timeout=60)
    finally:
        os.close(writer)
    assert proc.stderr == ("taskmon: cannot write to standard output (closed pipe or full "
                           "disk?); check where the output goes\n")
    assert proc.returncode == cli.EXIT_FAILURE == 1


CPP_CLI = lib.cpp_cli()
needs_cpp = pytest.mark.skipif(CPP_CLI is None, reason="the C++ taskmon tool is not built "
                               "next to this package (set TASKMON_CLI to compare with it)")


@needs_cpp
@pytest.mark.parametrize("args", [
    ["--version"],
    ["--device", "/nonexistent/taskmonitor", "get"],
    ["--device", "/nonexistent/taskmonitor", "--json", "pid"],
    ["-d", "/dev/null", "get"],
    ["-d", "/dev/null", "pid", "5"],
    ["-d", "/dev/null", "start"],
    ["-d", "/", "stop"],
    ["frobnicate"],
    [],
    ["get", "extra"],
    ["pid", "0"],
    ["pid", "-5"],
    ["pid", "1", "2"],
    ["watch", "--interval", "0"],
    ["watch", "-n", "0"],
    ["--count", "3", "get"],
    ["--device=", "get"],
])
def test_same_output_and_status_as_the_cpp_tool(run_cli, args):
    py = run_cli(*args)
    cpp = subprocess.run([CPP_CLI, *args], capture_output=True, text=True, timeout=60)
    assert py.returncode == cpp.returncode
    assert py.stdout == cpp.stdout
    # The usage hint names the command each was run as.
    assert py.stderr == cpp.stderr.replace("Try 'taskmon --help'",
                                           "Try 'python3 -m taskmon --help'")


@needs_cpp
@pytest.mark.parametrize("args", [["--bogus", "get"], ["--json=1", "get"], ["watch", "-n"]])
def test_same_status_as_the_cpp_tool_for_bad_options(run_cli, args):
    # argparse words these messages its own way; the status is the same.
    py = run_cli(*args)
    cpp = subprocess.run([CPP_CLI, *args], capture_output=True, text=True, timeout=60)
    assert py.returncode == cpp.returncode == 2
    assert py.stderr.startswith("taskmon: ")


# ---- against the real module (in the VM) ------------------------------------------

GET_TEXT = re.compile(r"pid     (\d+)\nuser    (\d+\.\d{3}) s\nsystem  (\d+\.\d{3}) s\n"
                      r"total   (\d+\.\d{3}) s\n")


@pytest.mark.vm
def test_vm_pid_get_and_json(run_cli, busy):
    proc = busy()
    out = run_cli("pid", str(proc.pid))
    assert (out.returncode, out.stdout) == (0, f"now monitoring pid {proc.pid}\n"), out.stderr
    assert run_cli("pid").stdout == f"{proc.pid}\n"
    assert run_cli("--json", "pid").stdout == f'{{"pid": {proc.pid}}}\n'
    time.sleep(0.2)
    out = run_cli("get")
    assert out.returncode == 0, out.stderr
    match = GET_TEXT.fullmatch(out.stdout)
    assert match and int(match.group(1)) == proc.pid, out.stdout
    record = json.loads(run_cli("get", "--json").stdout)
    assert record["pid"] == proc.pid
    assert record["total_ns"] == record["user_ns"] + record["system_ns"]
    assert record["user_ns"] > 0
    assert record["user_s"] == pytest.approx(record["user_ns"] / 1e9)


@pytest.mark.vm
def test_vm_watch(run_cli, busy):
    proc = busy()
    assert run_cli("pid", str(proc.pid)).returncode == 0
    out = run_cli("watch", "--interval", "0.1", "--count", "3")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"pid {proc.pid}, a sample every 0.100 s"
    assert lines[1].split() == ["elapsed", "user", "system", "cpu", "user", "system"]
    assert len(lines) == 5
    out = run_cli("--json", "watch", "-i", "0.1", "-n", "3")
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(records) == 3
    assert all(r["pid"] == proc.pid for r in records)
    assert all(r["cpu_percent"] is not None for r in records)
    assert max(r["cpu_percent"] for r in records) > 10, "the busy target used no CPU?"


@pytest.mark.vm
def test_vm_watch_ends_normally_on_sigterm_and_sigint(busy):
    proc = busy()
    with taskmon.Monitor() as m:
        m.target = proc.pid
    for sig in (signal.SIGTERM, signal.SIGINT):
        watch = subprocess.Popen([sys.executable, "-m", "taskmon", "watch", "-i", "0.1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=lib.child_env())
        # Once the header is out, the watch has begun: a signal ends it normally.
        header = watch.stdout.readline()
        assert header == f"pid {proc.pid}, a sample every 0.100 s\n"
        time.sleep(0.3)
        watch.send_signal(sig)
        # Not communicate(): it would skip what readline() has buffered.
        stdout = watch.stdout.read()
        stderr = watch.stderr.read()
        assert watch.wait(30) == 0, stderr
        assert "Traceback" not in stderr
        assert stdout.splitlines()[0].split()[0] == "elapsed"


@pytest.mark.vm
def test_vm_start_stop(run_cli):
    was_running = bool(lib.monitor_kthreads())
    try:
        for _ in range(2):
            out = run_cli("start")
            assert (out.returncode, out.stdout) == (0, "monitoring thread started\n")
        assert lib.wait_until(lambda: len(lib.monitor_kthreads()) == 1)
        assert run_cli("--json", "stop").stdout == '{"thread": "stopped"}\n'
        assert run_cli("stop").returncode == 0
        assert lib.wait_until(lambda: not lib.monitor_kthreads())
    finally:
        run_cli("start" if was_running else "stop")


@pytest.mark.vm
def test_vm_exit_statuses(run_cli, busy):
    proc = busy()
    assert run_cli("pid", str(proc.pid)).returncode == 0
    missing = lib.unused_pid()
    out = run_cli("pid", str(missing))
    assert out.returncode == 3
    assert f"no process with pid {missing}" in out.stderr
    assert run_cli("pid").stdout == f"{proc.pid}\n", "the target is unchanged"
    lib.kill(proc)
    out = run_cli("get")
    assert out.returncode == 3
    assert "has exited" in out.stderr
    out = run_cli("pid")
    assert out.returncode == 3, "a reaped target's pid is not given"
    assert "has exited and been reaped" in out.stderr


@pytest.mark.vm
@needs_cpp
def test_vm_same_as_the_cpp_tool(run_cli, busy):
    proc = busy()
    was_running = bool(lib.monitor_kthreads())
    py = run_cli("pid", str(proc.pid))
    cpp = subprocess.run([CPP_CLI, "pid", str(proc.pid)], capture_output=True, text=True)
    assert (py.returncode, py.stdout) == (cpp.returncode, cpp.stdout) == (0, py.stdout)
    for args in (["pid"], ["--json", "pid"], ["start"], ["stop"], ["--json", "stop"],
                 ["pid", str(lib.unused_pid())]):
        py = run_cli(*args)
        cpp = subprocess.run([CPP_CLI, *args], capture_output=True, text=True)
        assert (py.returncode, py.stdout, py.stderr) == (cpp.returncode, cpp.stdout, cpp.stderr)
    run_cli("start" if was_running else "stop")
    py_get = json.loads(run_cli("--json", "get").stdout)
    cpp_get = json.loads(subprocess.run([CPP_CLI, "--json", "get"], capture_output=True,
                                        text=True).stdout)
    assert py_get.keys() == cpp_get.keys()
    assert py_get["pid"] == cpp_get["pid"] == proc.pid
    assert cpp_get["total_ns"] >= py_get["total_ns"]
