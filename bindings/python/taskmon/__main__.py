# SPDX-License-Identifier: LGPL-2.1-or-later
"""python3 -m taskmon: a short example of the Python API.

The command-line tool is the C++ ``taskmon`` (``taskmon --help``,
``man taskmon``); this is not a second one.  It reads the monitored process
(the target) COUNT times, a second apart, and prints its CPU use as
``taskmon watch`` does::

    python3 -m taskmon [COUNT]     # default 3; as root or a member of the group taskmon

Each step is the public API, to copy from: a read-only Monitor (reading
needs no steering), ``target()``, ``sample()``, ``Sample``'s float-second
fields and ``taskmon.cpu_percent()``, the error classes.
"""

import sys
import time

import taskmon


USAGE = """usage: python3 -m taskmon [COUNT]

Print the target's pid, then its CPU time and CPU use COUNT times (default
3), a second apart: an example of the Python API, as root or a member of the
group taskmon.  The command-line tool is the C++ 'taskmon' (taskmon --help,
man taskmon); this is not a second one.
"""


def main(argv: "list[str] | None" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--help"], ["-h"]):
        sys.stdout.write(USAGE)
        return 0
    if len(args) > 1 or (args and not args[0].isdigit()):
        print("usage: python3 -m taskmon [COUNT]  (the command is 'taskmon', see taskmon --help)",
              file=sys.stderr)
        return 2
    count = int(args[0]) if args else 3
    try:
        with taskmon.Monitor() as monitor:          # /dev/taskmonitor, read-only
            print(f"pid {monitor.target()}")        # NoTargetError if none is set
            before, then = monitor.sample(), time.monotonic()
            for _ in range(count):
                time.sleep(1)
                after, now = monitor.sample(), time.monotonic()
                cpu = taskmon.cpu_percent(before, after, now - then)
                print(f"user {after.user:.3f} s, system {after.system:.3f} s, cpu {cpu:.1f} %",
                      flush=True)
                before, then = after, now
    except taskmon.Error as e:                      # an OSError: errno, device, pid
        print(f"python3 -m taskmon: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
