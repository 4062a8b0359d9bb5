# SPDX-License-Identifier: LGPL-2.1-or-later
"""``python3 -m taskmon``: the taskmon command line, in Python.

The same commands, options, output and exit statuses as the C++ ``taskmon``
tool (docs/taskmon.1.md)::

    python3 -m taskmon [OPTIONS] get
    python3 -m taskmon [OPTIONS] watch [--interval S] [--count N]
    python3 -m taskmon [OPTIONS] start | stop
    python3 -m taskmon [OPTIONS] pid [PID]
    python3 -m taskmon --help | --version

The formatting functions are public so that they can be tested without a
device; main() is the entry point.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import time
import typing
from types import FrameType
from typing import Callable, NoReturn, Optional

from . import _errors
from ._device import Monitor, Sample
from ._ext import __version__, library_version

__all__ = [
    "main",
    "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_NO_SUCH_PROCESS", "EXIT_NO_TARGET",
    "EXIT_DEVICE_NOT_FOUND", "EXIT_PERMISSION_DENIED", "EXIT_NOT_SUPPORTED",
    "exit_code_for", "format_seconds", "json_seconds", "format_get", "format_pid",
    "format_set_pid", "format_thread", "cpu_percent", "WatchRow", "make_watch_row",
    "format_watch_header", "format_watch_row", "parse_pid", "parse_interval",
    "parse_count",
]

PROG = "python3 -m taskmon"

# Exit statuses, as the C++ tool's (tools/taskmon/exit_codes.hpp).
EXIT_OK = 0                 # success
EXIT_FAILURE = 1            # any other runtime error
EXIT_USAGE = 2              # bad command, option or argument
EXIT_NO_SUCH_PROCESS = 3    # ESRCH: no such pid, or the target exited
EXIT_NO_TARGET = 4          # ENODATA: no target set
EXIT_DEVICE_NOT_FOUND = 5   # ENOENT/ENODEV/ENXIO: module not loaded
EXIT_PERMISSION_DENIED = 6  # EACCES/EPERM
EXIT_NOT_SUPPORTED = 7      # ENOTTY: not a taskmonitor device, or module too old

NS_PER_S = 1_000_000_000
_MIN_INTERVAL_NS = 10_000_000           # 0.01 s
_MAX_INTERVAL_NS = 86_400 * NS_PER_S    # one day
_PID_MAX = 2**31 - 1                    # pid_t
_COMMANDS = ("get", "watch", "start", "stop", "pid", "help")
_COMMAND_LIST = "get, watch, start, stop, pid and help"

DESCRIPTION = """\
Read and control taskmonitor.ko, which measures the CPU time of one process
(the target) from inside the kernel, through /dev/taskmonitor."""

COMMANDS_HELP = """\
Commands:
  get                    print the target's pid and CPU time (user, system, total)
  watch                  print the CPU time and CPU use every interval
    -i, --interval S     seconds between samples (default 1; 0.01 to 86400, e.g. 0.5)
    -n, --count N        stop after N samples (default: until Ctrl-C)
  start                  start the module's monitoring thread
  stop                   stop the module's monitoring thread
  pid                    print the target's pid
  pid PID                monitor process PID from now on
  help                   show this help"""

EPILOG = """\
Times are CPU seconds summed over all threads of the target. In 'watch', cpu
is the share of one CPU the target used during the last interval (above 100 %
for a process busy on several CPUs).

Exit status:
  0  success
  1  any other runtime error
  2  usage error: bad command, option or argument
  3  no such process: the pid does not exist, or the target exited
  4  no target set: set one with 'taskmon pid PID'
  5  device not found: the taskmonitor module is not loaded
     (sudo modprobe taskmonitor, or sudo insmod taskmonitor.ko)
  6  permission denied: run as root, or give a group access to the device
  7  not a taskmonitor device, or the loaded module is too old

Examples:
  sudo python3 -m taskmon pid "$(pidof -s myapp)"
  sudo python3 -m taskmon get
  sudo python3 -m taskmon watch --interval 0.5 --count 10
  sudo python3 -m taskmon --json get
"""


class UsageError(Exception):
    """A command line that cannot be run; the message says what is wrong."""


# ---- formatting (no device access) -------------------------------------------

def format_seconds(ns: int, decimals: int = 3) -> str:
    """``"36.181 s"``: seconds with ``decimals`` decimals (0 to 9), truncated."""
    decimals = min(max(decimals, 0), 9)
    whole = abs(ns) // NS_PER_S
    frac = abs(ns) % NS_PER_S // 10 ** (9 - decimals)
    sign = "-" if ns < 0 else ""
    if decimals == 0:
        return f"{sign}{whole} s"
    return f"{sign}{whole}.{frac:0{decimals}d} s"


def json_seconds(ns: int) -> str:
    """Exact seconds as a JSON number, e.g. ``"36.181000000"``."""
    return format_seconds(ns, 9)[:-2]


def format_get(pid: int, sample: Sample, json: bool) -> str:
    """``get``: aligned pid/user/system/total lines, or one JSON object."""
    if json:
        return (f'{{"pid": {pid}, "user_ns": {sample.user}, "system_ns": {sample.system}, '
                f'"total_ns": {sample.total}, "user_s": {json_seconds(sample.user)}, '
                f'"system_s": {json_seconds(sample.system)}, '
                f'"total_s": {json_seconds(sample.total)}}}\n')
    return (f"pid     {pid}\n"
            f"user    {format_seconds(sample.user)}\n"
            f"system  {format_seconds(sample.system)}\n"
            f"total   {format_seconds(sample.total)}\n")


def format_pid(pid: int, json: bool) -> str:
    """``pid``: the pid alone, or ``{"pid": N}``."""
    return f'{{"pid": {pid}}}\n' if json else f"{pid}\n"


def format_set_pid(pid: int, json: bool) -> str:
    """``pid PID``: a confirmation, or ``{"pid": N}``."""
    return format_pid(pid, True) if json else f"now monitoring pid {pid}\n"


def format_thread(started: bool, json: bool) -> str:
    """``start``/``stop``: a confirmation, or ``{"thread": "started"}``."""
    state = "started" if started else "stopped"
    return f'{{"thread": "{state}"}}\n' if json else f"monitoring thread {state}\n"


def cpu_percent(used_ns: int, wall_ns: int) -> Optional[float]:
    """CPU use in % of one CPU, or None if ``wall_ns <= 0`` or ``used_ns < 0``."""
    if wall_ns <= 0 or used_ns < 0:
        return None
    return 100.0 * used_ns / wall_ns


@dataclasses.dataclass(frozen=True)
class WatchRow:
    """One row of ``watch``."""

    elapsed_ns: int                     # since the watch began
    pid: int
    sample: Sample                      # cumulative CPU time of the target
    cpu: Optional[float] = None         # % of one CPU over the interval
    user_cpu: Optional[float] = None    # % in user mode
    system_cpu: Optional[float] = None  # % in kernel mode


def make_watch_row(elapsed_ns: int, pid: int, sample: Sample, previous_pid: int,
                   previous: Sample, wall_ns: int) -> WatchRow:
    """A row from two consecutive samples ``wall_ns`` apart; no percentages
    across a change of target, without wall time, or if CPU time went back."""
    if pid == previous_pid:
        delta = sample - previous
        user = cpu_percent(delta.user, wall_ns)
        system = cpu_percent(delta.system, wall_ns)
        if user is not None and system is not None:
            return WatchRow(elapsed_ns, pid, sample, user + system, user, system)
    return WatchRow(elapsed_ns, pid, sample)


_WIDTHS = (12, 15, 15, 9, 9, 9)


def _columns(cells: typing.Sequence[str]) -> str:
    return " ".join(cell.rjust(width) for cell, width in zip(cells, _WIDTHS)) + "\n"


def _percent_text(value: Optional[float]) -> str:
    return "- %" if value is None else f"{value:.1f} %"


def _percent_json(value: Optional[float]) -> str:
    return "null" if value is None else f"{value:.2f}"


def format_watch_header(pid: int, interval_ns: int, json: bool) -> str:
    """The first lines of ``watch`` (none in JSON mode)."""
    if json:
        return ""
    return (f"pid {pid}, a sample every {format_seconds(interval_ns)}\n"
            + _columns(("elapsed", "user", "system", "cpu", "user", "system")))


def format_watch_row(row: WatchRow, json: bool) -> str:
    """One line of ``watch``: a table row, or one JSON object."""
    if json:
        return (f'{{"elapsed_s": {json_seconds(row.elapsed_ns)}, "pid": {row.pid}, '
                f'"user_ns": {row.sample.user}, "system_ns": {row.sample.system}, '
                f'"user_s": {json_seconds(row.sample.user)}, '
                f'"system_s": {json_seconds(row.sample.system)}, '
                f'"cpu_percent": {_percent_json(row.cpu)}, '
                f'"user_percent": {_percent_json(row.user_cpu)}, '
                f'"system_percent": {_percent_json(row.system_cpu)}}}\n')
    return _columns((format_seconds(row.elapsed_ns), format_seconds(row.sample.user),
                     format_seconds(row.sample.system), _percent_text(row.cpu),
                     _percent_text(row.user_cpu), _percent_text(row.system_cpu)))


# ---- parsing ----------------------------------------------------------------------

def _digits(text: str) -> bool:
    return text != "" and all("0" <= c <= "9" for c in text)


def parse_pid(text: str) -> int:
    """A positive pid in decimal digits, as the C++ tool accepts."""
    if not _digits(text) or not 0 < int(text) <= _PID_MAX:
        raise UsageError(f"invalid pid '{text}': a pid is a positive integer, the id of a "
                         "running process (see 'ps')")
    return int(text)


def parse_interval(text: str) -> int:
    """Seconds from 0.01 to 86400, decimals allowed ("0.5", "0.5s"), in ns."""
    bad = UsageError(f"invalid interval '{text}': give seconds as a decimal number from "
                     "0.01 to 86400, e.g. 0.5")
    rest = text[:-1] if text.endswith("s") else text
    whole, dot, frac = rest.partition(".")
    if ((whole == "" and frac == "") or (whole != "" and not _digits(whole))
            or (frac != "" and not _digits(frac)) or len(frac) > 9):
        raise bad
    seconds = int(whole) if whole else 0
    if seconds > _MAX_INTERVAL_NS // NS_PER_S:
        raise bad
    ns = seconds * NS_PER_S + (int(frac.ljust(9, "0")) if frac else 0)
    if not _MIN_INTERVAL_NS <= ns <= _MAX_INTERVAL_NS:
        raise bad
    return ns


def parse_count(text: str) -> int:
    """A positive integer."""
    if not _digits(text) or int(text) == 0 or int(text) > 2**64 - 1:
        raise UsageError(f"invalid count '{text}': give a positive integer, e.g. 10")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG, usage=f"{PROG} [OPTIONS] COMMAND [ARGS]",
        description=DESCRIPTION + "\n\n" + COMMANDS_HELP, epilog=EPILOG, add_help=False,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    options = parser.add_argument_group("Options (anywhere on the line)")
    options.add_argument("-d", "--device", metavar="PATH", default=Monitor.DEFAULT_PATH,
                         help="device file (default /dev/taskmonitor)")
    options.add_argument("-j", "--json", action="store_true",
                         help="print JSON: one object per line")
    options.add_argument("-i", "--interval", metavar="S", type=str,
                         help="watch: seconds between samples (default 1)")
    options.add_argument("-n", "--count", metavar="N", type=str,
                         help="watch: stop after N samples (default: until Ctrl-C)")
    options.add_argument("-h", "--help", action="store_true",
                         help="show this help and exit")
    options.add_argument("-V", "--version", action="store_true",
                         help="show the version and exit")
    parser.add_argument("words", nargs="*", help=argparse.SUPPRESS)
    return parser


@dataclasses.dataclass
class Options:
    """A parsed command line."""

    command: str = "help"
    device: str = Monitor.DEFAULT_PATH
    json: bool = False
    interval_ns: int = NS_PER_S
    count: Optional[int] = None
    pid: Optional[int] = None


def parse_args(args: typing.Sequence[str]) -> Options:
    """Parses argv[1:] as the C++ tool does; raises UsageError."""
    before_dashdash = list(args)[:list(args).index("--")] if "--" in args else list(args)
    for arg in before_dashdash:  # --help and --version win over anything else
        if arg in ("-h", "--help"):
            return Options(command="help")
        if arg in ("-V", "--version"):
            return Options(command="version")

    ns = _parser().parse_intermixed_args(list(args))
    words: list[str] = ns.words
    if ns.device == "":
        raise UsageError("option --device needs a non-empty PATH, e.g. /dev/taskmonitor")
    if not words:
        raise UsageError(f"no command given; the commands are {_COMMAND_LIST}")
    command = words[0]
    if command not in _COMMANDS:
        raise UsageError(f"unknown command '{command}'; the commands are {_COMMAND_LIST}")
    opts = Options(command=command, device=ns.device, json=ns.json)
    extra = words[1:]
    if command == "pid":
        if len(extra) > 1:
            raise UsageError(
                f"'pid' takes at most one argument, the PID (got {len(extra)})")
        if extra:
            opts.pid = parse_pid(extra[0])
    elif extra:
        raise UsageError(f"'{command}' takes no arguments (got '{extra[0]}')")
    if ns.interval is not None:
        opts.interval_ns = parse_interval(ns.interval)
    if ns.count is not None:
        opts.count = parse_count(ns.count)
    if (ns.interval is not None or ns.count is not None) and command != "watch":
        raise UsageError("--interval and --count only apply to 'watch'")
    return opts


def help_text() -> str:
    """The text of --help."""
    return _parser().format_help()


def version_text() -> str:
    """The text of --version."""
    return f"taskmon {__version__} (libtaskmon {library_version()})\n"


# ---- running ----------------------------------------------------------------------

class _Stop(Exception):
    """SIGTERM during watch: a normal end."""


def _on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    raise _Stop()


def _write(out: typing.TextIO, text: str) -> None:
    out.write(text)
    out.flush()


def _ticks(interval_ns: int, count: Optional[int],
           clock: Callable[[], int] = time.monotonic_ns,
           sleep: Callable[[float], None] = time.sleep) -> typing.Iterator[int]:
    """Sleeps until each deadline and yields the time; skips missed deadlines
    (after a suspend or overload) rather than bursting."""
    deadline = clock() + interval_ns
    rows = 0
    while count is None or rows < count:
        now = clock()
        if deadline > now:
            sleep((deadline - now) / NS_PER_S)
        now = clock()
        yield now
        rows += 1
        deadline += interval_ns
        if deadline < now:
            deadline = now + interval_ns


def _watch(monitor: Monitor, opts: Options, out: typing.TextIO) -> None:
    # SIGTERM, like Ctrl-C (KeyboardInterrupt), ends the watch normally from
    # before its first line on.
    old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        previous_pid = monitor.target
        previous = monitor.sample()
        begin = previous_time = time.monotonic_ns()
        _write(out, format_watch_header(previous_pid, opts.interval_ns, opts.json))
        for _ in _ticks(opts.interval_ns, opts.count):
            # target then sample: if another process switches the target in
            # between, the row shows the new pid's time and no CPU %.
            pid = monitor.target
            current = monitor.sample()
            now = time.monotonic_ns()
            _write(out, format_watch_row(
                make_watch_row(now - begin, pid, current, previous_pid, previous,
                               now - previous_time), opts.json))
            previous_pid, previous, previous_time = pid, current, now
    except (KeyboardInterrupt, _Stop):
        pass  # Ctrl-C or SIGTERM: a normal end
    finally:
        signal.signal(signal.SIGTERM, old_term)


def run_command(opts: Options, out: typing.TextIO) -> None:
    """Runs one parsed command; raises taskmon.Error (OSError) on failure."""
    if opts.command == "help":
        _write(out, help_text())
        return
    if opts.command == "version":
        _write(out, version_text())
        return
    with Monitor(opts.device) as monitor:
        if opts.command == "get":
            pid = monitor.target
            _write(out, format_get(pid, monitor.sample(), opts.json))
        elif opts.command == "watch":
            _watch(monitor, opts, out)
        elif opts.command == "start":
            monitor.start()
            _write(out, format_thread(True, opts.json))
        elif opts.command == "stop":
            monitor.stop()
            _write(out, format_thread(False, opts.json))
        elif opts.command == "pid":
            if opts.pid is not None:
                monitor.target = opts.pid
                _write(out, format_set_pid(opts.pid, opts.json))
            else:
                _write(out, format_pid(monitor.target, opts.json))


def _silence_stdout() -> None:
    """After EPIPE on stdout: point it at /dev/null so that the interpreter's
    final flush does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def exit_code_for(error: BaseException) -> int:
    """The exit status for an exception raised while running a command."""
    if isinstance(error, UsageError):
        return EXIT_USAGE
    for cls, code in ((_errors.NoSuchProcessError, EXIT_NO_SUCH_PROCESS),
                      (_errors.NoTargetError, EXIT_NO_TARGET),
                      (_errors.DeviceNotFoundError, EXIT_DEVICE_NOT_FOUND),
                      (_errors.PermissionDeniedError, EXIT_PERMISSION_DENIED),
                      (_errors.NotSupportedError, EXIT_NOT_SUPPORTED)):
        if isinstance(error, cls):
            return code
    return EXIT_FAILURE


def main(argv: Optional[typing.Sequence[str]] = None, out: Optional[typing.TextIO] = None,
         err: Optional[typing.TextIO] = None) -> int:
    """The whole command: parse, run, report errors as ``taskmon: ...`` on
    ``err``; returns the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        run_command(parse_args(args), out)
        return EXIT_OK
    except UsageError as e:
        err.write(f"taskmon: {e}\nTry '{PROG} --help' for more information.\n")
        return EXIT_USAGE
    except BrokenPipeError:
        if out is sys.stdout:
            _silence_stdout()
        err.write("taskmon: cannot write to standard output (closed pipe or full disk?); "
                  "check where the output goes\n")
        return EXIT_FAILURE
    except OSError as e:
        err.write(f"taskmon: {e}\n")
        return exit_code_for(e)
    except ValueError as e:
        err.write(f"taskmon: {e}\n")
        return EXIT_FAILURE
